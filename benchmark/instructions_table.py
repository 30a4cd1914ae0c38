#!/usr/bin/python3
"""Runs benchmark/instructions under callgrind and prints the Markdown table
of instructions per activation and per telemetry cycle.
  instructions_table.py --build build/release [--count 200] [--json FILE]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile


def measure(binary, mode, count, workdir):
    """Instructions counted in the program's main thread per window, the
    distinct 64-byte lines and 4 KiB pages of code that the windows execute,
    and the program's machine line, from one callgrind run. Dumping per
    instruction (--dump-instr) changes what is written, not what is counted."""
    out = os.path.join(workdir, mode)
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--separate-threads=yes", "--dump-instr=yes",
         "--compress-pos=no", "--compress-strings=no", "--callgrind-out-file=" + out, binary, mode, str(count)],
        capture_output=True, text=True, timeout=1200)
    windows = re.search(r"^windows (\d+)$", run.stdout, re.M)
    if run.returncode != 0 or not windows:
        sys.exit(f"instructions {mode}: failed ({run.returncode})\n{run.stdout}\n{run.stderr[-3000:]}")
    # One file per thread: "<out>-01" is the main thread, which is the one measured.
    main = out + "-01"
    total, lines, pages = None, set(), set()
    obj, after_call = None, False
    with open(main) as f:
        for text in f:
            if text.startswith("ob="):
                obj = text[3:].strip()
            elif text.startswith("calls="):
                after_call = True  # the next cost line is the callee's, not an instruction here
            elif text.startswith("0x"):
                if after_call:
                    after_call = False
                    continue
                address = int(text.split()[0], 16)  # an offset in `obj`, which is mapped page-aligned
                lines.add((obj, address >> 6))
                pages.add((obj, address >> 12))
            elif text.startswith(("summary:", "totals:")):
                total = int(text.split()[1])
    if total is None:
        sys.exit(f"instructions {mode}: no total in {main}")
    return {"per_window": total / int(windows.group(1)), "code_lines": len(lines), "code_pages": len(pages),
            "machine": run.stdout.splitlines()[0]}


def wall_time(binary, mode, count, cold_us=0):
    """The median wall time of one window, run without valgrind: the same work, warm, or after the thread
    slept cold_us before each window."""
    run = subprocess.run([binary, mode, str(count)] + (["--cold-us", str(cold_us)] if cold_us else []),
                         capture_output=True, text=True, timeout=600)
    median = re.search(r"^wall-time median ([0-9.]+) us$", run.stdout, re.M)
    if run.returncode != 0 or not median:
        sys.exit(f"instructions {mode}: failed ({run.returncode})\n{run.stdout}\n{run.stderr[-3000:]}")
    return float(median.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build/release")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--json", help="also write the figures to this file, for benchmark/targets.py")
    a = p.parse_args()
    binary = os.path.join(a.build, "benchmark", "instructions")
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as d:
        m = {mode: measure(binary, mode, a.count, d) for mode in
             ("cleori-activation", "cleori-telemetry", "curl-activation", "curl-telemetry", "curl-exchange")}
    n = {mode: v["per_window"] for mode, v in m.items()}
    exchange = n["curl-exchange"]

    def row(what, cleori, curl):
        net = curl - exchange
        print(f"| {what} | {cleori:,.0f} | {curl:,.0f} | {net:,.0f} | {cleori / curl:.2f} | {cleori / net:.2f} |")

    print(f"{m['cleori-activation']['machine']}.", end=" ")
    print(f"Instructions (Ir) counted by {version} in the client's thread, mean of {a.count} windows after "
          "a warm-up. cleori's run has no sockets and runs in virtual time, so its count does not depend on "
          "timing; libcurl's includes its socket loop, which does. cleori: the real agent over an in-memory transport "
          "that does the Beast transport's wire work (its request-head writer and response parser). "
          "libcurl + nlohmann/json: the hand-written client of `benchmark/baseline/curl_client.cpp` "
          "against a loopback server thread; its windows also hold one request write, one response read and "
          f"curl's socket layer, which one bare exchange (a GET answered 204: {exchange:,.0f}) "
          "approximates, so the table gives curl's count with and without it. That estimate is a GET; for "
          "the telemetry row, whose curl call is a POST, the column without it is the rougher figure.")
    print()
    print("| work | cleori | libcurl + nlohmann | libcurl + nlohmann − one exchange | ratio | ratio to − one exchange |")
    print("|---|---|---|---|---|---|")
    row("activation: poll response bytes → confirmation request bytes", n["cleori-activation"],
        n["curl-activation"])
    row("telemetry: device read → telemetry request bytes", n["cleori-telemetry"], n["curl-telemetry"])
    warm = {mode: wall_time(binary, mode, a.count) for mode in ("cleori-activation", "cleori-telemetry")}
    # benchmark/activation_latency's poll interval (5 ms), and the time from one activation to the next
    # there (25 ms): how long the activation path's own code and data last ran before it runs again.
    cold = {us: wall_time(binary, "cleori-activation", a.count, us) for us in (5000, 25000)}
    lines, pages = m["cleori-activation"]["code_lines"], m["cleori-activation"]["code_pages"]
    curl_lines = m["curl-activation"]["code_lines"]
    print()
    print(f"The same cleori windows run without valgrind, one after another (warm caches), take a median of "
          f"{warm['cleori-activation']:.2f} µs per activation and {warm['cleori-telemetry']:.2f} µs per telemetry "
          f"cycle of wall time on this machine. The activation windows execute code on {lines:,} distinct "
          f"64-byte cache lines ({lines * 64 / 1024:.0f} KiB) in {pages} pages of 4 KiB, the program's and its "
          f"libraries' together; libcurl + nlohmann/json's on {curl_lines:,} ({curl_lines * 64 / 1024:.0f} KiB, "
          "user space only: the kernel's part of its socket calls is not seen by callgrind). "
          "With the thread asleep before each activation window, as a client is between polls, the same windows "
          "take a median of " + " and ".join(
              f"{t:.2f} µs after {us / 1000:g} ms ({t / warm['cleori-activation']:.1f}× warm)"
              for us, t in cold.items()) + ".")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"valgrind": version, "windows": a.count,
                       "activation": n["cleori-activation"], "telemetry": n["cleori-telemetry"],
                       "curl_activation": n["curl-activation"], "curl_telemetry": n["curl-telemetry"],
                       "curl_exchange": exchange,
                       "warm_activation_us": warm["cleori-activation"], "warm_telemetry_us": warm["cleori-telemetry"],
                       "cold_activation_us": {str(us): t for us, t in cold.items()},
                       "code_lines": lines, "code_pages": pages, "curl_code_lines": curl_lines}, f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The performance targets, checked against one run of scripts/bench.

Reads the JSON files that the benchmarks of that run wrote into DIR and
prints a Markdown table: for each target, what this run measured, whether it
is met, and for a target not met, the figures of the same run that say why.
A target whose benchmark did not run (or failed) is reported as not measured.
   targets.py DIR
Files read: latency.json (activation_latency), fleet-nginx.json
(fleet_scale.py --server nginx), allocations.json, instructions.json
(instructions_table.py) and compile.json (scripts/bench's compile-time stage)."""
import json
import os
import sys

FLOOR = "raw TCP floor"
LOOP_FLOOR = "raw TCP floor, Asio event loop"
CURL = "libcurl + nlohmann/json"
CURL_MULTI = "libcurl multi + nlohmann/json"


def load(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(x, digits=2):
    return f"{x:,.{digits}f}"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, target, measured, met, why=""):
        verdict = "not measured" if met is None else "**met**" if met else "not met"
        if met is True:
            why = ""
        elif self.rows and why and why == self.rows[-1][4]:
            why = "As above."
        self.rows.append((target, measured, verdict, why, why if why != "As above." else self.rows[-1][4]))

    def print(self):
        print("| target | measured in this run | verdict | why not (or why not measured), from this run's figures |")
        print("|---|---|---|---|")
        for r in self.rows:
            print("| " + " | ".join(r[:4]) + " |")


def latency_targets(t, lat, ins):
    names = ("confirmation p50 ≤ 1.15× the raw TCP floor (plain and TLS)",
             "confirmation p99 ≤ 1.30× the raw TCP floor",
             "setpoint p50 ≤ 1.2× the raw TCP floor",
             "confirmation p50 ≤ 0.70× libcurl + nlohmann/json")
    rows = {(r["client"], r["transport"]): r for r in (lat or {}).get("rows", [])}
    transports = ("plain", "TLS")
    if not all((c, tr) in rows for c in ("cleori", FLOOR, CURL) for tr in transports):
        for n in names:
            t.add(n, "activation_latency did not run all clients", None)
        return

    def ratio(client, what, q, tr):
        return rows[("cleori", tr)][what][q] / rows[(client, tr)][what][q]

    # The measured reason the path is slower than the floor: the caches, cold
    # after the sleep between polls (doc/performance.md, "Where the time goes").
    probe, poll_ms = lat["probe"], lat["poll_ms"]
    ns_per_line = (probe["after_sleep_us"] - probe["warm_us"]) * 1000 / probe["lines"]
    above = {tr: rows[("cleori", tr)]["confirmation_us"]["p50"] - rows[(FLOOR, tr)]["confirmation_us"]["p50"]
             for tr in transports}
    loop = {tr: rows[(LOOP_FLOOR, tr)]["confirmation_us"]["p50"] / rows[(FLOOR, tr)]["confirmation_us"]["p50"]
            for tr in transports if (LOOP_FLOOR, tr) in rows}
    if ins:
        cold = (f"Warm, the same path takes {fmt(ins['warm_activation_us'])} µs ({fmt(ins['activation'], 0)} "
                f"instructions)")
        if "cold_activation_us" in ins:
            cold += ("; with the thread asleep before each window, in memory and with no sockets, " + " and ".join(
                f"{fmt(t)} µs after {fmt(int(us) / 1000, 0)} ms" for us, t in ins["cold_activation_us"].items()) +
                " (activation_latency serves an activation 25 ms after the previous one is confirmed)")
        cold += (f". It executes code on {fmt(ins['code_lines'], 0)} distinct cache lines, and after "
                 f"the {poll_ms} ms sleep between polls a line costs {fmt(ns_per_line, 1)} ns more on this machine "
                 f"(the probe, data loads), up to {fmt(ins['code_lines'] * ns_per_line / 1000, 0)} µs for the code "
                 f"alone (an estimate: code is prefetched in runs). cleori's p50 is "
                 f"{fmt(above['plain'], 0)} µs (plain) and {fmt(above['TLS'], 0)} µs (TLS) above the floor's.")
    else:
        cold = f"after the {poll_ms} ms sleep between polls a cache line costs {fmt(ns_per_line, 1)} ns more."
    if loop:
        cold += (" Waiting in an event loop at all costs " +
                 " and ".join(f"{fmt(v)}× ({tr})" for tr, v in loop.items()) + " the blocking floor.")

    def check(name, client, what, q, bound):
        r = {tr: ratio(client, what, q, tr) for tr in transports}
        measured = ", ".join(f"{fmt(v)}× {tr}" for tr, v in r.items())
        return name, measured, all(v <= bound for v in r.values())

    for name, client, what, q, bound in ((names[0], FLOOR, "confirmation_us", "p50", 1.15),
                                         (names[1], FLOOR, "confirmation_us", "p99", 1.30),
                                         (names[2], FLOOR, "setpoint_us", "p50", 1.2)):
        t.add(*check(name, client, what, q, bound), cold)
    name, measured, met = check(names[3], CURL, "confirmation_us", "p50", 0.70)
    why = "Both clients pay the cold caches after each sleep."
    if ins:
        why += (f" In user space, libcurl + nlohmann/json's activation path executes code on "
                f"{fmt(ins['curl_code_lines'], 0)} cache lines and {fmt(ins['curl_activation'], 0)} instructions, "
                f"cleori's on {fmt(ins['code_lines'], 0)} and {fmt(ins['activation'], 0)}; libcurl waits in a "
                "blocking call, cleori in an event loop (above).")
    t.add(name, measured, met, why)


def instruction_target(t, ins):
    name = "≤ 20,000 instructions per activation (callgrind)"
    if not ins:
        return t.add(name, "instructions_table.py did not run", None)
    t.add(name, f"{fmt(ins['activation'], 0)} (libcurl + nlohmann/json: {fmt(ins['curl_activation'], 0)}); "
                f"telemetry {fmt(ins['telemetry'], 0)}", ins["activation"] <= 20000,
          "`callgrind_annotate` on the run's output says which functions grew (doc/performance.md, Reproducing).")


def allocation_target(t, alloc):
    name = "0 heap allocations per telemetry cycle and per poll cycle"
    if not alloc:
        return t.add(name, "allocations did not run", None)
    measured = "; ".join(f"{tr}: telemetry {alloc[key]['telemetry']:g}, poll {alloc[key]['poll']:.3g}"
                         for tr, key in (("plain", "plain"), ("TLS", "tls")))
    plain_ok = alloc["plain"]["telemetry"] == 0 and alloc["plain"]["poll"] == 0
    tls_ok = alloc["tls"]["telemetry"] == 0 and alloc["tls"]["poll"] == 0
    t.add(name, measured, plain_ok and tls_ok,
          "On plain HTTP none; with TLS the remaining ones are made inside OpenSSL's SSL_read and SSL_write "
          "(doc/performance.md, \"Heap allocations\")." if plain_ok else
          "Plain HTTP allocates in steady state: a regression (the unit test `steady_state_allocations` "
          "says where).")


def span(values):
    lo, hi = fmt(min(values), 1), fmt(max(values), 1)
    return lo if lo == hi else f"{lo}–{hi}"


def fit(points):
    """Least squares of total CPU (share of a core) on assets: (fixed, per asset)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, b


def fleet_targets(t, fleet):
    cpu_name = "fleet CPU per asset ≤ 0.67× libcurl multi (against nginx)"
    rss_name = "≤ 2 KiB RSS per asset (the nginx fleet)"
    rows = {(r["client"], r["transport"], r["assets"]): r for r in (fleet or {}).get("rows", [])}
    if not rows:
        t.add(cpu_name, "fleet_scale.py --server nginx did not run", None)
        t.add(rss_name, "fleet_scale.py --server nginx did not run", None)
        return
    sizes = sorted({n for (_, _, n) in rows})
    at = " at " + " / ".join(f"{n:,}" for n in sizes) + " assets"
    transports = [tr for tr in ("plain", "TLS") if any(k[1] == tr for k in rows)]

    def ok(client, tr, n):
        r = rows.get((client, tr, n))
        return r if r and r["verdict"] == "ok" else None

    cells, whys, met, unmeasured = [], [], True, []
    for tr in transports:
        parts, over = [], []
        for n in sizes:
            c, b = ok("cleori", tr, n), ok(CURL_MULTI, tr, n)
            if not c or not b:
                parts.append("n/a")
                if not c:  # cleori's own failure is a miss
                    met = False
                    bad = rows.get(("cleori", tr, n))
                    whys.append(f"{tr}, {n:,}: no valid cleori row ({(bad or {}).get('why') or 'not run'})")
                if not b:  # the baseline's is a gap in the measurement
                    bad = rows.get((CURL_MULTI, tr, n))
                    unmeasured.append(f"{tr}, {n:,}: no valid libcurl multi row ({(bad or {}).get('why') or 'not run'})")
                continue
            r = c["cpu_per_asset_us_s"] / b["cpu_per_asset_us_s"]
            parts.append(fmt(r) + "×")
            if r > 0.67:
                met = False
                if c["failures"]:
                    whys.append(f"{tr}, {n:,}: cleori had {c['failures']} failed requests (fleet_scale.py prints "
                                "the first ones its agents logged, with the reason)")
                else:
                    over.append(n)
        cells.append(f"{tr} " + " / ".join(parts))
        # Total CPU against fleet size, a straight line through the sizes
        # where both clients did the same work without failed requests.
        clean = [n for n in sizes if ok("cleori", tr, n) and ok(CURL_MULTI, tr, n)
                 and not rows[("cleori", tr, n)]["failures"] and not rows[(CURL_MULTI, tr, n)]["failures"]]
        if over and len(clean) > 1:
            a1, b1 = fit([(n, rows[("cleori", tr, n)]["util"]) for n in clean])
            a2, b2 = fit([(n, rows[(CURL_MULTI, tr, n)]["util"]) for n in clean])
            whys.append(f"{tr}, " + " and ".join(f"{n:,}" for n in over) + ": on a straight line through "
                        + " / ".join(f"{n:,}" for n in clean) + f" assets, each added asset costs cleori "
                        f"{fmt(b1 * 1e6)} µs/s against libcurl's {fmt(b2 * 1e6)}"
                        + (f" ({fmt(b1 / b2)}×)" if b2 > 0 else "")
                        + f", and the part that does not grow with the fleet is {fmt(a1 * 100)} % of a core "
                        f"against libcurl's {fmt(a2 * 100)} %")
        elif over:
            whys.append(f"{tr}, " + " and ".join(f"{n:,}" for n in over) + ": too few sizes without failed "
                        "requests to split what grows with the fleet from what does not")
    grid = f", every client's timers on a {fleet['tick_ms']} ms grid" if fleet.get("tick_ms") else ""
    if met and unmeasured:
        met = None  # nothing measured missed the target, but not everything was measured
    t.add(cpu_name, "; ".join(cells) + at + grid, met, "; ".join(whys + unmeasured) + ".")

    cells, whys, met = [], [], True
    for tr in transports:
        parts, over, private_over = [], [], []
        files = []
        for n in sizes:
            c = ok("cleori", tr, n)
            if not c:
                parts.append("n/a")
                met = False
                bad = rows.get(("cleori", tr, n))
                whys.append(f"{tr}, {n:,}: no valid cleori row ({(bad or {}).get('why') or 'not run'})")
                continue
            parts.append(f"{fmt(c['rss_per_asset_kb'])} (private {fmt(c['private_per_asset_kb'])})")
            files.append((c["rss_per_asset_kb"] - c["private_per_asset_kb"]) * n / 1024)
            if c["rss_per_asset_kb"] > 2.0:
                met = False
                over.append(n)
                if c["private_per_asset_kb"] > 2.0:
                    private_over.append(n)
        cells.append(f"{tr} " + " / ".join(parts))
        if over:
            where = " and ".join(f"{n:,}" for n in over)
            why = (f"{tr}, {where}: the process's pages mapped from files (code and read-only data, "
                   f"{span(files)} MiB whatever the fleet) count per asset")
            if private_over:
                why += (", and the private part alone exceeds 2 KiB at "
                        + " and ".join(f"{n:,}" for n in private_over))
            else:
                why += "; the private part is within 2 KiB"
            whys.append(why)
    t.add(rss_name, "KiB" + at + ": " + "; ".join(cells), met, "; ".join(whys) + ".")


def compile_target(t, comp):
    name = "compile time of `#include <cleori/cleori.hpp>` ≤ 1.3× Beast + JSON alone"
    if not comp or not comp.get("beast_json_instructions") or not comp.get("beast_json_cpu_s"):
        return t.add(name, "the compile-time stage did not run (or valgrind failed)", None)
    r = comp["umbrella_instructions"] / comp["beast_json_instructions"]
    t.add(name, f"{fmt(r, 3)}× in the compiler's instructions (CPU time "
                f"{fmt(comp['umbrella_cpu_s'] / comp['beast_json_cpu_s'])}×)", r <= 1.3,
          "What the umbrella header instantiates in every unit: doc/performance.md, \"Compile time\", says "
          "what was deferred and what is left.")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    t = Table()
    ins = load(d, "instructions.json")
    latency_targets(t, load(d, "latency.json"), ins)
    instruction_target(t, ins)
    allocation_target(t, load(d, "allocations.json"))
    fleet_targets(t, load(d, "fleet-nginx.json"))
    compile_target(t, load(d, "compile.json"))
    t.print()


if __name__ == "__main__":
    main()

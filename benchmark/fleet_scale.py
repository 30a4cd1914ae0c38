#!/usr/bin/python3
"""Fleet scale at Cleori cadence (telemetry every 10 s, poll every 30 s), with
time compressed by a factor K: the clients run at 10/K s and 30/K s, so every
network exchange is real and K times as frequent. CPU per asset at the real
cadence is the measured CPU divided by K. Each point: a fresh cleori-sim
process (the server, its CPU not counted), one client process (cleori,
libcurl multi, or Python aiohttp), N assets over 4 connections, activations
for every tenth asset. Prints Markdown.

Every client must do the same work: the server's report gives, per asset, the
samples it received and the polls it answered. A row whose samples or polls
per asset differ by more than 2 % from the median of the clients of the same
size and transport (with two clients, from the one that did more) is marked
INVALID (a client that falls behind its cadence did less work, so its CPU is
not comparable) and is left out of the extrapolation. A row whose client
exited with an error (fleet_client does when an agent did not start) or
served some asset not at all is a broken
measurement: it is marked FAILED and the script exits 1 at the end.

With --server nginx the server is nginx (one worker) answering every
telemetry POST with 204 and every poll with the same empty page, so that the
server is never the bottleneck and only the client is measured. The work is
then counted from nginx's access log (requests, not samples; no activations).
   fleet_scale.py --build DIR [--sizes 250,1000,2500] [--duration 12] [--compression 10]
                  [--server sim|nginx] [--transports plain,tls] [--connections 4]
                  [--clients cleori,curl,aiohttp] [--tick-ms 0] [--json FILE]
--tick-ms G puts every client's timers on a grid of G ms (cleori::coalescing_clock
for cleori, the same rounding in the baselines): what falls due within one tick
is done in one wake-up.
--json also writes every row to FILE, for benchmark/targets.py."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

opts = dict(zip(sys.argv[1::2], sys.argv[2::2]))
build = opts["--build"]
sizes = [int(s) for s in opts.get("--sizes", "250,1000,2500").split(",")]
duration = int(opts.get("--duration", "12"))
k = int(opts.get("--compression", "10"))
server_kind = opts.get("--server", "sim")
transports = [t == "tls" for t in opts.get("--transports", "plain,tls").split(",")]
connections = opts.get("--connections", "4")
tick_ms = int(opts.get("--tick-ms", "0"))
# Cleori's 10 s, compressed; a sample may come one tick late, so uncompressed
# the interval leaves room for the tick (cleori refuses a cadence that does not).
telemetry_ms = min(10000 // k, 10000 - max(tick_ms, 0))
here = os.path.dirname(os.path.abspath(__file__))
sim = os.path.join(build, "tools", "cleori-sim")
clients = {
    "cleori": [os.path.join(build, "benchmark", "fleet_client")],
    "libcurl multi + nlohmann/json": [os.path.join(build, "benchmark", "curl_multi_fleet")],
    "Python aiohttp": ["/usr/bin/python3", os.path.join(here, "baseline", "aiohttp_fleet.py")],
}
# --clients picks some of them (a rerun of one row against its baseline).
short = {"cleori": "cleori", "curl": "libcurl multi + nlohmann/json", "aiohttp": "Python aiohttp"}
wanted = opts.get("--clients", ",".join(short)).split(",")
unknown = [c for c in wanted if c not in short]
if unknown:
    sys.exit("fleet_scale.py: unknown client(s) %s; choose from %s" % (", ".join(unknown), ",".join(short)))
clients = {short[c]: clients[short[c]] for c in wanted}
work = tempfile.mkdtemp(prefix="cleori-fleet-")


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)


# A private CA and a certificate for 127.0.0.1, made for this run.
sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
   "-subj /CN=bench-ca -days 2")
sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1")
with open(os.path.join(work, "ext.cnf"), "w") as f:
    f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
sh("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf")


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


EMPTY_PAGE = '{"data":[],"pagination":{"limit":100,"offset":0,"total":0}}'


def start_nginx(tls):
    """nginx in the foreground with one worker; returns (process, url, access log)."""
    port = free_port()
    d = os.path.join(work, "nginx")
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "access.log")
    if os.path.exists(log):
        os.remove(log)
    ssl = (" ssl;\n    ssl_certificate %s;\n    ssl_certificate_key %s;\n    ssl_session_cache shared:S:1m"
           % (os.path.join(work, "server.crt"), os.path.join(work, "server.key"))) if tls else ""
    temp = "".join("  %s_temp_path %s/%s;\n" % (t, d, t) for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # The log line names the asset by its number (taken from its bench token,
    # which itself is not logged), the method, the path and the status.
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write("daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\n"
                "error_log %s/error.log warn;\nworker_rlimit_nofile 4096;\n"
                "events { worker_connections 1024; }\nhttp {\n%s"
                "  map $http_authorization $asset { \"~^Bearer fleet-token-(?<n>[0-9]+)$\" $n; default \"-\"; }\n"
                "  log_format work '$asset $request_method $uri $status';\n"
                "  access_log %s work buffer=256k;\n"
                "  keepalive_requests 100000000;\n  keepalive_timeout 300s;\n"
                "  server {\n    listen 127.0.0.1:%d%s;\n"
                "    location = /v1/telemetry { return 204; }\n"
                "    location = /v1/activations { default_type application/json; return 200 '%s'; }\n"
                "    location / { return 404; }\n  }\n}\n" % (d, d, temp, log, port, ssl, EMPTY_PAGE))
    proc = subprocess.Popen(["/usr/sbin/nginx", "-p", d, "-e", d + "/error.log", "-c", d + "/nginx.conf"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):  # until it listens
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, ("https" if tls else "http") + "://127.0.0.1:%d" % port, log
        except OSError:
            time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    with open(os.path.join(d, "error.log")) as f:
        sys.exit("fleet_scale.py: nginx did not start: " + " ".join(f.read().splitlines()[-3:]))


def point_nginx(client, n, tls):
    server, url, log = start_nginx(tls)
    args = ["--url", url, "--assets", str(n), "--telemetry-ms", str(telemetry_ms), "--poll-ms", str(30000 // k),
            "--duration-s", str(duration), "--connections", connections, "--tick-ms", str(tick_ms)]
    if tls:
        args += ["--ca", os.path.join(work, "ca.pem")]
    try:
        out = subprocess.run(clients[client] + args, capture_output=True, text=True, timeout=duration * 5 + 120)
    finally:
        server.send_signal(signal.SIGQUIT)  # graceful: the access log is flushed
        server.wait(timeout=60)
    lines = out.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError("no result (exit %d): %s" % (out.returncode, (out.stderr.strip().splitlines() or [""])[-1]))
    result = json.loads(lines[-1])
    telemetry = polls = other = 0
    sent, polled = set(), set()
    with open(log) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            if len(parts) == 4 and parts[1:] == ["POST", "/v1/telemetry", "204"]:
                telemetry += 1
                sent.add(parts[0])
            elif len(parts) == 4 and parts[1:] == ["GET", "/v1/activations", "200"]:
                polls += 1
                polled.add(parts[0])
            else:
                other += 1
    util = result["cpu_s"] / duration / k
    problems, different = [], []
    if out.returncode != 0:
        problems.append("client exited %d: %s" % (out.returncode, (out.stderr.strip().splitlines() or [""])[-1]))
    if other:
        problems.append("%d requests nginx did not expect" % other)
    idle = n - len((sent & polled) - {"-"})
    if idle:
        problems.append("%d assets sent no telemetry or did not poll" % idle)
    # The work the cadence asks for, not only the same as the other clients'.
    for what, done, due in (("telemetry requests", telemetry / n, duration * 1000 / telemetry_ms),
                            ("polls", polls / n, duration * 1000 / (30000 // k))):
        if done < 0.98 * due:
            different.append("%s per asset %.2f, %.0f %% below the cadence's %.2f" % (what, done, 100 * (1 - done / due), due))
    return {
        "stderr": out.stderr,
        "util": util,
        "cpu_per_asset_us_s": util / n * 1e6,
        "rss_per_asset_kb": (result["rss_kb_after"] - result["rss_kb_before"]) / n,
        "private_per_asset_kb": (result["private_kb_after"] - result["private_kb_before"]) / n,
        "late_p99": float("nan"), "act_p99": float("nan"), "confirmed": 0, "expected": 0,
        "failures": result["failures"],
        "samples_per_asset": telemetry / n,  # telemetry requests: nginx does not read the bodies
        "polls_per_asset": polls / n,
        "problems": problems,
        "different": different,
    }


def point(client, n, tls):
    if server_kind == "nginx":
        return point_nginx(client, n, tls)
    tokens = os.path.join(work, "tokens")
    with open(tokens, "w") as f:
        f.write("\n".join("fleet-token-%d" % i for i in range(n)) + "\n")
    scenario = os.path.join(work, "scenario.json")
    actions = [{"at_s": 2, "action": "create", "asset": "asset-%d" % (i + 1),
                "activation": {"id": "act-%d" % i, "direction": "up" if i % 20 else "down", "power": 60,
                               "start_in_s": 0, "duration_s": 5}} for i in range(0, n, 10)]
    with open(scenario, "w") as f:
        json.dump({"actions": actions}, f)
    report = os.path.join(work, "report.json")
    cmd = [sim, "--port", "0", "--tokens-file", tokens, "--scenario", scenario, "--report", report, "--quiet"]
    if tls:
        cmd += ["--tls-cert", os.path.join(work, "server.crt"), "--tls-key", os.path.join(work, "server.key")]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    port = server.stdout.readline().split("127.0.0.1:")[1].split()[0]
    url = ("https" if tls else "http") + "://127.0.0.1:" + port
    args = ["--url", url, "--assets", str(n), "--telemetry-ms", str(telemetry_ms), "--poll-ms", str(30000 // k),
            "--duration-s", str(duration), "--connections", connections, "--tick-ms", str(tick_ms)]
    if tls:
        args += ["--ca", os.path.join(work, "ca.pem")]
    out = subprocess.run(clients[client] + args, capture_output=True, text=True, timeout=duration * 5 + 60)
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=60)
    lines = out.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError("no result (exit %d): %s" % (out.returncode, (out.stderr.strip().splitlines() or [""])[-1]))
    result = json.loads(lines[-1])
    with open(report) as f:
        rep = json.load(f)
    latencies = [a["confirmation_latency_ms"] for asset in rep["assets"] for a in asset["activations"]
                 if "confirmation_latency_ms" in a]
    util = result["cpu_s"] / duration / k  # fraction of one core at the real cadence
    served = {asset["asset"]: asset for asset in rep["assets"]}
    idle = sum(1 for i in range(n) if served.get("asset-%d" % (i + 1), {}).get("samples_received", 0) == 0
               or served.get("asset-%d" % (i + 1), {}).get("polls", 0) == 0)
    problems = []
    if out.returncode != 0:
        problems.append("client exited %d: %s" % (out.returncode, (out.stderr.strip().splitlines() or [""])[-1]))
    if idle:
        problems.append("%d assets got no samples or no polls" % idle)
    return {
        "stderr": out.stderr,
        "util": util,
        "cpu_per_asset_us_s": util / n * 1e6,
        "rss_per_asset_kb": (result["rss_kb_after"] - result["rss_kb_before"]) / n,
        "private_per_asset_kb": (result["private_kb_after"] - result["private_kb_before"]) / n,
        "late_p99": rep["telemetry_lateness_ms"]["p99"],
        "act_p99": percentile(latencies, 0.99),
        "confirmed": len(latencies), "expected": len(actions),
        "failures": result["failures"],
        # The work, as the server saw it (the client's own counts are in `result`).
        "samples_per_asset": sum(a["samples_received"] for a in rep["assets"]) / n,
        "polls_per_asset": sum(a["polls"] for a in rep["assets"]) / n,
        "problems": problems,  # a broken measurement
        "different": [],       # filled by check_same_work
    }


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def check_same_work(rows, tolerance=0.02):
    """Adds a problem to each row whose work per asset is more than `tolerance`
    away from the reference of the rows measured (same size and transport):
    their median, or with only two rows the larger of the two (a client that
    falls behind does less work, so the median of two would blame both)."""
    if len(rows) < 2:
        return
    for key, what in (("samples_per_asset", "samples"), ("polls_per_asset", "polls")):
        values = [r[key] for r in rows]
        ref, name = (median(values), "the median") if len(rows) > 2 else (max(values), "the other client's")
        for r in rows:
            off = (r[key] - ref) / ref if ref else float("inf")
            if abs(off) > tolerance:
                r["different"].append("%s per asset %.2f, %+.0f %% from %s %.2f at this size"
                                     % (what, r[key], 100 * off, name, ref))


if server_kind == "nginx":
    print("### Fleet scale against nginx (one client process, one thread)\n")
    served_by = ("nginx 1.22 (one worker, its own process) answering telemetry with 204 and polls with one fixed "
                 "empty page; the work columns count requests from its access log")
else:
    print("### Fleet scale (one client process, one thread)\n")
    served_by = "cleori-sim as the server in its own process"
print("Telemetry every 10 s%s and polls every 30 s per asset, compressed %d× (so %d ms and %d ms), %d s per point, "
      "%s connections, %s%s. CPU is the client's, scaled back to the real "
      "cadence: the share of one core. RSS per asset is the client's resident growth divided by N; private RSS "
      "is the part of it that is not mapped files (the code that the run first touches, a cost per process).\n"
      % ("" if telemetry_ms * k == 10000 else " less one timer tick (so that a late tick still keeps Cleori's 10 s)",
         k, telemetry_ms, 30000 // k, duration, connections, served_by,
         ", every client's timers on a %d ms grid (what falls due within one tick is done in one wake-up)" % tick_ms
         if tick_ms > 0 else ""))
print("| client | transport | assets | CPU (% of a core) | CPU per asset (µs/s) | RSS per asset (KiB) | "
      "private RSS per asset (KiB) | "
      "telemetry lateness p99 (ms) | activation confirmation p99 (ms) | confirmed | failed requests | "
      "samples / polls per asset (server) | same work |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
largest = {}
invalid = []
rows = []  # for --json
for tls in transports:
    transport = "TLS" if tls else "plain"
    measured = {}  # (client, n) -> result, or the error text of a client that fell over
    for client in clients:
        for n in sizes:
            try:
                measured[(client, n)] = point(client, n, tls)
            except subprocess.TimeoutExpired as e:  # a client that falls behind never ends
                measured[(client, n)] = "still running %d s into a %d s run; stopped" % (e.timeout, duration)
            except Exception as e:  # a baseline that falls over is a result too
                measured[(client, n)] = str(e).splitlines()[0][:60]
    for n in sizes:
        check_same_work([r for (c, m), r in measured.items() if m == n and isinstance(r, dict)])
    for client in clients:
        for n in sizes:
            r = measured[(client, n)]
            if not isinstance(r, dict):
                print("| %s | %s | %d | failed: %s | | | | | | | | | |" % (client, transport, n, r))
                rows.append({"client": client, "transport": transport, "assets": n, "verdict": "failed",
                             "why": r})
                if server_kind == "nginx":  # against nginx every client must get through
                    invalid.append("%s, %s, %d assets: %s" % (client, transport, n, r))
                continue
            verdict = "ok"
            if r["problems"]:
                verdict = "**FAILED: " + "; ".join(r["problems"] + r["different"]) + "**"
                invalid.append("%s, %s, %d assets: %s" % (client, transport, n, "; ".join(r["problems"])))
            elif r["different"]:
                verdict = "**INVALID (not the same work): " + "; ".join(r["different"]) + "**"
                print("fleet_scale.py: %s, %s, %d assets: %s" % (client, transport, n, "; ".join(r["different"])),
                      file=sys.stderr)
            if r["failures"] and r["stderr"].strip():  # why, in the client's words
                print("fleet_scale.py: %s, %s, %d assets: %d failed requests; the first:\n  %s"
                      % (client, transport, n, r["failures"], "\n  ".join(r["stderr"].strip().splitlines()[:5])),
                      file=sys.stderr)
            # nginx has no view of lateness or activations: those cells are n/a.
            late = "n/a" if r["late_p99"] != r["late_p99"] else "%.1f" % r["late_p99"]
            act = "n/a" if r["act_p99"] != r["act_p99"] else "%.1f" % r["act_p99"]
            confirmed = "%d/%d" % (r["confirmed"], r["expected"]) if r["expected"] else "n/a"
            print("| %s | %s | %d | %.2f | %.1f | %.2f | %.2f | %s | %s | %s | %d | %.2f / %.2f | %s |" % (
                client, transport, n, 100 * r["util"], r["cpu_per_asset_us_s"], r["rss_per_asset_kb"],
                r["private_per_asset_kb"],
                late, act, confirmed, r["failures"], r["samples_per_asset"], r["polls_per_asset"], verdict))
            rows.append({"client": client, "transport": transport, "assets": n,
                         "verdict": "failed" if r["problems"] else "invalid" if r["different"] else "ok",
                         "why": "; ".join(r["problems"] + r["different"]),
                         **{key: r[key] for key in ("util", "cpu_per_asset_us_s", "rss_per_asset_kb",
                                                    "private_per_asset_kb", "failures", "samples_per_asset",
                                                    "polls_per_asset")}})
            if not r["problems"] and not r["different"]:
                largest[(client, transport)] = r["util"] / n  # per-asset share, from the largest valid size
    sys.stdout.flush()
print("\n### Largest fleet under 50 %% of one core%s (extrapolated from the largest valid size measured)\n"
      % (", against nginx" if server_kind == "nginx" else ""))
print("| client | transport | assets at 50 % of a core |\n|---|---|---|")
for (client, transport), per_asset in largest.items():
    print("| %s | %s | %s |" % (client, transport, "{:,}".format(int(0.5 / per_asset)) if per_asset > 0 else "n/a"))
if "--json" in opts:
    with open(opts["--json"], "w") as f:
        json.dump({"server": server_kind, "compression": k, "duration_s": duration, "connections": int(connections),
                   "tick_ms": tick_ms,
                   "rows": rows}, f, indent=1)
if invalid:
    sys.stdout.flush()
    print("\nfleet_scale.py: %d rows failed:" % len(invalid), file=sys.stderr)
    for line in invalid:
        print("  " + line, file=sys.stderr)
    sys.exit(1)

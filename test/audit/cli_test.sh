#!/usr/bin/env bash
# The cleori-audit command line: a rotated pair of files with two
# activations and one malformed line, the table, --json, and the exit codes.
# Usage: cli_test.sh path/to/cleori-audit
set -uo pipefail
audit=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../support/checks.sh"

# The older file: up-1 received and accepted at 60 kW.
cat >"$work/audit.jsonl.1" <<'JSONL'
{"time":"2026-11-26T12:00:00.000Z","event":"received","activation":"up-1","direction":"up","power_kw":60,"start":"2026-11-26T12:00:32.000Z","end":"2026-11-26T12:02:02.000Z","status":"pending"}
{"time":"2026-11-26T12:00:00.000Z","event":"assessed","activation":"up-1","feasible":true,"resumed":false,"requested_kw":-60,"share_kw":-60,"headroom_kw":100,"soc_pct":50,"energy_needed_kwh":1.5,"energy_available_kwh":85.38,"reason":null}
{"time":"2026-11-26T12:00:01.000Z","event":"received","activation":"dn-1","direction":"down","power_kw":100,"start":"2026-11-26T12:01:00.000Z","end":"2026-11-26T14:01:00.000Z","status":"pending"}
{"time":"2026-11-26T12:00:01.000Z","event":"assessed","activation":"dn-1","feasible":false,"resumed":false,"requested_kw":100,"share_kw":100,"headroom_kw":100,"soc_pct":50,"energy_needed_kwh":200,"energy_available_kwh":94.87,"reason":"insufficient headroom: charging 100.0 kW for 7200 s needs 200.0 kWh"}
JSONL
# The live file: the rest, a modification to 80 kW, and a line cut short (line 3).
cat >"$work/audit.jsonl" <<'JSONL'
{"time":"2026-11-26T12:00:01.000Z","event":"ended","activation":"dn-1","end_reason":"infeasible","refused":true,"reason":"insufficient headroom: charging 100.0 kW for 7200 s needs 200.0 kWh","window_start":"2026-11-26T12:01:00.000Z","window_end":"2026-11-26T12:01:00.000Z","requested_kwh":0,"delivered_kwh":0,"samples":0}
{"time":"2026-11-26T12:00:01.000Z","event":"confirmed","activation":"dn-1","confirmation":"unavailable","confirmed_at":"2026-11-26T12:00:01.000Z","setpoint_kw":null,"reason":"insufficient headroom: charging 100.0 kW for 7200 s needs 200.0 kWh","answer":"acknowledged","http_status":null,"detail":null}
{"time":"2026-11-26T12:00:32.000Z","event":"commanded","activation":"up-1","share_kw":-60,"setpo
{"time":"2026-11-26T12:00:32.000Z","event":"confirmed","activation":"up-1","confirmation":"executing","confirmed_at":"2026-11-26T12:00:32.000Z","setpoint_kw":-60,"reason":null,"answer":"failed","http_status":503,"detail":"503 server error"}
{"time":"2026-11-26T12:00:34.000Z","event":"confirmed","activation":"up-1","confirmation":"executing","confirmed_at":"2026-11-26T12:00:32.000Z","setpoint_kw":-60,"reason":null,"answer":"acknowledged","http_status":null,"detail":null}
{"time":"2026-11-26T12:01:00.000Z","event":"modified","activation":"up-1","direction":"up","power_kw":80,"start":"2026-11-26T12:00:32.000Z","end":"2026-11-26T12:02:02.000Z","status":"active"}

{"time":"2026-11-26T12:02:02.000Z","event":"ended","activation":"up-1","end_reason":"completed","refused":false,"reason":null,"window_start":"2026-11-26T12:00:32.000Z","window_end":"2026-11-26T12:02:02.000Z","requested_kwh":-1.5,"delivered_kwh":-1.49,"samples":20}
JSONL

# Given newest first: read oldest first all the same.
"$audit" "$work/audit.jsonl" "$work/audit.jsonl.1" >"$work/out" 2>"$work/err"; rc=$?
check "a malformed line is not a failure: exit 0" test "$rc" = 0
check "the malformed line is named file:line" contains "$work/err" "$work/audit.jsonl:3: malformed audit record"
check "the malformed line is counted" contains "$work/out" "2 activations (1 refused), 10 records, 1 malformed lines"
check "table header" contains "$work/out" "requested kW"
check "oldest file first: the modification follows the request" contains "$work/out" "-60.0 -> -80.0"
check "window" contains "$work/out" "2026-11-26T12:00:32.000Z - 2026-11-26T12:02:02.000Z"
check "verdict" contains "$work/out" "accepted -60.0"
check "a retried confirmation shows its final answer" contains "$work/out" "executing acknowledged"
check "refusal confirmed" contains "$work/out" "unavailable acknowledged"
check "up total" contains "$work/out" "total up: 1 activations, requested -1.500 kWh, delivered -1.490 kWh, ratio 99.3 %"
check "down total" contains "$work/out" "total down: 1 activations, requested 0.000 kWh, delivered 0.000 kWh, ratio -"
check "the refusal's reason" contains "$work/out" "dn-1: insufficient headroom: charging 100.0 kW"
grep "^up-1 " "$work/out" >"$work/up" || true
check "up-1 is one row" test "$(wc -l <"$work/up")" = 1
check "up-1 requested kWh" contains "$work/up" " -1.500 "
check "up-1 delivered kWh" contains "$work/up" " -1.490 "
check "up-1 ratio" contains "$work/up" "99.3 %"
check "up-1 ended completed" contains "$work/up" "completed"
grep "^dn-1 " "$work/out" >"$work/dn" || true
check "dn-1 refused" contains "$work/dn" "refused (infeasible)"
check "dn-1 no ratio without requested energy" contains "$work/dn" "  -  "

# --json: the same numbers.
"$audit" --json "$work/audit.jsonl.1" "$work/audit.jsonl" >"$work/json" 2>"$work/err"; rc=$?
check "--json exits 0" test "$rc" = 0
check "--json delivered" contains "$work/json" '"requested_kwh":-1.5,"delivered_kwh":-1.49'
check "--json modified power" contains "$work/json" '"requested_kw":-60,"latest_kw":-80'
check "--json malformed entry" contains "$work/json" '"line":3'
check "--json malformed count" contains "$work/json" '"malformed":1}'
check "--json totals" contains "$work/json" '"up":{"activations":1,"requested_kwh":-1.5,"delivered_kwh":-1.49'
if command -v python3 >/dev/null; then
  check "--json is JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/json"
fi

# A file that cannot be read: exit 1, named, and the others still summarised.
"$audit" "$work/missing.jsonl" "$work/audit.jsonl" >"$work/out" 2>"$work/err"; rc=$?
check "unreadable file exits 1" test "$rc" = 1
check "unreadable file named" contains "$work/err" "cannot read '$work/missing.jsonl'"
check "the readable file is still summarised" contains "$work/out" "up-1"

# Usage.
"$audit" >"$work/out" 2>"$work/err"; rc=$?
check "no file is a usage error" test "$rc" = 2
check "usage printed" contains "$work/err" "usage: cleori-audit"
"$audit" --bogus "$work/audit.jsonl" >"$work/out" 2>"$work/err"; rc=$?
check "unknown option is a usage error" test "$rc" = 2
"$audit" --help >"$work/out" 2>"$work/err"; rc=$?
check "--help exits 0" test "$rc" = 0
check "--help explains" contains "$work/out" "oldest first"

# An id with a terminal escape (from a hostile server) is shown escaped.
printf '%s\n' '{"time":"2026-11-26T12:00:00.000Z","event":"received","activation":"evil\u001b[2Jx","direction":"up","power_kw":60,"start":"2026-11-26T12:00:32.000Z","end":"2026-11-26T12:02:02.000Z","status":"pending"}' >"$work/evil.jsonl"
"$audit" "$work/evil.jsonl" >"$work/out" 2>"$work/err"; rc=$?
check "an escape in an id: exit 0" test "$rc" = 0
check "… shown escaped" contains "$work/out" 'evil\x1b[2Jx'
check "… never raw" sh -c "! grep -q \"$(printf '\033')\" '$work/out'"

finish

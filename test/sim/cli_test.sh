#!/usr/bin/env bash
# The cleori-sim command line: token sources, refusals, scenario, report,
# --duration and SIGTERM. Usage: cli_test.sh path/to/cleori-sim
set -uo pipefail
sim=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../support/checks.sh"

# No tokens: a clear refusal.
env -u CLEORI_SIM_TOKENS "$sim" --duration 1 >"$work/out" 2>"$work/err"; rc=$?
check "no tokens exits 2" test "$rc" = 2
check "no tokens says how to give them" contains "$work/err" "set CLEORI_SIM_TOKENS"

# A token on the command line is refused, and not echoed.
"$sim" --token tok-on-argv >"$work/out" 2>"$work/err"; rc=$?
check "--token refused" test "$rc" = 2
check "--token refusal explains" contains "$work/err" "never taken from the command line"
check "--token value not echoed" lacks "$work/err" "tok-on-argv"

# Bad values and files are named.
CLEORI_SIM_TOKENS=t "$sim" --port 70000 2>"$work/err"; rc=$?
check "bad port refused" test "$rc" = 2
check "bad port named" contains "$work/err" "--port: expected a number"
CLEORI_SIM_TOKENS=t "$sim" --tls-cert /nonexistent.crt --tls-key /nonexistent.key 2>"$work/err"; rc=$?
check "missing certificate refused" test "$rc" = 2
check "missing certificate named" contains "$work/err" "--tls-cert '/nonexistent.crt'"
echo '{"actions":[{"action":"create","asset":"asset-7","activation":{}}]}' >"$work/bad.json"
CLEORI_SIM_TOKENS=t "$sim" --scenario "$work/bad.json" --duration 1 2>"$work/err"; rc=$?
check "bad scenario refused" test "$rc" = 2
check "bad scenario names the action" contains "$work/err" "action 0"

# A scenario run with --duration writes the report; tokens from a file.
cat >"$work/scenario.json" <<'JSON'
{"actions":[
  {"at_s":0,"action":"create","asset":"asset-2","activation":{"id":"cli-1","direction":"up","power":60,"start_in_s":5,"duration_s":60}},
  {"at_s":0.2,"action":"cancel","id":"cli-1"}
]}
JSON
printf '# asset tokens\nfile-token-one\n\nfile-token-two\n' >"$work/tokens"
"$sim" --tokens-file "$work/tokens" --scenario "$work/scenario.json" --report "$work/report.json" --duration 1 \
  --csv "$work/series.csv" --response-time 0.5 >"$work/out" 2>"$work/err"; rc=$?
check "duration run exits 0 (nothing ran: nothing failed)" test "$rc" = 0
check "time series written" contains "$work/series.csv" "time,asset,requested_kw,confirmed_kw,measured_kw,soc_pct,activations"
check "rules judged against the given response time" contains "$work/out" "ramp of the 0.5 s response time"
check "nothing to judge is said" contains "$work/out" "no asset ran"
check "announces where it serves" contains "$work/out" "serving http://127.0.0.1:"
check "two assets from the file" contains "$work/out" "for 2 assets"
check "scenario creation logged" contains "$work/out" "activation cli-1 created for asset-2"
check "scenario cancel logged" contains "$work/out" "activation cli-1 cancelled"
check "report written" contains "$work/report.json" '"id":"cli-1"'
check "report shows the cancellation" contains "$work/report.json" '"status":"cancelled"'
check "readable report printed" contains "$work/out" "== compliance report"
check "no token in output" lacks "$work/out" "file-token"
check "no token in report" lacks "$work/report.json" "file-token"

CLEORI_SIM_TOKENS=t "$sim" --response-time 99 2>"$work/err"; rc=$?
check "absurd response time refused" test "$rc" = 2
check "… naming the option" contains "$work/err" "--response-time"
CLEORI_SIM_TOKENS=t "$sim" --duration 0.2 --csv /nonexistent-dir/x.csv >/dev/null 2>"$work/err"; rc=$?
check "unwritable time series exits 3" test "$rc" = 3

# SIGTERM ends a run without --duration and still writes the report.
CLEORI_SIM_TOKENS=env-token-a,env-token-b "$sim" --report "$work/term.json" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 50); do contains "$work/out" "serving" && break; sleep 0.1; done
kill -TERM "$pid"; wait "$pid"; rc=$?
check "SIGTERM exits 0" test "$rc" = 0
check "SIGTERM writes the report" contains "$work/term.json" '"asset":"asset-2"'
check "no env token in output" lacks "$work/out" "env-token"

finish

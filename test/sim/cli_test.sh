#!/usr/bin/env bash
# The cleori-sim command line: token sources, refusals, scenario, report,
# --duration and SIGTERM. Usage: cli_test.sh path/to/cleori-sim
set -uo pipefail
sim=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() { # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
contains() { grep -qF -- "$2" "$1"; }
lacks() { ! grep -qF -- "$2" "$1"; }

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
  >"$work/out" 2>"$work/err"; rc=$?
check "duration run exits 0" test "$rc" = 0
check "announces where it serves" contains "$work/out" "serving http://127.0.0.1:"
check "two assets from the file" contains "$work/out" "for 2 assets"
check "scenario creation logged" contains "$work/out" "activation cli-1 created for asset-2"
check "scenario cancel logged" contains "$work/out" "activation cli-1 cancelled"
check "report written" contains "$work/report.json" '"id":"cli-1"'
check "report shows the cancellation" contains "$work/report.json" '"status":"cancelled"'
check "readable report printed" contains "$work/out" "== compliance report"
check "no token in output" lacks "$work/out" "file-token"
check "no token in report" lacks "$work/report.json" "file-token"

# SIGTERM ends a run without --duration and still writes the report.
CLEORI_SIM_TOKENS=env-token-a,env-token-b "$sim" --report "$work/term.json" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 50); do contains "$work/out" "serving" && break; sleep 0.1; done
kill -TERM "$pid"; wait "$pid"; rc=$?
check "SIGTERM exits 0" test "$rc" = 0
check "SIGTERM writes the report" contains "$work/term.json" '"asset":"asset-2"'
check "no env token in output" lacks "$work/out" "env-token"

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"

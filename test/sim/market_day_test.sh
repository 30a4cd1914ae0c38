#!/usr/bin/env bash
# A market day in virtual time (cleori-market-day): every rule PASS; a device
# at half power fails the energy rule; a device whose readings fail for 30 s
# fails the telemetry rule; the day's scenario loads into cleori-sim; the
# plot and the agent's audit trail are produced.
# Usage: market_day_test.sh MARKET_DAY CLEORI_SIM CLEORI_AUDIT PLOT_SCRIPT OUT_DIR
set -uo pipefail
day=$1 sim=$2 audit=$3 plot=$4 out=$5
mkdir -p "$out"
source "$(dirname "$0")/../support/checks.sh"
rule() { # rule FILE NAME RESULT: the rule's line in the summary table ends in RESULT
  grep -E "^  $2 +" "$1" | grep -qE " $3( |$)"
}
rules=("telemetry gap" "poll gap" "confirmation delay" "energy delivered" "power outside windows" "return to baseline")
only_fails() { # only_fails FILE RULE: that rule FAILs, every other PASSes
  check "… '$2' FAILs" rule "$1" "$2" FAIL
  local r
  for r in "${rules[@]}"; do
    [ "$r" = "$2" ] || check "… '$r' still PASSes" rule "$1" "$r" PASS
  done
}

rm -f "$out"/audit.jsonl*
"$day" --quiet --csv "$out/market-day.csv" --report "$out/market-day.json" --audit "$out/audit.jsonl" \
  --scenario-out "$out/scenario.json" >"$out/pass.txt" 2>&1; rc=$?
cat "$out/pass.txt"
check "a market day exits 0" test "$rc" = 0
check "the summary says PASS" matches "$out/pass.txt" '^PASS: '
for r in "${rules[@]}" "audit trail reconciles"; do
  check "rule '$r' PASS" rule "$out/pass.txt" "$r" PASS
done
n=$(grep -cE '^  (act|overlap|infeasible)-[0-9]+ ' "$out/pass.txt")
check "at least 50 activations ($n)" test "$n" -ge 50
check "modified, cancelled, open-ended and overlapping ones" \
  sh -c "grep -q '\"action\":\"modify\"' '$out/scenario.json' && grep -q '\"action\":\"cancel\"' '$out/scenario.json' && grep -q 'overlap-' '$out/pass.txt'"
check "the infeasible one is refused" matches "$out/pass.txt" '^  infeasible-[0-9]+ .* refused '
check "outages and 429/503 bursts were injected" \
  sh -c "grep -q '\"outage\"' '$out/scenario.json' && grep -q '\"status\":429' '$out/scenario.json' && grep -q '\"status\":503' '$out/scenario.json'"
check "the device's setpoint fault made one refusal" matches "$out/pass.txt" '^  act-44 .* refused-late '
check "the time series covers the day" test "$(wc -l <"$out/market-day.csv")" -gt 17000
check "the report says pass" matches "$out/market-day.json" '"pass":true'

# Broken settings make the matching rule fail, and only that one.
"$day" --quiet --power-scale 0.5 >"$out/half.txt" 2>&1; rc=$?
check "a device at half power exits 1" test "$rc" = 1
only_fails "$out/half.txt" "energy delivered"
"$day" --quiet --read-fault 30 >"$out/gap.txt" 2>&1; rc=$?
check "readings failing for 30 s exit 1" test "$rc" = 1
only_fails "$out/gap.txt" "telemetry gap"

# A correct agent at Cleori's limits passes: polls every 60 s, telemetry every 10 s.
"$day" --quiet --poll-interval 60 --telemetry-interval 10 >"$out/slow.txt" 2>&1; rc=$?
check "an agent at the 60 s / 10 s limits passes" test "$rc" = 0
# A file that cannot be written is not a rule failure.
"$day" --quiet --hours 1 --report /nonexistent-dir/r.json >/dev/null 2>&1; rc=$?
check "an unwritable report exits 3" test "$rc" = 3

# The day's scenario is a cleori-sim scenario (for a real-time replay).
CLEORI_SIM_TOKENS=t "$sim" --port 0 --scenario "$out/scenario.json" --duration 0.5 --quiet >"$out/sim.txt" 2>&1; rc=$?
check "cleori-sim accepts the day's scenario" test "$rc" = 0

# The agent's audit trail: JSON Lines, summarised by cleori-audit, no token.
check "the audit trail was written" test -s "$out/audit.jsonl"
check "the token is not in the audit trail" sh -c "! grep -q market-day-token '$out'/audit.jsonl*"
"$audit" "$out"/audit.jsonl* >"$out/audit.txt" 2>&1; rc=$?
check "cleori-audit reads it" test "$rc" = 0
check "cleori-audit lists act-44" matches "$out/audit.txt" 'act-44'

# The picture.
if command -v gnuplot >/dev/null; then
  "$plot" "$out/market-day.csv" "$out/market-day.svg" >/dev/null; rc=$?
  check "the plot is drawn" test "$rc" = 0
  check "… as SVG" matches "$out/market-day.svg" '<svg'
else
  echo "FAILED: gnuplot is not installed (scripts/deps installs gnuplot-nox)"; failures=$((failures + 1))
fi

finish

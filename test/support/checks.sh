# Sourced by the command-line tests (test/*/cli_test.sh, test/sim/market_day_test.sh):
# `check "what" command…` runs a check and counts failures; `finish` reports
# and sets the exit status.
failures=0
check() {
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
contains() { grep -qF -- "$2" "$1"; }   # contains FILE TEXT
matches() { grep -qE -- "$2" "$1"; }    # matches FILE REGEX
lacks() { ! grep -qF -- "$2" "$1"; }    # lacks FILE TEXT
finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
}

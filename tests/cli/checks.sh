# The checks the CLI test scripts share; sourced after they set $mailsim and $work.
# Each check prints "ok:" or "FAIL:" and counts failures; a script ends with
# `[ "$failures" -eq 0 ]`. MAILSIM_SIM_ARGS holds extra SimGrid flags for every
# simulation (the sanitizer build sets them).
failures=0
read -r -a sim_args <<<"${MAILSIM_SIM_ARGS:-}"
run() { "$mailsim" run "$@" "${sim_args[@]}"; }

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }

# expect CODE DESCRIPTION -- COMMAND...: runs it, stdout/stderr into $work/out, $work/err
expect() {
  local code=$1 what=$2
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -eq "$code" ]; then pass "$what (exit $got)"; else
    fail "$what: exit $got, expected $code"; sed 's/^/      /' "$work/err" | head -20; fi
}
stderr_has() {
  if grep -qF -- "$1" "$work/err"; then pass "stderr says: $1"; else
    fail "stderr lacks: $1"; sed 's/^/      /' "$work/err" | head -20; fi
}
stdout_has() {
  if grep -qF -- "$1" "$work/out"; then pass "stdout has: $1"; else fail "stdout lacks: $1"; fi
}
stdout_lacks() {
  if grep -qF -- "$1" "$work/out"; then fail "stdout should not have: $1"; else pass "stdout has no: $1"; fi
}
stdout_count() {
  local n
  n=$(grep -cF -- "$2" "$work/out")
  if [ "$n" -eq "$1" ]; then pass "stdout has $1 x: $2"; else fail "stdout has $n x, not $1: $2"; fi
}

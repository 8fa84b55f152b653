#!/usr/bin/env bash
# TLS end to end (docs/network-model.md, "TLS"): the TLS flagship's trace is
# deterministic and its byte counts add up (payload + record overhead); variants
# of it exercise what the golden story does not: STARTTLS on 587, TLS 1.2, POP3
# on 995, HTTPS for webmail, and bad TLS settings on the command line.
# usage: test_tls_runs.sh MAILSIM SOURCE_DIR WORK_DIR
set -u
mailsim=$1
src=$2
work=$3
rm -rf "$work" && mkdir -p "$work"
tls="$src/scenarios/rav-canada-to-uday-india-tls.json"
web="$src/scenarios/rav-canada-to-uday-india-web.json"
. "$(dirname "$0")/checks.sh"
# variant SOURCE OUT PYTHON: writes a changed copy of a scenario (d is its JSON).
variant() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d.pop("expect", None)  # the facts of the original's traffic; a variant changes it
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
}

expect 0 "TLS flagship (1)" -- run "$tls" --trace "$work/one.jsonl"
expect 0 "TLS flagship (2)" -- run "$tls" --trace "$work/two.jsonl"
if cmp -s "$work/one.jsonl" "$work/two.jsonl"; then pass "TLS traces are byte-identical"; else
  fail "two TLS runs gave different traces"; fi
python3 - "$work/one.jsonl" <<'PY' && pass "TLS trace: bytes = payload + record overhead, sums add up" || fail "TLS trace is inconsistent"
import json, sys, math
lines = [json.loads(l) for l in open(sys.argv[1])]
events, summary = lines[1:-1], lines[-1]
hs = [e for e in events if e["kind"] == "tls"]
assert [e["bytes"] for e in hs] == [517, 3079, 64] * 3, [e["bytes"] for e in hs]
assert all("payload" not in e and e["summary"] for e in hs)
inside = [e for e in events if e.get("tls")]
assert inside and all(e["kind"] in ("smtp", "imap") for e in inside)
for e in inside:
    n = len(e["payload"].encode())
    assert e["tls_overhead"] == 22 * math.ceil(n / 16384), e
    assert e["bytes"] == n + e["tls_overhead"], e
# Nothing of c1 (465) and c3 (993) travels in the clear; c2 (25) until STARTTLS.
sealed = [e for e in events if e.get("conn") in ("c1", "c3") and e["kind"] in ("smtp", "imap")]
assert len(sealed) == 15 + 13 and all(e.get("tls") for e in sealed), len(sealed)
clear = [e["payload"] for e in events if e.get("conn") == "c2" and e["kind"] == "smtp" and not e.get("tls")]
assert clear[-2:] == ["STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n"], clear
over = {}
for e in inside:
    over[e["kind"]] = over.get(e["kind"], 0) + e["tls_overhead"]
assert summary["tls_overhead"] == over, (summary["tls_overhead"], over)
assert summary["bytes"]["tls"] == sum(e["bytes"] for e in hs)
tls = summary["emails"][0]["tls"]
assert set(tls) == {"submission", "relay", "retrieval"} and all(t["version"] == "TLS 1.3" and t["round_trips"] == 1 for t in tls.values())
PY

# TLS 1.2, submission with STARTTLS on 587, Uday on POP3 (995).
variant "$tls" "$work/v12.json" '
d["tls"] = {"version": "1.2", "submission": "starttls"}
d["people"][1]["devices"][0]["retrieval"] = "pop3-keep"'
expect 0 "TLS 1.2, STARTTLS on 587, POP3 on 995" -- run "$work/v12.json"
stdout_has "TLS at cms.com: TLS 1.2; submission: STARTTLS (587); relay: STARTTLS (25); retrieval: implicit TLS (POP3 995, IMAP 993, HTTPS 443)"
stdout_has "TLS at ums.com: TLS 1.2; submission: STARTTLS (587)"
stdout_count 2 "C: STARTTLS"
stdout_count 2 "S: 250-STARTTLS"
stdout_count 3 "ClientKeyExchange, ChangeCipherSpec, {Finished} (93 bytes)"
stdout_has "🔒C: AUTH PLAIN"
stdout_has "🔒S: +OK mail.ums.com POP3 server ready"
stdout_has "submission: TLS 1.2 handshake"
stdout_count 3 "TLS 1.2 handshake"
# The server's Finished and the POP3 greeting are one flight: same time.
t_fin=$(grep -F "c3   tls   mail.ums.com/pop3d" "$work/out" | tail -1 | awk '{print $1}')
t_ok=$(grep -F "POP3 server ready" "$work/out" | awk '{print $1}')
if [ -n "$t_fin" ] && [ "$t_fin" = "$t_ok" ]; then pass "TLS 1.2: the greeting rides with the server's Finished"; else
  fail "TLS 1.2 greeting at $t_ok, server Finished at $t_fin"; fi

# Webmail over HTTPS: the browser's Finished rides with its first request.
variant "$web" "$work/web.json" 'd["tls"] = {}'
expect 0 "webmail over HTTPS" -- run "$work/web.json"
t_fin=$(grep -F "c1   tls   rav-laptop/browser" "$work/out" | tail -1 | awk '{print $1}')
t_post=$(grep -F "🔒C: POST /api/login HTTP/1.1" "$work/out" | head -1 | awk '{print $1}')
if [ -n "$t_fin" ] && [ "$t_fin" = "$t_post" ]; then pass "TLS 1.3: Finished and the first request are one flight"; else
  fail "Finished at $t_fin, first request at $t_post"; fi
stdout_has "retrieval: TLS 1.3 handshake"

# One provider without TLS for retrieval: its IMAP is on 143 in the clear.
variant "$tls" "$work/mixed.json" 'd["providers"][1]["tls"] = {"version": "1.2", "retrieval": "off"}'
expect 0 "mixed TLS settings" -- run "$work/mixed.json"
stdout_has "ServerHello, Certificate, ServerKeyExchange, ServerHelloDone (TLS 1.2) (3013 bytes)"
stdout_has "TLS at ums.com: TLS 1.2; submission: implicit TLS (465); relay: STARTTLS (25); retrieval: off (POP3 110, IMAP 143, HTTP 80)"
stdout_has "S: * OK [CAPABILITY"
stdout_count 0 "🔒S: * OK [CAPABILITY"

variant "$tls" "$work/bad.json" 'd["tls"]["version"] = "1.4"; d["providers"][0]["tls"] = {"retrieval": "starttls"}'
expect 2 "validate: bad TLS settings" -- "$mailsim" validate "$work/bad.json"
stderr_has 'tls.version: "1.4" is not one of "1.3", "1.2"'
stderr_has 'providers[0].tls.retrieval: "starttls" is not one of "implicit", "off"'

echo
if [ "$failures" -eq 0 ]; then echo "all TLS run checks passed"; exit 0; fi
echo "$failures TLS run check(s) failed"; exit 1

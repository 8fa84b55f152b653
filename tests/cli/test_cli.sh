#!/usr/bin/env bash
# The command line as users and scripts meet it (docs/cli.md): exit codes,
# one error line per problem naming the JSON path, no trace file left behind
# by a bad input, byte-identical traces for the same seed, SimGrid flags
# passed through.
# usage: test_cli.sh MAILSIM SOURCE_DIR WORK_DIR
set -u
mailsim=$1
src=$2
work=$3
rm -rf "$work" && mkdir -p "$work"
flagship="$src/scenarios/rav-canada-to-uday-india.json"
bad="$src/tests/cli/bad"
. "$(dirname "$0")/checks.sh"

expect 0 "--version" -- "$mailsim" --version
stdout_has "mailsim 0.1.0"
expect 0 "--help" -- "$mailsim" --help
stdout_has "validate"
expect 2 "no subcommand is a usage error" -- "$mailsim"
expect 2 "unknown option is a usage error" -- run "$flagship" --frobnicate
expect 0 "the flagship validates" -- "$mailsim" validate "$flagship"
stdout_has "ok"

expect 2 "validate: a bad address" -- "$mailsim" validate "$bad/bad-address.json"
stderr_has 'people[1].address: "uday" is not an email address'
expect 2 "validate: an unknown person in the script" -- "$mailsim" validate "$bad/unknown-person.json"
stderr_has 'script[1].person: "Udya" is not one of the people'
expect 2 "validate: a bad duration" -- "$mailsim" validate "$bad/bad-duration.json"
stderr_has 'links[0].latency: "fast" is not a duration'
expect 2 "validate: a web agent cannot use POP3" -- "$mailsim" validate "$bad/web-agent-on-pop3.json"
stderr_has 'people[0].devices[0].retrieval'
expect 2 "validate: not JSON, with line and column" -- "$mailsim" validate "$bad/not-json.json"
stderr_has 'not-json.json: line 4, column'
expect 2 "validate: a missing file" -- "$mailsim" validate "$work/nowhere.json"
stderr_has 'nowhere.json'

# JSON nested 100,000 deep once overflowed the stack while printing the value (exit 139).
printf '%0.s[' $(seq 100000) >"$work/deep.json"
printf '%0.s]' $(seq 100000) >>"$work/deep.json"
expect 2 "validate: arrays nested 100,000 deep" -- "$mailsim" validate "$work/deep.json"
stderr_has 'deep.json: line 1, column 65: this nests arrays and objects more than 64 deep'

# A check every 1s until 10^20 days once ran forever: t + 1 s == t at 8.6e24 s.
sed -e 's/"end": "10m"/"end": "99999999999999999999d"/' \
  -e 's/"action": "check"}/"action": "check", "every": "1s"}/' "$flagship" >"$work/forever.json"
expect 2 "validate: checks every second for 10^20 days" -- "$mailsim" validate "$work/forever.json"
stderr_has 'script[1].every: "1s" until the end of the run ("99999999999999999999d") is more than'

# --seed -1 and --seed 2^64 once ran with seed 2^64 - 1, outside the scenario's own range.
expect 2 "run: --seed -1" -- run "$flagship" --seed -1
stderr_has '--seed: Value -1 not in range 0 to 9223372036854775807'
expect 2 "run: --seed 2^64" -- run "$flagship" --seed 18446744073709551616
stderr_has 'not in range 0 to 9223372036854775807'

# An endless file once made validate read forever.
expect 2 "validate: /dev/zero" -- timeout 60 "$mailsim" validate /dev/zero
stderr_has '/dev/zero: cannot read the file: it is larger than 128 MiB'

expect 2 "validate: three problems" -- "$mailsim" validate "$bad/three-problems.json"
lines=$(grep -c . "$work/err")
if [ "$lines" -eq 3 ]; then pass "three problems give three lines"; else
  fail "three problems gave $lines lines"; cat "$work/err"; fi

# A bad scenario given to run: exit 2, and no trace file, not even a partial one.
expect 2 "run: a bad scenario" -- run "$bad/bad-address.json" --trace "$work/bad.jsonl"
if [ -e "$work/bad.jsonl" ] || [ -e "$work/bad.jsonl.partial" ]; then
  fail "a trace file was left behind by a bad scenario"; else pass "no trace file left behind"; fi
# --trace onto a device or FIFO once renamed the trace over it (as root, /dev/null became a file).
mkfifo "$work/fifo"
expect 2 "run: --trace to a FIFO" -- run "$flagship" --trace "$work/fifo"
if [ -p "$work/fifo" ]; then pass "the FIFO is still a FIFO"; else fail "the FIFO was replaced"; fi
expect 2 "run: an unwritable trace file" -- run "$flagship" --trace "$work/no/such/dir/t.jsonl"

# Determinism: the same scenario and seed give byte-identical traces and stories.
expect 0 "run with --trace (1)" -- run "$flagship" --trace "$work/one.jsonl"
cp "$work/out" "$work/story1"
expect 0 "run with --trace (2)" -- run "$flagship" --trace "$work/two.jsonl"
if cmp -s "$work/one.jsonl" "$work/two.jsonl"; then pass "traces are byte-identical"; else
  fail "two runs gave different traces"; fi
if cmp -s "$work/story1" "$work/out"; then pass "stories are byte-identical"; else
  fail "two runs gave different stories"; fi
python3 - "$work/one.jsonl" <<'PY' && pass "every trace line is JSON; header, events, summary" || fail "trace file is malformed"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["record"] == "header" and lines[0]["format"] == "mailsim-trace"
assert lines[0]["version"] == 1 and lines[0]["seed"] == 1
assert lines[-1]["record"] == "summary"
events = lines[1:-1]
assert all(e["record"] == "event" for e in events)
assert [e["seq"] for e in events] == list(range(len(events)))
assert all(a["time"] <= b["time"] for a, b in zip(events, events[1:]))
kinds = {e["kind"] for e in events}
assert {"tcp", "smtp", "dns", "imap", "queue", "store", "ua"} <= kinds, kinds
assert all(e["arrival"] >= e["time"] for e in events if "arrival" in e)
assert all(e["bytes"] == len(e["payload"].encode()) for e in events if "payload" in e)
import base64
assert all(e["bytes"] == len(base64.b64decode(e["payload_base64"])) for e in events if "payload_base64" in e)
assert any("payload_base64" in e for e in events if e["kind"] == "dns")
PY
expect 0 "run with --seed 7" -- run "$flagship" --seed 7 --trace "$work/seven.jsonl"
if head -1 "$work/seven.jsonl" | grep -q '"seed":7'; then pass "--seed reaches the trace"; else
  fail "--seed 7 not in the trace header"; fi

# --quiet: the summary without the story.
expect 0 "run --quiet" -- run "$flagship" --quiet
stdout_has "Summary"
stdout_lacks "S: 220"

# SimGrid's flags still work: LV08 makes small flights far slower than CM02.
# LV08 makes small flights about 13 times slower: the flagship's expectation
# "delivery under 2 s" is then not met, which is exit 3 with the story intact.
expect 3 "run --cfg=network/model:LV08 (an expectation fails)" -- run "$flagship" --cfg=network/model:LV08
if cmp -s "$work/story1" "$work/out"; then fail "--cfg=network/model:LV08 changed nothing"; else
  pass "--cfg reaches SimGrid"; fi
stdout_has "NOT MET  expect[4]  delivery (from Send until it was stored in the recipient's mailbox) of every email to uday@ums.com takes under 2 s (uday@ums.com took 20.756 s)"
stdout_has "Expectations: 16 of 18 met"
expect 0 "run --log=mailsim.thres:verbose" -- run "$flagship" --log=mailsim.thres:verbose
stderr_has "established"

# Expectations: met in the bundled run, carried in the trace's summary record.
python3 - "$work/one.jsonl" <<'PY' && pass "the trace's summary record holds the expectations and the lesson" || fail "expectations missing from the trace"
import json, sys
summary = [json.loads(l) for l in open(sys.argv[1])][-1]
results = summary["expectations"]
assert len(results) == 18 and all(r["met"] for r in results), results
assert results[11] == {"path": "expect[11]", "met": True, "actual": "on c2",
                       "text": "mail.cms.com is the SMTP client on 1 SMTP connection to mail.ums.com"}, results[11]
points = summary["lesson"]["points"]
assert summary["lesson"]["idea"] == "push, then pull"
assert points[2]["conn"] == "c2" and points[2]["time"] == 0.813325 or abs(points[2]["time"] - 0.813325) < 1e-6, points[2]
PY
expect 2 "validate: bad expectations, one line each" -- "$mailsim" validate "$bad/bad-expect.json"
stderr_has 'expect[0].mailbox: "udya@ums.com" is not the address of one of the people (rav@cms.com, uday@ums.com)'
stderr_has 'expect[1]: check one thing per entry, not both "mailbox" and "bytes"'
stderr_has 'expect[2].messages: "messages" does not apply to a "latency" check'
stderr_has 'expect[3].round_trips: the "waiting" span counts no round trips'
stderr_has 'expect[4].host: "mail.cms.org" is not one of the hosts (dns, mail.cms.com, mail.ums.com, rav-laptop, uday-laptop)'
stderr_has 'lesson.points[0].pear: unknown field (did you mean "peer"?)'
lines=$(grep -c . "$work/err")
if [ "$lines" -eq 6 ]; then pass "six problems give six lines"; else fail "six problems gave $lines lines"; fi
expect 0 "--help names exit code 3" -- "$mailsim" --help
stdout_has "3 the run finished but an expectation of the scenario was not met"

# The vocabulary on a variant: Uday downloads with POP3 and deletes, so the
# server keeps no copy; a folder that does not exist holds nothing.
python3 - "$flagship" "$work/pop3-delete.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["people"][1]["devices"][0]["retrieval"] = "pop3-delete"
doc.pop("lesson")
doc["expect"] = [
    {"mailbox": "uday@ums.com", "messages": 0},
    {"mailbox": "uday@ums.com", "folder": "Archive", "messages": 0},
    {"device": "laptop", "person": "Uday", "from": "rav@cms.com", "subject": "Hello from Canada",
     "messages": 1},
    {"role": "user agent", "host": "uday-laptop", "protocol": "pop3", "line": "DELE",
     "connections": 1},
    {"latency": "retrieval", "to": "uday@ums.com", "under": "1s"},
    {"bytes": "imap", "equals": 0},
    {"mailbox": "uday@ums.com", "messages": 1},
]
json.dump(doc, open(sys.argv[2], "w"))
PY
expect 3 "POP3 delete: the server keeps no copy (one expectation fails on purpose)" -- run "$work/pop3-delete.json" --quiet
stdout_has "Expectations: 6 of 7 met"
stdout_has "  met      expect[0]  uday@ums.com's INBOX on the server holds 0 messages (it holds 0 messages, 0 seen)"
stdout_has "  met      expect[1]  uday@ums.com's Archive on the server holds 0 messages (there is no folder Archive)"
stdout_has "  met      expect[3]  uday-laptop is the user agent on 1 POP3 connection that carries \"DELE\" (on c3)"
stdout_has "  NOT MET  expect[6]  uday@ums.com's INBOX on the server holds 1 message (it holds 0 messages, 0 seen)"
expect 3 "POP3 delete, explained" -- run "$work/pop3-delete.json" --explain
stdout_has "             # Uday's laptop logs in to its maildrop (USER, PASS).  [pull; POP3; retrieval]"
stdout_has "             # Uday's laptop downloads a whole message to this device (RETR).  [pull; POP3; retrieval]"
stdout_has "             # Uday's laptop says goodbye (QUIT); the server now removes the messages marked for deletion, so it keeps no copy.  [pull; POP3; retrieval]"

# The trace check and the header line, failing on purpose: a bound the retry
# gap misses by 10 ms, a count off by one, a header the mailbox lacks.
python3 - "$src/scenarios/server-down-retry.json" "$work/retry-wrong.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc.pop("lesson")
doc["expect"] = [
    {"trace": "queue", "host": "mail.cms.com", "line": "attempt 2: retrying",
     "since": "status=deferred", "over": "300.01s"},
    {"trace": "queue", "line": "status=sent", "lines": 1},
    {"trace": "tcp", "line": "RST", "lines": 0},
    {"trace": "queue", "line": "no such line", "since": "status=deferred", "under": "1s"},
    {"mailbox": "uday@ums.com", "header": "In-Reply-To: <", "messages": 1},
    {"mailbox": "uday@ums.com", "header": "Return-Path: <rav@cms.com>", "messages": 1},
]
json.dump(doc, open(sys.argv[2], "w"))
PY
expect 3 "trace and header checks that fail say what the run showed" -- run "$work/retry-wrong.json" --quiet
stdout_has "Expectations: 2 of 6 met"
stdout_has "  NOT MET  expect[0]  the trace has a queue line from mail.cms.com that carries \"attempt 2: retrying\", the first over 300.01 s after the first line that carries \"status=deferred\" (1 line matched; the first at 330.141273, 300.000 s after 30.141273)"
stdout_has "  NOT MET  expect[1]  the trace has 1 queue line that carries \"status=sent\" (2 lines matched)"
stdout_has "  met      expect[2]  the trace has 0 tcp lines that carry \"RST\" (0 lines matched)"
stdout_has "  NOT MET  expect[3]  the trace has a queue line that carries \"no such line\", the first under 1 s after the first line that carries \"status=deferred\" (0 lines matched; none after it)"
stdout_has "  NOT MET  expect[4]  uday@ums.com's INBOX on the server holds 1 message with the header line \"In-Reply-To: <\" (it holds 0 messages, 0 seen)"
stdout_has "  met      expect[5]  uday@ums.com's INBOX on the server holds 1 message with the header line \"Return-Path: <rav@cms.com>\" (it holds 1 message, 1 seen)"

# Place presets end to end: no places, no links, and the run goes over the
# Toronto-Mumbai preset link (98.7 ms one way, docs/places.md).
python3 - "$flagship" "$work/presets.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
del doc["places"], doc["links"]
doc["dns"]["place"] = "Toronto"
for entry in doc["providers"] + doc["people"]:
    entry["place"] = {"Canada": "Toronto", "India": "Mumbai"}[entry["place"]]
doc["expect"] = [{"latency": "dns", "round_trips": 1}]
json.dump(doc, open(sys.argv[2], "w"))
PY
expect 0 "run on place presets" -- run "$work/presets.json" --trace "$work/presets.jsonl"
python3 - "$work/presets.jsonl" <<'PY' && pass "preset places and their link reach the trace header" || fail "preset world wrong"
import json, sys
world = json.loads(open(sys.argv[1]).readline())["world"]
assert [p["name"] for p in world["places"]] == ["Toronto", "Mumbai"], world["places"]
assert world["places"][1]["utc_offset_minutes"] == 330
wan = [l for l in world["links"] if l["name"].startswith("wan:")]
assert wan == [{"name": "wan:Toronto-Mumbai", "between": ["Toronto", "Mumbai"],
                "latency_s": 0.0987, "bandwidth_Bps": 125000000.0}], wan
PY
# One round trip between the servers: 2 x (1 ms uplink + 98.7 ms + 1 ms uplink).
stdout_has "relay: TCP set-up                          201.4 ms   1 round trip"

# --explain: a plain line before each step, and nothing else changes.
expect 0 "run --explain" -- run "$flagship" --explain
grep -v '^             # ' "$work/out" >"$work/unexplained"
if cmp -s "$work/story1" "$work/unexplained"; then pass "--explain only adds lines"; else
  fail "--explain changed the story"; fi
stdout_has "             # mail.cms.com (SMTP client) opens a TCP connection to mail.ums.com (SMTP server) on port 25:"
# The port of each service (RFC 6409 3.1 submission 587, RFC 5321 4.5.4.2 relay 25,
# RFC 3501 2.1 IMAP 143) is named where the connection opens.
stdout_has "             # Rav's laptop (user agent) opens a TCP connection to mail.cms.com (submission server) on port 587:"
stdout_has "             # Uday's laptop (user agent) opens a TCP connection to mail.ums.com (IMAP server) on port 143:"
stdout_has "             # MX lookup: mail.cms.com asks the DNS server"
expect 0 "run --explain on webmail" -- run "$src/scenarios/rav-canada-to-uday-india-web.json" --explain
stdout_has "             # Rav's laptop (a web-based user agent) sends the HTTP request POST /api/send to the webmail server. The webmail server, not the browser, will speak SMTP.  [push; HTTP; user agent]"
stdout_has "             # Uday's laptop (a web-based user agent) sends the HTTP request GET /api/messages/INBOX/1 to the webmail server. The answer brings mail to the browser.  [pull; HTTP; user agent]"

# --explain on IMAP IDLE: what the server says unasked, and DONE.
expect 0 "run --explain on two devices in IMAP" -- run "$src/scenarios/two-devices-imap.json" --explain
stdout_has "             # Without being asked, the server tells Uday's laptop at once that new mail has arrived (EXISTS); the device will end IDLE to list it.  [IMAP; IDLE; the server speaks first]"
stdout_has "             # Without being asked, the server tells Uday's laptop at once that a flag changed, e.g. \\Seen set by another device (FETCH FLAGS).  [IMAP; IDLE; one mailbox, many devices]"
stdout_has "             # Without being asked, the server tells Uday's laptop at once that a message left the folder, moved or deleted elsewhere (EXPUNGE).  [IMAP; IDLE; one mailbox, many devices]"
stdout_has "             # Uday's laptop ends IDLE (DONE), to send a command or to renew IDLE before 30 minutes pass.  [pull; IMAP; retrieval]"
stdout_has "             # Uday's tablet asks for the list of folders (LIST), to show them as the server has them.  [pull; IMAP; retrieval]"

# list: the bundled scenarios, sorted by file name, name and description.
expect 0 "list" -- "$mailsim" list
bundled=$(ls "$src"/scenarios/*.json | grep -vc '/scenario.schema.json$')
stdout_has "$bundled scenarios in $src/scenarios"
listed=$(sed -n '2,$p' "$work/out" | grep -E '^  [a-z0-9-]+ ' | awk '{print $1}')
files=$(ls "$src"/scenarios/*.json | grep -v '/scenario.schema.json$' | LC_ALL=C sort |
        sed 's|.*/||; s|\.json$||')
if [ "$listed" = "$files" ]; then
  pass "list names every bundled scenario, sorted by file name"; else fail "list order"; cat "$work/out"; fi
stdout_has "  rav-canada-to-uday-india      Rav in Toronto mails Uday in Mumbai from his mail program;"
mkdir -p "$work/listing" && cp "$bad/not-json.json" "$bad/three-problems.json" "$work/listing/"
echo '{"not": "a scenario"}' >"$work/listing/other.json"
expect 0 "list --dir: a broken file is listed, other JSON is not" -- "$mailsim" list --dir "$work/listing"
stdout_has "2 scenarios in $work/listing"
stdout_has "  not-json                  (not valid JSON: mailsim validate says where)"
stdout_lacks "other"
expect 2 "list --dir: not a directory" -- "$mailsim" list --dir "$work/nowhere"
stderr_has "is not a directory"

# A bundled scenario by its name, as list shows it.
expect 0 "run a bundled scenario by name" -- run rav-canada-to-uday-india --quiet
stdout_has "Expectations: 18 of 18 met"
expect 0 "validate a bundled scenario by name, with .json" -- "$mailsim" validate rav-canada-to-uday-india-web.json
stdout_has "scenarios/rav-canada-to-uday-india-web.json: ok"
expect 2 "a name that is no bundled scenario" -- "$mailsim" validate no-such-scenario
stderr_has "no-such-scenario: cannot read the file: No such file or directory"

# The reply: every connection's SYN names both ends' roles (peer_role) and the port, and
# the two servers swap them between the first relay (c2) and the second (c5).
expect 0 "the reply scenario writes its JSON trace" -- run "$src/scenarios/uday-replies.json" --quiet --trace "$work/reply.jsonl"
roles=$(python3 - "$work/reply.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("summary") == "SYN":
        print(f'{e["conn"]} {e["src_host"]} {e["role"]} -> {e["dst_host"]} {e["peer_role"]} :{e.get("port")}')
PY
)
want="c1 rav-laptop user agent -> mail.cms.com submission server :587
c2 mail.cms.com SMTP client -> mail.ums.com SMTP server :25
c3 uday-laptop user agent -> mail.ums.com IMAP server :143
c4 uday-laptop user agent -> mail.ums.com submission server :587
c5 mail.ums.com SMTP client -> mail.cms.com SMTP server :25
c6 rav-laptop user agent -> mail.cms.com IMAP server :143"
if [ "$roles" = "$want" ]; then pass "SYN events name both roles and the port; the servers swap roles for the reply"
else fail "SYN roles were: $roles"; fi

echo
if [ "$failures" -eq 0 ]; then echo "all CLI checks passed"; exit 0; fi
echo "$failures CLI check(s) failed"; exit 1

#!/usr/bin/env python3
"""IMAP IDLE in the simulation, timed exactly from the trace of two-devices-imap
(docs/trace-format.md): a change to the store wakes the laptop's parked imapd session at
once, so the untagged update leaves the server one command's CPU time (per_command, 20 us
on a 1 GFLOP/s server) after the change and reaches the laptop one route latency plus its
size over the bottleneck later (rfc2177.txt 3: "the server may send ... untagged responses
at any time"); nothing else crosses the idle connection (no polling); the laptop re-issues
IDLE exactly 29 minutes after the last "+ idling" (rfc2177.txt 3). A server that goes off
("down") ends the IDLE session when it does, with an untagged BYE (rfc3501.txt 3.4, 7.1.5),
and never answers on that connection again; the summary no longer calls the device in IDLE.
The device then reconnects on its own with back-off (1 min, doubled after each failed attempt,
at most 15 min: a model choice, docs/imap.md "Reconnecting"), each attempt timing out against
the server that is off; the first that connects syncs and idles again, and no attempt is made
after the end of the run.
A syncing device with a preloaded folder of 3000 messages names them with one short command
(UIDs as ranges, rfc3501.txt 9) and the summary shows ten of them and how many more.
usage: idle_timing.py MAILSIM SOURCE_DIR WORK_DIR [SIMGRID ARGS]"""
import json
import os
import subprocess
import sys

mailsim, source, work = sys.argv[1:4]
extra = sys.argv[4:]
os.makedirs(work, exist_ok=True)
failures = 0
PER_COMMAND = 2e4 / 1e9  # sim/world.hpp ServerCosts::per_command on the default server CPU


def check(what, got, want):
    global failures
    ok = abs(got - want) < 1e-9
    print("%-66s got %.9f want %.9f %s" % (what, got, want, "ok" if ok else "FAILED"))
    failures += 0 if ok else 1


trace = os.path.join(work, "two-devices-imap.jsonl")
subprocess.run([mailsim, "run", os.path.join(source, "scenarios", "two-devices-imap.json"),
                "--quiet", "--trace", trace] + extra, check=True,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
records = [json.loads(line) for line in open(trace, encoding="utf-8")]
links = {l["name"]: l for l in records[0]["world"]["links"]}
events = [r for r in records if r["record"] == "event"]
server, laptop = links["access:mail.ums.com"], links["access:uday-laptop"]
latency = server["latency_s"] + laptop["latency_s"]  # both in India: two access links
bottleneck = min(server["bandwidth_Bps"], laptop["bandwidth_Bps"])


def first(pred, what):
    found = [e for e in events if pred(e)]
    if not found:
        print("FAILED: no event " + what)
        sys.exit(1)
    return found[0]


def to_laptop(line):
    return first(lambda e: e["kind"] == "imap" and e.get("dst_host") == "uday-laptop"
                 and e.get("payload", "").startswith(line), "to the laptop starting " + line)


def timed(what, changed_at, update):
    check(what + ": the update leaves the server", update["time"], changed_at + PER_COMMAND)
    check(what + ": it reaches the laptop", update["arrival"],
          update["time"] + latency + update["bytes"] / bottleneck)


# New mail: local delivery stores it; the laptop hears "* 1 EXISTS".
stored = first(lambda e: e["kind"] == "store" and "stored in uday@ums.com" in e["summary"],
               "storing the letter")
timed("new mail (* 1 EXISTS)", stored["time"], to_laptop("* 1 EXISTS"))

# The phone's UID STORE: the server's reply to the phone goes out as the store has changed.
stored_flag = first(lambda e: e.get("dst_host") == "uday-phone"
                    and e.get("payload", "").startswith("* 1 FETCH (UID 1 FLAGS (\\Seen))"),
                    "answering the phone's STORE")
timed("flags (* 1 FETCH (FLAGS ...))", stored_flag["time"], to_laptop("* 1 FETCH (FLAGS"))

# The phone's UID MOVE: the laptop hears "* 1 EXPUNGE".
moved = first(lambda e: e.get("dst_host") == "uday-phone"
              and e.get("payload", "").startswith("* OK [COPYUID"), "answering the phone's MOVE")
timed("move (* 1 EXPUNGE)", moved["time"], to_laptop("* 1 EXPUNGE"))

# No polling: the server writes to the idling laptop only what changed (EXISTS, FETCH FLAGS,
# EXPUNGE) and its answers to the laptop's own commands: DONE, the fetch of the new letter and
# IDLE again (3), then two renewals of DONE and IDLE (4).
c2 = [e for e in events if e.get("conn") == "c2" and e["kind"] == "imap"
      and e["src_host"] == "mail.ums.com" and e["time"] > stored["time"]]
check("server flights on the IDLE connection after the delivery", len(c2), 10)

# RFC 2177 3: IDLE is re-issued 29 minutes after the server last said "+ idling".
idling = [e for e in events if e.get("conn") == "c2" and e.get("payload") == "+ idling\r\n"]
dones = [e for e in events if e.get("conn") == "c2" and e.get("payload") == "DONE\r\n"]
check("first renewal: DONE 29 min after the last + idling", dones[1]["time"],
      idling[1]["arrival"] + 29 * 60)
check("second renewal", dones[2]["time"], idling[2]["arrival"] + 29 * 60)

# The server goes off from 20 to 35 minutes, across the laptop's first renewal (29 minutes
# after 1.6 s): the IDLE session ends at 20 minutes with BYE, no "+ idling" while it is off.
doc = json.load(open(os.path.join(source, "scenarios", "two-devices-imap.json"),
                     encoding="utf-8"))
doc["providers"][1]["down"] = [{"from": "20m", "until": "35m"}]
doc.pop("expect")
doc.pop("lesson")
down_file = os.path.join(work, "idle-down.json")
json.dump(doc, open(down_file, "w", encoding="utf-8"))
down_trace = os.path.join(work, "idle-down.jsonl")
summary = subprocess.run([mailsim, "run", down_file, "--quiet", "--trace", down_trace] + extra,
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
down_events = [json.loads(line) for line in open(down_trace, encoding="utf-8")]
server_c2 = [e for e in down_events if e.get("record") == "event" and e.get("conn") == "c2"
             and e["kind"] == "imap" and e["src_host"] == "mail.ums.com"]
bye = server_c2[-1]
print("last server line on the IDLE connection: %r" % bye["payload"])
if bye["payload"] != "* BYE mail.ums.com IMAP4rev1 server shutting down\r\n":
    failures += 1
    print("FAILED: the server's last line on c2 is not its BYE")
check("the BYE leaves as the server goes off", bye["time"], 20 * 60)
explained = subprocess.run([mailsim, "run", down_file, "--explain"] + extra, check=True,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
lines = explained.splitlines()
at = [i for i, l in enumerate(lines) if "S: * BYE mail.ums.com IMAP4rev1 server shutting" in l]
before_bye = lines[at[0] - 1].strip() if at else ""
print("--explain before the BYE: %r" % before_bye)
if not before_bye.startswith("# The server is going off: it says goodbye to Uday's laptop"):
    failures += 1
    print("FAILED: --explain says nothing of the BYE")
if "in IDLE on c2 to the end" in summary:
    failures += 1
    print("FAILED: the summary still says the laptop idles on c2 to the end")

# The laptop reconnects on its own (docs/imap.md "Reconnecting"): first 1 minute after it has
# closed the connection the BYE ended, then, after each attempt that times out against the server that is off (30 s,
# SYN sent again at 1, 3, 7, 15 s: rfc6298.txt 5.5), after 2, 4, 8 (at most 15) minutes. The
# server is back at 35 min, when Rav sends a second letter, stored while the laptop is still
# away; the attempt at 20 min + 990 s connects, syncs (the letter is in its list) and idles.
doc["script"].append({"at": "35m", "person": "Rav", "action": "send", "to": ["uday@ums.com"],
                      "subject": "Photos", "body": "Here they are.\n"})
json.dump(doc, open(down_file, "w", encoding="utf-8"))
summary = subprocess.run([mailsim, "run", down_file, "--trace", down_trace] + extra,
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
down_events = [json.loads(line) for line in open(down_trace, encoding="utf-8")
               if '"event"' in line]
bye = [e for e in down_events if e.get("conn") == "c2" and e["kind"] == "imap"
       and e["payload"].startswith("* BYE")][0]
lost = [e for e in down_events if e["kind"] == "ua" and e["src_host"] == "uday-laptop"
        and e["summary"] == "the server ended the laptop's IDLE connection c2"]
if not lost:
    failures += 1
    print("FAILED: the laptop does not notice the end of its IDLE connection")
else:
    # The laptop closes c2 as the BYE arrives (FIN); the session ends with its last ACK.
    closed = [e for e in down_events if e.get("conn") == "c2" and e["kind"] == "tcp"][-1]
    check("the laptop notes the loss as it has closed c2 (%s)" % closed["summary"],
          lost[0]["time"], closed["time"])
syns = [e for e in down_events if e["kind"] == "tcp" and e["src_host"] == "uday-laptop"
        and e["summary"] == "SYN" and e["time"] > bye["time"]]
waits = [60, 60 + 30 + 120, 60 + 30 + 120 + 30 + 240, 60 + 30 + 120 + 30 + 240 + 30 + 480]
if len(syns) != len(waits):
    failures += 1
    print("FAILED: %d connection attempts by the laptop after the BYE, want %d"
          % (len(syns), len(waits)))
for syn, wait in zip(syns, waits):
    check("reconnect attempt %s starts %d s after the loss" % (syn["conn"], wait), syn["time"],
          lost[0]["time"] + wait)
for syn in syns[:-1]:
    gave_up = [e for e in down_events if e.get("conn") == syn["conn"]
               and e["summary"] == "no answer in 30 s: connection timed out"]
    check("attempt %s times out" % syn["conn"], gave_up[0]["time"] if gave_up else -1,
          syn["time"] + 30)
back = syns[-1]["conn"] if syns else "none"
stored2 = [e for e in down_events if e["kind"] == "store" and "as UID 2" in e["summary"]]
if not stored2 or stored2[0]["time"] > syns[-1]["time"]:
    failures += 1
    print("FAILED: the second letter is not stored before the laptop is back")
idle_again = [e for e in down_events if e.get("conn") == back and e["kind"] == "imap"
              and e["payload"] == "+ idling\r\n"]
print("the laptop idles again on %s: %s" % (back, "yes" if idle_again else "no"))
if not idle_again:
    failures += 1
    print("FAILED: the laptop does not idle again after the outage")
laptop_view = summary[summary.find("uday-laptop            its IMAP view"):].splitlines()[:3]
print("the laptop's view at the end: %r" % laptop_view)
want_view = ["in IDLE on %s to the end" % back, 'INBOX    "Photos" (unseen)',
             'Family   "Lake trip" (seen)']
if len(laptop_view) != 3 or any(w not in l for w, l in zip(want_view, laptop_view)):
    failures += 1
    print("FAILED: the laptop's view after the reconnect, want %r" % want_view)
if "uday@ums.com           INBOX: 1 message, 0 seen" not in summary:
    failures += 1
    print("FAILED: the server's INBOX does not hold the second letter, unseen")
doc["script"].pop()

# Off from 50 minutes to past the end (1 h): the attempts at +60, +210 and +480 s time out;
# the next would start after the end, so none is made and the run ends at 3600 s.
doc["providers"][1]["down"] = [{"from": "50m", "until": "2h"}]
json.dump(doc, open(down_file, "w", encoding="utf-8"))
subprocess.run([mailsim, "run", down_file, "--quiet", "--trace", down_trace] + extra,
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
down_events = [json.loads(line) for line in open(down_trace, encoding="utf-8")
               if '"event"' in line]
lost = [e for e in down_events if e["kind"] == "ua"
        and e["summary"] == "the server ended the laptop's IDLE connection c2"]
syns = [e["time"] - lost[0]["time"] for e in down_events if lost and e["kind"] == "tcp"
        and e["src_host"] == "uday-laptop" and e["summary"] == "SYN"
        and e["time"] > lost[0]["time"]]
print("attempts after the loss at 50 min: %r" % ["%.6f" % t for t in syns])
if [round(t, 6) for t in syns] != [60, 210, 480]:
    failures += 1
    print("FAILED: want attempts at +60, +210, +480 s only")
last = [e["summary"] for e in down_events if e["kind"] == "ua"][-1:]
want = "the laptop would try to reconnect at %.3f s, after the end of the run" % (
    lost[0]["time"] + 480 + 30 + 480 if lost else 0)
print("the laptop's last word: %r" % last)
if last != [want]:
    failures += 1
    print("FAILED: want %r" % want)

# The server goes off while the laptop's first check is still under way (at 50 ms, before its
# IDLE): the session says BYE as it comes to IDLE, and idles through no part of the outage.
doc["providers"][1]["down"] = [{"from": "0.05s", "until": "2m"}]
json.dump(doc, open(down_file, "w", encoding="utf-8"))
subprocess.run([mailsim, "run", down_file, "--quiet", "--trace", down_trace] + extra,
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
down_events = [json.loads(line) for line in open(down_trace, encoding="utf-8")]
server_c2 = [e for e in down_events if e.get("record") == "event" and e.get("conn") == "c2"
             and e["kind"] == "imap" and e["src_host"] == "mail.ums.com"]
print("server lines on c2 when it goes off mid-check: %r"
      % [e["payload"][:30] for e in server_c2[-2:]])
if not server_c2[-1]["payload"].startswith("* BYE mail.ums.com IMAP4rev1 server shutting down"):
    failures += 1
    print("FAILED: a session that reaches IDLE while its server is off idles on")

# A preloaded Archive of 3000 messages and a tablet that syncs it.
doc = json.load(open(os.path.join(source, "scenarios", "two-devices-imap.json"),
                     encoding="utf-8"))
doc.pop("expect")
doc.pop("lesson")
doc["people"][1]["mailbox"] = {"folders": [{"name": "Archive", "messages": [
    {"text": "From: A <a@ums.com>\r\nSubject: m%d\r\n\r\nx\r\n" % i, "flags": ["\\Seen"]}
    for i in range(3000)]}]}
big_file = os.path.join(work, "sync-3000.json")
json.dump(doc, open(big_file, "w", encoding="utf-8"))
out = subprocess.run([mailsim, "run", big_file] + extra, check=True, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, text=True).stdout
lines = out.splitlines()
asks = [l.split("C: ")[1] for l in lines
        if "uday-tablet/mua" in l and "C: a" in l and "HEADER.FIELDS" in l]
print("the tablet names messages with: %r" % [a[:60] for a in asks])
if not any(a.endswith("UID FETCH 1:3000 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])") for a in asks):
    failures += 1
    print("FAILED: the Archive's UIDs are not asked for as one range")
if any("BAD" in l for l in lines):
    failures += 1
    print("FAILED: a BAD answer in the run")
shown = [l.strip() for l in lines if l.strip().startswith("Archive ")]
want = ("Archive  " + ", ".join('"m%d" (seen)' % i for i in range(10)) + " and 2990 more")
if not shown or any(l != want for l in shown):
    failures += 1
    print("FAILED: the summary's Archive lines %r, want %r" % (shown[:2], want))
sys.exit(1 if failures else 0)

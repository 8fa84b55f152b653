#!/usr/bin/env python3
"""The 101st concurrent client of a submission server waits for a free smtpd process
(sim/process_limit.hpp, Postfix's default_process_limit of 100), read from a run's trace.

101 people in Canada press Send at the same instant. Every connection's handshake completes
at once (the kernel accepts it), but only 100 sessions run: the 101st gets its 220 greeting
at the very instant the first session to end has ended at the server (the arrival of that
client's last ACK), not when its own ACK arrives. With "process_limit": 101 nobody waits.
On 465 (implicit TLS) the waiting client's ClientHello arrives while it waits and is held by
the kernel until a session takes it up.
usage: process_limit_facts.py MAILSIM SOURCE_DIR WORK_DIR [SIMGRID ARGS]"""
import json
import os
import subprocess
import sys

mailsim, source, work = sys.argv[1:4]
extra = sys.argv[4:]
os.makedirs(work, exist_ok=True)
failures = 0
SENDERS = 101


def check(what, condition):
    global failures
    print(("ok:   " if condition else "FAIL: ") + what)
    failures += 0 if condition else 1


def run(process_limit, tls=None):
    """Runs the 101 senders; returns the trace's events and its emails."""
    flagship = json.load(open(os.path.join(source, "scenarios", "rav-canada-to-uday-india.json")))
    s = {k: v for k, v in flagship.items() if k not in ("people", "script", "expect", "lesson")}
    s["name"] = f"process-limit-{process_limit}" + ("-tls" if tls else "")
    if tls:
        s["tls"] = tls
    if process_limit is not None:
        s["providers"][0]["process_limit"] = process_limit
    s["people"] = [{"name": "uday", "address": "uday@ums.com", "password": "chai",
                    "place": "India", "devices": [{"name": "laptop"}]}]
    s["script"] = []
    for i in range(SENDERS):
        s["people"].append({"name": f"rav{i}", "address": f"rav{i}@cms.com",
                            "password": "maple", "place": "Canada",
                            "devices": [{"name": "laptop"}]})
        s["script"].append({"at": 0, "person": f"rav{i}", "action": "send",
                            "to": ["uday@ums.com"], "subject": f"Hello {i}", "body": "Hi\n"})
    path = os.path.join(work, s["name"] + ".json")
    json.dump(s, open(path, "w"))
    trace = os.path.join(work, s["name"] + ".jsonl")
    subprocess.run([mailsim, "run", path, "--quiet", "--trace", trace] + extra, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = [json.loads(line) for line in open(trace, encoding="utf-8")]
    return [r for r in records if r["record"] == "event"], records[-1]["emails"]


def submissions(events):
    """Per submission connection: its TCP segments, and the server's first other flight (the
    220 greeting, or with implicit TLS its handshake flight); "hello", the client's first."""
    conns = {}
    for e in events:
        if e.get("dst_host") != "mail.cms.com" and e.get("src_host") != "mail.cms.com":
            continue
        if "submission server" not in (e.get("role"), e.get("peer_role")):
            continue
        c = conns.setdefault(e["conn"], {"tcp": [], "greeting": None, "hello": None})
        if e["kind"] == "tcp":
            c["tcp"].append(e)
        elif e["dir"] == "S" and c["greeting"] is None:
            c["greeting"] = e
        elif e["dir"] == "C" and c["hello"] is None:
            c["hello"] = e
    return conns


events, emails = run(None)
conns = submissions(events)
check(f"{SENDERS} submission connections", len(conns) == SENDERS)
# The handshake: SYN, SYN-ACK, ACK, then later FIN, FIN-ACK, ACK.
check("every handshake completes at once: SYN-ACK sent when the SYN arrives",
      all(c["tcp"][1]["summary"] == "SYN-ACK" and c["tcp"][1]["time"] == c["tcp"][0]["arrival"]
          for c in conns.values()))
waited = [cid for cid, c in conns.items() if c["greeting"]["time"] != c["tcp"][2]["arrival"]]
check("100 sessions greet when their ACK arrives, exactly one waits", len(waited) == 1)
if len(waited) == 1:
    late = conns[waited[0]]
    ends = [c["tcp"][5]["arrival"] for cid, c in conns.items() if cid != waited[0]]
    check("the waiting one is greeted with 220 ...",
          late["greeting"]["payload"].startswith("220 mail.cms.com ESMTP"))
    check("... at the instant the first session ends at the server (its last ACK arrives): "
          f"{late['greeting']['time']:.9f} == {min(ends):.9f}",
          late["greeting"]["time"] == min(ends))
    check("... which is later than its own ACK arrived",
          late["greeting"]["time"] > late["tcp"][2]["arrival"])
check("every email is still submitted", len(emails) == SENDERS
      and all(e["submitted"] is not None for e in emails))

events, emails = run(101)
conns = submissions(events)
check("with process_limit 101 nobody waits",
      len(conns) == SENDERS and all(c["greeting"]["time"] == c["tcp"][2]["arrival"]
                                    for c in conns.values()))

events, emails = run(None, {"submission": "implicit"})
conns = submissions(events)
first_end = min(c["tcp"][5]["arrival"] for c in conns.values())
waited = [cid for cid, c in conns.items() if c["greeting"]["time"] >= first_end]
check("465: exactly one client is answered only after the first session ended", len(waited) == 1)
if len(waited) == 1:
    late = conns[waited[0]]
    others = [c["hello"]["arrival"] for cid, c in conns.items() if cid != waited[0]]
    check("465: its ClientHello arrived while it waited, when everyone else's did: "
          f"{late['hello']['arrival']:.9f} == {min(others):.9f}",
          late["hello"]["summary"].startswith("ClientHello")
          and late["hello"]["arrival"] == min(others) < first_end)
    check("465: the server's TLS flight follows the handshake's 1 ms of CPU, or more",
          late["greeting"]["kind"] == "tls" and late["greeting"]["time"] >= first_end + 0.001)
check("465: every email is still submitted", len(emails) == SENDERS
      and all(e["submitted"] is not None for e in emails))
sys.exit(1 if failures else 0)

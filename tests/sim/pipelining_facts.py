#!/usr/bin/env python3
"""A provider with "pipelining" relays the flagship's letter with MAIL, RCPT and DATA in one
flight, answered in one flight (RFC 2920 3.1, 3.2), and saves exactly two relay round trips
against the same scenario without it. usage: pipelining_facts.py MAILSIM SOURCE_DIR WORK_DIR
[SIMGRID ARGS]"""
import json
import os
import subprocess
import sys

mailsim, source, work = sys.argv[1:4]
extra = sys.argv[4:]
os.makedirs(work, exist_ok=True)
failures = 0


def run(pipelining):
    """Runs the flagship with cms.com's pipelining set; returns (events, the one email)."""
    name = "pipelining-" + ("on" if pipelining else "off")
    scenario = json.load(open(os.path.join(source, "scenarios", "rav-canada-to-uday-india.json")))
    scenario.pop("$schema")
    scenario.pop("expect")  # its round-trip counts are those without pipelining
    for provider in scenario["providers"]:
        if provider["domain"] == "cms.com":
            provider["pipelining"] = pipelining
    path = os.path.join(work, name + ".json")
    json.dump(scenario, open(path, "w"))
    trace = os.path.join(work, name + ".jsonl")
    subprocess.run([mailsim, "run", path, "--quiet", "--trace", trace] + extra, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = [json.loads(line) for line in open(trace, encoding="utf-8")]
    events = [r for r in records if r["record"] == "event" and r["kind"] == "smtp"
              and r["conn"] == "c2"]
    return events, records[-1]["emails"][0]


def check(what, condition):
    global failures
    print(("ok:   " if condition else "FAIL: ") + what)
    failures += 0 if condition else 1


plain, plain_email = run(False)
piped, piped_email = run(True)
group = "MAIL FROM:<rav@cms.com> SIZE=537\r\nRCPT TO:<uday@ums.com>\r\nDATA\r\n"
answers = ("250 2.1.0 Sender <rav@cms.com> OK\r\n250 2.1.5 Recipient <uday@ums.com> OK\r\n"
           "354 Start mail input; end with <CRLF>.<CRLF>\r\n")
check("without pipelining MAIL, RCPT and DATA each wait for a reply",
      not any(e["payload"] == group for e in plain)
      and any(e["payload"] == "DATA\r\n" for e in plain))
check("with it the relay client sends MAIL, RCPT and DATA as one flight (RFC 2920 3.1)",
      [e["role"] for e in piped if e["payload"] == group] == ["SMTP client"])
check("and the server answers all three in one flight, in order (RFC 2920 3.2)",
      [e["role"] for e in piped if e["payload"] == answers] == ["SMTP server"])
check("the relay takes two round trips fewer (7 -> 5, TCP set-up included)",
      (plain_email["round_trips"]["relay"], piped_email["round_trips"]["relay"]) == (7, 5))
rtt = 2 * (piped[1]["arrival"] - piped[1]["time"])  # EHLO reply flight: one way
saved = plain_email["relayed"] - piped_email["relayed"]
check(f"the letter is accepted two round trips sooner ({saved:.6f} s, 2 x {rtt:.6f} s)",
      abs(saved - 2 * rtt) < 1e-4)
check("the same bytes cross: pipelining changes when, not what",
      sum(e["bytes"] for e in plain) == sum(e["bytes"] for e in piped))
sys.exit(1 if failures else 0)

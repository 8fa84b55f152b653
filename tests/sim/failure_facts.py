#!/usr/bin/env python3
"""The facts each "things going wrong" scenario must show, read from its
JSON Lines trace (docs/trace-format.md), so that a golden story re-approved
by mistake cannot hide a lost message, a missing retry or a bounce that
never came. usage: failure_facts.py MAILSIM SOURCE_DIR WORK_DIR [SIMGRID ARGS]"""
import json
import os
import subprocess
import sys

mailsim, source, work = sys.argv[1:4]
extra = sys.argv[4:]
os.makedirs(work, exist_ok=True)
failures = 0


def run(name):
    """Runs scenarios/NAME.json; returns (events, emails by recipient)."""
    trace = os.path.join(work, name + ".jsonl")
    subprocess.run([mailsim, "run", os.path.join(source, "scenarios", name + ".json"),
                    "--quiet", "--trace", trace] + extra, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = [json.loads(line) for line in open(trace, encoding="utf-8")]
    events = [r for r in records if r["record"] == "event"]
    emails = {}
    for e in records[-1]["emails"]:
        emails.setdefault(e["to"], []).append(e)
    return events, emails


def check(name, what, condition):
    global failures
    print(("ok:   " if condition else "FAIL: ") + name + ": " + what)
    failures += 0 if condition else 1


def summaries(events, kind, host=None, contains=""):
    return [e for e in events if e["kind"] == kind and (host is None or e["src_host"] == host)
            and contains in e.get("summary", "") + e.get("payload", "")]


# A mistyped address: 550 5.1.1 at RCPT, a DSN to Rav with MAIL FROM:<>.
name = "bounce-unknown-user"
events, emails = run(name)
check(name, "mail.ums.com answers RCPT with 550 5.1.1",
      any(e["payload"].startswith("550 5.1.1 <udya@ums.com>")
          for e in summaries(events, "smtp", "mail.ums.com")))
check(name, "mail.cms.com bounces it",
      len(summaries(events, "queue", "mail.cms.com", "status=bounced")) == 1)
check(name, "the bounce is queued with the null reverse-path",
      len(summaries(events, "queue", "mail.cms.com", "from=<>")) == 1)
fetched = [e["payload"] for e in summaries(events, "imap", "mail.cms.com", "MAILER-DAEMON")]
check(name, "Rav fetches one DSN over IMAP", len(fetched) == 1)
for line in ["Return-Path: <>\r\n", "report-type=delivery-status",
             "Content-Type: message/delivery-status\r\n",
             "Final-Recipient: rfc822; udya@ums.com\r\n",
             "Action: failed\r\n", "Status: 5.1.1\r\n", "Remote-MTA: dns; mail.ums.com\r\n"]:
    check(name, "the DSN has " + line.strip(), len(fetched) == 1 and line in fetched[0])
check(name, "the letter itself was never delivered", emails["udya@ums.com"][0]["delivered"] is None)
check(name, "the DSN was read by Rav", emails["rav@cms.com"][0]["read"] is not None)

# Down for 12 minutes: deferred twice, retried after 300 s then 600 s, delivered.
name = "server-down-retry"
events, emails = run(name)
deferred = summaries(events, "queue", "mail.cms.com", "status=deferred")
retries = summaries(events, "queue", "mail.cms.com", "retrying")
check(name, "two deferrals and two retries", len(deferred) == 2 and len(retries) == 2)
check(name, "the retries come 300 s and 600 s after the failures",
      len(retries) == 2 and abs(retries[0]["time"] - deferred[0]["time"] - 300) < 1e-6
      and abs(retries[1]["time"] - deferred[1]["time"] - 600) < 1e-6)
check(name, "no SYN-ACK from mail.ums.com while it is down (12 min)",
      all(e["time"] >= 720 for e in summaries(events, "tcp", "mail.ums.com", "SYN-ACK")))
uday = emails["uday@ums.com"][0]
check(name, "the summary counts three attempts", uday["attempts"] == 3)
check(name, "delivered after the server is back, and read",
      uday["delivered"] is not None and uday["delivered"] > 720 and uday["read"] is not None)

# Down past the give-up time: four attempts, then a 4.4.1 DSN.
name = "server-down-gives-up"
events, emails = run(name)
check(name, "four failed attempts",
      len(summaries(events, "queue", "mail.cms.com", "status=deferred")) == 4)
check(name, "then the message expires",
      len(summaries(events, "queue", "mail.cms.com", "status=expired")) == 1)
check(name, "mail.ums.com never answered", not summaries(events, "tcp", "mail.ums.com"))
fetched = [e["payload"] for e in summaries(events, "imap", "mail.cms.com", "MAILER-DAEMON")]
check(name, "Rav reads a failed DSN with status 4.4.1",
      len(fetched) == 1 and "Action: failed\r\nStatus: 4.4.1\r\n" in fetched[0])

# Two MX hosts, the preferred one down: the backup takes it and passes it on.
name = "mx-failover"
events, emails = run(name)
check(name, "the MX answer lists both hosts by preference",
      bool(summaries(events, "dns", "dns", "10 mail.ums.com ttl=3600, 20 mx.backupmx.in")))
accepted = summaries(events, "smtp", "mx.backupmx.in", "250 2.0.0 Ok: queued as")
check(name, "the backup MX accepts the letter within a minute",
      len(accepted) == 1 and accepted[0]["time"] < 60)
check(name, "and relays it to mail.ums.com once that is back (5 min)",
      any(e["time"] > 300 for e in summaries(events, "smtp", "mail.ums.com", "queued as")))
uday = emails["uday@ums.com"][0]
check(name, "delivered to Uday and read",
      uday["delivered"] is not None and uday["read"] is not None)

# No MX: an empty answer, then the A record of the domain itself.
name = "no-mx-a-fallback"
events, emails = run(name)
dns = [e["summary"] for e in summaries(events, "dns")]
check(name, "an empty MX answer, then an A query for ums.com",
      "response id=1 ums.com IN MX" in dns and "query id=2 ums.com IN A" in dns)
check(name, "delivered and read",
      emails["uday@ums.com"][0]["delivered"] is not None and emails["uday@ums.com"][0]["read"])

# POP3 and IMAP off: the mail program gets RST, webmail reads the letter.
name = "pop-imap-disabled"
events, emails = run(name)
check(name, "the laptop's IMAP connection is reset",
      any(e["dst_host"] == "uday-laptop" for e in summaries(events, "tcp", "mail.ums.com", "RST")))
check(name, "and its user agent says so",
      bool(summaries(events, "ua", "uday-laptop", "does not offer IMAP")))
check(name, "no IMAP or POP3 byte crosses the network",
      not summaries(events, "imap") and not summaries(events, "pop3"))
check(name, "Uday reads the letter in the phone's browser over HTTP",
      emails["uday@ums.com"][0]["read"] is not None
      and bool(summaries(events, "ua", "uday-phone", "read 1 new message")))

sys.exit(1 if failures else 0)

#!/usr/bin/env python3
"""A run of tests/cli/mail/mime-and-preload.json, checked in its JSON Lines trace.

Preloaded mailboxes reach the clients with the octet counts of the text as given (POP3 LIST
and RETR, RFC 1939 5; IMAP literal sizes, RFC 3501 4.3); Cc is in the header and Bcc only on
the envelope (RFC 5322 3.6.3); the attachment travels as base64 in 76-column lines inside
multipart/mixed (RFC 2045 6.8, RFC 2046 5.1); the reply carries In-Reply-To and References
(RFC 5322 3.6.4); the same seed gives the same bytes, another seed other attachment bytes.
A preloaded text with a bare LF is refused with its JSON path and line number.

usage: test_mail_scenario.py MAILSIM SOURCE_DIR WORK_DIR
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys

mailsim, src, work = sys.argv[1:4]
extra = os.environ.get("MAILSIM_SIM_ARGS", "").split()
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
here = os.path.join(src, "tests", "cli", "mail")
scenario = os.path.join(here, "mime-and-preload.json")
failures = 0


def check(ok, what):
    global failures
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        failures += 1


def run(trace, *args):
    result = subprocess.run([mailsim, "run", scenario, "--quiet", "--trace", trace, *args, *extra],
                            capture_output=True)
    check(result.returncode == 0, f"run {' '.join(args)} exits 0")
    with open(trace, "rb") as f:
        raw = f.read()
    return raw, [json.loads(line) for line in raw.splitlines()]


def flights(events, kind, conn=None):
    return [e for e in events if e.get("kind") == kind and "payload" in e
            and (conn is None or e.get("conn") == conn)]


def payload_after(events, kind, command, conn=None):
    """The payload of the flight that answers `command` on the same connection."""
    fs = flights(events, kind, conn)
    for i, e in enumerate(fs):
        if e["payload"] == command:
            for later in fs[i + 1:]:
                if later["conn"] == e["conn"] and later["dir"] != e["dir"]:
                    return later["payload"]
    return None


def read(name):
    with open(os.path.join(here, name), "rb") as f:
        return f.read().decode()


def dot_stuff(text):
    """RFC 5321 4.5.2: a period added before every line that starts with one."""
    return "\r\n".join(("." + line if line.startswith(".") else line)
                       for line in text.split("\r\n"))


raw, events = run(os.path.join(work, "trace.jsonl"))
tea = read("tea.eml")
statement = read("statement.eml")
old_news = ("From: rav@cms.com\r\nTo: uday@ums.com\r\nSubject: Old news\r\n"
            "Message-ID: <old.1@cms.com>\r\n\r\nStill here.\r\n")

# POP3 (RFC 1939 5): LIST gives the octets of the text as given; RETR sends it dot-stuffed.
listing = payload_after(events, "pop3", "LIST\r\n") or ""
check(f"\r\n1 {len(tea)}\r\n2 {len(old_news)}\r\n" in listing,
      f"POP3 LIST gives the preloaded sizes {len(tea)} and {len(old_news)}")
retr = payload_after(events, "pop3", "RETR 1\r\n")
check(retr == f"+OK {len(tea)} octets\r\n" + dot_stuff(tea) + ".\r\n",
      "POP3 RETR 1 sends tea.eml exactly, its leading dot stuffed")
retr = payload_after(events, "pop3", "RETR 2\r\n")
check(retr == f"+OK {len(old_news)} octets\r\n" + old_news + ".\r\n",
      "POP3 RETR 2 sends the inline text exactly")

# IMAP (RFC 3501 4.3): the literal of BODY[] counts the octets of the file.
rav_fetch = [e["payload"] for e in flights(events, "imap")
             if e["dir"] == "S" and "<statement.7@cms.com>" in e["payload"]]
check(len(rav_fetch) == 1 and
      f"* 1 FETCH (UID 1 BODY[] {{{len(statement)}}}\r\n{statement}" in rav_fetch[0],
      f"IMAP FETCH sends statement.eml as a literal of {len(statement)} octets")

# Submission: three RCPTs, Cc in the header, no Bcc anywhere in the data (RFC 5322 3.6.3).
submission = [e for e in flights(events, "smtp", "c1") if e["dir"] == "C"]
commands = [e["payload"] for e in submission]
for rcpt in ("uday@ums.com", "mira@ums.com", "boss@cms.com"):
    check(f"RCPT TO:<{rcpt}>\r\n" in commands, f"RCPT TO:<{rcpt}> on submission")
data = next((p for p in commands if p.startswith("Date: ")), "")
check("\r\nCc: mira@ums.com\r\n" in data, "Cc: mira@ums.com is in the header")
headers = data.partition("\r\n\r\n")[0]
check("\r\nBcc:" not in headers and "boss@cms.com" not in data,
      "no Bcc: header, and the Bcc recipient is nowhere in the data")
relay = [e["payload"] for e in flights(events, "smtp", "c2") if e["dir"] == "C"]
check("RCPT TO:<boss@cms.com>\r\n" not in relay, "the relay to ums.com does not carry boss")

# The attachment: multipart/mixed, base64 in lines of 76, 100 kB decoded (RFC 2045 6.8).
size = re.search(r"SIZE=(\d+)", next(p for p in commands if p.startswith("MAIL FROM")))
message = data[:-3]  # without the final ".\r\n"; nothing in it starts with a dot
check(size is not None and int(size.group(1)) == len(message),
      "MAIL FROM SIZE= is the length of the message on the wire")
boundary = re.search(r'boundary="([^"]+)"', data).group(1)
parts = message.split(f"--{boundary}")
check(len(parts) == 4 and parts[3] == "--\r\n", "two parts, then the close delimiter")
header, _, body = parts[2].partition("\r\n\r\n")
check('Content-Type: image/jpeg; name="toronto.jpg"' in header and
      'Content-Disposition: attachment; filename="toronto.jpg"' in header and
      "Content-Transfer-Encoding: base64" in header, "the attachment part's header")
lines = body.split("\r\n")[:-1]
check(all(len(line) == 76 for line in lines[:-1]) and 0 < len(lines[-1]) <= 76,
      f"{len(lines)} base64 lines of 76 characters, the last shorter")
attachment = base64.b64decode("".join(lines))
check(len(attachment) == 100000, "the attachment decodes to 100000 octets")
check(len(message) > 100000 * 4 // 3, "the message carries the base64 overhead")

# The reply (RFC 5322 3.6.4).
reply = [e["payload"] for e in flights(events, "smtp") if e["dir"] == "C"
         and "Message-ID: <20261204140200.1@ums.com>" in e["payload"]]
check(len(reply) == 2, "the reply crosses submission and relay")
check(all("\r\nTo: rav@cms.com\r\nSubject: Re: Hello from Canada\r\n" in r and
          "\r\nIn-Reply-To: <20261204140000.1@cms.com>\r\n"
          "References: <20261204140000.1@cms.com>\r\n" in r for r in reply),
      "the reply goes to Rav with Re:, In-Reply-To and References")

# A reply with nothing to answer says so, sends nothing, and the run goes on (the later
# steps above and below happen; the session once ended before it was daemonized, and SimGrid
# then stopped every server).
check(any(e.get("summary") == 'Uday has no message "Not received yet" on the laptop to reply to'
          for e in events), "a reply with nothing to answer is traced and skipped")

# The reply from webmail: the browser names the message answered, webmail builds the headers.
post = [e["payload"] for e in flights(events, "http") if e["dir"] == "C"
        and e["payload"].startswith("POST /api/send ")]
check(len(post) == 1 and post[0].endswith(
    '{"to":["rav@cms.com"],"subject":"Re: Hello from Canada","body":"Lovely photo.\\n",'
    '"cc":["uday@ums.com"],"reply_to":{"folder":"INBOX","id":1}}'),
      "the browser's POST /api/send carries cc and reply_to")
web_reply = [e["payload"] for e in flights(events, "smtp") if e["dir"] == "C"
             and "Message-ID: <20261204140230.2@ums.com>" in e["payload"]]
check(len(web_reply) == 1 and
      "\r\nFrom: Mira <mira@ums.com>\r\nTo: rav@cms.com\r\nCc: uday@ums.com\r\n" in web_reply[0]
      and "\r\nIn-Reply-To: <20261204140000.1@cms.com>\r\n"
          "References: <20261204140000.1@cms.com>\r\n" in web_reply[0],
      "webmail's reply is relayed to Rav with Cc, In-Reply-To and References")

# The summary shows the preloaded folder beside the INBOX.
summary = subprocess.run([mailsim, "run", scenario, "--quiet", *extra], capture_output=True,
                         text=True).stdout
check("  rav@cms.com            INBOX: 3 messages, 3 seen\n"
      "                         Archive: 0 messages, 0 seen\n" in summary,
      "the summary lists Rav's INBOX and his preloaded Archive")
check("  uday@ums.com           INBOX: 4 messages, 1 seen\n" in summary,
      "Uday's INBOX: two preloaded, two delivered, the preloaded \\Seen one seen")

# Determinism: the same seed gives the same trace; another seed other attachment octets.
again, _ = run(os.path.join(work, "again.jsonl"))
check(again == raw, "the same seed gives a byte-identical trace")
_, other = run(os.path.join(work, "other.jsonl"), "--seed", "8")
other_data = next(e["payload"] for e in flights(other, "smtp", "c1")
                  if e["dir"] == "C" and e["payload"].startswith("Date: "))
check(len(other_data) == len(data) and other_data != data,
      "another seed: the same size, other attachment octets")

# A bare LF in a preloaded text: the JSON path and the line number.
bad = subprocess.run([mailsim, "validate", os.path.join(here, "bad-line-ends.json")],
                     capture_output=True, text=True)
check(bad.returncode == 2, "a preloaded text with bare LF is bad input (exit 2)")
at = "people[0].mailbox.folders[0].messages"
for line in (f"{at}[1].file: line 1 ends in a bare LF",
             f"{at}[2].text: line 3 ends in a bare LF"):
    check(line in bad.stderr, f"stderr says: {line}")

# The one-liner docs/scenario-format.md gives converts the file so that it loads.
with open(os.path.join(here, "bad-line-ends.json")) as f:
    doc = json.load(f)
del doc["people"][0]["mailbox"]["folders"][0]["messages"][2]
with open(os.path.join(work, "converted.json"), "w") as f:
    json.dump(doc, f)
shutil.copy(os.path.join(here, "unix.eml"), work)
subprocess.run(["sed", "-i", "-e", r"s/\r*$/\r/", "-e", "$a\\", os.path.join(work, "unix.eml")],
               check=True)
with open(os.path.join(work, "unix.eml"), "rb") as f:
    check(f.read() == b"Subject: unix\r\n\r\nwritten on Linux\r\n", "sed gives CRLF line ends")
fixed = subprocess.run([mailsim, "validate", os.path.join(work, "converted.json")],
                       capture_output=True, text=True)
check(fixed.returncode == 0, "after the conversion the scenario validates")

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)

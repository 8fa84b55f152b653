#!/usr/bin/env python3
"""Real clients against `mailsim serve`: Python's smtplib, poplib and imaplib, and curl.

Usage: test_realclient.py MAILSIM SCENARIO TEST

Each TEST starts its own `mailsim serve SCENARIO` on kernel-chosen ports, reads the one JSON
line naming the ports, drives real clients nobody here wrote against it, asserts the exact
bytes they got back (STARTTLS and the implicit-TLS ports too, with Python's ssl and curl,
not verifying the certificate serve makes up, or trusting exactly it), then stops the
server with SIGTERM (or SIGINT) and asserts exit 0. Every wait has a timeout, and the server
is killed in a finally whatever happens.

The scenario is scenarios/rav-canada-to-uday-india.json: rav@cms.com (password maple) and
uday@ums.com (password chai), two providers served by the one process.
"""

import base64
import email
import email.policy
import http.client
import imaplib
import json
import os
import poplib
import random
import re
import select
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

TIMEOUT = 10  # seconds, for every socket, start-up and subprocess
RAV = ("rav@cms.com", "maple")
UDAY = ("uday@ums.com", "chai")

# A message as a mail program hands it over: CRLF lines, and one line starting with a dot so
# that dot-stuffing is exercised both ways (rfc5321.txt 4.5.2, rfc1939.txt 3).
MESSAGE = (
    b"From: Rav <rav@cms.com>\r\n"
    b"To: Uday <uday@ums.com>\r\n"
    b"Subject: Hello from Canada\r\n"
    b"Message-ID: <realclient.1@cms.com>\r\n"
    b"\r\n"
    b"Hi Uday,\r\n"
    b".a line that starts with a dot\r\n"
    b"Rav\r\n"
)


PORT_OPTIONS = ("--smtp-port", "--submission-port", "--pop3-port", "--imap-port", "--http-port",
                "--submissions-port", "--imaps-port", "--pop3s-port", "--https-port")


class Server:
    """One `mailsim serve` process on port 0 for every service."""

    def __init__(self, mailsim, scenario):
        self.errors = tempfile.TemporaryFile()
        args = [mailsim, "serve", scenario]
        for option in PORT_OPTIONS:
            args += [option, "0"]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.errors)
        ready, _, _ = select.select([self.process.stdout], [], [], TIMEOUT)
        check(ready, "mailsim serve printed no JSON line within the timeout")
        line = self.process.stdout.readline()
        check(line.endswith(b"\n"), f"the JSON line is not a whole line: {line!r}")
        self.ports = json.loads(line)
        equal(list(self.ports), ["bind", "smtp", "submission", "pop3", "imap", "http",
                                 "submissions", "imaps", "pop3s", "https"], "the JSON line")
        check(self.ports["bind"] == "127.0.0.1", f"bind {self.ports['bind']}")

    def stop(self, sig=signal.SIGTERM):
        """Sends the signal and returns the exit code."""
        self.process.send_signal(sig)
        return self.process.wait(timeout=TIMEOUT)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        self.process.stdout.close()
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace")


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def equal(got, expected, what):
    if got != expected:
        raise AssertionError(f"{what}:\n  got      {got!r}\n  expected {expected!r}")


def curl(*args, data=None):
    """Runs curl; returns (exit code, stdout bytes, stderr text)."""
    done = subprocess.run(["curl", "--silent", "--show-error", "--max-time", str(TIMEOUT),
                           *args], input=data, capture_output=True, timeout=TIMEOUT + 5)
    return done.returncode, done.stdout, done.stderr.decode(errors="replace")


def delivered(text):
    """Checks the trace fields final delivery put before MESSAGE (rfc5321.txt 4.4)."""
    check(text.startswith(b"Return-Path: <rav@cms.com>\r\nReceived: from "),
          f"stored message starts {text[:80]!r}")
    check(text.endswith(b"\r\n" + MESSAGE), f"stored message ends {text[-160:]!r}")


def smtplib_send(server, port_name="submission", login=RAV, message=MESSAGE):
    with smtplib.SMTP("127.0.0.1", server.ports[port_name], timeout=TIMEOUT) as smtp:
        if login:
            smtp.login(*login)
        refused = smtp.sendmail("rav@cms.com", ["uday@ums.com"], message)
        equal(refused, {}, "recipients refused")


# ---- the tests ----

def test_python_smtp(server):
    """smtplib in the clear: submission with AUTH, relay port without, relaying refused."""
    with smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=TIMEOUT) as smtp:
        code, _ = smtp.ehlo("rav-laptop")
        equal(code, 250, "EHLO")
        check(smtp.has_extn("starttls"), "STARTTLS offered (serve does real TLS)")
        check("PLAIN" in smtp.esmtp_features["auth"], "AUTH PLAIN offered")
        # rfc6409.txt 4.3 / rfc4954.txt 6: submission wants AUTH before MAIL.
        equal(smtp.mail("rav@cms.com"), (530, b"5.7.0 Authentication required"), "MAIL, no AUTH")
        equal(smtp.login(*RAV), (235, b"2.7.0 Authentication successful"), "AUTH")
        equal(smtp.mail("rav@cms.com"), (250, b"2.1.0 Sender <rav@cms.com> OK"), "MAIL")
        # No outbound relay, even for an authenticated user.
        equal(smtp.rcpt("someone@example.org"),
              (550, b"5.7.1 <someone@example.org> Relaying denied"), "RCPT outside")
        equal(smtp.rcpt("nobody@ums.com"),
              (550, b"5.1.1 <nobody@ums.com> Requested action not taken: mailbox unavailable"),
              "RCPT unknown user")
        equal(smtp.rcpt("uday@ums.com"), (250, b"2.1.5 Recipient <uday@ums.com> OK"), "RCPT")
        code, text = smtp.data(MESSAGE)
        equal(code, 250, f"DATA: {text!r}")

    # Port 25: a local recipient needs no AUTH, an outside one is relaying.
    with smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=TIMEOUT) as smtp:
        smtp.ehlo("mail.cms.com")
        check(smtp.has_extn("starttls"), "STARTTLS offered on port 25")
        try:
            smtp.sendmail("rav@cms.com", ["someone@example.org"], MESSAGE)
            raise AssertionError("relaying to example.org was accepted")
        except smtplib.SMTPRecipientsRefused as e:
            equal(e.recipients, {"someone@example.org":
                                 (550, b"5.7.1 <someone@example.org> Relaying denied")},
                  "refused recipients")
        smtp.rset()
        equal(smtp.sendmail("rav@cms.com", ["uday@ums.com"], MESSAGE), {}, "relay to local")

    # Both messages are in Uday's INBOX.
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=TIMEOUT)
    pop.user(UDAY[0])
    pop.pass_(UDAY[1])
    equal(pop.stat()[0], 2, "messages delivered")
    pop.quit()


def test_python_pop3(server):
    """smtplib sends, poplib retrieves and deletes (rfc1939.txt)."""
    smtplib_send(server)
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=TIMEOUT)
    check(pop.getwelcome().startswith(b"+OK"), f"greeting {pop.getwelcome()!r}")
    equal(pop.capa(), {"TOP": [], "USER": [], "STLS": [], "PIPELINING": [], "UIDL": [],
                       "IMPLEMENTATION": ["mailsim"]}, "CAPA (STLS: rfc2595.txt 4)")
    equal(pop.user(UDAY[0]), b"+OK uday@ums.com is a valid mailbox", "USER")
    check(pop.pass_(UDAY[1]).startswith(b"+OK"), "PASS")
    count, octets = pop.stat()
    equal(count, 1, "STAT count")
    response, listing, _ = pop.list()
    equal(listing, [f"1 {octets}".encode()], "LIST")
    check(pop.list(1).startswith(b"+OK 1 "), "LIST 1")
    response, uidls, _ = pop.uidl()
    check(len(uidls) == 1 and re.fullmatch(rb"1 \d+\.1", uidls[0]), f"UIDL {uidls!r}")

    response, lines, size = pop.top(1, 1)
    text = b"\r\n".join(lines) + b"\r\n"
    check(text.endswith(b"Message-ID: <realclient.1@cms.com>\r\n\r\nHi Uday,\r\n"),
          f"TOP 1 1 gave {text!r}")

    response, lines, size = pop.retr(1)
    text = b"\r\n".join(lines) + b"\r\n"
    equal(len(text), octets, "RETR size as STAT said")
    delivered(text)
    check(pop.dele(1).startswith(b"+OK"), "DELE")
    equal(pop.stat(), (0, 0), "STAT after DELE")
    check(pop.quit().startswith(b"+OK"), "QUIT")

    # Deleted in the UPDATE state, so gone for the next session.
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=TIMEOUT)
    pop.user(UDAY[0])
    pop.pass_(UDAY[1])
    equal(pop.stat(), (0, 0), "STAT in a new session")
    try:
        pop.retr(1)
        raise AssertionError("RETR 1 of an empty maildrop succeeded")
    except poplib.error_proto:
        pass
    pop.quit()


def imap_ok(result, what):
    status, data = result
    equal(status, "OK", f"{what}: {data!r}")
    return data


def test_python_imap(server):
    """smtplib sends, imaplib reads, flags, copies, moves and expunges (rfc3501.txt)."""
    smtplib_send(server)
    smtplib_send(server, "smtp", login=None)
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=TIMEOUT)
    check("STARTTLS" in imap.capabilities, f"capabilities {imap.capabilities}")
    imap_ok(imap.login(*UDAY), "LOGIN")
    equal(imap_ok(imap.select("INBOX"), "SELECT"), [b"2"], "EXISTS")
    equal(imap_ok(imap.search(None, "UNSEEN"), "SEARCH"), [b"1 2"], "SEARCH UNSEEN")
    equal(imap_ok(imap.search(None, "SUBJECT", '"Hello from Canada"'), "SEARCH"), [b"1 2"],
          "SEARCH SUBJECT")

    data = imap_ok(imap.fetch("1", "(FLAGS BODY.PEEK[])"), "FETCH")
    check(re.search(rb"FLAGS \((\\Recent)?\)", data[0][0]), f"FETCH FLAGS {data[0][0]!r}")
    delivered(data[0][1])
    check(b"Received: from [127.0.0.1]" in data[0][1], "Received: names the client")

    data = imap_ok(imap.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])"), "FETCH header")
    equal(data[0][1], b"Subject: Hello from Canada\r\n\r\n", "BODY[HEADER.FIELDS (SUBJECT)]")

    data = imap_ok(imap.store("1", "+FLAGS", "(\\Seen)"), "STORE")
    check(rb"\Seen" in data[0], f"STORE reply {data!r}")
    equal(imap_ok(imap.search(None, "SEEN"), "SEARCH SEEN"), [b"1"], "SEARCH SEEN")

    imap_ok(imap.create("Archive"), "CREATE")
    imap_ok(imap.copy("1", "Archive"), "COPY")
    imap_ok(imap._simple_command("MOVE", "2", "Archive"), "MOVE")  # rfc6851.txt
    equal(imap.response("EXPUNGE"), ("EXPUNGE", [b"2"]), "MOVE expunges from INBOX (3.3)")
    equal(imap_ok(imap.status("Archive", "(MESSAGES)"), "STATUS"),
          [b'Archive (MESSAGES 2)'], "Archive after COPY and MOVE")

    imap_ok(imap.store("1", "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
    data = imap_ok(imap.expunge(), "EXPUNGE")
    equal(data, [b"1"], "EXPUNGE response")
    equal(imap_ok(imap.select("INBOX"), "SELECT"), [b"0"], "INBOX after EXPUNGE and MOVE")

    equal(imap_ok(imap.select("Archive"), "SELECT Archive"), [b"2"], "Archive EXISTS")
    data = imap_ok(imap.fetch("1:2", "(FLAGS BODY[])"), "FETCH Archive")
    delivered(data[0][1])
    delivered(data[2][1])
    check(rb"\Seen" in data[0][0], f"the copy keeps \\Seen: {data[0][0]!r}")
    equal(imap.logout()[0], "BYE", "LOGOUT")


class RawImap:
    """A line-level IMAP connection, for IDLE (imaplib of Python 3.11 has no idle())."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buffer = b""
        self.line()  # greeting

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            check(chunk, "the server closed the IMAP connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def until(self, prefix):
        """Lines up to and including the first that starts with prefix."""
        lines = []
        while True:
            lines.append(self.line())
            if lines[-1].startswith(prefix):
                return lines


def test_python_imap_idle(server):
    """Two sessions on one mailbox: IDLE hears EXISTS at once (rfc2177.txt), NOOP hears
    another session's flags and expunges (rfc3501.txt 5.2, 7.4.1)."""
    phone = RawImap(server.ports["imap"])
    phone.send("p1 LOGIN uday@ums.com chai")
    phone.until(b"p1 OK")
    phone.send("p2 SELECT INBOX")
    check(b"* 0 EXISTS" in phone.until(b"p2 OK"), "empty INBOX")
    phone.send("p3 IDLE")
    equal(phone.line(), b"+ idling", "IDLE continuation")

    smtplib_send(server)  # another client, another connection
    equal(phone.line(), b"* 1 EXISTS", "IDLE hears the delivery")
    equal(phone.line(), b"* 1 RECENT", "and its recency")
    phone.send("DONE")
    phone.until(b"p3 OK")

    laptop = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=TIMEOUT)
    imap_ok(laptop.login(*UDAY), "LOGIN")
    imap_ok(laptop.select("INBOX"), "SELECT")
    imap_ok(laptop.store("1", "+FLAGS", "(\\Seen)"), "STORE")
    phone.send("p4 NOOP")
    equal(phone.until(b"p4 OK"), [b"* 1 FETCH (FLAGS (\\Recent \\Seen))", b"p4 OK NOOP completed"],
          "NOOP hears the flag change")
    imap_ok(laptop.store("1", "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
    imap_ok(laptop.expunge(), "EXPUNGE")
    laptop.logout()
    phone.send("p5 NOOP")
    lines = phone.until(b"p5 OK")
    check(b"* 1 EXPUNGE" in lines, f"NOOP hears the expunge: {lines!r}")
    phone.send("p6 LOGOUT")
    phone.until(b"p6 OK")
    phone.sock.close()


def no_verification():
    """A client context that accepts serve's made-up certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def received_of(server):
    """The Received: field of Uday's first message, read with POP3."""
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=TIMEOUT)
    pop.user(UDAY[0])
    pop.pass_(UDAY[1])
    text = b"\r\n".join(pop.retr(1)[1]) + b"\r\n"
    pop.quit()
    delivered(text)
    return re.search(rb"\r\nReceived: (.*?)\r\n(?! )", text, re.S).group(1)


def test_python_smtp_starttls(server):
    """smtplib with STARTTLS (rfc3207.txt): a real TLS handshake, EHLO again, AUTH inside."""
    with smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=TIMEOUT) as smtp:
        smtp.ehlo("rav-laptop")
        equal(smtp.starttls(context=no_verification()), (220, b"2.0.0 Ready to start TLS"),
              "STARTTLS")
        check(smtp.sock.version() in ("TLSv1.2", "TLSv1.3"), f"TLS {smtp.sock.version()}")
        certificate = smtp.sock.getpeercert(binary_form=True)
        smtp.ehlo("rav-laptop")
        # rfc3207.txt 4.2: the server must not offer STARTTLS again.
        check(not smtp.has_extn("starttls"), "STARTTLS offered inside TLS")
        equal(smtp.docmd("STARTTLS"), (503, b"5.5.1 Bad sequence of commands"), "STARTTLS again")
        smtp.login(*RAV)
        equal(smtp.sendmail("rav@cms.com", ["uday@ums.com"], MESSAGE), {}, "send inside TLS")
    # rfc4954.txt 7 / rfc3848.txt: authenticated, inside TLS.
    check(b" with ESMTPSA id" in received_of(server), "Received: says ESMTPSA")

    # The certificate is self-signed for localhost: trusting exactly it, verification passes.
    context = ssl.create_default_context(cadata=ssl.DER_cert_to_PEM_cert(certificate))
    with smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=TIMEOUT) as smtp:
        smtp.ehlo("mail.cms.com")
        smtp._host = "localhost"  # the name starttls() checks the certificate against
        equal(smtp.starttls(context=context)[0], 220, "STARTTLS, certificate verified")
        equal(smtp.ehlo("mail.cms.com")[0], 250, "EHLO inside TLS")


def test_starttls_misuse(server):
    """Commands sent in the clear after STARTTLS are never run (rfc3207.txt 4.2, the 2011
    injection flaw); a peer that breaks the handshake is dropped, and serve goes on."""
    raw = socket.create_connection(("127.0.0.1", server.ports["smtp"]), timeout=TIMEOUT)
    raw.recv(4096)  # greeting
    raw.sendall(b"EHLO attacker\r\n")
    check(raw.recv(4096).endswith(b"250 8BITMIME\r\n"), "EHLO")
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
    equal(raw.recv(4096), b"220 2.0.0 Ready to start TLS\r\n", "only the 220, nothing for MAIL")
    tls = no_verification().wrap_socket(raw)
    tls.sendall(b"RSET\r\n")
    # Had the injected MAIL run, RSET would still answer 250; the tell is the state: after
    # the handshake the session starts over, so MAIL before EHLO is a bad sequence.
    equal(tls.recv(4096), b"250 2.0.0 OK\r\n", "RSET inside TLS")
    tls.sendall(b"MAIL FROM:<rav@cms.com>\r\n")
    equal(tls.recv(4096), b"503 5.5.1 Bad sequence of commands\r\n",
          "no EHLO since the handshake (rfc3207.txt 4.2)")
    tls.close()

    broken = socket.create_connection(("127.0.0.1", server.ports["submission"]), timeout=TIMEOUT)
    broken.recv(4096)
    broken.sendall(b"EHLO x\r\n")
    broken.recv(4096)
    broken.sendall(b"STARTTLS\r\n")
    equal(broken.recv(4096), b"220 2.0.0 Ready to start TLS\r\n", "STARTTLS")
    broken.sendall(b"this is not a TLS ClientHello\r\n")
    received = b""
    while True:  # perhaps a TLS alert, then the server closes (a timeout fails the test)
        chunk = broken.recv(4096)
        if not chunk:
            break
        received += chunk
    check(received == b"" or received[:1] == b"\x15",
          f"nothing or a TLS alert record before the close: {received!r}")
    broken.close()
    smtplib_send(server)  # still serving


def resident_kb(server):
    """The server's resident memory in kB (Linux)."""
    with open(f"/proc/{server.process.pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1))


def test_hostile_peers(server):
    """Random bytes on every port, a peer that says nothing, and a peer that asks for
    megabytes and never reads: serve answers each with the protocol's own errors or a close,
    and keeps serving everyone else (one poll loop, non-blocking sockets, bounded buffers)."""
    rng = random.Random(2023)
    for name in ("smtp", "submission", "pop3", "imap", "http", "submissions", "imaps", "pop3s",
                 "https"):
        peer = socket.create_connection(("127.0.0.1", server.ports[name]), timeout=TIMEOUT)
        try:
            for _ in range(16):
                peer.sendall(rng.randbytes(4096))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server gave up on us first, which is allowed
        peer.close()
    silent = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=TIMEOUT)

    body = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 60  # 60 kB, lines at the limit
    with smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=TIMEOUT) as smtp:
        smtp.login(*RAV)
        for _ in range(60):
            smtp.sendmail("rav@cms.com", ["uday@ums.com"], body)
    rss_before = resident_kb(server)
    # 200 requests for the whole 3.6 MB mailbox in 5 kB of input: 720 MB if serve ran them
    # all before sending anything; it runs the next only once the output has drained.
    hoarder = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=TIMEOUT)
    hoarder.sendall(b"h1 LOGIN uday@ums.com chai\r\nh2 SELECT INBOX\r\n" +
                    b"".join(b"f%d FETCH 1:* BODY.PEEK[]\r\n" % i for i in range(200)))

    smtplib_send(server)
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=TIMEOUT)
    pop.user(UDAY[0])
    pop.pass_(UDAY[1])
    equal(pop.stat()[0], 61, "messages, while others misbehave")
    delivered(b"\r\n".join(pop.retr(61)[1]) + b"\r\n")
    pop.quit()
    grown = resident_kb(server) - rss_before
    # About 4 MB in a plain build (one reply beyond the limit); AddressSanitizer's quarantine
    # of freed memory adds up to 256 MB; running all 200 at once costs 700 MB.
    check(grown < 400 * 1024, f"serve grew by {grown} kB for a peer that does not read")
    silent.close()
    hoarder.close()


def test_curl_smtp_pop3(server):
    """curl sends over submission with AUTH; curl and poplib retrieve over POP3."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(MESSAGE)
        f.flush()
        rc, out, err = curl(f"smtp://127.0.0.1:{server.ports['submission']}/rav-laptop",
                            "--mail-from", "rav@cms.com", "--mail-rcpt", "uday@ums.com",
                            "-T", f.name, "--user", "rav@cms.com:maple")
        equal(rc, 0, f"curl smtp send ({err})")
        # The same over STARTTLS (--ssl-reqd: TLS or fail; -k: the certificate is made up).
        rc, out, err = curl(f"smtp://127.0.0.1:{server.ports['submission']}/rav-laptop",
                            "--ssl-reqd", "--insecure", "--mail-from", "rav@cms.com",
                            "--mail-rcpt", "uday@ums.com", "-T", f.name,
                            "--user", "rav@cms.com:maple")
        equal(rc, 0, f"curl smtp send over STARTTLS ({err})")
        # Relaying to an outside domain on port 25 is refused (curl exit 55: send failed).
        rc, out, err = curl(f"smtp://127.0.0.1:{server.ports['smtp']}/mail.cms.com",
                            "--mail-from", "rav@cms.com", "--mail-rcpt", "x@example.org",
                            "-T", f.name)
        equal(rc, 55, f"curl relay to example.org ({err})")
        check("550" in err, f"curl saw no 550: {err}")
        # A wrong password is refused (curl exit 67: login denied).
        rc, out, err = curl(f"smtp://127.0.0.1:{server.ports['submission']}/rav-laptop",
                            "--mail-from", "rav@cms.com", "--mail-rcpt", "uday@ums.com",
                            "-T", f.name, "--user", "rav@cms.com:wrong")
        equal(rc, 67, f"curl with a wrong password ({err})")

    base = f"pop3://127.0.0.1:{server.ports['pop3']}"
    rc, listing, err = curl(base + "/", "--user", "uday@ums.com:chai")
    equal(rc, 0, f"curl pop3 LIST ({err})")
    check(re.fullmatch(rb"1 \d+\r\n2 \d+\r\n", listing), f"LIST gave {listing!r}")
    rc, text, err = curl(base + "/1", "--user", "uday@ums.com:chai")
    equal(rc, 0, f"curl pop3 RETR ({err})")
    delivered(text)
    equal(str(len(text)).encode(), listing.split()[1], "RETR size as LIST said")
    check(b" with ESMTPA id" in text, "the first came in the clear")
    rc, text, err = curl(base + "/2", "--user", "uday@ums.com:chai")
    equal(rc, 0, f"curl pop3 RETR 2 ({err})")
    delivered(text)
    check(b" with ESMTPSA id" in text, "the second came over STARTTLS")

    # Another real client sees the same message.
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=TIMEOUT)
    pop.user(UDAY[0])
    pop.pass_(UDAY[1])
    delivered(b"\r\n".join(pop.retr(1)[1]) + b"\r\n")
    pop.quit()


def test_curl_imap(server):
    """curl lists folders and fetches by UID; smtplib sent the message."""
    smtplib_send(server)
    base = f"imap://127.0.0.1:{server.ports['imap']}"
    rc, out, err = curl(base + "/", "--user", "uday@ums.com:chai")
    equal(rc, 0, f"curl imap LIST ({err})")
    equal(out, b'* LIST () "/" INBOX\r\n', "LIST")
    rc, out, err = curl(base + "/INBOX", "--user", "uday@ums.com:chai", "-X", "SEARCH ALL")
    equal(rc, 0, f"curl imap SEARCH ({err})")
    equal(out, b"* SEARCH 1\r\n", "SEARCH ALL")
    rc, text, err = curl(base + "/INBOX;UID=1", "--user", "uday@ums.com:chai")
    equal(rc, 0, f"curl imap FETCH ({err})")
    delivered(text)
    rc, out, err = curl(base + "/INBOX;UID=1", "--user", "uday@ums.com:wrong")
    equal(rc, 67, f"curl imap with a wrong password ({err})")


def test_curl_http(server):
    """curl against the webmail API: login, send, folders, list, read, flags, move."""
    base = f"http://127.0.0.1:{server.ports['http']}"
    with tempfile.TemporaryDirectory() as tmp:
        jar = os.path.join(tmp, "cookies")
        status = ["--write-out", "\n%{http_code}", "--cookie", jar, "--cookie-jar", jar]
        json_type = ["--header", "Content-Type: application/json"]

        def call(method, path, body=None):
            args = ["--request", method, base + path, *status]
            if body is not None:
                args += [*json_type, "--data-binary", json.dumps(body)]
            rc, out, err = curl(*args)
            equal(rc, 0, f"curl {method} {path} ({err})")
            content, code = out.rsplit(b"\n", 1)
            return int(code), content

        equal(call("GET", "/api/folders"), (401, b'{"error":"not logged in"}'), "no session")
        rc, head, err = curl("--head", "--request", "GET", base + "/api/folders")
        check(re.search(rb"\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                        rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                        rb"\d\d:\d\d:\d\d GMT\r\n", head),
              f"an IMF-fixdate Date field (rfc9110.txt 6.6.1): {head!r}")
        equal(call("POST", "/api/login", {"user": "rav@cms.com", "password": "maple"}),
              (200, b'{"ok":true}'), "Rav logs in")
        code, content = call("POST", "/api/send", {"to": ["uday@ums.com"],
                                                   "subject": "Over the web",
                                                   "body": "Sent from a browser.\n"})
        equal(code, 202, f"send: {content!r}")
        check(json.loads(content)["message_id"].endswith("@cms.com>"), f"send: {content!r}")
        # No outbound relay: refused as SMTP's RCPT refuses it (550 5.7.1), never a 500.
        equal(call("POST", "/api/send", {"to": ["x@example.org"], "subject": "s", "body": "b"}),
              (403, b'{"error":"relaying denied for x@example.org"}'), "send outside")
        equal(call("POST", "/api/send", {"to": ["uday@ums.com"], "bcc": ["nobody@ums.com"]}),
              (422, b'{"error":"no such user here: nobody@ums.com"}'), "send to nobody")
        equal(call("POST", "/api/logout", {}), (200, b'{"ok":true}'), "logout")

        equal(call("POST", "/api/login", {"user": "uday@ums.com", "password": "chai"}),
              (200, b'{"ok":true}'), "Uday logs in")
        equal(call("GET", "/api/folders"),
              (200, b'[{"name":"INBOX","messages":1,"unseen":1}]'), "folders")
        code, content = call("GET", "/api/folders/INBOX/messages")
        listed = json.loads(content)
        equal((code, len(listed), listed[0]["subject"], listed[0]["seen"]),
              (200, 1, "Over the web", False), "list")
        code, content = call("GET", "/api/messages/INBOX/1")
        read = json.loads(content)
        equal((code, read["subject"], read["body"], read["from"]),
              (200, "Over the web", "Sent from a browser.\r\n", "Rav <rav@cms.com>"), "read")
        equal(call("GET", "/api/messages/INBOX/7")[0], 404, "unknown message")
        equal(call("POST", "/api/messages/INBOX/1/flags", {"add": ["\\Flagged"]}),
              (200, b'{"ok":true}'), "flag")

    # The same message through IMAP: webmail and IMAP share the mailbox.
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=TIMEOUT)
    imap_ok(imap.login(*UDAY), "LOGIN")
    imap_ok(imap.select("INBOX"), "SELECT")
    data = imap_ok(imap.fetch("1", "(FLAGS BODY.PEEK[TEXT])"), "FETCH")
    check(rb"\Flagged" in data[0][0] and rb"\Seen" in data[0][0], f"flags {data[0][0]!r}")
    equal(data[0][1], b"Sent from a browser.\r\n", "BODY[TEXT]")
    imap.logout()


class Browser:
    """Python's http.client as a web page's script: one connection, the session cookie kept."""

    def __init__(self, connection):
        self.connection = connection
        self.cookie = None

    def call(self, method, path, body=None):
        """Returns (status, parsed JSON)."""
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        equal(response.getheader("Content-Type"), "application/json", f"{method} {path} type")
        if response.getheader("Set-Cookie"):
            self.cookie = response.getheader("Set-Cookie").split(";")[0]
        return response.status, json.loads(content)

    def login(self, user):
        equal(self.call("POST", "/api/login", {"user": user[0], "password": user[1]}),
              (200, {"ok": True}), f"{user[0]} logs in")


def imap_message(server, user, uid, folder="INBOX"):
    """The stored message and its flags, through IMAP (another real client)."""
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=TIMEOUT)
    imap_ok(imap.login(*user), "LOGIN")
    imap_ok(imap.select(folder), "SELECT")
    data = imap_ok(imap.uid("FETCH", str(uid), "(FLAGS BODY.PEEK[])"), "UID FETCH")
    imap.logout()
    return data[0][1], data[0][0]


def test_python_webmail_compose(server):
    """http.client posts what a compose form holds: Cc, Bcc, an attachment, then a reply;
    each is delivered as the simulation's webmail composes it (rfc5322.txt 3.6.3, 3.6.4)."""
    photo = bytes(range(256)) * 3  # every octet value: base64 must carry them all
    rav = Browser(http.client.HTTPConnection("127.0.0.1", server.ports["http"],
                                             timeout=TIMEOUT))
    rav.login(RAV)
    code, sent = rav.call("POST", "/api/send", {
        "to": ["uday@ums.com"], "bcc": ["rav@cms.com"], "subject": "Photos",
        "body": "Here is one.\n",
        "attachments": [{"name": "lake.bin", "content_type": "application/octet-stream",
                         "data": base64.b64encode(photo).decode()}]})
    equal(code, 202, f"send with Bcc and an attachment: {sent}")
    # One bad Cc refuses the whole send, naming it, and nothing is delivered.
    equal(rav.call("POST", "/api/send", {"to": ["uday@ums.com"], "cc": ["eve@example.org"]}),
          (403, {"error": "relaying denied for eve@example.org"}), "a Cc outside")
    # An address that would smuggle a header line (rfc5322.txt 3.4.1) is not an address.
    equal(rav.call("POST", "/api/send", {"to": ["uday@ums.com\r\nBcc: eve@example.org"]}),
          (400, {"error": 'to: not an address: "uday@ums.com\\r\\nBcc: eve@example.org"'}),
          "a header in an address")
    equal(rav.call("GET", "/api/folders"),
          (200, [{"name": "INBOX", "messages": 1, "unseen": 1}]), "Rav's Bcc copy")

    raw, _ = imap_message(server, UDAY, 1)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    equal((parsed["To"], parsed["Cc"], parsed["Bcc"], parsed["Message-ID"]),
          ("uday@ums.com", None, None, sent["message_id"]), "headers: no Bcc (rfc5322 3.6.3)")
    check(raw.startswith(b"Return-Path: <rav@cms.com>\r\n"), f"delivered: {raw[:60]!r}")
    parts = list(parsed.iter_attachments())
    equal([(a.get_filename(), a.get_content_type(), a.get_content()) for a in parts],
          [("lake.bin", "application/octet-stream", photo)], "the attachment, octet for octet")
    # The CRLF before a boundary belongs to the delimiter (rfc2046.txt 5.1.1), so the text
    # keeps its own last line break.
    equal(parsed.get_body(("plain",)).get_content(), "Here is one.\r\n", "the text part")

    uday = Browser(http.client.HTTPConnection("127.0.0.1", server.ports["http"],
                                              timeout=TIMEOUT))
    uday.login(UDAY)
    equal(uday.call("POST", "/api/send", {"to": ["rav@cms.com"],
                                          "reply_to": {"folder": "INBOX", "id": 9}}),
          (404, {"error": "no such message to reply to, or fields this server does not take"}),
          "a reply to no message")
    code, reply = uday.call("POST", "/api/send", {
        "to": ["rav@cms.com"], "cc": ["uday@ums.com"], "subject": "Re: Photos",
        "body": "Lovely.\n", "reply_to": {"folder": "INBOX", "id": 1}})
    equal(code, 202, f"reply: {reply}")
    _, flags = imap_message(server, UDAY, 1)
    check(rb"\Answered" in flags, f"the parent is \\Answered: {flags!r}")
    raw, _ = imap_message(server, RAV, 2)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    equal((parsed["To"], parsed["Cc"], parsed["In-Reply-To"], parsed["References"],
           parsed["Message-ID"]),
          ("rav@cms.com", "uday@ums.com", sent["message_id"], sent["message_id"],
           reply["message_id"]), "the reply's headers")
    equal(uday.call("GET", "/api/folders"),
          (200, [{"name": "INBOX", "messages": 2, "unseen": 2}]),
          "Uday's Cc copy (IMAP only peeked at the first)")


def test_python_implicit_tls(server):
    """smtplib.SMTP_SSL, poplib.POP3_SSL, imaplib.IMAP4_SSL and http.client's HTTPS on the
    implicit-TLS ports (rfc8314.txt 3.3, rfc2818.txt 2): TLS from the first byte."""
    with smtplib.SMTP_SSL("127.0.0.1", server.ports["submissions"], timeout=TIMEOUT,
                          context=no_verification()) as smtp:
        check(smtp.sock.version() in ("TLSv1.2", "TLSv1.3"), f"TLS {smtp.sock.version()}")
        certificate = smtp.sock.getpeercert(binary_form=True)
        equal(smtp.ehlo("rav-laptop")[0], 250, "EHLO")
        # Already inside TLS: STARTTLS is neither offered nor taken (rfc3207.txt 4.2).
        check(not smtp.has_extn("starttls"), "STARTTLS offered on the implicit-TLS port")
        equal(smtp.docmd("STARTTLS"), (503, b"5.5.1 Bad sequence of commands"), "STARTTLS")
        equal(smtp.login(*RAV), (235, b"2.7.0 Authentication successful"), "AUTH")
        equal(smtp.sendmail("rav@cms.com", ["uday@ums.com"], MESSAGE), {}, "send")

    pop = poplib.POP3_SSL("127.0.0.1", server.ports["pop3s"], timeout=TIMEOUT,
                          context=no_verification())
    check(pop.getwelcome().startswith(b"+OK "), f"greeting {pop.getwelcome()!r}")
    pop.user(UDAY[0])
    pop.pass_(UDAY[1])
    equal(pop.stat()[0], 1, "STAT")
    text = b"\r\n".join(pop.retr(1)[1]) + b"\r\n"
    delivered(text)
    check(b" with ESMTPSA id" in text, "Received: says ESMTPSA (authenticated, inside TLS)")
    pop.quit()

    # The certificate is self-signed for localhost: trusting exactly it, verification passes.
    trusted = ssl.create_default_context(cadata=ssl.DER_cert_to_PEM_cert(certificate))
    imap = imaplib.IMAP4_SSL("localhost", server.ports["imaps"], ssl_context=trusted,
                             timeout=TIMEOUT)
    imap_ok(imap.login(*UDAY), "LOGIN")
    imap_ok(imap.select("INBOX"), "SELECT")
    data = imap_ok(imap.fetch("1", "(BODY.PEEK[])"), "FETCH")
    delivered(data[0][1])
    imap.logout()

    web = Browser(http.client.HTTPSConnection("127.0.0.1", server.ports["https"],
                                              timeout=TIMEOUT, context=no_verification()))
    web.login(UDAY)
    equal(web.call("GET", "/api/folders"),
          (200, [{"name": "INBOX", "messages": 1, "unseen": 1}]), "folders over HTTPS")

    # Plaintext on a TLS port is not a ClientHello: an alert or nothing, then the close.
    for name in ("submissions", "imaps", "pop3s", "https"):
        plain = socket.create_connection(("127.0.0.1", server.ports[name]), timeout=TIMEOUT)
        plain.sendall(b"EHLO plain\r\n")
        received = b""
        while True:  # a timeout fails the test
            chunk = plain.recv(4096)
            if not chunk:
                break
            received += chunk
        check(received == b"" or received[:1] == b"\x15",
              f"{name}: nothing or a TLS alert before the close: {received!r}")
        plain.close()


def test_python_pop3_stls(server):
    """poplib's stls() (rfc2595.txt 4) with Python's ssl, then curl pop3:// --ssl-reqd."""
    smtplib_send(server)
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=TIMEOUT)
    check("STLS" in pop.capa(), f"CAPA lists STLS: {pop.capa()}")
    equal(pop.stls(context=no_verification()), b"+OK Begin TLS negotiation", "STLS")
    check(pop.sock.version() in ("TLSv1.2", "TLSv1.3"), f"TLS {pop.sock.version()}")
    check("STLS" not in pop.capa(), "CAPA lists STLS inside TLS")
    try:
        pop._shortcmd("STLS")
        raise AssertionError("STLS accepted inside TLS")
    except poplib.error_proto as refused:
        equal(refused.args[0], b"-ERR Command not permitted when TLS active", "STLS again")
    pop.user(UDAY[0])
    pop.pass_(UDAY[1])
    delivered(b"\r\n".join(pop.retr(1)[1]) + b"\r\n")
    pop.quit()

    rc, text, err = curl(f"pop3://127.0.0.1:{server.ports['pop3']}/1", "--ssl-reqd",
                         "--insecure", "--user", "uday@ums.com:chai")
    equal(rc, 0, f"curl pop3 with STLS ({err})")
    delivered(text)


def test_python_imap_starttls(server):
    """imaplib's starttls() (rfc3501.txt 6.2.1) with Python's ssl, then curl imap://
    --ssl-reqd; a LOGIN pipelined behind STARTTLS in the clear is not run."""
    smtplib_send(server)
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=TIMEOUT)
    equal(imap.starttls(ssl_context=no_verification())[0], "OK", "STARTTLS")
    check(imap.sock.version() in ("TLSv1.2", "TLSv1.3"), f"TLS {imap.sock.version()}")
    # imaplib asked CAPABILITY again inside TLS, as the RFC says a client must.
    check("STARTTLS" not in imap.capabilities, f"capabilities {imap.capabilities}")
    try:
        imap._simple_command("STARTTLS")
        raise AssertionError("STARTTLS accepted inside TLS")
    except imaplib.IMAP4.error as refused:  # imaplib raises on BAD
        check("BAD [b'TLS is already active']" in str(refused), f"STARTTLS again: {refused}")
    imap_ok(imap.login(*UDAY), "LOGIN")
    imap_ok(imap.select("INBOX"), "SELECT")
    delivered(imap_ok(imap.fetch("1", "(BODY.PEEK[])"), "FETCH")[0][1])
    imap.logout()

    rc, text, err = curl(f"imap://127.0.0.1:{server.ports['imap']}/INBOX;UID=1",
                         "--ssl-reqd", "--insecure", "--user", "uday@ums.com:chai")
    equal(rc, 0, f"curl imap with STARTTLS ({err})")
    delivered(text)

    raw = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=TIMEOUT)
    raw.recv(4096)  # greeting
    raw.sendall(b"a1 STARTTLS\r\na2 LOGIN uday@ums.com chai\r\n")
    equal(raw.recv(4096), b"a1 OK Begin TLS negotiation now\r\n", "only the OK, no LOGIN")
    tls = no_verification().wrap_socket(raw)
    tls.sendall(b"a3 SELECT INBOX\r\n")
    equal(tls.recv(4096), b"a3 BAD SELECT not allowed in not_authenticated state\r\n",
          "the pipelined LOGIN did not run")
    tls.close()


def test_curl_implicit_tls(server):
    """curl over smtps://, pop3s://, imaps:// and https://, with --insecure or trusting the
    certificate serve printed (fetched here with Python's ssl)."""
    with tempfile.TemporaryDirectory() as tmp:
        message = os.path.join(tmp, "message")
        with open(message, "wb") as f:
            f.write(MESSAGE)
        rc, out, err = curl(f"smtps://127.0.0.1:{server.ports['submissions']}/rav-laptop",
                            "--insecure", "--mail-from", "rav@cms.com",
                            "--mail-rcpt", "uday@ums.com", "-T", message,
                            "--user", "rav@cms.com:maple")
        equal(rc, 0, f"curl smtps send ({err})")

        rc, text, err = curl(f"pop3s://127.0.0.1:{server.ports['pop3s']}/1", "--insecure",
                             "--user", "uday@ums.com:chai")
        equal(rc, 0, f"curl pop3s RETR ({err})")
        delivered(text)
        rc, text, err = curl(f"imaps://127.0.0.1:{server.ports['imaps']}/INBOX;UID=1",
                             "--insecure", "--user", "uday@ums.com:chai")
        equal(rc, 0, f"curl imaps FETCH ({err})")
        delivered(text)

        # Without --insecure curl refuses the made-up certificate (exit 60)...
        port = server.ports["https"]
        rc, out, err = curl(f"https://127.0.0.1:{port}/api/folders")
        equal(rc, 60, f"curl https with verification ({err})")
        # ... and accepts it once told to trust exactly it, for the name it was made for.
        pem = os.path.join(tmp, "serve.pem")
        with open(pem, "w") as f:
            f.write(ssl.get_server_certificate(("127.0.0.1", port), timeout=TIMEOUT))
        rc, out, err = curl(f"https://localhost:{port}/api/login", "--cacert", pem,
                            "--resolve", f"localhost:{port}:127.0.0.1",
                            "--header", "Content-Type: application/json",
                            "--data-binary", '{"user":"uday@ums.com","password":"chai"}',
                            "--write-out", "\n%{http_code}")
        equal((rc, out), (0, b'{"ok":true}\n200'), f"curl https login, verified ({err})")


def test_serve_signals_and_ports(mailsim, scenario):
    """SIGINT stops cleanly too; a port in use or a bad --bind is named, exit 2."""
    server = Server(mailsim, scenario)
    try:
        taken = server.ports["imap"]
        args = [mailsim, "serve", scenario]
        for option in PORT_OPTIONS:
            args += [option, str(taken) if option == "--imap-port" else "0"]
        done = subprocess.run(args, capture_output=True, timeout=TIMEOUT)
        equal(done.returncode, 2, "exit code with a port in use")
        equal(done.stdout, b"", "no JSON line when a port cannot be bound")
        check(f"127.0.0.1 port {taken} (--imap-port)".encode() in done.stderr,
              f"the error names the port: {done.stderr!r}")
        done = subprocess.run([mailsim, "serve", scenario, "--bind", "mail.example"],
                              capture_output=True, timeout=TIMEOUT)
        equal((done.returncode, done.stdout), (2, b""), "exit code with a bad --bind")
        check(b"--bind mail.example: not an IPv4 or IPv6 address" in done.stderr,
              f"the error names --bind: {done.stderr!r}")
        equal(server.stop(signal.SIGINT), 0, "exit code on SIGINT")
    finally:
        server.kill()


TESTS = {name[len("test_"):]: f for name, f in globals().items() if name.startswith("test_")}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in TESTS:
        sys.exit(f"usage: {sys.argv[0]} MAILSIM SCENARIO {{{','.join(TESTS)}}}")
    mailsim, scenario, name = sys.argv[1:]
    if name == "serve_signals_and_ports":
        TESTS[name](mailsim, scenario)
    else:
        server = Server(mailsim, scenario)
        passed = False
        try:
            TESTS[name](server)
            equal(server.stop(), 0, "exit code on SIGTERM")
            passed = True
        finally:
            errors = server.kill()
            if not passed:
                print("mailsim serve said:\n" + errors, file=sys.stderr)
    print(f"{name}: ok")


if __name__ == "__main__":
    main()

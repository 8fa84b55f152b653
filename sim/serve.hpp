// mailsim serve: the protocol engines of models/ on real loopback TCP ports.
//
// The users and mailboxes of a scenario are served over SMTP relay,
// submission, POP3, IMAP and HTTP (the webmail JSON API) so that real clients
// (Thunderbird, Python's smtplib/poplib/imaplib, curl) can talk to them. One
// thread, one poll(2) loop, one engine session per connection. TLS is real
// (OpenSSL, a self-signed certificate made at start-up): STARTTLS on the SMTP
// and IMAP ports, STLS on POP3, and implicit TLS (RFC 8314) on the submissions,
// IMAPS, POP3S and HTTPS ports; plain HTTP is plain; no outbound relay.
// docs/serve.md tells an instructor how to use it.
#pragma once

#include "sim/scenario.hpp"

#include <string>

namespace mailsim::sim {

// Where to listen. Port 0 lets the kernel pick a free port; the ports as bound
// are printed in the one JSON line on stdout. The defaults are the well-known
// ports plus 2000 (25 -> 2525, 587 -> 2587, 110 -> 2110, 143 -> 2143,
// 80 -> 2080; implicit TLS 465 -> 2465, 993 -> 2993, 995 -> 2995, 443 -> 2443),
// so no privilege is needed.
struct ServeOptions {
  std::string bind = "127.0.0.1";
  int smtp_port = 2525, submission_port = 2587, pop3_port = 2110, imap_port = 2143,
      http_port = 2080;
  int submissions_port = 2465, imaps_port = 2993, pop3s_port = 2995, https_port = 2443;
};

// Serves the scenario until SIGINT or SIGTERM. Returns the process exit code:
// 0 a clean stop on a signal, 2 a port that cannot be bound (named on stderr),
// 1 an internal failure.
int serve_scenario(const scenario::Scenario& s, const ServeOptions& o);

}  // namespace mailsim::sim

// Fuzz target: the SMTP client session (models/smtp) fed whatever a server might answer.
// Options: bit 0 AUTH PLAIN configured, bit 1 PIPELINING used when offered, bits 2-3 the TLS
// policy (never, opportunistic, required), bit 4 three recipients instead of one.
// Invariants: chunking independence; bounded output; every command line ends in CRLF and
// stays within 512 octets (rfc5321.txt 4.5.3.1.4) outside the mail data; nothing is written
// once the session is closed.
#include "models/message.hpp"
#include "models/smtp.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
using namespace mailsim::smtp;
namespace fz = mailsim::fuzz;

namespace {

const std::string message_text = fz::rav_to_uday("", ".a line that starts with a period\r\n");

ClientConfig config(const fz::Input& in) {
  ClientConfig c;
  c.helo_name = "rav-laptop.cms.com";
  if (in.option(0)) c.auth = std::make_pair(std::string("rav"), std::string("secret"));
  c.use_pipelining = in.option(1);
  int tls = (in.options >> 2) & 3;
  c.tls = tls == 1 ? TlsPolicy::opportunistic : tls >= 2 ? TlsPolicy::required : TlsPolicy::never;
  return c;
}

Envelope envelope(const fz::Input& in) {
  Envelope e;
  e.mail_from = "rav@cms.com";
  e.recipients = {"uday@ums.com"};
  if (in.option(4)) e.recipients = {"uday@ums.com", "bob@ums.com", "carol@example.org"};
  e.message = message_text;
  return e;
}

// Every line outside the mail data is a command within 512 octets; the mail data is the
// dot-stuffed message, whose lines are ours.
void check_commands(std::string_view output) {
  const std::string data = msg::dot_stuff(message_text);
  for (std::size_t at = 0; at < output.size();) {
    if (output.compare(at, data.size(), data) == 0) {
      at += data.size();
      continue;
    }
    std::string_view line = fz::take_line(output, at);
    FUZZ_CHECK(line.size() + 2 <= 512, "command over 512 octets \"%s\"", fz::escaped(line).c_str());
  }
}

// Feeds the transcript in chunks (0: whole); with `tls`, completes each STARTTLS handshake as
// soon as the engine asks for it.
fz::Run run(const fz::Input& in, std::size_t chunk, bool tls) {
  ClientSession session(config(in), envelope(in));
  fz::Run r = fz::feed_session(session, in.transcript, chunk, [&](const ClientEvent& e) {
    if (tls && e.kind == ClientEvent::Kind::starttls) session.tls_established();
    return std::to_string(static_cast<int>(e.kind)) + " " + e.reply.to_bytes() + " " + e.detail +
           "\n";
  });
  r.events += std::string(session.state_name()) + (session.succeeded() ? " ok\n" : "\n");
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fz::Input in(data, size);
  fz::check_tls_session(in, (in.options >> 2) & 3, run, check_commands);
  return 0;
}

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

const std::string message_text =
    "From: Rav <rav@cms.com>\r\n"
    "To: uday@ums.com\r\n"
    "Subject: hi\r\n"
    "Message-ID: <m1@cms.com>\r\n"
    "\r\n"
    "hello\r\n"
    ".a line that starts with a period\r\n";

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
  std::size_t at = 0;
  while (at < output.size()) {
    if (output.compare(at, data.size(), data) == 0) {
      at += data.size();
      continue;
    }
    std::size_t end = output.find("\r\n", at);
    FUZZ_CHECK(end != std::string_view::npos, "output ends inside a command: \"%s\"",
               fz::escaped(output.substr(at)).c_str());
    std::string_view line = output.substr(at, end - at);
    FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos && line.size() + 2 <= 512,
               "malformed command \"%s\"", fz::escaped(line).c_str());
    at = end + 2;
  }
}

fz::Run run(const fz::Input& in, std::size_t chunk, bool tls) {
  ClientSession session(config(in), envelope(in));
  fz::Run r;
  r.output = session.take_output();
  fz::for_each_chunk(in.transcript, chunk, [&](std::string_view piece) {
    bool was_closed = session.closed();
    session.receive(piece);
    std::string out = session.take_output();
    FUZZ_CHECK(!was_closed || out.empty(), "output after the session closed");
    for (const ClientEvent& e : session.take_events()) {
      r.events += std::to_string(static_cast<int>(e.kind)) + " " + e.reply.to_bytes() + " " +
                  e.detail + "\n";
      if (tls && e.kind == ClientEvent::Kind::starttls) session.tls_established();
    }
    r.output += out + session.take_output();
  });
  r.events += std::string(session.state_name()) + (session.succeeded() ? " ok\n" : "\n");
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fz::Input in(data, size);
  const fz::Run whole = run(in, 0, false);
  fz::check_bounded(whole, in.transcript.size());
  check_commands(whole.output);
  fz::check_same(whole, run(in, in.chunk, false), in.chunk);
  if ((in.options >> 2) & 3) check_commands(run(in, 1, true).output);
  return 0;
}

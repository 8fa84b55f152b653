// Fuzz target: the SMTP server session (models/smtp) fed whatever a client might send.
// Options: bit 0 submission service (else relay), bit 1 STARTTLS offered, bit 2 PIPELINING
// off, bit 3 small limits (64-octet lines, 200-octet messages, 3 errors before 421).
// Invariants: chunking independence; bounded output; every reply line is three digits, then
// "-" or SP, then text (rfc5321.txt 4.2), with one code through a multi-line reply; every
// command gets a reply; nothing is written once the session is closed.
#include "models/smtp.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
using namespace mailsim::smtp;
namespace fz = mailsim::fuzz;

namespace {

class Backend : public ServerBackend {
 public:
  bool authenticate(std::string_view user, std::string_view password) override {
    return user == "rav" && password == "secret";
  }
  RcptVerdict check_recipient(std::string_view address, bool authenticated) override {
    if (address == "uday@ums.com") return RcptVerdict::accept;
    if (address.size() > 8 && address.substr(address.size() - 8) == "@ums.com")
      return RcptVerdict::unknown_user;
    return authenticated ? RcptVerdict::accept : RcptVerdict::relay_denied;
  }
  std::string accept_message(const Envelope& envelope) override {
    ++accepted;
    return envelope.message.size() % 7 == 0 ? "" : "Q" + std::to_string(accepted);
  }
  int accepted = 0;
};

ServerConfig config(const fz::Input& in) {
  ServerConfig c;
  c.hostname = "mail.ums.com";
  c.service = in.option(0) ? Service::submission : Service::relay;
  c.tls_available = in.option(1);
  c.pipelining = !in.option(2);
  if (in.option(3)) {
    c.max_command_line = 64;
    c.max_text_line = 64;
    c.max_message_size = 200;
    c.max_errors = 3;
    c.max_auth_line = 64;
  }
  c.client_address = "client [192.0.2.7]";
  return c;
}

void check_replies(std::string_view output) {
  int open_code = 0;  // the code of a multi-line reply in progress
  for (std::string_view line : fz::crlf_lines(output)) {
    bool shaped = line.size() >= 4 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' &&
                  line[1] <= '5' && line[2] >= '0' && line[2] <= '9' &&
                  (line[3] == ' ' || line[3] == '-');
    FUZZ_CHECK(shaped, "malformed reply line \"%s\"", fz::escaped(line).c_str());
    FUZZ_CHECK(line.size() + 2 <= 512, "reply line over 512 octets (rfc5321.txt 4.5.3.1.5)");
    int code = std::stoi(std::string(line.substr(0, 3)));
    FUZZ_CHECK(open_code == 0 || open_code == code, "code changes inside a reply: \"%s\"",
               fz::escaped(line).c_str());
    open_code = line[3] == '-' ? code : 0;
  }
  FUZZ_CHECK(open_code == 0, "output ends inside a multi-line reply");
}

// Feeds the transcript in chunks (0: whole); with `tls`, completes each STARTTLS handshake as
// soon as the engine asks for it.
fz::Run run(const fz::Input& in, std::size_t chunk, bool tls) {
  Backend backend;
  ServerSession session(config(in), backend);
  bool unanswered = false;  // a command got no reply yet
  fz::Run r = fz::feed_session(session, in.transcript, chunk, [&](const ServerEvent& e) {
    if (e.kind == ServerEvent::Kind::command_received) {
      FUZZ_CHECK(!unanswered, "a command got no reply before \"%s\"",
                 fz::escaped(e.detail).c_str());
      unanswered = true;
    }
    if (e.kind == ServerEvent::Kind::reply_sent) unanswered = false;
    if (tls && e.kind == ServerEvent::Kind::starttls) session.tls_established();
    return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + "\n";
  });
  // rfc5321.txt 4.1.1: every command gets a reply; a client waiting for one would hang.
  FUZZ_CHECK(!unanswered, "the last complete command got no reply");
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fz::Input in(data, size);
  fz::check_tls_session(in, in.option(1), run, check_replies);
  return 0;
}

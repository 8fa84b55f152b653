// Fuzz target: the POP3 client session (models/pop3) fed whatever a server might answer.
// Options: bit 0 delete after download (else keep), bit 1 keep for 2 days with one UIDL known
// and old enough to expire.
// Invariants: chunking independence; bounded output; every command is one CRLF line within
// 255 octets (rfc2449.txt 4); nothing is written once the session is closed.
#include "models/pop3.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

pop3::ClientConfig config(const fz::Input& in) {
  pop3::ClientConfig c;
  c.user = "uday@ums.com";
  c.password = "secret";
  c.mode = in.option(0) ? pop3::Mode::delete_after_download : pop3::Mode::keep_on_server;
  if (in.option(1)) {
    c.keep_days = 2;
    c.known_uidls = {"1.1", "1.2"};
    c.downloaded_at = {{"1.1", 0.0}, {"1.2", 86400.0 * 3}};
    c.now = 86400.0 * 3;
  }
  return c;
}

fz::Run run(const fz::Input& in, std::size_t chunk) {
  pop3::ClientSession session(config(in));
  fz::Run r = fz::feed_session(session, in.transcript, chunk, [](const pop3::ClientEvent& e) {
    return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " [" + e.message.uidl + " " +
           std::to_string(e.message.octets) + " " + e.message.text + "]\n";
  });
  r.events += session.succeeded() ? "ok\n" : "not ok\n";
  for (const std::string& uidl : session.deleted_uidls()) r.events += "deleted " + uidl + "\n";
  return r;
}

// Every command is one CRLF line within 255 octets (rfc2449.txt 4).
void check_commands(std::string_view out) {
  for (std::string_view line : fz::crlf_lines(out))
    FUZZ_CHECK(line.size() + 2 <= 255, "command over 255 octets: \"%s\"",
               fz::escaped(line).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::check_session(fz::Input(data, size), run, check_commands);
  return 0;
}

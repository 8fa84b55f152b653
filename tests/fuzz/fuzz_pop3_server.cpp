// Fuzz target: the POP3 server session (models/pop3) fed whatever a client might send, over a
// store with one account ("uday"/"secret") holding three messages (none with option bit 0).
// Option bit 1: 40-octet command lines instead of 255.
// Invariants: chunking independence; bounded output; output is CRLF lines without a bare CR
// or LF, opening with "+OK" (rfc1939.txt 4); nothing is written once the session is closed;
// the store changes only after QUIT (rfc1939.txt 6).
#include "models/pop3.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <memory>
#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

const std::string message_text =
    "From: rav@cms.com\r\n"
    "Subject: hi\r\n"
    "Message-ID: <m1@cms.com>\r\n"
    "\r\n"
    "first line\r\n"
    ".second line\r\n"
    "..\r\n"
    ".\r\n"
    "third\r\n";

std::unique_ptr<store::MailStore> make_store(const fz::Input& in) {
  auto store = std::make_unique<store::MailStore>("ums.com");
  store->add_account("uday@ums.com", "secret");
  if (!in.option(0))
    for (int i = 0; i < 3; ++i) store->deliver("uday@ums.com", message_text, 100 + i);
  return store;
}

fz::Run run(const fz::Input& in, std::size_t chunk) {
  auto store = make_store(in);
  pop3::ServerConfig config{"mail.ums.com"};
  if (in.option(1)) config.max_command_length = 40;
  pop3::ServerSession session(config, *store);
  bool quit = false;
  fz::Run r = fz::feed_session(session, in.transcript, chunk, [&](const pop3::ServerEvent& e) {
    quit = quit || e.kind == pop3::ServerEvent::Kind::quit;
    return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " " + std::to_string(e.uid) +
           " " + e.message_id + "\n";
  });
  std::size_t left = store->find_account("uday")->inbox().messages().size();
  FUZZ_CHECK(quit || left == (in.option(0) ? 0u : 3u), "messages removed without QUIT");
  r.events += "left " + std::to_string(left) + "\n";
  return r;
}

void check_lines(std::string_view output) {
  std::vector<std::string_view> lines = fz::crlf_lines(output);
  FUZZ_CHECK(!lines.empty() && lines[0].substr(0, 4) == "+OK ", "no +OK greeting");
  for (std::string_view line : lines)
    FUZZ_CHECK(line.size() + 2 <= 512, "line over 512 octets (rfc1939.txt 3): \"%s\"",
               fz::escaped(line).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::check_session(fz::Input(data, size), run, check_lines);
  return 0;
}

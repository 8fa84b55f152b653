// Fuzz target: the IMAP client session (models/imap) fed whatever a server might answer.
// Option bit 0: a user name and password that need quoting and a literal (rfc3501.txt 4.3).
// Bit 1: sync (LIST, each folder's flags and names); bit 2: IDLE after it (rfc2177.txt 3).
// Invariants: chunking independence; bounded output; every command is CRLF lines with no
// bare CR or LF outside literals; nothing is written once the session is closed.
#include "models/imap.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

imap::ClientConfig config(const fz::Input& in) {
  imap::ClientConfig c;
  c.user = in.option(0) ? "uday \"the\" user" : "uday@ums.com";
  c.password = in.option(0) ? std::string("p\xc3\xa4ss", 5) : "secret";
  c.sync = in.option(1) || in.option(2);
  c.idle = in.option(2);
  return c;
}

fz::Run run(const fz::Input& in, std::size_t chunk) {
  imap::ClientSession session(config(in));
  fz::Run r = fz::feed_session(session, in.transcript, chunk, [](const imap::ClientEvent& e) {
    return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " [" +
           std::to_string(e.message.uid) + " " + e.message.text + "] " +
           std::to_string(e.item.uid) + " " + e.item.subject + "\n";
  });
  r.events += session.succeeded() ? "ok\n" : "not ok\n";
  return r;
}

}  // namespace

// Commands are CRLF lines; a line ending in "{n}" is followed by n octets of literal (sent
// only once the server asked for it, so the last may be missing).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::check_session(fz::Input(data, size), run, [](std::string_view out) { fz::imap_lines(out); });
  return 0;
}

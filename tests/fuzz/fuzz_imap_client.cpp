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
  fz::Run r;
  r.output = session.take_output();
  fz::for_each_chunk(in.transcript, chunk, [&](std::string_view piece) {
    bool was_closed = session.closed();
    session.receive(piece);
    std::string out = session.take_output();
    FUZZ_CHECK(!was_closed || out.empty(), "output after the session closed");
    r.output += out;
    for (const imap::ClientEvent& e : session.take_events()) {
      r.events += std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " [" +
                  std::to_string(e.message.uid) + " " + e.message.text + "] " +
                  std::to_string(e.item.uid) + " " + e.item.subject + "\n";
    }
  });
  r.events += session.succeeded() ? "ok\n" : "not ok\n";
  return r;
}

// Commands are CRLF lines; a line ending in "{n}" is followed by n octets of literal.
void check_commands(std::string_view out) {
  std::size_t at = 0;
  while (at < out.size()) {
    std::size_t end = out.find("\r\n", at);
    FUZZ_CHECK(end != std::string_view::npos, "output ends inside a command: \"%s\"",
               fz::escaped(out.substr(at)).c_str());
    std::string_view line = out.substr(at, end - at);
    FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos,
               "bare CR or LF in command \"%s\"", fz::escaped(line).c_str());
    at = end + 2;
    // A literal ends its line with "{digits}"; a folder name the server listed may end in a
    // bare "}" (an ATOM-CHAR, rfc3501.txt 9), which is no literal.
    std::size_t open = line.rfind('{');
    bool literal = !line.empty() && line.back() == '}' && open != std::string_view::npos &&
                   open + 2 < line.size() &&
                   line.substr(open + 1, line.size() - open - 2).find_first_not_of("0123456789") ==
                       std::string_view::npos;
    if (literal) at += std::stoul(std::string(line.substr(open + 1, line.size() - open - 2)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fz::Input in(data, size);
  const fz::Run whole = run(in, 0);
  fz::check_bounded(whole, in.transcript.size());
  check_commands(whole.output);
  fz::check_same(whole, run(in, in.chunk), in.chunk);
  return 0;
}

// Fuzz target: the scripted webmail browser (models/webmail) fed whatever a server might
// answer. Its script sends a message, lists the inbox and reads the unseen messages. Option
// bit 0: request bodies chunked in 16-octet pieces (rfc9112.txt 7.1).
// Invariants: chunking independence; bounded output; the output is a sequence of complete
// HTTP/1.1 requests that our own request parser reads without error; nothing is written once
// the session is closed.
#include "models/webmail.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

webmail::ClientConfig config(const fz::Input& in) {
  webmail::ClientConfig c;
  c.host = "mail.ums.com";
  c.user = "uday@ums.com";
  c.password = "secret";
  c.operations = {{webmail::Operation::Kind::send, {"rav@cms.com"}, "hi", "hello\nthere"},
                  {webmail::Operation::Kind::list_inbox},
                  {webmail::Operation::Kind::read_unseen}};
  if (in.option(0)) c.chunk_size = 16;
  return c;
}

fz::Run run(const fz::Input& in, std::size_t chunk) {
  webmail::ClientSession session(config(in));
  fz::Run r = fz::feed_session(session, in.transcript, chunk, [](const webmail::ClientEvent& e) {
    return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " " + std::to_string(e.id) +
           "\n";
  });
  r.events += session.succeeded() ? "ok\n" : "not ok\n";
  return r;
}

// The output is complete HTTP/1.1 requests that our own request parser reads without error.
void check_requests(std::string_view out) {
  http::RequestParser parser(http::ParserLimits{1 << 20, 1 << 20, 1 << 20, 1 << 20});
  parser.feed(out);
  while (parser.next()) {
  }
  FUZZ_CHECK(!parser.failed() && parser.idle(), "our own requests do not parse: %s \"%s\"",
             parser.error().c_str(), fz::escaped(out).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::check_session(fz::Input(data, size), run, check_requests);
  return 0;
}

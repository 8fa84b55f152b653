// Fuzz target: the HTTP/1.1 request parser (models/http) fed whatever a client might send.
// Option bit 0: small limits (64-octet start line, 256-octet header section, 512-octet body,
// 16-octet chunk lines).
// Invariants: chunking independence (the same requests, the same error); every request it
// accepts is one it could have received: written out again with to_bytes() and parsed anew,
// it is the same request; a failure carries a 4xx or 5xx status.
#include "models/http.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

http::ParserLimits limits(const fz::Input& in) {
  http::ParserLimits l;
  if (in.option(0)) l = {64, 256, 512, 16};
  return l;
}

std::string describe(const http::Request& r) {
  std::string out = r.method + " " + r.target + " " + r.version + "\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\n";
  return out + "body " + std::to_string(r.body.size()) + " " + r.body + "\n";
}

fz::Run run(const fz::Input& in, std::size_t chunk, std::vector<http::Request>* requests) {
  http::RequestParser parser(limits(in));
  fz::Run r;
  fz::for_each_chunk(in.transcript, chunk, [&](std::string_view piece) {
    parser.feed(piece);
    while (auto request = parser.next()) {
      r.events += describe(*request);
      if (requests) requests->push_back(std::move(*request));
    }
  });
  if (parser.failed()) {
    FUZZ_CHECK(parser.error_status() >= 400 && parser.error_status() < 600,
               "failure with status %d", parser.error_status());
    r.events += "failed " + std::to_string(parser.error_status()) + " " + parser.error() + "\n";
  }
  r.events += parser.idle() ? "idle\n" : "partial\n";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fz::Input in(data, size);
  std::vector<http::Request> requests;
  const fz::Run whole = run(in, 0, &requests);
  fz::check_same(whole, run(in, in.chunk, nullptr), in.chunk);
  for (const http::Request& request : requests) {
    http::RequestParser again(http::ParserLimits{1 << 20, 1 << 20, 1 << 20, 1 << 20});
    std::string bytes = request.to_bytes();
    again.feed(bytes);
    auto reparsed = again.next();
    FUZZ_CHECK(reparsed && !again.failed() && again.idle(),
               "a parsed request written out does not parse again: \"%s\" (%s)",
               fz::escaped(bytes).c_str(), again.error().c_str());
    FUZZ_CHECK(describe(*reparsed) == describe(request), "round trip changed \"%s\"",
               fz::escaped(describe(request)).c_str());
  }
  return 0;
}

// Fuzz target: the HTTP/1.1 response parser (models/http) fed whatever a server might send.
// Options: bit 0 the first request was HEAD (rfc9112.txt 6.3 rule 1), bit 1 the server closes
// the connection after the transcript (6.3 rule 8), bit 2 small limits.
// Invariants: chunking independence (the same responses, the same error); a status code of
// one of the five classes, 100 to 599 (rfc9112.txt 4).
#include "models/http.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

fz::Run run(const fz::Input& in, std::size_t chunk) {
  http::ParserLimits limits;
  if (in.option(2)) limits = {64, 256, 512, 16};
  http::ResponseParser parser(limits);
  if (in.option(0)) parser.expect("HEAD");
  parser.expect("GET");
  fz::Run r;
  auto drain = [&] {
    while (auto response = parser.next()) {
      FUZZ_CHECK(response->status >= 100 && response->status <= 599, "status %d", response->status);
      r.events += response->version + " " + std::to_string(response->status) + " " +
                  response->reason + "\n";
      for (const auto& [name, value] : response->headers) r.events += name + ": " + value + "\n";
      r.events += "body " + std::to_string(response->body.size()) + " " + response->body + "\n";
    }
  };
  fz::for_each_chunk(in.transcript, chunk, [&](std::string_view piece) {
    parser.feed(piece);
    drain();
  });
  if (in.option(1)) {
    parser.finish();
    drain();
  }
  if (parser.failed()) r.events += "failed " + parser.error() + "\n";
  r.events += parser.idle() ? "idle\n" : "partial\n";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fz::Input in(data, size);
  fz::check_same(run(in, 0), run(in, in.chunk), in.chunk);
  return 0;
}

// Fuzz target: DNS message decoding (models/dns) and the zone and cache that act on what
// arrives. The whole input is one UDP datagram (no chunking: DNS over UDP has none).
// Invariants: decode() answers nullopt or a message that encode() can write (every name in
// it valid, rfc1035.txt 2.3.4) and that decodes again to the same message; the zone answers
// a datagram with nothing or with a message of at most 512 octets (4.2.1) that decodes and
// carries the query's id; a cache fed the message answers with TTLs that only count down.
#include "models/dns.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

dns::Zone make_zone() {
  dns::Zone zone;
  zone.add_mx("ums.com", 10, "mail.ums.com", 3600);
  zone.add_mx("ums.com", 20, "backup.ums.com", 3600);
  zone.add_a("mail.ums.com", {192, 0, 2, 25}, 3600);
  zone.add_a("backup.ums.com", {192, 0, 2, 26}, 60);
  return zone;
}

// Every field the decoder fills, names included, in one string.
std::string dump(const dns::Message& m) {
  std::string out = dns::describe(m) + "|" + std::to_string(m.opcode) + " " +
                    std::to_string(m.authoritative) + std::to_string(m.recursion_desired) +
                    std::to_string(m.recursion_available) + "|";
  for (const auto& q : m.questions) out += q.name + " " + dns::type_name(q.type) + ";";
  for (const auto* section : {&m.answers, &m.authorities, &m.additionals}) {
    out += "|";
    for (const auto& r : *section)
      out += r.name + " " + dns::type_name(r.type) + " " + std::to_string(r.ttl) + " " +
             std::to_string(r.preference) + " " + r.exchange + " " + dns::format_ipv4(r.address) +
             ";";
  }
  return out;
}

bool names_valid(const dns::Message& m) {
  for (const auto& q : m.questions)
    if (!dns::valid_name(q.name)) return false;
  for (const auto* section : {&m.answers, &m.authorities, &m.additionals})
    for (const auto& r : *section)
      if (!dns::valid_name(r.name) || (r.type == dns::Type::MX && !dns::valid_name(r.exchange)))
        return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static const dns::Zone zone = make_zone();

  std::string answer = zone.answer_bytes(bytes);
  if (!answer.empty()) {
    FUZZ_CHECK(answer.size() <= dns::max_udp_message, "answer of %zu octets", answer.size());
    auto decoded = dns::decode(answer);
    FUZZ_CHECK(decoded.has_value(), "the zone's answer does not decode: \"%s\"",
               fz::escaped(answer).c_str());
    FUZZ_CHECK(decoded->response, "the zone's answer is not a response");
    if (size >= 2)
      FUZZ_CHECK(decoded->id == (data[0] << 8 | data[1]), "answer id %u for query id %u",
                 decoded->id, data[0] << 8 | data[1]);
  }

  auto message = dns::decode(bytes);
  if (!message) return 0;
  FUZZ_CHECK(names_valid(*message), "decoded a name encode() refuses: %s", dump(*message).c_str());
  std::string again = dns::encode(*message);
  auto reread = dns::decode(again);
  FUZZ_CHECK(reread && dump(*reread) == dump(*message), "round trip changed %s into %s",
             dump(*message).c_str(), reread ? dump(*reread).c_str() : "nothing");
  std::string udp = dns::encode_udp(*message);
  if (udp.size() > dns::max_udp_message) {
    auto cut = dns::decode(udp);
    FUZZ_CHECK(cut && cut->truncated && cut->answers.empty() && cut->additionals.empty(),
               "encode_udp gave %zu octets with records left in", udp.size());
  }

  dns::Cache cache;
  if (cache.put_response(*message, 1000) && !message->questions.empty()) {
    auto records = cache.get(message->questions[0], 1010);
    if (records)
      for (const auto& r : *records) FUZZ_CHECK(r.ttl > 0, "a record with no time left was served");
  }
  return 0;
}

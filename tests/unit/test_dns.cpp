// DNS messages, zone and cache (models/dns.hpp) against rfc1035.txt.
#include <catch2/catch.hpp>

#include <random>
#include <stdexcept>
#include <string>

#include "models/dns.hpp"

using namespace mailsim::dns;

namespace {

// "00 01 ab" -> bytes; spaces are ignored. Used at static initialisation, so no Catch macros.
std::string from_hex(std::string_view hex) {
  std::string out;
  int pending = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) throw std::invalid_argument("bad hex in a test");
    if (pending < 0) {
      pending = v;
    } else {
      out += static_cast<char>(pending * 16 + v);
      pending = -1;
    }
  }
  if (pending >= 0) throw std::invalid_argument("odd hex digit count in a test");
  return out;
}

Message mx_query(std::uint16_t id, std::string name) {
  Message q;
  q.id = id;
  q.questions.push_back({std::move(name), Type::MX});
  return q;
}

Zone ums_zone() {
  Zone zone;
  zone.add_mx("ums.com", 10, "mail.ums.com", 3600);
  zone.add_a("mail.ums.com", {192, 0, 2, 10}, 3600);
  return zone;
}

// The MX query for ums.com, id 1, RD set, worked out by hand from rfc1035.txt 4.1:
//   4.1.1 header   ID=0001, flags 0100 (QR=0 OPCODE=0 AA=0 TC=0 RD=1 RA=0 Z=0 RCODE=0),
//                  QDCOUNT=1, ANCOUNT=0, NSCOUNT=0, ARCOUNT=0
//   4.1.2 question QNAME 03 "ums" 03 "com" 00, QTYPE 000f (MX, 3.2.2), QCLASS 0001 (IN, 3.2.4)
const std::string ums_mx_query = from_hex(
    "0001 0100 0001 0000 0000 0000"
    "03 756d73 03 636f6d 00 000f 0001");

// The answer, with compression (4.1.4). Offsets: the question name starts at 12 (0x0c).
//   header   ID=0001, flags 8500 (QR=1 AA=1 RD=1), QD=1 AN=1 NS=0 AR=1
//   question as above (offsets 12..24)
//   answer   at 25: NAME c00c (pointer to 12), TYPE 000f, CLASS 0001, TTL 00000e10 (3600),
//            RDLENGTH 0009, PREFERENCE 000a, EXCHANGE 04 "mail" at 39 then c00c
//   addl.    at 46: NAME c027 (pointer to "mail" at 39), TYPE 0001, CLASS 0001, TTL 3600,
//            RDLENGTH 0004, ADDRESS c000020a (192.0.2.10)
const std::string ums_mx_response = from_hex(
    "0001 8500 0001 0001 0000 0001"
    "03 756d73 03 636f6d 00 000f 0001"
    "c00c 000f 0001 00000e10 0009 000a 04 6d61696c c00c"
    "c027 0001 0001 00000e10 0004 c000020a");

}  // namespace

TEST_CASE("rfc1035 4.1: exact bytes of an MX query for ums.com", "[dns]") {
  CHECK(ums_mx_query.size() == 25);
  CHECK(encode(mx_query(1, "ums.com")) == ums_mx_query);
  auto back = decode(ums_mx_query);
  REQUIRE(back);
  CHECK(back->id == 1);
  CHECK_FALSE(back->response);
  CHECK(back->recursion_desired);
  REQUIRE(back->questions.size() == 1);
  CHECK(back->questions[0].name == "ums.com");
  CHECK(back->questions[0].type == Type::MX);
  CHECK(describe(*back) == "query id=1 ums.com IN MX");
}

TEST_CASE("rfc1035 4.1.4: a zone's MX answer is compressed to the exact bytes", "[dns]") {
  Message reply = ums_zone().answer(mx_query(1, "ums.com"));
  CHECK(encode(reply) == ums_mx_response);
  CHECK(ums_zone().answer_bytes(ums_mx_query) == ums_mx_response);
  CHECK(describe(reply) == "response id=1 ums.com IN MX 10 mail.ums.com ttl=3600");
}

TEST_CASE("rfc1035 4.1.4: a compressed response decodes back", "[dns]") {
  auto m = decode(ums_mx_response);
  REQUIRE(m);
  CHECK(m->response);
  CHECK(m->authoritative);
  CHECK(m->rcode == 0);
  REQUIRE(m->answers.size() == 1);
  CHECK(m->answers[0].name == "ums.com");
  CHECK(m->answers[0].type == Type::MX);
  CHECK(m->answers[0].ttl == 3600);
  CHECK(m->answers[0].preference == 10);
  CHECK(m->answers[0].exchange == "mail.ums.com");
  REQUIRE(m->additionals.size() == 1);
  CHECK(m->additionals[0].name == "mail.ums.com");
  CHECK(m->additionals[0].type == Type::A);
  CHECK(format_ipv4(m->additionals[0].address) == "192.0.2.10");
  CHECK(encode(*m) == ums_mx_response);  // and encodes to the same bytes again
}

TEST_CASE("rfc1035 4.1.4: the rfc's own example, F.ISI.ARPA and FOO.F.ISI.ARPA", "[dns]") {
  // Names after a question: a suffix match gives "3 FOO" and a pointer to F.ISI.ARPA, and
  // ARPA alone is just a pointer to the ARPA label.
  Message m;
  m.response = true;
  m.recursion_desired = false;
  m.questions.push_back({"F.ISI.ARPA", Type::A});
  Record foo{};
  foo.name = "FOO.F.ISI.ARPA";
  foo.type = Type::A;
  foo.ttl = 1;
  Record arpa = foo;
  arpa.name = "ARPA";
  m.answers = {foo, arpa};
  std::string bytes = encode(m);
  CHECK(bytes.substr(12, 12) == from_hex("01 46 03 495349 04 41525041 00"));  // at 12
  CHECK(bytes.substr(28, 6) == from_hex("03 464f4f c00c"));                   // FOO -> 12
  CHECK(bytes.substr(28 + 6 + 14, 2) == from_hex("c012"));                    // ARPA -> 18
  auto back = decode(bytes);
  REQUIRE(back);
  CHECK(back->answers[0].name == "FOO.F.ISI.ARPA");
  CHECK(back->answers[1].name == "ARPA");
}

TEST_CASE("rfc1035 4.1: decode rejects every truncation", "[dns]") {
  for (std::size_t n = 0; n < ums_mx_response.size(); ++n)
    CHECK_FALSE(decode(ums_mx_response.substr(0, n)));
  for (std::size_t n = 0; n < ums_mx_query.size(); ++n)
    CHECK_FALSE(decode(ums_mx_query.substr(0, n)));
}

TEST_CASE("rfc1035 4.1.4: decode rejects looping and forward pointers", "[dns]") {
  std::string header = from_hex("0001 0100 0001 0000 0000 0000");
  CHECK_FALSE(decode(header + from_hex("c00c 000f 0001")));  // points at itself
  // Two pointers pointing at each other: 12 -> 14 (forward) and 14 -> 12.
  CHECK_FALSE(decode(header + from_hex("c00e c00c 000f 0001")));
  // A label, then a pointer back to that same label: a loop through a label.
  CHECK_FALSE(decode(header + from_hex("01 61 c00c 000f 0001")));
  CHECK_FALSE(decode(header + from_hex("c0ff 000f 0001")));  // beyond the message
  CHECK_FALSE(decode(header + from_hex("80 000f 0001")));    // reserved label type 10
  CHECK_FALSE(decode(header + from_hex("40 000f 0001")));    // reserved label type 01
}

TEST_CASE("rfc1035 2.3.4: decode enforces the name and label limits", "[dns]") {
  std::string header = from_hex("0001 0100 0001 0000 0000 0000");
  std::string label63 = std::string(1, '\x3f') + std::string(63, 'a');
  // Four 63-octet labels: 4 * 64 + 1 = 257 octets, over 255.
  CHECK_FALSE(decode(header + label63 + label63 + label63 + label63 + from_hex("00 0001 0001")));
  // Three 63-octet labels and one of 61: 3 * 64 + 62 + 1 = 255, the largest legal name.
  std::string label61 = std::string(1, '\x3d') + std::string(61, 'a');
  auto ok = decode(header + label63 + label63 + label63 + label61 + from_hex("00 0001 0001"));
  REQUIRE(ok);
  CHECK(ok->questions[0].name.size() == 253);
  CHECK(valid_name(ok->questions[0].name));
  CHECK_FALSE(valid_name(std::string(64, 'a') + ".com"));
  CHECK_FALSE(valid_name("a..com"));
}

TEST_CASE("rfc1035 4.1.3: decode rejects bad RDATA and other classes", "[dns]") {
  std::string header = from_hex("0001 8400 0000 0001 0000 0000");
  // An A record with RDLENGTH 3.
  CHECK_FALSE(decode(header + from_hex("00 0001 0001 00000001 0003 010203")));
  // An MX record whose exchange runs past RDLENGTH.
  CHECK_FALSE(decode(header + from_hex("00 000f 0001 00000001 0003 000a 01 61 00")));
  // Class CH (3).
  CHECK_FALSE(decode(header + from_hex("00 0001 0003 00000001 0004 01020304")));
  // A record of a type this model does not interpret is skipped by its RDLENGTH.
  auto txt = decode(header + from_hex("00 0010 0001 00000001 0002 0161"));
  REQUIRE(txt);
  CHECK(type_name(txt->answers[0].type) == "TYPE16");
}

TEST_CASE("rfc1035 4.1: decode never crashes on mutated or random input", "[dns]") {
  std::mt19937 rng(1035);
  std::size_t decoded = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = ums_mx_response;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    if (auto m = decode(bytes)) {
      ++decoded;
      // Whatever decodes re-encodes into something that decodes the same way.
      bool encodable = true;
      for (const auto& q : m->questions) encodable = encodable && valid_name(q.name);
      for (const auto* s : {&m->answers, &m->authorities, &m->additionals})
        for (const auto& r : *s)
          encodable = encodable && valid_name(r.name) && valid_name(r.exchange);
      if (encodable) CHECK(decode(encode(*m)).has_value());
    }
    ums_zone().answer_bytes(bytes);  // the server side must not crash either
  }
  CHECK(decoded > 0);
}

TEST_CASE("rfc1035 4.1.1: the zone answers NXDOMAIN, NODATA, FORMERR, NOTIMP", "[dns]") {
  Zone zone = ums_zone();
  Message nx = zone.answer(mx_query(7, "cms.com"));
  CHECK(nx.rcode == rcode::name_error);
  CHECK(nx.authoritative);
  CHECK(nx.answers.empty());
  CHECK(describe(nx) == "response id=7 cms.com IN MX NXDOMAIN");
  CHECK(encode(nx) == from_hex("0007 8503 0001 0000 0000 0000 03 636d73 03 636f6d 00 000f 0001"));

  Message nodata = zone.answer(mx_query(8, "mail.ums.com"));  // the name has A, not MX
  CHECK(nodata.rcode == rcode::no_error);
  CHECK(nodata.answers.empty());

  Message a;
  a.id = 9;
  a.questions.push_back({"MAIL.UMS.COM.", Type::A});  // 2.3.3: case-insensitive
  Message reply = zone.answer(a);
  REQUIRE(reply.answers.size() == 1);
  CHECK(describe(reply) == "response id=9 MAIL.UMS.COM. IN A 192.0.2.10 ttl=3600");

  Message two = mx_query(10, "ums.com");
  two.questions.push_back({"cms.com", Type::MX});
  CHECK(zone.answer(two).rcode == rcode::format_error);

  Message status = mx_query(11, "ums.com");
  status.opcode = 2;
  CHECK(zone.answer(status).rcode == rcode::not_implemented);
}

TEST_CASE("rfc1035 4.1.1: junk in, FORMERR out; responses are not answered", "[dns]") {
  Zone zone = ums_zone();
  // id 0x1234 echoed, QR=1, RD copied from the junk's flags octet, RCODE=1, no sections.
  CHECK(zone.answer_bytes(from_hex("1234 01 ff ff")) == from_hex("1234 8101 0000 0000 0000 0000"));
  CHECK(zone.answer_bytes("") == from_hex("0000 8001 0000 0000 0000 0000"));
  CHECK(zone.answer_bytes(ums_mx_response).empty());
}

TEST_CASE("rfc1035 3.3.9: every MX exchange gets its A records in additionals", "[dns]") {
  Zone zone;
  zone.add_mx("cms.com", 20, "mx2.cms.com", 600);
  zone.add_mx("cms.com", 10, "mx1.cms.com", 600);
  zone.add_a("mx1.cms.com", {198, 51, 100, 1}, 600);
  zone.add_a("mx2.cms.com", {198, 51, 100, 2}, 600);
  zone.add_a("mx2.cms.com", {198, 51, 100, 3}, 600);
  Message reply = zone.answer(mx_query(3, "cms.com"));
  CHECK(describe(reply) ==
        "response id=3 cms.com IN MX 20 mx2.cms.com ttl=600, 10 mx1.cms.com ttl=600");
  REQUIRE(reply.additionals.size() == 3);
  CHECK(format_ipv4(reply.additionals[0].address) == "198.51.100.2");
  CHECK(format_ipv4(reply.additionals[2].address) == "198.51.100.1");
  auto back = decode(encode(reply));
  REQUIRE(back);
  CHECK(describe(*back) == describe(reply));
}

TEST_CASE("rfc1035 4.2.1: UDP replies over 512 octets are truncated with TC", "[dns]") {
  Zone zone;
  for (int i = 0; i < 40; ++i)
    zone.add_mx("big.com", static_cast<std::uint16_t>(i), "mx" + std::to_string(i) + ".big.com",
                60);
  Message full = zone.answer(mx_query(5, "big.com"));
  REQUIRE(full.answers.size() == 40);
  REQUIRE(encode(full).size() > max_udp_message);

  std::string bytes = zone.answer_bytes(encode(mx_query(5, "big.com")));
  CHECK(bytes.size() <= max_udp_message);
  auto cut = decode(bytes);
  REQUIRE(cut);
  CHECK(cut->truncated);
  CHECK(cut->answers.size() < 40);
  CHECK(cut->answers.size() > 20);
  CHECK((static_cast<std::uint8_t>(bytes[2]) & 0x02) == 0x02);  // the TC bit of 4.1.1
  // One more record would not have fitted.
  Message more = *cut;
  more.answers.push_back(full.answers[cut->answers.size()]);
  CHECK(encode(more).size() > max_udp_message);
  CHECK(describe(*cut).find(" TC ") != std::string::npos);

  // A reply that fits is left alone.
  CHECK(encode_udp(full, 100000) == encode(full));
  CHECK_FALSE(decode(encode_udp(full, 100000))->truncated);
}

TEST_CASE("rfc1035 7.4 and 6.1.3: the cache honours each TTL", "[dns]") {
  Cache cache;
  Question q{"ums.com", Type::MX};
  Record mx{};
  mx.name = "ums.com";
  mx.type = Type::MX;
  mx.ttl = 3600;
  mx.preference = 10;
  mx.exchange = "mail.ums.com";
  Record backup = mx;
  backup.ttl = 60;
  backup.preference = 20;
  backup.exchange = "backup.ums.com";
  cache.put(q, {mx, backup}, 100.0);

  auto fresh = cache.get(q, 100.0);
  REQUIRE(fresh);
  REQUIRE(fresh->size() == 2);
  CHECK((*fresh)[0].ttl == 3600);
  CHECK((*fresh)[1].ttl == 60);

  auto later = cache.get({"UMS.com", Type::MX}, 130.5);  // case-insensitive key
  REQUIRE(later);
  CHECK((*later)[0].ttl == 3569);  // counted down
  CHECK((*later)[1].ttl == 29);

  auto after_backup = cache.get(q, 160.0);  // the 60 s record expires at 100 + 60
  REQUIRE(after_backup);
  REQUIRE(after_backup->size() == 1);
  CHECK((*after_backup)[0].exchange == "mail.ums.com");
  CHECK(cache.get(q, 3699.0));
  CHECK_FALSE(cache.get(q, 3700.0));  // expires exactly at TTL
  CHECK_FALSE(cache.get({"ums.com", Type::A}, 100.0));

  // 3.2.1: TTL 0 is for this transaction only and is not cached; a new set replaces the old.
  Record zero = mx;
  zero.ttl = 0;
  cache.put(q, {zero}, 200.0);
  CHECK_FALSE(cache.get(q, 200.0));
  cache.put(q, {backup}, 200.0);
  cache.put(q, {mx}, 200.0);
  REQUIRE(cache.get(q, 201.0)->size() == 1);
}

TEST_CASE("rfc1035 7.4: a resolver caches whole responses, never truncated ones", "[dns]") {
  Zone zone = ums_zone();
  Message query = make_query(1, "ums.com", Type::MX);
  CHECK(encode(query) == ums_mx_query);

  Cache cache;
  CHECK(cache.put_response(zone.answer(query), 0.0));
  auto mx = cache.get({"ums.com", Type::MX}, 10.0);
  REQUIRE(mx);
  CHECK((*mx)[0].exchange == "mail.ums.com");
  auto a = cache.get({"mail.ums.com", Type::A}, 10.0);  // from the additional section
  REQUIRE(a);
  CHECK(format_ipv4((*a)[0].address) == "192.0.2.10");
  CHECK((*a)[0].ttl == 3590);

  Cache other;
  Message cut = zone.answer(query);
  cut.truncated = true;
  CHECK_FALSE(other.put_response(cut, 0.0));
  CHECK_FALSE(other.put_response(zone.answer(make_query(2, "cms.com", Type::MX)), 0.0));
  CHECK_FALSE(other.put_response(query, 0.0));  // a query is not a response
  CHECK(other.size() == 0);
}

TEST_CASE("rfc1035 3.4.1: dotted IPv4 addresses", "[dns]") {
  CHECK(parse_ipv4("192.0.2.10") == std::array<std::uint8_t, 4>{192, 0, 2, 10});
  CHECK(parse_ipv4("0.0.0.0") == std::array<std::uint8_t, 4>{0, 0, 0, 0});
  CHECK(parse_ipv4("255.255.255.255") == std::array<std::uint8_t, 4>{255, 255, 255, 255});
  for (auto bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.04", "1..3.4", "a.b.c.d",
                   "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "1.2.3.1000"})
    CHECK_FALSE(parse_ipv4(bad));
  CHECK(format_ipv4({10, 0, 0, 1}) == "10.0.0.1");
}

// DNS messages with their exact wire bytes (rfc1035.txt 4), an authoritative zone and a
// resolver cache: what the simulated MX lookup needs, and no more.
//
// Theory of operation.
//
// Messages are plain data. encode() writes the header, question, answer, authority and
// additional sections of rfc1035.txt 4.1, compressing every name it has already written, in
// full or as a suffix (4.1.4); decode() reads them back and answers nullopt, never a crash, for
// anything it cannot trust: truncation anywhere, a count that promises more than is there, a
// label over 63 octets or a name over 255 (2.3.4), a compression pointer that does not point
// strictly backwards (so no loop can form), reserved label types, a class other than IN.
// A Zone answers queries from its own records (6.2): MX and A, with the A records of MX
// exchanges in the additional section (3.3.9); NXDOMAIN for a name it holds nothing for. A
// Cache keeps answers for the TTL of each record, against a time passed in (7.4, 6.1.3).
//
// Left out: other record types (they decode with empty data and are never answered), zone
// delegation, NS and SOA, negative caching, EDNS, TCP framing, inverse queries.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailsim::dns {

enum class Type : std::uint16_t { A = 1, MX = 15 };

constexpr std::uint16_t class_in = 1;         // rfc1035.txt 3.2.4
constexpr std::size_t max_label = 63;         // rfc1035.txt 2.3.4
constexpr std::size_t max_name = 255;         // rfc1035.txt 2.3.4, in wire octets
constexpr std::size_t max_udp_message = 512;  // rfc1035.txt 2.3.4 and 4.2.1
constexpr std::size_t header_size = 12;       // rfc1035.txt 4.1.1

// RCODE values (rfc1035.txt 4.1.1).
namespace rcode {
constexpr std::uint8_t no_error = 0;
constexpr std::uint8_t format_error = 1;
constexpr std::uint8_t server_failure = 2;
constexpr std::uint8_t name_error = 3;  // NXDOMAIN
constexpr std::uint8_t not_implemented = 4;
constexpr std::uint8_t refused = 5;
}  // namespace rcode

struct Question {
  std::string name;  // without the trailing dot, e.g. "ums.com"; "" is the root
  Type type;
};

struct Record {
  std::string name;
  Type type;
  std::uint32_t ttl;
  std::uint16_t preference = 0;           // MX
  std::string exchange;                   // MX
  std::array<std::uint8_t, 4> address{};  // A
};

struct Message {
  std::uint16_t id = 0;
  bool response = false;
  bool authoritative = false;
  bool recursion_desired = true;
  std::uint8_t rcode = 0;
  std::vector<Question> questions{};
  std::vector<Record> answers{};
  std::vector<Record> additionals{};
  // Less common header bits and the authority section, after the fields above so that code
  // listing the fields in order keeps compiling.
  bool truncated = false;            // TC
  bool recursion_available = false;  // RA
  std::uint8_t opcode = 0;           // 0 QUERY
  std::vector<Record> authorities{};
};

// rfc1035.txt 4.1, names compressed (4.1.4). Names must be valid (labels of 1..63 octets, at
// most 255 in all): an invalid name is our own misuse and asserts.
std::string encode(const Message& m);
// Never crashes on bad input; nullopt for anything malformed (see the theory above).
std::optional<Message> decode(std::string_view bytes);
// One line for a trace: "query id=1 ums.com IN MX",
// "response id=1 ums.com IN MX 10 mail.ums.com ttl=3600", "response id=2 x.com IN A NXDOMAIN".
std::string describe(const Message& m);
// "MX", "A", or "TYPE28" for types this model does not know (the rfc3597 spelling).
std::string type_name(Type type);
// Whether a name is one encode() accepts.
bool valid_name(std::string_view name);

// The authoritative data a DNS server holds.
class Zone {
 public:
  void add_mx(std::string domain, std::uint16_t preference, std::string exchange,
              std::uint32_t ttl);
  void add_a(std::string host, std::array<std::uint8_t, 4> address, std::uint32_t ttl);
  // NXDOMAIN (rcode 3) for unknown names; A records of MX exchanges in additionals; FORMERR
  // for a query without exactly one question, NOTIMP for an opcode other than QUERY.
  Message answer(const Message& query) const;
  // Bytes in, bytes out, over UDP: FORMERR for junk, nothing (empty) for a response, which a
  // server never answers; answers longer than 512 octets are truncated with TC set (4.2.1).
  std::string answer_bytes(std::string_view query_bytes) const;

 private:
  std::map<std::string, std::vector<Record>> records_;  // by lower-case owner name
};

// A resolver's cache; time passed in (simulated seconds).
class Cache {
 public:
  // Keeps the records for their TTLs; a record with TTL 0 is not kept (rfc1035.txt 3.2.1).
  // A new set replaces the old one whole, never merged with it (7.4).
  void put(const Question& q, std::vector<Record> answers, double now);
  // The records still alive, each with its TTL counted down to what remains; nullopt when
  // none is (a record put at t with TTL n is gone at t + n).
  std::optional<std::vector<Record>> get(const Question& q, double now) const;
  // Caches the answers of a response to its one question, unless it was truncated (the set
  // may be partial, rfc1035.txt 7.4) or carries an error; the A records in its additional
  // section are cached under their own names. True when the answers were cached.
  bool put_response(const Message& response, double now);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Record record;
    double expires;
  };
  std::map<std::pair<std::string, std::uint16_t>, std::vector<Entry>> entries_;
};

// Wire size limit for a UDP reply: records are dropped from the end (additionals, then
// answers) until the message fits, and TC is set if any was dropped (rfc1035.txt 4.2.1).
std::string encode_udp(const Message& m, std::size_t limit = max_udp_message);

// A standard query (rfc1035.txt 4.1.1: QR=0, OPCODE=0, RD=1) for one question.
Message make_query(std::uint16_t id, std::string name, Type type);

std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view dotted);
std::string format_ipv4(const std::array<std::uint8_t, 4>& a);

}  // namespace mailsim::dns

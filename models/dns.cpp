#include "models/dns.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include <fmt/format.h>

namespace mailsim::dns {

namespace {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Lower case and without a trailing dot: the form a Zone and a Cache key names by.
std::string normalize(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return to_lower(name);
}

std::vector<std::string_view> labels_of(std::string_view name) {
  std::vector<std::string_view> out;
  while (!name.empty()) {
    auto dot = name.find('.');
    out.push_back(name.substr(0, dot));
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return out;
}

std::string_view rcode_name(std::uint8_t rc) {
  switch (rc) {
    case rcode::no_error:
      return "NOERROR";
    case rcode::format_error:
      return "FORMERR";
    case rcode::server_failure:
      return "SERVFAIL";
    case rcode::name_error:
      return "NXDOMAIN";
    case rcode::not_implemented:
      return "NOTIMP";
    case rcode::refused:
      return "REFUSED";
    default:
      return "";
  }
}

// ---------------------------------------------------------------------------------------------
// Writing (rfc1035.txt 4.1; integers in network order, 2.3.2).

class Writer {
 public:
  void u8(std::uint8_t v) { out_ += static_cast<char>(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v & 0xff));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v & 0xffff));
  }

  // A name as labels, ending in a pointer to the longest suffix already written, if any
  // (4.1.4). Suffixes match only with the same case: a pointer to "com" for "Com" would change
  // the name a reader gets back, and servers preserve case where they can (RFC 4343 4.1).
  // Only offsets a 14-bit pointer can reach are remembered.
  void name(std::string_view name) {
    assert(valid_name(name));
    auto labels = labels_of(name);
    for (std::size_t i = 0; i < labels.size(); ++i) {
      std::string suffix(name.substr(labels[i].data() - name.data()));
      if (auto it = suffixes_.find(suffix); it != suffixes_.end()) {
        u16(static_cast<std::uint16_t>(0xc000 | it->second));
        return;
      }
      if (out_.size() < 0x4000) suffixes_.emplace(suffix, static_cast<std::uint16_t>(out_.size()));
      u8(static_cast<std::uint8_t>(labels[i].size()));
      out_ += labels[i];
    }
    u8(0);
  }

  std::size_t size() const { return out_.size(); }
  void patch_u16(std::size_t at, std::uint16_t v) {
    out_[at] = static_cast<char>(v >> 8);
    out_[at + 1] = static_cast<char>(v & 0xff);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::map<std::string, std::uint16_t> suffixes_;
};

// rfc1035.txt 4.1.3: NAME TYPE CLASS TTL RDLENGTH RDATA.
void write_record(Writer& w, const Record& r) {
  w.name(r.name);
  w.u16(static_cast<std::uint16_t>(r.type));
  w.u16(class_in);
  w.u32(r.ttl);
  std::size_t length_at = w.size();
  w.u16(0);
  std::size_t start = w.size();
  if (r.type == Type::MX) {  // 3.3.9
    w.u16(r.preference);
    w.name(r.exchange);
  } else if (r.type == Type::A) {  // 3.4.1
    for (auto octet : r.address) w.u8(octet);
  }
  // The compressed length is what RDLENGTH counts (4.1.4).
  w.patch_u16(length_at, static_cast<std::uint16_t>(w.size() - start));
}

// ---------------------------------------------------------------------------------------------
// Reading. Every read checks the bounds; any failure makes the whole message invalid.

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool u8(std::uint8_t& v) {
    if (pos_ + 1 > bytes_.size()) return false;
    v = static_cast<std::uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool u16(std::uint16_t& v) {
    std::uint8_t hi, lo;
    if (!u8(hi) || !u8(lo)) return false;
    v = static_cast<std::uint16_t>(hi << 8 | lo);
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint16_t hi, lo;
    if (!u16(hi) || !u16(lo)) return false;
    v = static_cast<std::uint32_t>(hi) << 16 | lo;
    return true;
  }

  // A possibly compressed name (4.1.4). A pointer must point strictly before the label it
  // replaces, so each jump goes backwards and a loop cannot form; 2.3.4 bounds the result.
  bool name(std::string& out) {
    out.clear();
    std::size_t at = pos_;
    std::size_t wire_length = 0;
    bool jumped = false;
    while (true) {
      if (at >= bytes_.size()) return false;
      auto len = static_cast<std::uint8_t>(bytes_[at]);
      if ((len & 0xc0) == 0xc0) {
        if (at + 2 > bytes_.size()) return false;
        std::size_t target = (len & 0x3f) << 8 | static_cast<std::uint8_t>(bytes_[at + 1]);
        if (target >= at) return false;
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if ((len & 0xc0) != 0) return false;  // 01 and 10 are reserved
      wire_length += 1 + len;
      if (wire_length > max_name) return false;
      if (len == 0) break;
      if (at + 1 + len > bytes_.size()) return false;
      auto label = bytes_.substr(at + 1, len);
      if (label.find('.') != std::string_view::npos) return false;  // not representable
      if (!out.empty()) out += '.';
      out += label;
      at += 1 + len;
    }
    if (!jumped) pos_ = at + 1;
    return true;
  }

  bool skip(std::size_t n) {
    if (pos_ + n > bytes_.size()) return false;
    pos_ += n;
    return true;
  }
  std::size_t pos() const { return pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

bool read_record(Reader& r, Record& out) {
  std::uint16_t type, klass, rdlength;
  if (!r.name(out.name) || !r.u16(type) || !r.u16(klass) || !r.u32(out.ttl) || !r.u16(rdlength))
    return false;
  if (klass != class_in) return false;
  out.type = static_cast<Type>(type);
  std::size_t end = r.pos() + rdlength;

  if (out.type == Type::A) {
    if (rdlength != 4) return false;
    for (auto& octet : out.address)
      if (!r.u8(octet)) return false;
    return true;
  }
  if (out.type == Type::MX) {
    if (rdlength < 3) return false;
    if (!r.u16(out.preference) || !r.name(out.exchange)) return false;
    return r.pos() == end;
  }
  return r.skip(rdlength);  // a type this model does not interpret
}

}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty()) return true;  // the root
  std::size_t wire_length = 1;
  for (auto label : labels_of(name)) {
    if (label.empty() || label.size() > max_label) return false;
    wire_length += 1 + label.size();
  }
  return wire_length <= max_name;
}

std::string type_name(Type type) {
  switch (type) {
    case Type::A:
      return "A";
    case Type::MX:
      return "MX";
  }
  return fmt::format("TYPE{}", static_cast<std::uint16_t>(type));
}

std::string encode(const Message& m) {
  Writer w;
  // rfc1035.txt 4.1.1: |QR| Opcode |AA|TC|RD|RA| Z |RCODE|
  std::uint16_t flags = static_cast<std::uint16_t>(
      (m.response ? 0x8000 : 0) | (m.opcode & 0x0f) << 11 | (m.authoritative ? 0x0400 : 0) |
      (m.truncated ? 0x0200 : 0) | (m.recursion_desired ? 0x0100 : 0) |
      (m.recursion_available ? 0x0080 : 0) | (m.rcode & 0x0f));
  w.u16(m.id);
  w.u16(flags);
  w.u16(static_cast<std::uint16_t>(m.questions.size()));
  w.u16(static_cast<std::uint16_t>(m.answers.size()));
  w.u16(static_cast<std::uint16_t>(m.authorities.size()));
  w.u16(static_cast<std::uint16_t>(m.additionals.size()));

  for (const auto& q : m.questions) {  // 4.1.2
    w.name(q.name);
    w.u16(static_cast<std::uint16_t>(q.type));
    w.u16(class_in);
  }
  for (const auto& r : m.answers) write_record(w, r);
  for (const auto& r : m.authorities) write_record(w, r);
  for (const auto& r : m.additionals) write_record(w, r);
  return w.take();
}

std::optional<Message> decode(std::string_view bytes) {
  Reader r(bytes);
  Message m;
  std::uint16_t flags, qdcount, ancount, nscount, arcount;
  if (!r.u16(m.id) || !r.u16(flags) || !r.u16(qdcount) || !r.u16(ancount) || !r.u16(nscount) ||
      !r.u16(arcount))
    return std::nullopt;
  m.response = flags & 0x8000;
  m.opcode = static_cast<std::uint8_t>(flags >> 11 & 0x0f);
  m.authoritative = flags & 0x0400;
  m.truncated = flags & 0x0200;
  m.recursion_desired = flags & 0x0100;
  m.recursion_available = flags & 0x0080;
  m.rcode = static_cast<std::uint8_t>(flags & 0x0f);

  // Each question takes at least 5 octets and each record 11, so a count beyond what the
  // bytes can hold fails in the loops below before much is allocated.
  for (std::uint16_t i = 0; i < qdcount; ++i) {
    Question q;
    std::uint16_t type, klass;
    if (!r.name(q.name) || !r.u16(type) || !r.u16(klass) || klass != class_in) return std::nullopt;
    q.type = static_cast<Type>(type);
    m.questions.push_back(std::move(q));
  }
  for (auto [count, section] : {std::pair{ancount, &m.answers}, std::pair{nscount, &m.authorities},
                                std::pair{arcount, &m.additionals}}) {
    for (std::uint16_t i = 0; i < count; ++i) {
      Record rec{};
      if (!read_record(r, rec)) return std::nullopt;
      section->push_back(std::move(rec));
    }
  }
  return m;
}

std::string describe(const Message& m) {
  std::string out = fmt::format("{} id={}", m.response ? "response" : "query", m.id);
  for (const auto& q : m.questions)
    out += fmt::format(" {} IN {}", q.name.empty() ? "." : q.name, type_name(q.type));
  if (m.response && m.rcode != rcode::no_error) {
    auto name = rcode_name(m.rcode);
    out += name.empty() ? fmt::format(" RCODE{}", m.rcode) : fmt::format(" {}", name);
  }
  if (m.truncated) out += " TC";
  const char* separator = " ";
  for (const auto& r : m.answers) {
    out += separator;
    separator = ", ";
    if (r.type == Type::MX)
      out += fmt::format("{} {}", r.preference, r.exchange);
    else if (r.type == Type::A)
      out += format_ipv4(r.address);
    else
      out += type_name(r.type);
    out += fmt::format(" ttl={}", r.ttl);
  }
  return out;
}

std::string encode_udp(const Message& m, std::size_t limit) {
  std::string bytes = encode(m);
  if (bytes.size() <= limit) return bytes;

  // rfc1035.txt 4.2.1: "Longer messages are truncated and the TC bit is set in the header."
  // Whole records go, from the end, so what is left is still a well-formed message.
  Message cut = m;
  cut.truncated = true;
  for (auto* section : {&cut.additionals, &cut.authorities, &cut.answers}) {
    while (!section->empty()) {
      section->pop_back();
      bytes = encode(cut);
      if (bytes.size() <= limit) return bytes;
    }
  }
  return encode(cut);
}

Message make_query(std::uint16_t id, std::string name, Type type) {
  Message q;
  q.id = id;
  q.recursion_desired = true;
  q.questions.push_back(Question{std::move(name), type});
  return q;
}

// ---------------------------------------------------------------------------------------------
// Zone.

void Zone::add_mx(std::string domain, std::uint16_t preference, std::string exchange,
                  std::uint32_t ttl) {
  Record r{};
  r.name = normalize(domain);
  r.type = Type::MX;
  r.ttl = ttl;
  r.preference = preference;
  r.exchange = normalize(exchange);
  assert(valid_name(r.name) && valid_name(r.exchange));
  records_[r.name].push_back(std::move(r));
}

void Zone::add_a(std::string host, std::array<std::uint8_t, 4> address, std::uint32_t ttl) {
  Record r{};
  r.name = normalize(host);
  r.type = Type::A;
  r.ttl = ttl;
  r.address = address;
  assert(valid_name(r.name));
  records_[r.name].push_back(std::move(r));
}

// Standard query processing (rfc1035.txt 6.2), for a server authoritative for all it holds.
Message Zone::answer(const Message& query) const {
  Message reply;
  reply.id = query.id;
  reply.response = true;
  reply.opcode = query.opcode;
  reply.recursion_desired = query.recursion_desired;
  reply.questions = query.questions;

  if (query.opcode != 0) {
    reply.rcode = rcode::not_implemented;
    return reply;
  }
  if (query.questions.size() != 1) {
    reply.rcode = rcode::format_error;
    return reply;
  }
  const Question& q = query.questions.front();
  auto it = records_.find(normalize(q.name));
  reply.authoritative = true;
  if (it == records_.end()) {
    reply.rcode = rcode::name_error;
    return reply;
  }
  for (const auto& r : it->second)
    if (r.type == q.type) reply.answers.push_back(r);

  // 3.3.9: MX records cause type A additional section processing for the exchange.
  std::vector<std::string> done;
  for (const auto& mx : reply.answers) {
    if (mx.type != Type::MX) continue;
    if (std::find(done.begin(), done.end(), mx.exchange) != done.end()) continue;
    done.push_back(mx.exchange);
    auto host = records_.find(mx.exchange);
    if (host == records_.end()) continue;
    for (const auto& r : host->second)
      if (r.type == Type::A) reply.additionals.push_back(r);
  }
  return reply;
}

std::string Zone::answer_bytes(std::string_view query_bytes) const {
  auto query = decode(query_bytes);
  bool is_response = query_bytes.size() > 2 && (static_cast<std::uint8_t>(query_bytes[2]) & 0x80);
  if (is_response) return "";  // answering a response could start an endless exchange

  if (!query) {
    // rfc1035.txt 4.1.1 RCODE 1: "unable to interpret the query". The id is echoed when there
    // is one, so that the asker can match the reply.
    Message formerr;
    formerr.response = true;
    formerr.rcode = rcode::format_error;
    formerr.recursion_desired = false;
    if (query_bytes.size() >= 2)
      formerr.id = static_cast<std::uint16_t>(static_cast<std::uint8_t>(query_bytes[0]) << 8 |
                                              static_cast<std::uint8_t>(query_bytes[1]));
    if (query_bytes.size() >= 3) formerr.recursion_desired = query_bytes[2] & 0x01;
    return encode(formerr);
  }
  return encode_udp(answer(*query));
}

// ---------------------------------------------------------------------------------------------
// Cache.

void Cache::put(const Question& q, std::vector<Record> answers, double now) {
  auto key = std::pair{normalize(q.name), static_cast<std::uint16_t>(q.type)};
  std::vector<Entry> entries;
  for (auto& r : answers) {
    double expires = now + r.ttl;
    if (r.ttl > 0) entries.push_back(Entry{std::move(r), expires});
  }
  if (entries.empty())
    entries_.erase(key);
  else
    entries_[key] = std::move(entries);
}

std::optional<std::vector<Record>> Cache::get(const Question& q, double now) const {
  auto it = entries_.find(std::pair{normalize(q.name), static_cast<std::uint16_t>(q.type)});
  if (it == entries_.end()) return std::nullopt;
  std::vector<Record> alive;
  for (const auto& e : it->second) {
    if (e.expires <= now) continue;
    Record r = e.record;
    r.ttl = static_cast<std::uint32_t>(std::floor(e.expires - now));  // counts down (6.1.3)
    alive.push_back(std::move(r));
  }
  if (alive.empty()) return std::nullopt;
  return alive;
}

bool Cache::put_response(const Message& response, double now) {
  if (!response.response || response.truncated || response.rcode != rcode::no_error ||
      response.questions.size() != 1 || response.answers.empty())
    return false;
  const Question& q = response.questions.front();
  // 7.4: data other than what was asked for is only kept when it is the additional A data of
  // the answer (the MX exchanges' addresses), never as a replacement for an answer.
  std::vector<Record> answers;
  for (const auto& r : response.answers)
    if (r.type == q.type && normalize(r.name) == normalize(q.name)) answers.push_back(r);
  if (answers.empty()) return false;
  put(q, std::move(answers), now);

  std::map<std::string, std::vector<Record>> hosts;
  for (const auto& r : response.additionals)
    if (r.type == Type::A) hosts[normalize(r.name)].push_back(r);
  for (auto& [name, records] : hosts) put(Question{name, Type::A}, std::move(records), now);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Addresses.

std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view dotted) {
  std::array<std::uint8_t, 4> out{};
  for (std::size_t i = 0; i < 4; ++i) {
    auto dot = dotted.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
    auto part = dotted.substr(0, dot);
    // One to three digits, no leading zero (which some parsers read as octal).
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part.front() == '0'))
      return std::nullopt;
    unsigned value = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 255) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(value);
    dotted.remove_prefix(i < 3 ? dot + 1 : dotted.size());
  }
  return out;
}

std::string format_ipv4(const std::array<std::uint8_t, 4>& a) {
  return fmt::format("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
}

}  // namespace mailsim::dns

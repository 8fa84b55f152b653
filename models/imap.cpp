#include "models/imap.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <utility>

#include <fmt/format.h>

namespace mailsim::imap {

namespace {

// A tagged BAD reply: the client's command does not follow the grammar (RFC 3501 7.1.3).
struct Bad {
  std::string text;
};

char to_upper(char c) {
  return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
}
char to_lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_upper(c);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower(x) == to_lower(y);
         });
}

bool icontains(std::string_view haystack, std::string_view needle) {
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

// RFC 3501 section 9: ATOM-CHAR is any CHAR except atom-specials
// ("(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials).
bool is_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x1f && u < 0x7f && std::string_view("(){ %*\"\\]").find(c) == std::string_view::npos;
}
bool is_astring_char(char c) {
  return is_atom_char(c) || c == ']';
}
bool is_list_char(char c) {
  return is_astring_char(c) || c == '%' || c == '*';
}

const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a civil date, and back (proleptic Gregorian calendar).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Unix seconds of simulated time `when`.
std::int64_t unix_time(std::int64_t epoch_unix, double when) {
  return epoch_unix + static_cast<std::int64_t>(std::floor(when));
}

// RFC 3501 date-time, "dd-Mon-yyyy hh:mm:ss +0000", in UTC.
std::string date_time(std::int64_t unix_seconds) {
  std::int64_t days = floor_div(unix_seconds, 86400);
  std::int64_t secs = unix_seconds - days * 86400;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  return fmt::format("{:02}-{}-{:04} {:02}:{:02}:{:02} +0000", d, kMonths[m - 1], y, secs / 3600,
                     secs / 60 % 60, secs % 60);
}

std::optional<unsigned> month_number(std::string_view name) {
  for (unsigned i = 0; i < 12; ++i)
    if (iequals(name, kMonths[i])) return i + 1;
  return std::nullopt;
}

// ---- Message text ----

// The header section (with its empty line) and the body of a message or MIME entity.
std::pair<std::string_view, std::string_view> split_entity(std::string_view text) {
  if (text.substr(0, 2) == "\r\n") return {text.substr(0, 2), text.substr(2)};
  std::size_t blank = text.find("\r\n\r\n");
  if (blank == std::string_view::npos) return {text, {}};
  return {text.substr(0, blank + 4), text.substr(blank + 4)};
}

// One header field: its name and its full text, continuation lines and final CRLF included.
struct HeaderField {
  std::string_view name;
  std::string_view raw;
};

std::vector<HeaderField> header_fields(std::string_view header) {
  std::vector<HeaderField> fields;
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t eol = header.find("\r\n", pos);
    std::size_t next = eol == std::string_view::npos ? header.size() : eol + 2;
    std::string_view line = header.substr(pos, next - pos);
    if (line == "\r\n") break;
    if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().raw = header.substr(fields.back().raw.data() - header.data(),
                                        next - (fields.back().raw.data() - header.data()));
    } else {
      std::size_t colon = line.find(':');
      std::string_view name = line.substr(0, colon == std::string_view::npos ? 0 : colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      fields.push_back({name, line});
    }
    pos = next;
  }
  return fields;
}

// The unfolded value of a field (RFC 5322 2.2.3), trimmed.
std::string field_value(const HeaderField& f) {
  std::string_view raw = f.raw.substr(std::min(f.raw.size(), f.raw.find(':') + 1));
  std::string value;
  for (char c : raw)
    if (c != '\r' && c != '\n') value += c;
  std::size_t a = value.find_first_not_of(" \t");
  std::size_t b = value.find_last_not_of(" \t");
  return a == std::string::npos ? std::string() : value.substr(a, b - a + 1);
}

std::optional<std::string> find_field(std::string_view header, std::string_view name) {
  for (const HeaderField& f : header_fields(header))
    if (iequals(f.name, name)) return field_value(f);
  return std::nullopt;
}

// The day (days since 1970) of an RFC 5322 Date: value, ignoring time and zone as SENTON and
// friends do (RFC 3501 6.4.4).
std::optional<std::int64_t> sent_day(std::string_view date) {
  std::vector<std::string> tokens;
  std::string token;
  for (char c : date) {
    if (c == ' ' || c == ',' || c == '\t') {
      if (!token.empty()) tokens.push_back(std::exchange(token, {}));
    } else {
      token += c;
    }
  }
  if (!token.empty()) tokens.push_back(token);
  for (std::size_t i = 0; i + 2 < tokens.size(); ++i) {
    const std::string& d = tokens[i];
    std::optional<unsigned> m = month_number(tokens[i + 1]);
    const std::string& y = tokens[i + 2];
    if (!m || d.empty() || d.size() > 2 || y.size() != 4) continue;
    if (!std::all_of(d.begin(), d.end(), is_digit) || !std::all_of(y.begin(), y.end(), is_digit))
      continue;
    return days_from_civil(std::stoi(y), *m, static_cast<unsigned>(std::stoi(d)));
  }
  return std::nullopt;
}

// ---- Response formatting ----

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string literal(std::string_view s) {
  return fmt::format("{{{}}}\r\n{}", s.size(), s);
}

bool quotable(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u == 0 || u == '\r' || u == '\n' || u >= 0x80;
  });
}

// A string in a response: quoted when it can be, a literal otherwise.
std::string string_out(std::string_view s) {
  return quotable(s) ? quoted(s) : literal(s);
}

std::string nstring_out(const std::optional<std::string>& s) {
  return s ? string_out(*s) : std::string("NIL");
}

// An astring in a response (mailbox names, header field names): atom, quoted or literal.
std::string astring_out(std::string_view name) {
  if (std::optional<std::string> s = astring_or_quoted(name)) return *s;
  return literal(name);
}

// A UID set in RFC 4315 form, ranges collapsed: "1:3,7".
std::string uid_set(std::vector<std::uint32_t> uids) {
  std::sort(uids.begin(), uids.end());
  std::string out;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", uids[i]) : fmt::format("{}:{}", uids[i], uids[j]);
    i = j + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

// System flags are case-insensitive (RFC 3501 section 9 note 1): spell them one way.
std::string canonical_flag(std::string flag) {
  static const char* const system[] = {"\\Answered", "\\Flagged", "\\Deleted",
                                       "\\Seen",     "\\Draft",   "\\Recent"};
  for (const char* s : system)
    if (iequals(flag, s)) return s;
  return flag;
}

const char* const kCapabilities = "IMAP4rev1 IDLE MOVE UIDPLUS";
const char* const kSystemFlags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

}  // namespace

std::optional<std::string> astring_or_quoted(std::string_view s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), is_astring_char)) return std::string(s);
  if (!quotable(s)) return std::nullopt;
  return quoted(s);
}

namespace detail {

// A sequence set; 0 stands for "*" (no message number or UID is 0).
struct SequenceSet {
  struct Range {
    std::uint32_t lo = 0, hi = 0;
  };
  std::vector<Range> ranges;
};

// Reads RFC 3501 section 9 tokens from one command (literals inline); throws Bad on error.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool accept(char c) {
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const char* what) {
    if (!accept(c)) throw Bad{what};
  }
  void sp() { expect(' ', "expected a single space"); }
  void end() {
    if (!at_end()) throw Bad{"unexpected text at end of command"};
  }

  // A case-insensitive keyword if it comes next as a whole word.
  bool accept_word(std::string_view word) {
    std::string_view next = text_.substr(pos_, word.size());
    if (!iequals(next, word)) return false;
    std::size_t after = pos_ + word.size();
    if (after < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[after])) ||
                                 text_[after] == '.' || text_[after] == '-'))
      return false;
    pos_ = after;
    return true;
  }

  // Letters, digits and dots: a command or data item name, upper-cased.
  std::string word() {
    std::size_t start = pos_;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                         text_[pos_] == '.' || text_[pos_] == '-'))
      ++pos_;
    if (pos_ == start) throw Bad{"expected a keyword"};
    return upper(text_.substr(start, pos_ - start));
  }

  std::string atom() {
    std::size_t start = pos_;
    while (!at_end() && is_atom_char(text_[pos_])) ++pos_;
    if (pos_ == start) throw Bad{"expected an atom"};
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string astring() {
    if (peek() == '"' || peek() == '{') return string();
    std::size_t start = pos_;
    while (!at_end() && is_astring_char(text_[pos_])) ++pos_;
    if (pos_ == start) throw Bad{"expected a string"};
    return std::string(text_.substr(start, pos_ - start));
  }

  // mailbox = "INBOX" / astring, INBOX in any case meaning INBOX.
  std::string mailbox() {
    std::string name = astring();
    return store::Account::is_inbox(name) ? std::string("INBOX") : name;
  }

  std::string list_mailbox() {
    if (peek() == '"' || peek() == '{') return string();
    std::size_t start = pos_;
    while (!at_end() && is_list_char(text_[pos_])) ++pos_;
    if (pos_ == start) throw Bad{"expected a mailbox pattern"};
    return std::string(text_.substr(start, pos_ - start));
  }

  // string = quoted / literal (RFC 3501 section 4.3).
  std::string string() {
    if (accept('"')) {
      std::string out;
      for (;;) {
        if (at_end()) throw Bad{"unterminated quoted string"};
        char c = text_[pos_++];
        if (c == '"') return out;
        if (c == '\\') {
          char e = peek();
          if (e != '"' && e != '\\') throw Bad{"bad escape in quoted string"};
          ++pos_;
          out += e;
          continue;
        }
        if (c == '\r' || c == '\n' || c == '\0') throw Bad{"CR, LF or NUL in quoted string"};
        out += c;
      }
    }
    if (accept('{')) {
      std::uint32_t n = number();
      expect('}', "expected } after the literal size");
      if (text_.substr(pos_, 2) != "\r\n") throw Bad{"expected CRLF after a literal size"};
      pos_ += 2;
      if (text_.size() - pos_ < n) throw Bad{"literal shorter than announced"};
      std::string_view data = text_.substr(pos_, n);
      if (data.find('\0') != std::string_view::npos) throw Bad{"NUL in literal"};
      pos_ += n;
      return std::string(data);
    }
    throw Bad{"expected a string"};
  }

  std::uint32_t number() {
    std::size_t start = pos_;
    std::uint64_t n = 0;
    while (!at_end() && is_digit(text_[pos_])) {
      n = n * 10 + static_cast<std::uint64_t>(text_[pos_++] - '0');
      if (n > 0xffffffffu) throw Bad{"number too large"};
    }
    if (pos_ == start) throw Bad{"expected a number"};
    return static_cast<std::uint32_t>(n);
  }

  std::uint32_t nz_number() {
    std::uint32_t n = number();
    if (n == 0) throw Bad{"expected a non-zero number"};
    return n;
  }

  SequenceSet sequence_set() {
    SequenceSet set;
    auto one = [this]() -> std::uint32_t { return accept('*') ? 0 : nz_number(); };
    do {
      SequenceSet::Range r;
      r.lo = r.hi = one();
      if (accept(':')) r.hi = one();
      set.ranges.push_back(r);
    } while (accept(','));
    return set;
  }

  bool at_sequence_set() const { return is_digit(peek()) || peek() == '*'; }

  std::string flag() {
    if (accept('\\')) return canonical_flag("\\" + atom());
    return atom();
  }

  std::vector<std::string> flag_list() {
    expect('(', "expected a flag list");
    std::vector<std::string> flags;
    if (accept(')')) return flags;
    do flags.push_back(flag());
    while (accept(' '));
    expect(')', "expected ) after the flags");
    return flags;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// One FETCH data item (RFC 3501 section 6.4.5).
struct FetchItem {
  enum class Kind {
    flags,
    uid,
    internaldate,
    rfc822_size,
    envelope,
    body,
    bodystructure,
    rfc822,
    rfc822_header,
    rfc822_text,
    section
  };
  Kind kind = Kind::flags;
  bool peek = false;
  std::vector<std::uint32_t> part;  // section-part; empty for the whole message
  std::string text;                 // "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
  std::vector<std::string> fields;  // of HEADER.FIELDS
  bool partial = false;
  std::uint32_t offset = 0, length = 0;

  bool sets_seen() const {
    return (kind == Kind::section && !peek) || kind == Kind::rfc822 || kind == Kind::rfc822_text;
  }
  bool returns_text() const {
    return kind == Kind::section || kind == Kind::rfc822 || kind == Kind::rfc822_header ||
           kind == Kind::rfc822_text;
  }
};

// One search key (RFC 3501 section 6.4.4) with its argument.
struct SearchKey {
  std::string name;  // upper case; "AND" for a parenthesized list, "SET" for a sequence set
  std::string arg, arg2;
  std::uint32_t number = 0;
  std::int64_t day = 0;
  SequenceSet set;
  std::vector<SearchKey> children;
};

}  // namespace detail

using detail::FetchItem;
using detail::Parser;
using detail::SearchKey;
using detail::SequenceSet;

namespace {

// ---- MIME structure, for BODYSTRUCTURE and BODY[part] (RFC 3501 6.4.5, 7.4.2) ----

struct MimeEntity {
  std::string_view header;  // with its empty line
  std::string_view body;
  std::string type = "text", subtype = "plain";  // lower case
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<MimeEntity> parts;  // multipart children, or the one message of message/rfc822
  bool multipart() const { return type == "multipart"; }
  bool message() const { return type == "message" && subtype == "rfc822"; }
};

// Parses `type/subtype; name=value; ...` (RFC 2045 section 5.1), leniently.
void parse_content_type(std::string_view value, MimeEntity& e) {
  auto token = [&](std::string_view& s, std::string_view stops) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    std::size_t n = 0;
    while (n < s.size() && stops.find(s[n]) == std::string_view::npos && s[n] != ' ') ++n;
    std::string out(s.substr(0, n));
    s.remove_prefix(n);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return out;
  };
  std::string_view s = value;
  std::string type = lower(token(s, "/;"));
  if (s.empty() || s.front() != '/' || type.empty()) return;
  s.remove_prefix(1);
  std::string subtype = lower(token(s, ";"));
  if (subtype.empty()) return;
  e.type = type;
  e.subtype = subtype;
  while (!s.empty() && s.front() == ';') {
    s.remove_prefix(1);
    std::string name = lower(token(s, "=;"));
    if (s.empty() || s.front() != '=') continue;
    s.remove_prefix(1);
    std::string v;
    if (!s.empty() && s.front() == '"') {
      s.remove_prefix(1);
      while (!s.empty() && s.front() != '"') {
        if (s.front() == '\\' && s.size() > 1) s.remove_prefix(1);
        v += s.front();
        s.remove_prefix(1);
      }
      if (!s.empty()) s.remove_prefix(1);
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    } else {
      v = token(s, ";");
    }
    if (!name.empty()) e.params.emplace_back(name, v);
  }
}

std::string param(const MimeEntity& e, std::string_view name) {
  for (const auto& [n, v] : e.params)
    if (n == name) return v;
  return "";
}

constexpr int kMaxMimeDepth = 8;

MimeEntity parse_entity(std::string_view text, int depth, bool digest_child = false) {
  MimeEntity e;
  std::tie(e.header, e.body) = split_entity(text);
  if (digest_child) {
    e.type = "message";
    e.subtype = "rfc822";
  }
  if (std::optional<std::string> ct = find_field(e.header, "Content-Type"))
    parse_content_type(*ct, e);
  if (depth >= kMaxMimeDepth) return e;

  if (e.message()) {
    e.parts.push_back(parse_entity(e.body, depth + 1));
  } else if (e.multipart()) {
    // RFC 2046 section 5.1.1: parts sit between "--boundary" lines, "--boundary--" closes;
    // the CRLF before a delimiter line belongs to the delimiter.
    std::string boundary = param(e, "boundary");
    if (boundary.empty()) return e;
    std::string delimiter = "--" + boundary;
    std::string_view body = e.body;
    std::vector<std::pair<std::size_t, std::size_t>> marks;  // delimiter start, line end
    std::size_t search = 0;
    for (;;) {
      std::size_t start = 0, at = 0;
      if (search == 0 && body.substr(0, delimiter.size()) == delimiter) {
        start = at = 0;
      } else {
        start = body.find("\r\n" + delimiter, search);
        if (start == std::string_view::npos) break;
        at = start + 2;
      }
      std::size_t after = at + delimiter.size();
      std::string_view tail = body.substr(after, 2);
      bool close = tail == "--";
      if (!close && !tail.empty() && tail != "\r\n" && tail[0] != ' ' && tail[0] != '\t') {
        search = at;  // "--boundaryX" is not a delimiter
        if (search == 0) search = 1;
        continue;
      }
      std::size_t eol = body.find("\r\n", after);
      std::size_t line_end = eol == std::string_view::npos ? body.size() : eol + 2;
      marks.emplace_back(start, line_end);
      if (close || line_end >= body.size()) break;
      search = line_end;
    }
    bool digest = e.subtype == "digest";  // RFC 2046 5.1.5: parts default to message/rfc822
    for (std::size_t i = 0; i + 1 < marks.size(); ++i) {
      std::size_t from = marks[i].second, to = std::max(marks[i + 1].first, from);
      e.parts.push_back(parse_entity(body.substr(from, to - from), depth + 1, digest));
    }
  }
  return e;
}

// body-fld-lines: CRLF-ended lines, plus a last line without one.
std::size_t count_lines(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t pos = s.find("\r\n"); pos != std::string_view::npos;
       pos = s.find("\r\n", pos + 2))
    ++n;
  bool partial_last = !s.empty() && (s.size() < 2 || s.substr(s.size() - 2) != "\r\n");
  return n + (partial_last ? 1 : 0);
}

// ---- ENVELOPE (RFC 3501 section 7.4.2) ----

// "Name <local@domain>, other@host" -> the address list of an envelope.
std::string address_list(const std::optional<std::string>& value) {
  if (!value || value->empty()) return "NIL";
  std::vector<std::string> items;
  std::string current;
  int angle = 0;
  bool in_quotes = false;
  for (char c : *value + ",") {
    if (c == '"') in_quotes = !in_quotes;
    if (!in_quotes && c == '<') ++angle;
    if (!in_quotes && c == '>' && angle > 0) --angle;
    if (c == ',' && !in_quotes && angle == 0) {
      items.push_back(std::exchange(current, {}));
      continue;
    }
    current += c;
  }
  std::string out = "(";
  for (std::string item : items) {
    auto trim = [](std::string s) {
      std::size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    item = trim(item);
    if (item.empty()) continue;
    std::string name, addr = item;
    std::size_t lt = item.find('<'), gt = item.rfind('>');
    if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
      name = trim(item.substr(0, lt));
      addr = item.substr(lt + 1, gt - lt - 1);
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
        name = name.substr(1, name.size() - 2);
    }
    std::size_t at = addr.rfind('@');
    std::string local = at == std::string::npos ? addr : addr.substr(0, at);
    std::optional<std::string> host;
    if (at != std::string::npos) host = addr.substr(at + 1);
    out += "(" + (name.empty() ? std::string("NIL") : string_out(name)) + " NIL " +
           string_out(local) + " " + nstring_out(host) + ")";
  }
  return out == "(" ? "NIL" : out + ")";
}

std::string envelope(std::string_view header) {
  auto f = [&](std::string_view name) { return find_field(header, name); };
  std::optional<std::string> from = f("From");
  std::optional<std::string> sender = f("Sender");
  std::optional<std::string> reply_to = f("Reply-To");
  // Absent or empty Sender and Reply-To take the value of From.
  if (!sender || sender->empty()) sender = from;
  if (!reply_to || reply_to->empty()) reply_to = from;
  return "(" + nstring_out(f("Date")) + " " + nstring_out(f("Subject")) + " " + address_list(from) +
         " " + address_list(sender) + " " + address_list(reply_to) + " " + address_list(f("To")) +
         " " + address_list(f("Cc")) + " " + address_list(f("Bcc")) + " " +
         nstring_out(f("In-Reply-To")) + " " + nstring_out(f("Message-ID")) + ")";
}

std::string body_structure(const MimeEntity& e, bool extensible) {
  if (e.multipart()) {
    std::string out = "(";
    for (const MimeEntity& p : e.parts) out += body_structure(p, extensible);
    if (e.parts.empty()) out += "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)";
    out += " " + string_out(upper(e.subtype));
    if (extensible) {
      std::string params;
      for (const auto& [n, v] : e.params)
        params += (params.empty() ? "" : " ") + string_out(upper(n)) + " " + string_out(v);
      out += " " + (params.empty() ? std::string("NIL") : "(" + params + ")") + " NIL NIL NIL";
    }
    return out + ")";
  }

  std::string params;
  for (const auto& [n, v] : e.params)
    params += (params.empty() ? "" : " ") + string_out(upper(n)) + " " + string_out(v);
  if (params.empty() && e.type == "text") params = "\"CHARSET\" \"US-ASCII\"";
  std::optional<std::string> encoding = find_field(e.header, "Content-Transfer-Encoding");
  std::string out = "(" + string_out(upper(e.type)) + " " + string_out(upper(e.subtype)) + " " +
                    (params.empty() ? std::string("NIL") : "(" + params + ")") + " " +
                    nstring_out(find_field(e.header, "Content-ID")) + " " +
                    nstring_out(find_field(e.header, "Content-Description")) + " " +
                    string_out(encoding ? upper(*encoding) : std::string("7BIT")) + " " +
                    std::to_string(e.body.size());
  if (e.message() && !e.parts.empty()) {
    out += " " + envelope(e.parts[0].header) + " " + body_structure(e.parts[0], extensible) + " " +
           std::to_string(count_lines(e.body));
  } else if (e.type == "text") {
    out += " " + std::to_string(count_lines(e.body));
  }
  if (extensible) out += " NIL NIL NIL NIL";
  return out + ")";
}

// The entity a section-part names (RFC 3501 6.4.5: a non-multipart message has only part 1),
// or nullptr.
const MimeEntity* find_part(const MimeEntity& root, const std::vector<std::uint32_t>& part) {
  const MimeEntity* e = &root;
  for (std::uint32_t n : part) {
    if (e->message() && !e->parts.empty() && e != &root) e = &e->parts[0];
    if (e->multipart()) {
      if (n > e->parts.size()) return nullptr;
      e = &e->parts[n - 1];
    } else if (n != 1) {
      return nullptr;
    }
  }
  return e;
}

// Header fields whose names are (or, with `exclude`, are not) in `names`, then the empty line.
std::string select_fields(std::string_view header, const std::vector<std::string>& names,
                          bool exclude) {
  std::string out;
  for (const HeaderField& f : header_fields(header)) {
    bool listed = std::any_of(names.begin(), names.end(),
                              [&](const std::string& n) { return iequals(n, f.name); });
    if (listed != exclude) out += f.raw;
  }
  return out + "\r\n";
}

// The octets a BODY[section] item returns (RFC 3501 6.4.5), or nullopt for NIL (no such
// part, or HEADER/TEXT of a part that is not a message/rfc822).
template <typename Root>
std::optional<std::string> section_data(std::string_view text, const FetchItem& item, Root&& root) {
  auto [header, body] = split_entity(text);
  if (!item.part.empty()) {
    const MimeEntity* e = find_part(root(), item.part);
    if (e == nullptr) return std::nullopt;
    if (item.text.empty()) return std::string(e->body);
    if (item.text == "MIME") return std::string(e->header);
    if (!e->message() || e->parts.empty()) return std::nullopt;
    header = e->parts[0].header;
    body = e->parts[0].body;
  } else if (item.text.empty()) {
    return std::string(text);
  }
  if (item.text == "HEADER") return std::string(header);
  if (item.text == "TEXT") return std::string(body);
  return select_fields(header, item.fields, item.text == "HEADER.FIELDS.NOT");
}

}  // namespace

// ---- Server ----

namespace {

// Which commands each state allows (RFC 3501 section 6; IDLE RFC 2177; MOVE RFC 6851).
constexpr unsigned kNotAuth = 1, kAuth = 2, kSelected = 4;
struct CommandRule {
  std::string_view name;
  unsigned states;
};
constexpr CommandRule kCommandRules[] = {
    {"CAPABILITY", kNotAuth | kAuth | kSelected},
    {"NOOP", kNotAuth | kAuth | kSelected},
    {"LOGOUT", kNotAuth | kAuth | kSelected},
    {"LOGIN", kNotAuth},
    {"AUTHENTICATE", kNotAuth},
    {"STARTTLS", kNotAuth},
    {"SELECT", kAuth | kSelected},
    {"EXAMINE", kAuth | kSelected},
    {"CREATE", kAuth | kSelected},
    {"DELETE", kAuth | kSelected},
    {"RENAME", kAuth | kSelected},
    {"SUBSCRIBE", kAuth | kSelected},
    {"UNSUBSCRIBE", kAuth | kSelected},
    {"LIST", kAuth | kSelected},
    {"LSUB", kAuth | kSelected},
    {"STATUS", kAuth | kSelected},
    {"APPEND", kAuth | kSelected},
    {"IDLE", kAuth | kSelected},
    {"CHECK", kSelected},
    {"CLOSE", kSelected},
    {"EXPUNGE", kSelected},
    {"SEARCH", kSelected},
    {"FETCH", kSelected},
    {"STORE", kSelected},
    {"COPY", kSelected},
    {"MOVE", kSelected},
    {"UID", kSelected},
};

// A short form of a command for events: the first line, the LOGIN password hidden.
std::string command_summary(std::string_view text, const std::string& name) {
  std::string_view first = text.substr(0, text.find("\r\n"));
  if (first.size() > 200) first = first.substr(0, 200);
  if (name == "LOGIN") {
    std::size_t sp1 = first.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : first.find(' ', sp1 + 1);
    std::size_t sp3 = sp2 == std::string_view::npos ? sp2 : first.find(' ', sp2 + 1);
    if (sp3 != std::string_view::npos) return std::string(first.substr(0, sp3)) + " ****";
  }
  return std::string(first);
}

// The tag of a command (RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+">), or "*".
std::string tag_of(std::string_view text) {
  std::string_view tag = text.substr(0, text.find(' '));
  bool valid = !tag.empty() && std::all_of(tag.begin(), tag.end(),
                                           [](char c) { return is_astring_char(c) && c != '+'; });
  return valid ? std::string(tag) : std::string("*");
}

// A literal announced at the end of the line being read: "{n}" (RFC 3501 section 4.3).
std::optional<std::size_t> trailing_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  std::size_t open = line.rfind('{');
  if (open == std::string_view::npos || open + 2 > line.size() - 1) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (digits.size() > 10 || !std::all_of(digits.begin(), digits.end(), is_digit))
    return std::nullopt;
  return static_cast<std::size_t>(std::stoull(std::string(digits)));
}

// LIST pattern matching (RFC 3501 6.3.8): "*" matches anything, "%" anything but "/".
bool wildcard_match(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return name.empty();
  if (pattern[0] == '*' || pattern[0] == '%') {
    for (std::size_t i = 0; i <= name.size(); ++i) {
      if (wildcard_match(pattern.substr(1), name.substr(i))) return true;
      if (i < name.size() && pattern[0] == '%' && name[i] == '/') return false;
    }
    return false;
  }
  return !name.empty() && pattern[0] == name[0] &&
         wildcard_match(pattern.substr(1), name.substr(1));
}

SearchKey parse_search_key(Parser& p, int depth);

std::int64_t search_date(Parser& p) {
  // date = date-text / DQUOTE date-text DQUOTE; date-text = d[d]-Mon-yyyy
  bool q = p.accept('"');
  unsigned d = p.number();
  p.expect('-', "expected a date like 1-Feb-1994");
  std::string mon = p.atom();
  std::size_t dash = mon.find('-');
  if (dash == std::string::npos) throw Bad{"expected a date like 1-Feb-1994"};
  std::optional<unsigned> m = month_number(mon.substr(0, dash));
  std::string year = mon.substr(dash + 1);
  if (!m || year.size() != 4 || !std::all_of(year.begin(), year.end(), is_digit) || d < 1 || d > 31)
    throw Bad{"expected a date like 1-Feb-1994"};
  if (q) p.expect('"', "expected \" after the date");
  return days_from_civil(std::stoi(year), *m, d);
}

SearchKey parse_search_key(Parser& p, int depth) {
  if (depth > 32) throw Bad{"search keys nested too deeply"};
  SearchKey key;
  if (p.accept('(')) {
    key.name = "AND";
    do key.children.push_back(parse_search_key(p, depth + 1));
    while (p.accept(' '));
    p.expect(')', "expected ) after the search keys");
    return key;
  }
  if (p.at_sequence_set()) {
    key.name = "SET";
    key.set = p.sequence_set();
    return key;
  }
  key.name = p.word();
  static const char* const no_arg[] = {
      "ALL",  "ANSWERED",   "DELETED",   "FLAGGED",   "NEW",    "OLD",   "RECENT",
      "SEEN", "UNANSWERED", "UNDELETED", "UNFLAGGED", "UNSEEN", "DRAFT", "UNDRAFT"};
  static const char* const string_arg[] = {"BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"};
  static const char* const date_arg[] = {"BEFORE",     "ON",     "SINCE",
                                         "SENTBEFORE", "SENTON", "SENTSINCE"};
  auto in = [&](const auto& list) {
    return std::find(std::begin(list), std::end(list), key.name) != std::end(list);
  };
  if (in(no_arg)) return key;
  static const char* const other[] = {"KEYWORD", "UNKEYWORD", "HEADER", "LARGER",
                                      "SMALLER", "UID",       "NOT",    "OR"};
  if (!in(string_arg) && !in(date_arg) && !in(other))
    throw Bad{fmt::format("unknown search key {}", key.name)};
  p.sp();
  if (in(string_arg)) {
    key.arg = p.astring();
  } else if (in(date_arg)) {
    key.day = search_date(p);
  } else if (key.name == "KEYWORD" || key.name == "UNKEYWORD") {
    key.arg = p.atom();
  } else if (key.name == "HEADER") {
    key.arg = p.astring();
    p.sp();
    key.arg2 = p.astring();
  } else if (key.name == "LARGER" || key.name == "SMALLER") {
    key.number = p.number();
  } else if (key.name == "UID") {
    key.set = p.sequence_set();
  } else if (key.name == "NOT") {
    key.children.push_back(parse_search_key(p, depth + 1));
  } else {  // OR
    key.children.push_back(parse_search_key(p, depth + 1));
    p.sp();
    key.children.push_back(parse_search_key(p, depth + 1));
  }
  return key;
}

FetchItem parse_section(Parser& p, FetchItem item) {
  item.kind = FetchItem::Kind::section;
  p.expect('[', "expected [");
  while (is_digit(p.peek())) {
    item.part.push_back(p.nz_number());
    if (!p.accept('.')) break;
    if (!is_digit(p.peek())) {
      if (p.peek() == ']') throw Bad{"section part ends with a dot"};
      break;
    }
  }
  if (p.peek() != ']') {
    item.text = p.word();
    if (item.text == "HEADER.FIELDS" || item.text == "HEADER.FIELDS.NOT") {
      p.sp();
      p.expect('(', "expected a header list");
      do item.fields.push_back(p.astring());
      while (p.accept(' '));
      p.expect(')', "expected ) after the header list");
    } else if (item.text == "MIME") {
      if (item.part.empty()) throw Bad{"MIME needs a part number"};
    } else if (item.text != "HEADER" && item.text != "TEXT") {
      throw Bad{fmt::format("unknown section {}", item.text)};
    }
  }
  p.expect(']', "expected ] after the section");
  if (p.accept('<')) {
    item.partial = true;
    item.offset = p.number();
    p.expect('.', "expected . in a partial range");
    item.length = p.nz_number();
    p.expect('>', "expected > after a partial range");
  }
  return item;
}

FetchItem parse_fetch_att(Parser& p) {
  using K = FetchItem::Kind;
  static const std::pair<std::string_view, K> simple[] = {{"FLAGS", K::flags},
                                                          {"UID", K::uid},
                                                          {"INTERNALDATE", K::internaldate},
                                                          {"RFC822.SIZE", K::rfc822_size},
                                                          {"ENVELOPE", K::envelope},
                                                          {"BODYSTRUCTURE", K::bodystructure},
                                                          {"RFC822", K::rfc822},
                                                          {"RFC822.HEADER", K::rfc822_header},
                                                          {"RFC822.TEXT", K::rfc822_text}};
  FetchItem item;
  std::string w = p.word();
  for (const auto& [name, kind] : simple) {
    if (w != name) continue;
    item.kind = kind;
    return item;
  }
  if (w == "BODY" && p.peek() != '[') {  // BODY alone: BODYSTRUCTURE without extensions
    item.kind = K::body;
    return item;
  }
  if (w != "BODY" && w != "BODY.PEEK") throw Bad{fmt::format("unknown FETCH item {}", w)};
  item.peek = w == "BODY.PEEK";
  return parse_section(p, item);
}

std::vector<FetchItem> parse_fetch_items(Parser& p) {
  using K = FetchItem::Kind;
  std::vector<FetchItem> items;
  auto add = [&](K kind) {
    FetchItem item;
    item.kind = kind;
    items.push_back(item);
  };
  // RFC 3501 6.4.5 macros.
  if (p.accept_word("ALL")) {
    for (K k : {K::flags, K::internaldate, K::rfc822_size, K::envelope}) add(k);
  } else if (p.accept_word("FAST")) {
    for (K k : {K::flags, K::internaldate, K::rfc822_size}) add(k);
  } else if (p.accept_word("FULL")) {
    for (K k : {K::flags, K::internaldate, K::rfc822_size, K::envelope, K::body}) add(k);
  } else if (p.accept('(')) {
    do items.push_back(parse_fetch_att(p));
    while (p.accept(' '));
    p.expect(')', "expected ) after the FETCH items");
  } else {
    items.push_back(parse_fetch_att(p));
  }
  return items;
}

std::string section_name(const FetchItem& item) {
  std::vector<std::string> parts;
  for (std::uint32_t n : item.part) parts.push_back(std::to_string(n));
  std::string spec = join(parts, ".");
  if (!item.text.empty()) spec += (spec.empty() ? "" : ".") + item.text;
  if (!item.fields.empty()) {
    std::vector<std::string> names;
    for (const std::string& f : item.fields) names.push_back(astring_out(f));
    spec += " (" + join(names, " ") + ")";
  }
  std::string name = "BODY[" + spec + "]";
  if (item.partial) name += fmt::format("<{}>", item.offset);
  return name;
}

}  // namespace

ServerSession::ServerSession(ServerConfig config, store::MailStore& store)
    : config_(std::move(config)), store_(store), tls_active_(config_.implicit_tls) {
  untagged(fmt::format("OK [CAPABILITY {}] {}IMAP4rev1 server ready", capabilities(),
                       config_.hostname.empty() ? "" : config_.hostname + " "));
}

std::string_view ServerSession::state_name() const {
  switch (state_) {
    case State::not_authenticated:
      return "not_authenticated";
    case State::authenticated:
      return "authenticated";
    case State::selected:
      return "selected";
    case State::logout:
      return "logout";
  }
  return "";
}

std::string ServerSession::take_output() {
  return std::exchange(output_, {});
}

std::vector<ServerEvent> ServerSession::take_events() {
  return std::exchange(events_, {});
}

void ServerSession::poll() {
  if (idling() && !closed_) send_updates(true);
}

void ServerSession::shut_down() {
  if (closed_) return;
  untagged(fmt::format("BYE {}IMAP4rev1 server shutting down",
                       config_.hostname.empty() ? "" : config_.hostname + " "));
  idle_tag_.reset();
  state_ = State::logout;
  closed_ = true;
}

void ServerSession::receive(std::string_view bytes) {
  auto keep = [this](char c) {
    if (segment_length_ >= config_.max_line_length) {
      too_long_ = true;
      return;
    }
    command_ += c;
    ++segment_length_;
  };
  for (char c : bytes) {
    if (closed_) return;
    if (starting_tls_) {  // RFC 3501 6.2.1: nothing sent in the clear after STARTTLS counts
      ++plaintext_dropped_;
      continue;
    }
    if (literal_left_ > 0) {  // literal octets are data, CR and LF included
      command_ += c;
      --literal_left_;
      continue;
    }
    if (cr_ && c == '\n') {
      cr_ = false;
      end_of_line();
      continue;
    }
    if (cr_) keep('\r');
    cr_ = c == '\r';
    if (!cr_) keep(c);
  }
}

void ServerSession::end_of_line() {
  std::string text = std::exchange(command_, {});
  std::size_t segment = std::exchange(segment_length_, 0);
  std::string tag = tag_of(text);
  bool too_long = std::exchange(too_long_, false);

  if (idle_tag_) {
    // RFC 2177: the line after "+ idling" is IDLE's continuation, whatever it is (a long one
    // too); only "DONE" ends IDLE well. Queued updates go out before the tagged reply.
    std::string idle = *std::exchange(idle_tag_, std::nullopt);
    if (!too_long && iequals(text, "DONE")) {
      send_updates(true);
      output_ += idle + " OK IDLE terminated\r\n";
    } else {
      output_ += idle + " BAD expected DONE\r\n";
      event(ServerEvent::Kind::protocol_error, "IDLE ended without DONE");
    }
    return;
  }

  if (too_long) {
    // RFC 3501 7.1.3: when the line was cut before the tag ended, the command cannot be named,
    // so the BAD is untagged.
    if (text.find(' ') == std::string::npos) tag = "*";
    output_ += tag + " BAD command line too long\r\n";
    event(ServerEvent::Kind::protocol_error, "command line too long");
    return;
  }

  std::string_view line = std::string_view(text).substr(text.size() - segment);
  if (std::optional<std::size_t> n = trailing_literal(line)) {
    if (*n > config_.max_literal_size) {
      output_ += tag + " BAD literal too large\r\n";
      event(ServerEvent::Kind::protocol_error, "literal too large");
      return;
    }
    // RFC 3501 section 7.5: ask for the literal, keep reading the same command after it.
    command_ = std::move(text) + "\r\n";
    literal_left_ = *n;
    output_ += "+ Ready for literal data\r\n";
    return;
  }
  handle_command(text);
}

void ServerSession::handle_command(std::string_view text) {
  std::string tag = tag_of(text);
  if (tag == "*") {
    untagged("BAD invalid tag");
    event(ServerEvent::Kind::protocol_error, "invalid tag");
    return;
  }
  Parser p(text.substr(tag.size()));
  try {
    p.sp();
    std::string name = p.word();
    event(ServerEvent::Kind::command_received, command_summary(text, name));
    dispatch(tag, name, p);
  } catch (const Bad& bad) {
    event(ServerEvent::Kind::protocol_error, bad.text);
    output_ += tag + " BAD " + bad.text + "\r\n";
  }
}

void ServerSession::dispatch(const std::string& tag, const std::string& name, Parser& p) {
  const CommandRule* rule = nullptr;
  for (const CommandRule& r : kCommandRules)
    if (r.name == name) rule = &r;
  if (rule == nullptr) throw Bad{fmt::format("unknown command {}", name)};
  unsigned state_bit = state_ == State::not_authenticated ? kNotAuth
                       : state_ == State::authenticated   ? kAuth
                                                          : kSelected;
  if ((rule->states & state_bit) == 0)
    throw Bad{fmt::format("{} not allowed in {} state", name, state_name())};

  // RFC 3501 7.4.1: no EXPUNGE responses while FETCH, STORE or SEARCH is in progress.
  expunge_allowed_ = name != "FETCH" && name != "STORE" && name != "SEARCH";

  if (name == "CAPABILITY") return cmd_capability(tag, p);
  if (name == "NOOP") return cmd_noop(tag, p);
  if (name == "CHECK") {  // RFC 3501 6.4.1: nothing to flush, so a NOOP under its own name
    p.end();
    return finish(tag, "OK", "CHECK completed");
  }
  if (name == "LOGOUT") return cmd_logout(tag, p);
  if (name == "LOGIN") return cmd_login(tag, p);
  if (name == "AUTHENTICATE") {
    return finish(tag, "NO", "no SASL mechanisms are offered; use LOGIN");
  }
  if (name == "STARTTLS") return cmd_starttls(tag, p);
  if (name == "SELECT") return cmd_select(tag, p, false);
  if (name == "EXAMINE") return cmd_select(tag, p, true);
  if (name == "CREATE") return cmd_create(tag, p);
  if (name == "DELETE") return cmd_delete(tag, p);
  if (name == "RENAME") return cmd_rename(tag, p);
  if (name == "SUBSCRIBE") return cmd_subscribe(tag, p, true);
  if (name == "UNSUBSCRIBE") return cmd_subscribe(tag, p, false);
  if (name == "LIST") return cmd_list(tag, p, false);
  if (name == "LSUB") return cmd_list(tag, p, true);
  if (name == "STATUS") return cmd_status(tag, p);
  if (name == "APPEND") return cmd_append(tag, p);
  if (name == "IDLE") return cmd_idle(tag, p);
  if (name == "CLOSE") return cmd_close(tag, p);
  if (name == "EXPUNGE") return cmd_expunge(tag, p, false);
  if (name == "SEARCH") return cmd_search(tag, p, false);
  if (name == "FETCH") return cmd_fetch(tag, p, false);
  if (name == "STORE") return cmd_store(tag, p, false);
  if (name == "COPY") return cmd_copy(tag, p, false, false);
  if (name == "MOVE") return cmd_copy(tag, p, false, true);
  if (name == "UID") return handle_uid(tag, p);
}

void ServerSession::handle_uid(const std::string& tag, Parser& p) {
  // RFC 3501 6.4.8 (with MOVE from RFC 6851 3.2 and EXPUNGE from RFC 4315 2.1).
  p.sp();
  std::string name = p.word();
  if (name == "FETCH") return cmd_fetch(tag, p, true);
  if (name == "SEARCH") return cmd_search(tag, p, true);
  if (name == "STORE") return cmd_store(tag, p, true);
  if (name == "COPY") return cmd_copy(tag, p, true, false);
  if (name == "MOVE") return cmd_copy(tag, p, true, true);
  if (name == "EXPUNGE") return cmd_expunge(tag, p, true);
  throw Bad{fmt::format("unknown UID command {}", name)};
}

void ServerSession::cmd_capability(const std::string& tag, Parser& p) {
  p.end();
  untagged(fmt::format("CAPABILITY {}", capabilities()));
  finish(tag, "OK", "CAPABILITY completed");
}

std::string ServerSession::capabilities() const {
  bool starttls = config_.tls_available && !tls_active_ && state_ == State::not_authenticated;
  return std::string(kCapabilities) + (starttls ? " STARTTLS" : "");
}

void ServerSession::cmd_starttls(const std::string& tag, Parser& p) {
  // RFC 3501 6.2.1: no arguments; the tagged OK, then the handshake; state is unchanged.
  p.end();
  if (!config_.tls_available) return finish(tag, "NO", "TLS is not simulated");
  if (tls_active_) throw Bad{"TLS is already active"};
  finish(tag, "OK", "Begin TLS negotiation now");
  event(ServerEvent::Kind::starttls, "");
  starting_tls_ = true;
  plaintext_dropped_ = 0;
}

void ServerSession::tls_established() {
  if (plaintext_dropped_ > 0)
    event(ServerEvent::Kind::protocol_error,
          fmt::format("{} octets sent in the clear after STARTTLS were discarded",
                      plaintext_dropped_));
  starting_tls_ = false;
  tls_active_ = true;
}

void ServerSession::cmd_noop(const std::string& tag, Parser& p) {
  // RFC 3501 6.1.2: the way to poll for updates.
  p.end();
  finish(tag, "OK", "NOOP completed");
}

void ServerSession::cmd_logout(const std::string& tag, Parser& p) {
  // RFC 3501 6.1.3: BYE first, then the tagged OK, then the server closes.
  p.end();
  untagged(fmt::format("BYE {}IMAP4rev1 server logging out",
                       config_.hostname.empty() ? "" : config_.hostname + " "));
  output_ += tag + " OK LOGOUT completed\r\n";
  state_ = State::logout;
  closed_ = true;
  event(ServerEvent::Kind::logout, account_ ? account_->address() : std::string());
}

void ServerSession::cmd_login(const std::string& tag, Parser& p) {
  // RFC 3501 6.2.3: LOGIN userid password, both astrings.
  p.sp();
  std::string user = p.astring();
  p.sp();
  std::string password = p.astring();
  p.end();
  store::Account* account = store_.find_account(user);
  if (account == nullptr || !account->check_password(password)) {
    event(ServerEvent::Kind::login_failed, user);
    return finish(tag, "NO", "LOGIN failed: wrong user name or password");
  }
  account_ = account;
  state_ = State::authenticated;
  event(ServerEvent::Kind::logged_in, account->address());
  finish(tag, "OK", "LOGIN completed");
}

store::Folder* ServerSession::selected_folder() {
  if (state_ != State::selected || account_ == nullptr) return nullptr;
  return account_->folder_by_uidvalidity(view_.uidvalidity);
}

std::string ServerSession::mailbox_flags(const store::Folder& folder) const {
  std::set<std::string> keywords;
  for (const store::StoredMessage& m : folder.messages())
    for (const std::string& f : m.flags)
      if (f.empty() || f[0] != '\\') keywords.insert(f);
  std::string out = kSystemFlags;
  for (const std::string& k : keywords) out += " " + k;
  return out;
}

void ServerSession::cmd_select(const std::string& tag, Parser& p, bool read_only) {
  // RFC 3501 6.3.1 (SELECT) and 6.3.2 (EXAMINE).
  p.sp();
  std::string name = p.mailbox();
  p.end();

  // Selecting deselects first, so a failed SELECT leaves no mailbox selected.
  state_ = State::authenticated;
  view_ = View{};
  store::Folder* folder = account_->folder(name);
  if (folder == nullptr) return finish(tag, "NO", "no such mailbox");

  view_.uidvalidity = folder->uidvalidity();
  view_.read_only = read_only;
  view_.version = store_.version();
  for (const store::StoredMessage& m : folder->messages()) {
    view_.uids.push_back(m.uid);
    view_.flags[m.uid] = m.flags;
  }
  view_.recent = read_only ? folder->unclaimed_uids() : folder->claim_recent();
  state_ = State::selected;

  untagged(fmt::format("FLAGS ({})", mailbox_flags(*folder)));
  untagged(fmt::format("{} EXISTS", view_.uids.size()));
  untagged(fmt::format("{} RECENT", view_.recent.size()));
  const auto& messages = folder->messages();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].flags.count("\\Seen")) continue;
    untagged(fmt::format("OK [UNSEEN {}] Message {} is first unseen", i + 1, i + 1));
    break;
  }
  untagged(fmt::format("OK [UIDVALIDITY {}] UIDs valid", folder->uidvalidity()));
  untagged(fmt::format("OK [UIDNEXT {}] Predicted next UID", folder->uidnext()));
  if (read_only)
    untagged("OK [PERMANENTFLAGS ()] No permanent flags permitted");
  else
    untagged(fmt::format("OK [PERMANENTFLAGS ({} \\*)] Limited", kSystemFlags));
  event(ServerEvent::Kind::selected, folder->name());
  finish(tag, "OK", read_only ? "[READ-ONLY] EXAMINE completed" : "[READ-WRITE] SELECT completed");
}

void ServerSession::cmd_create(const std::string& tag, Parser& p) {
  // RFC 3501 6.3.3: a trailing hierarchy delimiter is dropped, superiors are created.
  p.sp();
  std::string name = p.mailbox();
  p.end();
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  if (store::Account::is_inbox(name)) return finish(tag, "NO", "INBOX always exists");
  if (name.empty() || name == "/") return finish(tag, "NO", "invalid mailbox name");
  if (account_->folder(name)) return finish(tag, "NO", "mailbox already exists");
  for (std::size_t slash = name.find('/', 1); slash != std::string::npos;
       slash = name.find('/', slash + 1))
    if (!account_->folder(name.substr(0, slash))) account_->create_folder(name.substr(0, slash));
  account_->create_folder(name);
  finish(tag, "OK", "CREATE completed");
}

void ServerSession::cmd_delete(const std::string& tag, Parser& p) {
  // RFC 3501 6.3.4. Inferior names are kept; deleting the selected mailbox is refused here.
  p.sp();
  std::string name = p.mailbox();
  p.end();
  if (store::Account::is_inbox(name)) return finish(tag, "NO", "INBOX cannot be deleted");
  store::Folder* folder = account_->folder(name);
  if (folder == nullptr) return finish(tag, "NO", "no such mailbox");
  if (folder == selected_folder()) return finish(tag, "NO", "mailbox is selected");
  account_->delete_folder(name);
  finish(tag, "OK", "DELETE completed");
}

void ServerSession::cmd_rename(const std::string& tag, Parser& p) {
  // RFC 3501 6.3.5: inferior names are renamed too; renaming INBOX moves its messages.
  p.sp();
  std::string from = p.mailbox();
  p.sp();
  std::string to = p.mailbox();
  p.end();
  if (store::Account::is_inbox(to)) return finish(tag, "NO", "cannot rename to INBOX");
  if (!account_->folder(from)) return finish(tag, "NO", "no such mailbox");
  if (account_->folder(to)) return finish(tag, "NO", "target mailbox already exists");

  std::vector<std::string> children;
  if (!store::Account::is_inbox(from))
    for (const store::Folder* f : account_->folders())
      if (f->name().size() > from.size() && f->name().compare(0, from.size() + 1, from + "/") == 0)
        children.push_back(f->name());
  account_->rename_folder(from, to);
  for (const std::string& child : children)
    account_->rename_folder(child, to + child.substr(from.size()));
  finish(tag, "OK", "RENAME completed");
}

void ServerSession::cmd_subscribe(const std::string& tag, Parser& p, bool on) {
  // RFC 3501 6.3.6 and 6.3.7.
  p.sp();
  std::string name = p.mailbox();
  p.end();
  store::Folder* folder = account_->folder(name);
  if (folder == nullptr) return finish(tag, "NO", "no such mailbox");
  folder->set_subscribed(on);
  finish(tag, "OK", on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

void ServerSession::cmd_list(const std::string& tag, Parser& p, bool lsub) {
  // RFC 3501 6.3.8 (LIST) and 6.3.9 (LSUB); the hierarchy delimiter is "/".
  const char* verb = lsub ? "LSUB" : "LIST";
  p.sp();
  std::string reference = p.mailbox();
  p.sp();
  std::string pattern = p.list_mailbox();
  p.end();

  if (pattern.empty() && !lsub) {
    untagged("LIST (\\Noselect) \"/\" \"\"");
    return finish(tag, "OK", "LIST completed");
  }
  std::string canonical = reference + pattern;

  // Every folder, and the superior names of nested ones (\Noselect when they do not exist).
  std::map<std::string, const store::Folder*> names;
  for (const store::Folder* f : account_->folders()) {
    if (lsub && !f->subscribed()) continue;
    names[f->name()] = f;
    if (lsub) continue;  // LSUB lists subscribed names only
    for (std::size_t slash = f->name().find('/', 1); slash != std::string::npos;
         slash = f->name().find('/', slash + 1))
      names.emplace(f->name().substr(0, slash), nullptr);
  }
  // INBOX first, as the store lists it, then the others in name order.
  std::vector<std::string> order;
  if (names.count("INBOX")) order.push_back("INBOX");
  for (const auto& [name, folder] : names)
    if (name != "INBOX") order.push_back(name);

  for (const std::string& name : order) {
    bool match =
        name == "INBOX" ? wildcard_match(upper(canonical), name) : wildcard_match(canonical, name);
    if (!match) continue;
    const store::Folder* folder = names[name];
    std::string attributes = folder == nullptr ? "\\Noselect" : "";
    untagged(fmt::format("{} ({}) \"/\" {}", verb, attributes, astring_out(name)));
  }
  finish(tag, "OK", lsub ? "LSUB completed" : "LIST completed");
}

void ServerSession::cmd_status(const std::string& tag, Parser& p) {
  // RFC 3501 6.3.10: items answered in the order asked.
  p.sp();
  std::string name = p.mailbox();
  p.sp();
  p.expect('(', "expected ( before the status items");
  std::vector<std::string> items;
  do items.push_back(p.word());
  while (p.accept(' '));
  p.expect(')', "expected ) after the status items");
  p.end();

  store::Folder* folder = account_->folder(name);
  std::vector<std::string> out;
  for (const std::string& item : items) {
    if (item != "MESSAGES" && item != "RECENT" && item != "UIDNEXT" && item != "UIDVALIDITY" &&
        item != "UNSEEN")
      throw Bad{fmt::format("unknown status item {}", item)};
    if (folder == nullptr) continue;
    std::size_t value = item == "MESSAGES"      ? folder->messages().size()
                        : item == "RECENT"      ? folder->recent_count()
                        : item == "UIDNEXT"     ? folder->uidnext()
                        : item == "UIDVALIDITY" ? folder->uidvalidity()
                                                : folder->unseen_count();
    out.push_back(fmt::format("{} {}", item, value));
  }
  if (folder == nullptr) return finish(tag, "NO", "no such mailbox");
  untagged(fmt::format("STATUS {} ({})", astring_out(folder->name()), join(out, " ")));
  finish(tag, "OK", "STATUS completed");
}

void ServerSession::cmd_append(const std::string& tag, Parser& p) {
  // RFC 3501 6.3.11: APPEND mailbox [flag-list] [date-time] literal; the tagged OK carries
  // APPENDUID (RFC 4315 section 3).
  p.sp();
  std::string name = p.mailbox();
  p.sp();
  std::set<std::string> flags;
  if (p.peek() == '(') {
    for (std::string f : p.flag_list())
      if (f != "\\Recent") flags.insert(f);
    p.sp();
  }
  double when = now_;
  if (p.peek() == '"') {
    // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    std::string s = p.string();
    int d = 0, y = 0, hh = 0, mm = 0, ss = 0, zone = 0;
    char mon[4] = {0}, sign = 0;
    if (s.size() != 26 ||
        std::sscanf(s.c_str(), "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &d, mon, &y, &hh, &mm, &ss, &sign,
                    &zone) != 8 ||
        (sign != '+' && sign != '-') || !month_number(mon) || d < 1 || d > 31 || hh > 23 ||
        mm > 59 || ss > 60)
      throw Bad{"invalid date-time"};
    std::int64_t offset = (zone / 100 * 60 + zone % 100) * 60 * (sign == '-' ? -1 : 1);
    std::int64_t unix_seconds =
        days_from_civil(y, *month_number(mon), static_cast<unsigned>(d)) * 86400 + hh * 3600 +
        mm * 60 + ss - offset;
    when = static_cast<double>(unix_seconds - config_.epoch_unix);
    p.sp();
  }
  if (p.peek() != '{') throw Bad{"APPEND needs the message as a literal"};
  std::string text = p.string();
  p.end();

  store::Folder* folder = account_->folder(name);
  if (folder == nullptr) return finish(tag, "NO", "[TRYCREATE] no such mailbox");
  std::uint32_t uid = folder->append(std::move(text), flags, when);
  const store::StoredMessage* m = folder->find(uid);
  event(ServerEvent::Kind::message_appended, folder->name(), uid, m->message_id);
  finish(tag, "OK", fmt::format("[APPENDUID {} {}] APPEND completed", folder->uidvalidity(), uid));
}

void ServerSession::cmd_idle(const std::string& tag, Parser& p) {
  // RFC 2177: "+ idling", then updates as they happen, until the client sends DONE.
  p.end();
  send_updates(true);
  output_ += "+ idling\r\n";
  idle_tag_ = tag;
}

void ServerSession::cmd_close(const std::string& tag, Parser& p) {
  // RFC 3501 6.4.2: expunge silently (unless read-only), back to authenticated.
  p.end();
  store::Folder* folder = selected_folder();
  if (folder != nullptr && !view_.read_only) expunge(*folder, {});
  state_ = State::authenticated;
  view_ = View{};
  finish(tag, "OK", "CLOSE completed");
}

void ServerSession::cmd_expunge(const std::string& tag, Parser& p, bool uid) {
  // RFC 3501 6.4.3; UID EXPUNGE only touches the given UIDs (RFC 4315 section 2.1).
  std::set<std::uint32_t> only;
  if (uid) {
    p.sp();
    SequenceSet set = p.sequence_set();
    p.end();
    for (std::size_t i : resolve(set, true)) only.insert(view_.uids[i]);
    if (only.empty()) return finish(tag, "OK", "UID EXPUNGE completed");
  } else {
    p.end();
  }
  if (view_.read_only) return finish(tag, "NO", "mailbox is read-only");
  store::Folder* folder = selected_folder();
  if (folder != nullptr) expunge(*folder, only);
  finish(tag, "OK", uid ? "UID EXPUNGE completed" : "EXPUNGE completed");
}

void ServerSession::expunge(store::Folder& folder, const std::set<std::uint32_t>& only) {
  // Message-IDs first: the events must say what went, and the messages are gone after.
  std::map<std::uint32_t, std::string> ids;
  for (const store::StoredMessage& m : folder.messages())
    if (m.flags.count("\\Deleted")) ids[m.uid] = m.message_id;
  for (std::uint32_t uid : folder.expunge(only))
    event(ServerEvent::Kind::message_expunged, folder.name(), uid, ids[uid]);
}

std::vector<std::size_t> ServerSession::resolve(const SequenceSet& set, bool uid) {
  std::set<std::size_t> indices;
  const std::vector<std::uint32_t>& uids = view_.uids;
  for (const SequenceSet::Range& r : set.ranges) {
    if (uid) {
      // RFC 3501 section 9, seq-number: "*" is the largest UID in use; UIDs not in the
      // mailbox are simply left out.
      std::uint32_t star = uids.empty() ? 0 : uids.back();
      std::uint32_t lo = r.lo == 0 ? star : r.lo, hi = r.hi == 0 ? star : r.hi;
      if (lo > hi) std::swap(lo, hi);
      auto first = std::lower_bound(uids.begin(), uids.end(), lo);
      for (auto it = first; it != uids.end() && *it <= hi; ++it)
        indices.insert(static_cast<std::size_t>(it - uids.begin()));
    } else {
      // Sequence numbers past the end, "*" in an empty mailbox included, are a BAD.
      auto n = static_cast<std::uint32_t>(uids.size());
      std::uint32_t lo = r.lo == 0 ? n : r.lo, hi = r.hi == 0 ? n : r.hi;
      if (lo > hi) std::swap(lo, hi);
      if (lo == 0 || hi > n) throw Bad{"invalid message sequence number"};
      for (std::uint32_t i = lo; i <= hi; ++i) indices.insert(i - 1);
    }
  }
  return std::vector<std::size_t>(indices.begin(), indices.end());
}

bool ServerSession::matches(const SearchKey& key, std::size_t index,
                            const store::StoredMessage& m) {
  const std::string& k = key.name;
  auto has = [&](const char* flag) { return m.flags.count(flag) > 0; };
  bool recent = view_.recent.count(m.uid) > 0;
  auto header = [&]() { return split_entity(m.text).first; };
  auto field_contains = [&](std::string_view name, std::string_view needle) {
    for (const HeaderField& f : header_fields(header()))
      if (iequals(f.name, name) && icontains(field_value(f), needle)) return true;
    return false;
  };
  std::int64_t internal_day = floor_div(unix_time(config_.epoch_unix, m.internal_date), 86400);

  if (k == "AND") {
    return std::all_of(key.children.begin(), key.children.end(),
                       [&](const SearchKey& c) { return matches(c, index, m); });
  }
  if (k == "SET" || k == "UID") {
    SequenceSet set = key.set;
    for (SequenceSet::Range& r : set.ranges) {  // "*" never makes a search key a BAD
      auto n = static_cast<std::uint32_t>(view_.uids.size());
      std::uint32_t star = k == "UID" ? (view_.uids.empty() ? 0 : view_.uids.back()) : n;
      if (r.lo == 0) r.lo = star;
      if (r.hi == 0) r.hi = star;
      if (r.lo > r.hi) std::swap(r.lo, r.hi);
    }
    std::uint32_t value = k == "UID" ? m.uid : static_cast<std::uint32_t>(index + 1);
    return std::any_of(set.ranges.begin(), set.ranges.end(),
                       [&](const SequenceSet::Range& r) { return value >= r.lo && value <= r.hi; });
  }
  if (k == "ALL") return true;
  if (k == "ANSWERED") return has("\\Answered");
  if (k == "DELETED") return has("\\Deleted");
  if (k == "FLAGGED") return has("\\Flagged");
  if (k == "SEEN") return has("\\Seen");
  if (k == "DRAFT") return has("\\Draft");
  if (k == "UNANSWERED") return !has("\\Answered");
  if (k == "UNDELETED") return !has("\\Deleted");
  if (k == "UNFLAGGED") return !has("\\Flagged");
  if (k == "UNSEEN") return !has("\\Seen");
  if (k == "UNDRAFT") return !has("\\Draft");
  if (k == "RECENT") return recent;
  if (k == "NEW") return recent && !has("\\Seen");
  if (k == "OLD") return !recent;
  if (k == "KEYWORD") return m.flags.count(key.arg) > 0;
  if (k == "UNKEYWORD") return m.flags.count(key.arg) == 0;
  if (k == "FROM" || k == "TO" || k == "CC" || k == "BCC" || k == "SUBJECT")
    return field_contains(k, key.arg);
  if (k == "HEADER") return field_contains(key.arg, key.arg2);
  if (k == "BODY") return icontains(split_entity(m.text).second, key.arg);
  if (k == "TEXT") return icontains(m.text, key.arg);
  if (k == "LARGER") return m.text.size() > key.number;
  if (k == "SMALLER") return m.text.size() < key.number;
  if (k == "BEFORE") return internal_day < key.day;
  if (k == "ON") return internal_day == key.day;
  if (k == "SINCE") return internal_day >= key.day;
  if (k == "SENTBEFORE" || k == "SENTON" || k == "SENTSINCE") {
    std::optional<std::string> date = find_field(header(), "Date");
    std::optional<std::int64_t> day = date ? sent_day(*date) : std::nullopt;
    if (!day) return false;
    return k == "SENTBEFORE" ? *day < key.day : k == "SENTON" ? *day == key.day : *day >= key.day;
  }
  if (k == "NOT") return !matches(key.children[0], index, m);
  if (k == "OR") return matches(key.children[0], index, m) || matches(key.children[1], index, m);
  return false;
}

void ServerSession::cmd_search(const std::string& tag, Parser& p, bool uid) {
  // RFC 3501 6.4.4: keys are ANDed; answers are sequence numbers, or UIDs for UID SEARCH.
  p.sp();
  if (p.accept_word("CHARSET")) {
    p.sp();
    std::string charset = upper(p.astring());
    if (charset != "US-ASCII" && charset != "UTF-8")
      return finish(tag, "NO", "[BADCHARSET (US-ASCII UTF-8)] unsupported charset");
    p.sp();
  }
  SearchKey all;
  all.name = "AND";
  do all.children.push_back(parse_search_key(p, 0));
  while (p.accept(' '));
  p.end();

  std::string line = "SEARCH";
  store::Folder* folder = selected_folder();
  for (std::size_t i = 0; folder != nullptr && i < view_.uids.size(); ++i) {
    const store::StoredMessage* m = folder->find(view_.uids[i]);
    if (m != nullptr && matches(all, i, *m))
      line += fmt::format(" {}", uid ? m->uid : static_cast<std::uint32_t>(i + 1));
  }
  untagged(line);
  finish(tag, "OK", uid ? "UID SEARCH completed" : "SEARCH completed");
}

std::string ServerSession::flag_list(const store::StoredMessage& m) const {
  std::set<std::string> flags = m.flags;
  if (view_.recent.count(m.uid)) flags.insert("\\Recent");
  std::vector<std::string> words(flags.begin(), flags.end());
  return "(" + join(words, " ") + ")";
}

std::string ServerSession::fetch_one(const store::StoredMessage& m,
                                     const std::vector<FetchItem>& items, bool uid) {
  using K = FetchItem::Kind;
  std::vector<std::string> out;
  bool has_uid =
      std::any_of(items.begin(), items.end(), [](const FetchItem& i) { return i.kind == K::uid; });
  bool has_flags = std::any_of(items.begin(), items.end(),
                               [](const FetchItem& i) { return i.kind == K::flags; });
  // RFC 3501 6.4.8: the FETCH responses of a UID command always carry the UID.
  if (uid && !has_uid) out.push_back(fmt::format("UID {}", m.uid));

  std::optional<MimeEntity> mime;
  auto root = [&]() -> const MimeEntity& {
    if (!mime) mime = parse_entity(m.text, 0);
    return *mime;
  };
  auto [header, body] = split_entity(m.text);

  // RFC 3501 6.4.5: fetching BODY[...] sets \Seen, and the changed flags go into the response.
  bool sets_seen =
      std::any_of(items.begin(), items.end(), [](const FetchItem& i) { return i.sets_seen(); });
  bool seen_now = false;
  if (sets_seen && !view_.read_only && !m.flags.count("\\Seen")) {
    selected_folder()->add_flags(m.uid, {"\\Seen"});
    view_.flags[m.uid] = m.flags;
    event(ServerEvent::Kind::flags_changed, flag_list(m), m.uid, m.message_id);
    seen_now = true;
  }

  for (const FetchItem& item : items) {
    switch (item.kind) {
      case K::flags:
        out.push_back("FLAGS " + flag_list(m));
        break;
      case K::uid:
        out.push_back(fmt::format("UID {}", m.uid));
        break;
      case K::internaldate:
        out.push_back("INTERNALDATE \"" +
                      date_time(unix_time(config_.epoch_unix, m.internal_date)) + "\"");
        break;
      case K::rfc822_size:
        out.push_back(fmt::format("RFC822.SIZE {}", m.text.size()));
        break;
      case K::envelope:
        out.push_back("ENVELOPE " + envelope(header));
        break;
      case K::body:
        out.push_back("BODY " + body_structure(root(), false));
        break;
      case K::bodystructure:
        out.push_back("BODYSTRUCTURE " + body_structure(root(), true));
        break;
      case K::rfc822:
        out.push_back("RFC822 " + literal(m.text));
        break;
      case K::rfc822_header:
        out.push_back("RFC822.HEADER " + literal(header));
        break;
      case K::rfc822_text:
        out.push_back("RFC822.TEXT " + literal(body));
        break;
      case K::section: {
        std::optional<std::string> data = section_data(m.text, item, root);
        if (!data) {
          out.push_back(section_name(item) + " NIL");
          break;
        }
        std::string_view d = *data;
        if (item.partial) d = d.substr(std::min<std::size_t>(item.offset, d.size()), item.length);
        out.push_back(section_name(item) + " " + literal(d));
        break;
      }
    }
  }
  if (seen_now && !has_flags) out.push_back("FLAGS " + flag_list(m));
  return join(out, " ");
}

void ServerSession::cmd_fetch(const std::string& tag, Parser& p, bool uid) {
  // RFC 3501 6.4.5 (FETCH) and 6.4.8 (UID FETCH).
  p.sp();
  SequenceSet set = p.sequence_set();
  p.sp();
  std::vector<FetchItem> items = parse_fetch_items(p);
  p.end();
  std::vector<std::size_t> indices = resolve(set, uid);

  store::Folder* folder = selected_folder();
  for (std::size_t i : indices) {
    const store::StoredMessage* m = folder ? folder->find(view_.uids[i]) : nullptr;
    if (m == nullptr) continue;  // expunged by another session, not yet reported
    output_ += fmt::format("* {} FETCH ({})\r\n", i + 1, fetch_one(*m, items, uid));
    if (std::any_of(items.begin(), items.end(),
                    [](const FetchItem& f) { return f.returns_text(); }))
      event(ServerEvent::Kind::message_fetched, folder->name(), m->uid, m->message_id);
  }
  finish(tag, "OK", uid ? "UID FETCH completed" : "FETCH completed");
}

void ServerSession::cmd_store(const std::string& tag, Parser& p, bool uid) {
  // RFC 3501 6.4.6: [+|-]FLAGS[.SILENT] then a flag list or flags separated by spaces.
  p.sp();
  SequenceSet set = p.sequence_set();
  p.sp();
  std::string what = p.accept('+') ? "+" : p.accept('-') ? "-" : "";
  what += p.word();
  std::string base = what.substr(what[0] == '+' || what[0] == '-' ? 1 : 0);
  if (base != "FLAGS" && base != "FLAGS.SILENT") throw Bad{"expected [+|-]FLAGS[.SILENT]"};
  p.sp();
  std::vector<std::string> list;
  if (p.peek() == '(') {
    list = p.flag_list();
  } else {
    do list.push_back(p.flag());
    while (p.accept(' '));
  }
  p.end();
  std::set<std::string> flags;
  for (const std::string& f : list)
    if (f != "\\Recent") flags.insert(f);
  std::vector<std::size_t> indices = resolve(set, uid);
  if (view_.read_only) return finish(tag, "NO", "mailbox is read-only");

  store::Folder* folder = selected_folder();
  for (std::size_t i : indices) {
    std::uint32_t u = view_.uids[i];
    const store::StoredMessage* m = folder ? folder->find(u) : nullptr;
    if (m == nullptr) continue;
    bool changed = what[0] == '+'   ? folder->add_flags(u, flags)
                   : what[0] == '-' ? folder->remove_flags(u, flags)
                                    : folder->replace_flags(u, flags);
    view_.flags[u] = m->flags;
    if (changed) event(ServerEvent::Kind::flags_changed, flag_list(*m), u, m->message_id);
    if (what.find(".SILENT") == std::string::npos)
      output_ += uid ? fmt::format("* {} FETCH (UID {} FLAGS {})\r\n", i + 1, u, flag_list(*m))
                     : fmt::format("* {} FETCH (FLAGS {})\r\n", i + 1, flag_list(*m));
  }
  finish(tag, "OK", uid ? "UID STORE completed" : "STORE completed");
}

void ServerSession::cmd_copy(const std::string& tag, Parser& p, bool uid, bool move) {
  // RFC 3501 6.4.7 (COPY), RFC 6851 3 (MOVE), COPYUID from RFC 4315 section 3.
  p.sp();
  SequenceSet set = p.sequence_set();
  p.sp();
  std::string name = p.mailbox();
  p.end();
  std::vector<std::size_t> indices = resolve(set, uid);
  const char* done = move ? (uid ? "UID MOVE completed" : "MOVE completed")
                          : (uid ? "UID COPY completed" : "COPY completed");

  store::Folder* target = account_->folder(name);
  if (target == nullptr) return finish(tag, "NO", "[TRYCREATE] no such mailbox");
  if (move && view_.read_only) return finish(tag, "NO", "mailbox is read-only");
  store::Folder* source = selected_folder();

  std::vector<std::uint32_t> from, to;
  for (std::size_t i : indices) {
    const store::StoredMessage* m = source ? source->find(view_.uids[i]) : nullptr;
    if (m == nullptr) continue;
    from.push_back(m->uid);
    std::string text = m->text, message_id = m->message_id;
    std::set<std::string> flags = m->flags;
    double when = m->internal_date;  // the copy keeps flags and internal date (6.4.7)
    // `m` may dangle after the append when source and target are the same folder.
    to.push_back(target->append(std::move(text), std::move(flags), when));
    event(ServerEvent::Kind::message_appended, target->name(), to.back(), message_id);
  }
  std::string code = from.empty() ? std::string()
                                  : fmt::format("[COPYUID {} {} {}] ", target->uidvalidity(),
                                                uid_set(from), uid_set(to));
  if (!move) return finish(tag, "OK", code + done);

  // MOVE: the COPYUID goes in an untagged OK, then the expunges (RFC 6851 section 4.3).
  if (!code.empty()) untagged("OK " + code + "Moved");
  for (std::uint32_t u : from) {
    std::string message_id = source->find(u)->message_id;
    source->remove(u);
    event(ServerEvent::Kind::message_expunged, source->name(), u, message_id);
  }
  finish(tag, "OK", done);
}

void ServerSession::send_updates(bool expunge_allowed) {
  if (state_ != State::selected || store_.version() == view_.version) return;
  store::Folder* folder = selected_folder();
  if (folder == nullptr) {
    untagged("BYE the selected mailbox no longer exists");
    state_ = State::logout;
    closed_ = true;
    return;
  }

  // Expunged messages, reported lower to higher with the decrement applied (7.4.1).
  bool deferred = false;
  for (std::size_t i = 0; i < view_.uids.size();) {
    std::uint32_t uid = view_.uids[i];
    if (folder->find(uid) != nullptr) {
      ++i;
      continue;
    }
    if (!expunge_allowed) {
      deferred = true;
      ++i;
      continue;
    }
    untagged(fmt::format("{} EXPUNGE", i + 1));
    view_.flags.erase(uid);
    view_.recent.erase(uid);
    view_.uids.erase(view_.uids.begin() + static_cast<std::ptrdiff_t>(i));
  }

  // Flags others changed.
  for (std::size_t i = 0; i < view_.uids.size(); ++i) {
    const store::StoredMessage* m = folder->find(view_.uids[i]);
    if (m == nullptr || m->flags == view_.flags[m->uid]) continue;
    view_.flags[m->uid] = m->flags;
    untagged(fmt::format("{} FETCH (FLAGS {})", i + 1, flag_list(*m)));
  }

  // New messages: EXISTS never shrinks, only EXPUNGE does (5.2).
  std::uint32_t last = view_.uids.empty() ? 0 : view_.uids.back();
  std::size_t before = view_.uids.size();
  for (const store::StoredMessage& m : folder->messages()) {
    if (m.uid <= last) continue;
    view_.uids.push_back(m.uid);
    view_.flags[m.uid] = m.flags;
  }
  if (view_.uids.size() != before) {
    std::set<std::uint32_t> recent =
        view_.read_only ? folder->unclaimed_uids() : folder->claim_recent();
    for (std::uint32_t uid : recent)
      if (uid > last) view_.recent.insert(uid);
    untagged(fmt::format("{} EXISTS", view_.uids.size()));
    untagged(fmt::format("{} RECENT", view_.recent.size()));
  }
  if (!deferred) view_.version = store_.version();
}

void ServerSession::finish(const std::string& tag, std::string_view status, std::string_view text) {
  send_updates(expunge_allowed_);
  if (closed_) return;
  output_ += fmt::format("{} {} {}\r\n", tag, status, text);
}

void ServerSession::untagged(std::string_view line) {
  output_ += "* ";
  output_ += line;
  output_ += "\r\n";
}

void ServerSession::event(ServerEvent::Kind kind, std::string detail, std::uint32_t uid,
                          std::string message_id) {
  events_.push_back(ServerEvent{kind, std::move(detail), uid, std::move(message_id)});
}

// ---- Client ----

namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// A response with the contents of its literals replaced by their sizes, for events.
std::string response_summary(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t crlf = text.find("\r\n", pos);
    if (crlf == std::string_view::npos) {
      out += text.substr(pos);
      break;
    }
    std::string_view line = text.substr(pos, crlf - pos);
    out += line;
    std::optional<std::size_t> n = trailing_literal(line);
    pos = crlf + 2 + (n ? *n : 0);
  }
  return out;
}

// Skips one value of a FETCH response that the client does not use.
void skip_value(Parser& p, int depth = 0) {
  if (depth > 64) throw Bad{"nested too deeply"};
  if (p.accept('(')) {
    while (!p.accept(')')) {
      if (p.at_end()) throw Bad{"unterminated list"};
      if (!p.accept(' ')) skip_value(p, depth + 1);
    }
    return;
  }
  if (p.peek() == '"' || p.peek() == '{') {
    p.string();
    return;
  }
  if (p.accept('\\')) {
    p.atom();
    return;
  }
  p.astring();
}

// The unfolded value of a header field (Subject, From), "" when there is none (RFC 5322
// 2.2.3, 3.6).
std::string header_field(std::string_view header, std::string_view name) {
  std::string unfolded;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == '\r' && i + 2 < header.size() && header[i + 1] == '\n' &&
        (header[i + 2] == ' ' || header[i + 2] == '\t')) {
      ++i;
      continue;
    }
    unfolded += header[i];
  }
  std::size_t start = 0;
  while (start < unfolded.size()) {
    std::size_t end = unfolded.find("\r\n", start);
    if (end == std::string::npos) end = unfolded.size();
    std::string_view line(unfolded.data() + start, end - start);
    if (line.size() > name.size() && line[name.size()] == ':' && starts_with_ci(line, name)) {
      std::string_view value = line.substr(name.size() + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      return std::string(value);
    }
    start = end + 2;
  }
  return "";
}

}  // namespace

ClientSession::ClientSession(ClientConfig config)
    : config_(std::move(config)), view_(config_.known) {}

std::string ClientSession::take_output() {
  return std::exchange(output_, {});
}

std::vector<ClientEvent> ClientSession::take_events() {
  return std::exchange(events_, {});
}

void ClientSession::receive(std::string_view bytes) {
  for (char c : bytes) {
    if (closed_) return;
    if (literal_left_ > 0) {
      response_ += c;
      --literal_left_;
      continue;
    }
    if (cr_ && c == '\n') {
      cr_ = false;
      end_of_line();
      continue;
    }
    if (cr_) response_ += '\r';
    cr_ = c == '\r';
    if (!cr_) response_ += c;
  }
}

void ClientSession::end_of_line() {
  // A response line ending in "{n}" continues after n octets (RFC 3501 section 4.3).
  std::size_t line_start = response_.rfind("\r\n");
  line_start = line_start == std::string::npos ? 0 : line_start + 2;
  if (std::optional<std::size_t> n =
          trailing_literal(std::string_view(response_).substr(line_start))) {
    response_ += "\r\n";
    literal_left_ = *n;
    return;
  }
  std::string text = std::exchange(response_, {});
  handle_response(text);
}

void ClientSession::handle_response(std::string_view text) {
  events_.push_back(
      ClientEvent{ClientEvent::Kind::response_received, response_summary(text), {}, {}});

  if (text.substr(0, 1) == "+" && step_ == Step::idle) {
    // RFC 2177 3: the server is idling; updates may come from now on.
    events_.push_back(ClientEvent{ClientEvent::Kind::idle_started, std::string(text), {}, {}});
    if (stop_) send_done();
    return;
  }
  if (text.substr(0, 1) == "+") {
    // Command continuation request (RFC 3501 7.5): send the next piece of the command.
    if (segments_.empty()) return;
    output_ += segments_.front();
    segments_.erase(segments_.begin());
    return;
  }
  if (text.substr(0, 2) == "* ") return handle_untagged(text.substr(2));

  std::size_t sp = text.find(' ');
  if (sp == std::string_view::npos || text.substr(0, sp) != tag_) return;  // not ours
  std::string_view rest = text.substr(sp + 1);
  std::size_t sp2 = rest.find(' ');
  handle_tagged(upper(rest.substr(0, sp2)),
                sp2 == std::string_view::npos ? std::string_view() : rest.substr(sp2 + 1));
}

void ClientSession::handle_untagged(std::string_view text) {
  if (step_ == Step::greeting) {
    if (starts_with_ci(text, "OK")) {
      return send(Step::login, {"LOGIN", string_arg(config_.user), string_arg(config_.password)});
    }
    if (starts_with_ci(text, "PREAUTH")) return after_login();
    fail(fmt::format("server refused the session: {}", text));
    closed_ = true;
    return;
  }

  if (starts_with_ci(text, "BYE")) {
    if (step_ != Step::logout) {
      fail(fmt::format("server closed the session: {}", text));
      closed_ = true;
    }
    return;
  }

  // "n EXISTS", "SEARCH n...", "n FETCH (...)", "OK [UIDVALIDITY n]", "LIST (...) d name".
  try {
    Parser p(text);
    if (p.accept_word("OK")) {
      if (p.accept(' ') && p.accept('[') && p.accept_word("UIDVALIDITY") && p.accept(' '))
        uidvalidity_ = p.nz_number();
      return;
    }
    if (p.accept_word("LIST")) {
      if (step_ != Step::list) return;
      p.sp();
      p.expect('(', "expected (");
      bool noselect = false;
      while (!p.accept(')')) {
        p.accept(' ');
        noselect |= iequals(p.flag(), "\\Noselect");
      }
      p.sp();
      if (!p.accept_word("NIL")) p.string();
      p.sp();
      std::string name = p.mailbox();
      // A name listed twice is synced once (and a server cannot make the sync recurse).
      if (!noselect && listed_set_.insert(name).second) listed_.push_back(name);
      return;
    }
    if (p.accept_word("SEARCH")) {
      if (step_ != Step::search) return;
      while (p.accept(' ')) to_fetch_.push_back(p.nz_number());
      return;
    }
    if (!is_digit(p.peek())) return;
    std::uint32_t n = p.number();
    p.sp();
    std::string what = p.word();
    if (what == "EXISTS") {
      exists_ = n;
      if (step_ == Step::idle && n > view_["INBOX"].messages.size()) send_done();
      return;
    }
    if (what == "EXPUNGE") {
      if (exists_ > 0) --exists_;
      idle_update("expunged", n, {}, false, false);
      return;
    }
    if (what != "FETCH") return;
    p.sp();
    p.expect('(', "expected (");
    FetchedMessage message;
    bool has_text = false, has_flags = false, has_header = false;
    while (!p.accept(')')) {
      p.accept(' ');
      std::string item = p.word();
      std::string section;
      if (item == "BODY" && p.peek() == '[') {
        p.accept('[');
        while (!p.at_end() && p.peek() != ']') {
          section += p.peek();
          p.accept(p.peek());
        }
        p.accept(']');
        if (p.accept('<')) {
          p.number();
          p.expect('>', "expected >");
        }
      }
      p.sp();
      if (item == "UID") {
        message.uid = p.nz_number();
      } else if (item == "FLAGS") {
        p.expect('(', "expected (");
        while (!p.accept(')')) {
          p.accept(' ');
          message.flags.insert(p.flag());
        }
        has_flags = true;
      } else if (item == "RFC822.SIZE") {
        message.size = p.number();
      } else if (item == "BODY" &&
                 (section == "HEADER" || section.rfind("HEADER.FIELDS ", 0) == 0) &&
                 (p.peek() == '"' || p.peek() == '{')) {
        message.header = p.string();
        has_header = true;
      } else if ((item == "BODY" || item == "RFC822") && (p.peek() == '"' || p.peek() == '{')) {
        message.text = p.string();
        has_text = true;
      } else {
        skip_value(p);
      }
    }
    if (step_ == Step::sync_flags && has_flags && message.uid != 0) {
      synced_.push_back(ViewMessage{message.uid, message.flags, "", ""});
      return;
    }
    if (step_ == Step::sync_headers && has_header && message.uid != 0) {
      for (ViewMessage& m : view_[syncing_].messages)
        if (m.uid == message.uid) {
          m.subject = header_field(message.header, "Subject");
          m.from = header_field(message.header, "From");
        }
      return;
    }
    if (step_ == Step::idle || step_ == Step::idle_done || step_ == Step::idle_fetch)
      return idle_update("fetch", n, message, has_flags, has_header);
    if (step_ == Step::headers && has_header && message.uid != 0) {
      events_.push_back(ClientEvent{
          ClientEvent::Kind::header_fetched, fmt::format("UID {}", message.uid), message, {}});
      headers_.push_back(std::move(message));
    } else if (step_ == Step::fetch && has_text &&
               (message.uid == 0 || message.uid == current_uid_)) {
      message.uid = current_uid_;
      current_ = std::move(message);
    } else if (step_ == Step::store && has_flags && !fetched_.empty() &&
               (message.uid == 0 || message.uid == current_uid_)) {
      fetched_.back().flags = message.flags;
    }
  } catch (const Bad&) {
    // A response the client cannot parse is ignored; the tagged reply still comes.
  }
}

void ClientSession::handle_tagged(std::string_view status, std::string_view text) {
  bool ok = status == "OK";
  switch (step_) {
    case Step::greeting:
    case Step::done:
      return;

    case Step::login:
      if (!ok) {
        fail(fmt::format("LOGIN failed: {}", text));
        return send(Step::logout, {"LOGOUT"});
      }
      return after_login();

    case Step::append:
      if (ok) {
        events_.push_back(
            ClientEvent{ClientEvent::Kind::message_appended, config_.append_folder, {}, {}});
        return send(Step::logout, {"LOGOUT"});
      }
      if (!created_ && text.find("[TRYCREATE]") != std::string_view::npos) {
        created_ = true;
        return send(Step::create, {"CREATE", string_arg(config_.append_folder)});
      }
      fail(fmt::format("APPEND failed: {}", text));
      return send(Step::logout, {"LOGOUT"});

    case Step::create:
      if (!ok) {
        fail(fmt::format("CREATE failed: {}", text));
        return send(Step::logout, {"LOGOUT"});
      }
      if (config_.append_message) return send_append();
      return send_move();

    case Step::move:
      if (ok) {
        events_.push_back(ClientEvent{ClientEvent::Kind::message_moved, *config_.move_to, {}, {}});
        return task_done();
      }
      if (!created_ && text.find("[TRYCREATE]") != std::string_view::npos) {
        created_ = true;
        return send(Step::create, {"CREATE", string_arg(*config_.move_to)});
      }
      fail(fmt::format("MOVE failed: {}", text));
      return send(Step::logout, {"LOGOUT"});

    case Step::select:
      if (!ok) {
        fail(fmt::format("SELECT failed: {}", text));
        return send(Step::logout, {"LOGOUT"});
      }
      to_fetch_.clear();
      selected_ = config_.folder;
      read_write_ = true;
      if (config_.act_subject)
        return send(Step::search, {"UID", "SEARCH", "SUBJECT", string_arg(*config_.act_subject)});
      if (exists_ == 0) return task_done();
      return send(Step::search, {"UID", "SEARCH", "UNSEEN"});

    case Step::search:
      if (!ok) {
        fail(fmt::format("SEARCH failed: {}", text));
        return send(Step::logout, {"LOGOUT"});
      }
      std::sort(to_fetch_.begin(), to_fetch_.end());
      if (config_.act_subject) {
        if (to_fetch_.empty()) {
          fail(fmt::format("no message with Subject \"{}\" in {}", *config_.act_subject,
                           config_.folder));
          return send(Step::logout, {"LOGOUT"});
        }
        current_uid_ = to_fetch_.back();
        to_fetch_.clear();
        if (config_.move_to) return send_move();
        if (config_.act_fetch) {
          to_fetch_.push_back(current_uid_);
          return next_message();
        }
        return send(Step::store,
                    {"UID", "STORE", std::to_string(current_uid_), "+FLAGS", "(\\Seen)"});
      }
      if (config_.headers_first && !to_fetch_.empty()) {
        std::string set;
        for (std::uint32_t uid : to_fetch_) set += (set.empty() ? "" : ",") + std::to_string(uid);
        headers_.clear();
        return send(Step::headers, {"UID", "FETCH", set, "(RFC822.SIZE BODY.PEEK[HEADER])"});
      }
      return next_message();

    case Step::headers:
      // Open only what the user chose, by Subject; the rest stays on the server, unseen.
      to_fetch_.clear();
      if (ok) {
        for (const FetchedMessage& m : headers_)
          if (config_.open.count(header_field(m.header, "Subject"))) to_fetch_.push_back(m.uid);
      }
      return next_message();

    case Step::fetch:
      if (ok && current_) {
        fetched_.push_back(*current_);
        events_.push_back(ClientEvent{ClientEvent::Kind::message_fetched,
                                      fmt::format("UID {}", current_uid_),
                                      *current_,
                                      {}});
        current_.reset();
        return send(Step::store,
                    {"UID", "STORE", std::to_string(current_uid_), "+FLAGS", "(\\Seen)"});
      }
      current_.reset();
      if (config_.act_subject) {  // the message to open is gone, or the server refused
        fail(fmt::format("FETCH failed: {}", ok ? "no message text returned" : text));
        return send(Step::logout, {"LOGOUT"});
      }
      return next_message();  // gone meanwhile: go on with the others

    case Step::store:
      if (ok && config_.act_subject)
        events_.push_back(ClientEvent{
            ClientEvent::Kind::message_seen, fmt::format("UID {}", current_uid_), {}, {}});
      else if (!ok && config_.act_subject)
        fail(fmt::format("STORE failed: {}", text));
      return next_message();

    case Step::list:
      if (!ok) {
        fail(fmt::format("LIST failed: {}", text));
        return send(Step::logout, {"LOGOUT"});
      }
      for (auto it = view_.begin(); it != view_.end();)  // folders deleted on the server
        it =
            std::count(listed_.begin(), listed_.end(), it->first) ? std::next(it) : view_.erase(it);
      // INBOX first, still selected from the task; last when IDLE will watch it.
      to_sync_.clear();
      for (const std::string& folder : listed_)
        if (folder != "INBOX") to_sync_.push_back(folder);
      if (std::count(listed_.begin(), listed_.end(), "INBOX"))
        to_sync_.insert(config_.idle ? to_sync_.end() : to_sync_.begin(), "INBOX");
      return next_folder();

    case Step::examine:
      if (!ok) {  // gone meanwhile
        view_.erase(syncing_);
        selected_.clear();
        return next_folder();
      }
      selected_ = syncing_;
      return fetch_flags();

    case Step::sync_flags: {
      if (!ok) return next_folder();
      // RFC 3501 2.3.1.1: a new UIDVALIDITY means the old UIDs name nothing any more.
      const FolderView old = view_[syncing_];
      FolderView now{uidvalidity_, {}};
      std::vector<std::uint32_t> unknown;  // sent as ranges, "1:3000" (RFC 3501 9)
      std::sort(synced_.begin(), synced_.end(),
                [](const ViewMessage& a, const ViewMessage& b) { return a.uid < b.uid; });
      for (ViewMessage& m : synced_) {
        auto known = std::find_if(old.messages.begin(), old.messages.end(),
                                  [&m](const ViewMessage& k) { return k.uid == m.uid; });
        if (old.uidvalidity == uidvalidity_ && known != old.messages.end()) {
          m.subject = known->subject;
          m.from = known->from;
        } else {
          unknown.push_back(m.uid);
        }
        now.messages.push_back(std::move(m));
      }
      view_[syncing_] = std::move(now);
      if (!unknown.empty())
        return send(Step::sync_headers, {"UID", "FETCH", uid_set(unknown),
                                         "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"});
      events_.push_back(ClientEvent{ClientEvent::Kind::folder_synced, syncing_, {}, {}});
      return next_folder();
    }

    case Step::sync_headers:
      events_.push_back(ClientEvent{ClientEvent::Kind::folder_synced, syncing_, {}, {}});
      return next_folder();

    case Step::idle:  // refused, or ended without DONE
      fail(fmt::format("IDLE failed: {}", text));
      return send(Step::logout, {"LOGOUT"});

    case Step::idle_done: {
      if (!ok) {
        fail(fmt::format("IDLE failed: {}", text));
        return send(Step::logout, {"LOGOUT"});
      }
      if (stop_) return send(Step::logout, {"LOGOUT"});
      return fetch_new_or_idle();
    }

    case Step::idle_fetch:
      if (stop_) return send(Step::logout, {"LOGOUT"});
      // More mail may have come during the fetch (its EXISTS is not repeated); only a fetch
      // that brought something is followed by another, so a server that overstates EXISTS
      // gets IDLE again.
      if (view_["INBOX"].messages.size() == fetched_from_) return send_idle();
      return fetch_new_or_idle();

    case Step::logout:
      step_ = Step::done;
      finished_ = true;
      closed_ = true;
      events_.push_back(ClientEvent{ClientEvent::Kind::finished, std::string(text), {}, {}});
      return;
  }
}

void ClientSession::after_login() {
  if (config_.append_message) return send_append();
  send(Step::select, {"SELECT", string_arg(config_.folder)});
}

void ClientSession::send_append() {
  send(Step::append, {"APPEND", string_arg(config_.append_folder), "(\\Seen)",
                      Arg(*config_.append_message, true)});
}

void ClientSession::send_move() {
  send(Step::move, {"UID", "MOVE", std::to_string(current_uid_), string_arg(*config_.move_to)});
}

void ClientSession::task_done() {
  if (failed_ || stop_) return send(Step::logout, {"LOGOUT"});
  if (config_.sync) {
    listed_.clear();
    listed_set_.clear();
    return send(Step::list, {"LIST", "\"\"", "\"*\""});
  }
  if (config_.idle) return send_idle();
  send(Step::logout, {"LOGOUT"});
}

void ClientSession::next_folder() {
  if (to_sync_.empty()) {
    if (config_.idle && !stop_) return send_idle();
    return send(Step::logout, {"LOGOUT"});
  }
  syncing_ = to_sync_.front();
  to_sync_.erase(to_sync_.begin());
  bool read_write = config_.idle && syncing_ == "INBOX";  // IDLE will watch it
  if (selected_ == syncing_ && (read_write_ || !read_write)) return fetch_flags();
  read_write_ = read_write;
  send(Step::examine, {read_write ? "SELECT" : "EXAMINE", string_arg(syncing_)});
}

void ClientSession::fetch_flags() {
  synced_.clear();
  if (exists_ == 0) {  // nothing to fetch: the folder is empty
    step_ = Step::sync_flags;
    return handle_tagged("OK", "");
  }
  send(Step::sync_flags, {"UID", "FETCH", "1:*", "(FLAGS)"});
}

void ClientSession::fetch_new_or_idle() {
  const auto& inbox = view_["INBOX"].messages;
  if (exists_ <= inbox.size()) return send_idle();
  fetched_from_ = inbox.size();
  std::uint32_t next = inbox.empty() ? 1 : inbox.back().uid + 1;
  send(Step::idle_fetch, {"UID", "FETCH", fmt::format("{}:*", next),
                          "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"});
}

void ClientSession::send_idle() {
  done_sent_ = false;
  send(Step::idle, {"IDLE"});
}

void ClientSession::send_done() {
  if (step_ != Step::idle || done_sent_) return;
  done_sent_ = true;
  output_ += "DONE\r\n";
  step_ = Step::idle_done;
}

void ClientSession::refresh() {
  send_done();
}

void ClientSession::stop() {
  stop_ = true;
  send_done();
}

void ClientSession::idle_update(const std::string& kind, std::uint32_t n,
                                const FetchedMessage& fetched, bool has_flags, bool has_header) {
  if (selected_ != "INBOX" ||
      (step_ != Step::idle && step_ != Step::idle_done && step_ != Step::idle_fetch))
    return;
  auto& messages = view_["INBOX"].messages;
  if (kind == "expunged") {
    if (n == 0 || n > messages.size()) return;
    ViewMessage gone = messages[n - 1];
    messages.erase(messages.begin() + (n - 1));
    events_.push_back(ClientEvent{ClientEvent::Kind::view_changed, "expunged", {}, gone});
    return;
  }
  std::uint32_t last = messages.empty() ? 0 : messages.back().uid;
  if (has_header && fetched.uid > last) {
    messages.push_back(ViewMessage{fetched.uid, fetched.flags,
                                   header_field(fetched.header, "Subject"),
                                   header_field(fetched.header, "From")});
    events_.push_back(ClientEvent{ClientEvent::Kind::view_changed, "new", {}, messages.back()});
    return;
  }
  if (!has_flags) return;
  ViewMessage* m = nullptr;
  for (ViewMessage& known : messages)
    if (fetched.uid != 0 && known.uid == fetched.uid) m = &known;
  if (fetched.uid == 0 && n >= 1 && n <= messages.size()) m = &messages[n - 1];
  if (m == nullptr || m->flags == fetched.flags) return;
  m->flags = fetched.flags;
  events_.push_back(ClientEvent{ClientEvent::Kind::view_changed, "flags", {}, *m});
}

void ClientSession::next_message() {
  if (to_fetch_.empty()) return task_done();
  current_uid_ = to_fetch_.front();
  to_fetch_.erase(to_fetch_.begin());
  send(Step::fetch, {"UID", "FETCH", std::to_string(current_uid_), "(BODY.PEEK[] FLAGS)"});
}

ClientSession::Arg ClientSession::string_arg(std::string_view s) {
  if (std::optional<std::string> text = astring_or_quoted(s)) return Arg(*text);
  return Arg(std::string(s), true);
}

void ClientSession::send(Step step, std::vector<Arg> args) {
  // The command is cut after each literal's "{n}" CRLF; each later piece waits for the
  // server's continuation request (RFC 3501 section 7.5).
  tag_ = fmt::format("a{}", next_tag_++);
  step_ = step;
  segments_.clear();
  std::string current = tag_;
  for (const Arg& arg : args) {
    current += ' ';
    if (arg.literal) {
      current += fmt::format("{{{}}}\r\n", arg.text.size());
      segments_.push_back(std::exchange(current, arg.text));
    } else {
      current += arg.text;
    }
  }
  segments_.push_back(current + "\r\n");
  output_ += segments_.front();
  segments_.erase(segments_.begin());
}

void ClientSession::fail(std::string detail) {
  failed_ = true;
  events_.push_back(ClientEvent{ClientEvent::Kind::failed, std::move(detail), {}, {}});
}

}  // namespace mailsim::imap

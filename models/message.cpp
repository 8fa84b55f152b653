#include "models/message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace mailsim::msg {

namespace {

constexpr std::string_view crlf = "\r\n";

bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_let_dig(char c) {
  return is_alpha(c) || is_digit(c);
}
bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 5321 4.1.2 Dot-string = Atom *("." Atom).
bool is_dot_string(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

// RFC 5321 4.1.2 sub-domain = Let-dig [Ldh-str]; at most 63 octets (RFC 1035 2.3.4).
bool is_sub_domain(std::string_view label) {
  if (label.empty() || label.size() > 63 || !is_let_dig(label.front()) || !is_let_dig(label.back()))
    return false;
  for (char c : label)
    if (!is_let_dig(c) && c != '-') return false;
  return true;
}

}  // namespace

bool is_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > max_domain_length) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!is_sub_domain(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

namespace {

// RFC 5321 4.1.3 IPv4-address-literal inside the brackets: Snum 3("." Snum), Snum <= 255.
bool is_ipv4_literal(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    std::size_t digits = 0;
    int value = 0;
    while (i < s.size() && is_digit(s[i]) && digits < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || value > 255) return false;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// Civil date from days since 1970-01-01 (the proleptic Gregorian calendar).
void civil_from_days(std::int64_t days, std::int64_t& year, int& month, int& day) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// RFC 5322 3.2.5 phrase: kept as atoms when it can be, else one quoted-string.
std::string format_phrase(std::string_view name) {
  bool plain = !name.empty() && !is_wsp(name.front()) && !is_wsp(name.back());
  for (char c : name)
    if (!is_atext(c) && c != ' ' && static_cast<unsigned char>(c) < 0x80) plain = false;
  if (plain) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// Header text may not carry a line end of its own (that would inject fields).
std::string single_line(std::string_view value) {
  std::string out(value);
  for (char& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

// Every line end of a composed body made CRLF, and a final CRLF (RFC 5322 2.3).
std::string normalize_body(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 2);
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\r') {
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
      out += crlf;
    } else if (c == '\n') {
      out += crlf;
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.compare(out.size() - 2, 2, crlf) != 0) out += crlf;
  return out;
}

std::string join_addresses(const std::vector<std::string>& addresses) {
  std::string out;
  for (const auto& address : addresses) {
    if (!out.empty()) out += ", ";
    out += address;
  }
  return out;
}

// RFC 2045 5.1 parameter value as a quoted-string (RFC 5322 3.2.4), whatever it holds.
std::string quoted_string(std::string_view value) {
  std::string out = "\"";
  for (char c : single_line(value)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool is_address_literal(std::string_view text) {
  return text.size() >= 2 && text.front() == '[' && text.back() == ']' &&
         is_ipv4_literal(text.substr(1, text.size() - 2));
}

bool is_atext(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  static constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return specials.find(c) != std::string_view::npos;
}

std::string Address::to_string() const {
  if (is_dot_string(local_part)) return local_part + "@" + domain;
  std::string out = "\"";
  for (char c : local_part) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += "\"@";
  out += domain;
  return out;
}

std::optional<Address> parse_address(std::string_view text) {
  Address address;
  std::size_t i = 0;
  if (!text.empty() && text.front() == '"') {
    // RFC 5321 4.1.2 Quoted-string: qtextSMTP, or a backslash before any graphic or space.
    for (i = 1; i < text.size() && text[i] != '"'; ++i) {
      char c = text[i];
      if (c == '\\') {
        if (++i >= text.size() || text[i] < 32 || text[i] > 126) return std::nullopt;
        address.local_part += text[i];
      } else if (c >= 32 && c <= 126) {
        address.local_part += c;
      } else {
        return std::nullopt;
      }
    }
    if (i >= text.size()) return std::nullopt;
    ++i;  // the closing quote
    if (address.local_part.empty()) return std::nullopt;
  } else {
    i = text.find('@');
    if (i == std::string_view::npos || !is_dot_string(text.substr(0, i))) return std::nullopt;
    address.local_part = std::string(text.substr(0, i));
  }
  if (i > max_local_part_length || i >= text.size() || text[i] != '@') return std::nullopt;

  std::string_view domain = text.substr(i + 1);
  if (!is_domain(domain) && !is_address_literal(domain)) return std::nullopt;
  address.domain = std::string(domain);
  return address;
}

std::string format_date(std::int64_t unix_seconds, int tz_offset_minutes) {
  static constexpr std::array<const char*, 7> day_names = {"Sun", "Mon", "Tue", "Wed",
                                                           "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> month_names = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

  const std::int64_t local = unix_seconds + std::int64_t{tz_offset_minutes} * 60;
  const std::int64_t days = floor_div(local, 86400);
  const std::int64_t second_of_day = local - days * 86400;
  std::int64_t year = 0;
  int month = 0;
  int day = 0;
  civil_from_days(days, year, month, day);
  const std::int64_t weekday = ((days % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday

  const int zone = std::abs(tz_offset_minutes);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} {}{:02}{:02}", day_names[weekday], day,
                     month_names[month - 1], year, second_of_day / 3600, (second_of_day / 60) % 60,
                     second_of_day % 60, tz_offset_minutes < 0 ? '-' : '+', zone / 60, zone % 60);
}

std::string make_message_id(std::string_view unique_left, std::string_view domain) {
  return fmt::format("<{}@{}>", unique_left, domain);
}

std::string fold_header(std::string_view name, std::string_view value) {
  std::string line = fmt::format("{}: {}", name, single_line(value));
  std::string out;
  const std::size_t first_break = name.size() + 2;  // never fold right after the colon
  std::string_view rest = line;
  std::size_t min_break = first_break;
  const std::size_t last_text = line.find_last_not_of(" \t");
  while (rest.size() > recommended_line_length) {
    // RFC 5322 3.2.2: no line of a folded field may be white space only, so a break needs
    // text before it on this line and text after it.
    const std::size_t offset = static_cast<std::size_t>(rest.data() - line.data());
    const std::size_t first_text = rest.find_first_not_of(" \t");
    auto can_break = [&](std::size_t i) {
      return is_wsp(rest[i]) && first_text < i && last_text != std::string_view::npos &&
             offset + i < last_text;
    };
    std::size_t at = std::string_view::npos;
    for (std::size_t i = recommended_line_length; i > min_break; --i)
      if (can_break(i)) {
        at = i;
        break;
      }
    if (at == std::string_view::npos) {
      // No white space early enough: break at the first one after, giving a longer line.
      for (std::size_t i = recommended_line_length + 1; i < rest.size(); ++i)
        if (can_break(i)) {
          at = i;
          break;
        }
    }
    if (at == std::string_view::npos) break;
    out.append(rest.substr(0, at));
    out += crlf;
    rest.remove_prefix(at);  // the white space starts the continuation line
    min_break = 1;
  }
  out.append(rest);
  out += crlf;
  return out;
}

std::vector<std::string> envelope_recipients(const Composition& c) {
  std::vector<std::string> all;
  for (const auto* list : {&c.to, &c.cc, &c.bcc})
    for (const auto& address : *list)
      if (std::find(all.begin(), all.end(), address) == all.end()) all.push_back(address);
  return all;
}

std::string make_boundary(std::string_view message_id) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : message_id) hash = (hash ^ c) * 0x100000001b3ULL;
  return fmt::format("=_mailsim_{:016x}", hash);
}

std::string build_message(const Composition& c) {
  std::string from =
      c.from_name.empty() ? c.from : fmt::format("{} <{}>", format_phrase(c.from_name), c.from);
  const std::string body = normalize_body(c.body);
  const char* text_encoding = has_8bit(body) ? "8bit" : "7bit";

  std::string out;
  out += fold_header("Date", format_date(c.date_unix, c.tz_offset_minutes));
  out += fold_header("From", from);
  if (!c.to.empty()) out += fold_header("To", join_addresses(c.to));
  if (!c.cc.empty()) out += fold_header("Cc", join_addresses(c.cc));
  out += fold_header("Subject", c.subject);
  if (!c.message_id.empty()) out += fold_header("Message-ID", c.message_id);
  if (!c.in_reply_to.empty()) out += fold_header("In-Reply-To", c.in_reply_to);
  if (!c.references.empty()) out += fold_header("References", c.references);
  out += "MIME-Version: 1.0\r\n";
  if (c.attachments.empty()) {
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += fmt::format("Content-Transfer-Encoding: {}\r\n", text_encoding);
    out += crlf;
    out += body;
    return out;
  }

  // RFC 2046 5.1.1: the boundary must not occur in any part; base64 never holds "=_".
  std::string boundary = make_boundary(c.message_id);
  while (body.find("--" + boundary) != std::string::npos) boundary += "_";
  out += fold_header("Content-Type", fmt::format("multipart/mixed; boundary=\"{}\"", boundary));
  out += fmt::format("Content-Transfer-Encoding: {}\r\n", text_encoding);  // RFC 2045 6.4
  out += crlf;
  out += fmt::format("--{}\r\n", boundary);
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += fmt::format("Content-Transfer-Encoding: {}\r\n", text_encoding);
  out += crlf;
  out += body;
  out += crlf;  // RFC 2046 5.1.1: this CRLF is the delimiter's; the text keeps its own line end
  for (const auto& attachment : c.attachments) {
    const std::string name = quoted_string(attachment.filename);
    out += fmt::format("--{}\r\n", boundary);
    out += fold_header("Content-Type",
                       fmt::format("{}; name={}", single_line(attachment.content_type), name));
    out += "Content-Transfer-Encoding: base64\r\n";
    out += fold_header("Content-Disposition", fmt::format("attachment; filename={}", name));
    out += crlf;
    out += base64_encode_lines(attachment.data);
  }
  out += fmt::format("--{}--\r\n", boundary);
  return out;
}

std::string mailbox_address(std::string_view value) {
  std::size_t open = value.rfind('<');
  std::size_t close = value.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open)
    return std::string(trim_wsp(value.substr(open + 1, close - open - 1)));
  return std::string(trim_wsp(value));
}

ReplyHeaders reply_headers(std::string_view parent) {
  ReplyHeaders reply;
  std::optional<std::string> from, reply_to, subject, message_id, in_reply_to, references;
  for (auto& field : parse_headers(parent)) {
    auto keep = [&field](std::optional<std::string>& slot, std::string_view name) {
      if (!slot && iequals(field.name, name)) slot = field.value;
    };
    keep(from, "From");
    keep(reply_to, "Reply-To");
    keep(subject, "Subject");
    keep(message_id, "Message-ID");
    keep(in_reply_to, "In-Reply-To");
    keep(references, "References");
  }
  reply.to = mailbox_address(reply_to.value_or(from.value_or("")));

  // RFC 5322 3.6.5: "Re: " once, however many replies came before.
  std::string_view original = subject ? std::string_view(*subject) : std::string_view{};
  bool already = original.size() >= 3 && iequals(original.substr(0, 3), "re:");
  reply.subject = already ? std::string(original) : "Re: " + std::string(original);

  // RFC 5322 3.6.4: the parent's References, else its In-Reply-To if it names one message,
  // followed by the parent's Message-ID.
  reply.in_reply_to = message_id.value_or("");
  std::string chain;
  if (references) {
    chain = *references;
  } else if (in_reply_to && std::count(in_reply_to->begin(), in_reply_to->end(), '<') == 1) {
    chain = *in_reply_to;
  }
  if (!reply.in_reply_to.empty()) chain += (chain.empty() ? "" : " ") + reply.in_reply_to;
  reply.references = chain;
  return reply;
}

std::vector<HeaderField> parse_headers(std::string_view message) {
  std::vector<HeaderField> fields;
  bool in_field = false;
  std::size_t start = 0;
  while (start < message.size()) {
    std::size_t end = message.find(crlf, start);
    std::string_view line =
        message.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? message.size() : end + 2;
    if (line.empty()) break;  // the blank line before the body
    if (is_wsp(line.front())) {
      if (in_field) fields.back().value.append(line);  // unfolding removes only the CRLF
      continue;
    }
    std::size_t colon = line.find(':');
    in_field = colon != std::string_view::npos && colon > 0;
    if (in_field)
      fields.push_back(
          {std::string(trim_wsp(line.substr(0, colon))), std::string(line.substr(colon + 1))});
  }
  for (auto& field : fields) field.value = std::string(trim_wsp(field.value));
  return fields;
}

std::optional<std::string> find_header(std::string_view message, std::string_view name) {
  for (auto& field : parse_headers(message))
    if (iequals(field.name, name)) return std::move(field.value);
  return std::nullopt;
}

std::string prepend_header(std::string_view message, std::string_view name,
                           std::string_view value) {
  std::string out = fold_header(name, value);
  out.append(message);
  return out;
}

std::string_view body_of(std::string_view message) {
  if (message.substr(0, 2) == crlf) return message.substr(2);
  std::size_t blank = message.find("\r\n\r\n");
  return blank == std::string_view::npos ? std::string_view{} : message.substr(blank + 4);
}

std::string dot_stuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 5);
  bool line_start = true;
  char previous = '\0';
  for (char c : message) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = previous == '\r' && c == '\n';
    previous = c;
  }
  if (!message.empty() && !line_start) out += crlf;
  out += ".\r\n";
  return out;
}

std::string dot_unstuff(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  bool line_start = true;
  char previous = '\0';
  for (char c : data) {
    if (!(line_start && c == '.')) out += c;
    line_start = previous == '\r' && c == '\n';
    previous = c;
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16 |
                      static_cast<unsigned char>(bytes[i + 1]) << 8 |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += base64_alphabet[(n >> 6) & 63];
    out += base64_alphabet[n & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (left == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += left == 2 ? base64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_encode_lines(std::string_view bytes) {
  const std::string flat = base64_encode(bytes);
  std::string out;
  out.reserve(flat.size() + (flat.size() / base64_line_length + 1) * 2);
  for (std::size_t at = 0; at < flat.size(); at += base64_line_length) {
    out.append(flat, at, base64_line_length);
    out += crlf;
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t n = 0;
    for (int k = 0; k < 4; ++k) {
      int v = k >= 4 - pad ? 0 : base64_value(text[i + k]);
      if (v < 0) return std::nullopt;  // includes '=' anywhere but the end
      n = n << 6 | static_cast<std::uint32_t>(v);
    }
    if ((pad == 1 && (n & 0xff) != 0) || (pad == 2 && (n & 0xffff) != 0))
      return std::nullopt;  // non-zero pad bits: not the canonical encoding
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

bool has_8bit(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

}  // namespace mailsim::msg

#include "models/http.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>

#include <fmt/format.h>

namespace mailsim::http {

namespace {

constexpr std::string_view crlf = "\r\n";

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// tchar of rfc9110 5.6.2, the characters of a method or a field name.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// A field value may hold VCHAR, obs-text, SP and HTAB, never CR, LF, NUL or other controls.
bool is_field_value(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\t') return false;
    if (c == 0x7f) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The comma-separated elements of a list field (rfc9110 5.6.1), trimmed, empties dropped.
std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> out;
  while (true) {
    auto comma = value.find(',');
    auto item = trim_ows(value.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

// "HTTP/" DIGIT "." DIGIT (rfc9112.txt 2.3); HTTP-version is case-sensitive.
bool is_http_version(std::string_view v) {
  return v.size() == 8 && v.substr(0, 5) == "HTTP/" && is_digit(v[5]) && v[6] == '.' &&
         is_digit(v[7]);
}

bool status_forbids_content(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

bool is_chunked_last(const Headers& headers) {
  bool chunked = false;
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Transfer-Encoding")) continue;
    auto codings = split_list(value);
    if (!codings.empty()) chunked = iequals(codings.back(), "chunked");
  }
  return chunked;
}

bool has_framing_field(const Headers& headers) {
  return find_header(headers, "Content-Length") || find_header(headers, "Transfer-Encoding");
}

void append_fields(std::string& out, const Headers& headers) {
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += value;
    out += crlf;
  }
}

// The field section and body of a message whose start line is already in out.
void append_rest(std::string& out, const Headers& headers, const std::string& body,
                 bool add_length) {
  append_fields(out, headers);
  if (add_length) out += fmt::format("Content-Length: {}\r\n", body.size());
  out += crlf;
  if (is_chunked_last(headers))
    out += encode_chunked(body, std::max<std::size_t>(body.size(), 1));
  else
    out += body;
}

// The Content-Length of a field section (rfc9112.txt 6.3 rule 5): nullopt for none, -1 for
// an invalid value or differing values, -2 for a number beyond any limit.
std::optional<long long> content_length(const Headers& fields) {
  std::optional<long long> length;
  for (const auto& [name, value] : fields) {
    if (!iequals(name, "Content-Length")) continue;
    auto items = split_list(value);
    if (items.empty()) return -1;
    for (auto item : items) {
      if (!std::all_of(item.begin(), item.end(), is_digit)) return -1;
      while (item.size() > 1 && item.front() == '0') item.remove_prefix(1);
      if (item.size() > 15) return -2;
      long long n = std::stoll(std::string(item));
      if (length && *length != n) return -1;
      length = n;
    }
  }
  return length;
}

}  // namespace

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [field, value] : headers)
    if (iequals(field, name)) return value;
  return std::nullopt;
}

bool has_connection_option(const Headers& headers, std::string_view option) {
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Connection")) continue;
    for (auto item : split_list(value))
      if (iequals(item, option)) return true;
  }
  return false;
}

// rfc9112.txt 9.3: "close" ends it; else HTTP/1.1 persists and HTTP/1.0 needs keep-alive.
static bool persists(std::string_view version, const Headers& headers) {
  if (has_connection_option(headers, "close")) return false;
  if (version == "HTTP/1.0") return has_connection_option(headers, "keep-alive");
  return true;
}

bool keeps_alive(const Request& request) {
  return persists(request.version, request.headers);
}

bool keeps_alive(const Response& response) {
  return persists(response.version, response.headers);
}

std::string encode_chunked(std::string_view body, std::size_t chunk_size) {
  assert(chunk_size > 0);
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += chunk_size) {
    auto chunk = body.substr(at, chunk_size);
    out += fmt::format("{:x}\r\n", chunk.size());
    out += chunk;
    out += crlf;
  }
  out += "0\r\n\r\n";
  return out;
}

std::string_view reason_phrase(int status) {
  // The registered codes of rfc9110 section 15 (HTTP Semantics), plus rfc6585's 428, 429,
  // 431 and 511, which servers meet in practice.
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 305:
      return "Use Proxy";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 511:
      return "Network Authentication Required";
    default:
      return "";
  }
}

std::string head_bytes(const Request& request) {
  std::string out = fmt::format("{} {} {}\r\n", request.method, request.target, request.version);
  append_fields(out, request.headers);
  return out + std::string(crlf);
}

std::string head_bytes(const Response& response) {
  Response head = response;
  head.body.clear();
  std::string out = head.to_bytes();
  return out.substr(0, out.find("\r\n\r\n") + 4);
}

std::optional<std::string> Request::header(std::string_view name) const {
  return find_header(headers, name);
}

std::string Request::to_bytes() const {
  std::string out = fmt::format("{} {} {}\r\n", method, target, version);
  append_rest(out, headers, body, !body.empty() && !has_framing_field(headers));
  return out;
}

std::optional<std::string> Response::header(std::string_view name) const {
  return find_header(headers, name);
}

std::string Response::to_bytes() const {
  // The space after the status code is sent even without a reason phrase (rfc9112.txt 4).
  std::string_view phrase = reason.empty() ? reason_phrase(status) : std::string_view(reason);
  std::string out = fmt::format("{} {:03d} {}\r\n", version, status, phrase);
  append_rest(out, headers, body, !status_forbids_content(status) && !has_framing_field(headers));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The framing state machine shared by both parsers.

namespace detail {

Framer::Framer(ParserLimits limits, bool skip_empty_lines)
    : limits_(limits), skip_empty_lines_(skip_empty_lines) {}

void Framer::feed_bytes(std::string_view bytes) {
  if (failed_ || input_closed_) return;
  buffer_.append(bytes.data(), bytes.size());
  run();
}

void Framer::close_input() {
  if (failed_ || input_closed_) return;
  input_closed_ = true;
  run();
  if (failed_) return;
  if (state_ == State::body_until_close) {
    complete();
  } else if (!idle()) {
    fail(400, "connection closed inside a message");  // rfc9112.txt 8
  }
}

bool Framer::fail(int status, std::string reason) {
  failed_ = true;
  error_status_ = status;
  error_ = std::move(reason);
  return false;
}

void Framer::run() {
  while (!failed_ && step()) {
  }
  // Drop what is parsed, so that a long connection does not keep its whole history.
  if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ > 4096)) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
}

// The next CRLF-terminated line, or nullopt when it is not complete yet (or on failure).
// The line may hold at most `allowed` octets before its CRLF. Octets are judged in order and
// the first bad one decides: one past the allowance fails with `status`, a bare LF or a CR
// followed by anything but LF with 400 (rfc9112.txt 2.2). A CR at the very end of the buffer
// waits for the next octet. So the verdict is the same however the input is chunked, and it
// comes as soon as the offending octet arrives. scanned_ keeps a long line from being
// rescanned on every feed.
std::optional<std::string_view> Framer::take_line(long long allowed, int status, const char* what) {
  std::string_view rest(buffer_);
  rest.remove_prefix(consumed_);
  for (std::size_t i = scanned_;; ++i) {
    if (static_cast<long long>(i) > allowed) {
      fail(status, fmt::format("{} too long", what));
      return std::nullopt;
    }
    if (i == rest.size()) {
      scanned_ = i;
      return std::nullopt;
    }
    if (rest[i] == '\n') {
      fail(400, "bare LF in a line");
      return std::nullopt;
    }
    if (rest[i] != '\r') continue;
    if (i + 1 == rest.size()) {
      scanned_ = i;
      return std::nullopt;
    }
    if (rest[i + 1] != '\n') {
      fail(400, "bare CR in a line");
      return std::nullopt;
    }
    consumed_ += i + crlf.size();
    scanned_ = 0;
    return rest.substr(0, i);
  }
}

long long Framer::header_allowance() const {
  return static_cast<long long>(limits_.max_header_section) -
         static_cast<long long>(header_bytes_ + crlf.size());
}

// One field line (rfc9112.txt 5, 5.1, 5.2).
bool Framer::add_field(std::string_view line, Headers& into) {
  if (line.front() == ' ' || line.front() == '\t')
    return fail(400, "obsolete line folding or whitespace before a field");
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return fail(400, "field line without a colon");
  auto name = line.substr(0, colon);
  if (!is_token(name)) return fail(400, "invalid field name");
  auto value = trim_ows(line.substr(colon + 1));
  if (!is_field_value(value)) return fail(400, "invalid character in a field value");
  into.emplace_back(std::string(name), std::string(value));
  return true;
}

// chunk-size [ chunk-ext ] (rfc9112.txt 7.1, 7.1.1).
bool Framer::on_chunk_size(std::string_view line) {
  std::size_t i = 0;
  std::size_t size = 0;
  std::size_t room = limits_.max_body - body_.size();
  for (; i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i])); ++i) {
    char c = lower(line[i]);
    size = size * 16 + static_cast<std::size_t>(is_digit(c) ? c - '0' : c - 'a' + 10);
    if (size > room) return fail(413, "chunked body too large");
  }
  if (i == 0) return fail(400, "invalid chunk size");
  auto ext = trim_ows(line.substr(i));
  if (!ext.empty() && ext.front() != ';') return fail(400, "invalid chunk size");
  if (size == 0) {
    state_ = State::trailer;
  } else {
    remaining_ = size;
    state_ = State::chunk_data;
  }
  return true;
}

// One step of the state machine; false when more input is needed (or on failure).
bool Framer::step() {
  std::string_view rest(buffer_);
  rest.remove_prefix(consumed_);

  switch (state_) {
    case State::start_line: {
      if (rest.empty()) return false;
      auto line = take_line(static_cast<long long>(limits_.max_start_line), 414, "start line");
      if (!line) return false;
      if (line->empty()) {
        // rfc9112.txt 2.2: a server SHOULD ignore empty lines before the request-line.
        return skip_empty_lines_ ? true : fail(400, "empty start line");
      }
      if (!on_start_line(*line)) return false;
      header_bytes_ = 0;
      fields_.clear();
      state_ = State::fields;
      return true;
    }

    case State::fields: {
      auto line = take_line(header_allowance(), 431, "header section");
      if (!line) return false;
      header_bytes_ += line->size() + crlf.size();
      if (!line->empty()) return add_field(*line, fields_);

      Body body = Body::none;
      std::size_t length = 0;
      if (!on_head(std::move(fields_), body, length)) return false;
      fields_.clear();
      body_.clear();
      switch (body) {
        case Body::none:
          complete();
          break;
        case Body::length:
          if (length > limits_.max_body) return fail(413, "body too large");
          remaining_ = length;
          state_ = State::body_length;
          if (remaining_ == 0) complete();
          break;
        case Body::chunked:
          state_ = State::chunk_size;
          break;
        case Body::until_close:
          state_ = State::body_until_close;
          break;
      }
      return true;
    }

    case State::body_length: {
      if (rest.empty()) return false;
      auto take = std::min(remaining_, rest.size());
      body_.append(rest.substr(0, take));
      consumed_ += take;
      remaining_ -= take;
      if (remaining_ == 0) complete();
      return true;
    }

    case State::body_until_close: {
      if (rest.empty()) return false;
      if (body_.size() + rest.size() > limits_.max_body) return fail(413, "body too large");
      body_.append(rest);
      consumed_ += rest.size();
      return false;
    }

    case State::chunk_size: {
      auto line = take_line(static_cast<long long>(limits_.max_chunk_line), 400, "chunk size line");
      if (!line) return false;
      return on_chunk_size(*line);
    }

    case State::chunk_data: {
      if (rest.empty()) return false;
      auto take = std::min(remaining_, rest.size());
      body_.append(rest.substr(0, take));
      consumed_ += take;
      remaining_ -= take;
      if (remaining_ == 0) state_ = State::chunk_end;
      return true;
    }

    case State::chunk_end: {
      if (rest.size() < crlf.size()) {
        if (!rest.empty() && rest.front() != '\r') return fail(400, "chunk data overruns");
        return false;
      }
      if (rest.substr(0, crlf.size()) != crlf) return fail(400, "chunk data overruns");
      consumed_ += crlf.size();
      state_ = State::chunk_size;
      return true;
    }

    case State::trailer: {
      // Trailer fields share the header section's limit; they are read and then discarded.
      auto line = take_line(header_allowance(), 431, "trailer section");
      if (!line) return false;
      header_bytes_ += line->size() + crlf.size();
      if (!line->empty()) return add_field(*line, trailers_);
      trailers_.clear();
      complete();
      return true;
    }
  }
  return false;
}

void Framer::complete() {
  state_ = State::start_line;
  remaining_ = 0;
  on_message(std::move(body_));
  body_.clear();
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Requests.

// rfc9110 10.1.1: "Expect: 100-continue" counts in HTTP/1.1 only; an HTTP/1.0 one is ignored.
static bool expects_continue(const Request& request) {
  auto expect = find_header(request.headers, "Expect");
  return request.version == "HTTP/1.1" && expect && iequals(*expect, "100-continue");
}

RequestParser::RequestParser(ParserLimits limits) : Framer(limits, true) {}

std::optional<Request> RequestParser::next() {
  if (ready_.empty()) return std::nullopt;
  Request request = std::move(ready_.front());
  ready_.pop_front();
  return request;
}

// request-line = method SP request-target SP HTTP-version (rfc9112.txt 3).
bool RequestParser::on_start_line(std::string_view line) {
  current_ = Request{};
  auto first = line.find(' ');
  auto last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) return fail(400, "malformed request line");
  auto method = line.substr(0, first);
  auto target = line.substr(first + 1, last - first - 1);
  auto version = line.substr(last + 1);
  if (!is_token(method)) return fail(400, "invalid method");
  // No whitespace is allowed in the request-target (rfc9112.txt 3.2).
  bool visible = std::all_of(target.begin(), target.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (target.empty() || !visible) return fail(400, "invalid request target");
  if (!is_http_version(version)) return fail(400, "invalid HTTP version");
  if (version[5] != '1') return fail(505, "unsupported HTTP major version");
  current_.method = std::string(method);
  current_.target = std::string(target);
  current_.version = std::string(version);
  return true;
}

bool RequestParser::on_head(Headers fields, Body& body, std::size_t& length) {
  current_.headers = std::move(fields);
  const Headers& h = current_.headers;

  // rfc9112.txt 3.2: exactly one Host field in an HTTP/1.1 request.
  auto hosts =
      std::count_if(h.begin(), h.end(), [](const auto& f) { return iequals(f.first, "Host"); });
  if (current_.version == "HTTP/1.1" && hosts != 1) return fail(400, "missing or repeated Host");
  if (hosts > 1) return fail(400, "repeated Host");
  if (auto host = find_header(h, "Host"); host && host->find_first_of(" \t") != std::string::npos)
    return fail(400, "invalid Host");

  bool has_te = find_header(h, "Transfer-Encoding").has_value();
  auto cl = content_length(h);
  if (has_te) {
    // rfc9112.txt 6.1: TE with Content-Length may be rejected; TE in HTTP/1.0 is faulty.
    if (cl) return fail(400, "both Transfer-Encoding and Content-Length");
    if (current_.version == "HTTP/1.0") return fail(400, "Transfer-Encoding in HTTP/1.0");
    std::vector<std::string> codings;
    for (const auto& [name, value] : h)
      if (iequals(name, "Transfer-Encoding"))
        for (auto c : split_list(value)) codings.push_back(to_lower(c));
    // rfc9112.txt 6.3 rule 4: chunked must be final; 6.1: never applied twice.
    if (codings.empty() || codings.back() != "chunked") return fail(400, "chunked is not final");
    if (std::count(codings.begin(), codings.end(), "chunked") > 1)
      return fail(400, "chunked applied twice");
    if (codings.size() > 1) return fail(501, "unsupported transfer coding");
    body = Body::chunked;
    continue_wanted_ = expects_continue(current_);
    return true;
  }
  if (cl) {
    if (*cl == -1) return fail(400, "invalid Content-Length");
    if (*cl == -2 || static_cast<unsigned long long>(*cl) > limits_.max_body)
      return fail(413, "body too large");
    body = Body::length;
    length = static_cast<std::size_t>(*cl);
    continue_wanted_ = length > 0 && expects_continue(current_);
    return true;
  }
  body = Body::none;  // rfc9112.txt 6.3 rule 7
  return true;
}

void RequestParser::on_message(std::string body) {
  continue_wanted_ = false;  // the whole body is here: no 100 needed any more
  current_.body = std::move(body);
  ready_.push_back(std::move(current_));
  current_ = Request{};
}

// ---------------------------------------------------------------------------------------------
// Responses.

ResponseParser::ResponseParser(ParserLimits limits) : Framer(limits, false) {}

std::optional<Response> ResponseParser::next() {
  if (ready_.empty()) return std::nullopt;
  Response response = std::move(ready_.front());
  ready_.pop_front();
  return response;
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] (rfc9112.txt 4). A missing
// space after the code is tolerated.
bool ResponseParser::on_start_line(std::string_view line) {
  current_ = Response{};
  if (line.size() < 12 || !is_http_version(line.substr(0, 8)) || line[8] != ' ' ||
      !std::all_of(line.begin() + 9, line.begin() + 12, is_digit) ||
      (line.size() > 12 && line[12] != ' '))
    return fail(400, "malformed status line");
  if (line[5] != '1') return fail(505, "unsupported HTTP major version");
  // rfc9112.txt 4: a code is read by its class, and only 1xx to 5xx are classes.
  if (line[9] < '1' || line[9] > '5') return fail(400, "status code without a class");
  current_.version = std::string(line.substr(0, 8));
  current_.status = std::stoi(std::string(line.substr(9, 3)));
  current_.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
  return true;
}

// The body length of a response, in the order of rfc9112.txt 6.3.
bool ResponseParser::on_head(Headers fields, Body& body, std::size_t& length) {
  current_.headers = std::move(fields);
  const Headers& h = current_.headers;
  std::string_view method = methods_.empty() ? std::string_view("GET") : methods_.front();

  if (method == "HEAD" || status_forbids_content(current_.status)) {
    body = Body::none;  // rule 1
    return true;
  }
  if (find_header(h, "Transfer-Encoding")) {
    body = is_chunked_last(h) ? Body::chunked : Body::until_close;  // rules 3 and 4
    return true;
  }
  if (auto cl = content_length(h)) {
    if (*cl == -1) return fail(400, "invalid Content-Length");  // rule 5
    if (*cl == -2 || static_cast<unsigned long long>(*cl) > limits_.max_body)
      return fail(413, "body too large");
    body = Body::length;  // rule 6
    length = static_cast<std::size_t>(*cl);
    return true;
  }
  body = Body::until_close;  // rule 8
  return true;
}

void ResponseParser::on_message(std::string body) {
  current_.body = std::move(body);
  // An interim 1xx response leaves its request outstanding (rfc9112.txt 9.2).
  if (current_.status >= 200 && !methods_.empty()) methods_.pop_front();
  ready_.push_back(std::move(current_));
  current_ = Response{};
}

}  // namespace mailsim::http

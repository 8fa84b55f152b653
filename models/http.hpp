// HTTP/1.1 message framing (rfc9112.txt): messages as data, and incremental parsers.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailsim::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A request as sent or received. The body is always the decoded content: a parser removes the
// chunked coding, and to_bytes() applies it again when the headers say "chunked".
struct Request {
  std::string method{};
  std::string target{};
  std::string version = "HTTP/1.1";
  Headers headers{};
  std::string body{};

  // The first field with this name, compared case-insensitively (rfc9112.txt 5).
  std::optional<std::string> header(std::string_view name) const;
  // Wire bytes: request-line, the fields in order, CRLF, body (rfc9112.txt 2.1). Adds a
  // Content-Length when the body is non-empty and no framing field is present.
  std::string to_bytes() const;
};

struct Response {
  int status = 200;
  std::string reason{};  // empty: reason_phrase(status) is sent
  std::string version = "HTTP/1.1";
  Headers headers{};
  std::string body{};

  std::optional<std::string> header(std::string_view name) const;
  // Wire bytes: status-line, the fields, CRLF, body (rfc9112.txt 4). Adds a Content-Length
  // unless a framing field is present or the status forbids content (1xx, 204, 304).
  std::string to_bytes() const;
};

// The registered phrase for a status code, "" for an unknown code.
std::string_view reason_phrase(int status);

// The first field with this name in a list, compared case-insensitively.
std::optional<std::string> find_header(const Headers& headers, std::string_view name);

// Whether a Connection field lists this option, e.g. "close" (rfc9112.txt 9.6).
bool has_connection_option(const Headers& headers, std::string_view option);

// Whether the connection persists after this message (rfc9112.txt 9.3).
bool keeps_alive(const Request& request);
bool keeps_alive(const Response& response);

// The start line, the fields and the empty line, without the body: what a sender writes before
// streaming a body in its own framing.
std::string head_bytes(const Request& request);
std::string head_bytes(const Response& response);

// The chunked transfer coding of a body (rfc9112.txt 7.1): chunks of at most chunk_size
// octets, the last-chunk, no trailer section. An empty body is just the last-chunk.
std::string encode_chunked(std::string_view body, std::size_t chunk_size);

// Limits that keep a peer from making a parser hold unbounded data. Each one is a lesson a
// scenario can switch; the defaults follow rfc9112.txt 3 (8000-octet request lines).
constexpr std::size_t default_max_start_line = 8000;
constexpr std::size_t default_max_header_section = 16 * 1024;
constexpr std::size_t default_max_body = 4 * 1024 * 1024;
constexpr std::size_t default_max_chunk_line = 1024;

struct ParserLimits {
  std::size_t max_start_line = default_max_start_line;          // longer: 414
  std::size_t max_header_section = default_max_header_section;  // longer: 431
  std::size_t max_body = default_max_body;                      // larger: 413
  std::size_t max_chunk_line = default_max_chunk_line;          // size and extensions: 400
};

// Theory of operation (both parsers).
//
// A parser buffers what it is fed and cuts complete messages out of the buffer, so the result
// never depends on how the input was chunked. One message at a time it goes through
//
//   start_line -> fields -> body_length | body_until_close
//                         | chunk_size -> chunk_data -> chunk_end -> ... -> trailer
//
// and back to start_line for the next message on a persistent connection (rfc9112.txt 9.3).
//
// Rules kept: only CRLF ends a line, and a bare CR or LF in the start line or a field line
// makes the message invalid (rfc9112.txt 2.2); no whitespace before a field's colon (5.1);
// obs-fold and whitespace after the start line are rejected (5.2, 2.2); the body length is
// decided in the order of 6.3, chunked first; a Content-Length list of equal values counts as
// one value (6.3 rule 5); chunk extensions are ignored and trailer fields are discarded
// (7.1.1, 7.1.2); chunk sizes are checked against the body limit digit by digit, so no size
// can overflow (7.1). The first error stops the parser for good: whatever follows has unknown
// framing, so the only safe answer is an error response and a close (2.2, 6.3 rule 5).
//
// Left out: transfer codings other than chunked (a request with one gets 501), obs-fold
// unfolding, and interim 1xx responses are handed out like final ones (our clients never send
// "Expect: 100-continue", so they never get one).
namespace detail {

class Framer {
 public:
  bool failed() const { return failed_; }
  std::string error() const { return error_; }
  int error_status() const { return error_status_; }
  // No partial message is buffered; never after a failure, whatever the chunking was.
  bool idle() const {
    return !failed_ && state_ == State::start_line && consumed_ == buffer_.size();
  }

 protected:
  enum class Body { none, length, chunked, until_close };

  explicit Framer(ParserLimits limits, bool skip_empty_lines);
  virtual ~Framer() = default;

  void feed_bytes(std::string_view bytes);
  void close_input();
  bool fail(int status, std::string reason);

  // The start line arrived (without its CRLF); false after calling fail().
  virtual bool on_start_line(std::string_view line) = 0;
  // The field section is complete: choose the body framing; false after calling fail().
  virtual bool on_head(Headers fields, Body& body, std::size_t& length) = 0;
  // The message is complete with its decoded body.
  virtual void on_message(std::string body) = 0;

  ParserLimits limits_;

 private:
  enum class State {
    start_line,
    fields,
    body_length,
    body_until_close,
    chunk_size,
    chunk_data,
    chunk_end,
    trailer
  };

  void run();
  bool step();
  std::optional<std::string_view> take_line(long long allowed, int status, const char* what);
  long long header_allowance() const;
  bool add_field(std::string_view line, Headers& into);
  bool on_chunk_size(std::string_view line);
  void complete();

  bool skip_empty_lines_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // octets of buffer_ already parsed
  std::size_t scanned_ = 0;   // octets of the current line already checked
  State state_ = State::start_line;
  Headers fields_;
  Headers trailers_;
  std::string body_;
  std::size_t header_bytes_ = 0;
  std::size_t remaining_ = 0;  // octets of the body or of the chunk still to come
  bool input_closed_ = false;
  bool failed_ = false;
  std::string error_;
  int error_status_ = 0;
};

}  // namespace detail

class RequestParser : private detail::Framer {
 public:
  explicit RequestParser(ParserLimits limits = {});

  void feed(std::string_view bytes) { feed_bytes(bytes); }
  std::optional<Request> next();  // the oldest complete request, if any
  // True once per request when an HTTP/1.1 request with a body said "Expect: 100-continue"
  // and its body has not all arrived yet: the server should send "100 Continue" now
  // (rfc9110 10.1.1; a body already received needs none).
  bool take_continue() { return std::exchange(continue_wanted_, false); }
  using Framer::error;
  using Framer::error_status;  // the status to answer a failure with: 400, 413, 414, 431, ...
  using Framer::failed;
  using Framer::idle;  // no partial request is buffered

 private:
  bool on_start_line(std::string_view line) override;
  bool on_head(Headers fields, Body& body, std::size_t& length) override;
  void on_message(std::string body) override;

  Request current_;
  std::deque<Request> ready_;
  bool continue_wanted_ = false;
};

class ResponseParser : private detail::Framer {
 public:
  explicit ResponseParser(ParserLimits limits = {});

  // The method of the next request sent on this connection, so that a response to HEAD is
  // read without a body (rfc9112.txt 6.3 rule 1). Unannounced requests count as GET.
  void expect(std::string_view method) { methods_.emplace_back(method); }
  void feed(std::string_view bytes) { feed_bytes(bytes); }
  // The server closed the connection: ends a response delimited by closure (6.3 rule 8).
  void finish() { close_input(); }
  std::optional<Response> next();
  using Framer::error;
  using Framer::failed;
  using Framer::idle;

 private:
  bool on_start_line(std::string_view line) override;
  bool on_head(Headers fields, Body& body, std::size_t& length) override;
  void on_message(std::string body) override;

  Response current_;
  std::deque<std::string> methods_;
  std::deque<Response> ready_;
};

}  // namespace mailsim::http

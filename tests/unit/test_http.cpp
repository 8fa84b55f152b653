// HTTP/1.1 framing (models/http.hpp) against rfc9112.txt.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "models/http.hpp"

using namespace mailsim::http;

namespace {

// Feeds a transcript to a fresh parser in pieces of `step` octets (0: whole) and collects
// every request together with the final failure state, so runs can be compared.
struct ParsedRequests {
  std::vector<std::string> requests;  // each as method, target, fields and body
  bool failed = false;
  std::string error;
  int status = 0;
  bool operator==(const ParsedRequests& o) const {
    return requests == o.requests && failed == o.failed && error == o.error && status == o.status;
  }
};

std::string flatten(const Request& r) {
  std::string s = r.method + "|" + r.target + "|" + r.version;
  for (const auto& [k, v] : r.headers) s += "|" + k + "=" + v;
  return s + "|body=" + r.body;
}

ParsedRequests parse_requests(std::string_view bytes, std::size_t step, ParserLimits limits = {}) {
  RequestParser parser(limits);
  ParsedRequests out;
  auto drain = [&] {
    while (auto r = parser.next()) out.requests.push_back(flatten(*r));
  };
  if (step == 0) {
    parser.feed(bytes);
    drain();
  } else {
    for (std::size_t at = 0; at < bytes.size(); at += step) {
      parser.feed(bytes.substr(at, step));
      drain();
    }
  }
  out.failed = parser.failed();
  out.error = parser.error();
  out.status = parser.error_status();
  return out;
}

// Splits after every CRLF, the way a line-oriented peer would send.
ParsedRequests parse_requests_by_line(std::string_view bytes) {
  RequestParser parser;
  ParsedRequests out;
  while (!bytes.empty()) {
    auto end = bytes.find("\r\n");
    auto n = end == std::string_view::npos ? bytes.size() : end + 2;
    parser.feed(bytes.substr(0, n));
    bytes.remove_prefix(n);
    while (auto r = parser.next()) out.requests.push_back(flatten(*r));
  }
  out.failed = parser.failed();
  out.error = parser.error();
  out.status = parser.error_status();
  return out;
}

// The same result whole, line by line and byte by byte (docs/engines.md).
ParsedRequests parse_all_ways(std::string_view bytes, ParserLimits limits = {}) {
  auto whole = parse_requests(bytes, 0, limits);
  CHECK(parse_requests(bytes, 1, limits) == whole);
  CHECK(parse_requests(bytes, 7, limits) == whole);
  if (limits.max_body == default_max_body) CHECK(parse_requests_by_line(bytes) == whole);
  return whole;
}

Request only_request(std::string_view bytes) {
  RequestParser parser;
  parser.feed(bytes);
  auto r = parser.next();
  REQUIRE(r);
  REQUIRE_FALSE(parser.next());
  REQUIRE_FALSE(parser.failed());
  return *r;
}

int failure_status(std::string_view bytes, ParserLimits limits = {}) {
  auto parsed = parse_all_ways(bytes, limits);
  CHECK(parsed.failed);
  return parsed.status;
}

}  // namespace

TEST_CASE("rfc9112 3: request-line and fields are parsed", "[http]") {
  auto r =
      only_request("GET /api/folders HTTP/1.1\r\nHost: ums.com\r\nCookie:  session=s1 \r\n\r\n");
  CHECK(r.method == "GET");
  CHECK(r.target == "/api/folders");
  CHECK(r.version == "HTTP/1.1");
  REQUIRE(r.headers.size() == 2);
  CHECK(r.headers[1] == std::pair<std::string, std::string>{"Cookie", "session=s1"});  // 5.1 OWS
  CHECK(r.header("cookie") == "session=s1");  // field names are case-insensitive (5)
  CHECK(r.header("HOST") == "ums.com");
  CHECK_FALSE(r.header("Content-Length"));
  CHECK(r.body.empty());
}

TEST_CASE("rfc9112 6.2: Content-Length frames a request body", "[http]") {
  auto r = only_request("POST /api/send HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(r.body == "hello");

  // 6.3 rule 5: a list of equal values is that value.
  auto listed = only_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc");
  CHECK(listed.body == "abc");
}

TEST_CASE("rfc9112 6.3 rule 7: a request without framing fields has no body", "[http]") {
  auto parsed =
      parse_all_ways("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(parsed.requests.size() == 2);
  CHECK(parsed.requests[0] == "GET|/a|HTTP/1.1|Host=a|body=");
  CHECK(parsed.requests[1] == "GET|/b|HTTP/1.1|Host=a|body=");
  CHECK_FALSE(parsed.failed);
}

TEST_CASE("rfc9112 7.1: a chunked request body is decoded", "[http]") {
  std::string bytes =
      "POST /api/send HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n"
      "6;name=value\r\n world\r\n"  // 7.1.1: extensions are ignored
      "0\r\n"
      "Expires: never\r\n"  // 7.1.2: trailer fields are discarded
      "\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  auto parsed = parse_all_ways(bytes);
  REQUIRE(parsed.requests.size() == 2);
  CHECK(parsed.requests[0] ==
        "POST|/api/send|HTTP/1.1|Host=a|Transfer-Encoding=chunked|body=hello world");
  CHECK(parsed.requests[1] == "GET|/next|HTTP/1.1|Host=a|body=");
}

TEST_CASE("rfc9112 7.1: chunk sizes are hex, any case, with leading zeros", "[http]") {
  auto r = only_request(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0A\r\n0123456789\r\n00000b\r\nabcdefghijk\r\n000\r\n\r\n");
  CHECK(r.body == "0123456789abcdefghijk");
}

TEST_CASE("rfc9112 7.1: malformed chunked bodies are errors, not crashes", "[http]") {
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(failure_status(head + "zz\r\n") == 400);                        // no hex digit
  CHECK(failure_status(head + "5x\r\nhello\r\n") == 400);               // junk after the size
  CHECK(failure_status(head + "3\r\nhelloworld\r\n0\r\n\r\n") == 400);  // data overruns
  // 7.1: a size beyond any limit is refused before it can overflow.
  CHECK(failure_status(head + "ffffffffffffffffffffffffff\r\n") == 413);
  ParserLimits small;
  small.max_body = 8;
  CHECK(failure_status(head + "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", small) == 413);
}

TEST_CASE("rfc9112 2.2: only CRLF ends a line; bare CR or LF is rejected", "[http]") {
  CHECK(failure_status("GET / HTTP/1.1\nHost: a\n\n") == 400);
  CHECK(failure_status("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n") == 400);
  CHECK(parse_all_ways("GET / HTTP/1.1\nHost: a\n\n").error == "bare LF in a line");
  CHECK(parse_all_ways("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n").error == "bare CR in a line");
  // Decided as soon as the offending octet arrives, before any CRLF.
  RequestParser parser;
  parser.feed("GET / HTTP/1.1\r\nHost: a\n");
  CHECK(parser.failed());
}

TEST_CASE("rfc9112 2.2: empty lines before a request-line are ignored", "[http]") {
  auto parsed = parse_all_ways("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(parsed.requests.size() == 1);
  CHECK(parsed.requests[0] == "GET|/|HTTP/1.1|Host=a|body=");
}

TEST_CASE("rfc9112 3: malformed request-lines get 400, other majors 505", "[http]") {
  CHECK(failure_status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);    // two spaces
  CHECK(failure_status("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n") == 400);  // 3.2 whitespace
  CHECK(failure_status("GET / http/1.1\r\nHost: a\r\n\r\n") == 400);     // 2.3 case-sensitive
  CHECK(failure_status("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);     // 3.1 token
  CHECK(failure_status("GET /\r\nHost: a\r\n\r\n") == 400);
  CHECK(failure_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
}

TEST_CASE("rfc9112 5.1 and 5.2: field-line errors get 400", "[http]") {
  CHECK(failure_status("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);  // space before colon
  CHECK(failure_status("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n") == 400);  // obs-fold
  CHECK(failure_status("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == 400);  // 2.2 after start line
  CHECK(failure_status("GET / HTTP/1.1\r\nHost a\r\n\r\n") == 400);    // no colon
  CHECK(failure_status(std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 28)) == 400);
}

TEST_CASE("rfc9112 3.2: an HTTP/1.1 request needs exactly one Host", "[http]") {
  CHECK(failure_status("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(failure_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  auto r = only_request("GET / HTTP/1.0\r\n\r\n");  // HTTP/1.0 predates Host
  CHECK(r.version == "HTTP/1.0");
}

TEST_CASE("rfc9112 6.1 and 6.3: ambiguous framing is refused", "[http]") {
  std::string host = "POST / HTTP/1.1\r\nHost: a\r\n";
  CHECK(failure_status(host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") == 400);
  CHECK(failure_status(host + "Content-Length: 3, 4\r\n\r\nabcd") == 400);  // rule 5
  CHECK(failure_status(host + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n") == 400);
  CHECK(failure_status(host + "Content-Length: -1\r\n\r\n") == 400);
  CHECK(failure_status(host + "Content-Length: 0x10\r\n\r\n") == 400);
  CHECK(failure_status(host + "Transfer-Encoding: gzip\r\n\r\n") == 400);  // rule 4
  CHECK(failure_status(host + "Transfer-Encoding: chunked, chunked\r\n\r\n") == 400);
  CHECK(failure_status(host + "Transfer-Encoding: gzip, chunked\r\n\r\n") == 501);
  CHECK(failure_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
}

TEST_CASE("rfc9112 3 and 6.3: the named limits give 414, 431 and 413", "[http]") {
  ParserLimits limits;
  limits.max_start_line = 32;
  limits.max_header_section = 40;
  limits.max_body = 10;
  // A request-line of exactly the limit passes; one octet more does not.
  std::string line32 = "GET /" + std::string(18, 'a') + " HTTP/1.1";
  REQUIRE(line32.size() == 32);
  CHECK_FALSE(parse_all_ways(line32 + "\r\nHost: a\r\n\r\n", limits).failed);
  CHECK(failure_status("GET /" + std::string(19, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", limits) ==
        414);
  // 40 octets of fields, CRLFs and the empty line included: 9 + 29 + 2.
  std::string fields = "Host: a\r\nX: " + std::string(24, 'b') + "\r\n\r\n";
  REQUIRE(fields.size() == 40);
  CHECK_FALSE(parse_all_ways("GET / HTTP/1.1\r\n" + fields, limits).failed);
  CHECK(failure_status("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(25, 'b') + "\r\n\r\n",
                       limits) == 431);
  CHECK(failure_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits) == 413);
  ParserLimits small_body;
  small_body.max_body = 10;
  CHECK(failure_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n"
                       "\r\n",
                       small_body) == 413);
}

TEST_CASE("rfc9112 2.2: a parser stops at the first error and keeps earlier requests", "[http]") {
  auto parsed = parse_all_ways("GET /ok HTTP/1.1\r\nHost: a\r\n\r\nBAD\r\n\r\nGET /x HTTP/1.1\r\n");
  REQUIRE(parsed.requests.size() == 1);
  CHECK(parsed.requests[0] == "GET|/ok|HTTP/1.1|Host=a|body=");
  CHECK(parsed.failed);
  CHECK(parsed.status == 400);
  CHECK(parsed.error == "malformed request line");
}

TEST_CASE("rfc9112 2.1: Request::to_bytes writes the exact message", "[http]") {
  Request r;
  r.method = "POST";
  r.target = "/api/login";
  r.headers = {{"Host", "ums.com"}, {"Content-Type", "application/json"}};
  r.body = "{}";
  CHECK(r.to_bytes() ==
        "POST /api/login HTTP/1.1\r\nHost: ums.com\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\n\r\n{}");

  Request get;
  get.method = "GET";
  get.target = "/";
  get.headers = {{"Host", "a"}};
  CHECK(get.to_bytes() == "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

  Request chunked = r;
  chunked.headers = {{"Host", "a"}, {"Transfer-Encoding", "chunked"}};
  chunked.body = "hello";
  CHECK(chunked.to_bytes() ==
        "POST /api/login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n");
  CHECK(only_request(chunked.to_bytes()).body == "hello");
}

TEST_CASE("rfc9112 4: Response::to_bytes writes the status-line", "[http]") {
  Response r;
  r.status = 404;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = "{\"error\":\"not found\"}";
  CHECK(r.to_bytes() ==
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
        "{\"error\":\"not found\"}");

  Response empty;
  empty.status = 204;  // 6.3 rule 1: no Content-Length added for 204
  CHECK(empty.to_bytes() == "HTTP/1.1 204 No Content\r\n\r\n");

  Response unknown;
  unknown.status = 299;  // 4: the space after the code stays without a phrase
  CHECK(unknown.to_bytes() == "HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n");

  Response custom;
  custom.reason = "Fine";
  CHECK(custom.to_bytes() == "HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("rfc9112 2.1: head_bytes stops at the empty line", "[http]") {
  Request r;
  r.method = "POST";
  r.target = "/x";
  r.headers = {{"Host", "a"}, {"Transfer-Encoding", "chunked"}};
  r.body = "ignored";
  CHECK(head_bytes(r) == "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  Response resp;
  resp.status = 202;
  resp.body = "abc";
  CHECK(head_bytes(resp) == "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("rfc9112 7.1: encode_chunked", "[http]") {
  CHECK(encode_chunked("hello world", 4) == "4\r\nhell\r\n4\r\no wo\r\n3\r\nrld\r\n0\r\n\r\n");
  CHECK(encode_chunked("", 4) == "0\r\n\r\n");
  CHECK(encode_chunked(std::string(26, 'x'), 100) ==
        "1a\r\n" + std::string(26, 'x') + "\r\n0\r\n\r\n");
}

TEST_CASE("rfc9112 9.3: persistence from version and Connection", "[http]") {
  Request r;
  r.version = "HTTP/1.1";
  CHECK(keeps_alive(r));
  r.headers = {{"Connection", "keep-alive, Close"}};
  CHECK_FALSE(keeps_alive(r));
  r.version = "HTTP/1.0";
  r.headers = {};
  CHECK_FALSE(keeps_alive(r));
  r.headers = {{"Connection", "keep-alive"}};
  CHECK(keeps_alive(r));
  Response resp;
  resp.headers = {{"connection", "close"}};
  CHECK_FALSE(keeps_alive(resp));
}

TEST_CASE("rfc9112 6.3: response bodies by Content-Length, chunked and closure", "[http]") {
  std::string bytes =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
      "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"  // rule 1: no body after 204
      "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
      "HTTP/1.1 200 OK\r\n\r\nuntil the end";  // rule 8
  for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
    ResponseParser parser;
    std::vector<Response> got;
    if (step == 0) {
      parser.feed(bytes);
    } else {
      for (std::size_t at = 0; at < bytes.size(); at += step) parser.feed(bytes.substr(at, step));
    }
    while (auto r = parser.next()) got.push_back(*r);
    REQUIRE(got.size() == 3);
    parser.finish();
    while (auto r = parser.next()) got.push_back(*r);
    REQUIRE(got.size() == 4);
    CHECK(got[0].status == 200);
    CHECK(got[0].reason == "OK");
    CHECK(got[0].body == "ok");
    CHECK(got[1].status == 204);
    CHECK(got[1].body.empty());
    CHECK(got[2].body == "ab");
    CHECK(got[3].body == "until the end");
    CHECK_FALSE(parser.failed());
  }
}

TEST_CASE("rfc9112 6.3 rule 1: a response to HEAD has no body", "[http]") {
  ResponseParser parser;
  parser.expect("HEAD");
  parser.expect("GET");
  parser.feed(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
      "\r\nhello");
  auto head = parser.next();
  auto get = parser.next();
  REQUIRE(head);
  REQUIRE(get);
  CHECK(head->body.empty());
  CHECK(get->body == "hello");
}

TEST_CASE("rfc9112 4 and 8: bad or incomplete responses fail the parser", "[http]") {
  ResponseParser bad;
  bad.feed("HTTP/1.1 2x0 OK\r\n\r\n");
  CHECK(bad.failed());
  CHECK_FALSE(bad.next());

  ResponseParser cut;
  cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  CHECK_FALSE(cut.failed());
  cut.finish();  // 8: closed before Content-Length octets arrived
  CHECK(cut.failed());
  CHECK_FALSE(cut.next());

  ResponseParser bare;
  bare.feed("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");  // no space, no phrase: tolerated
  auto r = bare.next();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->reason.empty());
}

TEST_CASE("rfc9110 15: reason phrases", "[http]") {
  CHECK(reason_phrase(200) == "OK");
  CHECK(reason_phrase(202) == "Accepted");
  CHECK(reason_phrase(401) == "Unauthorized");
  CHECK(reason_phrase(404) == "Not Found");
  CHECK(reason_phrase(405) == "Method Not Allowed");
  CHECK(reason_phrase(413) == "Content Too Large");
  CHECK(reason_phrase(999).empty());
  CHECK(reason_phrase(100) == "Continue");
  CHECK(reason_phrase(304) == "Not Modified");
  CHECK(reason_phrase(308) == "Permanent Redirect");
  CHECK(reason_phrase(411) == "Length Required");
  CHECK(reason_phrase(415) == "Unsupported Media Type");
  CHECK(reason_phrase(422) == "Unprocessable Content");
  CHECK(reason_phrase(429) == "Too Many Requests");  // rfc6585 4
  CHECK(reason_phrase(503) == "Service Unavailable");
  CHECK(reason_phrase(306).empty());  // rfc9110 15.4.7: unused
  CHECK(reason_phrase(418).empty());  // rfc9110 15.5.19: unused
}

TEST_CASE("rfc9110 10.1.1: a request expecting 100-continue is flagged until its body arrives",
          "[http]") {
  const std::string head =
      "POST /api/send HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
  RequestParser waiting;
  waiting.feed(head);
  CHECK(waiting.take_continue());
  CHECK_FALSE(waiting.take_continue());  // once per request
  waiting.feed("hello");
  CHECK_FALSE(waiting.take_continue());
  REQUIRE(waiting.next());

  RequestParser whole;  // the body came with the head: nothing to wait for
  whole.feed(head + "hello");
  CHECK_FALSE(whole.take_continue());

  RequestParser chunked;
  chunked.feed(
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhel");
  CHECK(chunked.take_continue());

  // No body, or HTTP/1.0 (whose expectation must be ignored), or another expectation.
  for (const char* request :
       {"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
        "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 5\r\n\r\n"}) {
    RequestParser parser;
    parser.feed(request);
    CHECK_FALSE(parser.take_continue());
  }
}

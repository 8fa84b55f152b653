// Regression tests for what the fuzzers of tests/fuzz found (docs/robustness.md): each case is
// the smallest input that showed the fault, with the exact bytes the engine must give now.
#include <catch2/catch.hpp>

#include <string>

#include "models/dns.hpp"
#include "models/http.hpp"
#include "models/imap.hpp"
#include "models/message.hpp"
#include "models/pop3.hpp"
#include "models/store.hpp"

using namespace mailsim;

TEST_CASE("POP3: a bare LF in an unknown USER name is not echoed (RFC 1939 section 3)",
          "[pop3][fuzz]") {
  store::MailStore store("ums.com");
  store.add_account("uday@ums.com", "secret");
  pop3::ServerSession server({"mail.ums.com"}, store);
  server.take_output();

  // The LF once ended the -ERR line early, so "+OK forged" read as a second response.
  server.receive("USER x\n+OK forged\x01\r\n");
  CHECK(server.take_output() == "-ERR never heard of mailbox x?+OK forged?\r\n");
}

TEST_CASE("rfc9112 2.2: a failed parser is never idle, however the bytes were chunked",
          "[http][fuzz]") {
  const std::string input = "BAD\r\nGET / HTTP/1.1\r\n\r\n";

  http::RequestParser whole;
  whole.feed(input);
  http::RequestParser bytewise;
  for (char c : input) bytewise.feed(std::string(1, c));

  for (http::RequestParser* parser : {&whole, &bytewise}) {
    CHECK_FALSE(parser->next());
    CHECK(parser->failed());
    CHECK(parser->error_status() == 400);
    CHECK_FALSE(parser->idle());  // fed one octet at a time it used to say idle
  }
}

TEST_CASE("rfc9112 4: a status code outside the classes 1xx to 5xx is malformed", "[http][fuzz]") {
  for (const char* line : {"HTTP/1.1 000 OK\r\n", "HTTP/1.1 099 X\r\n", "HTTP/1.1 600 X\r\n"}) {
    http::ResponseParser parser;
    parser.feed(std::string(line) + "Content-Length: 0\r\n\r\n");
    CHECK_FALSE(parser.next());
    CHECK(parser.failed());
    CHECK(parser.error() == "status code without a class");
  }
  http::ResponseParser parser;
  parser.feed("HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n");
  auto response = parser.next();
  REQUIRE(response);
  CHECK(response->status == 599);
}

TEST_CASE("fold_header never makes a line of white space only (RFC 5322 3.2.2)",
          "[message][fuzz]") {
  // Trailing white space past column 78 once became a continuation line of its own.
  const std::string tail = std::string(75, 'a') + std::string(10, ' ');
  CHECK(msg::fold_header("Subject", tail) == "Subject: " + tail + "\r\n");

  // A run of white space longer than a line once became a continuation line of 78 spaces.
  const std::string run = "a" + std::string(200, ' ') + "b";
  CHECK(msg::fold_header("Subject", run) ==
        "Subject: a" + std::string(68, ' ') + "\r\n" + std::string(132, ' ') + "b\r\n");

  // Folding at white space between words is unchanged.
  const std::string words = std::string(70, 'x') + " " + std::string(20, 'y');
  CHECK(msg::fold_header("Subject", words) ==
        "Subject: " + std::string(70, 'x') + "\r\n " + std::string(20, 'y') + "\r\n");
}

TEST_CASE("header_field: a continuation line never starts a field (RFC 5322 2.2.3)",
          "[store][fuzz]") {
  const std::string text =
      "Subject: hi\r\n"
      " Message-ID: <forged@x>\r\n"
      "Message-ID: <real@x>\r\n"
      "\r\n"
      "body\r\n";
  CHECK(store::header_field(text, "Message-ID") == "<real@x>");
  CHECK(msg::find_header(text, "Message-ID") == "<real@x>");
  CHECK(store::header_field(text, "Subject") == "hi Message-ID: <forged@x>");
}

TEST_CASE("rfc1035 4.1.4: compression keeps each name's case (RFC 4343 4.1)", "[dns][fuzz]") {
  mailsim::dns::Message m;
  m.response = true;
  m.questions.push_back({"ums.com", mailsim::dns::Type::MX});
  mailsim::dns::Record a{"mail.Ums.com", mailsim::dns::Type::A, 60, 0, "", {198, 51, 100, 2}};
  mailsim::dns::Record b{"mail.ums.com", mailsim::dns::Type::A, 60, 0, "", {198, 51, 100, 2}};
  m.answers = {a, b};
  auto back = mailsim::dns::decode(mailsim::dns::encode(m));
  REQUIRE(back);
  REQUIRE(back->answers.size() == 2);
  CHECK(back->answers[0].name == "mail.Ums.com");
  CHECK(back->answers[1].name == "mail.ums.com");
}

TEST_CASE("rfc2177 3: a long line during IDLE ends IDLE, it is no command of its own",
          "[imap][fuzz]") {
  store::MailStore store("ums.com");
  store.add_account("uday@ums.com", "secret");
  imap::ServerConfig config{"mail.ums.com"};
  config.max_line_length = 100;
  imap::ServerSession server(config, store);
  server.receive("a LOGIN uday secret\r\nb IDLE\r\n");
  server.take_output();

  // The line over the limit once got "c BAD command line too long", a reply to a command
  // nobody sent, and IDLE went on.
  server.receive("c " + std::string(120, 'x') + "\r\nd NOOP\r\n");
  CHECK(server.take_output() == "b BAD expected DONE\r\nd OK NOOP completed\r\n");
  CHECK_FALSE(server.idling());
}

TEST_CASE("rfc3501 7.1.3: a line cut before its tag ended gets an untagged BAD", "[imap][fuzz]") {
  store::MailStore store("ums.com");
  imap::ServerConfig config{"mail.ums.com"};
  config.max_line_length = 100;
  imap::ServerSession server(config, store);
  server.take_output();

  // The reply once carried the first 100 octets of the 150-octet tag: no tag the client sent.
  server.receive(std::string(150, 't') + " NOOP\r\n");
  CHECK(server.take_output() == "* BAD command line too long\r\n");
  server.receive("a NOOP " + std::string(150, 'x') + "\r\n");
  CHECK(server.take_output() == "a BAD command line too long\r\n");
}

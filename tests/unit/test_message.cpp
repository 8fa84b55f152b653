// Unit tests of models/message: addresses, dates, message building and parsing, dot-stuffing.
#include "models/message.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace mailsim::msg;

namespace {

// Every line of `text` (CRLF separated), without its CRLF.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find("\r\n", start);
    if (end == std::string::npos) {
      out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

bool has_bare_line_end(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n')) return true;
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("RFC 5322 3.3 date-time in the sender's zone", "[message]") {
  // 1796374800 is 2026-12-04 09:00:00 UTC.
  CHECK(format_date(1796374800, -300) == "Fri, 04 Dec 2026 04:00:00 -0500");
  CHECK(format_date(1796374800, 0) == "Fri, 04 Dec 2026 09:00:00 +0000");
  CHECK(format_date(1796374800, 330) == "Fri, 04 Dec 2026 14:30:00 +0530");
  CHECK(format_date(0, 0) == "Thu, 01 Jan 1970 00:00:00 +0000");
  // The zone moves the local date back across midnight and a year boundary.
  CHECK(format_date(0, -60) == "Wed, 31 Dec 1969 23:00:00 -0100");
  CHECK(format_date(1709164800, 0) == "Thu, 29 Feb 2024 00:00:00 +0000");  // leap day
  CHECK(format_date(951782400, 0) == "Tue, 29 Feb 2000 00:00:00 +0000");   // 400-year rule
  CHECK(format_date(1796374800, -570) == "Thu, 03 Dec 2026 23:30:00 -0930");
}

TEST_CASE("RFC 5321 4.1.2 mailbox syntax: accepted addresses", "[message]") {
  auto a = parse_address("rav@cms.com");
  REQUIRE(a);
  CHECK(a->local_part == "rav");
  CHECK(a->domain == "cms.com");
  CHECK(a->to_string() == "rav@cms.com");

  auto tagged = parse_address("First.Last+tag@mail-1.Sub.example.org");
  REQUIRE(tagged);
  CHECK(tagged->local_part == "First.Last+tag");
  CHECK(tagged->domain == "mail-1.Sub.example.org");

  auto quoted = parse_address(R"("john smith"@ums.com)");
  REQUIRE(quoted);
  CHECK(quoted->local_part == "john smith");
  CHECK(quoted->to_string() == R"("john smith"@ums.com)");

  auto escaped = parse_address(R"("a\"b\\c"@ums.com)");
  REQUIRE(escaped);
  CHECK(escaped->local_part == R"(a"b\c)");
  CHECK(escaped->to_string() == R"("a\"b\\c"@ums.com)");

  // Needless quotes are dropped: the quoted forms are equivalent (RFC 5321 4.1.2).
  auto needless = parse_address(R"("rav"@cms.com)");
  REQUIRE(needless);
  CHECK(needless->to_string() == "rav@cms.com");

  auto literal = parse_address("postmaster@[192.0.2.1]");
  REQUIRE(literal);
  CHECK(literal->domain == "[192.0.2.1]");

  CHECK(parse_address("!#$%&'*+-/=?^_`{|}~@x.org"));
  CHECK(parse_address(std::string(64, 'a') + "@cms.com"));  // RFC 5321 4.5.3.1.1: 64 is fine
  CHECK(parse_address("a@" + std::string(63, 'b') + ".com"));
  CHECK(parse_address("a@localhost"));
}

TEST_CASE("RFC 5321 4.1.2 mailbox syntax: rejected addresses", "[message]") {
  const char* bad[] = {
      "",
      "rav",
      "@cms.com",
      "rav@",
      ".rav@cms.com",
      "rav.@cms.com",
      "ra..v@cms.com",
      "rav smith@cms.com",
      "rav@cms..com",
      "rav@.cms.com",
      "rav@cms.com.",
      "rav@-cms.com",
      "rav@cms-.com",
      "rav@cms_x.com",
      "rav@c ms.com",
      "rav@@cms.com",
      "a@b@cms.com",
      "<rav@cms.com>",
      "rav@cms.com\r\n",
      "rav(c)@cms.com",
      "\"\"@cms.com",
      "\"open@cms.com",
      "rav@[300.1.1.1]",
      "rav@[1.2.3]",
      "rav@[1.2.3.4",
      "r\xc3\xa4v@cms.com",
  };
  for (const char* text : bad) {
    INFO("address: " << text);
    CHECK_FALSE(parse_address(text));
  }
  CHECK_FALSE(parse_address(std::string(65, 'a') + "@cms.com"));     // RFC 5321 4.5.3.1.1
  CHECK_FALSE(parse_address("a@" + std::string(64, 'b') + ".com"));  // RFC 1035 2.3.4 label
  std::string long_domain;
  for (int i = 0; i < 64; ++i) long_domain += "abc.";
  long_domain += "com";                            // 259 octets
  CHECK_FALSE(parse_address("a@" + long_domain));  // RFC 5321 4.5.3.1.2
  CHECK_FALSE(parse_address(std::string("rav\0x@cms.com", 13)));
}

TEST_CASE("RFC 5322 3.6.4 Message-ID is <left@right>", "[message]") {
  CHECK(make_message_id("20261204090000.1", "cms.com") == "<20261204090000.1@cms.com>");
}

TEST_CASE("RFC 5322 message built with every header and CRLF body", "[message]") {
  Composition c;
  c.from_name = "Rav";
  c.from = "rav@cms.com";
  c.to = {"bob@ums.com", "carol@ums.com"};
  c.subject = "Lunch";
  c.body = "Hi Bob,\nlunch at noon?\n";
  c.date_unix = 1796374800;
  c.tz_offset_minutes = -300;
  c.message_id = make_message_id("m1", "cms.com");

  CHECK(build_message(c) ==
        "Date: Fri, 04 Dec 2026 04:00:00 -0500\r\n"
        "From: Rav <rav@cms.com>\r\n"
        "To: bob@ums.com, carol@ums.com\r\n"
        "Subject: Lunch\r\n"
        "Message-ID: <m1@cms.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Hi Bob,\r\n"
        "lunch at noon?\r\n");
}

TEST_CASE("RFC 5322 2.3 body line ends become CRLF and the body ends in CRLF", "[message]") {
  Composition c;
  c.from = "rav@cms.com";
  c.body = "one\ntwo\r\nthree\rfour";
  const std::string m = build_message(c);
  CHECK(std::string(body_of(m)) == "one\r\ntwo\r\nthree\r\nfour\r\n");
  CHECK_FALSE(has_bare_line_end(m));
  CHECK(find_header(m, "From") == "rav@cms.com");
  CHECK_FALSE(find_header(m, "To"));          // no recipients, no To:
  CHECK_FALSE(find_header(m, "Message-ID"));  // none given, none written
}

TEST_CASE("RFC 5322 3.2.5 display names with specials are quoted", "[message]") {
  Composition c;
  c.from_name = "Smith, J.";
  c.from = "js@cms.com";
  CHECK(find_header(build_message(c), "From") == R"("Smith, J." <js@cms.com>)");
  c.from_name = R"(Say "hi")";
  CHECK(find_header(build_message(c), "From") == R"("Say \"hi\"" <js@cms.com>)");
}

TEST_CASE("RFC 6152 body with non-ASCII octets is declared 8bit", "[message]") {
  Composition c;
  c.from = "rav@cms.com";
  c.body = "Caf\xc3\xa9 at noon\n";
  const std::string m = build_message(c);
  CHECK(find_header(m, "Content-Transfer-Encoding") == "8bit");
  CHECK(has_8bit(m));
  c.body = "Cafe at noon\n";
  CHECK(find_header(build_message(c), "content-transfer-encoding") == "7bit");
}

TEST_CASE("RFC 5322 2.2.3 long header lines are folded at white space within 78", "[message]") {
  std::string subject;
  for (int i = 0; i < 30; ++i) subject += "word" + std::to_string(i) + " ";
  subject += "end";
  const std::string field = fold_header("Subject", subject);
  const auto lines = lines_of(field);
  REQUIRE(lines.size() > 1);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(lines[i].size() <= 78);
    if (i > 0) CHECK(lines[i].front() == ' ');  // a continuation starts with the folded white space
  }
  CHECK(field.substr(field.size() - 2) == "\r\n");
  // Unfolding (removing each CRLF before white space) gives the field back.
  const std::string message = field + "\r\nbody\r\n";
  CHECK(find_header(message, "Subject") == subject);

  // A word longer than the line cannot be folded inside; the fold comes after it.
  const std::string word(100, 'x');
  const auto long_lines = lines_of(fold_header("Subject", word + " tail"));
  REQUIRE(long_lines.size() == 2);
  CHECK(long_lines[0] == "Subject: " + word);
  CHECK(long_lines[1] == " tail");

  // A line end inside a value cannot inject a header field.
  CHECK(fold_header("Subject", "hi\r\nBcc: eve@x.org") == "Subject: hi  Bcc: eve@x.org\r\n");
}

TEST_CASE("RFC 5322 2.2 header parsing unfolds and stops at the blank line", "[message]") {
  const std::string m =
      "Received: from a.example\r\n"
      "\tby b.example; Fri, 04 Dec 2026 04:00:00 -0500\r\n"
      "Subject:   Hello  \r\n"
      "X-Empty:\r\n"
      "\r\n"
      "Not-A-Header: body text\r\n";
  const auto fields = parse_headers(m);
  REQUIRE(fields.size() == 3);
  CHECK(fields[0].name == "Received");
  CHECK(fields[0].value == "from a.example\tby b.example; Fri, 04 Dec 2026 04:00:00 -0500");
  CHECK(fields[1].value == "Hello");
  CHECK(fields[2].name == "X-Empty");
  CHECK(fields[2].value.empty());
  CHECK(find_header(m, "SUBJECT") == "Hello");
  CHECK_FALSE(find_header(m, "Not-A-Header"));
  CHECK(std::string(body_of(m)) == "Not-A-Header: body text\r\n");
}

TEST_CASE("RFC 5321 4.4 trace fields are prepended before the first line", "[message]") {
  const std::string m = "Subject: x\r\n\r\nbody\r\n";
  const std::string traced = prepend_header(m, "Return-Path", "<rav@cms.com>");
  CHECK(traced == "Return-Path: <rav@cms.com>\r\nSubject: x\r\n\r\nbody\r\n");
  CHECK(parse_headers(traced).front().name == "Return-Path");
}

TEST_CASE("RFC 5321 4.5.2 dot-stuffing doubles a leading period, both ways", "[message]") {
  const std::string message = "Subject: dots\r\n\r\n.hidden line\r\n..two\r\n.\r\nend.\r\n";
  const std::string stuffed = dot_stuff(message);
  CHECK(stuffed == "Subject: dots\r\n\r\n..hidden line\r\n...two\r\n..\r\nend.\r\n.\r\n");
  // The receiver strips the terminator and one period from each line that starts with one.
  const std::string data = stuffed.substr(0, stuffed.size() - 3);
  CHECK(dot_unstuff(data) == message);

  CHECK(dot_stuff(".") == "..\r\n.\r\n");  // the missing final CRLF is added
  CHECK(dot_stuff("no end") == "no end\r\n.\r\n");
  CHECK(dot_stuff("") == ".\r\n");  // an empty message is just the terminator
  CHECK(dot_unstuff("..\r\n") == ".\r\n");
}

TEST_CASE("RFC 5321 4.5.2 only CRLF starts a line for dot-stuffing", "[message]") {
  // A bare LF or CR before a period does not start a line: nothing is stuffed or removed.
  CHECK(dot_stuff("a\n.b\r\n") == "a\n.b\r\n.\r\n");
  CHECK(dot_stuff("a\r.b\r\n") == "a\r.b\r\n.\r\n");
  CHECK(dot_unstuff("a\n.b\r\n") == "a\n.b\r\n");
}

TEST_CASE("RFC 4648 10 base64 test vectors", "[message]") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == std::string(plain));
  }
  // RFC 4616 example authorization message: "\0tim\0tanstaaftanstaaf".
  const std::string plain_message("\0tim\0tanstaaftanstaaf", 21);
  CHECK(base64_encode(plain_message) == "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  CHECK(base64_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm") == plain_message);
}

TEST_CASE("RFC 4954 4 base64 decoding rejects what is not strictly base64", "[message]") {
  for (const char* bad : {"=AAA", "AA=A", "Zm9v=AAA", "Zm9", "Zm9v\r\n", "Zm 9v",
                          "Zm9v!A==", "Zh==", "Zm9=", "===="}) {
    INFO("input: " << bad);
    CHECK_FALSE(base64_decode(bad));
  }
}

TEST_CASE("RFC 5322 3.6.3 Cc is in the header, Bcc only on the envelope", "[message]") {
  Composition c;
  c.from = "rav@cms.com";
  c.to = {"uday@ums.com"};
  c.cc = {"mira@ums.com", "uday@ums.com"};
  c.bcc = {"boss@cms.com"};
  c.subject = "Plans";
  c.body = "See you.\n";
  c.date_unix = 1796374800;
  c.message_id = "<m2@cms.com>";

  const std::string text = build_message(c);
  CHECK(text ==
        "Date: Fri, 04 Dec 2026 09:00:00 +0000\r\n"
        "From: rav@cms.com\r\n"
        "To: uday@ums.com\r\n"
        "Cc: mira@ums.com, uday@ums.com\r\n"
        "Subject: Plans\r\n"
        "Message-ID: <m2@cms.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "See you.\r\n");
  // RFC 5322 3.6.3, first method: the Bcc: line is removed, the address stays on the envelope.
  CHECK(text.find("boss@cms.com") == std::string::npos);
  CHECK_FALSE(find_header(text, "Bcc").has_value());
  // RFC 5321 4.1.1.3: one RCPT per recipient; an address given twice is sent once.
  CHECK(envelope_recipients(c) ==
        std::vector<std::string>{"uday@ums.com", "mira@ums.com", "boss@cms.com"});
}

TEST_CASE("RFC 5322 3.6.4 a reply carries In-Reply-To and References", "[message]") {
  const std::string parent =
      "From: Rav <rav@cms.com>\r\n"
      "To: uday@ums.com\r\n"
      "Subject: Hello from Canada\r\n"
      "Message-ID: <1@cms.com>\r\n"
      "\r\n"
      "Hi\r\n";
  ReplyHeaders first = reply_headers(parent);
  CHECK(first.to == "rav@cms.com");
  CHECK(first.subject == "Re: Hello from Canada");
  CHECK(first.in_reply_to == "<1@cms.com>");
  CHECK(first.references == "<1@cms.com>");

  Composition c;
  c.from_name = "Uday";
  c.from = "uday@ums.com";
  c.to = {first.to};
  c.subject = first.subject;
  c.in_reply_to = first.in_reply_to;
  c.references = first.references;
  c.date_unix = 1796374800;
  c.tz_offset_minutes = 330;
  c.message_id = "<2@ums.com>";
  c.body = "Hi Rav";
  const std::string child = build_message(c);
  CHECK(child ==
        "Date: Fri, 04 Dec 2026 14:30:00 +0530\r\n"
        "From: Uday <uday@ums.com>\r\n"
        "To: rav@cms.com\r\n"
        "Subject: Re: Hello from Canada\r\n"
        "Message-ID: <2@ums.com>\r\n"
        "In-Reply-To: <1@cms.com>\r\n"
        "References: <1@cms.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Hi Rav\r\n");

  // The reply to the reply: References grows, "Re: " is not doubled (RFC 5322 3.6.5).
  ReplyHeaders second = reply_headers(child);
  CHECK(second.to == "uday@ums.com");
  CHECK(second.subject == "Re: Hello from Canada");
  CHECK(second.in_reply_to == "<2@ums.com>");
  CHECK(second.references == "<1@cms.com> <2@ums.com>");
}

TEST_CASE("RFC 5322 3.6.4 References from a single In-Reply-To; Reply-To wins over From",
          "[message]") {
  ReplyHeaders r = reply_headers(
      "From: a@x.org\r\nReply-To: List <list@x.org>\r\nSubject: RE: q\r\n"
      "Message-ID: <3@x.org>\r\nIn-Reply-To: <2@x.org>\r\n\r\n");
  CHECK(r.to == "list@x.org");
  CHECK(r.subject == "RE: q");
  CHECK(r.references == "<2@x.org> <3@x.org>");

  // Two ids in In-Reply-To say nothing about order: only the parent's id is kept.
  r = reply_headers("From: a@x.org\r\nMessage-ID: <4@x.org>\r\nIn-Reply-To: <1@x> <2@x>\r\n\r\n");
  CHECK(r.subject == "Re: ");
  CHECK(r.references == "<4@x.org>");
  // A parent without a Message-ID gives no In-Reply-To.
  r = reply_headers("From: a@x.org\r\nSubject: s\r\n\r\n");
  CHECK(r.in_reply_to.empty());
  CHECK(r.references.empty());
}

TEST_CASE("RFC 2045 6.8 base64 body lines are 76 characters and end in CRLF", "[message]") {
  CHECK(base64_encode_lines("").empty());
  CHECK(base64_encode_lines("Man") == "TWFu\r\n");
  const std::string bytes(57, '\0');  // 57 octets are exactly one line of 76
  CHECK(base64_encode_lines(bytes) == std::string(76, 'A') + "\r\n");
  const std::string more(58, '\xff');
  CHECK(base64_encode_lines(more) == std::string(76, '/') + "\r\n" + "/w==\r\n");
}

TEST_CASE("RFC 2046 5.1 attachments make a multipart/mixed body in base64", "[message]") {
  Composition c;
  c.from = "rav@cms.com";
  c.to = {"uday@ums.com"};
  c.subject = "Photo";
  c.body = "Here it is.\n";
  c.date_unix = 1796374800;
  c.message_id = "<5@cms.com>";
  c.attachments.push_back({"a \"b\".txt", "text/plain", "Hello, world!\n"});
  c.attachments.push_back({"zeros.bin", "application/octet-stream", std::string(60, '\0')});

  const std::string boundary = make_boundary("<5@cms.com>");
  CHECK(boundary.size() == 26);
  CHECK(boundary.rfind("=_mailsim_", 0) == 0);
  const std::string text = build_message(c);
  CHECK(text ==
        "Date: Fri, 04 Dec 2026 09:00:00 +0000\r\n"
        "From: rav@cms.com\r\n"
        "To: uday@ums.com\r\n"
        "Subject: Photo\r\n"
        "Message-ID: <5@cms.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "--" + boundary + "\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Here it is.\r\n"
        "\r\n"
        "--" + boundary + "\r\n"
        "Content-Type: text/plain; name=\"a \\\"b\\\".txt\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=\"a \\\"b\\\".txt\"\r\n"
        "\r\n"
        "SGVsbG8sIHdvcmxkIQo=\r\n"
        "--" + boundary + "\r\n"
        "Content-Type: application/octet-stream; name=\"zeros.bin\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=\"zeros.bin\"\r\n"
        "\r\n" + std::string(76, 'A') + "\r\n"
        "AAAA\r\n"
        "--" + boundary + "--\r\n");
  CHECK_FALSE(has_bare_line_end(text));
  for (const auto& line : lines_of(text)) CHECK(line.size() <= 78);
}

TEST_CASE("RFC 2045 6.8 the wire size of an attachment carries the base64 overhead",
          "[message]") {
  Composition plain;
  plain.from = "rav@cms.com";
  plain.to = {"uday@ums.com"};
  plain.message_id = "<6@cms.com>";
  Composition with = plain;
  with.attachments.push_back({"p.jpg", "image/jpeg", std::string(1000000, 'x')});
  // 10^6 octets: 1,333,336 base64 characters in 17,543 lines of 76 and one of 68, each + CRLF.
  const std::size_t encoded = 1333336 + 2 * 17544;
  CHECK(base64_encode_lines(with.attachments[0].data).size() == encoded);
  const std::string text = build_message(with);
  CHECK(text.size() > encoded);
  CHECK(text.size() < encoded + 600);  // headers and delimiters only
}

TEST_CASE("RFC 2046 5.1.1 the boundary is lengthened if the text contains it", "[message]") {
  Composition c;
  c.from = "rav@cms.com";
  c.message_id = "<7@cms.com>";
  const std::string boundary = make_boundary(c.message_id);
  c.body = "--" + boundary + "\n";
  c.attachments.push_back({"x", "application/octet-stream", "x"});
  const std::string text = build_message(c);
  CHECK(text.find("boundary=\"" + boundary + "_\"") != std::string::npos);
  CHECK(text.find("\r\n--" + boundary + "_--\r\n") != std::string::npos);
}

TEST_CASE("RFC 2046 5.1.1 the CRLF before a delimiter is not the text's last line end",
          "[message]") {
  // rfc2046.txt 5.1.1: "the CRLF preceding the boundary delimiter line is conceptually
  // attached to the boundary", so a text ending in a line break needs a second CRLF.
  Composition c;
  c.from = "rav@cms.com";
  c.message_id = "<8@cms.com>";
  c.body = "Here is one.\n";
  c.attachments.push_back({"x", "application/octet-stream", "x"});
  const std::string boundary = make_boundary(c.message_id);
  const std::string text = build_message(c);
  CHECK(text.find("\r\n\r\nHere is one.\r\n\r\n--" + boundary + "\r\n") !=
        std::string::npos);

  c.body = "";  // an empty text: the blank line after the part header, then the delimiter
  const std::string empty = build_message(c);
  CHECK(empty.find("7bit\r\n\r\n\r\n--" + boundary + "\r\n") != std::string::npos);
}

TEST_CASE("RFC 5322 3.4 the address inside a mailbox header value", "[message]") {
  CHECK(mailbox_address("Rav <rav@cms.com>") == "rav@cms.com");
  CHECK(mailbox_address("\"Kumar, Uday\" <uday@ums.com>") == "uday@ums.com");
  CHECK(mailbox_address("  uday@ums.com ") == "uday@ums.com");
}

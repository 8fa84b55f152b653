// The multipart messages models/message builds, read back by the IMAP server engine: its MIME
// parser (RFC 2046 5.1.1) finds the parts build_message() wrote, with their sizes, and
// BODY[2] gives back the base64 of the attachment (RFC 3501 6.4.5, 7.4.2).
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "models/imap.hpp"
#include "models/message.hpp"
#include "models/store.hpp"

using namespace mailsim;

TEST_CASE("IMAP reads the parts of a message with an attachment (RFC 2046 5.1, RFC 3501 7.4.2)",
          "[imap][mime]") {
  msg::Composition c;
  c.from = "rav@cms.com";
  c.to = {"uday@ums.com"};
  c.subject = "Photo";
  c.body = "Here it is.\n";
  c.message_id = "<5@cms.com>";
  const std::string photo = "\x89PNG\r\n\x1a\n-- not a delimiter\r\n";
  c.attachments.push_back({"p.png", "image/png", photo});
  const std::string text = msg::build_message(c);

  store::MailStore mail("ums.com");
  mail.add_account("uday@ums.com", "secret");
  mail.deliver("uday", text, 1);
  imap::ServerSession server({"mail.ums.com"}, mail);
  server.take_output();
  server.receive("a1 LOGIN uday secret\r\na2 EXAMINE INBOX\r\n");
  server.take_output();

  server.receive("a3 FETCH 1 BODY\r\n");
  CHECK(server.take_output() ==
        "* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 13 1)"
        "(\"IMAGE\" \"PNG\" (\"NAME\" \"p.png\") NIL NIL \"BASE64\" 40) \"MIXED\"))\r\n"
        "a3 OK FETCH completed\r\n");

  // The CRLF before each delimiter line belongs to the delimiter (RFC 2046 5.1.1): the text
  // part is "Here it is." with its line end (build_message adds the delimiter's own CRLF), the
  // base64 part its one line without CRLF.
  server.receive("a4 FETCH 1 (BODY[1] BODY[2])\r\n");
  const std::string encoded = msg::base64_encode(photo);
  CHECK(server.take_output() == "* 1 FETCH (BODY[1] {13}\r\nHere it is.\r\n BODY[2] {" +
                                    std::to_string(encoded.size()) + "}\r\n" + encoded +
                                    ")\r\na4 OK FETCH completed\r\n");
  CHECK(msg::base64_decode(encoded) == photo);
}

// Delivery status notifications (models/dsn): the exact bytes of a bounce,
// checked against rfc3464.txt section by section.
#include <catch2/catch.hpp>

#include "models/dsn.hpp"

#include <string>

using namespace mailsim;

namespace {

const std::string original =
    "Received: from rav-laptop (rav-laptop [203.0.113.1]) by mail.cms.com with\r\n"
    " ESMTPA id 389EA00001 for <udya@ums.com>; Fri, 04 Dec 2026 09:00:00 -0500\r\n"
    "From: Rav <rav@cms.com>\r\n"
    "To: udya@ums.com\r\n"
    "Subject: Hello from Canada\r\n"
    "Message-ID: <20261204140000.1@cms.com>\r\n"
    "\r\n"
    "Hi Uday,\r\n";

dsn::Notification unknown_user() {
  dsn::Notification n;
  n.reporting_mta = "mail.cms.com";
  n.from = "MAILER-DAEMON@cms.com";
  n.to = "rav@cms.com";
  n.message_id = "<20261204140001.2@cms.com>";
  n.boundary = "389EA00001.1796392801/mail.cms.com";
  n.date_unix = 1796392801;  // 2026-12-04 14:00:01 UTC
  n.tz_offset_minutes = -300;
  n.arrival_unix = 1796392800;
  n.original = original;
  dsn::RecipientStatus r;
  r.final_recipient = "udya@ums.com";
  r.status = "5.1.1";
  r.remote_mta = "mail.ums.com";
  r.diagnostic = "550 5.1.1 <udya@ums.com> Requested action not taken: mailbox unavailable";
  r.last_attempt_unix = 1796392801;
  n.recipients.push_back(r);
  return n;
}

}  // namespace

TEST_CASE("A bounce for an unknown user, byte for byte", "[dsn]") {
  // rfc3464.txt 2: multipart/report, report-type=delivery-status, three parts;
  // addressed to the envelope sender, From: the mail system's postmaster.
  const std::string expected =
      "Date: Fri, 04 Dec 2026 09:00:01 -0500\r\n"
      "From: Mail Delivery System <MAILER-DAEMON@cms.com>\r\n"
      "To: <rav@cms.com>\r\n"
      "Subject: Undelivered Mail Returned to Sender\r\n"
      "Message-ID: <20261204140001.2@cms.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=delivery-status;\r\n"
      " boundary=\"389EA00001.1796392801/mail.cms.com\"\r\n"
      "\r\n"
      "This is a MIME-encapsulated message.\r\n"
      "\r\n"
      "--389EA00001.1796392801/mail.cms.com\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "Content-Description: Notification\r\n"
      "\r\n"
      "This is the mail server mail.cms.com, with news of a message you sent.\r\n"
      "\r\n"
      "It could not be delivered to this recipient:\r\n"
      "\r\n"
      "<udya@ums.com>\r\n"
      "    status 5.1.1 (Bad destination mailbox address)\r\n"
      "    mail.ums.com said: 550 5.1.1 <udya@ums.com> Requested action not taken: mailbox "
      "unavailable\r\n"
      "\r\n"
      "The report below says the same for mail programs (RFC 3464), and\r\n"
      "the header of your message follows it.\r\n"
      "\r\n"
      "--389EA00001.1796392801/mail.cms.com\r\n"
      "Content-Type: message/delivery-status\r\n"
      "Content-Description: Delivery report\r\n"
      "\r\n"
      // 2.2.2 and 2.2.5: per-message fields, then a blank line before each recipient (2.1).
      "Reporting-MTA: dns; mail.cms.com\r\n"
      "Arrival-Date: Fri, 04 Dec 2026 09:00:00 -0500\r\n"
      "\r\n"
      // 2.3.2 to 2.3.7, in the order of the per-recipient-fields ABNF (2.3); 2.1.1 folding.
      "Final-Recipient: rfc822; udya@ums.com\r\n"
      "Action: failed\r\n"
      "Status: 5.1.1\r\n"
      "Remote-MTA: dns; mail.ums.com\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 <udya@ums.com> Requested action not taken:\r\n"
      " mailbox unavailable\r\n"
      "Last-Attempt-Date: Fri, 04 Dec 2026 09:00:01 -0500\r\n"
      "\r\n"
      "--389EA00001.1796392801/mail.cms.com\r\n"
      // 2 (d): the returned part; the header section only.
      "Content-Type: text/rfc822-headers\r\n"
      "Content-Description: Undelivered Message Headers\r\n"
      "\r\n"
      "Received: from rav-laptop (rav-laptop [203.0.113.1]) by mail.cms.com with\r\n"
      " ESMTPA id 389EA00001 for <udya@ums.com>; Fri, 04 Dec 2026 09:00:00 -0500\r\n"
      "From: Rav <rav@cms.com>\r\n"
      "To: udya@ums.com\r\n"
      "Subject: Hello from Canada\r\n"
      "Message-ID: <20261204140000.1@cms.com>\r\n"
      "\r\n"
      "--389EA00001.1796392801/mail.cms.com--\r\n";
  CHECK(dsn::build_notification(unknown_user()) == expected);
}

TEST_CASE("Without an answering server there is no Remote-MTA or Diagnostic-Code", "[dsn]") {
  // rfc3464.txt 2.3.5: Remote-MTA MUST NOT be included if no remote MTA was
  // involved; 2.3.3: a 4.x.x status may go with "failed" when retries gave up.
  auto n = unknown_user();
  n.recipients[0].final_recipient = "uday@ums.com";
  n.recipients[0].status = "4.4.1";
  n.recipients[0].remote_mta = "";
  n.recipients[0].diagnostic = "";
  n.recipients[0].note = "connect to mail.ums.com[198.51.100.2]:25: Connection timed out";
  std::string text = dsn::build_notification(n);
  CHECK(text.find("Final-Recipient: rfc822; uday@ums.com\r\n"
                  "Action: failed\r\n"
                  "Status: 4.4.1\r\n"
                  "Last-Attempt-Date: Fri, 04 Dec 2026 09:00:01 -0500\r\n") != std::string::npos);
  CHECK(text.find("Remote-MTA") == std::string::npos);
  CHECK(text.find("Diagnostic-Code") == std::string::npos);
  CHECK(text.find("<uday@ums.com>\r\n"
                  "    status 4.4.1 (No answer from host)\r\n"
                  "    connect to mail.ums.com[198.51.100.2]:25: Connection timed out\r\n") !=
        std::string::npos);
}

TEST_CASE("Several recipients are several groups of fields", "[dsn]") {
  // rfc3464.txt 2.1: each group of per-recipient fields is preceded by a blank line.
  auto n = unknown_user();
  auto second = n.recipients[0];
  second.final_recipient = "Nobody@ums.com";  // 2.3.2: the case is kept
  n.recipients.push_back(second);
  std::string text = dsn::build_notification(n);
  CHECK(text.find("It could not be delivered to these recipients:\r\n") != std::string::npos);
  CHECK(text.find("Last-Attempt-Date: Fri, 04 Dec 2026 09:00:01 -0500\r\n"
                  "\r\n"
                  "Final-Recipient: rfc822; Nobody@ums.com\r\n") != std::string::npos);
}

TEST_CASE("Status codes in RFC 3463's words", "[dsn]") {
  CHECK(dsn::status_text("5.1.1") == "Bad destination mailbox address");  // rfc3463.txt 3.2
  CHECK(dsn::status_text("5.1.2") == "Bad destination system address");
  CHECK(dsn::status_text("4.4.1") == "No answer from host");  // rfc3463.txt 3.5
  CHECK(dsn::status_text("4.4.4") == "Unable to route");
  CHECK(dsn::status_text("4.4.7") == "Delivery time expired");
  CHECK(dsn::status_text("5.7.1").empty());
  CHECK(dsn::status_text("").empty());
}

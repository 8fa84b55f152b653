// Delivery status notifications: the bounce a mail server sends back to the
// sender when it gives up on a recipient (rfc3464.txt).
//
// Theory of operation. A DSN is an ordinary RFC 5322 message built as plain
// text, with no clock and no I/O: every date comes in as Unix seconds. It is a
// multipart/report with report-type=delivery-status (rfc3464.txt 2 (a)) in
// three parts: a note for the person (2 (b)), the message/delivery-status
// fields for programs (2 (c), 2.1), and the header section of the returned
// message as text/rfc822-headers (2 (d)). The per-message fields are
// Reporting-MTA and Arrival-Date (2.2.2, 2.2.5); each recipient gets
// Final-Recipient, Action, Status, and Remote-MTA and Diagnostic-Code when a
// remote server answered (2.3.2 to 2.3.6), and Last-Attempt-Date (2.3.7).
// Status codes are RFC 3463's class.subject.detail.
//
// The DSN is addressed to the original envelope sender (rfc3464.txt 2) and is
// sent with the null reverse-path MAIL FROM:<> (rfc5321.txt 4.5.5), so that it
// can never cause another DSN: the caller sends it that way.
//
// Left out: delay ("delayed") and success notifications, the DSN SMTP
// extension (RFC 3461: NOTIFY, ORCPT, ENVID, RET), Original-Recipient, and
// returning the full message (only its headers come back).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailsim::dsn {

// What happened to one recipient (rfc3464.txt 2.3).
struct RecipientStatus {
  std::string final_recipient;     // the envelope address, case kept (2.3.2)
  std::string action = "failed";   // 2.3.3
  std::string status;              // "5.1.1" (2.3.4, RFC 3463)
  std::string remote_mta;          // host that answered; "" when none did (2.3.5)
  std::string diagnostic;          // its SMTP reply, "550 5.1.1 ..."; "" when none (2.3.6)
  std::string note;                // for the person when no server answered: what went wrong
  std::int64_t last_attempt_unix = 0;
};

struct Notification {
  std::string reporting_mta;   // "mail.cms.com" (2.2.2)
  std::string from;            // the postmaster's address, "MAILER-DAEMON@cms.com" (2)
  std::string to;              // the original envelope sender (2)
  std::string message_id;      // of the DSN itself, "<...>"
  std::string boundary;        // MIME boundary, must not occur in the parts
  std::int64_t date_unix = 0;  // Date: of the DSN
  int tz_offset_minutes = 0;   // of the reporting MTA's place
  std::int64_t arrival_unix = 0;  // when the original arrived (2.2.5)
  std::string original;        // the returned message; its header section is part 3
  std::vector<RecipientStatus> recipients;  // at least one
};

// RFC 3463's words for a status code's subject and detail ("5.1.1": "Bad
// destination mailbox address"), for the codes mailsim produces; "" for others.
std::string status_text(std::string_view status);

// The whole DSN message, CRLF line ends, ready for the queue.
std::string build_notification(const Notification& n);

}  // namespace mailsim::dsn

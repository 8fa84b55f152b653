#include "models/dsn.hpp"

#include "models/message.hpp"

#include <fmt/format.h>

namespace mailsim::dsn {

namespace {

constexpr std::string_view crlf = "\r\n";

// The header section of a CRLF message, its final empty line left out.
std::string_view header_section(std::string_view message)
{
  auto end = message.find("\r\n\r\n");
  return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

// The note for the person who sent the message (rfc3464.txt 2 (b)).
std::string human_part(const Notification& n)
{
  std::string text = fmt::format("This is the mail server {}, with news of a message you sent.\r\n"
                                 "\r\n"
                                 "It could not be delivered to {}:\r\n",
                                 n.reporting_mta,
                                 n.recipients.size() == 1 ? "this recipient" : "these recipients");
  for (const auto& r : n.recipients) {
    text += fmt::format("\r\n<{}>\r\n", r.final_recipient);
    auto words = status_text(r.status);
    text += fmt::format("    status {}{}\r\n", r.status, words.empty() ? "" : " (" + words + ")");
    if (not r.remote_mta.empty())
      text += fmt::format("    {} said: {}\r\n", r.remote_mta, r.diagnostic);
    else if (not r.note.empty())
      text += fmt::format("    {}\r\n", r.note);
  }
  text += "\r\n"
          "The report below says the same for mail programs (RFC 3464), and\r\n"
          "the header of your message follows it.\r\n";
  return text;
}

// The message/delivery-status fields (rfc3464.txt 2.1, 2.2, 2.3).
std::string status_part(const Notification& n)
{
  std::string text = fmt::format("Reporting-MTA: dns; {}\r\n", n.reporting_mta);
  text += msg::fold_header("Arrival-Date", msg::format_date(n.arrival_unix, n.tz_offset_minutes));
  for (const auto& r : n.recipients) {
    text += crlf;
    text += fmt::format("Final-Recipient: rfc822; {}\r\n", r.final_recipient);
    text += fmt::format("Action: {}\r\n", r.action);
    text += fmt::format("Status: {}\r\n", r.status);
    if (not r.remote_mta.empty())
      text += fmt::format("Remote-MTA: dns; {}\r\n", r.remote_mta);
    if (not r.diagnostic.empty())
      text += msg::fold_header("Diagnostic-Code", "smtp; " + r.diagnostic);
    text += msg::fold_header("Last-Attempt-Date",
                             msg::format_date(r.last_attempt_unix, n.tz_offset_minutes));
  }
  return text;
}

}  // namespace

std::string status_text(std::string_view status)
{
  // rfc3463.txt 3.2 (addressing) and 3.5 (network and routing).
  auto detail = status.size() > 2 ? status.substr(2) : std::string_view();
  if (detail == "1.1")
    return "Bad destination mailbox address";
  if (detail == "1.2")
    return "Bad destination system address";
  if (detail == "4.1")
    return "No answer from host";
  if (detail == "4.4")
    return "Unable to route";
  if (detail == "4.7")
    return "Delivery time expired";
  return "";
}

std::string build_notification(const Notification& n)
{
  std::string out;
  out += msg::fold_header("Date", msg::format_date(n.date_unix, n.tz_offset_minutes));
  out += msg::fold_header("From", "Mail Delivery System <" + n.from + ">");
  out += msg::fold_header("To", "<" + n.to + ">");
  out += "Subject: Undelivered Mail Returned to Sender\r\n";
  out += msg::fold_header("Message-ID", n.message_id);
  out += "MIME-Version: 1.0\r\n";
  out += msg::fold_header("Content-Type",
                          fmt::format("multipart/report; report-type=delivery-status; "
                                      "boundary=\"{}\"",
                                      n.boundary));
  out += crlf;
  out += "This is a MIME-encapsulated message.\r\n";

  auto part = [&](std::string_view type, std::string_view description, std::string_view body) {
    out += fmt::format("\r\n--{}\r\n", n.boundary);
    out += fmt::format("Content-Type: {}\r\n", type);
    out += fmt::format("Content-Description: {}\r\n", description);
    out += crlf;
    out += body;
  };
  part("text/plain; charset=us-ascii", "Notification", human_part(n));
  part("message/delivery-status", "Delivery report", status_part(n));
  part("text/rfc822-headers", "Undelivered Message Headers", header_section(n.original));
  out += fmt::format("\r\n--{}--\r\n", n.boundary);
  return out;
}

}  // namespace mailsim::dsn

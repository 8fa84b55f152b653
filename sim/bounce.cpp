// bounce: the non-delivery notifications of a provider's server, as
// Postfix's bounce daemon writes them. When the queue manager gives up on
// recipients of a message, this builds one delivery status notification
// (models/dsn, RFC 3464) from MAILER-DAEMON@<domain> to the message's
// envelope sender and hands it back to the same queue manager with the null
// reverse-path MAIL FROM:<> (RFC 5321 4.5.5): delivered locally when the
// sender is a user of this server, relayed like any message otherwise.
//
// A message that was itself a bounce (null reverse-path) never gets one:
// that is what stops two broken servers from bouncing bounces forever.
#include "sim/daemons.hpp"

#include "models/dsn.hpp"
#include "models/message.hpp"
#include "sim/world.hpp"

#include <fmt/format.h>
#include <simgrid/s4u.hpp>
#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_bounce, mailsim, "Non-delivery notifications (bounce)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

void trace_queue(const scenario::Provider& provider, const std::string& message_id,
                 std::string summary)
{
  TraceEvent event;
  event.time = sg4::Engine::get_clock();
  event.kind = "queue";
  event.src_host = provider.host;
  event.src_actor = "bounce";
  event.summary = std::move(summary);
  event.message_id = message_id;
  World::get().recorder().add(std::move(event));
}

}  // namespace

void bounce(const scenario::Provider& provider, const QueuedMessage& message,
            const std::vector<std::pair<std::string, DeliveryResult>>& failed)
{
  auto& world = World::get();
  double now = sg4::Engine::get_clock();
  const std::string& sender = message.envelope.mail_from;
  if (sender.empty()) {
    trace_queue(provider, message.message_id,
                fmt::format("{}: no notification: the message is itself a bounce "
                            "(null reverse-path, RFC 5321 4.5.5)",
                            message.queue_id));
    return;
  }

  const auto& host = world.platform().host(provider.host);
  std::int64_t epoch = world.scenario().epoch_unix;
  dsn::Notification n;
  n.reporting_mta = provider.host;
  n.from = "MAILER-DAEMON@" + provider.domain;
  n.to = sender;
  n.message_id = world.next_message_id(provider.domain, now);
  n.date_unix = epoch + static_cast<std::int64_t>(now);
  n.tz_offset_minutes = host.utc_offset_minutes;
  n.arrival_unix = epoch + static_cast<std::int64_t>(message.queued_at);
  n.boundary = fmt::format("{}.{}/{}", message.queue_id, n.date_unix, provider.host);
  n.original = message.envelope.message;
  for (const auto& [rcpt, result] : failed) {
    dsn::RecipientStatus r;
    r.final_recipient = rcpt;
    r.status = result.dsn_status;
    r.remote_mta = result.reply.empty() ? "" : result.remote_mta;
    r.diagnostic = result.reply;
    r.note = result.reply.empty() ? result.diagnostic : "";
    r.last_attempt_unix = n.date_unix;
    n.recipients.push_back(r);
  }

  QueuedMessage notice;
  notice.queue_id = world.next_queue_id(provider.host);
  notice.message_id = n.message_id;
  notice.envelope.mail_from = "";  // MAIL FROM:<>
  notice.envelope.recipients = {sender};
  notice.envelope.message = dsn::build_notification(n);
  notice.queued_at = now;
  trace_queue(provider, message.message_id,
              fmt::format("{}: sender non-delivery notification: {} (RFC 3464 report to <{}>, "
                          "status {})",
                          message.queue_id, notice.queue_id, sender, n.recipients.front().status));

  auto& timeline = world.timeline(notice.message_id, sender);
  timeline.from = n.from + " (null reverse-path <>)";
  timeline.subject = "Undelivered Mail Returned to Sender";
  timeline.composed = now;
  timeline.submitted = now;
  timeline.sending_server = provider.host;
  timeline.queue_id_out = notice.queue_id;
  timeline.queue_notes.push_back(fmt::format("{:>12.6f}  {} {}: written by the bounce daemon about "
                                             "{}, queued with MAIL FROM:<>",
                                             now, provider.host, notice.queue_id,
                                             message.queue_id));
  for (const auto& [rcpt, result] : failed)
    world.timeline(message.message_id, rcpt)
        .queue_notes.push_back(fmt::format("{:>12.6f}  {} {}: returned to <{}> as {} {}", now,
                                           provider.host, message.queue_id, sender,
                                           notice.queue_id, notice.message_id));
  qmgr_enqueue(provider.domain, std::move(notice));
}

}  // namespace mailsim::sim

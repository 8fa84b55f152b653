// local: final delivery into a recipient's INBOX on this server. Adds the
// Return-Path: header (RFC 5321 4.4: the final delivery records the
// reverse-path) and spends the mailbox write on the server's CPU.
#include "sim/daemons.hpp"

#include "models/message.hpp"
#include "sim/idle_watch.hpp"
#include "sim/world.hpp"

#include <fmt/format.h>
#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_local, mailsim, "Local delivery (local)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

DeliveryResult deliver_locally(const scenario::Provider& provider, const QueuedMessage& message,
                               const std::string& recipient)
{
  auto& world = World::get();
  auto& store = world.store(provider.domain);
  if (store.find_account(recipient) == nullptr)
    return {DeliveryStatus::bounced, fmt::format("unknown user: no mailbox for <{}>", recipient),
            "5.1.1", "", "", ""};
  sg4::this_actor::execute(world.costs().mailbox_write);
  std::string text = msg::prepend_header(message.envelope.message, "Return-Path",
                                         "<" + message.envelope.mail_from + ">");
  double now = sg4::Engine::get_clock();
  auto size = text.size();
  std::uint32_t uid = store.deliver(recipient, std::move(text), now);
  IdleWatch::wake(store.find_account(recipient));  // a session in IDLE hears "* n EXISTS"

  TraceEvent event;
  event.time = now;
  event.kind = "store";
  event.src_host = provider.host;
  event.src_actor = "local";
  event.summary = fmt::format("{}: stored in {} INBOX as UID {} ({} bytes)", message.queue_id,
                              recipient, uid, size);
  event.message_id = message.message_id;
  world.recorder().add(std::move(event));

  auto& timeline = world.timeline(message.message_id, recipient);
  timeline.delivered = now;
  if (timeline.receiving_server.empty())
    timeline.receiving_server = provider.host;
  return {DeliveryStatus::sent, fmt::format("delivered to mailbox, UID {}", uid), "2.0.0", "",
          "", ""};
}

}  // namespace mailsim::sim

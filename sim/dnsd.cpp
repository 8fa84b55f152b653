// dnsd: the authoritative DNS server for every provider's domain, on UDP 53.
// It answers from the zone the World built (MX and A records), one datagram
// in, one datagram out, through dns::Zone::answer_bytes.
#include "sim/daemons.hpp"

#include "sim/tcp.hpp"
#include "sim/world.hpp"

#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_dnsd, mailsim, "DNS server (dnsd)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

void start_dnsd()
{
  auto& world = World::get();
  const auto& host = world.platform().host(world.scenario().dns.host);
  sg4::Actor::create("dnsd", host.host, [&host]() {
    auto& world = World::get();
    auto* mailbox = sg4::Mailbox::by_name("udp:dns:53");
    mailbox->set_receiver(sg4::Actor::self());
    while (true) {
      auto query = receive_datagram(mailbox, -1);
      sg4::this_actor::execute(world.costs().per_lookup);
      Datagram reply;
      reply.payload = world.zone().answer_bytes(query->payload);
      auto decoded = dns::decode(reply.payload);
      std::string summary = decoded ? dns::describe(*decoded) : "malformed";
      send_datagram(host, "dnsd", *query->from, query->from_actor,
                    sg4::Mailbox::by_name(query->reply_mailbox), std::move(reply), "dns", summary);
    }
  })->daemonize();
}

}  // namespace mailsim::sim

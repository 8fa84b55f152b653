// The stub resolver of a host: asks the DNS server over simulated UDP and
// keeps the answers, additional records included, for their TTL
// (RFC 1035 7.4). A lost or late answer is retried after 5 s, twice.
#include "sim/daemons.hpp"

#include "sim/tcp.hpp"
#include "sim/world.hpp"

#include <fmt/format.h>
#include <xbt/log.h>

#include <map>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_resolver, mailsim, "Stub resolver with cache");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {
constexpr double kQueryTimeout = 5;
constexpr int kQueryAttempts = 3;

std::map<std::string, dns::Cache>& caches()
{
  static std::map<std::string, dns::Cache> all;  // by host name; one simulation per process
  return all;
}
}  // namespace

std::vector<dns::Record> resolve(const HostEntry& from, const std::string& actor,
                                 const std::string& name, dns::Type type, int* round_trips,
                                 bool* name_error)
{
  auto& world = World::get();
  auto& cache = caches()[from.name];
  dns::Question question{name, type};
  if (auto cached = cache.get(question, sg4::Engine::get_clock()))
    return *cached;

  const auto& server = world.platform().host(world.scenario().dns.host);
  dns::Message query;
  query.id = world.next_dns_id();
  query.recursion_desired = true;
  query.questions.push_back(question);
  auto* reply_box = sg4::Mailbox::by_name("udp:" + from.name + ":" + std::to_string(query.id));
  reply_box->set_receiver(sg4::Actor::self());

  std::vector<dns::Record> answers;
  for (int attempt = 0; attempt < kQueryAttempts; attempt++) {
    Datagram datagram;
    datagram.payload = dns::encode(query);
    datagram.from = &from;
    datagram.from_actor = actor;
    datagram.reply_mailbox = reply_box->get_name();
    send_datagram(from, actor, server, "dnsd", sg4::Mailbox::by_name("udp:dns:53"),
                  std::move(datagram), "dns", dns::describe(query));
    (*round_trips)++;
    auto reply = receive_datagram(reply_box, kQueryTimeout);
    if (not reply)
      continue;
    auto response = dns::decode(reply->payload);
    if (not response || response->id != query.id)
      continue;
    double now = sg4::Engine::get_clock();
    if (name_error)
      *name_error = response->rcode == dns::rcode::name_error;
    answers = response->answers;
    cache.put(question, response->answers, now);
    // Additional A records save the next query (RFC 1035 3.3.9, 4.1).
    for (const auto& extra : response->additionals)
      if (extra.type == dns::Type::A)
        cache.put({extra.name, dns::Type::A}, {extra}, now);
    break;
  }
  reply_box->set_receiver(nullptr);
  return answers;
}

}  // namespace mailsim::sim

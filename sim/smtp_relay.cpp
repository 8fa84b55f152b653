// smtp: the SMTP client of a provider's server, relaying a queued message to
// the next hop (RFC 5321 5.1): look up the recipient domain's MX records,
// try the hosts in order of preference (an MX host's address comes from the
// A records, often already in the MX answer's additional section), connect to
// port 25 and run smtp::ClientSession. On this connection the sending server
// is the SMTP client and the receiving server the SMTP server. When the sending
// provider's "tls" has relay "starttls", the client uses STARTTLS whenever the
// receiving server offers it (opportunistic, as MTAs do on port 25, RFC 3207 4).
//
// Without any MX record the domain's own A record is the host (RFC 5321
// 5.1, "implicit MX"). A connection refused or a 4xx reply is a temporary
// failure (deferred, retried by qmgr); a 5xx reply is permanent (bounced).
#include "sim/daemons.hpp"

#include "sim/session.hpp"

#include <fmt/format.h>
#include <xbt/log.h>

#include <algorithm>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_smtp_relay, mailsim, "SMTP client relaying (smtp)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

DeliveryStatus relay(const scenario::Provider& from, const QueuedMessage& message,
                     const std::string& domain, const std::vector<std::string>& recipients,
                     std::string* diagnostic)
{
  auto& world = World::get();
  const auto& me = world.platform().host(from.host);
  auto timelines = [&](auto&& update) {
    for (const auto& rcpt : recipients)
      update(world.timeline(message.message_id, rcpt));
  };

  // The MX lookup.
  double dns_start = sg4::Engine::get_clock();
  int dns_round_trips = 0;
  auto mx = resolve(me, "smtp", domain, dns::Type::MX, &dns_round_trips);
  std::vector<std::pair<int, std::string>> hops;
  for (const auto& record : mx)
    if (record.type == dns::Type::MX)
      hops.emplace_back(record.preference, record.exchange);
  std::stable_sort(hops.begin(), hops.end());
  if (hops.empty())
    hops.emplace_back(0, domain);  // implicit MX

  std::vector<const HostEntry*> targets;
  for (const auto& [preference, name] : hops) {
    auto a = resolve(me, "smtp", name, dns::Type::A, &dns_round_trips);
    for (const auto& record : a)
      if (record.type == dns::Type::A)
        if (const auto* host = world.platform().find_by_address(dns::format_ipv4(record.address)))
          targets.push_back(host);
  }
  double dns_end = sg4::Engine::get_clock();
  timelines([&](Timeline& t) {
    if (t.dns_start < 0) {
      t.dns_start = dns_start;
      t.dns_end = dns_end;
      t.dns_round_trips = dns_round_trips;
    }
  });
  if (targets.empty()) {
    *diagnostic = fmt::format("Host or domain name not found: {} has no MX or A record", domain);
    return DeliveryStatus::deferred;
  }

  // Try each MX host in turn until one answers.
  ConnectionSpec spec{"smtp", "SMTP client", "SMTP server", "push"};
  for (const auto* target : targets) {
    double opened = sg4::Engine::get_clock();
    auto socket = connect(me, "smtp", *target, kPortSmtp, spec);
    if (not socket) {
      *diagnostic = fmt::format("connect to {}[{}]:25: Connection refused", target->name,
                                target->address);
      continue;
    }
    auto& connection = socket->connection();
    connection.message_id = message.message_id;
    timelines([&](Timeline& t) {
      t.relay_open = opened;
      t.relay_established = connection.established_at;
      t.relay_conn = connection.id;
    });

    smtp::Envelope envelope = message.envelope;
    envelope.recipients = recipients;
    smtp::ClientConfig config;
    config.helo_name = from.host;
    if (from.tls.relay == scenario::TlsMode::starttls)
      config.tls = smtp::TlsPolicy::opportunistic;
    smtp::ClientSession engine(config, std::move(envelope));
    drive_session(*socket, engine, [&](const std::vector<smtp::ClientEvent>& events) {
      for (const auto& e : events)
        if (e.kind == smtp::ClientEvent::Kind::starttls) {
          tls_connect(*socket, from.tls.version);
          engine.tls_established();
        }
    });
    timelines([&](Timeline& t) { t.relay_tls = connection.tls_span; });

    if (engine.succeeded()) {
      *diagnostic = fmt::format("relay={}[{}]:25, conn={}", target->name, target->address,
                                connection.id);
      return DeliveryStatus::sent;
    }
    const auto& failure = engine.failure();
    int code = failure ? failure->code : 421;
    std::string text = failure && not failure->lines.empty() ? failure->lines.front() : "";
    *diagnostic = fmt::format("host {}[{}] said: {} {}", target->name, target->address, code, text);
    return code >= 500 ? DeliveryStatus::bounced : DeliveryStatus::deferred;
  }
  return DeliveryStatus::deferred;
}

}  // namespace mailsim::sim

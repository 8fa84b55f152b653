// smtp: the SMTP client of a provider's server, relaying a queued message to
// the next hop (RFC 5321 5.1): look up the recipient domain's MX records,
// try the hosts in order of preference (an MX host's address comes from the
// A records, often already in the MX answer's additional section), connect to
// port 25 and run smtp::ClientSession. On this connection the sending server
// is the SMTP client and the receiving server the SMTP server. When the sending
// provider's "tls" has relay "starttls", the client uses STARTTLS whenever the
// receiving server offers it (opportunistic, as MTAs do on port 25, RFC 3207 4). With the
// provider's "pipelining", MAIL, the RCPTs and DATA go as one flight when offered (RFC 2920).
//
// Without any MX record the domain's own A record is the host (RFC 5321
// 5.1, "implicit MX"); a domain the DNS does not know at all is a permanent
// failure. A server that finds itself among the MX hosts (a backup MX
// relaying to the primary) drops its own record and every less preferred
// one (RFC 5321 5.1), so that mail only moves towards the best host.
//
// Failures, per recipient: a host that refuses the connection or does not
// answer it sends us on to the next MX host; when none is left, or a server
// answers 4xx, the recipient is deferred (qmgr retries); a 5xx reply bounces
// it. A RCPT refused with 5xx bounces that recipient alone.
#include "sim/daemons.hpp"

#include "sim/session.hpp"

#include <fmt/format.h>
#include <xbt/log.h>

#include <algorithm>
#include <cctype>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_smtp_relay, mailsim, "SMTP client relaying (smtp)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

// The enhanced status code at the start of a reply's text (RFC 2034), or the
// class of the basic code with 0.0 ("550" without one gives "5.0.0").
std::string enhanced_status(const smtp::Reply& reply)
{
  std::string text = reply.lines.empty() ? "" : reply.lines.front();
  std::size_t i = 0, dots = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    dots += text[i++] == '.';
  if (dots == 2 && i > 4 && text[0] == char('0' + reply.code / 100))
    return text.substr(0, i);
  return fmt::format("{}.0.0", reply.code / 100);
}

std::string reply_text(const smtp::Reply& reply)
{
  return fmt::format("{} {}", reply.code, reply.lines.empty() ? "" : reply.lines.front());
}

// The same result for every recipient.
std::vector<DeliveryResult> for_all(const std::vector<std::string>& recipients,
                                    DeliveryResult result)
{
  return std::vector<DeliveryResult>(recipients.size(), result);
}

}  // namespace

std::vector<DeliveryResult> relay(const scenario::Provider& from, const QueuedMessage& message,
                                  const std::string& domain,
                                  const std::vector<std::string>& recipients)
{
  auto& world = World::get();
  const auto& me = world.platform().host(from.host);
  auto timelines = [&](auto&& update) {
    for (const auto& rcpt : recipients) {
      auto& t = world.timeline(message.message_id, rcpt);
      if (t.sending_server.empty() || t.sending_server == from.host)
        update(t);
    }
  };

  // The MX lookup.
  double dns_start = sg4::Engine::get_clock();
  int dns_round_trips = 0;
  bool no_such_domain = false;
  auto mx = resolve(me, "smtp", domain, dns::Type::MX, &dns_round_trips, &no_such_domain);
  std::vector<std::pair<int, std::string>> hops;
  for (const auto& record : mx)
    if (record.type == dns::Type::MX)
      hops.emplace_back(record.preference, record.exchange);
  std::stable_sort(hops.begin(), hops.end());
  auto self = std::find_if(hops.begin(), hops.end(),
                           [&](const auto& hop) { return hop.second == from.host; });
  if (self != hops.end()) {
    int mine = self->first;
    hops.erase(std::remove_if(hops.begin(), hops.end(),
                              [mine](const auto& hop) { return hop.first >= mine; }),
               hops.end());
  }
  if (hops.empty() && mx.empty() && not no_such_domain)
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
    t.dns_start = dns_start;
    t.dns_end = dns_end;
    t.dns_round_trips = dns_round_trips;
  });
  if (no_such_domain) {
    std::string why = fmt::format("Host or domain name not found: the DNS says {} does not exist",
                                  domain);
    return for_all(recipients, {DeliveryStatus::bounced, why, "5.1.2", "", "", ""});
  }
  if (targets.empty()) {
    std::string why = fmt::format("no usable mail server for {} (MX or A record)", domain);
    return for_all(recipients, {DeliveryStatus::deferred, why, "4.4.4", "", "", ""});
  }

  // Try each MX host in turn until one answers.
  ConnectionSpec spec{"smtp", "SMTP client", "SMTP server", "push"};
  std::string unreachable;  // the hosts that did not take the connection, for the log
  for (const auto* target : targets) {
    double opened = sg4::Engine::get_clock();
    ConnectError error = ConnectError::refused;
    auto socket = connect(me, "smtp", *target, kPortSmtp, spec, &error);
    if (not socket) {
      unreachable += fmt::format("{}connect to {}[{}]:25: {}", unreachable.empty() ? "" : "; ",
                                 target->name, target->address,
                                 error == ConnectError::refused ? "Connection refused"
                                                                : "Connection timed out");
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
    config.use_pipelining = from.pipelining;
    smtp::ClientSession engine(config, std::move(envelope));
    drive_session(*socket, engine, [&](const std::vector<smtp::ClientEvent>& events) {
      for (const auto& e : events)
        if (e.kind == smtp::ClientEvent::Kind::starttls) {
          tls_connect(*socket, from.tls.version);
          engine.tls_established();
        }
    });
    timelines([&](Timeline& t) { t.relay_tls = connection.tls_span; });

    std::string via = unreachable.empty() ? "" : " after " + unreachable;
    std::vector<DeliveryResult> results;
    auto rcpt_replies = engine.recipient_replies();
    const auto& failure = engine.failure();
    for (const auto& rcpt : recipients) {
      const smtp::Reply* reply = failure ? &*failure : nullptr;
      for (const auto& [address, answer] : rcpt_replies)
        if (address == rcpt && answer.code >= 400)
          reply = &answer;
      DeliveryResult result;
      result.remote_mta = target->name;
      result.skipped = unreachable;
      if (reply == nullptr && engine.succeeded()) {
        result.status = DeliveryStatus::sent;
        result.diagnostic = fmt::format("relay={}[{}]:25, conn={}{}", target->name,
                                        target->address, connection.id, via);
        result.dsn_status = "2.0.0";
      } else {
        smtp::Reply lost{421, {"4.4.2 connection lost"}};
        const smtp::Reply& said = reply ? *reply : lost;
        result.status = said.code >= 500 ? DeliveryStatus::bounced : DeliveryStatus::deferred;
        result.reply = reply_text(said);
        result.dsn_status = enhanced_status(said);
        result.diagnostic = fmt::format("host {}[{}] said: {}{}", target->name, target->address,
                                        result.reply, via);
      }
      results.push_back(result);
    }
    return results;
  }
  return for_all(recipients, {DeliveryStatus::deferred, unreachable, "4.4.1", "", "", ""});
}

}  // namespace mailsim::sim

// smtpd: the SMTP server of a provider, on port 25 (relay, RFC 5321), 587
// (submission, RFC 6409) and, with implicit TLS, 465 (submission, RFC 8314 3.3).
// STARTTLS (RFC 3207) is offered on 25 and 587 when the provider's "tls" says
// so, and required on 587 when submission is "starttls" (RFC 8314 3.3 wants
// mail submitted inside TLS). One actor per connection runs smtp::ServerSession;
// what the engine accepts is written to the queue (a CPU cost standing for the
// queue file's write and fsync) before the 250 reply goes out, then handed to
// the queue manager. Each port runs at most the provider's process_limit sessions at once
// (Postfix's maxproc per master.cf service, sim/process_limit.hpp); a connection beyond it
// waits, after its handshake, for a session to end before it gets its 220 greeting.
#include "sim/daemons.hpp"

#include "models/message.hpp"
#include "sim/process_limit.hpp"
#include "sim/session.hpp"

#include <fmt/format.h>
#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_smtpd, mailsim, "SMTP server (smtpd)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

std::string domain_of(std::string_view address)
{
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

// What smtpd needs from the rest of the server: accounts, local domains, the queue.
class SmtpdBackend : public smtp::ServerBackend {
 public:
  SmtpdBackend(const scenario::Provider& provider, Connection& connection)
      : provider_(provider), connection_(connection)
  {
  }

  bool authenticate(std::string_view user, std::string_view password) override
  {
    auto* account = World::get().store(provider_.domain).find_account(user);
    return account != nullptr && account->check_password(password);
  }

  smtp::RcptVerdict check_recipient(std::string_view address, bool authenticated) override
  {
    std::string domain = domain_of(address);
    if (domain == provider_.domain)
      return World::get().store(provider_.domain).find_account(address) != nullptr
                 ? smtp::RcptVerdict::accept
                 : smtp::RcptVerdict::unknown_user;
    // Not ours: only an authenticated user of ours may have it relayed, and
    // anyone may send mail for a domain that lists us as a (backup) MX host:
    // we queue it and pass it on to a better MX host (Postfix's relay_domains).
    if (authenticated || is_mx_for(domain))
      return smtp::RcptVerdict::accept;
    return smtp::RcptVerdict::relay_denied;
  }

  std::string accept_message(const smtp::Envelope& envelope) override
  {
    auto& world = World::get();
    QueuedMessage queued;
    queued.queue_id = world.next_queue_id(provider_.host);
    queued.envelope = envelope;
    queued.message_id = msg::find_header(envelope.message, "Message-ID").value_or("");
    queued.queued_at = sg4::Engine::get_clock();
    // RFC 5321 4.4: every SMTP server that accepts a message prepends Received:.
    const auto& me = world.platform().host(provider_.host);
    std::int64_t now = world.scenario().epoch_unix + static_cast<std::int64_t>(queued.queued_at);
    queued.envelope.message = msg::prepend_header(
        envelope.message, "Received",
        smtp::received_field_value(envelope, me.name, queued.queue_id,
                                   msg::format_date(now, me.utc_offset_minutes)));
    connection_.message_id = queued.message_id;
    accepted_.push_back(std::move(queued));
    return accepted_.back().queue_id;
  }

  std::vector<QueuedMessage> take_accepted() { return std::exchange(accepted_, {}); }

  bool is_mx_for(const std::string& domain) const
  {
    const auto* other = World::get().provider_of_domain(domain);
    if (other == nullptr)
      return false;
    for (const auto& mx : other->mx)
      if (mx.host == provider_.host)
        return true;
    return false;
  }

 private:
  const scenario::Provider& provider_;
  Connection& connection_;
  std::vector<QueuedMessage> accepted_;
};

// What STARTTLS looks like on this port: offered, required, or neither.
void configure_tls(const scenario::Provider& provider, smtp::Service service, bool implicit_tls,
                   smtp::ServerConfig& config)
{
  using scenario::TlsMode;
  config.implicit_tls = implicit_tls;
  if (implicit_tls)
    return;
  if (service == smtp::Service::relay) {
    config.tls_available = provider.tls.relay == TlsMode::starttls;
  } else {
    config.tls_available = provider.tls.submission != TlsMode::off;
    config.tls_required = provider.tls.submission == TlsMode::starttls;
  }
}

// One SMTP session on an accepted connection, in a process of its own.
void serve_smtp(const scenario::Provider& provider, smtp::Service service, bool implicit_tls,
                const std::shared_ptr<Connection>& connection, Socket& socket)
{
  auto& world = World::get();
  if (implicit_tls)
    tls_accept(socket, provider.tls.version);
  SmtpdBackend backend(provider, *connection);
  smtp::ServerConfig config;
  config.hostname = provider.host;
  config.service = service;
  config.client_address =
      connection->client_host->name + " [" + connection->client_host->address + "]";
  configure_tls(provider, service, implicit_tls, config);
  smtp::ServerSession engine(config, backend);

  // RFC 3207 4.2: the handshake starts once the 220 to STARTTLS is out.
  bool start_tls = false;
  auto after_write = [&]() {
    if (std::exchange(start_tls, false)) {
      tls_accept(socket, provider.tls.version);
      engine.tls_established();
    }
  };
  serve_session(socket, engine, [&](const std::vector<smtp::ServerEvent>& events) {
    for (const auto& e : events)
      start_tls |= e.kind == smtp::ServerEvent::Kind::starttls;
    for (auto& queued : backend.take_accepted()) {
      // The queue file is on disk before the 250 goes out (RFC 5321 6.1).
      sg4::this_actor::execute(world.costs().queue_write);
      queued.queued_at = sg4::Engine::get_clock();
      for (const auto& rcpt : queued.envelope.recipients) {
        auto& timeline = world.timeline(queued.message_id, rcpt);
        // Round trips so far, and the one the coming 250 completes.
        int round_trips = connection->round_trips + 1;
        if (service == smtp::Service::submission) {
          timeline.submit_round_trips = round_trips;
          timeline.submitted = queued.queued_at;
          timeline.sending_server = provider.host;
          timeline.queue_id_out = queued.queue_id;
          timeline.submission_conn = connection->id;
        } else if (timeline.relayed < 0) {  // the first hop; a backup MX's next one is not
          timeline.relay_round_trips = round_trips;
          timeline.relayed = queued.queued_at;
          timeline.receiving_server = provider.host;
          timeline.queue_id_in = queued.queue_id;
          timeline.relay_conn = connection->id;
        } else if (timeline.next_hop_relayed < 0) {
          timeline.next_hop_relayed = queued.queued_at;
          timeline.next_hop_server = provider.host;
        }
      }
      qmgr_enqueue(provider.domain, std::move(queued));
    }
  }, after_write);
}

// The kernel's handshake, then the session at once if a process is free, or later, in an
// actor of its own, when one is given back.
void smtpd_session(const scenario::Provider& provider, smtp::Service service, bool implicit_tls,
                   std::shared_ptr<Connection> connection, ProcessLimit& processes)
{
  auto socket = std::make_shared<Socket>(accept_connection(connection, "smtpd"));
  auto serve = [&provider, service, implicit_tls, connection, socket, &processes]() {
    serve_smtp(provider, service, implicit_tls, connection, *socket);
    processes.give_back();
  };
  if (processes.try_take()) {
    serve();
    return;
  }
  processes.wait(*socket, [connection, socket, serve]() {
    sg4::Actor::create("smtpd", connection->server_host->host, [socket, serve]() {
      socket->adopt();
      serve();
    })->daemonize();
  });
}

}  // namespace

void start_smtpd(const scenario::Provider& provider, smtp::Service service, bool implicit_tls)
{
  const auto& host = World::get().platform().host(provider.host);
  int port = implicit_tls                               ? kPortSubmissions
             : service == smtp::Service::submission ? kPortSubmission
                                                    : kPortSmtp;
  auto processes = std::make_shared<ProcessLimit>(
      provider.process_limit, fmt::format("smtpd on {}:{}", provider.host, port));
  // The listener stands for the kernel: it holds what waiting connections receive.
  auto listener = start_listener(
      host, port, "smtpd",
      [&provider, service, implicit_tls, processes](std::shared_ptr<Connection> c) {
        smtpd_session(provider, service, implicit_tls, std::move(c), *processes);
      });
  processes->set_kernel(listener.get());
}

void start_mail_server(const scenario::Provider& provider)
{
  start_qmgr(provider);
  if (provider.services.relay)
    start_smtpd(provider, smtp::Service::relay);
  if (provider.services.submission)
    start_smtpd(provider, smtp::Service::submission);
  if (provider.services.submission && provider.tls.submission == scenario::TlsMode::implicit)
    start_smtpd(provider, smtp::Service::submission, true);
  if (provider.services.pop3)
    start_pop3d(provider);
  if (provider.services.imap)
    start_imapd(provider);
  if (provider.services.webmail)
    start_webmaild(provider);
}

}  // namespace mailsim::sim

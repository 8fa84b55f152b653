// webmaild: the provider's webmail, HTTP/1.1 on port 80, or HTTPS on 443
// (HTTP inside TLS from the first byte, RFC 2818) when retrieval uses TLS. The browser posts a
// message as JSON; webmail composes the RFC 5322 message itself (Date in the
// sender's zone, Message-ID) and hands it to the queue manager, as Postfix's
// sendmail/pickup does for local submissions. Reading goes straight to the
// mail store.
#include "sim/daemons.hpp"

#include "models/message.hpp"
#include "models/webmail.hpp"
#include "sim/mailboxes.hpp"
#include "sim/idle_watch.hpp"
#include "sim/session.hpp"

#include <fmt/format.h>
#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_webmaild, mailsim, "Webmail server (webmaild)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

class WebmailBackend : public webmail::Backend {
 public:
  WebmailBackend(const scenario::Provider& provider, Connection& connection)
      : provider_(provider), connection_(connection)
  {
  }

  bool authenticate(std::string_view user, std::string_view password) override
  {
    auto* account = store().find_account(user);
    return account != nullptr && account->check_password(password);
  }

  std::pair<std::string, std::string> submit(std::string_view user,
                                             const std::vector<std::string>& to,
                                             std::string_view subject,
                                             std::string_view body) override
  {
    webmail::Submission s;
    s.to = to;
    s.subject = std::string(subject);
    s.body = std::string(body);
    return *submit(user, s);
  }

  std::optional<std::pair<std::string, std::string>> submit(std::string_view user,
                                                            const webmail::Submission& s) override
  {
    auto& world = World::get();
    double now = sg4::Engine::get_clock();
    auto* account = store().find_account(user);
    const auto* person = world.person_by_address(account->address());
    const auto& device_host = *connection_.client_host;
    auto composed = compose_web_submission(*account, person ? person->address : std::string(user),
                                           person ? person->name : "", s);
    if (!composed)
      return std::nullopt;
    auto& c = *composed;
    c.date_unix = world.scenario().epoch_unix + static_cast<std::int64_t>(now);
    c.tz_offset_minutes = device_host.utc_offset_minutes;
    c.message_id = world.next_message_id(provider_.domain, now);

    QueuedMessage queued;
    queued.queue_id = world.next_queue_id(provider_.host);
    queued.message_id = c.message_id;
    queued.envelope.mail_from = c.from;
    queued.envelope.recipients = msg::envelope_recipients(c);
    queued.envelope.message = msg::build_message(c);
    queued.envelope.authenticated_user = c.from;
    queued.queued_at = now;
    for (const auto& rcpt : queued.envelope.recipients) {
      auto& timeline = world.timeline(c.message_id, rcpt);
      timeline.from = c.from;
      timeline.subject = c.subject;
      timeline.sending_server = provider_.host;
      timeline.queue_id_out = queued.queue_id;
      timeline.submission_conn = connection_.id;
      timeline.submit_open = connection_.opened_at;
      timeline.submit_established = connection_.established_at;
    }
    connection_.message_id = c.message_id;
    accepted_.push_back(std::move(queued));
    return std::make_pair(accepted_.back().queue_id, c.message_id);
  }

  std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> folders(
      std::string_view user) override
  {
    std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> result;
    auto* account = store().find_account(user);
    if (account == nullptr)
      return result;
    auto& inbox = account->inbox();
    std::size_t unseen = 0;
    for (const auto& m : inbox.messages())
      unseen += m.flags.count("\\Seen") == 0;
    result.push_back({inbox.name(), {inbox.messages().size(), unseen}});
    return result;
  }

  std::vector<webmail::MessageSummary> list(std::string_view user, std::string_view folder) override
  {
    std::vector<webmail::MessageSummary> result;
    auto* account = store().find_account(user);
    auto* f = account ? account->folder(folder) : nullptr;
    if (f == nullptr)
      return result;
    for (const auto& m : f->messages())
      result.push_back({m.uid, msg::find_header(m.text, "From").value_or(""),
                        msg::find_header(m.text, "Subject").value_or(""),
                        msg::find_header(m.text, "Date").value_or(""),
                        m.flags.count("\\Seen") > 0, m.text.size()});
    return result;
  }

  std::optional<webmail::MessageView> read(std::string_view user, std::string_view folder,
                                           std::uint32_t id) override
  {
    auto* account = store().find_account(user);
    auto* f = account ? account->folder(folder) : nullptr;
    if (f == nullptr)
      return std::nullopt;
    for (const auto& m : f->messages()) {
      if (m.uid != id)
        continue;
      f->add_flags(id, {"\\Seen"});
      auto split = m.text.find("\r\n\r\n");
      std::string body = split == std::string::npos ? "" : m.text.substr(split + 4);
      read_.push_back(m.message_id);
      return webmail::MessageView{m.uid,
                                  msg::find_header(m.text, "From").value_or(""),
                                  msg::find_header(m.text, "To").value_or(""),
                                  msg::find_header(m.text, "Subject").value_or(""),
                                  msg::find_header(m.text, "Date").value_or(""),
                                  body,
                                  m.text.size()};
    }
    return std::nullopt;
  }

  std::vector<QueuedMessage> take_accepted() { return std::exchange(accepted_, {}); }
  std::vector<std::string> take_read() { return std::exchange(read_, {}); }

 private:
  store::MailStore& store() { return World::get().store(provider_.domain); }

  const scenario::Provider& provider_;
  Connection& connection_;
  std::vector<QueuedMessage> accepted_;
  std::vector<std::string> read_;
};

}  // namespace

void start_webmaild(const scenario::Provider& provider)
{
  const auto& host = World::get().platform().host(provider.host);
  start_listener(host, webmail_port(provider), "webmail", [&provider](std::shared_ptr<Connection>
                                                                          connection) {
    auto& world = World::get();
    Socket socket = accept_connection(connection, "webmail");
    if (provider.tls.retrieval == scenario::TlsMode::implicit)
      tls_accept(socket, provider.tls.version);
    WebmailBackend backend(provider, *connection);
    webmail::ServerConfig config;
    config.hostname = provider.host;
    webmail::ServerSession engine(config, backend);
    auto& store = world.store(provider.domain);
    auto version = store.version();
    serve_session(socket, engine, [&](const std::vector<webmail::ServerEvent>&) {
      if (store.version() != std::exchange(version, store.version()))
        IdleWatch::wake_all(store);  // what the browser did, an IMAP session in IDLE hears
      for (auto& queued : backend.take_accepted()) {
        sg4::this_actor::execute(world.costs().queue_write);
        queued.queued_at = sg4::Engine::get_clock();
        for (const auto& rcpt : queued.envelope.recipients) {
          auto& timeline = world.timeline(queued.message_id, rcpt);
          timeline.submitted = queued.queued_at;
          timeline.submit_round_trips = connection->round_trips + 1;  // with the coming 202
        }
        qmgr_enqueue(provider.domain, std::move(queued));
      }
    });
  });
}

}  // namespace mailsim::sim

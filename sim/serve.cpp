// mailsim serve: the engines of models/ behind real loopback sockets.
//
// Theory of operation. One thread runs one poll(2) loop over a self-pipe (written by the
// SIGINT/SIGTERM handler, the loop's only way to stop), nine listening sockets and the
// accepted connections. Every socket is non-blocking. Each accepted connection gets one
// server engine (smtp, pop3, imap or webmail) and a buffer of bytes waiting to be written;
// the loop feeds the engine what arrives, appends what the engine wants said, and writes it
// when the socket can take it. Buffers are bounded: a read takes at most kReadChunk octets
// and the next read waits until they have all been fed; they are fed one line at a time, and
// feeding stops while the unsent output is above kMaxPendingOutput, so a few bytes asking for
// a large reply many times over (FETCH 1:* BODY[] repeated) cannot pile up more than one
// reply beyond the limit. The engines keep their own line and message limits.
//
// Every provider of the scenario is served by this one process, so all mailboxes live in one
// store (built by open_mailboxes(), as `run` builds its own). Mail accepted on either SMTP
// port for a user of the scenario is put straight into that user's INBOX, with Received:
// and Return-Path: as a real final delivery adds them; anything for another domain is
// refused with the engine's own "550 5.7.1 Relaying denied" (there is no outbound relay).
// After any connection's input has been handled, every IMAP session is told the store may
// have changed, so a session in IDLE hears of new, expunged or re-flagged messages at once.
//
// STARTTLS on both SMTP ports (RFC 3207) and on IMAP (RFC 3501 6.2.1), and STLS on POP3
// (RFC 2595), are real TLS (sim/serve_tls.hpp): the engine says "220 Ready to start TLS"
// (or its POP3 or IMAP words) in the clear, then the connection's bytes pass through a TlsStream,
// and the engine hears tls_established() when the handshake is done. The implicit-TLS ports
// (RFC 8314: submissions, IMAPS, POP3S; HTTPS, RFC 2818) put a TlsStream on the connection as
// it is accepted: the engine's greeting waits in the stream until the handshake is done, and
// the engines start with implicit_tls, so they offer no STARTTLS or STLS. The certificate
// is self-signed and made at start-up. Plain HTTP has no STARTTLS; HTTPS is its TLS.
//
// Time here is the real clock: Date: of webmail messages, Received: stamps, INTERNALDATE and
// the Date field of HTTP responses are the wall time in UTC, passed in to the engines as
// they expect (IMAP's epoch is 0).
//
// Left out: outbound relay, persistence
// (the mailboxes live as long as the process), and any limit on connections beyond
// kMaxConnections (further ones are accepted and closed at once).
#include "sim/serve.hpp"

#include "models/imap.hpp"
#include "models/message.hpp"
#include "models/pop3.hpp"
#include "models/smtp.hpp"
#include "models/store.hpp"
#include "models/webmail.hpp"
#include "sim/mailboxes.hpp"
#include "sim/run.hpp"
#include "sim/serve_tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mailsim::sim {

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxPendingOutput = 256 * 1024;
constexpr std::size_t kMaxConnections = 256;
constexpr int kListenBacklog = 64;
const char* const kHostname = "localhost";  // what the engines call themselves

// The write end of the self-pipe; the signal handler's only business.
int signal_pipe_write = -1;

extern "C" void on_stop_signal(int)
{
  int saved = errno;
  char byte = 1;
  [[maybe_unused]] auto n = write(signal_pipe_write, &byte, 1);
  errno = saved;
}

std::int64_t unix_now()
{
  return static_cast<std::int64_t>(std::time(nullptr));
}

std::string lowercase(std::string_view s)
{
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string domain_of(std::string_view address)
{
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : lowercase(address.substr(at + 1));
}

// rfc9110.txt 5.6.7 IMF-fixdate: "Fri, 04 Dec 2026 06:09:07 GMT".
std::string http_date(std::int64_t unix_seconds)
{
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", days[tm.tm_wday], tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// The mailboxes of every provider of the scenario, and final delivery into them.
class PostOffice {
 public:
  explicit PostOffice(const scenario::Scenario& s) : store_("")
  {
    for (const auto& provider : s.providers)
      domains_.insert(lowercase(provider.domain));
    for (const auto& person : s.people)
      names_[lowercase(person.address)] = person.name;
    open_mailboxes(s, [this](const std::string& domain) -> store::MailStore* {
      return serves(domain) ? &store_ : nullptr;
    });
  }

  store::MailStore& store() { return store_; }
  std::size_t accounts() const { return store_.accounts().size(); }

  // Whether a provider of the scenario has this domain.
  bool serves(std::string_view domain) const { return domains_.count(lowercase(domain)) > 0; }

  // The account of a full address ("uday@ums.com"), or nullptr.
  store::Account* account(std::string_view user)
  {
    return user.find('@') == std::string_view::npos ? nullptr : store_.find_account(user);
  }

  bool authenticate(std::string_view user, std::string_view password)
  {
    auto* a = account(user);
    return a != nullptr && a->check_password(password);
  }

  // The person's display name from the scenario, "" if unknown.
  std::string name_of(std::string_view address) const
  {
    auto it = names_.find(lowercase(address));
    return it == names_.end() ? "" : it->second;
  }

  std::string next_queue_id() { return fmt::format("{:010X}", ++queue_ids_); }

  std::string next_message_id(std::string_view domain)
  {
    return msg::make_message_id(fmt::format("{}.{}", unix_now(), ++message_ids_), domain);
  }

  // Final delivery (RFC 5321 4.4): Return-Path from the reverse-path, then the INBOX of each
  // recipient that has an account.
  void deliver(const smtp::Envelope& envelope, std::string_view text)
  {
    std::string stamped =
        msg::prepend_header(text, "Return-Path", "<" + envelope.mail_from + ">");
    for (const auto& rcpt : envelope.recipients)
      store_.deliver(rcpt, stamped, static_cast<double>(unix_now()));
  }

 private:
  store::MailStore store_;
  std::set<std::string> domains_;
  std::map<std::string, std::string> names_;
  std::uint64_t queue_ids_ = 0;
  std::uint64_t message_ids_ = 0;
};

// SMTP on both ports: users of the scenario's domains are local, the rest is relaying.
class SmtpBackend : public smtp::ServerBackend {
 public:
  explicit SmtpBackend(PostOffice& office) : office_(office) {}

  bool authenticate(std::string_view user, std::string_view password) override
  {
    return office_.authenticate(user, password);
  }

  smtp::RcptVerdict check_recipient(std::string_view address, bool) override
  {
    // No outbound relay, even for an authenticated user: only local mail is taken.
    if (!office_.serves(domain_of(address)))
      return smtp::RcptVerdict::relay_denied;
    return office_.account(address) ? smtp::RcptVerdict::accept
                                    : smtp::RcptVerdict::unknown_user;
  }

  std::string accept_message(const smtp::Envelope& envelope) override
  {
    std::string queue_id = office_.next_queue_id();
    auto received = smtp::received_field_value(envelope, kHostname, queue_id,
                                               msg::format_date(unix_now(), 0));
    office_.deliver(envelope, msg::prepend_header(envelope.message, "Received", received));
    return queue_id;
  }

 private:
  PostOffice& office_;
};

// The webmail API over the same store: every folder, moves and flags included.
class WebmailBackend : public webmail::Backend {
 public:
  explicit WebmailBackend(PostOffice& office) : office_(office) {}

  bool authenticate(std::string_view user, std::string_view password) override
  {
    return office_.authenticate(user, password);
  }

  // The same refusals as RCPT on the SMTP ports: no outbound relay, even for a logged-in user.
  webmail::RecipientVerdict check_recipient(std::string_view, std::string_view address) override
  {
    if (!office_.serves(domain_of(address)))
      return webmail::RecipientVerdict::relay_denied;
    return office_.account(address) ? webmail::RecipientVerdict::accept
                                    : webmail::RecipientVerdict::unknown_user;
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

  // Delivered at once into each recipient's INBOX (all of them local: check_recipient() said
  // so), Bcc in the envelope only, as the simulation's webmaild composes it.
  std::optional<std::pair<std::string, std::string>> submit(std::string_view user,
                                                            const webmail::Submission& s) override
  {
    auto* account = office_.account(user);
    const auto& from = account->address();
    auto c = compose_web_submission(*account, from, office_.name_of(from), s);
    if (!c)
      return std::nullopt;
    c->date_unix = unix_now();
    c->tz_offset_minutes = 0;
    c->message_id = office_.next_message_id(domain_of(from));
    smtp::Envelope envelope;
    envelope.mail_from = from;
    envelope.recipients = msg::envelope_recipients(*c);
    envelope.authenticated_user = from;
    office_.deliver(envelope, msg::build_message(*c));
    return std::make_pair(office_.next_queue_id(), c->message_id);
  }

  std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> folders(
      std::string_view user) override
  {
    std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> result;
    if (auto* account = office_.account(user))
      for (const auto* f : account->folders())
        result.push_back({f->name(), {f->messages().size(), f->unseen_count()}});
    return result;
  }

  std::vector<webmail::MessageSummary> list(std::string_view user, std::string_view folder) override
  {
    std::vector<webmail::MessageSummary> result;
    if (auto* f = find_folder(user, folder))
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
    auto* f = find_folder(user, folder);
    const auto* m = f ? f->find(id) : nullptr;
    if (m == nullptr)
      return std::nullopt;
    f->add_flags(id, {"\\Seen"});
    return webmail::MessageView{m->uid,
                                msg::find_header(m->text, "From").value_or(""),
                                msg::find_header(m->text, "To").value_or(""),
                                msg::find_header(m->text, "Subject").value_or(""),
                                msg::find_header(m->text, "Date").value_or(""),
                                std::string(msg::body_of(m->text)),
                                m->text.size()};
  }

  bool move(std::string_view user, std::string_view folder, std::uint32_t id,
            std::string_view to_folder) override
  {
    auto* from = find_folder(user, folder);
    auto* to = find_folder(user, to_folder);
    const auto* m = from ? from->find(id) : nullptr;
    if (m == nullptr || to == nullptr || to == from)
      return false;
    to->append(m->text, m->flags, m->internal_date);
    from->remove(id);
    return true;
  }

  bool update_flags(std::string_view user, std::string_view folder, std::uint32_t id,
                    const std::vector<std::string>& add,
                    const std::vector<std::string>& remove) override
  {
    auto* f = find_folder(user, folder);
    if (f == nullptr || f->find(id) == nullptr)
      return false;
    f->add_flags(id, {add.begin(), add.end()});
    f->remove_flags(id, {remove.begin(), remove.end()});
    return true;
  }

 private:
  store::Folder* find_folder(std::string_view user, std::string_view folder)
  {
    auto* account = office_.account(user);
    return account ? account->folder(folder) : nullptr;
  }

  PostOffice& office_;
};

// One connection's engine, whatever its protocol.
class Session {
 public:
  virtual ~Session() = default;
  virtual void receive(std::string_view bytes) = 0;
  virtual std::string take_output() = 0;
  virtual bool closed() const = 0;
  // Another connection may have changed the store.
  virtual void store_changed() {}
  // True once after the engine said its 220 to STARTTLS: TLS starts after that reply.
  virtual bool take_starttls() { return false; }
  // The TLS handshake that STARTTLS asked for has completed.
  virtual void tls_established() {}
};

template <class Engine>
class EngineSession : public Session {
 public:
  template <class... Args>
  explicit EngineSession(Args&&... args) : engine_(std::forward<Args>(args)...)
  {
  }
  void receive(std::string_view bytes) override
  {
    engine_.receive(bytes);
    engine_.take_events();  // nobody reads them here
  }
  std::string take_output() override { return engine_.take_output(); }
  bool closed() const override { return engine_.closed(); }

 protected:
  Engine engine_;
};

// HTTP responses carry the time they were made (rfc9110.txt 6.6.1: a server with a clock).
class HttpSession : public EngineSession<webmail::ServerSession> {
 public:
  using EngineSession::EngineSession;
  void receive(std::string_view bytes) override
  {
    engine_.set_date(http_date(unix_now()));
    EngineSession::receive(bytes);
  }
};

// SMTP, POP3 and IMAP watch for STARTTLS (rfc3207.txt 4, rfc3501.txt 6.2.1) and STLS
// (rfc2595.txt 4): the poll loop then runs a real handshake.
template <class Engine>
class StartTlsSession : public EngineSession<Engine> {
 public:
  using EngineSession<Engine>::EngineSession;
  void receive(std::string_view bytes) override
  {
    using Event = typename decltype(std::declval<Engine&>().take_events())::value_type;
    this->engine_.receive(bytes);
    for (const auto& e : this->engine_.take_events())
      starttls_ = starttls_ || e.kind == Event::Kind::starttls;
  }
  bool take_starttls() override { return std::exchange(starttls_, false); }
  void tls_established() override { this->engine_.tls_established(); }

 private:
  bool starttls_ = false;
};

// IMAP learns the time for INTERNALDATE, and of other sessions' changes to the store.
class ImapSession : public StartTlsSession<imap::ServerSession> {
 public:
  using StartTlsSession::StartTlsSession;
  void receive(std::string_view bytes) override
  {
    engine_.set_now(static_cast<double>(unix_now()));
    StartTlsSession::receive(bytes);
  }
  void store_changed() override
  {
    engine_.poll();
    engine_.take_events();
  }
};

enum class Service { smtp, submission, pop3, imap, http };

struct Endpoint {
  Service service;
  bool implicit_tls;   // TLS from the first byte (RFC 8314 3)
  const char* name;    // in the JSON line
  const char* option;  // in error messages
  int port;
  int fd = -1;
};

struct Connection {
  int fd = -1;
  std::unique_ptr<Session> session;
  std::unique_ptr<TlsStream> tls;  // from the start on an implicit-TLS port, else after STARTTLS
  bool implicit_tls = false;       // the engine asked for no handshake: do not tell it of one
  std::string input;               // plaintext read but not yet fed to the engine
  std::size_t input_fed = 0;       // octets of input already fed
  std::string output;              // bytes for the socket (ciphertext once TLS is on)
  bool peer_done = false;          // the peer will send no more (EOF)
  bool finished = false;           // nothing more will be read: close once output is out
  bool broken = false;             // a socket error: drop the connection
};

class Server {
 public:
  Server(const scenario::Scenario& s, const ServeOptions& o)
      : options_(o), office_(s), smtp_backend_(office_), webmail_backend_(office_)
  {
  }
  const TlsContext& tls() const { return tls_; }
  ~Server();

  // Opens every listening socket; false (after saying why on stderr) when one cannot be.
  bool listen_all();
  // The one JSON line naming every service and its port.
  std::string ports_json() const;
  std::size_t accounts() const { return office_.accounts(); }
  // Runs until a byte arrives on the self-pipe.
  void run(int stop_fd);

 private:
  bool open_listener(Endpoint& endpoint);
  std::unique_ptr<Session> make_session(Service service, bool implicit_tls,
                                        const std::string& peer);
  void accept_all(const Endpoint& endpoint);
  void read_from(Connection& c);
  bool pump(Connection& c);
  void collect_output(Connection& c);
  void write_to(Connection& c);
  void close_connection(Connection& c);

  ServeOptions options_;
  TlsContext tls_;
  PostOffice office_;
  SmtpBackend smtp_backend_;
  WebmailBackend webmail_backend_;
  webmail::SessionTable web_sessions_;
  std::vector<Endpoint> endpoints_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

Server::~Server()
{
  for (auto& c : connections_)
    close_connection(*c);
  for (auto& e : endpoints_)
    if (e.fd >= 0)
      close(e.fd);
}

bool Server::listen_all()
{
  const auto& o = options_;
  endpoints_ = {
      {Service::smtp, false, "smtp", "--smtp-port", o.smtp_port},
      {Service::submission, false, "submission", "--submission-port", o.submission_port},
      {Service::pop3, false, "pop3", "--pop3-port", o.pop3_port},
      {Service::imap, false, "imap", "--imap-port", o.imap_port},
      {Service::http, false, "http", "--http-port", o.http_port},
      {Service::submission, true, "submissions", "--submissions-port", o.submissions_port},
      {Service::imap, true, "imaps", "--imaps-port", o.imaps_port},
      {Service::pop3, true, "pop3s", "--pop3s-port", o.pop3s_port},
      {Service::http, true, "https", "--https-port", o.https_port}};
  for (auto& e : endpoints_)
    if (!open_listener(e))
      return false;
  return true;
}

bool Server::open_listener(Endpoint& e)
{
  auto fail = [&](const std::string& why) {
    std::cerr << "mailsim serve: cannot listen on " << options_.bind << " port " << e.port
              << " (" << e.option << "): " << why << "\n";
    return false;
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  std::string port = std::to_string(e.port);
  if (int rc = getaddrinfo(options_.bind.c_str(), port.c_str(), &hints, &found); rc != 0) {
    std::cerr << "mailsim serve: --bind " << options_.bind
              << ": not an IPv4 or IPv6 address (" << gai_strerror(rc) << ")\n";
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(found, freeaddrinfo);

  e.fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (e.fd < 0)
    return fail(std::strerror(errno));
  int on = 1;
  setsockopt(e.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(e.fd, found->ai_addr, found->ai_addrlen) != 0 || listen(e.fd, kListenBacklog) != 0)
    return fail(std::strerror(errno));

  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (getsockname(e.fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0)
    return fail(std::strerror(errno));
  e.port = ntohs(bound.ss_family == AF_INET6
                     ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return true;
}

std::string Server::ports_json() const
{
  nlohmann::ordered_json line;
  line["bind"] = options_.bind;
  for (const auto& e : endpoints_)
    line[e.name] = e.port;
  return line.dump();
}

// "127.0.0.1" or "::1" for the peer of a connected socket.
std::string peer_address(int fd)
{
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  char text[INET6_ADDRSTRLEN] = "unknown";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
    if (peer.ss_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, text, sizeof text);
    else
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, text, sizeof text);
  }
  return text;
}

std::unique_ptr<Session> Server::make_session(Service service, bool implicit_tls,
                                              const std::string& peer)
{
  switch (service) {
    case Service::smtp:
    case Service::submission: {
      smtp::ServerConfig config;
      config.hostname = kHostname;
      config.service =
          service == Service::smtp ? smtp::Service::relay : smtp::Service::submission;
      config.tls_available = true;  // real TLS, see collect_output()
      config.implicit_tls = implicit_tls;
      config.client_address = "[" + peer + "]";
      return std::make_unique<StartTlsSession<smtp::ServerSession>>(config, smtp_backend_);
    }
    case Service::pop3: {
      pop3::ServerConfig config;
      config.hostname = kHostname;
      config.tls_available = true;  // STLS, as STARTTLS above
      config.implicit_tls = implicit_tls;
      return std::make_unique<StartTlsSession<pop3::ServerSession>>(config, office_.store());
    }
    case Service::imap: {
      imap::ServerConfig config;
      config.hostname = kHostname;
      config.epoch_unix = 0;        // times given to the engine are Unix times
      config.tls_available = true;  // STARTTLS, as SMTP's
      config.implicit_tls = implicit_tls;
      return std::make_unique<ImapSession>(config, office_.store());
    }
    case Service::http: {
      webmail::ServerConfig config;
      config.hostname = kHostname;
      return std::make_unique<HttpSession>(config, webmail_backend_, web_sessions_);
    }
  }
  return nullptr;
}

void Server::accept_all(const Endpoint& e)
{
  while (true) {
    int fd = accept4(e.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;  // EAGAIN: no more waiting; anything else: try again on the next poll
    if (connections_.size() >= kMaxConnections) {
      close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->session = make_session(e.service, e.implicit_tls, peer_address(fd));
    if (e.implicit_tls) {
      c->tls = std::make_unique<TlsStream>(tls_);
      c->implicit_tls = true;
    }
    collect_output(*c);  // the greeting, where the protocol has one (held until TLS is up)
    connections_.push_back(std::move(c));
  }
}

void Server::read_from(Connection& c)
{
  char buffer[kReadChunk];
  ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
  if (n > 0) {
    std::string_view bytes(buffer, static_cast<std::size_t>(n));
    if (!c.tls) {
      c.input.assign(bytes);
    } else {
      bool was_established = c.tls->established();
      std::string plaintext;
      if (!c.tls->feed(bytes, plaintext)) {  // the alert goes out, then the connection closes
        c.output += c.tls->take_ciphertext();
        c.finished = true;
        return;
      }
      if (c.tls->established() && !was_established && !c.implicit_tls)
        c.session->tls_established();
      c.input = std::move(plaintext);
      c.peer_done = c.tls->peer_closed();
      collect_output(c);  // the handshake's own records
    }
  } else if (n == 0) {
    c.peer_done = true;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    c.broken = true;
  }
}

// Feeds the engine the input read so far, a line at a time, while the output is below its
// limit. Returns true if anything was fed.
bool Server::pump(Connection& c)
{
  bool fed = false;
  while (c.input_fed < c.input.size() && c.output.size() < kMaxPendingOutput &&
         !c.session->closed()) {
    std::string_view rest = std::string_view(c.input).substr(c.input_fed);
    std::size_t line_end = rest.find('\n');
    std::string_view piece = rest.substr(0, line_end == std::string_view::npos ? rest.size()
                                                                                 : line_end + 1);
    c.session->receive(piece);
    c.input_fed += piece.size();
    collect_output(c);
    fed = true;
  }
  if (c.input_fed == c.input.size() || c.session->closed()) {
    c.input.clear();
    c.input_fed = 0;
  }
  return fed;
}

// Moves what the engine wants said into the socket's buffer, through TLS when it is on; starts
// TLS right after the plaintext 220 to STARTTLS.
void Server::collect_output(Connection& c)
{
  std::string plaintext = c.session->take_output();
  if (!c.tls) {
    c.output += plaintext;
    if (c.session->take_starttls())
      c.tls = std::make_unique<TlsStream>(tls_);
    return;
  }
  c.tls->write(plaintext);
  if (c.session->closed() && !c.finished) {
    c.tls->close();
    c.finished = true;
  }
  c.output += c.tls->take_ciphertext();
}

// Writes as much of the output as the socket takes now.
void Server::write_to(Connection& c)
{
  ssize_t n = send(c.fd, c.output.data(), c.output.size(), MSG_NOSIGNAL);
  if (n > 0)
    c.output.erase(0, static_cast<std::size_t>(n));
  else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    c.broken = true;
}

void Server::close_connection(Connection& c)
{
  if (c.fd >= 0)
    close(c.fd);
  c.fd = -1;
}

void Server::run(int stop_fd)
{
  std::vector<pollfd> fds;
  while (true) {
    // Slots: the self-pipe, the listeners, then one per connection in order.
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    short accepting = connections_.size() < kMaxConnections ? POLLIN : 0;
    for (const auto& e : endpoints_)
      fds.push_back({e.fd, accepting, 0});
    for (const auto& c : connections_) {
      bool wants_input = !c->peer_done && !c->finished && !c->session->closed() &&
                         c->input.empty() && c->output.size() < kMaxPendingOutput;
      short events = static_cast<short>((wants_input ? POLLIN : 0) |
                                        (c->output.empty() ? 0 : POLLOUT));
      fds.push_back({c->fd, events, 0});
    }

    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents != 0)
      return;

    // Existing connections first (their slots are fixed), then new ones.
    bool fed = false;
    std::size_t first = 1 + endpoints_.size();
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      auto& c = *connections_[i];
      short revents = fds[first + i].revents;
      if (revents & (POLLIN | POLLHUP | POLLERR)) {
        if (fds[first + i].events & POLLIN)
          read_from(c);
        else if (revents & (POLLHUP | POLLERR))
          c.broken = true;
      }
      if ((revents & POLLOUT) && !c.broken)
        write_to(c);
      if (!c.broken && pump(c))
        fed = true;
    }
    for (std::size_t i = 0; i < endpoints_.size(); ++i)
      if (fds[1 + i].revents & POLLIN)
        accept_all(endpoints_[i]);

    // RFC 3501 5.2 and RFC 2177: other sessions learn of what this input changed.
    if (fed)
      for (auto& c : connections_) {
        c->session->store_changed();
        collect_output(*c);
      }

    auto done = [](const Connection& c) {
      return c.broken ||
             (c.output.empty() && (c.peer_done || c.finished || c.session->closed()));
    };
    for (auto& c : connections_)
      if (done(*c))
        close_connection(*c);
    connections_.erase(std::remove_if(connections_.begin(), connections_.end(),
                                      [&](const auto& c) { return c->fd < 0; }),
                       connections_.end());
  }
}

// The self-pipe and the handlers of SIGINT and SIGTERM; SIGPIPE ignored.
bool install_signals(int fds[2])
{
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    return false;
  signal_pipe_write = fds[1];
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return true;
}

}  // namespace

int serve_scenario(const scenario::Scenario& s, const ServeOptions& o)
{
  int stop[2];
  if (!install_signals(stop)) {
    std::cerr << "mailsim serve: cannot make the signal pipe: " << std::strerror(errno) << "\n";
    return kExitInternal;
  }
  int code = kExitOk;
  {
    Server server(s, o);
    if (!server.listen_all()) {
      code = kExitBadInput;
    } else {
      std::cout << server.ports_json() << std::endl;  // flushed: a test waits for this line
      std::cerr << "mailsim serve: " << server.accounts() << " accounts of scenario " << s.name
                << " on " << o.bind << "; SIGINT (Ctrl-C) or SIGTERM stops\n"
                << "mailsim serve: STARTTLS on the SMTP ports and TLS on the submissions, "
                << "imaps, pop3s and https ports, with a self-signed certificate, "
                << server.tls().fingerprint() << "\n";
      server.run(stop[0]);
    }
  }
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  close(stop[0]);
  close(stop[1]);
  signal_pipe_write = -1;
  return code;
}

}  // namespace mailsim::sim

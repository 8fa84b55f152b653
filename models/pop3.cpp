#include "models/pop3.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace mailsim::pop3 {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A decimal number of at most nine digits (RFC 1939 section 4: message numbers and sizes
// are base 10); nullopt for anything else, including an empty string or a sign.
std::optional<std::size_t> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  std::size_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

// Peer text to echo in a reply, each control octet shown as '?': a bare CR or LF from the peer
// must not end the one-line response early or start a forged one (RFC 1939 section 3).
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

// Splits "VERB rest" at the first space.
std::pair<std::string_view, std::string_view> split_first(std::string_view line) {
  std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return {line, {}};
  return {line.substr(0, sp), line.substr(sp + 1)};
}

// Which command each state accepts: RFC 1939 section 9, CAPA from RFC 2449 section 5.
// UPDATE accepts nothing: the session closes as it enters it.
struct CommandRule {
  std::string_view verb;
  bool in_authorization;
  bool in_transaction;
};
constexpr CommandRule kCommandRules[] = {
    {"USER", true, false}, {"PASS", true, false}, {"APOP", true, false}, {"QUIT", true, true},
    {"CAPA", true, true},  {"STAT", false, true}, {"LIST", false, true}, {"RETR", false, true},
    {"DELE", false, true}, {"NOOP", false, true}, {"RSET", false, true}, {"TOP", false, true},
    {"UIDL", false, true}, {"STLS", true, false},
};

const CommandRule* find_rule(std::string_view verb) {
  for (const CommandRule& rule : kCommandRules)
    if (rule.verb == verb) return &rule;
  return nullptr;
}

// The header section with its empty line, then at most `lines` lines of the body.
std::string top_of(std::string_view text, std::size_t lines) {
  std::size_t blank = text.find("\r\n\r\n");
  if (blank == std::string_view::npos) return std::string(text);
  std::size_t end = blank + 4;
  for (std::size_t i = 0; i < lines && end < text.size(); ++i) {
    std::size_t eol = text.find("\r\n", end);
    end = eol == std::string_view::npos ? text.size() : eol + 2;
  }
  return std::string(text.substr(0, end));
}

// Feeds bytes to `on_line` one CRLF-ended line at a time (CRLF removed). Only CRLF ends a
// line: a CR not followed by LF is data. `cr` carries a trailing CR across calls.
template <typename OnLine, typename Stop>
void split_lines(std::string_view bytes, std::string& line, bool& cr, OnLine on_line, Stop stop,
                 std::size_t max_content = std::string::npos, bool* too_long = nullptr) {
  auto keep = [&](char c) {
    if (line.size() + 1 > max_content) {
      *too_long = true;
      return;
    }
    line += c;
  };
  for (char c : bytes) {
    if (stop()) return;
    if (cr && c == '\n') {
      cr = false;
      std::string complete = std::move(line);
      line.clear();
      on_line(complete);
      continue;
    }
    if (cr) keep('\r');
    cr = c == '\r';
    if (!cr) keep(c);
  }
}

}  // namespace

void append_stuffed(std::string& out, std::string_view text) {
  bool at_line_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (at_line_start && text[i] == '.') out += '.';
    out += text[i];
    at_line_start = text[i] == '\n' && i > 0 && text[i - 1] == '\r';
  }
  if (!text.empty() && !at_line_start) out += "\r\n";
  out += ".\r\n";
}

// ---- Server ----

ServerSession::ServerSession(ServerConfig config, store::MailStore& store)
    : config_(std::move(config)), store_(store), tls_active_(config_.implicit_tls) {
  // RFC 1939 section 4: the server greets first with a positive response.
  reply(config_.hostname.empty() ? std::string("+OK POP3 server ready")
                                 : fmt::format("+OK {} POP3 server ready", config_.hostname));
}

std::string_view ServerSession::state_name() const {
  switch (state_) {
    case State::authorization:
      return "authorization";
    case State::transaction:
      return "transaction";
    case State::update:
      return "update";
  }
  return "";
}

std::string ServerSession::take_output() {
  return std::exchange(output_, {});
}

std::vector<ServerEvent> ServerSession::take_events() {
  return std::exchange(events_, {});
}

void ServerSession::receive(std::string_view bytes) {
  // The line length limit counts the CRLF (RFC 2449 section 4).
  std::size_t max_content = config_.max_command_length > 2 ? config_.max_command_length - 2 : 0;
  split_lines(
      bytes, line_, cr_,
      [this](std::string_view line) {
        if (std::exchange(line_too_long_, false)) {
          if (!starting_tls_) error("-ERR command line too long", "command line too long");
          return;
        }
        handle_line(line);
      },
      [this] { return closed_; }, max_content, &line_too_long_);
}

void ServerSession::handle_line(std::string_view line) {
  if (starting_tls_) {
    plaintext_dropped_ += line.size() + 2;
    return;
  }
  auto [verb_text, args] = split_first(line);
  std::string verb = upper(verb_text);

  // The password never goes into events: they end up in traces a class reads.
  event(ServerEvent::Kind::command_received,
        verb == "PASS" ? std::string("PASS ****") : std::string(line));

  if (verb.empty()) return error("-ERR empty command", "empty command");
  const CommandRule* rule = find_rule(verb);
  if (rule == nullptr || (verb == "STLS" && !config_.tls_available))
    return error("-ERR unknown command", fmt::format("unknown command {}", verb));

  // RFC 1939 section 3: a command in the wrong state gets a negative status indicator.
  bool authorization = state_ == State::authorization;
  if (!(authorization ? rule->in_authorization : rule->in_transaction)) {
    const char* state = authorization ? "AUTHORIZATION" : "TRANSACTION";
    return error(fmt::format("-ERR command not valid in {} state", state),
                 fmt::format("{} in {} state", verb, state));
  }
  if (authorization) return handle_authorization(verb, args);
  handle_transaction(verb, args);
}

void ServerSession::handle_authorization(std::string_view verb, std::string_view args) {
  if (verb == "USER") {
    // RFC 1939 section 7, USER: names the mailbox; PASS must follow.
    user_.reset();
    if (args.empty()) return error("-ERR USER needs a mailbox name", "USER without name");
    if (store_.find_account(args) == nullptr) {
      event(ServerEvent::Kind::login_failed, fmt::format("unknown user {}", args));
      return reply(fmt::format("-ERR never heard of mailbox {}", printable(args)));
    }
    user_ = std::string(args);
    return reply(fmt::format("+OK {} is a valid mailbox", args));
  }

  if (verb == "PASS") {
    // RFC 1939 section 7, PASS: only right after a successful USER; the whole rest of
    // the line is the password, spaces included.
    if (!user_) return error("-ERR PASS must follow a successful USER", "PASS without USER");
    store::Account* account = store_.find_account(*user_);
    std::string user = *std::exchange(user_, std::nullopt);
    if (account == nullptr || !account->check_password(args)) {
      event(ServerEvent::Kind::login_failed, fmt::format("wrong password for {}", user));
      return reply("-ERR invalid password");
    }

    // RFC 1939 section 4: message numbers are assigned once, at login, 1..n.
    account_ = account;
    uidvalidity_ = account->inbox().uidvalidity();
    drop_.clear();
    for (const store::StoredMessage& m : account->inbox().messages())
      drop_.push_back(Entry{m.uid, m.text.size(), false});
    state_ = State::transaction;
    event(ServerEvent::Kind::logged_in, account->address());
    auto [count, octets] = drop_listing();
    return reply(fmt::format("+OK maildrop has {} message{} ({} octets)", count,
                             count == 1 ? "" : "s", octets));
  }

  if (verb == "QUIT") {
    // RFC 1939 section 6: QUIT from AUTHORIZATION ends the session without UPDATE.
    reply(config_.hostname.empty()
              ? std::string("+OK POP3 server signing off")
              : fmt::format("+OK {} POP3 server signing off", config_.hostname));
    event(ServerEvent::Kind::quit, "");
    closed_ = true;
    return;
  }

  if (verb == "CAPA") return handle_transaction(verb, args);  // same reply in both states

  if (verb == "STLS") {
    // RFC 2595 4: no argument, AUTHORIZATION only, and not again once TLS is on.
    if (!args.empty()) return error("-ERR STLS takes no argument", "STLS with argument");
    if (tls_active_) return error("-ERR Command not permitted when TLS active", "STLS inside TLS");
    reply("+OK Begin TLS negotiation");
    event(ServerEvent::Kind::starttls, "");
    user_.reset();
    starting_tls_ = true;
    plaintext_dropped_ = 0;
    return;
  }
  error("-ERR APOP not supported", "APOP not supported");
}

void ServerSession::tls_established() {
  if (plaintext_dropped_ > 0)
    event(ServerEvent::Kind::protocol_error,
          fmt::format("{} octets sent in the clear after STLS were discarded", plaintext_dropped_));
  starting_tls_ = false;
  tls_active_ = true;
}

void ServerSession::handle_transaction(std::string_view verb, std::string_view args) {
  bool no_args = args.empty();

  if (verb == "CAPA") {
    // RFC 2449 section 5: one capability per line; USER only before login (section 6.2).
    if (!no_args) return error("-ERR CAPA takes no argument", "CAPA with argument");
    std::string body = "TOP\r\n";
    if (state_ == State::authorization) body += "USER\r\n";
    // RFC 2595 4: STLS is listed only while it may be used.
    if (state_ == State::authorization && config_.tls_available && !tls_active_) body += "STLS\r\n";
    body += "PIPELINING\r\nUIDL\r\nIMPLEMENTATION mailsim\r\n";
    return reply_multiline("+OK Capability list follows", body);
  }

  if (verb == "STAT") {
    // RFC 1939 section 5, STAT: "+OK nn mm", messages marked as deleted not counted.
    if (!no_args) return error("-ERR STAT takes no argument", "STAT with argument");
    auto [count, octets] = drop_listing();
    return reply(fmt::format("+OK {} {}", count, octets));
  }

  if (verb == "LIST" || verb == "UIDL") {
    // RFC 1939 sections 5 (LIST) and 7 (UIDL): one listing, or all of them multi-line.
    bool list = verb == "LIST";
    auto value = [&](const Entry& e, std::size_t n) {
      return list ? fmt::format("{} {}", n, e.octets) : fmt::format("{} {}", n, uidl(e.uid));
    };
    if (!no_args) {
      Entry* e = message_arg(args);
      if (e == nullptr) return;
      return reply("+OK " + value(*e, static_cast<std::size_t>(e - drop_.data()) + 1));
    }
    std::string body;
    for (std::size_t i = 0; i < drop_.size(); ++i)
      if (!drop_[i].deleted) body += value(drop_[i], i + 1) + "\r\n";
    auto [count, octets] = drop_listing();
    return reply_multiline(
        list ? fmt::format("+OK {} message{} ({} octets)", count, count == 1 ? "" : "s", octets)
             : std::string("+OK unique-id listing follows"),
        body);
  }

  if (verb == "RETR" || verb == "TOP") {
    // RFC 1939 section 5 (RETR) and section 7 (TOP msg n).
    std::string_view number = args;
    std::optional<std::size_t> lines;
    if (verb == "TOP") {
      auto [msg, n] = split_first(args);
      lines = parse_number(n);
      if (!lines) return error("-ERR usage: TOP msg n", "TOP without line count");
      number = msg;
    }
    Entry* e = message_arg(number);
    if (e == nullptr) return;
    const store::StoredMessage* m = stored(*e);
    if (m == nullptr) return;
    if (lines) return reply_multiline("+OK top of message follows", top_of(m->text, *lines));
    reply_multiline(fmt::format("+OK {} octets", e->octets), m->text);
    event(ServerEvent::Kind::message_retrieved, fmt::format("RETR {}", number), m->uid,
          m->message_id);
    return;
  }

  if (verb == "DELE") {
    // RFC 1939 section 5, DELE: only marks; removal waits for the UPDATE state.
    Entry* e = message_arg(args);
    if (e == nullptr) return;
    e->deleted = true;
    const store::StoredMessage* m = account_->inbox().find(e->uid);
    event(ServerEvent::Kind::message_deleted, fmt::format("DELE {}", args), e->uid,
          m ? m->message_id : std::string());
    return reply(fmt::format("+OK message {} deleted", args));
  }

  if (verb == "NOOP") {
    if (!no_args) return error("-ERR NOOP takes no argument", "NOOP with argument");
    return reply("+OK");
  }

  if (verb == "RSET") {
    // RFC 1939 section 5, RSET: unmark every message marked as deleted.
    if (!no_args) return error("-ERR RSET takes no argument", "RSET with argument");
    for (Entry& e : drop_) e.deleted = false;
    auto [count, octets] = drop_listing();
    return reply(fmt::format("+OK maildrop has {} message{} ({} octets)", count,
                             count == 1 ? "" : "s", octets));
  }

  do_quit();  // QUIT: the only verb left
}

void ServerSession::do_quit() {
  // RFC 1939 section 6: QUIT from TRANSACTION enters UPDATE, which removes the marked
  // messages; then the server signs off and closes.
  state_ = State::update;
  std::size_t removed = 0;
  for (const Entry& e : drop_)
    if (e.deleted && account_->inbox().remove(e.uid)) ++removed;
  event(ServerEvent::Kind::update_committed, fmt::format("{} removed", removed));

  std::size_t left = account_->inbox().messages().size();
  std::string host = config_.hostname.empty() ? "" : config_.hostname + " ";
  reply(left == 0 ? fmt::format("+OK {}POP3 server signing off (maildrop empty)", host)
                  : fmt::format("+OK {}POP3 server signing off ({} message{} left)", host, left,
                                left == 1 ? "" : "s"));
  event(ServerEvent::Kind::quit, "");
  closed_ = true;
}

ServerSession::Entry* ServerSession::message_arg(std::string_view arg) {
  std::optional<std::size_t> n = parse_number(arg);
  if (!n) {
    error("-ERR message number required", fmt::format("bad message number '{}'", arg));
    return nullptr;
  }
  if (*n == 0 || *n > drop_.size()) {
    reply(fmt::format("-ERR no such message, only {} message{} in maildrop", drop_.size(),
                      drop_.size() == 1 ? "" : "s"));
    return nullptr;
  }
  Entry& e = drop_[*n - 1];
  if (e.deleted) {
    reply(fmt::format("-ERR message {} already deleted", *n));
    return nullptr;
  }
  return &e;
}

const store::StoredMessage* ServerSession::stored(const Entry& entry) {
  // Another session (IMAP, say) may have removed it since the snapshot was taken.
  const store::StoredMessage* m = account_->inbox().find(entry.uid);
  if (m == nullptr) reply("-ERR message was removed from the maildrop");
  return m;
}

void ServerSession::reply(std::string_view line) {
  output_ += line;
  output_ += "\r\n";
}

void ServerSession::reply_multiline(std::string_view first, std::string_view body) {
  reply(first);
  append_stuffed(output_, body);
}

void ServerSession::error(std::string_view line, std::string detail) {
  reply(line);
  event(ServerEvent::Kind::protocol_error, std::move(detail));
}

void ServerSession::event(ServerEvent::Kind kind, std::string detail, std::uint32_t uid,
                          std::string message_id) {
  events_.push_back(ServerEvent{kind, std::move(detail), uid, std::move(message_id)});
}

std::string ServerSession::uidl(std::uint32_t uid) const {
  return fmt::format("{}.{}", uidvalidity_, uid);
}

std::pair<std::size_t, std::size_t> ServerSession::drop_listing() const {
  std::size_t count = 0, octets = 0;
  for (const Entry& e : drop_) {
    if (e.deleted) continue;
    ++count;
    octets += e.octets;
  }
  return {count, octets};
}

// ---- Client ----

ClientSession::ClientSession(ClientConfig config) : config_(std::move(config)) {}

std::string ClientSession::take_output() {
  return std::exchange(output_, {});
}

std::vector<ClientEvent> ClientSession::take_events() {
  return std::exchange(events_, {});
}

void ClientSession::receive(std::string_view bytes) {
  split_lines(
      bytes, line_, cr_, [this](std::string_view line) { handle_line(line); },
      [this] { return closed_; });
}

void ClientSession::handle_line(std::string_view line) {
  if (!in_multiline_) return handle_status(line);

  // RFC 1939 section 3: "." alone ends the reply; otherwise a leading "." is stuffing.
  if (line == ".") return handle_multiline_end();
  if (starts_with(line, ".")) line.remove_prefix(1);
  body_ += line;
  body_ += "\r\n";
}

void ClientSession::handle_status(std::string_view line) {
  events_.push_back(ClientEvent{ClientEvent::Kind::response_received, std::string(line), {}});
  bool ok = starts_with(line, "+OK");

  if (ok && expect_multiline_) {
    in_multiline_ = true;
    body_.clear();
    return;
  }

  switch (step_) {
    case Step::greeting:
      if (!ok) {
        fail(fmt::format("server refused the session: {}", line));
        closed_ = true;
        return;
      }
      return send("USER " + config_.user, Step::user);

    case Step::user:
      if (!ok) {
        fail(fmt::format("USER rejected: {}", line));
        return send("QUIT", Step::quit);
      }
      return send("PASS " + config_.password, Step::pass);

    case Step::pass:
      if (!ok) {
        fail(fmt::format("PASS rejected: {}", line));
        return send("QUIT", Step::quit);
      }
      return send("STAT", Step::stat);

    case Step::stat: {
      if (!ok) {
        fail(fmt::format("STAT failed: {}", line));
        return send("QUIT", Step::quit);
      }
      // "+OK nn mm": nothing to list in an empty maildrop.
      std::string_view rest = line.substr(std::min<std::size_t>(4, line.size()));
      std::optional<std::size_t> count = parse_number(split_first(rest).first);
      if (count && *count == 0) return send("QUIT", Step::quit);
      return send("LIST", Step::list, true);
    }

    case Step::list:
      fail(fmt::format("LIST failed: {}", line));
      return send("QUIT", Step::quit);

    case Step::uidl:
      // Without UIDL the client cannot tell old messages from new: it takes them all.
      to_fetch_.clear();
      for (std::size_t n = 1; n <= sizes_.size(); ++n) to_fetch_.push_back(n);
      return next_message();

    case Step::retr:  // the message vanished: go on with the others
      return next_message();

    case Step::dele:
      if (ok && uidls_.count(current_)) deleted_uidls_.push_back(uidls_[current_]);
      return next_message();

    case Step::quit:
      step_ = Step::done;
      finished_ = true;
      closed_ = true;
      if (!ok) fail(fmt::format("QUIT failed: {}", line));
      events_.push_back(ClientEvent{ClientEvent::Kind::finished, std::string(line), {}});
      return;

    case Step::done:
      return;
  }
}

void ClientSession::handle_multiline_end() {
  in_multiline_ = false;
  expect_multiline_ = false;

  if (step_ == Step::list) {
    // Scan listings "n size" (RFC 1939 section 5, LIST).
    sizes_.clear();
    std::string_view body = body_;
    while (!body.empty()) {
      std::size_t eol = body.find("\r\n");
      auto [n, size] = split_first(body.substr(0, eol));
      std::optional<std::size_t> number = parse_number(n);
      std::optional<std::size_t> octets = parse_number(split_first(size).first);
      if (number && octets && *number >= 1) {
        if (sizes_.size() < *number) sizes_.resize(*number, 0);
        sizes_[*number - 1] = *octets;
      }
      body.remove_prefix(eol == std::string_view::npos ? body.size() : eol + 2);
    }
    if (config_.mode == Mode::keep_on_server) return send("UIDL", Step::uidl, true);
    to_fetch_.clear();
    for (std::size_t n = 1; n <= sizes_.size(); ++n) to_fetch_.push_back(n);
    return next_message();
  }

  if (step_ == Step::uidl) {
    // Unique-id listings "n uid" (RFC 1939 section 7, UIDL).
    std::string_view body = body_;
    while (!body.empty()) {
      std::size_t eol = body.find("\r\n");
      auto [n, id] = split_first(body.substr(0, eol));
      std::optional<std::size_t> number = parse_number(n);
      if (number && !id.empty()) uidls_[*number] = std::string(id);
      body.remove_prefix(eol == std::string_view::npos ? body.size() : eol + 2);
    }
    return after_listings();
  }

  if (step_ == Step::retr) {
    RetrievedMessage message;
    message.text = std::move(body_);
    message.octets = message.text.size();
    if (uidls_.count(current_)) message.uidl = uidls_[current_];
    retrieved_.push_back(message);
    events_.push_back(ClientEvent{ClientEvent::Kind::message_retrieved,
                                  fmt::format("RETR {}", current_), std::move(message)});
    if (config_.mode == Mode::delete_after_download)
      return send(fmt::format("DELE {}", current_), Step::dele);
    return next_message();
  }

  // A multi-line reply where none was expected: ignore it and go on.
  next_message();
}

void ClientSession::after_listings() {
  // Keep mode: fetch what is new; delete what has been kept on the server for long enough.
  // The retention policy is the client's (Thunderbird's "at most N days"), not the server's:
  // RFC 1939 section 8 leaves server-side expiry to site policy.
  to_fetch_.clear();
  to_expire_.clear();
  for (const auto& [n, id] : uidls_) {
    if (n == 0 || n > sizes_.size()) continue;
    if (!config_.known_uidls.count(id)) {
      to_fetch_.push_back(n);
      continue;
    }
    auto when = config_.downloaded_at.find(id);
    if (config_.keep_days && when != config_.downloaded_at.end() &&
        config_.now - when->second >= *config_.keep_days * 86400.0)
      to_expire_.push_back(n);
  }
  next_message();
}

void ClientSession::next_message() {
  if (!to_fetch_.empty()) {
    current_ = to_fetch_.front();
    to_fetch_.erase(to_fetch_.begin());
    return send(fmt::format("RETR {}", current_), Step::retr, true);
  }
  if (!to_expire_.empty()) {
    current_ = to_expire_.front();
    to_expire_.erase(to_expire_.begin());
    return send(fmt::format("DELE {}", current_), Step::dele);
  }
  send("QUIT", Step::quit);
}

void ClientSession::send(std::string command, Step step, bool multiline) {
  output_ += command;
  output_ += "\r\n";
  step_ = step;
  expect_multiline_ = multiline;
}

void ClientSession::fail(std::string detail) {
  failed_ = true;
  events_.push_back(ClientEvent{ClientEvent::Kind::failed, std::move(detail), {}});
}

}  // namespace mailsim::pop3

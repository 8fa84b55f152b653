#include "models/smtp.hpp"

#include "models/message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>

namespace mailsim::smtp {

namespace {

constexpr std::string_view crlf = "\r\n";

char to_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_upper);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return upper(a) == upper(b);
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decimal text to a number, saturating instead of overflowing.
std::size_t to_size(std::string_view digits) {
  std::size_t n = 0;
  for (char c : digits) {
    const std::size_t d = static_cast<std::size_t>(c - '0');
    if (n > (std::numeric_limits<std::size_t>::max() - d) / 10)
      return std::numeric_limits<std::size_t>::max();
    n = n * 10 + d;
  }
  return n;
}

// Splits "VERB rest" at the first space.
std::pair<std::string_view, std::string_view> split_word(std::string_view line) {
  std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return {line, {}};
  return {line.substr(0, space), line.substr(space + 1)};
}

// RFC 5321 4.1.2 esmtp-keyword and esmtp-value.
bool is_esmtp_keyword(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum && (i == 0 || c != '-')) return false;
  }
  return true;
}

bool is_esmtp_value(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126 && c != '='; });
}

struct PathParse {
  enum class Status { ok, syntax, too_long } status = Status::syntax;
  std::string address;    // the mailbox in minimal quoting, "" for "<>"
  std::string_view rest;  // what follows the ">" (the parameters, with their leading space)
};

// RFC 5321 4.1.2 Path = "<" [ A-d-l ":" ] Mailbox ">", or "<>" when `allow_null`. The source
// route is accepted and ignored, as the grammar's note asks. "<postmaster>" is accepted alone
// when `allow_postmaster` (RFC 5321 4.5.1).
PathParse parse_path(std::string_view text, bool allow_null, bool allow_postmaster) {
  PathParse result;
  if (text.empty() || text.front() != '<') return result;
  std::size_t close = std::string_view::npos;
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (quoted && text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && text[i] == '>') {
      close = i;
      break;
    }
  }
  if (close == std::string_view::npos) return result;
  result.rest = text.substr(close + 1);
  std::string_view inner = text.substr(1, close - 1);
  if (close + 1 > 256) {  // RFC 5321 4.5.3.1.3, the brackets included
    result.status = PathParse::Status::too_long;
    return result;
  }
  if (inner.empty()) {
    result.status = allow_null ? PathParse::Status::ok : PathParse::Status::syntax;
    return result;
  }
  if (allow_postmaster && iequals(inner, "postmaster")) {
    result.address = "postmaster";
    result.status = PathParse::Status::ok;
    return result;
  }
  if (inner.front() == '@') {
    std::size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return result;
    inner.remove_prefix(colon + 1);
  }
  auto address = msg::parse_address(inner);
  if (!address) return result;
  result.address = address->to_string();
  result.status = PathParse::Status::ok;
  return result;
}

struct Param {
  std::string keyword;  // upper case
  std::string_view value;
  bool has_value = false;
};

// Mail-parameters / Rcpt-parameters after the path: *(SP esmtp-param). nullopt on bad syntax.
std::optional<std::vector<Param>> parse_params(std::string_view rest) {
  std::vector<Param> params;
  while (!rest.empty()) {
    if (rest.front() != ' ') return std::nullopt;
    while (!rest.empty() && rest.front() == ' ')
      rest.remove_prefix(1);  // be lenient about repeated spaces
    if (rest.empty()) break;
    const std::size_t space = rest.find(' ');
    const std::string_view word = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
    Param p;
    std::size_t eq = word.find('=');
    std::string_view keyword = word.substr(0, eq);
    if (!is_esmtp_keyword(keyword)) return std::nullopt;
    p.keyword = upper(keyword);
    if (eq != std::string_view::npos) {
      p.value = word.substr(eq + 1);
      p.has_value = true;
      if (!is_esmtp_value(p.value)) return std::nullopt;
    }
    params.push_back(std::move(p));
  }
  return params;
}

// The EHLO argument: a Domain or an address literal (RFC 5321 4.1.1.1). A client may add
// other words after it (4.1.1.1 asks servers to be prepared for them); they are ignored.
bool is_helo_argument(std::string_view name) {
  return msg::is_domain(name) || msg::is_address_literal(name);
}

std::string redact(std::string_view verb, std::string_view line) {
  if (!iequals(verb, "AUTH")) return std::string(line);
  auto [mechanism, initial] = split_word(split_word(line).second);
  return initial.empty() ? fmt::format("AUTH {}", mechanism)
                         : fmt::format("AUTH {} <redacted>", mechanism);
}

}  // namespace

std::string Reply::to_bytes() const {
  if (lines.empty()) return fmt::format("{} \r\n", code);
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i)
    out += fmt::format("{}{}{}\r\n", code, i + 1 < lines.size() ? '-' : ' ', lines[i]);
  return out;
}

std::string_view to_string(ServerState state) {
  switch (state) {
    case ServerState::waiting_for_helo:
      return "waiting_for_helo";
    case ServerState::waiting_for_mail:
      return "waiting_for_mail";
    case ServerState::waiting_for_rcpt:
      return "waiting_for_rcpt";
    case ServerState::waiting_for_rcpt_or_data:
      return "waiting_for_rcpt_or_data";
    case ServerState::in_data:
      return "in_data";
    case ServerState::in_auth:
      return "in_auth";
    case ServerState::starting_tls:
      return "starting_tls";
    case ServerState::closed:
      return "closed";
  }
  return "?";
}

const std::vector<ServerTransition>& server_transitions() {
  static const std::vector<ServerTransition> table = [] {
    using S = ServerState;
    std::vector<ServerTransition> rows = {
        {S::waiting_for_mail, "AUTH", S::waiting_for_mail},  // RFC 4954 4: not in a transaction
        {S::waiting_for_mail, "MAIL", S::waiting_for_rcpt},
        {S::waiting_for_mail, "STARTTLS", S::starting_tls},  // RFC 3207 4, after EHLO
        {S::waiting_for_rcpt, "RCPT", S::waiting_for_rcpt_or_data},
        {S::waiting_for_rcpt_or_data, "RCPT", S::waiting_for_rcpt_or_data},
        {S::waiting_for_rcpt_or_data, "DATA", S::in_data},
    };
    // RFC 5321 4.1.4: EHLO/HELO reset any transaction; NOOP, HELP, VRFY and RSET work at any
    // time, even before EHLO; QUIT may be issued at any time (4.1.1.10).
    for (S from : {S::waiting_for_helo, S::waiting_for_mail, S::waiting_for_rcpt,
                   S::waiting_for_rcpt_or_data}) {
      const S greeted = from == S::waiting_for_helo ? S::waiting_for_helo : S::waiting_for_mail;
      rows.push_back({from, "EHLO", S::waiting_for_mail});
      rows.push_back({from, "HELO", S::waiting_for_mail});
      rows.push_back({from, "RSET", greeted});
      rows.push_back({from, "NOOP", from});
      rows.push_back({from, "HELP", from});
      rows.push_back({from, "VRFY", from});
      rows.push_back({from, "QUIT", S::closed});
    }
    return rows;
  }();
  return table;
}

std::string_view received_protocol(const Envelope& envelope) {
  if (!envelope.esmtp) return "SMTP";
  const bool authenticated = !envelope.authenticated_user.empty();
  if (envelope.tls) return authenticated ? "ESMTPSA" : "ESMTPS";
  return authenticated ? "ESMTPA" : "ESMTP";
}

std::string received_field_value(const Envelope& envelope, std::string_view by_host,
                                 std::string_view queue_id, std::string_view rfc5322_date) {
  std::string value = fmt::format("from {}", envelope.helo);
  if (!envelope.client_address.empty()) value += fmt::format(" ({})", envelope.client_address);
  value += fmt::format(" by {} with {}", by_host, received_protocol(envelope));
  if (!queue_id.empty()) value += fmt::format(" id {}", queue_id);
  if (envelope.recipients.size() == 1)
    value += fmt::format(" for <{}>", envelope.recipients.front());
  value += fmt::format("; {}", rfc5322_date);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Server

ServerSession::ServerSession(ServerConfig config, ServerBackend& backend)
    : config_(std::move(config)), backend_(backend), tls_active_(config_.implicit_tls) {
  reply(220, fmt::format("{} ESMTP mailsim", config_.hostname));
}

void ServerSession::receive(std::string_view bytes) {
  if (state_ == ServerState::closed) return;
  input_.append(bytes);
  process_input();
  input_.erase(0, input_pos_);
  input_pos_ = 0;
  if (state_ == ServerState::closed)
    input_.clear();  // RFC 5321 4.1.1.10: nothing after QUIT is read
}

std::string ServerSession::take_output() {
  return std::exchange(output_, {});
}

std::vector<ServerEvent> ServerSession::take_events() {
  return std::exchange(events_, {});
}

bool ServerSession::closed() const {
  return state_ == ServerState::closed;
}

std::string_view ServerSession::state_name() const {
  return to_string(state_);
}

// Cuts complete lines off the input and acts on each, in order, until a line is incomplete.
// A line that grows past its limit without a CRLF is dropped as it comes (keeping a final CR,
// which may start the CRLF), and answered once its CRLF arrives, so memory stays bounded.
void ServerSession::process_input() {
  while (state_ != ServerState::closed) {
    if (state_ == ServerState::starting_tls) {
      plaintext_dropped_ += input_.size() - input_pos_;  // RFC 3207 4.2: never executed
      input_pos_ = input_.size();
      return;
    }
    if (state_ == ServerState::in_data) {
      if (!process_data()) return;
      continue;
    }
    const std::size_t limit =
        state_ == ServerState::in_auth ? config_.max_auth_line : config_.max_command_line;
    const std::size_t end = input_.find(crlf, input_pos_);
    if (end == std::string::npos) {
      if (input_.size() - input_pos_ > limit) {
        line_overflow_ = true;
        input_pos_ = input_.size() - (input_.back() == '\r' ? 1 : 0);
      }
      return;
    }
    const std::string line = input_.substr(input_pos_, end - input_pos_);
    input_pos_ = end + 2;
    const bool too_long = line_overflow_ || line.size() + 2 > limit;
    line_overflow_ = false;
    handle_line(line, too_long);
  }
}

// One line of mail data (RFC 5321 4.5.2): "." alone ends it, a leading "." is removed.
// Returns false when more input is needed.
bool ServerSession::process_data() {
  const std::size_t end = input_.find(crlf, input_pos_);
  if (end == std::string::npos) {
    const std::size_t pending = input_.size() - input_pos_;
    if (pending > config_.max_text_line) {
      const std::size_t keep = input_.back() == '\r' ? 1 : 0;
      data_size_ += pending - keep;
      data_line_too_long_ = true;
      line_overflow_ = true;
      input_pos_ = input_.size() - keep;
    }
    return false;
  }
  std::string_view line(input_.data() + input_pos_, end - input_pos_);
  input_pos_ = end + 2;
  const bool continued = std::exchange(line_overflow_, false);
  if (!continued && line == ".") {
    end_of_data();
    return true;
  }
  if (!continued && !line.empty() && line.front() == '.') line.remove_prefix(1);
  if (continued || line.size() + 2 > config_.max_text_line) data_line_too_long_ = true;
  data_size_ += line.size() + 2;
  if (data_size_ > config_.max_message_size) data_too_big_ = true;
  if (data_too_big_ || data_line_too_long_) {
    envelope_.message.clear();  // it will be refused: keep nothing
    envelope_.message.shrink_to_fit();
  } else {
    envelope_.message.append(line);
    envelope_.message.append(crlf);
  }
  return true;
}

void ServerSession::end_of_data() {
  state_ = ServerState::waiting_for_mail;
  if (data_too_big_) {
    reply(552, "5.3.4 Message size exceeds fixed maximum message size");  // RFC 1870 6.1
  } else if (data_line_too_long_) {
    reply(554, "5.6.0 Transaction failed: text line too long");  // RFC 5321 4.5.3.1.6
  } else {
    envelope_.helo = helo_;
    envelope_.authenticated_user = authenticated_user_;
    envelope_.esmtp = esmtp_;
    envelope_.tls = tls_active_;
    envelope_.client_address = config_.client_address;
    std::string id = backend_.accept_message(envelope_);
    if (id.empty()) {
      reply(451, "4.3.0 Requested action aborted: local error in processing");
    } else {
      event(ServerEvent::Kind::message_accepted, id);
      reply(250, fmt::format("2.0.0 Ok: queued as {}", id));
    }
  }
  reset_transaction();
}

void ServerSession::handle_line(std::string_view line, bool too_long) {
  if (state_ == ServerState::in_auth) {
    handle_auth_line(line, too_long);
  } else if (too_long) {
    protocol_error("command line too long");
    reply(500, "5.5.2 Line too long");  // RFC 5321 4.5.3.1.4 and 4.5.3.1.9
  } else {
    handle_command(line);
  }
  if (errors_ >= config_.max_errors && state_ != ServerState::closed) {
    reply(421, fmt::format("4.7.0 {} Error: too many errors, closing transmission channel",
                           config_.hostname));
    state_ = ServerState::closed;
  }
}

void ServerSession::handle_command(std::string_view line) {
  auto [word, arg] = split_word(line);
  const std::string verb = upper(word);
  event(ServerEvent::Kind::command_received, redact(verb, line));

  static constexpr std::string_view known[] = {"EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET",
                                               "NOOP", "QUIT", "VRFY", "HELP", "AUTH", "STARTTLS"};
  static constexpr std::string_view unimplemented[] = {"EXPN", "TURN", "SEND", "SOML",
                                                       "SAML", "ETRN", "BDAT"};
  if (std::find(std::begin(unimplemented), std::end(unimplemented), verb) !=
          std::end(unimplemented) ||
      (verb == "AUTH" && !config_.auth_enabled) || (verb == "STARTTLS" && !config_.tls_available)) {
    protocol_error("command not implemented: " + verb);
    reply(502, "5.5.1 Command not implemented");  // RFC 5321 4.2.4
    return;
  }
  if (std::find(std::begin(known), std::end(known), verb) == std::end(known)) {
    protocol_error("command unrecognized");
    reply(500, "5.5.1 Syntax error, command unrecognized");
    return;
  }

  // RFC 3207 4: a server that insists on TLS answers 530 to all but NOOP, EHLO, STARTTLS, QUIT.
  if (config_.tls_required && !tls_active_ && verb != "NOOP" && verb != "EHLO" &&
      verb != "STARTTLS" && verb != "QUIT") {
    reply(530, "5.7.0 Must issue a STARTTLS command first");
    return;
  }

  const auto& table = server_transitions();
  auto row = std::find_if(table.begin(), table.end(), [&](const ServerTransition& t) {
    return t.from == state_ && t.verb == verb;
  });
  if (row == table.end()) {
    protocol_error("bad sequence: " + verb + " in " + std::string(state_name()));
    if (verb == "DATA" && state_ == ServerState::waiting_for_rcpt)
      reply(554, "5.5.1 No valid recipients");  // RFC 5321 3.3
    else
      reply(503, "5.5.1 Bad sequence of commands");
    return;
  }

  bool ok = false;
  if (verb == "EHLO" || verb == "HELO")
    ok = cmd_ehlo(arg, verb == "EHLO");
  else if (verb == "MAIL")
    ok = cmd_mail(arg);
  else if (verb == "RCPT")
    ok = cmd_rcpt(arg);
  else if (verb == "DATA")
    ok = cmd_data(arg);
  else if (verb == "AUTH")
    ok = cmd_auth(arg);
  else if (verb == "STARTTLS")
    ok = cmd_starttls(arg);
  else
    ok = cmd_simple(verb, arg);
  if (ok) state_ = row->to;
}

// RSET, NOOP, QUIT, VRFY, HELP: the commands that need no parsing beyond their argument.
bool ServerSession::cmd_simple(std::string_view verb, std::string_view arg) {
  if ((verb == "RSET" || verb == "QUIT") && !arg.empty()) {
    protocol_error(std::string(verb) + " takes no argument");
    reply(501, "5.5.4 Syntax error in parameters or arguments");
    return false;
  }
  if (verb == "RSET") {
    reset_transaction();  // RFC 5321 4.1.1.5
    reply(250, "2.0.0 OK");
    return true;
  }
  if (verb == "QUIT") {
    event(ServerEvent::Kind::quit, {});
    reply(221, fmt::format("2.0.0 {} Service closing transmission channel", config_.hostname));
    return true;
  }
  if (verb == "NOOP") {
    reply(250, "2.0.0 OK");  // RFC 5321 4.1.1.9: any parameter is ignored
    return true;
  }
  if (verb == "VRFY") {
    if (arg.empty()) {
      protocol_error("VRFY without argument");
      reply(501, "5.5.4 Syntax error in parameters or arguments");
      return false;
    }
    if (config_.service == Service::submission && authenticated_user_.empty()) {
      reply(530, "5.7.0 Authentication required");  // RFC 4954 6
      return false;
    }
    // RFC 5321 3.5.3: we neither confirm nor deny mailboxes.
    reply(252, "2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
    return true;
  }
  assert(verb == "HELP");
  std::string commands = "2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP";
  if (config_.auth_enabled) commands += " AUTH";
  if (config_.tls_available) commands += " STARTTLS";
  reply(214, std::vector<std::string>{"2.0.0 mailsim SMTP server (RFC 5321)", commands});
  return true;
}

// RFC 5321 4.1.1.1 EHLO / HELO. The replies to these carry no enhanced codes (RFC 2034 3).
bool ServerSession::cmd_ehlo(std::string_view arg, bool extended) {
  std::string_view name = split_word(arg).first;
  if (!is_helo_argument(name)) {
    protocol_error("bad EHLO/HELO argument");
    reply(501, "Syntax error in parameters or arguments");  // RFC 5321 4.1.2 and 4.1.4
    return false;
  }
  reset_transaction();  // RFC 5321 4.1.4: as if RSET had been issued
  helo_ = std::string(name);
  esmtp_ = extended;
  if (!extended) {
    reply(250, config_.hostname);
    return true;
  }
  std::vector<std::string> lines = {config_.hostname};
  if (config_.pipelining) lines.push_back("PIPELINING");                   // RFC 2920 2
  lines.push_back(fmt::format("SIZE {}", config_.max_message_size));       // RFC 1870 4
  if (config_.tls_available && !tls_active_) lines.push_back("STARTTLS");  // RFC 3207 4.2
  if (config_.auth_enabled) lines.push_back("AUTH PLAIN LOGIN");           // RFC 4954 3
  lines.push_back("ENHANCEDSTATUSCODES");                                  // RFC 2034 3
  lines.push_back("8BITMIME");                                             // RFC 6152 2
  reply(250, std::move(lines));
  return true;
}

// RFC 5321 4.1.1.2 MAIL FROM:<reverse-path> [SP Mail-parameters], with SIZE (RFC 1870 6),
// BODY (RFC 6152 2) and AUTH (RFC 4954 5).
bool ServerSession::cmd_mail(std::string_view arg) {
  if (config_.service == Service::submission && authenticated_user_.empty()) {
    reply(530, "5.7.0 Authentication required");  // RFC 6409 4.3, RFC 4954 6
    return false;
  }
  if (!istarts_with(arg, "FROM:")) {
    protocol_error("MAIL without FROM:");
    reply(501, "5.5.4 Syntax error in parameters or arguments");
    return false;
  }
  arg.remove_prefix(5);
  if (!arg.empty() && arg.front() == ' ')
    arg.remove_prefix(1);  // "MAIL FROM: <a>" is a common client mistake we tolerate
  PathParse path = parse_path(arg, true, false);
  if (path.status != PathParse::Status::ok) {
    protocol_error("bad reverse-path");
    reply(501, path.status == PathParse::Status::too_long
                   ? "5.1.7 Path too long"
                   : "5.1.7 Bad sender's mailbox address syntax");  // RFC 3463 X.1.7
    return false;
  }
  auto params = parse_params(path.rest);
  if (!params) {
    protocol_error("bad MAIL parameters");
    reply(501, "5.5.4 Syntax error in parameters or arguments");
    return false;
  }
  bool seen_size = false;
  bool seen_body = false;
  for (const Param& p : *params) {
    const bool known = esmtp_ && (p.keyword == "SIZE" || p.keyword == "BODY" ||
                                  (p.keyword == "AUTH" && config_.auth_enabled));
    if (!known) {
      protocol_error("unknown MAIL parameter " + p.keyword);
      reply(555, "5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented");
      return false;
    }
    if (p.keyword == "SIZE") {
      if (seen_size || !is_digits(p.value)) {
        protocol_error("bad SIZE parameter");
        reply(501, "5.5.4 Syntax error in parameters or arguments");
        return false;
      }
      seen_size = true;
      if (to_size(p.value) > config_.max_message_size) {
        reply(552, "5.3.4 Message size exceeds fixed maximum message size");
        return false;
      }
    } else if (p.keyword == "BODY") {
      if (seen_body || !(iequals(p.value, "7BIT") || iequals(p.value, "8BITMIME"))) {
        protocol_error("bad BODY parameter");
        reply(501, "5.5.4 Syntax error in parameters or arguments");
        return false;
      }
      seen_body = true;
    }
    // AUTH=<mailbox>: we trust no one's assertion, so it is parsed and dropped (RFC 4954 5).
  }
  envelope_.mail_from = path.address;
  reply(250, fmt::format("2.1.0 Sender <{}> OK", path.address));
  return true;
}

// RFC 5321 4.1.1.3 RCPT TO:<forward-path>.
bool ServerSession::cmd_rcpt(std::string_view arg) {
  if (!istarts_with(arg, "TO:")) {
    protocol_error("RCPT without TO:");
    reply(501, "5.5.4 Syntax error in parameters or arguments");
    return false;
  }
  arg.remove_prefix(3);
  if (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  PathParse path = parse_path(arg, false, true);
  if (path.status != PathParse::Status::ok) {
    protocol_error("bad forward-path");
    reply(501, path.status == PathParse::Status::too_long
                   ? "5.1.3 Path too long"
                   : "5.1.3 Bad destination mailbox address syntax");  // RFC 3463 X.1.3
    return false;
  }
  auto params = parse_params(path.rest);
  if (!params) {
    protocol_error("bad RCPT parameters");
    reply(501, "5.5.4 Syntax error in parameters or arguments");
    return false;
  }
  if (!params->empty()) {
    protocol_error("unknown RCPT parameter " + params->front().keyword);
    reply(555, "5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented");
    return false;
  }
  if (envelope_.recipients.size() >= config_.max_recipients) {
    reply(452, "4.5.3 Too many recipients");  // RFC 5321 4.5.3.1.10
    return false;
  }
  // RFC 5321 4.5.1: mail to the bare postmaster is always taken.
  const RcptVerdict verdict =
      path.address == "postmaster"
          ? RcptVerdict::accept
          : backend_.check_recipient(path.address, !authenticated_user_.empty());
  switch (verdict) {
    case RcptVerdict::accept:
      envelope_.recipients.push_back(path.address);
      reply(250, fmt::format("2.1.5 Recipient <{}> OK", path.address));
      return true;
    case RcptVerdict::unknown_user:
      reply(550, fmt::format("5.1.1 <{}> Requested action not taken: mailbox unavailable",
                             path.address));
      return false;
    case RcptVerdict::relay_denied:
      reply(550, fmt::format("5.7.1 <{}> Relaying denied", path.address));
      return false;
  }
  return false;
}

// RFC 5321 4.1.1.4 DATA.
bool ServerSession::cmd_data(std::string_view arg) {
  if (!arg.empty()) {
    protocol_error("DATA takes no argument");
    reply(501, "5.5.4 Syntax error in parameters or arguments");
    return false;
  }
  data_size_ = 0;
  data_too_big_ = false;
  data_line_too_long_ = false;
  envelope_.message.clear();
  reply(354, "Start mail input; end with <CRLF>.<CRLF>");
  return true;
}

// RFC 4954 4 AUTH mechanism [initial-response]. PLAIN is RFC 4616; LOGIN is the older
// draft-murchison-sasl-login (a 334 "Username:" then a 334 "Password:" challenge).
bool ServerSession::cmd_auth(std::string_view arg) {
  if (!esmtp_ || !authenticated_user_.empty()) {
    protocol_error(esmtp_ ? "AUTH after successful AUTH" : "AUTH after HELO");
    reply(503, "5.5.1 Bad sequence of commands");
    return false;
  }
  auto [mechanism, initial] = split_word(arg);
  const std::string name = upper(mechanism);
  if (name != "PLAIN" && name != "LOGIN") {
    protocol_error("unsupported AUTH mechanism");
    reply(504, "5.5.4 Command parameter not implemented");  // RFC 4954 4
    return false;
  }
  state_before_auth_ = state_;
  if (name == "PLAIN" && !initial.empty()) {
    finish_plain(initial);
  } else if (name == "PLAIN") {
    auth_step_ = AuthStep::plain_response;
    state_ = ServerState::in_auth;
    reply(334, "");  // an empty challenge: "334 " (RFC 4954 4)
  } else if (initial.empty()) {
    auth_step_ = AuthStep::login_user;
    state_ = ServerState::in_auth;
    reply(334, msg::base64_encode("Username:"));
  } else {
    handle_auth_line_step(AuthStep::login_user, initial);
  }
  return false;  // the row's target is the state we are in; in_auth lasts until the exchange ends
}

bool ServerSession::cmd_starttls(std::string_view arg) {
  if (!arg.empty()) {
    protocol_error("STARTTLS takes no argument");
    reply(501, "5.5.4 Syntax error (no parameters allowed)");  // RFC 3207 4
    return false;
  }
  if (tls_active_) {
    protocol_error("STARTTLS inside TLS");
    reply(503, "5.5.1 Bad sequence of commands");  // RFC 3207 4.2: not offered again
    return false;
  }
  reply(220, "2.0.0 Ready to start TLS");
  event(ServerEvent::Kind::starttls, {});
  plaintext_dropped_ = 0;
  return true;
}

void ServerSession::tls_established() {
  assert(state_ == ServerState::starting_tls && "tls_established() without STARTTLS");
  if (plaintext_dropped_ > 0)
    protocol_error(fmt::format("{} octets sent in the clear after STARTTLS were discarded",
                               plaintext_dropped_));
  // RFC 3207 4.2: forget everything learnt before the handshake, EHLO included.
  tls_active_ = true;
  helo_.clear();
  esmtp_ = false;
  authenticated_user_.clear();
  envelope_ = Envelope{};
  state_ = ServerState::waiting_for_helo;
}

void ServerSession::handle_auth_line(std::string_view line, bool too_long) {
  event(ServerEvent::Kind::command_received, line == "*" ? "*" : "<AUTH response redacted>");
  const AuthStep step = std::exchange(auth_step_, AuthStep::none);
  state_ = state_before_auth_;
  if (too_long) {
    protocol_error("AUTH line too long");
    event(ServerEvent::Kind::auth_failed, "line too long");
    reply(500, "5.5.6 Authentication Exchange line is too long");  // RFC 4954 6
  } else if (line == "*") {
    event(ServerEvent::Kind::auth_failed, "cancelled by client");
    reply(501, "5.7.0 Authentication cancelled");  // RFC 4954 4: MUST be 501
  } else if (step == AuthStep::plain_response) {
    finish_plain(line);
  } else {
    handle_auth_line_step(step, line);
  }
}

// The AUTH LOGIN steps: a base64 user name, then a base64 password.
void ServerSession::handle_auth_line_step(AuthStep step, std::string_view response) {
  auto decoded = msg::base64_decode(response);
  if (!decoded) {
    protocol_error("AUTH response is not base64");
    event(ServerEvent::Kind::auth_failed, "bad base64");
    reply(501, "5.5.2 Cannot decode response");  // RFC 4954 4
    return;
  }
  if (step == AuthStep::login_user) {
    login_user_ = std::move(*decoded);
    auth_step_ = AuthStep::login_password;
    state_ = ServerState::in_auth;
    reply(334, msg::base64_encode("Password:"));
    return;
  }
  check_credentials(std::exchange(login_user_, {}), *decoded);
}

// RFC 4616 2: message = [authzid] NUL authcid NUL passwd, each part at most 255 octets.
void ServerSession::finish_plain(std::string_view response) {
  auto decoded = response == "=" ? std::optional<std::string>("") : msg::base64_decode(response);
  if (!decoded) {
    protocol_error("AUTH response is not base64");
    event(ServerEvent::Kind::auth_failed, "bad base64");
    reply(501, "5.5.2 Cannot decode response");  // RFC 4954 4
    return;
  }
  const std::string_view m = *decoded;
  const std::size_t first = m.find('\0');
  const std::size_t second = first == m.npos ? first : m.find('\0', first + 1);
  if (second == m.npos || m.find('\0', second + 1) != m.npos) {
    check_credentials({}, {});
    return;
  }
  const std::string_view authzid = m.substr(0, first);
  const std::string_view authcid = m.substr(first + 1, second - first - 1);
  // We do not act on behalf of another identity: authzid must be empty or the user itself.
  if (!authzid.empty() && authzid != authcid) {
    check_credentials({}, {});
    return;
  }
  check_credentials(authcid, m.substr(second + 1));
}

void ServerSession::check_credentials(std::string_view user, std::string_view password) {
  const bool well_formed =
      !user.empty() && !password.empty() && user.size() <= 255 && password.size() <= 255;
  if (well_formed && backend_.authenticate(user, password)) {
    authenticated_user_ = std::string(user);
    event(ServerEvent::Kind::auth_succeeded, authenticated_user_);
    reply(235, "2.7.0 Authentication successful");
    return;
  }
  ++errors_;
  event(ServerEvent::Kind::auth_failed, std::string(user));
  reply(535, "5.7.8 Authentication credentials invalid");
}

void ServerSession::reply(int code, std::vector<std::string> lines) {
  Reply r{code, std::move(lines)};
  std::string bytes = r.to_bytes();
  output_ += bytes;
  bytes.resize(bytes.size() - 2);
  event(ServerEvent::Kind::reply_sent, std::move(bytes));
}

void ServerSession::protocol_error(std::string what) {
  ++errors_;
  event(ServerEvent::Kind::protocol_error, std::move(what));
}

void ServerSession::event(ServerEvent::Kind kind, std::string detail) {
  events_.push_back({kind, std::move(detail)});
}

void ServerSession::reset_transaction() {
  const bool greeted = state_ != ServerState::waiting_for_helo;
  envelope_ = Envelope{};
  data_size_ = 0;
  data_too_big_ = false;
  data_line_too_long_ = false;
  if (state_ != ServerState::in_data && state_ != ServerState::closed &&
      state_ != ServerState::starting_tls)
    state_ = greeted ? ServerState::waiting_for_mail : ServerState::waiting_for_helo;
}

// ---------------------------------------------------------------------------------------------
// Client

std::string_view to_string(ClientState state) {
  switch (state) {
    case ClientState::waiting_for_greeting:
      return "waiting_for_greeting";
    case ClientState::waiting_for_ehlo_reply:
      return "waiting_for_ehlo_reply";
    case ClientState::waiting_for_helo_reply:
      return "waiting_for_helo_reply";
    case ClientState::waiting_for_starttls_reply:
      return "waiting_for_starttls_reply";
    case ClientState::starting_tls:
      return "starting_tls";
    case ClientState::waiting_for_auth_reply:
      return "waiting_for_auth_reply";
    case ClientState::waiting_for_mail_reply:
      return "waiting_for_mail_reply";
    case ClientState::waiting_for_rcpt_reply:
      return "waiting_for_rcpt_reply";
    case ClientState::waiting_for_data_reply:
      return "waiting_for_data_reply";
    case ClientState::waiting_for_data_end_reply:
      return "waiting_for_data_end_reply";
    case ClientState::waiting_for_quit_reply:
      return "waiting_for_quit_reply";
    case ClientState::closed:
      return "closed";
  }
  return "?";
}

double reply_timeout(ClientState state, const Timeouts& t) {
  switch (state) {
    case ClientState::waiting_for_greeting:
      return t.initial_220;
    case ClientState::waiting_for_mail_reply:
      return t.mail;
    case ClientState::waiting_for_rcpt_reply:
      return t.rcpt;
    case ClientState::waiting_for_data_reply:
      return t.data_initiation;
    case ClientState::waiting_for_data_end_reply:
      return t.data_termination;
    case ClientState::waiting_for_ehlo_reply:
    case ClientState::waiting_for_helo_reply:
    case ClientState::waiting_for_starttls_reply:
    case ClientState::waiting_for_auth_reply:
    case ClientState::waiting_for_quit_reply:
      return t.other_command;
    case ClientState::starting_tls:
    case ClientState::closed:
      return 0;
  }
  return 0;
}

ServerExtensions parse_ehlo_reply(const Reply& reply) {
  ServerExtensions ext;
  if (reply.code != 250) return ext;
  ext.esmtp = true;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    auto [word, params] = split_word(reply.lines[i]);
    const std::string keyword = upper(word);
    if (keyword == "SIZE") {
      ext.size = true;
      ext.size_limit = is_digits(params) ? to_size(params) : 0;
    } else if (keyword == "8BITMIME") {
      ext.eight_bit_mime = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      ext.enhanced_status_codes = true;
    } else if (keyword == "PIPELINING") {
      ext.pipelining = true;
    } else if (keyword == "STARTTLS") {
      ext.starttls = true;
    } else if (keyword == "AUTH") {
      while (!params.empty()) {
        auto [mechanism, rest] = split_word(params);
        if (!mechanism.empty()) ext.auth_mechanisms.push_back(upper(mechanism));
        params = rest;
      }
    }
  }
  return ext;
}

ClientSession::ClientSession(ClientConfig config, Envelope envelope)
    : config_(std::move(config)), envelope_(std::move(envelope)) {}

// Replies are cut at CRLF; a multi-line reply ("250-" lines then "250 ") is handled whole.
void ClientSession::receive(std::string_view bytes) {
  if (state_ == ClientState::closed || state_ == ClientState::starting_tls)
    return;  // RFC 3207 4.2: nothing read in the clear after the 220 to STARTTLS is trusted
  input_.append(bytes);
  while (state_ != ClientState::closed && state_ != ClientState::starting_tls) {
    const std::size_t end = input_.find(crlf, input_pos_);
    if (end == std::string::npos) {
      if (input_.size() - input_pos_ + 2 > config_.max_reply_line)
        give_up(Reply{451, {"4.5.0 Malformed reply from server: line too long"}}, "malformed reply",
                false);
      break;
    }
    std::string_view line(input_.data() + input_pos_, end - input_pos_);
    input_pos_ = end + 2;
    // RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
    //                            Reply-code [ SP textstring ] CRLF, textstring without controls.
    const bool well_formed =
        line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && is_digits(line.substr(0, 3)) &&
        (line.size() == 3 || line[3] == ' ' || line[3] == '-') &&
        line.size() + 2 <= config_.max_reply_line &&
        std::none_of(line.begin(), line.end(),
                     [](char c) { return (c >= 0 && c < 32 && c != '\t') || c == 127; });
    const int code =
        well_formed ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
    if (!well_formed || (pending_open_ && code != pending_.code) ||
        pending_.lines.size() >= config_.max_reply_lines) {
      give_up(Reply{451, {"4.5.0 Malformed reply from server"}}, "malformed reply", false);
      break;
    }
    pending_.code = code;
    pending_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    if (line.size() > 3 && line[3] == '-') {
      pending_open_ = true;
      continue;
    }
    pending_open_ = false;
    handle_reply(std::exchange(pending_, Reply{}));
  }
  input_.erase(0, input_pos_);
  input_pos_ = 0;
  if (state_ == ClientState::closed || state_ == ClientState::starting_tls) input_.clear();
}

std::string ClientSession::take_output() {
  return std::exchange(output_, {});
}

std::vector<ClientEvent> ClientSession::take_events() {
  return std::exchange(events_, {});
}

bool ClientSession::closed() const {
  return state_ == ClientState::closed;
}

bool ClientSession::succeeded() const {
  return succeeded_;
}

const std::optional<Reply>& ClientSession::failure() const {
  return failure_;
}

std::vector<std::pair<std::string, Reply>> ClientSession::recipient_replies() const {
  return rcpt_replies_;
}

std::string_view ClientSession::state_name() const {
  return to_string(state_);
}

void ClientSession::tls_established() {
  assert(state_ == ClientState::starting_tls && "tls_established() without STARTTLS");
  // RFC 3207 4.2: forget the extensions learnt in the clear and greet again.
  tls_active_ = true;
  extensions_ = ServerExtensions{};
  state_ = ClientState::waiting_for_ehlo_reply;
  send("EHLO " + config_.helo_name);
}

void ClientSession::handle_reply(const Reply& reply) {
  events_.push_back({ClientEvent::Kind::reply_received, reply, last_command_});
  const int cls = reply.code / 100;
  if (reply.code == 421 && state_ != ClientState::waiting_for_quit_reply) {
    give_up(reply, "server closing");  // RFC 5321 3.8: the server is going away
    return;
  }
  switch (state_) {
    case ClientState::waiting_for_greeting:
      if (reply.code != 220) {
        give_up(reply, "greeting refused");  // RFC 5321 3.1: 554, then QUIT
        return;
      }
      state_ = ClientState::waiting_for_ehlo_reply;
      send("EHLO " + config_.helo_name);
      return;

    case ClientState::waiting_for_ehlo_reply:
      if (reply.code == 250) {
        extensions_ = parse_ehlo_reply(reply);
        after_hello();
      } else if (cls == 5) {
        // RFC 5321 3.2: a server that does not know EHLO may still speak HELO.
        state_ = ClientState::waiting_for_helo_reply;
        send("HELO " + config_.helo_name);
      } else {
        give_up(reply, "EHLO refused");
      }
      return;

    case ClientState::waiting_for_helo_reply:
      if (reply.code != 250) {
        give_up(reply, "HELO refused");
        return;
      }
      extensions_ = ServerExtensions{};
      after_hello();
      return;

    case ClientState::waiting_for_starttls_reply:
      if (reply.code == 220) {
        state_ = ClientState::starting_tls;
        events_.push_back({ClientEvent::Kind::starttls, reply, "STARTTLS"});
      } else if (config_.tls == TlsPolicy::required) {
        give_up(reply, "STARTTLS refused");
      } else {
        tls_declined_ = true;  // RFC 3207 4: a 454 leaves the choice to local policy
        after_hello();
      }
      return;

    case ClientState::starting_tls:
      return;  // receive() reads nothing in this state

    case ClientState::waiting_for_auth_reply:
      if (reply.code == 334 && reply.lines.size() == 1 && reply.lines[0].empty()) {
        // The empty challenge after "AUTH PLAIN" without an initial response (RFC 4954 4).
        const auto& [user, password] = *config_.auth;
        send(msg::base64_encode(std::string(1, '\0') + user + '\0' + password));
        last_command_ = "<AUTH response>";
        return;
      }
      if (reply.code != 235) {
        give_up(reply, "authentication failed");
        return;
      }
      start_transaction();
      return;

    case ClientState::waiting_for_mail_reply:
      if (pipelined_) {
        if (cls != 2) mail_refused_ = reply;
        state_ = ClientState::waiting_for_rcpt_reply;
        return;
      }
      if (cls != 2) {
        give_up(reply, "sender refused");
        return;
      }
      send_next_rcpt_or_data();
      return;

    case ClientState::waiting_for_rcpt_reply:
      rcpt_replies_.emplace_back(envelope_.recipients[rcpt_replies_.size()], reply);
      if (cls == 2) ++accepted_rcpts_;
      if (!pipelined_)
        send_next_rcpt_or_data();
      else if (rcpt_replies_.size() == envelope_.recipients.size())
        state_ = ClientState::waiting_for_data_reply;
      return;

    case ClientState::waiting_for_data_reply:
      if (pipelined_ && (mail_refused_ || accepted_rcpts_ == 0)) {
        recipients_done_pipelined(reply);
        return;
      }
      if (reply.code != 354) {
        give_up(reply, "DATA refused");
        return;
      }
      state_ = ClientState::waiting_for_data_end_reply;
      output_ += msg::dot_stuff(envelope_.message);
      last_command_ = "<message data>";
      return;

    case ClientState::waiting_for_data_end_reply:
      if (abort_reason_) {
        give_up(*abort_reason_, mail_refused_ ? "sender refused" : "no recipient accepted");
        return;
      }
      if (cls != 2) {
        give_up(reply, "message refused");
        return;
      }
      succeeded_ = true;
      {
        const std::string text = reply.lines.empty() ? std::string{} : reply.lines.back();
        const std::size_t at = text.find("queued as ");
        events_.push_back({ClientEvent::Kind::message_accepted, reply,
                           at == std::string::npos ? text : text.substr(at + 10)});
      }
      state_ = ClientState::waiting_for_quit_reply;
      send("QUIT");
      return;

    case ClientState::waiting_for_quit_reply:
      finish();
      return;

    case ClientState::closed:
      return;
  }
}

// After a 250 to EHLO or HELO: STARTTLS if the policy asks, then AUTH if configured, then MAIL.
void ClientSession::after_hello() {
  if (config_.tls != TlsPolicy::never && !tls_active_ && !tls_declined_) {
    if (extensions_.starttls) {
      state_ = ClientState::waiting_for_starttls_reply;
      send("STARTTLS");
      return;
    }
    if (config_.tls == TlsPolicy::required) {
      give_up(Reply{554, {"5.7.4 Server offers no STARTTLS"}}, "TLS required");  // RFC 3463
      return;
    }
  }
  if (config_.auth)
    send_auth();
  else
    start_transaction();
}

// RFC 4954 4 with the RFC 4616 PLAIN message "\0user\0password" as the initial response.
void ClientSession::send_auth() {
  const auto& mechanisms = extensions_.auth_mechanisms;
  if (std::find(mechanisms.begin(), mechanisms.end(), "PLAIN") == mechanisms.end()) {
    give_up(Reply{554, {"5.7.4 Server offers no AUTH PLAIN"}}, "no usable AUTH mechanism");
    return;
  }
  const auto& [user, password] = *config_.auth;
  std::string command =
      "AUTH PLAIN " + msg::base64_encode(std::string(1, '\0') + user + '\0' + password);
  state_ = ClientState::waiting_for_auth_reply;
  if (command.size() + 2 > 512)
    send("AUTH PLAIN");  // RFC 4954 4: too long for an initial response
  else
    send(std::move(command));
  last_command_ = "AUTH PLAIN";
}

void ClientSession::send(std::string line) {
  output_ += line;
  output_ += crlf;
  last_command_ = std::move(line);
}

// MAIL FROM, with SIZE (RFC 1870 6) and BODY=8BITMIME (RFC 6152 3) when the server has them.
std::string ClientSession::mail_command() const {
  std::string command = fmt::format("MAIL FROM:<{}>", envelope_.mail_from);
  if (extensions_.size) command += fmt::format(" SIZE={}", content_size());
  if (msg::has_8bit(envelope_.message)) command += " BODY=8BITMIME";
  return command;
}

void ClientSession::start_transaction() {
  if (msg::has_8bit(envelope_.message) && !extensions_.eight_bit_mime) {
    // RFC 6152 3: never send 8-bit data to a server without 8BITMIME; we do not downgrade.
    give_up(Reply{554, {"5.6.3 Conversion required but not supported"}}, "needs 8BITMIME");
    return;
  }
  if (envelope_.recipients.empty()) {
    give_up(Reply{554, {"5.5.1 No recipients"}}, "no recipients");
    return;
  }
  state_ = ClientState::waiting_for_mail_reply;
  if (!(config_.use_pipelining && extensions_.pipelining)) {
    send(mail_command());
    return;
  }
  // RFC 2920 3.1: MAIL and RCPT may go anywhere in a group, DATA only last.
  pipelined_ = true;
  send(mail_command());
  for (const auto& rcpt : envelope_.recipients) send(fmt::format("RCPT TO:<{}>", rcpt));
  send("DATA");
  next_rcpt_ = envelope_.recipients.size();
}

void ClientSession::send_next_rcpt_or_data() {
  if (next_rcpt_ < envelope_.recipients.size()) {
    state_ = ClientState::waiting_for_rcpt_reply;
    send(fmt::format("RCPT TO:<{}>", envelope_.recipients[next_rcpt_++]));
    return;
  }
  if (accepted_rcpts_ == 0) {
    give_up(rcpt_replies_.back().second, "no recipient accepted");
    return;
  }
  state_ = ClientState::waiting_for_data_reply;
  send("DATA");
}

// RFC 2920 3.1: the group failed (MAIL refused or no recipient taken). If the server still said
// 354 to DATA, an empty message (a lone ".") ends the data before we give up.
void ClientSession::recipients_done_pipelined(const Reply& data_reply) {
  const Reply reason = mail_refused_ ? *mail_refused_ : rcpt_replies_.back().second;
  if (data_reply.code == 354) {
    abort_reason_ = reason;
    state_ = ClientState::waiting_for_data_end_reply;
    send(".");
    return;
  }
  give_up(reason, mail_refused_ ? "sender refused" : "no recipient accepted");
}

// Stops the transaction: QUIT politely, unless the server already said it is closing.
void ClientSession::give_up(const Reply& reply, std::string why, bool say_quit) {
  failure_ = reply;
  events_.push_back({ClientEvent::Kind::message_rejected, reply, std::move(why)});
  if (!say_quit || reply.code == 421) {
    finish();
    return;
  }
  state_ = ClientState::waiting_for_quit_reply;
  send("QUIT");
}

void ClientSession::finish() {
  state_ = ClientState::closed;
  events_.push_back({ClientEvent::Kind::finished, {}, succeeded_ ? "delivered" : "failed"});
}

// RFC 1870 5: the octets after 354, CRLFs included, neither the final dot nor stuffed dots.
std::size_t ClientSession::content_size() const {
  const std::string& m = envelope_.message;
  const bool ends_in_crlf = m.size() >= 2 && m.compare(m.size() - 2, 2, crlf) == 0;
  return m.size() + (m.empty() || ends_in_crlf ? 0 : 2);
}

}  // namespace mailsim::smtp

#include "models/webmail.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mailsim::webmail {

namespace {

// Insertion-ordered JSON, so a response reads in the order the API documents its fields.
using Json = nlohmann::ordered_json;

constexpr std::string_view user_agent = "mailsim-webmail/1";
constexpr std::string_view cookie_name = "session";
constexpr std::string_view inbox = "INBOX";

// Compact and deterministic; invalid UTF-8 from a stored message is replaced, not thrown.
std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<Json> parse_json(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

http::Response json_response(int status, const Json& body) {
  http::Response r;
  r.status = status;
  r.body = dump(body);
  return r;
}

http::Response error_response(int status, std::string_view message) {
  return json_response(status, Json{{"error", message}});
}

std::string status_text(int status) {
  return fmt::format("{} {}", status, http::reason_phrase(status));
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// An addr-spec in outline (rfc5322.txt 3.4.1): a local part and a domain around the last "@",
// and no space or control octet, so that nothing can break out of a To: or Cc: field.
bool looks_like_address(std::string_view a) {
  auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return false;
  return std::none_of(a.begin(), a.end(), [](char c) {
    auto octet = static_cast<unsigned char>(c);
    return octet <= 0x20 || octet == 0x7f;
  });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A uid is a decimal number that fits 32 bits; anything else names no message.
std::optional<std::uint32_t> parse_uid(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(n);
}

// The value of one cookie in a Cookie field: "a=1; session=s3" (rfc6265 5.4).
std::optional<std::string> cookie_value(std::string_view field, std::string_view name) {
  while (!field.empty()) {
    auto semi = field.find(';');
    auto pair = field.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name)
      return std::string(pair.substr(eq + 1));
    if (semi == std::string_view::npos) break;
    field.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

}  // namespace

bool valid_flag(std::string_view flag) {
  // rfc3501.txt 9: flag-keyword = atom, flag-extension = "\" atom (the system flags have
  // that shape too), and "\Recent" is left out: only the server sets it (2.3.2).
  bool extension = !flag.empty() && flag.front() == '\\';
  if (extension) flag.remove_prefix(1);
  if (flag.empty()) return false;
  for (char ch : flag) {
    auto c = static_cast<unsigned char>(ch);
    // ATOM-CHAR: any CHAR (%x01-7F) except atom-specials: ( ) { SP CTL % * " \ ]
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::string_view("(){%*\"\\]").find(ch) != std::string_view::npos) return false;
  }
  return !(extension && iequals(flag, "Recent"));
}

std::string encode_segment(std::string_view segment) {
  std::string out;
  for (char ch : segment) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved)
      out += ch;
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::optional<std::string> decode_segment(std::string_view segment) {
  std::string out;
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;
    int hi = hex_value(segment[i + 1]);
    int lo = hex_value(segment[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sessions.

std::string SessionTable::open(std::string_view user) {
  std::string token = fmt::format("s{}", next_++);
  users_.emplace(token, std::string(user));
  return token;
}

std::optional<std::string> SessionTable::user(std::string_view token) const {
  auto it = users_.find(token);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

void SessionTable::close(std::string_view token) {
  auto it = users_.find(token);
  if (it != users_.end()) users_.erase(it);
}

// ---------------------------------------------------------------------------------------------
// Server.

ServerSession::ServerSession(ServerConfig config, Backend& backend)
    : config_(std::move(config)),
      backend_(backend),
      sessions_(own_sessions_),
      parser_(config_.limits) {}

ServerSession::ServerSession(ServerConfig config, Backend& backend, SessionTable& sessions)
    : config_(std::move(config)), backend_(backend), sessions_(sessions), parser_(config_.limits) {}

void ServerSession::receive(std::string_view bytes) {
  if (closed_) return;
  parser_.feed(bytes);
  while (!closed_) {
    auto request = parser_.next();
    if (!request) break;
    handle(*request);
  }
  // rfc9110 10.1.1: a client waiting to send its body hears "go ahead" before any final status.
  if (!closed_ && !parser_.failed() && parser_.take_continue())
    output_ += "HTTP/1.1 100 Continue\r\n\r\n";
  if (closed_ || !parser_.failed()) return;

  // rfc9112.txt 2.2: a request that breaks the grammar gets 400 (or a more precise code) and
  // the connection is closed, since the framing of what follows is unknown.
  ++requests_;
  event(ServerEvent::Kind::protocol_error, parser_.error(), requests_);
  emit(error_response(parser_.error_status(), parser_.error()), true);
}

std::string ServerSession::take_output() {
  return std::exchange(output_, {});
}

std::vector<ServerEvent> ServerSession::take_events() {
  return std::exchange(events_, {});
}

void ServerSession::handle(const http::Request& request) {
  ++requests_;
  event(ServerEvent::Kind::request_received, fmt::format("{} {}", request.method, request.target),
        requests_);
  http::Response response = route(request);
  emit(response, !http::keeps_alive(request));
}

void ServerSession::event(ServerEvent::Kind kind, std::string detail, std::uint32_t id) {
  events_.push_back(ServerEvent{kind, std::move(detail), id});
}

// Frames a routed response: the fixed fields first, then the route's own (Set-Cookie, Allow).
void ServerSession::emit(const http::Response& routed, bool close) {
  http::Response response;
  response.status = routed.status;
  if (!config_.date.empty()) response.headers.emplace_back("Date", config_.date);
  response.headers.emplace_back("Content-Type", "application/json");
  response.headers.emplace_back("Content-Length", std::to_string(routed.body.size()));
  for (const auto& field : routed.headers) response.headers.push_back(field);
  if (close) response.headers.emplace_back("Connection", "close");
  response.body = routed.body;

  output_ += response.to_bytes();
  event(ServerEvent::Kind::response_sent, status_text(response.status), requests_);
  if (close) closed_ = true;
}

std::optional<std::string> ServerSession::session_user(const http::Request& request) const {
  auto field = request.header("Cookie");
  if (!field) return std::nullopt;
  auto token = cookie_value(*field, cookie_name);
  if (!token) return std::nullopt;
  return sessions_.user(*token);
}

namespace {

// The API as data: one row per endpoint, "*" matching any one path segment.
enum class Route { login, logout, send, folders, messages, message, move, flags };

struct RouteSpec {
  std::string_view pattern;
  std::string_view method;
  Route route;
};

constexpr RouteSpec routes[] = {
    {"api/login", "POST", Route::login},
    {"api/logout", "POST", Route::logout},
    {"api/send", "POST", Route::send},
    {"api/folders", "GET", Route::folders},
    {"api/folders/*/messages", "GET", Route::messages},
    {"api/messages/*/*", "GET", Route::message},
    {"api/messages/*/*/move", "POST", Route::move},
    {"api/messages/*/*/flags", "POST", Route::flags},
};

bool matches(std::string_view pattern, const std::vector<std::string>& path) {
  auto parts = split_path(pattern);
  if (parts.size() != path.size()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (parts[i] == "*" ? path[i].empty() : parts[i] != path[i]) return false;
  return true;
}

// The methods of rfc9110 9.3; anything else is a method this server does not recognize.
bool known_method(std::string_view method) {
  for (auto m : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
    if (method == m) return true;
  return false;
}

// Whether a request's content is declared JSON: "application/json", any parameters, any case.
bool is_json(const http::Request& request) {
  auto type = request.header("Content-Type");
  if (!type) return false;
  std::string_view media = *type;
  media = media.substr(0, media.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return iequals(media, "application/json");
}

}  // namespace

// Method known (501), then path (404), method allowed (405), session (401), content type
// (415), and last the handler's own checks (400, 403, 404, 422). A Backend that throws gets
// 500: that is the server's fault, never the client's.
http::Response ServerSession::route(const http::Request& request) {
  // rfc9110 15.6.2: 501 is the answer to a method the server does not recognize.
  if (!known_method(request.method)) return error_response(501, "method not implemented");

  std::string_view target = request.target;
  target = target.substr(0, target.find('?'));
  if (target.empty() || target.front() != '/') return error_response(404, "not found");
  std::vector<std::string> path;
  for (auto raw : split_path(target.substr(1))) {
    auto segment = decode_segment(raw);
    if (!segment) return error_response(400, "bad percent-encoding");
    path.push_back(std::move(*segment));
  }

  const RouteSpec* found = nullptr;
  std::string allowed;
  for (const auto& spec : routes) {
    if (!matches(spec.pattern, path)) continue;
    if (spec.method == request.method) found = &spec;
    if (allowed.find(spec.method) == std::string::npos)
      allowed += (allowed.empty() ? "" : ", ") + std::string(spec.method);
  }
  if (allowed.empty()) return error_response(404, "not found");
  if (!found) {
    // rfc9110 15.5.6: a 405 carries an Allow field listing the methods that would work.
    http::Response r = error_response(405, "method not allowed");
    r.headers.emplace_back("Allow", allowed);
    return r;
  }

  std::optional<std::string> user;
  if (found->route != Route::login) {
    user = session_user(request);
    if (!user) return error_response(401, "not logged in");
  }
  // rfc9110 15.5.16: content in a format the resource does not take.
  if (!request.body.empty() && !is_json(request))
    return error_response(415, "content must be application/json");

  try {
    switch (found->route) {
      case Route::login:
        return login(request);
      case Route::logout:
        return logout(request);
      case Route::send:
        return send(request, *user);
      case Route::folders:
        return list_folders(*user);
      case Route::messages:
        return list_messages(*user, path[2]);
      case Route::message:
        return read_message(*user, path[2], path[3]);
      case Route::move:
        return move_message(request, *user, path[2], path[3]);
      case Route::flags:
        return change_flags(request, *user, path[2], path[3]);
    }
  } catch (const std::exception&) {
    // The store failed us, not the client: rfc9110 15.6.1.
    return error_response(500, "internal error");
  }
  return error_response(500, "unrouted");
}

http::Response ServerSession::login(const http::Request& request) {
  auto j = parse_json(request.body);
  if (!j || !j->is_object()) return error_response(400, "bad JSON");
  auto user = j->find("user");
  auto password = j->find("password");
  if (user == j->end() || !user->is_string() || password == j->end() || !password->is_string())
    return error_response(400, "user and password must be strings");

  const auto& name = user->get_ref<const std::string&>();
  if (!backend_.authenticate(name, password->get_ref<const std::string&>())) {
    event(ServerEvent::Kind::login_failed, name);
    return error_response(401, "invalid credentials");
  }
  std::string token = sessions_.open(name);
  event(ServerEvent::Kind::logged_in, name);
  http::Response r = json_response(200, Json{{"ok", true}});
  r.headers.emplace_back("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly", cookie_name, token));
  return r;
}

http::Response ServerSession::logout(const http::Request& request) {
  if (auto field = request.header("Cookie"))
    if (auto token = cookie_value(*field, cookie_name)) sessions_.close(*token);
  return json_response(200, Json{{"ok", true}});
}

http::Response ServerSession::send(const http::Request& request, const std::string& user) {
  auto j = parse_json(request.body);
  if (!j || !j->is_object()) return error_response(400, "bad JSON");
  Submission submission;
  for (auto [key, into] : {std::pair{"to", &submission.to}, std::pair{"cc", &submission.cc},
                           std::pair{"bcc", &submission.bcc}}) {
    auto list = j->find(key);
    if (list == j->end() && std::string_view(key) != "to") continue;
    if (list == j->end() || !list->is_array() || list->empty())
      return error_response(400, fmt::format("{} must be a non-empty list of addresses", key));
    for (const auto& address : *list) {
      if (!address.is_string() || address.get_ref<const std::string&>().empty())
        return error_response(400, fmt::format("{} must be a non-empty list of addresses", key));
      if (!looks_like_address(address.get_ref<const std::string&>()))
        return error_response(400, fmt::format("{}: not an address: {}", key, address.dump()));
      into->push_back(address.get<std::string>());
    }
  }
  for (auto [key, into] :
       {std::pair{"subject", &submission.subject}, std::pair{"body", &submission.body}}) {
    auto it = j->find(key);
    if (it == j->end()) continue;
    if (!it->is_string()) return error_response(400, fmt::format("{} must be a string", key));
    *into = it->get<std::string>();
  }
  if (auto it = j->find("reply_to"); it != j->end()) {
    auto folder = it->is_object() ? it->find("folder") : it->end();
    auto id = it->is_object() ? it->find("id") : it->end();
    if (folder == it->end() || !folder->is_string() || id == it->end() || !id->is_number_unsigned())
      return error_response(400, "reply_to must be {\"folder\": name, \"id\": number}");
    submission.reply_to = std::make_pair(folder->get<std::string>(), id->get<std::uint32_t>());
  }
  if (auto it = j->find("attachments"); it != j->end()) {
    if (!it->is_array()) return error_response(400, "attachments must be a list");
    for (const auto& a : *it) {
      auto field = [&a](const char* key) -> const Json* {
        auto f = a.is_object() ? a.find(key) : a.end();
        return f != a.end() && f->is_string() ? &*f : nullptr;
      };
      const Json *name = field("name"), *type = field("content_type"), *data = field("data");
      auto octets = data ? msg::base64_decode(data->get_ref<const std::string&>()) : std::nullopt;
      if (!name || !type || !octets)
        return error_response(400, "an attachment needs a name, a content_type and base64 data");
      submission.attachments.push_back(
          {name->get<std::string>(), type->get<std::string>(), std::move(*octets)});
    }
  }

  // rfc9110.txt 15.5.4 (403: understood, refused) for a relay the server does not do;
  // 15.5.21 (422: well-formed, cannot be processed) for a mailbox that does not exist.
  for (const auto* list : {&submission.to, &submission.cc, &submission.bcc})
    for (const auto& address : *list) switch (backend_.check_recipient(user, address)) {
        case RecipientVerdict::accept:
          break;
        case RecipientVerdict::unknown_user:
          return error_response(422, fmt::format("no such user here: {}", address));
        case RecipientVerdict::relay_denied:
          return error_response(403, fmt::format("relaying denied for {}", address));
      }
  auto submitted = backend_.submit(user, submission);
  if (!submitted)
    return error_response(404, "no such message to reply to, or fields this server does not take");
  auto [queue_id, message_id] = *submitted;
  event(ServerEvent::Kind::message_submitted, queue_id);
  return json_response(202, Json{{"queued", queue_id}, {"message_id", message_id}});
}

http::Response ServerSession::list_folders(const std::string& user) {
  Json out = Json::array();
  for (const auto& [name, counts] : backend_.folders(user))
    out.push_back(Json{{"name", name}, {"messages", counts.first}, {"unseen", counts.second}});
  return json_response(200, out);
}

http::Response ServerSession::list_messages(const std::string& user, const std::string& folder) {
  auto folders = backend_.folders(user);
  bool known =
      std::any_of(folders.begin(), folders.end(), [&](const auto& f) { return f.first == folder; });
  if (!known) return error_response(404, "no such folder");

  Json out = Json::array();
  auto messages = backend_.list(user, folder);
  for (const auto& m : messages) {
    out.push_back(Json{{"id", m.id},
                       {"from", m.from},
                       {"subject", m.subject},
                       {"date", m.date},
                       {"seen", m.seen},
                       {"size", m.size}});
  }
  event(ServerEvent::Kind::message_listed, folder, static_cast<std::uint32_t>(messages.size()));
  return json_response(200, out);
}

http::Response ServerSession::read_message(const std::string& user, const std::string& folder,
                                           std::string_view uid) {
  auto id = parse_uid(uid);
  if (!id) return error_response(404, "no such message");
  auto view = backend_.read(user, folder, *id);
  if (!view) return error_response(404, "no such message");

  event(ServerEvent::Kind::message_read, folder, view->id);
  return json_response(200, Json{{"id", view->id},
                                 {"from", view->from},
                                 {"to", view->to},
                                 {"subject", view->subject},
                                 {"date", view->date},
                                 {"body", view->body},
                                 {"raw_size", view->raw_size}});
}

http::Response ServerSession::move_message(const http::Request& request, const std::string& user,
                                           const std::string& folder, std::string_view uid) {
  auto id = parse_uid(uid);
  if (!id) return error_response(404, "no such message");
  auto j = parse_json(request.body);
  if (!j || !j->is_object()) return error_response(400, "bad JSON");
  auto to = j->find("to");
  if (to == j->end() || !to->is_string() || to->get_ref<const std::string&>().empty())
    return error_response(400, "to must be a folder name");
  const auto& destination = to->get_ref<const std::string&>();
  auto folders = backend_.folders(user);
  bool known = std::any_of(folders.begin(), folders.end(),
                           [&](const auto& f) { return f.first == destination; });
  if (!known) return error_response(404, "no such folder");

  if (!backend_.move(user, folder, *id, destination)) return error_response(404, "no such message");
  event(ServerEvent::Kind::message_moved, fmt::format("{} -> {}", folder, destination), *id);
  return json_response(200, Json{{"ok", true}});
}

http::Response ServerSession::change_flags(const http::Request& request, const std::string& user,
                                           const std::string& folder, std::string_view uid) {
  auto id = parse_uid(uid);
  if (!id) return error_response(404, "no such message");
  auto j = parse_json(request.body);
  if (!j || !j->is_object()) return error_response(400, "bad JSON");
  std::vector<std::string> add, remove;
  for (auto [key, into] : {std::pair{"add", &add}, std::pair{"remove", &remove}}) {
    auto it = j->find(key);
    if (it == j->end()) continue;
    std::string problem = fmt::format("{} must be a list of flags", key);
    if (!it->is_array()) return error_response(400, problem);
    for (const auto& flag : *it) {
      if (!flag.is_string() || !valid_flag(flag.get_ref<const std::string&>()))
        return error_response(400, problem);
      into->push_back(flag.get<std::string>());
    }
  }

  if (!backend_.update_flags(user, folder, *id, add, remove))
    return error_response(404, "no such message");
  std::string detail;
  for (const auto& f : add) detail += (detail.empty() ? "+" : " +") + f;
  for (const auto& f : remove) detail += (detail.empty() ? "-" : " -") + f;
  event(ServerEvent::Kind::flags_changed, detail, *id);
  return json_response(200, Json{{"ok", true}});
}

// ---------------------------------------------------------------------------------------------
// Client.

ClientSession::ClientSession(ClientConfig config) : config_(std::move(config)) {
  Json credentials{{"user", config_.user}, {"password", config_.password}};
  request("POST", "/api/login", dump(credentials), Pending{Step::login});
}

std::string ClientSession::take_output() {
  return std::exchange(output_, {});
}

std::vector<ClientEvent> ClientSession::take_events() {
  return std::exchange(events_, {});
}

void ClientSession::event(ClientEvent::Kind kind, std::string detail, std::uint32_t id) {
  events_.push_back(ClientEvent{kind, std::move(detail), id});
}

void ClientSession::fail(std::string reason, bool fatal) {
  failed_ = true;
  event(ClientEvent::Kind::failed, std::move(reason));
  if (fatal) closed_ = true;
}

void ClientSession::request(std::string method, std::string target, std::string body,
                            Pending pending, bool close) {
  assert(!pending_ && !closed_);
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers.emplace_back("Host", config_.host);
  r.headers.emplace_back("User-Agent", std::string(user_agent));
  if (!cookie_.empty())
    r.headers.emplace_back("Cookie", fmt::format("{}={}", cookie_name, cookie_));
  if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  bool chunked = config_.chunk_size > 0 && !body.empty();
  if (chunked) {
    r.headers.emplace_back("Transfer-Encoding", "chunked");
  } else if (!body.empty() || r.method == "POST") {
    // rfc9110 8.6: a POST without content still says Content-Length: 0.
    r.headers.emplace_back("Content-Length", std::to_string(body.size()));
  }
  if (close) r.headers.emplace_back("Connection", "close");

  ++requests_;
  parser_.expect(r.method);
  output_ += http::head_bytes(r);
  output_ += chunked ? http::encode_chunked(body, config_.chunk_size) : body;
  pending_ = pending;
}

void ClientSession::receive(std::string_view bytes) {
  if (closed_) return;
  parser_.feed(bytes);
  while (!closed_) {
    auto response = parser_.next();
    if (!response) break;
    on_response(*response);
  }
  if (!closed_ && parser_.failed()) fail(fmt::format("bad response: {}", parser_.error()), true);
}

void ClientSession::start_operation() {
  std::size_t index = next_operation_++;
  const Operation& op = config_.operations[index];
  std::string list_target = fmt::format("/api/folders/{}/messages", inbox);
  switch (op.kind) {
    case Operation::Kind::send: {
      Json message{{"to", op.to}, {"subject", op.subject}, {"body", op.body}};
      if (!op.cc.empty()) message["cc"] = op.cc;
      if (!op.bcc.empty()) message["bcc"] = op.bcc;
      if (op.reply_to_id != 0)
        message["reply_to"] = Json{{"folder", std::string(inbox)}, {"id", op.reply_to_id}};
      if (!op.attachments.empty()) {
        message["attachments"] = Json::array();
        for (const auto& a : op.attachments)
          message["attachments"].push_back(Json{{"name", a.filename},
                                                {"content_type", a.content_type},
                                                {"data", msg::base64_encode(a.data)}});
      }
      request("POST", "/api/send", dump(message), Pending{Step::send, index});
      break;
    }
    case Operation::Kind::list_inbox:
      request("GET", list_target, "", Pending{Step::list, index});
      break;
    case Operation::Kind::read_unseen:
      request("GET", list_target, "", Pending{Step::list_for_read, index});
      break;
  }
}

// The next request of the script: a pending read, the next operation, or the logout.
void ClientSession::advance() {
  if (!to_read_.empty()) {
    std::uint32_t uid = to_read_.front();
    to_read_.erase(to_read_.begin());
    request("GET", fmt::format("/api/messages/{}/{}", inbox, uid), "",
            Pending{Step::read, next_operation_ - 1, uid});
  } else if (next_operation_ < config_.operations.size()) {
    start_operation();
  } else {
    request("POST", "/api/logout", "", Pending{Step::logout}, true);
  }
}

void ClientSession::on_response(const http::Response& response) {
  if (response.status < 200) return;  // interim; the final response follows (rfc9112.txt 9.2)
  if (!pending_) {
    fail("response without a request", true);  // rfc9112.txt 9.2
    return;
  }
  Pending p = *pending_;
  pending_.reset();
  event(ClientEvent::Kind::response_received, status_text(response.status), requests_);
  bool ok = response.status >= 200 && response.status < 300;

  if (p.step == Step::logout) {
    if (!ok) fail(fmt::format("logout refused: {}", status_text(response.status)), false);
    finished_ = true;
    closed_ = true;
    event(ClientEvent::Kind::finished, config_.user);
    return;
  }
  if (p.step == Step::login) {
    // Set-Cookie: session=s1; Path=/; HttpOnly -- only the name=value pair is kept.
    std::optional<std::string> token;
    for (const auto& [name, value] : response.headers) {
      if (!token && iequals(name, "Set-Cookie"))
        token = cookie_value(std::string_view(value).substr(0, value.find(';')), cookie_name);
    }
    if (!ok || !token) {
      fail(fmt::format("login refused: {}", status_text(response.status)), true);
      return;
    }
    cookie_ = *token;
  }

  if (!ok) {
    fail(fmt::format("request refused: {}", status_text(response.status)), false);
  } else if (p.step != Step::login) {
    try {
      auto j = parse_json(response.body);
      if (!j) throw std::invalid_argument("not JSON");
      if (p.step == Step::send) {
        std::string queue_id = j->at("queued").get<std::string>();
        std::string message_id = j->at("message_id").get<std::string>();
        sent_.push_back(SentMessage{queue_id, message_id});
        event(ClientEvent::Kind::message_sent, queue_id, static_cast<std::uint32_t>(p.operation));
      } else if (p.step == Step::list || p.step == Step::list_for_read) {
        if (!j->is_array()) throw std::invalid_argument("not a list");
        std::vector<std::uint32_t> unseen;
        for (const auto& m : *j)
          if (!m.at("seen").get<bool>()) unseen.push_back(m.at("id").get<std::uint32_t>());
        auto n = static_cast<std::uint32_t>(j->size());
        event(ClientEvent::Kind::inbox_listed,
              fmt::format("{} messages, {} unseen", n, unseen.size()), n);
        if (p.step == Step::list_for_read) to_read_ = std::move(unseen);
      } else if (p.step == Step::read) {
        event(ClientEvent::Kind::message_read, j->at("subject").get<std::string>(), p.uid);
      }
    } catch (const std::exception&) {  // nlohmann's type and key errors, and ours above
      fail(fmt::format("bad JSON in a {} response", status_text(response.status)), false);
    }
  }

  if (!http::keeps_alive(response)) {
    fail("server closed the connection", true);
    return;
  }
  advance();
}

}  // namespace mailsim::webmail

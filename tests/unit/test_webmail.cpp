// The webmail server and client engines (models/webmail.hpp), in memory, no simulator.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/webmail.hpp"

using namespace mailsim::webmail;
using mailsim::http::encode_chunked;

namespace {

struct Stored {
  MessageView view;
  bool seen;
  std::set<std::string> flags{};
};

// A mailbox store for one user, kept in memory.
class FakeBackend : public Backend {
 public:
  FakeBackend() {
    folders_["INBOX"] = {
        {{1, "rav@cms.com", "uday@ums.com", "Lunch", "Mon, 01 Jun 2026 10:00:00 +0000", "Noon?",
          420},
         false},
        {{2, "ops@ums.com", "uday@ums.com", "Report", "Mon, 01 Jun 2026 11:00:00 +0000", "Done.",
          300},
         true},
    };
    folders_["Archive"] = {};
  }

  bool authenticate(std::string_view user, std::string_view password) override {
    return user == "uday@ums.com" && password == "secret";
  }

  // elsewhere.org is not relayed to; nobody@ums.com has no mailbox.
  RecipientVerdict check_recipient(std::string_view, std::string_view address) override {
    if (address.size() > 14 && address.substr(address.size() - 14) == "@elsewhere.org")
      return RecipientVerdict::relay_denied;
    return address == "nobody@ums.com" ? RecipientVerdict::unknown_user : RecipientVerdict::accept;
  }

  std::pair<std::string, std::string> submit(std::string_view user,
                                             const std::vector<std::string>& to,
                                             std::string_view subject,
                                             std::string_view body) override {
    submitted.push_back({std::string(user), to, std::string(subject), std::string(body)});
    auto n = submitted.size();
    return {"Q" + std::to_string(n), "<" + std::to_string(n) + "@ums.com>"};
  }

  std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> folders(
      std::string_view) override {
    std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> out;
    for (const auto& name : {"INBOX", "Archive"}) {
      const auto& messages = folders_[name];
      std::size_t unseen = 0;
      for (const auto& m : messages) unseen += m.seen ? 0 : 1;
      out.push_back({name, {messages.size(), unseen}});
    }
    return out;
  }

  std::vector<MessageSummary> list(std::string_view, std::string_view folder) override {
    std::vector<MessageSummary> out;
    for (const auto& m : folders_[std::string(folder)])
      out.push_back({m.view.id, m.view.from, m.view.subject, m.view.date, m.seen, m.view.raw_size});
    return out;
  }

  std::optional<MessageView> read(std::string_view, std::string_view folder,
                                  std::uint32_t id) override {
    auto it = folders_.find(std::string(folder));
    if (it == folders_.end()) return std::nullopt;
    for (auto& m : it->second) {
      if (m.view.id != id) continue;
      m.seen = true;
      return m.view;
    }
    return std::nullopt;
  }

  bool move(std::string_view, std::string_view folder, std::uint32_t id,
            std::string_view to_folder) override {
    auto from = folders_.find(std::string(folder));
    auto to = folders_.find(std::string(to_folder));
    if (from == folders_.end() || to == folders_.end()) return false;
    for (auto it = from->second.begin(); it != from->second.end(); ++it) {
      if (it->view.id != id) continue;
      to->second.push_back(*it);
      from->second.erase(it);
      return true;
    }
    return false;
  }

  bool update_flags(std::string_view, std::string_view folder, std::uint32_t id,
                    const std::vector<std::string>& add,
                    const std::vector<std::string>& remove) override {
    for (auto& m : folders_[std::string(folder)]) {
      if (m.view.id != id) continue;
      for (const auto& f : add) m.flags.insert(f);
      for (const auto& f : remove) m.flags.erase(f);
      if (std::count(add.begin(), add.end(), "\\Seen")) m.seen = true;
      if (std::count(remove.begin(), remove.end(), "\\Seen")) m.seen = false;
      m.flags.erase("\\Seen");  // kept in `seen`, as the summaries report it
      return true;
    }
    return false;
  }

  std::set<std::string> flags(std::string_view folder, std::uint32_t id) {
    for (const auto& m : folders_[std::string(folder)])
      if (m.view.id == id) return m.flags;
    return {};
  }

  bool seen(std::uint32_t id) {
    for (const auto& m : folders_["INBOX"])
      if (m.view.id == id) return m.seen;
    return false;
  }

  struct Submission {
    std::string user;
    std::vector<std::string> to;
    std::string subject, body;
  };
  std::vector<Submission> submitted;

 private:
  std::map<std::string, std::vector<Stored>> folders_;
};

ServerConfig server_config() {
  return ServerConfig{"ums.com", "", {}};
}

ClientConfig client_config(std::vector<Operation> operations = {}) {
  return ClientConfig{"ums.com", "uday@ums.com", "secret", std::move(operations)};
}

const std::string login_request =
    "POST /api/login HTTP/1.1\r\n"
    "Host: ums.com\r\n"
    "User-Agent: mailsim-webmail/1\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 43\r\n"
    "\r\n"
    "{\"user\":\"uday@ums.com\",\"password\":\"secret\"}";

const std::string login_response =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 11\r\n"
    "Set-Cookie: session=s1; Path=/; HttpOnly\r\n"
    "\r\n"
    "{\"ok\":true}";

// A request from a logged-in browser, as the client engine writes it.
std::string get(std::string_view target, std::string_view cookie = "s1") {
  return "GET " + std::string(target) +
         " HTTP/1.1\r\nHost: ums.com\r\nUser-Agent: mailsim-webmail/1\r\nCookie: session=" +
         std::string(cookie) + "\r\n\r\n";
}

std::string post(std::string_view target, std::string_view body, std::string_view cookie = "s1") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: ums.com\r\nUser-Agent: mailsim-webmail/1\r\nCookie: session=" +
         std::string(cookie) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

// A server already past a successful login.
struct LoggedIn {
  FakeBackend backend;
  ServerSession server{server_config(), backend};
  LoggedIn() {
    server.receive(login_request);
    REQUIRE(server.take_output() == login_response);
    server.take_events();
  }
  std::string ask(std::string_view bytes) {
    server.receive(bytes);
    return server.take_output();
  }
};

std::string json_response(int status, std::string_view phrase, std::string_view body,
                          std::string_view extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(phrase) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

std::string kinds(const std::vector<ServerEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    switch (e.kind) {
      case ServerEvent::Kind::request_received:
        out += "request ";
        break;
      case ServerEvent::Kind::response_sent:
        out += "response ";
        break;
      case ServerEvent::Kind::logged_in:
        out += "logged_in ";
        break;
      case ServerEvent::Kind::login_failed:
        out += "login_failed ";
        break;
      case ServerEvent::Kind::message_submitted:
        out += "submitted ";
        break;
      case ServerEvent::Kind::message_listed:
        out += "listed ";
        break;
      case ServerEvent::Kind::message_read:
        out += "read ";
        break;
      case ServerEvent::Kind::protocol_error:
        out += "protocol_error ";
        break;
      case ServerEvent::Kind::message_moved:
        out += "message_moved ";
        break;
      case ServerEvent::Kind::flags_changed:
        out += "flags_changed ";
        break;
    }
    out += e.detail + "#" + std::to_string(e.id) + "; ";
  }
  return out;
}

std::string kinds(const std::vector<ClientEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    switch (e.kind) {
      case ClientEvent::Kind::response_received:
        out += "response ";
        break;
      case ClientEvent::Kind::message_sent:
        out += "sent ";
        break;
      case ClientEvent::Kind::inbox_listed:
        out += "listed ";
        break;
      case ClientEvent::Kind::message_read:
        out += "read ";
        break;
      case ClientEvent::Kind::failed:
        out += "failed ";
        break;
      case ClientEvent::Kind::finished:
        out += "finished ";
        break;
    }
    out += e.detail + "#" + std::to_string(e.id) + "; ";
  }
  return out;
}

// Both directions of a wired conversation, and every event, for comparing runs.
struct Transcript {
  std::string to_server, to_client, server_events, client_events;
  bool server_closed = false, client_closed = false, succeeded = false;
};

// Wires a client engine to a server engine, delivering `step` octets at a time (0: each
// flight whole), until neither side has anything more to say.
Transcript converse(ClientConfig config, FakeBackend& backend, std::size_t step) {
  ClientSession client(std::move(config));
  ServerSession server(server_config(), backend);
  Transcript t;
  auto deliver = [step](std::string_view bytes, auto& to) {
    if (step == 0) {
      to.receive(bytes);
      return;
    }
    for (std::size_t at = 0; at < bytes.size(); at += step) to.receive(bytes.substr(at, step));
  };
  for (int round = 0; round < 100; ++round) {
    auto up = client.take_output();
    t.to_server += up;
    deliver(up, server);
    auto down = server.take_output();
    t.to_client += down;
    deliver(down, client);
    if (up.empty() && down.empty()) break;
  }
  t.server_events = kinds(server.take_events());
  t.client_events = kinds(client.take_events());
  t.server_closed = server.closed();
  t.client_closed = client.closed();
  t.succeeded = client.succeeded();
  return t;
}

}  // namespace

TEST_CASE("webmail client: the login request is ready at construction", "[webmail]") {
  ClientSession client(client_config());
  CHECK(client.take_output() == login_request);
  CHECK(client.take_output().empty());
  CHECK_FALSE(client.closed());
}

TEST_CASE("webmail server: login answers 200 with the session cookie", "[webmail]") {
  FakeBackend backend;
  ServerSession server(server_config(), backend);
  CHECK(server.take_output().empty());  // HTTP has no greeting: the client speaks first
  server.receive(login_request);
  CHECK(server.take_output() == login_response);
  CHECK(kinds(server.take_events()) ==
        "request POST /api/login#1; logged_in uday@ums.com#0; response 200 OK#1; ");
  CHECK_FALSE(server.closed());  // rfc9112 9.3: HTTP/1.1 persists
}

TEST_CASE("webmail server: a wrong password answers 401", "[webmail]") {
  FakeBackend backend;
  ServerSession server(server_config(), backend);
  server.receive(
      "POST /api/login HTTP/1.1\r\nHost: ums.com\r\nContent-Type: application/json\r\n"
      "Content-Length: 42\r\n\r\n{\"user\":\"uday@ums.com\",\"password\":\"guess\"}");
  CHECK(server.take_output() ==
        "HTTP/1.1 401 Unauthorized\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 31\r\n"
        "\r\n"
        "{\"error\":\"invalid credentials\"}");
  CHECK(kinds(server.take_events()) ==
        "request POST /api/login#1; login_failed uday@ums.com#0; response 401 Unauthorized#1; ");
}

TEST_CASE("webmail: exact bytes of send", "[webmail]") {
  ClientSession client(
      client_config({{Operation::Kind::send, {"rav@cms.com"}, "Hi", "Hello Rav"}}));
  client.take_output();
  client.receive(login_response);
  std::string send_request =
      "POST /api/send HTTP/1.1\r\n"
      "Host: ums.com\r\n"
      "User-Agent: mailsim-webmail/1\r\n"
      "Cookie: session=s1\r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 56\r\n"
      "\r\n"
      "{\"to\":[\"rav@cms.com\"],\"subject\":\"Hi\",\"body\":\"Hello Rav\"}";
  CHECK(client.take_output() == send_request);

  LoggedIn s;
  CHECK(s.ask(send_request) ==
        "HTTP/1.1 202 Accepted\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 42\r\n"
        "\r\n"
        "{\"queued\":\"Q1\",\"message_id\":\"<1@ums.com>\"}");
  REQUIRE(s.backend.submitted.size() == 1);
  CHECK(s.backend.submitted[0].user == "uday@ums.com");
  CHECK(s.backend.submitted[0].to == std::vector<std::string>{"rav@cms.com"});
  CHECK(s.backend.submitted[0].subject == "Hi");
  CHECK(s.backend.submitted[0].body == "Hello Rav");
  CHECK(kinds(s.server.take_events()) ==
        "request POST /api/send#2; submitted Q1#0; response 202 Accepted#2; ");
}

TEST_CASE("webmail: exact bytes of the folder and message lists", "[webmail]") {
  ClientSession client(client_config({{Operation::Kind::list_inbox, {}, "", ""}}));
  client.take_output();
  client.receive(login_response);
  std::string list_request =
      "GET /api/folders/INBOX/messages HTTP/1.1\r\n"
      "Host: ums.com\r\n"
      "User-Agent: mailsim-webmail/1\r\n"
      "Cookie: session=s1\r\n"
      "\r\n";
  CHECK(client.take_output() == list_request);

  LoggedIn s;
  std::string list_body =
      "[{\"id\":1,\"from\":\"rav@cms.com\",\"subject\":\"Lunch\","
      "\"date\":\"Mon, 01 Jun 2026 10:00:00 +0000\",\"seen\":false,\"size\":420},"
      "{\"id\":2,\"from\":\"ops@ums.com\",\"subject\":\"Report\","
      "\"date\":\"Mon, 01 Jun 2026 11:00:00 +0000\",\"seen\":true,\"size\":300}]";
  REQUIRE(list_body.size() == 227);
  CHECK(s.ask(list_request) ==
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 227\r\n\r\n" +
            list_body);
  CHECK(kinds(s.server.take_events()) ==
        "request GET /api/folders/INBOX/messages#2; listed INBOX#2; response 200 OK#2; ");

  CHECK(s.ask(get("/api/folders")) ==
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 85\r\n\r\n"
        "[{\"name\":\"INBOX\",\"messages\":2,\"unseen\":1},"
        "{\"name\":\"Archive\",\"messages\":0,\"unseen\":0}]");
}

TEST_CASE("webmail: exact bytes of reading a message, which marks it seen", "[webmail]") {
  LoggedIn s;
  REQUIRE_FALSE(s.backend.seen(1));
  std::string read_request =
      "GET /api/messages/INBOX/1 HTTP/1.1\r\n"
      "Host: ums.com\r\n"
      "User-Agent: mailsim-webmail/1\r\n"
      "Cookie: session=s1\r\n"
      "\r\n";
  CHECK(read_request == get("/api/messages/INBOX/1"));
  CHECK(s.ask(read_request) ==
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 138\r\n"
        "\r\n"
        "{\"id\":1,\"from\":\"rav@cms.com\",\"to\":\"uday@ums.com\",\"subject\":\"Lunch\","
        "\"date\":\"Mon, 01 Jun 2026 10:00:00 +0000\",\"body\":\"Noon?\",\"raw_size\":420}");
  CHECK(s.backend.seen(1));
  CHECK(kinds(s.server.take_events()) ==
        "request GET /api/messages/INBOX/1#2; read INBOX#1; response 200 OK#2; ");
}

TEST_CASE("webmail: 401 without a valid session cookie", "[webmail]") {
  LoggedIn s;
  std::string unauthorized = json_response(401, "Unauthorized", "{\"error\":\"not logged in\"}");
  std::string bare = "GET /api/folders HTTP/1.1\r\nHost: ums.com\r\n\r\n";
  CHECK(s.ask(bare) == unauthorized);
  CHECK(s.ask(get("/api/folders", "s99")) == unauthorized);
  CHECK(s.ask(post("/api/send", "{\"to\":[\"rav@cms.com\"]}", "s2")) == unauthorized);
  CHECK(s.backend.submitted.empty());
  // After logout the token is gone.
  CHECK(s.ask(post("/api/logout", "")) == json_response(200, "OK", "{\"ok\":true}"));
  CHECK(s.ask(get("/api/folders")) == unauthorized);
  CHECK_FALSE(s.server.closed());
}

TEST_CASE("webmail: 404 for unknown paths, folders and messages", "[webmail]") {
  LoggedIn s;
  std::string not_found = json_response(404, "Not Found", "{\"error\":\"not found\"}");
  CHECK(s.ask(get("/")) == not_found);
  CHECK(s.ask(get("/api/nothing")) == not_found);
  CHECK(s.ask(get("/api/folders/INBOX")) == not_found);
  CHECK(s.ask(get("/index.html")) == not_found);
  std::string no_folder = json_response(404, "Not Found", "{\"error\":\"no such folder\"}");
  CHECK(s.ask(get("/api/folders/Spam/messages")) == no_folder);
  std::string no_message = json_response(404, "Not Found", "{\"error\":\"no such message\"}");
  CHECK(s.ask(get("/api/messages/INBOX/7")) == no_message);
  CHECK(s.ask(get("/api/messages/INBOX/one")) == no_message);
  CHECK(s.ask(get("/api/messages/INBOX/99999999999")) == no_message);
  CHECK(s.ask(get("/api/messages/Spam/1")) == no_message);
  // Unknown paths are 404 before any session check.
  CHECK(s.ask("GET /api/nothing HTTP/1.1\r\nHost: ums.com\r\n\r\n") == not_found);
}

TEST_CASE("webmail: 400 for bad JSON and bad fields", "[webmail]") {
  LoggedIn s;
  std::string bad_json = json_response(400, "Bad Request", "{\"error\":\"bad JSON\"}");
  CHECK(s.ask(post("/api/send", "{\"to\":")) == bad_json);
  CHECK(s.ask(post("/api/send", "[1,2]")) == bad_json);
  CHECK(s.ask(post("/api/send", "")) == bad_json);
  std::string bad_to =
      json_response(400, "Bad Request", "{\"error\":\"to must be a non-empty list of addresses\"}");
  CHECK(s.ask(post("/api/send", "{\"to\":[]}")) == bad_to);
  CHECK(s.ask(post("/api/send", "{\"to\":\"rav@cms.com\"}")) == bad_to);
  CHECK(s.ask(post("/api/send", "{\"to\":[3]}")) == bad_to);
  CHECK(s.ask(post("/api/send", "{\"to\":[\"a@b\"],\"subject\":1}")) ==
        json_response(400, "Bad Request", "{\"error\":\"subject must be a string\"}"));
  CHECK(s.ask(post("/api/login", "{\"user\":\"uday@ums.com\"}")) ==
        json_response(400, "Bad Request", "{\"error\":\"user and password must be strings\"}"));
  CHECK(s.backend.submitted.empty());
  CHECK_FALSE(s.server.closed());  // bad content is not bad framing
}

// rfc9110.txt 15.5.4 and 15.5.21; the same refusals as SMTP's RCPT (rfc5321.txt 3.6.2 550
// for relaying, 4.2.2 for 5.1.1), so one bad Cc fails the whole send, as it would a form.
TEST_CASE("webmail: a refused recipient fails the send with 403 or 422 naming it", "[webmail]") {
  LoggedIn s;
  CHECK(s.ask(post("/api/send", "{\"to\":[\"rav@cms.com\"],\"cc\":[\"eve@elsewhere.org\"]}")) ==
        json_response(403, "Forbidden", "{\"error\":\"relaying denied for eve@elsewhere.org\"}"));
  CHECK(s.ask(post("/api/send", "{\"to\":[\"nobody@ums.com\"]}")) ==
        json_response(422, "Unprocessable Content",
                      "{\"error\":\"no such user here: nobody@ums.com\"}"));
  // rfc5322.txt 3.4.1: no CRLF can ride in an address into the To: or Cc: field.
  CHECK(s.ask(post("/api/send", "{\"to\":[\"rav@cms.com\\r\\nBcc: eve@x.org\"]}")) ==
        json_response(400, "Bad Request",
                      "{\"error\":\"to: not an address: \\\"rav@cms.com\\\\r\\\\nBcc: "
                      "eve@x.org\\\"\"}"));
  CHECK(s.ask(post("/api/send", "{\"to\":[\"rav@cms.com\"],\"cc\":[\"rav\"]}")) ==
        json_response(400, "Bad Request", "{\"error\":\"cc: not an address: \\\"rav\\\"\"}"));
  CHECK(s.backend.submitted.empty());
  CHECK_FALSE(s.server.closed());
  CHECK(s.ask(post("/api/send", "{\"to\":[\"rav@cms.com\"]}")) ==
        json_response(202, "Accepted", "{\"queued\":\"Q1\",\"message_id\":\"<1@ums.com>\"}"));
}

TEST_CASE("webmail: 405 for a known path with another method, with Allow", "[webmail]") {
  LoggedIn s;
  CHECK(s.ask(get("/api/send")) == json_response(405, "Method Not Allowed",
                                                 "{\"error\":\"method not allowed\"}",
                                                 "Allow: POST\r\n"));
  CHECK(s.ask(post("/api/folders", "{}")) == json_response(405, "Method Not Allowed",
                                                           "{\"error\":\"method not allowed\"}",
                                                           "Allow: GET\r\n"));
}

TEST_CASE("rfc9110 15.5.16 and 15.6.2: 415 for other content types, 501 for unknown methods",
          "[webmail]") {
  LoggedIn s;
  std::string form =
      "POST /api/send HTTP/1.1\r\nHost: ums.com\r\nCookie: session=s1\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 14\r\n\r\n"
      "to=rav@cms.com";
  CHECK(s.ask(form) == json_response(415, "Unsupported Media Type",
                                     "{\"error\":\"content must be application/json\"}"));
  std::string untyped =
      "POST /api/send HTTP/1.1\r\nHost: ums.com\r\nCookie: session=s1\r\n"
      "Content-Length: 2\r\n\r\n{}";
  CHECK(s.ask(untyped).rfind("HTTP/1.1 415 Unsupported Media Type\r\n", 0) == 0);
  // Parameters and case do not matter.
  std::string typed =
      "POST /api/send HTTP/1.1\r\nHost: ums.com\r\nCookie: session=s1\r\n"
      "Content-Type: Application/JSON; charset=utf-8\r\nContent-Length: 22\r\n\r\n"
      "{\"to\":[\"rav@cms.com\"]}";
  CHECK(s.ask(typed).rfind("HTTP/1.1 202 Accepted\r\n", 0) == 0);

  CHECK(s.ask("BREW /api/send HTTP/1.1\r\nHost: ums.com\r\n\r\n") ==
        json_response(501, "Not Implemented", "{\"error\":\"method not implemented\"}"));
  CHECK(s.ask("DELETE /api/send HTTP/1.1\r\nHost: ums.com\r\n\r\n")
            .rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  CHECK_FALSE(s.server.closed());
}

TEST_CASE("rfc9110 15.6.1: a failing backend gives 500, not a crash", "[webmail]") {
  struct Broken : FakeBackend {
    std::vector<MessageSummary> list(std::string_view, std::string_view) override {
      throw std::runtime_error("disk on fire");
    }
  } backend;
  ServerSession server(server_config(), backend);
  server.receive(login_request);
  server.take_output();
  server.receive(get("/api/folders/INBOX/messages"));
  CHECK(server.take_output() ==
        json_response(500, "Internal Server Error", "{\"error\":\"internal error\"}"));
  CHECK_FALSE(server.closed());
}

TEST_CASE("webmail: exact bytes of moving a message to another folder", "[webmail]") {
  LoggedIn s;
  std::string move_request =
      "POST /api/messages/INBOX/1/move HTTP/1.1\r\n"
      "Host: ums.com\r\n"
      "User-Agent: mailsim-webmail/1\r\n"
      "Cookie: session=s1\r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 16\r\n"
      "\r\n"
      "{\"to\":\"Archive\"}";
  CHECK(move_request == post("/api/messages/INBOX/1/move", "{\"to\":\"Archive\"}"));
  CHECK(s.ask(move_request) ==
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 11\r\n"
        "\r\n"
        "{\"ok\":true}");
  CHECK(kinds(s.server.take_events()) ==
        "request POST /api/messages/INBOX/1/move#2; message_moved INBOX -> Archive#1; "
        "response 200 OK#2; ");
  CHECK(s.ask(get("/api/folders"))
            .find("[{\"name\":\"INBOX\",\"messages\":1,\"unseen\":0},"
                  "{\"name\":\"Archive\",\"messages\":1,\"unseen\":1}]") != std::string::npos);
  CHECK(s.ask(get("/api/messages/Archive/1")).rfind("HTTP/1.1 200 OK", 0) == 0);

  // Moved already, unknown uid, unknown folder, bad body, wrong method.
  std::string no_message = json_response(404, "Not Found", "{\"error\":\"no such message\"}");
  CHECK(s.ask(post("/api/messages/INBOX/1/move", "{\"to\":\"Archive\"}")) == no_message);
  CHECK(s.ask(post("/api/messages/INBOX/x/move", "{\"to\":\"Archive\"}")) == no_message);
  CHECK(s.ask(post("/api/messages/INBOX/2/move", "{\"to\":\"Trash\"}")) ==
        json_response(404, "Not Found", "{\"error\":\"no such folder\"}"));
  std::string bad_to =
      json_response(400, "Bad Request", "{\"error\":\"to must be a folder name\"}");
  CHECK(s.ask(post("/api/messages/INBOX/2/move", "{\"to\":\"\"}")) == bad_to);
  CHECK(s.ask(post("/api/messages/INBOX/2/move", "{\"to\":[\"Archive\"]}")) == bad_to);
  CHECK(s.ask(post("/api/messages/INBOX/2/move", "{\"to\"")) ==
        json_response(400, "Bad Request", "{\"error\":\"bad JSON\"}"));
  CHECK(s.ask(get("/api/messages/INBOX/2/move")) ==
        json_response(405, "Method Not Allowed", "{\"error\":\"method not allowed\"}",
                      "Allow: POST\r\n"));
  // Without a session, 401 before the body is looked at.
  CHECK(s.ask(post("/api/messages/INBOX/2/move", "junk", "s9"))
            .rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
}

TEST_CASE("webmail: exact bytes of changing flags (rfc3501 2.3.2)", "[webmail]") {
  LoggedIn s;
  std::string flag_body = "{\"add\":[\"\\\\Flagged\"],\"remove\":[]}";
  REQUIRE(flag_body == R"({"add":["\\Flagged"],"remove":[]})");
  std::string flags_request =
      "POST /api/messages/INBOX/1/flags HTTP/1.1\r\n"
      "Host: ums.com\r\n"
      "User-Agent: mailsim-webmail/1\r\n"
      "Cookie: session=s1\r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 33\r\n"
      "\r\n" +
      flag_body;
  CHECK(flags_request == post("/api/messages/INBOX/1/flags", flag_body));
  CHECK(s.ask(flags_request) ==
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        "{\"ok\":true}");
  CHECK(s.backend.flags("INBOX", 1) == std::set<std::string>{"\\Flagged"});
  CHECK(kinds(s.server.take_events()) ==
        "request POST /api/messages/INBOX/1/flags#2; flags_changed +\\Flagged#1; "
        "response 200 OK#2; ");

  // Marking unseen again, with a keyword added; either list may be left out.
  CHECK(s.ask(post("/api/messages/INBOX/2/flags",
                   R"({"add":["$Important","Recent"],"remove":["\\Seen"]})"))
            .rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK_FALSE(s.backend.seen(2));
  CHECK(kinds(s.server.take_events()).find("flags_changed +$Important +Recent -\\Seen#2") !=
        std::string::npos);
  CHECK(s.ask(post("/api/messages/INBOX/2/flags", R"({"remove":["$Important"]})"))
            .rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(s.backend.flags("INBOX", 2) == std::set<std::string>{"Recent"});

  std::string bad_add =
      json_response(400, "Bad Request", "{\"error\":\"add must be a list of flags\"}");
  CHECK(s.ask(post("/api/messages/INBOX/1/flags", R"({"add":["\\Recent"]})")) == bad_add);
  CHECK(s.ask(post("/api/messages/INBOX/1/flags", R"({"add":["two words"]})")) == bad_add);
  CHECK(s.ask(post("/api/messages/INBOX/1/flags", R"({"add":"\\Seen"})")) == bad_add);
  CHECK(s.ask(post("/api/messages/INBOX/1/flags", R"({"add":[7]})")) == bad_add);
  CHECK(s.ask(post("/api/messages/INBOX/1/flags", R"({"remove":[""]})")) ==
        json_response(400, "Bad Request", "{\"error\":\"remove must be a list of flags\"}"));
  CHECK(s.ask(post("/api/messages/INBOX/9/flags", R"({"add":["\\Seen"]})")) ==
        json_response(404, "Not Found", "{\"error\":\"no such message\"}"));
}

TEST_CASE("webmail: a Backend without move or flags answers 404 for them", "[webmail]") {
  struct Plain : FakeBackend {
    bool move(std::string_view u, std::string_view f, std::uint32_t id,
              std::string_view to) override {
      return Backend::move(u, f, id, to);  // the default
    }
    bool update_flags(std::string_view u, std::string_view f, std::uint32_t id,
                      const std::vector<std::string>& add,
                      const std::vector<std::string>& remove) override {
      return Backend::update_flags(u, f, id, add, remove);  // the default
    }
  } backend;
  ServerSession server(server_config(), backend);
  server.receive(login_request);
  server.take_output();
  std::string no_message = json_response(404, "Not Found", "{\"error\":\"no such message\"}");
  server.receive(post("/api/messages/INBOX/1/move", R"({"to":"Archive"})"));
  CHECK(server.take_output() == no_message);
  server.receive(post("/api/messages/INBOX/1/flags", R"({"add":["\\Flagged"]})"));
  CHECK(server.take_output() == no_message);
}

TEST_CASE("rfc3501 9: which flags a client may set", "[webmail]") {
  for (auto ok : {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Junk", "Recent",
                  "\\Extension", "a.b-c_d"})
    CHECK(valid_flag(ok));
  for (auto bad : {"", "\\", "\\Recent", "\\recent", "a b", "(x", "x)", "{3}", "50%", "*",
                   "say\"hi\"", "a\\b", "x]", "tab\there", "caf\xc3\xa9"})
    CHECK_FALSE(valid_flag(bad));
}

TEST_CASE("webmail: keep-alive serves several requests on one connection", "[webmail]") {
  LoggedIn s;
  // rfc9112 9.3.2: two pipelined requests in one flight, answered in order.
  std::string both = get("/api/messages/INBOX/2") + get("/api/folders");
  std::string out = s.ask(both);
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  auto second = out.find("HTTP/1.1 200 OK\r\n", 1);
  REQUIRE(second != std::string::npos);
  CHECK(out.substr(second).find("\"name\":\"INBOX\"") != std::string::npos);
  CHECK(out.find("Connection") == std::string::npos);
  CHECK_FALSE(s.server.closed());
  CHECK(kinds(s.server.take_events()) ==
        "request GET /api/messages/INBOX/2#2; read INBOX#2; response 200 OK#2; "
        "request GET /api/folders#3; response 200 OK#3; ");
}

TEST_CASE("rfc9112 9.6: Connection: close ends the connection after the response", "[webmail]") {
  LoggedIn s;
  std::string out = s.ask(
      "POST /api/logout HTTP/1.1\r\nHost: ums.com\r\nCookie: session=s1\r\n"
      "Content-Length: 0\r\nConnection: close\r\n\r\n" +
      get("/api/folders"));
  CHECK(out == json_response(200, "OK", "{\"ok\":true}", "Connection: close\r\n"));
  CHECK(s.server.closed());
  s.server.receive(get("/api/folders"));  // 9.6: no further requests are processed
  CHECK(s.server.take_output().empty());

  FakeBackend backend;
  ServerSession old(server_config(), backend);  // 9.3: HTTP/1.0 closes by default
  old.receive("GET /api/folders HTTP/1.0\r\n\r\n");
  CHECK(old.take_output() == json_response(401, "Unauthorized", "{\"error\":\"not logged in\"}",
                                           "Connection: close\r\n"));
  CHECK(old.closed());
}

TEST_CASE("rfc9112 2.2: broken framing gets 400 and a close", "[webmail]") {
  LoggedIn s;
  std::string out = s.ask("GET /api/folders HTTP/1.1\nHost: ums.com\n\n");
  CHECK(out == json_response(400, "Bad Request", "{\"error\":\"bare LF in a line\"}",
                             "Connection: close\r\n"));
  CHECK(s.server.closed());
  CHECK(kinds(s.server.take_events()) ==
        "protocol_error bare LF in a line#2; response 400 Bad Request#2; ");

  FakeBackend backend;
  ServerConfig config = server_config();
  config.limits.max_body = 16;
  ServerSession small(config, backend);
  small.receive(post("/api/login", std::string(17, ' ')));
  CHECK(small.take_output() == json_response(413, "Content Too Large",
                                             "{\"error\":\"body too large\"}",
                                             "Connection: close\r\n"));
}

TEST_CASE("rfc9112 7.1: the server takes a chunked request body", "[webmail]") {
  FakeBackend backend;
  ServerSession server(server_config(), backend);
  server.receive(
      "POST /api/login HTTP/1.1\r\nHost: ums.com\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      encode_chunked("{\"user\":\"uday@ums.com\",\"password\":\"secret\"}", 10));
  CHECK(server.take_output() == login_response);
}

TEST_CASE("rfc9112 7.1: a client configured for chunked bodies sends them chunked", "[webmail]") {
  auto config = client_config({{Operation::Kind::send, {"rav@cms.com"}, "Hi", "Hello Rav"}});
  config.chunk_size = 16;
  ClientSession client(config);
  CHECK(client.take_output() ==
        "POST /api/login HTTP/1.1\r\n"
        "Host: ums.com\r\n"
        "User-Agent: mailsim-webmail/1\r\n"
        "Content-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
        "\r\n"
        "10\r\n{\"user\":\"uday@um\r\n"  // 16 octets, then 16 and 11 (43 in all)
        "10\r\ns.com\",\"password\r\n"
        "b\r\n\":\"secret\"}\r\n"
        "0\r\n\r\n");

  // Wired to a server, the conversation is the same as with Content-Length.
  FakeBackend plain_backend, chunked_backend;
  config.chunk_size = 0;
  Transcript plain = converse(config, plain_backend, 0);
  config.chunk_size = 5;
  Transcript chunked = converse(config, chunked_backend, 1);
  CHECK(chunked.server_events == plain.server_events);
  CHECK(chunked.client_events == plain.client_events);
  CHECK(chunked.to_client == plain.to_client);
  CHECK(chunked.to_server != plain.to_server);
  CHECK(chunked.succeeded);
  REQUIRE(chunked_backend.submitted.size() == 1);
  CHECK(chunked_backend.submitted[0].body == "Hello Rav");
  // A POST without content keeps Content-Length: 0 rather than an empty chunked body.
  CHECK(chunked.to_server.find("Content-Length: 0\r\nConnection: close\r\n") != std::string::npos);
}

TEST_CASE("webmail server: same output whole, line by line and byte by byte", "[webmail]") {
  std::string transcript = login_request + get("/api/folders/INBOX/messages") +
                           get("/api/messages/INBOX/1") +
                           post("/api/send", "{\"to\":[\"rav@cms.com\"],\"body\":\"x\"}") +
                           get("/nothing") + post("/api/send", "{") + "BROKEN\r\n\r\n";
  auto run = [&](std::size_t mode) {
    FakeBackend backend;
    ServerSession server(server_config(), backend);
    std::string_view rest = transcript;
    while (!rest.empty()) {
      std::size_t n = rest.size();
      if (mode == 1) n = std::min(rest.size(), rest.find("\r\n") + 2);
      if (mode == 2) n = 1;
      server.receive(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    return server.take_output() + "\n" + kinds(server.take_events());
  };
  auto whole = run(0);
  CHECK(run(1) == whole);
  CHECK(run(2) == whole);
  CHECK(whole.find("HTTP/1.1 400 Bad Request") != std::string::npos);
  CHECK(whole.find("protocol_error malformed request line#7") != std::string::npos);
}

TEST_CASE("webmail: a client wired to a server logs in, sends, lists and reads", "[webmail]") {
  FakeBackend backend;
  auto config = client_config({
      {Operation::Kind::send, {"rav@cms.com", "hu@cms.com"}, "Hi", "Hello"},
      {Operation::Kind::list_inbox, {}, "", ""},
      {Operation::Kind::read_unseen, {}, "", ""},
  });
  Transcript t = converse(config, backend, 0);
  CHECK(t.client_events ==
        "response 200 OK#1; "
        "response 202 Accepted#2; sent Q1#0; "
        "response 200 OK#3; listed 2 messages, 1 unseen#2; "
        "response 200 OK#4; listed 2 messages, 1 unseen#2; "
        "response 200 OK#5; read Lunch#1; "
        "response 200 OK#6; finished uday@ums.com#0; ");
  CHECK(t.server_events ==
        "request POST /api/login#1; logged_in uday@ums.com#0; response 200 OK#1; "
        "request POST /api/send#2; submitted Q1#0; response 202 Accepted#2; "
        "request GET /api/folders/INBOX/messages#3; listed INBOX#2; response 200 OK#3; "
        "request GET /api/folders/INBOX/messages#4; listed INBOX#2; response 200 OK#4; "
        "request GET /api/messages/INBOX/1#5; read INBOX#1; response 200 OK#5; "
        "request POST /api/logout#6; response 200 OK#6; ");
  CHECK(t.succeeded);
  CHECK(t.client_closed);
  CHECK(t.server_closed);
  CHECK(backend.seen(1));
  REQUIRE(backend.submitted.size() == 1);
  CHECK(backend.submitted[0].to == std::vector<std::string>{"rav@cms.com", "hu@cms.com"});

  // The logout carries Connection: close and the server's answer does too (rfc9112 9.6).
  CHECK(t.to_server.substr(t.to_server.rfind("POST /api/logout")) ==
        "POST /api/logout HTTP/1.1\r\nHost: ums.com\r\nUser-Agent: mailsim-webmail/1\r\n"
        "Cookie: session=s1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  CHECK(t.to_client.substr(t.to_client.rfind("HTTP/1.1")) ==
        json_response(200, "OK", "{\"ok\":true}", "Connection: close\r\n"));
  // Nothing volatile in the bytes: no Date unless configured.
  CHECK(t.to_client.find("Date:") == std::string::npos);
}

TEST_CASE("webmail: a wired conversation does not depend on chunking", "[webmail]") {
  auto config = client_config({{Operation::Kind::send, {"rav@cms.com"}, "Hi", "Hello"},
                               {Operation::Kind::read_unseen, {}, "", ""}});
  FakeBackend a, b, c;
  Transcript whole = converse(config, a, 0);
  Transcript bytes = converse(config, b, 1);
  Transcript threes = converse(config, c, 3);
  for (const Transcript* t : {&bytes, &threes}) {
    CHECK(t->to_server == whole.to_server);
    CHECK(t->to_client == whole.to_client);
    CHECK(t->server_events == whole.server_events);
    CHECK(t->client_events == whole.client_events);
    CHECK(t->succeeded);
  }
}

TEST_CASE("webmail client: a refused login ends the session", "[webmail]") {
  FakeBackend backend;
  auto config = client_config({{Operation::Kind::list_inbox, {}, "", ""}});
  config.password = "wrong";
  Transcript t = converse(config, backend, 0);
  CHECK(t.client_events ==
        "response 401 Unauthorized#1; failed login refused: 401 Unauthorized#0; ");
  CHECK(t.client_closed);
  CHECK_FALSE(t.succeeded);
  CHECK_FALSE(t.server_closed);  // the server would keep the connection; the client closes it
}

TEST_CASE("webmail client: a failed operation is reported and the script goes on", "[webmail]") {
  ClientSession client(client_config({{Operation::Kind::send, {"rav@cms.com"}, "", ""},
                                      {Operation::Kind::list_inbox, {}, "", ""}}));
  client.take_output();
  client.receive(login_response);
  client.take_output();
  client.receive(json_response(400, "Bad Request", "{\"error\":\"x\"}"));
  CHECK(client.take_output() == get("/api/folders/INBOX/messages"));
  client.receive(json_response(200, "OK", "[]"));
  CHECK(client.take_output().rfind("POST /api/logout HTTP/1.1\r\n", 0) == 0);
  client.receive(json_response(200, "OK", "{\"ok\":true}", "Connection: close\r\n"));
  CHECK(kinds(client.take_events()) ==
        "response 200 OK#1; response 400 Bad Request#2; failed request refused: 400 Bad "
        "Request#0; response 200 OK#3; listed 0 messages, 0 unseen#0; response 200 OK#4; "
        "finished uday@ums.com#0; ");
  CHECK(client.closed());
  CHECK_FALSE(client.succeeded());
}

TEST_CASE("webmail client: a broken response is a failure, not a crash", "[webmail]") {
  ClientSession client(client_config());
  client.take_output();
  client.receive("HTTP/1.1 2OO OK\r\n\r\n");
  CHECK(client.closed());
  CHECK_FALSE(client.succeeded());
  CHECK(kinds(client.take_events()) == "failed bad response: malformed status line#0; ");

  ClientSession list(client_config({{Operation::Kind::list_inbox, {}, "", ""}}));
  list.take_output();
  list.receive(login_response);
  list.take_output();
  list.receive(json_response(200, "OK", "[{\"id\":\"x\"}]"));  // wrong types
  auto events = kinds(list.take_events());
  CHECK(events.find("failed bad JSON in a 200 OK response") != std::string::npos);
  CHECK(list.take_output().rfind("POST /api/logout", 0) == 0);
}

TEST_CASE("webmail server: a shared session table works across connections", "[webmail]") {
  FakeBackend backend;
  SessionTable sessions;
  ServerSession first(server_config(), backend, sessions);
  first.receive(login_request);
  CHECK(first.take_output() == login_response);
  ServerSession second(server_config(), backend, sessions);
  second.receive(get("/api/folders"));
  CHECK(second.take_output().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  // Tokens come from one counter: the next login is s2.
  second.receive(login_request);
  CHECK(second.take_output().find("Set-Cookie: session=s2; Path=/; HttpOnly\r\n") !=
        std::string::npos);
  CHECK(sessions.size() == 2);
}

TEST_CASE("webmail server: a configured Date is sent first", "[webmail]") {
  FakeBackend backend;
  ServerConfig config{"ums.com", "Mon, 01 Jun 2026 12:00:00 GMT"};
  ServerSession server(config, backend);
  server.receive(get("/api/folders"));
  CHECK(server.take_output() ==
        "HTTP/1.1 401 Unauthorized\r\nDate: Mon, 01 Jun 2026 12:00:00 GMT\r\n"
        "Content-Type: application/json\r\nContent-Length: 25\r\n\r\n"
        "{\"error\":\"not logged in\"}");
}

TEST_CASE("webmail: folder names are percent-encoded path segments", "[webmail]") {
  CHECK(encode_segment("INBOX") == "INBOX");
  CHECK(encode_segment("Sent Items/2026") == "Sent%20Items%2F2026");
  CHECK(decode_segment("Sent%20Items%2f2026") == "Sent Items/2026");
  CHECK_FALSE(decode_segment("bad%2"));
  CHECK_FALSE(decode_segment("bad%zz"));
  LoggedIn s;
  CHECK(s.ask(get("/api/folders/%49NBOX/messages")).rfind("HTTP/1.1 200 OK", 0) == 0);
}

TEST_CASE("rfc9110 10.1.1: 100 Continue before the body a client holds back", "[webmail]") {
  const std::string body = "{\"to\":[\"rav@cms.com\"],\"subject\":\"Hi\",\"body\":\"Hello Rav\"}";
  const std::string head =
      "POST /api/send HTTP/1.1\r\nHost: ums.com\r\nCookie: session=s1\r\n"
      "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 56\r\n\r\n";
  const std::string accepted =
      json_response(202, "Accepted", "{\"queued\":\"Q1\",\"message_id\":\"<1@ums.com>\"}");
  LoggedIn s;
  CHECK(s.ask(head) == "HTTP/1.1 100 Continue\r\n\r\n");
  CHECK(s.ask(body.substr(0, 10)) == "");
  CHECK(s.ask(body.substr(10)) == accepted);

  // The body sent at once needs no interim response (rfc9110 10.1.1 lets the server omit it).
  LoggedIn t;
  CHECK(t.ask(head + body) == accepted);
  // A pipelined request is answered before the 100 for the next one.
  LoggedIn u;
  CHECK(u.ask(get("/api/nothing") + head) ==
        json_response(404, "Not Found", "{\"error\":\"not found\"}") +
            "HTTP/1.1 100 Continue\r\n\r\n");
}

namespace {

// A backend that takes cc, bcc, replies and attachments, as webmaild does.
class ComposingBackend : public FakeBackend {
 public:
  using FakeBackend::submit;
  std::optional<std::pair<std::string, std::string>> submit(std::string_view,
                                                            const mailsim::webmail::Submission& s)
      override {
    if (s.reply_to && s.reply_to->second != 1) return std::nullopt;
    full.push_back(s);
    return std::make_pair(std::string("Q9"), std::string("<9@ums.com>"));
  }
  std::vector<mailsim::webmail::Submission> full;
};

const std::string compose_body =
    "{\"to\":[\"rav@cms.com\"],\"subject\":\"Re: Lunch\",\"body\":\"ok\","
    "\"cc\":[\"mira@ums.com\"],\"bcc\":[\"boss@ums.com\"],"
    "\"reply_to\":{\"folder\":\"INBOX\",\"id\":1},"
    "\"attachments\":[{\"name\":\"a.txt\",\"content_type\":\"text/plain\",\"data\":\"SGk=\"}]}";

std::string send_request_with(const std::string& body) {
  return "POST /api/send HTTP/1.1\r\nHost: ums.com\r\nUser-Agent: mailsim-webmail/1\r\n"
         "Cookie: session=s1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("webmail: send with cc, bcc, a reply and an attachment (RFC 5322 3.6.3, 3.6.4)",
          "[webmail][mime]") {
  Operation op{Operation::Kind::send, {"rav@cms.com"}, "Re: Lunch", "ok"};
  op.cc = {"mira@ums.com"};
  op.bcc = {"boss@ums.com"};
  op.reply_to_id = 1;
  op.attachments.push_back({"a.txt", "text/plain", "Hi"});
  ClientSession client(client_config({op}));
  client.take_output();
  client.receive(login_response);
  const std::string request = send_request_with(compose_body);
  CHECK(client.take_output() == request);

  ComposingBackend backend;
  ServerSession server(server_config(), backend);
  server.receive(login_request);
  server.take_output();
  server.receive(request);
  CHECK(server.take_output() ==
        json_response(202, "Accepted", "{\"queued\":\"Q9\",\"message_id\":\"<9@ums.com>\"}"));
  REQUIRE(backend.full.size() == 1);
  const auto& s = backend.full[0];
  CHECK(s.to == std::vector<std::string>{"rav@cms.com"});
  CHECK(s.cc == std::vector<std::string>{"mira@ums.com"});
  CHECK(s.bcc == std::vector<std::string>{"boss@ums.com"});
  CHECK(s.subject == "Re: Lunch");
  CHECK(s.body == "ok");
  CHECK(s.reply_to == std::make_pair(std::string("INBOX"), std::uint32_t{1}));
  REQUIRE(s.attachments.size() == 1);
  CHECK(s.attachments[0].filename == "a.txt");
  CHECK(s.attachments[0].content_type == "text/plain");
  CHECK(s.attachments[0].data == "Hi");
}

TEST_CASE("webmail: an unknown message to reply to, or a backend without extras, gives 404",
          "[webmail][mime]") {
  const std::string not_found = json_response(
      404, "Not Found",
      "{\"error\":\"no such message to reply to, or fields this server does not take\"}");
  ComposingBackend composing;
  ServerSession server(server_config(), composing);
  server.receive(login_request);
  server.take_output();
  std::string body = compose_body;
  body.replace(body.find("\"id\":1"), 6, "\"id\":7");
  server.receive(send_request_with(body));
  CHECK(server.take_output() == not_found);

  LoggedIn plain;  // a Backend that implements only the plain submit()
  CHECK(plain.ask(send_request_with(compose_body)) == not_found);
  CHECK(plain.backend.submitted.empty());
}

TEST_CASE("webmail: 400 for bad cc, reply_to or attachments", "[webmail][mime]") {
  LoggedIn s;
  auto bad = [&s](const std::string& body, const std::string& error) {
    CHECK(s.ask(send_request_with(body)) ==
          json_response(400, "Bad Request", "{\"error\":\"" + error + "\"}"));
  };
  bad("{\"to\":[\"a@b.c\"],\"cc\":[]}", "cc must be a non-empty list of addresses");
  bad("{\"to\":[\"a@b.c\"],\"reply_to\":3}",
      "reply_to must be {\\\"folder\\\": name, \\\"id\\\": number}");
  bad("{\"to\":[\"a@b.c\"],\"attachments\":[{\"name\":\"x\",\"content_type\":\"a/b\","
      "\"data\":\"S\"}]}",
      "an attachment needs a name, a content_type and base64 data");
  CHECK(s.backend.submitted.empty());
}

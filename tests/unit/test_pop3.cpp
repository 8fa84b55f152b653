#include <catch2/catch.hpp>

#include <memory>

#include "models/pop3.hpp"

namespace pop3 = mailsim::pop3;
using mailsim::store::MailStore;

namespace {

// 93 octets; its body has a line that starts with "." (byte-stuffed on the wire).
const std::string kMessage =
    "From: rav@cms.com\r\n"
    "Subject: hi\r\n"
    "Message-ID: <m1@cms.com>\r\n"
    "\r\n"
    "first line\r\n"
    ".second line\r\n"
    "third\r\n";

std::unique_ptr<MailStore> make_store(int messages = 1) {
  auto store = std::make_unique<MailStore>("ums.com");
  store->add_account("uday@ums.com", "secret");
  for (int i = 0; i < messages; ++i) store->deliver("uday@ums.com", kMessage, 100 + i);
  return store;
}

std::string kind_name(pop3::ServerEvent::Kind kind) {
  using K = pop3::ServerEvent::Kind;
  switch (kind) {
    case K::command_received:
      return "command_received";
    case K::logged_in:
      return "logged_in";
    case K::login_failed:
      return "login_failed";
    case K::message_retrieved:
      return "message_retrieved";
    case K::message_deleted:
      return "message_deleted";
    case K::update_committed:
      return "update_committed";
    case K::protocol_error:
      return "protocol_error";
    case K::starttls:
      return "starttls";
    case K::quit:
      return "quit";
  }
  return "?";
}

std::vector<std::string> describe(const std::vector<pop3::ServerEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    out.push_back(kind_name(e.kind) + " " + e.detail + " " + std::to_string(e.uid) + " " +
                  e.message_id);
  return out;
}

// Feeds a transcript of client lines to a fresh server and returns everything it said.
std::string serve(MailStore& store, const std::string& input) {
  pop3::ServerSession server({"mail.ums.com"}, store);
  server.receive(input);
  return server.take_output();
}

// Runs a client against a server in memory until both are quiet; returns the transcript.
std::string converse(pop3::ClientSession& client, pop3::ServerSession& server) {
  std::string transcript;
  for (int round = 0; round < 100; ++round) {
    std::string s = server.take_output();
    std::string c;
    if (!s.empty()) {
      transcript += "S: " + s;
      client.receive(s);
    }
    c = client.take_output();
    if (!c.empty()) {
      transcript += "C: " + c;
      server.receive(c);
    }
    if (s.empty() && c.empty()) break;
  }
  return transcript;
}

pop3::ClientConfig client_config(std::string user, std::string password, pop3::Mode mode,
                                 std::set<std::string> known = {}) {
  pop3::ClientConfig config;
  config.user = std::move(user);
  config.password = std::move(password);
  config.mode = mode;
  config.known_uidls = std::move(known);
  return config;
}

const std::string kGreeting = "+OK mail.ums.com POP3 server ready\r\n";
const std::string kLogin = "USER uday@ums.com\r\nPASS secret\r\n";
const std::string kLoginReplies =
    "+OK uday@ums.com is a valid mailbox\r\n+OK maildrop has 1 message (93 octets)\r\n";

}  // namespace

TEST_CASE("POP3 server greets at once in AUTHORIZATION (RFC 1939 section 4)", "[pop3]") {
  auto store = make_store();
  REQUIRE(kMessage.size() == 93);
  pop3::ServerSession server({"mail.ums.com"}, *store);
  CHECK(server.take_output() == kGreeting);
  CHECK(server.take_output().empty());
  CHECK(server.state_name() == "authorization");
  CHECK_FALSE(server.closed());
}

TEST_CASE("POP3 server: exact replies of a TRANSACTION dialog (RFC 1939 sections 5, 7)", "[pop3]") {
  auto store = make_store(2);
  std::string out = serve(*store, kLogin +
                                      "STAT\r\nLIST\r\nLIST 2\r\nLIST 3\r\nUIDL\r\nUIDL 1\r\n"
                                      "DELE 1\r\nDELE 1\r\nRETR 1\r\nSTAT\r\nRSET\r\nNOOP\r\n"
                                      "TOP 2 1\r\nTOP 2\r\nRETR x\r\nFOO\r\n");
  CHECK(out == kGreeting +
                   "+OK uday@ums.com is a valid mailbox\r\n"
                   "+OK maildrop has 2 messages (186 octets)\r\n"
                   "+OK 2 186\r\n"
                   "+OK 2 messages (186 octets)\r\n1 93\r\n2 93\r\n.\r\n"
                   "+OK 2 93\r\n"
                   "-ERR no such message, only 2 messages in maildrop\r\n"
                   "+OK unique-id listing follows\r\n1 1.1\r\n2 1.2\r\n.\r\n"
                   "+OK 1 1.1\r\n"
                   "+OK message 1 deleted\r\n"
                   "-ERR message 1 already deleted\r\n"
                   "-ERR message 1 already deleted\r\n"
                   "+OK 1 93\r\n"
                   "+OK maildrop has 2 messages (186 octets)\r\n"
                   "+OK\r\n"
                   "+OK top of message follows\r\n"
                   "From: rav@cms.com\r\nSubject: hi\r\nMessage-ID: <m1@cms.com>\r\n\r\n"
                   "first line\r\n.\r\n"
                   "-ERR usage: TOP msg n\r\n"
                   "-ERR message number required\r\n"
                   "-ERR unknown command\r\n");
}

TEST_CASE("POP3 server: RETR byte-stuffs a line starting with '.' (RFC 1939 section 3)", "[pop3]") {
  auto store = make_store();
  std::string out = serve(*store, kLogin + "RETR 1\r\n");
  CHECK(out == kGreeting + kLoginReplies +
                   "+OK 93 octets\r\n"
                   "From: rav@cms.com\r\nSubject: hi\r\nMessage-ID: <m1@cms.com>\r\n\r\n"
                   "first line\r\n..second line\r\nthird\r\n.\r\n");
}

TEST_CASE("POP3 append_stuffed: stuffing only after CRLF, CRLF added before the terminator",
          "[pop3]") {
  std::string out;
  pop3::append_stuffed(out, ".a\r\nb\n.c\r\n.");
  CHECK(out == "..a\r\nb\n.c\r\n..\r\n.\r\n");
  out.clear();
  pop3::append_stuffed(out, "");
  CHECK(out == ".\r\n");
}

TEST_CASE("POP3 server: -ERR for commands out of state (RFC 1939 section 3)", "[pop3]") {
  auto store = make_store();
  pop3::ServerSession server({"mail.ums.com"}, *store);
  server.take_output();
  server.receive("STAT\r\nRETR 1\r\nPASS secret\r\nAPOP uday x\r\nXYZZY\r\n\r\n");
  CHECK(server.take_output() ==
        "-ERR command not valid in AUTHORIZATION state\r\n"
        "-ERR command not valid in AUTHORIZATION state\r\n"
        "-ERR PASS must follow a successful USER\r\n"
        "-ERR APOP not supported\r\n"
        "-ERR unknown command\r\n"
        "-ERR empty command\r\n");
  CHECK(server.state_name() == "authorization");

  server.receive(kLogin + "USER uday\r\nPASS secret\r\n");
  CHECK(server.take_output() == kLoginReplies +
                                    "-ERR command not valid in TRANSACTION state\r\n"
                                    "-ERR command not valid in TRANSACTION state\r\n");
  CHECK(server.state_name() == "transaction");
  auto events = describe(server.take_events());
  CHECK(std::count(events.begin(), events.end(), "protocol_error STAT in AUTHORIZATION state 0 ") ==
        1);
  CHECK(std::find(events.begin(), events.end(), "command_received PASS **** 0 ") != events.end());
}

TEST_CASE("POP3 server: bad logins (RFC 1939 section 7, USER and PASS)", "[pop3]") {
  auto store = make_store();
  pop3::ServerSession server({"mail.ums.com"}, *store);
  server.take_output();
  server.receive(
      "USER\r\nUSER rav\r\nUSER uday\r\nPASS wrong\r\nPASS secret\r\nUSER uday\r\n"
      "PASS secret with spaces\r\n");
  CHECK(server.take_output() ==
        "-ERR USER needs a mailbox name\r\n"
        "-ERR never heard of mailbox rav\r\n"
        "+OK uday is a valid mailbox\r\n"
        "-ERR invalid password\r\n"
        "-ERR PASS must follow a successful USER\r\n"
        "+OK uday is a valid mailbox\r\n"
        "-ERR invalid password\r\n");
  auto events = describe(server.take_events());
  CHECK(std::count(events.begin(), events.end(), "login_failed unknown user rav 0 ") == 1);
  CHECK(std::count(events.begin(), events.end(), "login_failed wrong password for uday 0 ") == 2);
}

TEST_CASE("POP3 server: DELE then QUIT removes in UPDATE (RFC 1939 section 6)", "[pop3]") {
  auto store = make_store(2);
  pop3::ServerSession server({"mail.ums.com"}, *store);
  server.receive(kLogin + "DELE 2\r\nQUIT\r\nNOOP\r\n");
  CHECK(server.take_output() ==
        kGreeting +
            "+OK uday@ums.com is a valid mailbox\r\n"
            "+OK maildrop has 2 messages (186 octets)\r\n"
            "+OK message 2 deleted\r\n"
            "+OK mail.ums.com POP3 server signing off (1 message left)\r\n");
  CHECK(server.closed());
  CHECK(server.state_name() == "update");
  const auto& inbox = store->find_account("uday")->inbox();
  REQUIRE(inbox.messages().size() == 1);
  CHECK(inbox.messages()[0].uid == 1);

  auto events = describe(server.take_events());
  CHECK(events == std::vector<std::string>{
                      "command_received USER uday@ums.com 0 ", "command_received PASS **** 0 ",
                      "logged_in uday@ums.com 0 ", "command_received DELE 2 0 ",
                      "message_deleted DELE 2 2 <m1@cms.com>", "command_received QUIT 0 ",
                      "update_committed 1 removed 0 ", "quit  0 "});
}

TEST_CASE("POP3 server: a connection dropped without QUIT deletes nothing (RFC 1939 6)", "[pop3]") {
  auto store = make_store();
  {
    pop3::ServerSession server({"mail.ums.com"}, *store);
    server.receive(kLogin + "RETR 1\r\nDELE 1\r\n");
    CHECK_FALSE(server.closed());
  }  // the connection drops here
  CHECK(store->find_account("uday")->inbox().messages().size() == 1);

  // QUIT from AUTHORIZATION does not enter UPDATE either.
  pop3::ServerSession server({"mail.ums.com"}, *store);
  server.take_output();
  server.receive("QUIT\r\n");
  CHECK(server.take_output() == "+OK mail.ums.com POP3 server signing off\r\n");
  CHECK(server.closed());
  CHECK(server.state_name() == "authorization");
}

// rfc2595.txt 4: STLS takes no argument, is listed by CAPA while usable, answers "+OK Begin
// TLS negotiation"; commands sent behind it in the clear are not run; after the handshake the
// client starts AUTHORIZATION again and STLS is refused ("-ERR Command not permitted when TLS
// active", the RFC's example).
TEST_CASE("POP3 server: STLS (rfc2595 4)", "[pop3]") {
  auto store = make_store();
  pop3::ServerConfig config{"mail.ums.com"};
  config.tls_available = true;
  pop3::ServerSession server(config, *store);
  server.take_output();
  server.receive("CAPA\r\nSTLS x\r\nUSER uday@ums.com\r\nSTLS\r\nPASS secret\r\nSTAT\r\n");
  CHECK(server.take_output() ==
        "+OK Capability list follows\r\nTOP\r\nUSER\r\nSTLS\r\nPIPELINING\r\nUIDL\r\n"
        "IMPLEMENTATION mailsim\r\n.\r\n"
        "-ERR STLS takes no argument\r\n"
        "+OK uday@ums.com is a valid mailbox\r\n"
        "+OK Begin TLS negotiation\r\n");
  CHECK(describe(server.take_events()).back() == "starttls  0 ");
  CHECK(server.state_name() == "authorization");
  server.tls_established();
  CHECK(server.tls_active());
  CHECK(describe(server.take_events()) ==
        std::vector<std::string>{
            "protocol_error 19 octets sent in the clear after STLS were discarded 0 "});
  // The USER before STLS is forgotten: PASS needs a USER given inside TLS.
  server.receive("PASS secret\r\nCAPA\r\nSTLS\r\n" + kLogin + "STAT\r\n");
  CHECK(server.take_output() ==
        "-ERR PASS must follow a successful USER\r\n"
        "+OK Capability list follows\r\nTOP\r\nUSER\r\nPIPELINING\r\nUIDL\r\n"
        "IMPLEMENTATION mailsim\r\n.\r\n"
        "-ERR Command not permitted when TLS active\r\n" +
            kLoginReplies + "+OK 1 93\r\n");
}

// rfc2595.txt 4: STLS only in AUTHORIZATION; unknown where the driver has no TLS, and refused
// on an implicit-TLS port (rfc8314.txt 3.3), which CAPA does not list it on.
TEST_CASE("POP3 server: STLS out of place (rfc2595 4)", "[pop3]") {
  auto store = make_store();
  CHECK(serve(*store, "STLS\r\n") == kGreeting + "-ERR unknown command\r\n");
  pop3::ServerConfig config{"mail.ums.com"};
  config.tls_available = true;
  pop3::ServerSession in_transaction(config, *store);
  in_transaction.receive(kLogin + "STLS\r\n");
  CHECK(in_transaction.take_output() ==
        kGreeting + kLoginReplies + "-ERR command not valid in TRANSACTION state\r\n");
  config.implicit_tls = true;
  pop3::ServerSession implicit(config, *store);
  implicit.receive("CAPA\r\nSTLS\r\n");
  CHECK(implicit.take_output() ==
        kGreeting +
            "+OK Capability list follows\r\nTOP\r\nUSER\r\nPIPELINING\r\nUIDL\r\n"
            "IMPLEMENTATION mailsim\r\n.\r\n"
            "-ERR Command not permitted when TLS active\r\n");
}

TEST_CASE("POP3 server: CAPA in both states (RFC 2449 section 5)", "[pop3]") {
  auto store = make_store();
  std::string out = serve(*store, "CAPA\r\n" + kLogin + "CAPA\r\nCAPA x\r\n");
  CHECK(out == kGreeting +
                   "+OK Capability list follows\r\nTOP\r\nUSER\r\nPIPELINING\r\nUIDL\r\n"
                   "IMPLEMENTATION mailsim\r\n.\r\n" +
                   kLoginReplies +
                   "+OK Capability list follows\r\nTOP\r\nPIPELINING\r\nUIDL\r\n"
                   "IMPLEMENTATION mailsim\r\n.\r\n"
                   "-ERR CAPA takes no argument\r\n");
}

TEST_CASE("POP3 server: only CRLF ends a command; long lines refused (RFC 2449 section 4)",
          "[pop3]") {
  auto store = make_store();
  pop3::ServerSession server({"mail.ums.com"}, *store);
  server.take_output();
  server.receive("NOOP\nNOOP\rx\r\n");
  CHECK(server.take_output() == "-ERR unknown command\r\n");  // one line: "NOOP\nNOOP\rx"

  server.receive(std::string(253, 'A') + "\r\n");  // 255 octets with CRLF: allowed
  CHECK(server.take_output() == "-ERR unknown command\r\n");
  server.receive(std::string(254, 'A') + "\r\n" + std::string(100000, 'B'));
  CHECK(server.take_output() == "-ERR command line too long\r\n");
  server.receive("\r\nUSER uday\r\n");  // the rest of the long line, then a good command
  CHECK(server.take_output() == "-ERR command line too long\r\n+OK uday is a valid mailbox\r\n");
}

TEST_CASE("POP3 server: output and events do not depend on input chunking", "[pop3]") {
  std::string transcript = kLogin +
                           "STAT\r\nLIST\r\nUIDL 1\r\nRETR 1\r\nTOP 1 0\r\nDELE 1\r\n"
                           "RSET\r\nNOOP\n\r\nBAD\rCMD\r\nDELE 1\r\nQUIT\r\n";
  auto run = [&](std::size_t chunk) {
    auto store = make_store();
    pop3::ServerSession server({"mail.ums.com"}, *store);
    if (chunk == 0) {  // line by line
      std::size_t start = 0;
      while (start < transcript.size()) {
        std::size_t end = transcript.find("\r\n", start);
        end = end == std::string::npos ? transcript.size() : end + 2;
        server.receive(std::string_view(transcript).substr(start, end - start));
        start = end;
      }
    } else {
      for (std::size_t i = 0; i < transcript.size(); i += chunk)
        server.receive(std::string_view(transcript).substr(i, chunk));
    }
    return std::make_pair(server.take_output(), describe(server.take_events()));
  };
  auto whole = run(transcript.size());
  CHECK(whole.first.find("-ERR unknown command\r\n-ERR unknown command\r\n") != std::string::npos);
  CHECK(run(0) == whole);
  CHECK(run(1) == whole);
  CHECK(run(7) == whole);
}

TEST_CASE("POP3 client and server, keep on server: dialog and store afterwards", "[pop3]") {
  auto store = make_store();
  pop3::ServerSession server({"mail.ums.com"}, *store);
  pop3::ClientSession client(client_config("uday@ums.com", "secret", pop3::Mode::keep_on_server));
  std::string transcript = converse(client, server);

  CHECK(transcript == "S: " + kGreeting + "C: USER uday@ums.com\r\n" +
                          "S: +OK uday@ums.com is a valid mailbox\r\n"
                          "C: PASS secret\r\n"
                          "S: +OK maildrop has 1 message (93 octets)\r\n"
                          "C: STAT\r\n"
                          "S: +OK 1 93\r\n"
                          "C: LIST\r\n"
                          "S: +OK 1 message (93 octets)\r\n1 93\r\n.\r\n"
                          "C: UIDL\r\n"
                          "S: +OK unique-id listing follows\r\n1 1.1\r\n.\r\n"
                          "C: RETR 1\r\n"
                          "S: +OK 93 octets\r\n"
                          "From: rav@cms.com\r\nSubject: hi\r\nMessage-ID: <m1@cms.com>\r\n\r\n"
                          "first line\r\n..second line\r\nthird\r\n.\r\n"
                          "C: QUIT\r\n"
                          "S: +OK mail.ums.com POP3 server signing off (1 message left)\r\n");
  CHECK(client.closed());
  CHECK(server.closed());
  CHECK(client.succeeded());
  REQUIRE(client.retrieved().size() == 1);
  CHECK(client.retrieved()[0].text == kMessage);  // unstuffed again
  CHECK(client.retrieved()[0].uidl == "1.1");
  CHECK(client.retrieved()[0].octets == 93);
  CHECK(store->find_account("uday")->inbox().messages().size() == 1);

  auto events = client.take_events();
  REQUIRE(events.size() == 10);  // 8 responses, 1 message, finished
  CHECK(events[7].kind == pop3::ClientEvent::Kind::message_retrieved);
  CHECK(events[7].message.text == kMessage);
  CHECK(events.back().kind == pop3::ClientEvent::Kind::finished);
}

TEST_CASE("POP3 client and server, delete after download: store empty after QUIT", "[pop3]") {
  auto store = make_store();
  pop3::ServerSession server({"mail.ums.com"}, *store);
  pop3::ClientSession client(client_config("uday", "secret", pop3::Mode::delete_after_download));
  std::string transcript = converse(client, server);

  CHECK(transcript.find("C: UIDL") == std::string::npos);
  CHECK(transcript.find("C: RETR 1\r\n") != std::string::npos);
  CHECK(transcript.find("C: DELE 1\r\nS: +OK message 1 deleted\r\nC: QUIT\r\n"
                        "S: +OK mail.ums.com POP3 server signing off (maildrop empty)\r\n") !=
        std::string::npos);
  CHECK(client.succeeded());
  CHECK(client.retrieved().size() == 1);
  CHECK(store->find_account("uday")->inbox().messages().empty());
}

TEST_CASE("POP3 client, delete mode: a drop before QUIT leaves the message (RFC 1939 6)",
          "[pop3]") {
  auto store = make_store();
  pop3::ClientSession client(client_config("uday", "secret", pop3::Mode::delete_after_download));
  {
    pop3::ServerSession server({"mail.ums.com"}, *store);
    // Deliver everything until the client has sent DELE, then drop the connection.
    for (int round = 0; round < 20; ++round) {
      client.receive(server.take_output());
      std::string c = client.take_output();
      server.receive(c);
      if (c.rfind("DELE", 0) == 0) break;
    }
    CHECK(server.take_output() == "+OK message 1 deleted\r\n");
  }
  CHECK_FALSE(client.succeeded());
  CHECK(store->find_account("uday")->inbox().messages().size() == 1);
}

TEST_CASE("POP3 client, keep mode: known UIDLs skipped, old ones expire after N days", "[pop3]") {
  auto store = make_store(3);
  pop3::ClientConfig config =
      client_config("uday", "secret", pop3::Mode::keep_on_server, {"1.1", "1.2"});
  config.keep_days = 7;
  config.downloaded_at = {{"1.1", 0.0}, {"1.2", 6 * 86400.0}};
  config.now = 7 * 86400.0;
  pop3::ServerSession server({"mail.ums.com"}, *store);
  pop3::ClientSession client(config);
  std::string transcript = converse(client, server);

  CHECK(transcript.find("C: RETR 1\r\n") == std::string::npos);
  CHECK(transcript.find("C: RETR 2\r\n") == std::string::npos);
  CHECK(transcript.find("C: RETR 3\r\n") != std::string::npos);
  CHECK(transcript.find("C: DELE 1\r\nS: +OK message 1 deleted\r\nC: QUIT\r\n") !=
        std::string::npos);
  CHECK(client.succeeded());
  REQUIRE(client.retrieved().size() == 1);
  CHECK(client.retrieved()[0].uidl == "1.3");
  CHECK(client.deleted_uidls() == std::vector<std::string>{"1.1"});

  std::vector<std::uint32_t> uids;
  for (const auto& m : store->find_account("uday")->inbox().messages()) uids.push_back(m.uid);
  CHECK(uids == std::vector<std::uint32_t>{2, 3});
}

TEST_CASE("POP3 client: wrong password fails but still says QUIT", "[pop3]") {
  auto store = make_store();
  pop3::ServerSession server({"mail.ums.com"}, *store);
  pop3::ClientSession client(client_config("uday", "nope", pop3::Mode::keep_on_server));
  std::string transcript = converse(client, server);
  CHECK(transcript.find("S: -ERR invalid password\r\nC: QUIT\r\n"
                        "S: +OK mail.ums.com POP3 server signing off\r\n") != std::string::npos);
  CHECK(client.closed());
  CHECK_FALSE(client.succeeded());
  auto events = client.take_events();
  REQUIRE(std::count_if(events.begin(), events.end(), [](const pop3::ClientEvent& e) {
            return e.kind == pop3::ClientEvent::Kind::failed;
          }) == 1);
}

TEST_CASE("POP3 client: an empty maildrop goes from STAT to QUIT", "[pop3]") {
  auto store = make_store(0);
  pop3::ServerSession server({"mail.ums.com"}, *store);
  pop3::ClientSession client(client_config("uday", "secret", pop3::Mode::keep_on_server));
  std::string transcript = converse(client, server);
  CHECK(transcript.find("C: STAT\r\nS: +OK 0 0\r\nC: QUIT\r\n") != std::string::npos);
  CHECK(client.succeeded());
  CHECK(client.retrieved().empty());
}

TEST_CASE("POP3 client: responses parsed the same byte by byte", "[pop3]") {
  auto store = make_store(2);
  pop3::ServerSession server({"mail.ums.com"}, *store);
  pop3::ClientSession whole(client_config("uday", "secret", pop3::Mode::keep_on_server));
  converse(whole, server);

  auto store2 = make_store(2);
  pop3::ServerSession server2({"mail.ums.com"}, *store2);
  pop3::ClientSession bytewise(client_config("uday", "secret", pop3::Mode::keep_on_server));
  for (int round = 0; round < 100; ++round) {
    std::string s = server2.take_output();
    for (char ch : s) bytewise.receive(std::string_view(&ch, 1));
    std::string c = bytewise.take_output();
    server2.receive(c);
    if (s.empty() && c.empty()) break;
  }
  CHECK(bytewise.succeeded());
  REQUIRE(bytewise.retrieved().size() == 2);
  CHECK(bytewise.retrieved()[1].text == whole.retrieved()[1].text);
  CHECK(bytewise.retrieved()[1].uidl == "1.2");
}

TEST_CASE("POP3 server: RSET unmarks, so QUIT removes nothing (RFC 1939 section 5)", "[pop3]") {
  auto store = make_store(2);
  std::string out = serve(*store, kLogin + "DELE 1\r\nDELE 2\r\nSTAT\r\nRSET\r\nQUIT\r\n");
  CHECK(out.find("+OK 0 0\r\n+OK maildrop has 2 messages (186 octets)\r\n"
                 "+OK mail.ums.com POP3 server signing off (2 messages left)\r\n") !=
        std::string::npos);
  CHECK(store->find_account("uday")->inbox().messages().size() == 2);
}

TEST_CASE("POP3 server: the snapshot at login fixes message numbers (RFC 1939 section 4)",
          "[pop3]") {
  auto store = make_store(1);
  pop3::ServerSession server({"mail.ums.com"}, *store);
  server.receive(kLogin);
  server.take_output();
  store->deliver("uday@ums.com", kMessage, 500);  // arrives during the session
  server.receive("STAT\r\nLIST 2\r\nQUIT\r\n");
  CHECK(server.take_output() ==
        "+OK 1 93\r\n-ERR no such message, only 1 message in maildrop\r\n"
        "+OK mail.ums.com POP3 server signing off (2 messages left)\r\n");
}

TEST_CASE("POP3 server: exact replies at the edges of TRANSACTION (RFC 1939 sections 5, 7)",
          "[pop3]") {
  auto store = make_store(2);
  std::string out = serve(*store, kLogin +
                                      "TOP 1 0\r\nDELE 2\r\nLIST 2\r\nUIDL 2\r\nTOP 2 1\r\n"
                                      "DELE 0\r\nDELE 3\r\nLIST\r\nUIDL\r\nSTAT x\r\nNOOP x\r\n"
                                      "RSET x\r\nTOP 1 -1\r\nLIST 1 2\r\n");
  CHECK(out == kGreeting +
                   "+OK uday@ums.com is a valid mailbox\r\n"
                   "+OK maildrop has 2 messages (186 octets)\r\n"
                   // rfc1939.txt 7 TOP: the header, the blank line, then n body lines.
                   "+OK top of message follows\r\n"
                   "From: rav@cms.com\r\nSubject: hi\r\nMessage-ID: <m1@cms.com>\r\n\r\n.\r\n"
                   "+OK message 2 deleted\r\n"
                   // rfc1939.txt 5: a message marked as deleted may not be referred to.
                   "-ERR message 2 already deleted\r\n"
                   "-ERR message 2 already deleted\r\n"
                   "-ERR message 2 already deleted\r\n"
                   "-ERR no such message, only 2 messages in maildrop\r\n"
                   "-ERR no such message, only 2 messages in maildrop\r\n"
                   // rfc1939.txt 5 LIST and 7 UIDL: deleted messages are not listed.
                   "+OK 1 message (93 octets)\r\n1 93\r\n.\r\n"
                   "+OK unique-id listing follows\r\n1 1.1\r\n.\r\n"
                   "-ERR STAT takes no argument\r\n"
                   "-ERR NOOP takes no argument\r\n"
                   "-ERR RSET takes no argument\r\n"
                   "-ERR usage: TOP msg n\r\n"
                   "-ERR message number required\r\n");
}

TEST_CASE("POP3 server: every TRANSACTION command gets -ERR in AUTHORIZATION (RFC 1939 4)",
          "[pop3]") {
  auto store = make_store();
  std::string out =
      serve(*store,
            "LIST\r\nUIDL\r\nTOP 1 1\r\nDELE 1\r\nNOOP\r\nRSET\r\nstat\r\nUSER uday\r\nRETR 1\r\n");
  std::string refused;
  for (int i = 0; i < 7; ++i) refused += "-ERR command not valid in AUTHORIZATION state\r\n";
  CHECK(out == kGreeting + refused + "+OK uday is a valid mailbox\r\n" +
                   "-ERR command not valid in AUTHORIZATION state\r\n");
}

TEST_CASE("POP3 server: an empty maildrop gives empty multi-line listings (RFC 1939 5)", "[pop3]") {
  auto store = make_store(0);
  CHECK(serve(*store, kLogin + "STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nQUIT\r\n") ==
        kGreeting +
            "+OK uday@ums.com is a valid mailbox\r\n"
            "+OK maildrop has 0 messages (0 octets)\r\n"
            "+OK 0 0\r\n"
            "+OK 0 messages (0 octets)\r\n.\r\n"
            "+OK unique-id listing follows\r\n.\r\n"
            "-ERR no such message, only 0 messages in maildrop\r\n"
            "+OK mail.ums.com POP3 server signing off (maildrop empty)\r\n");
}

TEST_CASE("POP3 server: DELE is invisible to other sessions until UPDATE (RFC 1939 6)", "[pop3]") {
  auto store = make_store(1);
  pop3::ServerSession a({"mail.ums.com"}, *store), b({"mail.ums.com"}, *store);
  a.receive(kLogin + "DELE 1\r\n");
  CHECK(a.take_output() == kGreeting + kLoginReplies + "+OK message 1 deleted\r\n");
  b.receive(kLogin);
  CHECK(b.take_output() == kGreeting + kLoginReplies);  // still there: not yet UPDATE

  a.receive("QUIT\r\n");
  CHECK(a.take_output() == "+OK mail.ums.com POP3 server signing off (maildrop empty)\r\n");
  CHECK(store->find_account("uday")->inbox().messages().empty());
  // b's numbering stays as at its login; the message itself is gone.
  b.receive("LIST\r\nRETR 1\r\n");
  CHECK(b.take_output() ==
        "+OK 1 message (93 octets)\r\n1 93\r\n.\r\n"
        "-ERR message was removed from the maildrop\r\n");
}

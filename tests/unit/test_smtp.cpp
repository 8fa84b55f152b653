// Unit tests of models/smtp: the server and client engines, alone and wired to each other.
#include "models/smtp.hpp"

#include "models/message.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

using namespace mailsim;
using namespace mailsim::smtp;

namespace {

// A backend for ums.com: two local users, one password, relaying only when authenticated.
class FakeBackend : public ServerBackend {
 public:
  bool authenticate(std::string_view user, std::string_view password) override {
    return user == "rav" && password == "secret";
  }
  RcptVerdict check_recipient(std::string_view address, bool authenticated) override {
    const std::string a(address);
    const auto at = a.rfind('@');
    if (a.substr(at + 1) == "ums.com")
      return local_users.count(a.substr(0, at)) ? RcptVerdict::accept : RcptVerdict::unknown_user;
    return authenticated ? RcptVerdict::accept : RcptVerdict::relay_denied;
  }
  std::string accept_message(const Envelope& envelope) override {
    accepted.push_back(envelope);
    return "Q" + std::to_string(accepted.size());
  }

  std::set<std::string> local_users = {"bob", "carol"};
  std::vector<Envelope> accepted;
};

ServerConfig relay_config() {
  ServerConfig c;
  c.hostname = "mail.ums.com";
  return c;
}

ServerConfig submission_config() {
  ServerConfig c = relay_config();
  c.service = Service::submission;
  return c;
}

// Sends one flight to the server and returns its whole answer.
std::string say(ServerSession& server, std::string_view bytes) {
  server.receive(bytes);
  return server.take_output();
}

const std::string ehlo_reply =
    "250-mail.ums.com\r\n"
    "250-PIPELINING\r\n"
    "250-SIZE 10485760\r\n"
    "250-AUTH PLAIN LOGIN\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250 8BITMIME\r\n";

std::string plain_credentials(std::string_view user, std::string_view password) {
  return msg::base64_encode(std::string(1, '\0') + std::string(user) + '\0' +
                            std::string(password));
}

// A client and a server talking in memory, each flight recorded as it goes.
struct Wire {
  std::string client_bytes;          // everything the client wrote
  std::string server_bytes;          // everything the server wrote
  std::vector<std::string> flights;  // "C: ..." / "S: ..." one entry per write
};

Wire run(ClientSession& client, ServerSession& server) {
  Wire wire;
  for (int round = 0; round < 100 && !(client.closed() && server.closed()); ++round) {
    std::string s = server.take_output();
    if (!s.empty()) {
      wire.server_bytes += s;
      wire.flights.push_back("S: " + s);
      client.receive(s);
    }
    std::string c = client.take_output();
    if (!c.empty()) {
      wire.client_bytes += c;
      wire.flights.push_back("C: " + c);
      server.receive(c);
    }
    // RFC 3207: both sides said STARTTLS/220; the "handshake" happens here, in no bytes.
    const bool handshake =
        client.state() == ClientState::starting_tls && server.state() == ServerState::starting_tls;
    if (handshake) {
      wire.flights.push_back("TLS handshake");
      server.tls_established();
      client.tls_established();
    }
    if (s.empty() && c.empty() && !handshake) break;
  }
  return wire;
}

Envelope rav_to_bob(std::string message) {
  Envelope e;
  e.mail_from = "rav@cms.com";
  e.recipients = {"bob@ums.com"};
  e.message = std::move(message);
  return e;
}

const std::string small_message =
    "From: Rav <rav@cms.com>\r\n"
    "To: bob@ums.com\r\n"
    "Subject: dots\r\n"
    "\r\n"
    ".hidden\r\n"
    "bye\r\n";

// Server output and events, for comparing runs over the same input.
struct ServerRun {
  std::string output;
  std::vector<std::pair<ServerEvent::Kind, std::string>> events;
  std::vector<std::string> messages;
  bool operator==(const ServerRun& o) const {
    return output == o.output && events == o.events && messages == o.messages;
  }
};

ServerRun feed_server(ServerConfig config, const std::string& input, std::size_t chunk) {
  FakeBackend backend;
  ServerSession server(std::move(config), backend);
  ServerRun run;
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    server.receive(std::string_view(input).substr(i, chunk));
    run.output += server.take_output();
    for (auto& e : server.take_events()) run.events.emplace_back(e.kind, e.detail);
  }
  run.output = server.take_output().insert(0, run.output);
  for (auto& e : backend.accepted) run.messages.push_back(e.message);
  return run;
}

// Feeds `input` line by line (each piece ends just after a CRLF).
ServerRun feed_server_by_lines(ServerConfig config, const std::string& input) {
  FakeBackend backend;
  ServerSession server(std::move(config), backend);
  ServerRun run;
  std::size_t start = 0;
  while (start < input.size()) {
    std::size_t end = input.find("\r\n", start);
    end = end == std::string::npos ? input.size() : end + 2;
    server.receive(std::string_view(input).substr(start, end - start));
    start = end;
  }
  run.output = server.take_output();
  for (auto& e : server.take_events()) run.events.emplace_back(e.kind, e.detail);
  for (auto& e : backend.accepted) run.messages.push_back(e.message);
  return run;
}

}  // namespace

TEST_CASE("RFC 5321 4.2 reply lines: multi-line replies use a hyphen until the last", "[smtp]") {
  CHECK(Reply{250, {"a", "b", "c"}}.to_bytes() == "250-a\r\n250-b\r\n250 c\r\n");
  CHECK(Reply{334, {""}}.to_bytes() == "334 \r\n");
  CHECK(Reply{221, {}}.to_bytes() == "221 \r\n");
}

TEST_CASE("RFC 5321 3.1 the server greets with 220 at once", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  CHECK(server.take_output() == "220 mail.ums.com ESMTP mailsim\r\n");
  CHECK(server.state_name() == "waiting_for_helo");
  CHECK_FALSE(server.closed());
}

TEST_CASE("RFC 5321 4.1.1.1 EHLO lists the extensions honoured, HELO none", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  CHECK(say(server, "EHLO rav-laptop.cms.com\r\n") == ehlo_reply);
  CHECK(server.state_name() == "waiting_for_mail");
  CHECK(say(server, "HELO rav-laptop.cms.com\r\n") == "250 mail.ums.com\r\n");
  CHECK(say(server, "ehlo [192.0.2.7]\r\n") == ehlo_reply);  // verbs are case-insensitive

  // RFC 5321 4.1.2: a bad domain gets 501 and the state does not change.
  FakeBackend backend2;
  ServerSession fresh(relay_config(), backend2);
  fresh.take_output();
  CHECK(say(fresh, "EHLO bad_name\r\n") == "501 Syntax error in parameters or arguments\r\n");
  CHECK(say(fresh, "EHLO\r\n") == "501 Syntax error in parameters or arguments\r\n");
  CHECK(fresh.state_name() == "waiting_for_helo");
}

TEST_CASE("RFC 5321 3.3 a mail transaction, reply by reply", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\n");
  CHECK(say(server, "MAIL FROM:<rav@cms.com>\r\n") == "250 2.1.0 Sender <rav@cms.com> OK\r\n");
  CHECK(server.state_name() == "waiting_for_rcpt");
  CHECK(say(server, "RCPT TO:<bob@ums.com>\r\n") == "250 2.1.5 Recipient <bob@ums.com> OK\r\n");
  CHECK(server.state_name() == "waiting_for_rcpt_or_data");
  CHECK(say(server, "DATA\r\n") == "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
  CHECK(server.state_name() == "in_data");
  CHECK(say(server, "Subject: hi\r\n\r\n..dot\r\n") == "");
  CHECK(say(server, ".\r\n") == "250 2.0.0 Ok: queued as Q1\r\n");
  CHECK(server.state_name() == "waiting_for_mail");
  CHECK(say(server, "QUIT\r\n") ==
        "221 2.0.0 mail.ums.com Service closing transmission channel\r\n");
  CHECK(server.closed());
  CHECK(server.state_name() == "closed");

  REQUIRE(backend.accepted.size() == 1);
  const Envelope& e = backend.accepted[0];
  CHECK(e.mail_from == "rav@cms.com");
  CHECK(e.recipients == std::vector<std::string>{"bob@ums.com"});
  CHECK(e.message == "Subject: hi\r\n\r\n.dot\r\n");  // RFC 5321 4.5.2: one period removed
  CHECK(e.helo == "mx.cms.com");
  CHECK(e.esmtp);
  CHECK(e.authenticated_user.empty());

  bool accepted_event = false;
  for (auto& ev : server.take_events())
    if (ev.kind == ServerEvent::Kind::message_accepted) accepted_event = ev.detail == "Q1";
  CHECK(accepted_event);
}

TEST_CASE("RFC 5321 4.1.1.2 null reverse-path, source routes and sizes", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\n");
  CHECK(say(server, "MAIL FROM:<>\r\n") == "250 2.1.0 Sender <> OK\r\n");
  CHECK(say(server, "RSET\r\n") == "250 2.0.0 OK\r\n");
  CHECK(say(server, "MAIL FROM:<@relay.org:rav@cms.com>\r\n") ==
        "250 2.1.0 Sender <rav@cms.com> OK\r\n");
  CHECK(say(server, "RSET\r\n") == "250 2.0.0 OK\r\n");
  CHECK(say(server, "MAIL FROM: <rav@cms.com> SIZE=1000 BODY=8BITMIME\r\n") ==
        "250 2.1.0 Sender <rav@cms.com> OK\r\n");
  CHECK(say(server, "RSET\r\n") == "250 2.0.0 OK\r\n");
  // RFC 1870 6.1: a declared size over the limit is refused before any data.
  CHECK(say(server, "MAIL FROM:<rav@cms.com> SIZE=10485761\r\n") ==
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  CHECK(say(server, "MAIL FROM:<rav@cms.com> SIZE=99999999999999999999999\r\n") ==
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  CHECK(say(server, "MAIL FROM:<rav@cms.com> SIZE=big\r\n") ==
        "501 5.5.4 Syntax error in parameters or arguments\r\n");
  // RFC 6152 2: BODY is 7BIT or 8BITMIME.
  CHECK(say(server, "MAIL FROM:<rav@cms.com> BODY=BINARYMIME\r\n") ==
        "501 5.5.4 Syntax error in parameters or arguments\r\n");
  // RFC 5321 4.1.1.11: an unknown parameter gets 555.
  CHECK(say(server, "MAIL FROM:<rav@cms.com> RET=FULL\r\n") ==
        "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented\r\n");
  CHECK(say(server, "MAIL FROM:rav@cms.com\r\n") ==
        "501 5.1.7 Bad sender's mailbox address syntax\r\n");
  CHECK(say(server, "MAIL FROM:<rav@cms..com>\r\n") ==
        "501 5.1.7 Bad sender's mailbox address syntax\r\n");
  CHECK(say(server, "MAIL <rav@cms.com>\r\n") ==
        "501 5.5.4 Syntax error in parameters or arguments\r\n");
  CHECK(say(server, "MAIL FROM:<" + std::string(250, 'a') + "@cms.com>\r\n") ==
        "501 5.1.7 Path too long\r\n");
  CHECK(server.state_name() == "waiting_for_mail");
}

TEST_CASE("RFC 5321 4.1.4 commands out of order get 503, DATA without RCPT 554", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  CHECK(say(server, "MAIL FROM:<rav@cms.com>\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(say(server, "AUTH PLAIN\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
  // NOOP, RSET, VRFY and HELP work before EHLO.
  CHECK(say(server, "NOOP\r\n") == "250 2.0.0 OK\r\n");
  CHECK(say(server, "RSET\r\n") == "250 2.0.0 OK\r\n");
  CHECK(server.state_name() == "waiting_for_helo");
  say(server, "EHLO mx.cms.com\r\n");
  CHECK(say(server, "RCPT TO:<bob@ums.com>\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(say(server, "DATA\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
  say(server, "MAIL FROM:<rav@cms.com>\r\n");
  CHECK(say(server, "MAIL FROM:<rav@cms.com>\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(say(server, "DATA\r\n") == "554 5.5.1 No valid recipients\r\n");
  CHECK(say(server, "RCPT TO:<nobody@ums.com>\r\n") ==
        "550 5.1.1 <nobody@ums.com> Requested action not taken: mailbox unavailable\r\n");
  CHECK(say(server, "DATA\r\n") == "554 5.5.1 No valid recipients\r\n");
  // RFC 4954 4: no AUTH inside a transaction.
  CHECK(say(server, "AUTH PLAIN " + plain_credentials("rav", "secret") + "\r\n") ==
        "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(server.state_name() == "waiting_for_rcpt");
}

TEST_CASE("RFC 5321 4.2.4 unknown commands 500, known but unimplemented 502", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  CHECK(say(server, "HAVE A NICE DAY\r\n") == "500 5.5.1 Syntax error, command unrecognized\r\n");
  CHECK(say(server, "EXPN staff\r\n") == "502 5.5.1 Command not implemented\r\n");
  CHECK(say(server, "\r\n") == "500 5.5.1 Syntax error, command unrecognized\r\n");
  CHECK(say(server, "RSET now\r\n") == "501 5.5.4 Syntax error in parameters or arguments\r\n");
  CHECK(say(server, "NOOP anything\r\n") == "250 2.0.0 OK\r\n");  // 4.1.1.9: ignored
  CHECK(say(server, "VRFY bob\r\n") ==
        "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  CHECK(say(server, "VRFY\r\n") == "501 5.5.4 Syntax error in parameters or arguments\r\n");
  CHECK(say(server, "HELP\r\n") ==
        "214-2.0.0 mailsim SMTP server (RFC 5321)\r\n"
        "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP AUTH\r\n");
}

TEST_CASE("RFC 5321 3.6 recipients: unknown user 550 5.1.1, relaying 550 5.7.1", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\n");
  say(server, "MAIL FROM:<rav@cms.com>\r\n");
  CHECK(say(server, "RCPT TO:<dave@ums.com>\r\n") ==
        "550 5.1.1 <dave@ums.com> Requested action not taken: mailbox unavailable\r\n");
  CHECK(say(server, "RCPT TO:<eve@elsewhere.org>\r\n") ==
        "550 5.7.1 <eve@elsewhere.org> Relaying denied\r\n");
  CHECK(say(server, "RCPT TO:bob@ums.com\r\n") ==
        "501 5.1.3 Bad destination mailbox address syntax\r\n");
  CHECK(say(server, "RCPT TO:<>\r\n") == "501 5.1.3 Bad destination mailbox address syntax\r\n");
  CHECK(say(server, "RCPT TO:<bob@ums.com> NOTIFY=NEVER\r\n") ==
        "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented\r\n");
  // RFC 5321 4.5.1: <postmaster> without a domain must be accepted.
  CHECK(say(server, "RCPT TO:<Postmaster>\r\n") == "250 2.1.5 Recipient <postmaster> OK\r\n");
  CHECK(say(server, "RCPT TO:<carol@ums.com>\r\n") == "250 2.1.5 Recipient <carol@ums.com> OK\r\n");
  say(server, "DATA\r\nhi\r\n.\r\n");
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].recipients == std::vector<std::string>{"postmaster", "carol@ums.com"});
}

TEST_CASE("RFC 5321 4.5.3.1.10 too many recipients get 452 4.5.3", "[smtp]") {
  FakeBackend backend;
  ServerConfig config = relay_config();
  config.max_recipients = 2;
  ServerSession server(config, backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\nMAIL FROM:<rav@cms.com>\r\n");
  CHECK(say(server, "RCPT TO:<bob@ums.com>\r\n") == "250 2.1.5 Recipient <bob@ums.com> OK\r\n");
  CHECK(say(server, "RCPT TO:<dave@ums.com>\r\n").substr(0, 4) == "550 ");  // not counted
  CHECK(say(server, "RCPT TO:<carol@ums.com>\r\n") == "250 2.1.5 Recipient <carol@ums.com> OK\r\n");
  CHECK(say(server, "RCPT TO:<bob@ums.com>\r\n") == "452 4.5.3 Too many recipients\r\n");
  CHECK(say(server, "DATA\r\nhi\r\n.\r\n") ==
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 Ok: queued as Q1\r\n");
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].recipients.size() == 2);
}

TEST_CASE("RFC 6409 4.3 submission requires AUTH before MAIL: 530 5.7.0", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  server.take_output();
  say(server, "EHLO rav-laptop.cms.com\r\n");
  CHECK(say(server, "MAIL FROM:<rav@cms.com>\r\n") == "530 5.7.0 Authentication required\r\n");
  CHECK(say(server, "VRFY bob\r\n") == "530 5.7.0 Authentication required\r\n");
  CHECK(server.state_name() == "waiting_for_mail");
}

TEST_CASE("RFC 4954 4 and RFC 4616 2 AUTH PLAIN with an initial response", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  server.take_output();
  say(server, "EHLO rav-laptop.cms.com\r\n");
  CHECK(say(server, "AUTH PLAIN " + plain_credentials("rav", "wrong") + "\r\n") ==
        "535 5.7.8 Authentication credentials invalid\r\n");
  CHECK(say(server, "AUTH PLAIN " + plain_credentials("rav", "secret") + "\r\n") ==
        "235 2.7.0 Authentication successful\r\n");
  // RFC 4954 4: a second AUTH after success gets 503.
  CHECK(say(server, "AUTH PLAIN " + plain_credentials("rav", "secret") + "\r\n") ==
        "503 5.5.1 Bad sequence of commands\r\n");
  // Authenticated: the submission server takes MAIL and relays to other domains.
  CHECK(say(server, "MAIL FROM:<rav@cms.com> AUTH=<>\r\n") ==
        "250 2.1.0 Sender <rav@cms.com> OK\r\n");
  CHECK(say(server, "RCPT TO:<eve@elsewhere.org>\r\n") ==
        "250 2.1.5 Recipient <eve@elsewhere.org> OK\r\n");
  say(server, "DATA\r\nhi\r\n.\r\n");
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].authenticated_user == "rav");

  // Credentials never appear in the events.
  for (auto& e : server.take_events())
    CHECK(e.detail.find(plain_credentials("rav", "secret")) == std::string::npos);
}

TEST_CASE("RFC 4954 4 AUTH PLAIN with an empty 334 challenge, cancel and bad base64", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  server.take_output();
  say(server, "EHLO rav-laptop.cms.com\r\n");
  CHECK(say(server, "AUTH PLAIN\r\n") == "334 \r\n");
  CHECK(server.state_name() == "in_auth");
  CHECK(say(server, "*\r\n") == "501 5.7.0 Authentication cancelled\r\n");
  CHECK(server.state_name() == "waiting_for_mail");
  CHECK(say(server, "AUTH PLAIN\r\n") == "334 \r\n");
  CHECK(say(server, "not base64!\r\n") == "501 5.5.2 Cannot decode response\r\n");
  CHECK(say(server, "AUTH PLAIN =\r\n") == "535 5.7.8 Authentication credentials invalid\r\n");
  CHECK(say(server, "AUTH CRAM-MD5\r\n") == "504 5.5.4 Command parameter not implemented\r\n");
  // RFC 4616 2: an authzid other than the user itself is refused.
  CHECK(say(server, "AUTH PLAIN " + msg::base64_encode(std::string("bob\0rav\0secret", 14)) +
                        "\r\n") == "535 5.7.8 Authentication credentials invalid\r\n");
  CHECK(say(server, "AUTH PLAIN " + msg::base64_encode(std::string("rav\0rav\0secret", 14)) +
                        "\r\n") == "235 2.7.0 Authentication successful\r\n");
}

TEST_CASE("RFC 4954 4 AUTH after HELO is out of sequence", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  server.take_output();
  say(server, "HELO rav-laptop.cms.com\r\n");
  CHECK(say(server, "AUTH PLAIN " + plain_credentials("rav", "secret") + "\r\n") ==
        "503 5.5.1 Bad sequence of commands\r\n");
  // RFC 1870 and RFC 6152 parameters are ESMTP only.
  FakeBackend backend2;
  ServerSession relay(relay_config(), backend2);
  relay.take_output();
  say(relay, "HELO mx.cms.com\r\n");
  CHECK(say(relay, "MAIL FROM:<rav@cms.com> SIZE=10\r\n") ==
        "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented\r\n");
  CHECK(say(relay, "MAIL FROM:<rav@cms.com>\r\n") == "250 2.1.0 Sender <rav@cms.com> OK\r\n");
}

TEST_CASE("RFC 5321 4.5.2 bare LF or CR never ends DATA (SMTP smuggling)", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\nMAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\n");
  CHECK(say(server, "DATA\r\n") == "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
  // Each of these would end the data on a server that took LF or CR alone as a line end,
  // and the smuggled MAIL FROM would start a second, forged transaction.
  const std::string smuggled =
      "Subject: one\r\n\r\nbody\n.\nMAIL FROM:<ceo@ums.com>\r\n"
      "x\r\n.\nRCPT TO:<bob@ums.com>\r\n"
      "y\n.\r\nDATA\r\n"
      "z\r.\r\n"
      "w\r\n.\r\r\n";
  CHECK(say(server, smuggled) == "");
  CHECK(server.state_name() == "in_data");
  CHECK(say(server, ".\r\n") == "250 2.0.0 Ok: queued as Q1\r\n");
  REQUIRE(backend.accepted.size() == 1);
  // Only the leading dot of the ".\r\r\n" line goes (RFC 5321 4.5.2); the rest is data.
  CHECK(backend.accepted[0].message ==
        "Subject: one\r\n\r\nbody\n.\nMAIL FROM:<ceo@ums.com>\r\n"
        "x\r\n\nRCPT TO:<bob@ums.com>\r\n"
        "y\n.\r\nDATA\r\n"
        "z\r.\r\n"
        "w\r\n\r\r\n");
}

TEST_CASE("RFC 5321 2.3.8 a bare LF does not end a command line either", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  CHECK(say(server, "EHLO mx.cms.com\n") == "");
  CHECK(say(server, "NOOP\r\n") == "501 Syntax error in parameters or arguments\r\n");
  CHECK(server.state_name() == "waiting_for_helo");
}

TEST_CASE("RFC 5321 4.5.3.1.4 command lines over 512 octets get 500", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  // 510 octets plus CRLF is exactly the limit.
  CHECK(say(server, "NOOP " + std::string(505, 'x') + "\r\n") == "250 2.0.0 OK\r\n");
  CHECK(say(server, "NOOP " + std::string(506, 'x') + "\r\n") == "500 5.5.2 Line too long\r\n");
  // A line that never ends is dropped as it comes; its CRLF brings one 500, then all is well.
  for (int i = 0; i < 100; ++i) CHECK(say(server, std::string(1000, 'y')) == "");
  CHECK(say(server, "\r\nNOOP\r\n") == "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n");
  // The CRLF split across two reads still ends the over-long line.
  CHECK(say(server, std::string(600, 'z') + "\r") == "");
  CHECK(say(server, "\nNOOP\r\n") == "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n");
}

TEST_CASE("RFC 5321 4.5.3.1.6 text lines over 1000 octets refuse the message", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\nMAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\nDATA\r\n");
  // 998 octets plus CRLF is fine; a stuffed leading dot does not count (4.5.3.1.6).
  say(server, std::string(998, 'a') + "\r\n." + std::string(998, 'b') + "\r\n");
  CHECK(say(server, ".\r\n") == "250 2.0.0 Ok: queued as Q1\r\n");
  say(server, "MAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\nDATA\r\n");
  CHECK(say(server, std::string(999, 'a') + "\r\n.\r\n") ==
        "554 5.6.0 Transaction failed: text line too long\r\n");
  say(server, "MAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\nDATA\r\n");
  CHECK(say(server, std::string(5000, 'a')) == "");
  CHECK(say(server, "\r\n.\r\n") == "554 5.6.0 Transaction failed: text line too long\r\n");
  CHECK(backend.accepted.size() == 1);
  CHECK(server.state_name() == "waiting_for_mail");
}

TEST_CASE("RFC 1870 6.3 mail data over the fixed maximum size gets 552 after DATA", "[smtp]") {
  FakeBackend backend;
  ServerConfig config = relay_config();
  config.max_message_size = 100;
  ServerSession server(config, backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\nMAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\nDATA\r\n");
  // 98 octets and a CRLF: exactly 100, accepted.
  CHECK(say(server, std::string(98, 'a') + "\r\n.\r\n") == "250 2.0.0 Ok: queued as Q1\r\n");
  say(server, "MAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\nDATA\r\n");
  CHECK(say(server, std::string(99, 'a') + "\r\n.\r\n") ==
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  CHECK(backend.accepted.size() == 1);
}

TEST_CASE("RFC 5321 4.1.4 EHLO again resets the transaction", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\nMAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\n");
  CHECK(say(server, "EHLO mx.cms.com\r\n") == ehlo_reply);
  CHECK(server.state_name() == "waiting_for_mail");
  CHECK(say(server, "DATA\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
}

TEST_CASE("RFC 5321 4.1.1.10 nothing is read after QUIT", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  CHECK(say(server, "QUIT\r\nNOOP\r\n") ==
        "221 2.0.0 mail.ums.com Service closing transmission channel\r\n");
  CHECK(server.closed());
  CHECK(say(server, "NOOP\r\n") == "");
}

TEST_CASE("RFC 5321 4.2 a server never hangs or crashes on arbitrary bytes", "[smtp]") {
  std::uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return static_cast<char>((seed >> 16) & 0xff);
  };
  for (int run = 0; run < 50; ++run) {
    FakeBackend backend;
    ServerSession server(relay_config(), backend);
    std::string noise;
    for (int i = 0; i < 4000; ++i) {
      char c = next();
      noise += c;
      if ((c & 0x0f) == 0) noise += "\r\n";  // enough line ends to reach the command handlers
    }
    server.receive(noise);
    const std::string out = server.take_output();
    CHECK(out.substr(0, 4) == "220 ");
    CHECK(out.substr(out.size() - 2) == "\r\n");
    // Twenty errors make the server give up with 421 (ServerConfig::max_errors).
    CHECK(server.closed());
    CHECK(out.find("\r\n421 4.7.0 mail.ums.com") != std::string::npos);
  }
}

TEST_CASE("RFC 5321 3.3 client and server in memory deliver a message", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob(small_message));
  CHECK(client.state_name() == "waiting_for_greeting");
  CHECK(client.take_output() == "");  // the server speaks first

  const Wire wire = run(client, server);
  CHECK(wire.client_bytes ==
        "EHLO mx.cms.com\r\n"
        "MAIL FROM:<rav@cms.com> SIZE=73\r\n"
        "RCPT TO:<bob@ums.com>\r\n"
        "DATA\r\n"
        "From: Rav <rav@cms.com>\r\n"
        "To: bob@ums.com\r\n"
        "Subject: dots\r\n"
        "\r\n"
        "..hidden\r\n"
        "bye\r\n"
        ".\r\n"
        "QUIT\r\n");
  CHECK(wire.server_bytes == "220 mail.ums.com ESMTP mailsim\r\n" + ehlo_reply +
                                 "250 2.1.0 Sender <rav@cms.com> OK\r\n"
                                 "250 2.1.5 Recipient <bob@ums.com> OK\r\n"
                                 "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
                                 "250 2.0.0 Ok: queued as Q1\r\n"
                                 "221 2.0.0 mail.ums.com Service closing transmission channel\r\n");
  // Without PIPELINING: one command per flight, and the whole message in one flight.
  REQUIRE(wire.flights.size() == 13);
  CHECK(wire.flights[9] == "C: " + msg::dot_stuff(small_message));

  CHECK(client.closed());
  CHECK(server.closed());
  CHECK(client.succeeded());
  CHECK_FALSE(client.failure());
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].message == small_message);
  CHECK(small_message.size() == 73);  // the SIZE the client declared (RFC 1870 5)

  const auto replies = client.recipient_replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].first == "bob@ums.com");
  CHECK(replies[0].second.code == 250);

  std::vector<ClientEvent::Kind> kinds;
  std::string queue_id;
  for (auto& e : client.take_events()) {
    if (e.kind != ClientEvent::Kind::reply_received) kinds.push_back(e.kind);
    if (e.kind == ClientEvent::Kind::message_accepted) queue_id = e.detail;
  }
  CHECK(kinds == std::vector<ClientEvent::Kind>{ClientEvent::Kind::message_accepted,
                                                ClientEvent::Kind::finished});
  CHECK(queue_id == "Q1");
}

TEST_CASE("RFC 4954 4 the client authenticates with AUTH PLAIN on submission", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  ClientConfig config{"rav-laptop.cms.com", std::make_pair("rav", "secret")};
  Envelope e = rav_to_bob(small_message);
  e.recipients = {"eve@elsewhere.org"};
  ClientSession client(config, e);
  const Wire wire = run(client, server);
  // base64("\0rav\0secret") as RFC 4616 2 lays it out.
  CHECK(wire.client_bytes.rfind("EHLO rav-laptop.cms.com\r\n"
                                "AUTH PLAIN AHJhdgBzZWNyZXQ=\r\n"
                                "MAIL FROM:<rav@cms.com> SIZE=73\r\n",
                                0) == 0);
  CHECK(wire.server_bytes.find("235 2.7.0 Authentication successful\r\n") != std::string::npos);
  CHECK(client.succeeded());
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].authenticated_user == "rav");
}

TEST_CASE("RFC 4954 6 a client with a wrong password gives up after 535 and QUITs", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  ClientSession client({"rav-laptop.cms.com", std::make_pair("rav", "nope")},
                       rav_to_bob(small_message));
  const Wire wire = run(client, server);
  CHECK(wire.client_bytes == "EHLO rav-laptop.cms.com\r\nAUTH PLAIN " +
                                 plain_credentials("rav", "nope") + "\r\nQUIT\r\n");
  CHECK(client.closed());
  CHECK_FALSE(client.succeeded());
  REQUIRE(client.failure());
  CHECK(client.failure()->code == 535);
  CHECK(client.failure()->lines ==
        std::vector<std::string>{"5.7.8 Authentication credentials invalid"});
  CHECK(backend.accepted.empty());
}

TEST_CASE("RFC 6409 4.3 a client that does not authenticate gets 530 and fails", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  ClientSession client({"rav-laptop.cms.com", std::nullopt}, rav_to_bob(small_message));
  run(client, server);
  REQUIRE(client.failure());
  CHECK(client.failure()->code == 530);
  CHECK(client.closed());
}

TEST_CASE("RFC 5321 3.3 some recipients fail, the message goes to the others", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  Envelope e = rav_to_bob(small_message);
  e.recipients = {"dave@ums.com", "bob@ums.com", "eve@elsewhere.org", "carol@ums.com"};
  ClientSession client({"mx.cms.com", std::nullopt}, e);
  run(client, server);
  CHECK(client.succeeded());
  const auto replies = client.recipient_replies();
  REQUIRE(replies.size() == 4);
  CHECK(replies[0].second.code == 550);
  CHECK(replies[0].second.lines[0].substr(0, 6) == "5.1.1 ");
  CHECK(replies[1].second.code == 250);
  CHECK(replies[2].second.code == 550);
  CHECK(replies[2].second.lines[0].substr(0, 6) == "5.7.1 ");
  CHECK(replies[3].second.code == 250);
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].recipients == std::vector<std::string>{"bob@ums.com", "carol@ums.com"});
}

TEST_CASE("RFC 5321 3.3 no recipient accepted: no DATA, QUIT, failure", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  Envelope e = rav_to_bob(small_message);
  e.recipients = {"dave@ums.com", "eve@elsewhere.org"};
  ClientSession client({"mx.cms.com", std::nullopt}, e);
  const Wire wire = run(client, server);
  CHECK(wire.client_bytes ==
        "EHLO mx.cms.com\r\n"
        "MAIL FROM:<rav@cms.com> SIZE=73\r\n"
        "RCPT TO:<dave@ums.com>\r\n"
        "RCPT TO:<eve@elsewhere.org>\r\n"
        "QUIT\r\n");
  CHECK(client.closed());
  CHECK_FALSE(client.succeeded());
  REQUIRE(client.failure());
  CHECK(client.failure()->code == 550);
  CHECK(client.failure()->lines[0] == "5.7.1 <eve@elsewhere.org> Relaying denied");
}

TEST_CASE("RFC 1870 6.2 a message over the server's SIZE is refused at MAIL", "[smtp]") {
  FakeBackend backend;
  ServerConfig config = relay_config();
  config.max_message_size = 50;
  ServerSession server(config, backend);
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob(small_message));
  const Wire wire = run(client, server);
  CHECK(wire.client_bytes == "EHLO mx.cms.com\r\nMAIL FROM:<rav@cms.com> SIZE=73\r\nQUIT\r\n");
  REQUIRE(client.failure());
  CHECK(client.failure()->code == 552);
}

TEST_CASE("RFC 6152 3 8-bit content is sent with BODY=8BITMIME", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  const std::string message = "Subject: caf\xc3\xa9\r\n\r\nd\xc3\xa9j\xc3\xa0 vu\r\n";
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob(message));
  const Wire wire = run(client, server);
  CHECK(wire.client_bytes.find("MAIL FROM:<rav@cms.com> SIZE=" + std::to_string(message.size()) +
                               " BODY=8BITMIME\r\n") != std::string::npos);
  CHECK(client.succeeded());
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].message == message);  // every bit preserved
}

TEST_CASE("RFC 6152 3 no 8-bit data to a server without 8BITMIME", "[smtp]") {
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob("Subject: x\r\n\r\n\xe9\r\n"));
  client.receive("220 old.example\r\n");
  CHECK(client.take_output() == "EHLO mx.cms.com\r\n");
  client.receive("250-old.example\r\n250 SIZE 1000\r\n");
  CHECK(client.take_output() == "QUIT\r\n");
  REQUIRE(client.failure());
  CHECK(client.failure()->code == 554);
  CHECK(client.failure()->lines[0] == "5.6.3 Conversion required but not supported");
  client.receive("221 bye\r\n");
  CHECK(client.closed());
}

TEST_CASE("RFC 5321 3.2 a client falls back to HELO when EHLO is not known", "[smtp]") {
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob("Subject: x\r\n\r\nhi\r\n"));
  client.receive("220 old.example SMTP\r\n");
  CHECK(client.take_output() == "EHLO mx.cms.com\r\n");
  client.receive("500 Command unrecognized\r\n");
  CHECK(client.take_output() == "HELO mx.cms.com\r\n");
  client.receive("250 old.example\r\n");
  CHECK(client.take_output() == "MAIL FROM:<rav@cms.com>\r\n");  // no SIZE: not advertised
  client.receive("250 OK\r\n");
  CHECK(client.take_output() == "RCPT TO:<bob@ums.com>\r\n");
  client.receive("250 OK\r\n");
  CHECK(client.take_output() == "DATA\r\n");
  client.receive("354 go\r\n");
  CHECK(client.take_output() == "Subject: x\r\n\r\nhi\r\n.\r\n");
  client.receive("250 OK\r\n");
  CHECK(client.take_output() == "QUIT\r\n");
  client.receive("221 bye\r\n");
  CHECK(client.closed());
  CHECK(client.succeeded());
}

TEST_CASE("RFC 5321 3.1 a 554 greeting: the client QUITs", "[smtp]") {
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
  client.receive("554 No SMTP service here\r\n");
  CHECK(client.take_output() == "QUIT\r\n");
  REQUIRE(client.failure());
  CHECK(client.failure()->code == 554);
}

TEST_CASE("RFC 5321 3.8 a 421 makes the client close without QUIT", "[smtp]") {
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
  client.receive("220 mx\r\n");
  client.take_output();
  client.receive("421 4.3.2 mx Service not available, closing transmission channel\r\n");
  CHECK(client.take_output() == "");
  CHECK(client.closed());
  REQUIRE(client.failure());
  CHECK(client.failure()->code == 421);
}

TEST_CASE("RFC 5321 4.2.1 malformed replies make the client give up", "[smtp]") {
  for (const char* bad : {"hello\r\n", "22\r\n", "220-a\r\n250 b\r\n", "220_x\r\n", "999 what\r\n",
                          "220 ok\n250 x\r\n"}) {
    INFO("reply: " << bad);
    ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
    client.receive(bad);
    CHECK(client.closed());
    REQUIRE(client.failure());
    CHECK(client.failure()->code == 451);
  }
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
  client.receive(std::string(600, '2'));  // no CRLF within 512 octets
  CHECK(client.closed());
}

TEST_CASE("RFC 5321 4.2 multi-line replies are read whole, in any chunking", "[smtp]") {
  ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
  for (char c : std::string("220-mx.example ESMTP\r\n220 welcome\r\n"))
    client.receive(std::string(1, c));
  CHECK(client.take_output() == "EHLO mx.cms.com\r\n");
  const std::string ehlo =
      "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 2000\r\n"
      "250-AUTH LOGIN PLAIN\r\n250-8BITMIME\r\n250 STARTTLS\r\n";
  client.receive(ehlo.substr(0, 20));
  CHECK(client.take_output() == "");
  client.receive(ehlo.substr(20));
  CHECK(client.take_output() == "MAIL FROM:<rav@cms.com> SIZE=3\r\n");
  const ServerExtensions& ext = client.extensions();
  CHECK(ext.esmtp);
  CHECK(ext.pipelining);
  CHECK(ext.size);
  CHECK(ext.size_limit == 2000);
  CHECK(ext.eight_bit_mime);
  CHECK(ext.starttls);
  CHECK_FALSE(ext.enhanced_status_codes);
  CHECK(ext.auth_mechanisms == std::vector<std::string>{"LOGIN", "PLAIN"});
}

TEST_CASE("Engine contract: the server's output is the same whole, by line, by byte", "[smtp]") {
  // The client side of a full session with auth, a failed recipient and dot-stuffing.
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  Envelope e = rav_to_bob(small_message);
  e.recipients = {"dave@ums.com", "bob@ums.com"};
  ClientSession client({"rav-laptop.cms.com", std::make_pair("rav", "secret")}, e);
  const Wire wire = run(client, server);
  REQUIRE(client.succeeded());
  // Add a second transaction with the terminator split oddly, and some errors.
  const std::string input = wire.client_bytes.substr(0, wire.client_bytes.size() - 6) +
                            "BOGUS\r\nMAIL FROM:<>\r\nRCPT TO:<carol@ums.com>\r\nDATA\r\n"
                            "a\nb\r\n..c\r\n" +
                            std::string(1200, 'x') +
                            "\r\n.\r\n"
                            "MAIL FROM:<>\r\nRCPT TO:<carol@ums.com>\r\nDATA\r\nok\r\n.\r\n"
                            "QUIT\r\n";

  const ServerRun whole = feed_server(submission_config(), input, input.size());
  const ServerRun by_line = feed_server_by_lines(submission_config(), input);
  const ServerRun by_byte = feed_server(submission_config(), input, 1);
  const ServerRun by_seven = feed_server(submission_config(), input, 7);
  const std::string bye = "221 2.0.0 mail.ums.com Service closing transmission channel\r\n";
  CHECK(whole.output.substr(whole.output.size() - bye.size()) == bye);
  CHECK(whole.output.find("554 5.6.0 Transaction failed: text line too long\r\n") !=
        std::string::npos);
  CHECK(whole.messages == std::vector<std::string>{small_message, "ok\r\n"});
  CHECK(whole == by_line);
  CHECK(whole == by_byte);
  CHECK(whole == by_seven);
}

TEST_CASE("Engine contract: the client's output is the same for any reply chunking", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  ClientSession reference({"mx.cms.com", std::nullopt}, rav_to_bob(small_message));
  const Wire wire = run(reference, server);

  for (std::size_t chunk : {wire.server_bytes.size(), std::size_t{1}, std::size_t{5}}) {
    ClientSession client({"mx.cms.com", std::nullopt}, rav_to_bob(small_message));
    std::string output;
    std::size_t events = 0;
    for (std::size_t i = 0; i < wire.server_bytes.size(); i += chunk) {
      client.receive(std::string_view(wire.server_bytes).substr(i, chunk));
      output += client.take_output();
      events += client.take_events().size();
    }
    CHECK(output == wire.client_bytes);
    CHECK(events == 9);  // 7 replies (220 to 221), message_accepted, finished
    CHECK(client.succeeded());
    CHECK(client.closed());
  }
}

TEST_CASE("RFC 2920 3.2 a pipelined group is answered in order, in one flight", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\n");
  CHECK(say(server,
            "MAIL FROM:<rav@cms.com>\r\n"
            "RCPT TO:<dave@ums.com>\r\n"
            "RCPT TO:<bob@ums.com>\r\n"
            "DATA\r\n") ==
        "250 2.1.0 Sender <rav@cms.com> OK\r\n"
        "550 5.1.1 <dave@ums.com> Requested action not taken: mailbox unavailable\r\n"
        "250 2.1.5 Recipient <bob@ums.com> OK\r\n"
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
  // The message and the next transaction may share a flight (RFC 2920 3.1).
  CHECK(say(server,
            "hi\r\n.\r\nRSET\r\nMAIL FROM:<rav@cms.com>\r\nRCPT TO:<dave@ums.com>\r\n"
            "DATA\r\n") ==
        "250 2.0.0 Ok: queued as Q1\r\n"
        "250 2.0.0 OK\r\n"
        "250 2.1.0 Sender <rav@cms.com> OK\r\n"
        "550 5.1.1 <dave@ums.com> Requested action not taken: mailbox unavailable\r\n"
        "554 5.5.1 No valid recipients\r\n");  // RFC 2920 3.2 (3): no valid RCPT, no 354
  CHECK(server.state_name() == "waiting_for_rcpt");
}

TEST_CASE("RFC 2920 3.1 a pipelining client sends MAIL, RCPTs and DATA as one group", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  Envelope e = rav_to_bob(small_message);
  e.recipients = {"bob@ums.com", "dave@ums.com"};
  ClientConfig config{"mx.cms.com", std::nullopt};
  config.use_pipelining = true;
  ClientSession client(config, e);
  const Wire wire = run(client, server);
  REQUIRE(wire.flights.size() == 9);
  CHECK(wire.flights[3] ==
        "C: MAIL FROM:<rav@cms.com> SIZE=73\r\n"
        "RCPT TO:<bob@ums.com>\r\n"
        "RCPT TO:<dave@ums.com>\r\n"
        "DATA\r\n");
  CHECK(wire.flights[4] ==
        "S: 250 2.1.0 Sender <rav@cms.com> OK\r\n"
        "250 2.1.5 Recipient <bob@ums.com> OK\r\n"
        "550 5.1.1 <dave@ums.com> Requested action not taken: mailbox unavailable\r\n"
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
  CHECK(wire.flights[5] == "C: " + msg::dot_stuff(small_message));
  CHECK(client.succeeded());
  const auto replies = client.recipient_replies();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].first == "bob@ums.com");
  CHECK(replies[0].second.code == 250);
  CHECK(replies[1].first == "dave@ums.com");
  CHECK(replies[1].second.code == 550);
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].recipients == std::vector<std::string>{"bob@ums.com"});
}

TEST_CASE("RFC 2920 3.1 a pipelining client checks every status of a failed group", "[smtp]") {
  ClientConfig config{"rav-laptop.cms.com", std::nullopt};
  config.use_pipelining = true;

  SECTION("MAIL refused on submission: 530 is the failure, not the 503s after it") {
    FakeBackend backend;
    ServerSession server(submission_config(), backend);
    ClientSession client(config, rav_to_bob(small_message));
    const Wire wire = run(client, server);
    CHECK(wire.server_bytes.find("530 5.7.0 Authentication required\r\n"
                                 "503 5.5.1 Bad sequence of commands\r\n"
                                 "503 5.5.1 Bad sequence of commands\r\n") != std::string::npos);
    CHECK(wire.client_bytes.substr(wire.client_bytes.size() - 12) == "DATA\r\nQUIT\r\n");
    REQUIRE(client.failure());
    CHECK(client.failure()->code == 530);
    CHECK(client.closed());
  }
  SECTION("a server that says 354 with no valid recipient gets an empty message") {
    ClientSession client(config, rav_to_bob(small_message));
    client.receive("220 mx\r\n");
    client.take_output();
    client.receive("250-mx\r\n250 PIPELINING\r\n");
    CHECK(client.take_output() == "MAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\nDATA\r\n");
    client.receive("250 ok\r\n550 no such user\r\n354 go ahead\r\n");
    CHECK(client.take_output() == ".\r\n");  // RFC 2920 3.1: "a single dot"
    client.receive("554 no valid recipients\r\n");
    CHECK(client.take_output() == "QUIT\r\n");
    REQUIRE(client.failure());
    CHECK(client.failure()->code == 550);
    CHECK_FALSE(client.succeeded());
  }
}

TEST_CASE("AUTH LOGIN: two 334 challenges, Username: then Password:", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  server.take_output();
  say(server, "EHLO rav-laptop.cms.com\r\n");
  CHECK(say(server, "AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n");  // "Username:"
  CHECK(say(server, msg::base64_encode("rav") + "\r\n") == "334 UGFzc3dvcmQ6\r\n");
  CHECK(server.state_name() == "in_auth");
  CHECK(say(server, msg::base64_encode("wrong") + "\r\n") ==
        "535 5.7.8 Authentication credentials invalid\r\n");
  // The user name may come as an initial response (RFC 4954 4).
  CHECK(say(server, "AUTH LOGIN " + msg::base64_encode("rav") + "\r\n") == "334 UGFzc3dvcmQ6\r\n");
  CHECK(say(server, "*\r\n") == "501 5.7.0 Authentication cancelled\r\n");
  CHECK(say(server, "AUTH LOGIN\r\n" + msg::base64_encode("rav") + "\r\n" +
                        msg::base64_encode("secret") + "\r\n") ==
        "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n");
  CHECK(server.state_name() == "waiting_for_mail");
  for (auto& e : server.take_events())
    CHECK(e.detail.find(msg::base64_encode("secret")) == std::string::npos);
}

TEST_CASE("RFC 4954 4 an AUTH response over the 12288-octet buffer gets 500 5.5.6", "[smtp]") {
  FakeBackend backend;
  ServerSession server(submission_config(), backend);
  server.take_output();
  say(server, "EHLO rav-laptop.cms.com\r\nAUTH PLAIN\r\n");
  // Longer than a command line may be, but within the AUTH buffer: read and judged.
  CHECK(say(server, std::string(4000, 'A') + "\r\n") ==
        "535 5.7.8 Authentication credentials invalid\r\n");
  say(server, "AUTH PLAIN\r\n");
  CHECK(say(server, std::string(13000, 'A') + "\r\n") ==
        "500 5.5.6 Authentication Exchange line is too long\r\n");
  CHECK(server.state_name() == "waiting_for_mail");
}

TEST_CASE("RFC 3207 STARTTLS is offered only when TLS is available", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  CHECK(say(server, "EHLO mx.cms.com\r\n").find("STARTTLS") == std::string::npos);
  CHECK(say(server, "STARTTLS\r\n") == "502 5.5.1 Command not implemented\r\n");
}

TEST_CASE("RFC 3207 4.2 STARTTLS: 220, pipelined plaintext dropped, session reset", "[smtp]") {
  FakeBackend backend;
  ServerConfig config = submission_config();
  config.tls_available = true;
  ServerSession server(config, backend);
  server.take_output();
  CHECK(say(server, "EHLO rav-laptop.cms.com\r\n") ==
        "250-mail.ums.com\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-STARTTLS\r\n"
        "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n");
  CHECK(say(server, "STARTTLS now\r\n") == "501 5.5.4 Syntax error (no parameters allowed)\r\n");
  server.take_events();
  // A man in the middle appends a command to the STARTTLS packet: it must not run.
  CHECK(say(server, "STARTTLS\r\nAUTH PLAIN " + plain_credentials("rav", "secret") + "\r\n") ==
        "220 2.0.0 Ready to start TLS\r\n");
  CHECK(server.state_name() == "starting_tls");
  CHECK(say(server, "NOOP\r\n") == "");
  bool starttls_event = false;
  for (auto& e : server.take_events()) starttls_event |= e.kind == ServerEvent::Kind::starttls;
  CHECK(starttls_event);

  server.tls_established();
  CHECK(server.tls_active());
  CHECK(server.state_name() == "waiting_for_helo");
  const auto events = server.take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == ServerEvent::Kind::protocol_error);
  // "AUTH PLAIN AHJhdgBzZWNyZXQ=\r\n" (29) and "NOOP\r\n" (6).
  CHECK(events[0].detail == "35 octets sent in the clear after STARTTLS were discarded");

  // Nothing learnt before the handshake survives (RFC 3207 4.2): EHLO again first.
  CHECK(say(server, "AUTH PLAIN " + plain_credentials("rav", "secret") + "\r\n") ==
        "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(say(server, "EHLO rav-laptop.cms.com\r\n").find("STARTTLS") == std::string::npos);
  CHECK(say(server, "STARTTLS\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
}

TEST_CASE("RFC 3207 4 a server requiring TLS answers 530 until STARTTLS", "[smtp]") {
  FakeBackend backend;
  ServerConfig config = submission_config();
  config.tls_available = true;
  config.tls_required = true;
  ServerSession server(config, backend);
  server.take_output();
  CHECK(say(server, "NOOP\r\n") == "250 2.0.0 OK\r\n");
  CHECK(say(server, "HELO rav-laptop.cms.com\r\n") ==
        "530 5.7.0 Must issue a STARTTLS command first\r\n");
  say(server, "EHLO rav-laptop.cms.com\r\n");
  CHECK(say(server, "AUTH PLAIN " + plain_credentials("rav", "secret") + "\r\n") ==
        "530 5.7.0 Must issue a STARTTLS command first\r\n");
  CHECK(say(server, "STARTTLS\r\n") == "220 2.0.0 Ready to start TLS\r\n");
  server.tls_established();
  say(server, "EHLO rav-laptop.cms.com\r\n");
  CHECK(say(server, "AUTH PLAIN " + plain_credentials("rav", "secret") + "\r\n") ==
        "235 2.7.0 Authentication successful\r\n");
}

TEST_CASE("RFC 3207 client and server upgrade with STARTTLS, then submit", "[smtp]") {
  FakeBackend backend;
  ServerConfig server_config = submission_config();
  server_config.tls_available = true;
  server_config.client_address = "rav-laptop.cms.com [192.0.2.7]";
  ServerSession server(server_config, backend);
  ClientConfig config{"rav-laptop.cms.com", std::make_pair("rav", "secret")};
  config.tls = TlsPolicy::opportunistic;
  ClientSession client(config, rav_to_bob(small_message));
  const Wire wire = run(client, server);
  CHECK(wire.client_bytes.rfind("EHLO rav-laptop.cms.com\r\n"
                                "STARTTLS\r\n"
                                "EHLO rav-laptop.cms.com\r\n"
                                "AUTH PLAIN AHJhdgBzZWNyZXQ=\r\n"
                                "MAIL FROM:<rav@cms.com> SIZE=73\r\n",
                                0) == 0);
  CHECK(std::find(wire.flights.begin(), wire.flights.end(), "TLS handshake") != wire.flights.end());
  CHECK(client.tls_active());
  CHECK(client.succeeded());
  REQUIRE(backend.accepted.size() == 1);
  const Envelope& e = backend.accepted[0];
  CHECK(e.tls);
  CHECK(received_protocol(e) == "ESMTPSA");
  CHECK(e.client_address == "rav-laptop.cms.com [192.0.2.7]");
}

TEST_CASE("RFC 3207 a client that requires TLS gives up when it is not offered", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  ClientConfig config{"mx.cms.com", std::nullopt};
  config.tls = TlsPolicy::required;
  ClientSession client(config, rav_to_bob(small_message));
  const Wire wire = run(client, server);
  CHECK(wire.client_bytes == "EHLO mx.cms.com\r\nQUIT\r\n");
  REQUIRE(client.failure());
  CHECK(client.failure()->code == 554);
  CHECK(client.failure()->lines[0] == "5.7.4 Server offers no STARTTLS");

  // Opportunistic: a 454 means "go on in the clear".
  ClientConfig opportunistic{"mx.cms.com", std::nullopt};
  opportunistic.tls = TlsPolicy::opportunistic;
  ClientSession c2(opportunistic, rav_to_bob("x\r\n"));
  c2.receive("220 mx\r\n");
  c2.take_output();
  c2.receive("250-mx\r\n250 STARTTLS\r\n");
  CHECK(c2.take_output() == "STARTTLS\r\n");
  c2.receive("454 4.7.0 TLS not available due to temporary reason\r\n");
  CHECK(c2.take_output() == "MAIL FROM:<rav@cms.com>\r\n");
}

TEST_CASE("RFC 3207 4.2 the client reads no plaintext reply after 220 to STARTTLS", "[smtp]") {
  ClientConfig config{"mx.cms.com", std::nullopt};
  config.tls = TlsPolicy::opportunistic;
  ClientSession client(config, rav_to_bob("x\r\n"));
  client.receive("220 mx\r\n250-mx\r\n250 STARTTLS\r\n");
  CHECK(client.take_output() == "EHLO mx.cms.com\r\nSTARTTLS\r\n");
  // An injected 250 EHLO reply right behind the 220 is not taken.
  client.receive("220 go ahead\r\n250-mx\r\n250 AUTH PLAIN\r\n");
  CHECK(client.state_name() == "starting_tls");
  CHECK(client.take_output() == "");
  client.tls_established();
  CHECK(client.take_output() == "EHLO mx.cms.com\r\n");
  CHECK(client.extensions().auth_mechanisms.empty());
  client.receive("250 mx\r\n");
  CHECK(client.take_output() == "MAIL FROM:<rav@cms.com>\r\n");
}

TEST_CASE("RFC 5321 4.4 the Received: stamp a backend prepends", "[smtp]") {
  Envelope e = rav_to_bob(small_message);
  e.helo = "rav-laptop.cms.com";
  e.client_address = "rav-laptop.cms.com [192.0.2.7]";
  e.authenticated_user = "rav";
  const std::string value =
      received_field_value(e, "mail.cms.com", "Q7", "Fri, 04 Dec 2026 04:00:00 -0500");
  CHECK(value ==
        "from rav-laptop.cms.com (rav-laptop.cms.com [192.0.2.7]) by mail.cms.com with ESMTPA "
        "id Q7 for <bob@ums.com>; Fri, 04 Dec 2026 04:00:00 -0500");
  const std::string traced = msg::prepend_header(e.message, "Received", value);
  CHECK(msg::find_header(traced, "Received") == value);  // folded, and unfolds back
  CHECK(traced.substr(0, 9) == "Received:");

  // Two recipients: no FOR clause (RFC 5321 4.4 allows exactly one path there).
  e.recipients.push_back("carol@ums.com");
  e.esmtp = false;
  e.client_address.clear();
  CHECK(received_field_value(e, "mx.ums.com", "", "Fri, 04 Dec 2026 04:00:00 -0500") ==
        "from rav-laptop.cms.com by mx.ums.com with SMTP; Fri, 04 Dec 2026 04:00:00 -0500");
  e.esmtp = true;
  e.authenticated_user.clear();
  CHECK(received_protocol(e) == "ESMTP");
  e.tls = true;
  CHECK(received_protocol(e) == "ESMTPS");
}

TEST_CASE("RFC 5321 4.5.3.2 timeouts are named values the driver reads", "[smtp]") {
  const Timeouts t;
  CHECK(reply_timeout(ClientState::waiting_for_greeting, t) == 300);
  CHECK(reply_timeout(ClientState::waiting_for_mail_reply, t) == 300);
  CHECK(reply_timeout(ClientState::waiting_for_rcpt_reply, t) == 300);
  CHECK(reply_timeout(ClientState::waiting_for_data_reply, t) == 120);
  CHECK(reply_timeout(ClientState::waiting_for_data_end_reply, t) == 600);
  CHECK(reply_timeout(ClientState::closed, t) == 0);
  CHECK(t.data_block == 180);
  CHECK(t.server_idle == 300);
  Timeouts impatient;
  impatient.data_termination = 30;
  CHECK(reply_timeout(ClientState::waiting_for_data_end_reply, impatient) == 30);
}

TEST_CASE("RFC 5321 3.8 after max_errors protocol errors the server sends 421 and closes",
          "[smtp]") {
  FakeBackend backend;
  ServerConfig config = relay_config();
  config.max_errors = 3;
  ServerSession server(config, backend);
  server.take_output();
  CHECK(say(server, "X\r\nY\r\nNOOP\r\nZ\r\nNOOP\r\n") ==
        "500 5.5.1 Syntax error, command unrecognized\r\n"
        "500 5.5.1 Syntax error, command unrecognized\r\n"
        "250 2.0.0 OK\r\n"
        "500 5.5.1 Syntax error, command unrecognized\r\n"
        "421 4.7.0 mail.ums.com Error: too many errors, closing transmission channel\r\n");
  CHECK(server.closed());
}

TEST_CASE("Engine contract: the server's transition table names every state change", "[smtp]") {
  const auto& table = server_transitions();
  auto has = [&](ServerState from, std::string_view verb, ServerState to) {
    return std::any_of(table.begin(), table.end(), [&](const ServerTransition& t) {
      return t.from == from && t.verb == verb && t.to == to;
    });
  };
  CHECK(has(ServerState::waiting_for_helo, "EHLO", ServerState::waiting_for_mail));
  CHECK(has(ServerState::waiting_for_mail, "MAIL", ServerState::waiting_for_rcpt));
  CHECK(has(ServerState::waiting_for_rcpt, "RCPT", ServerState::waiting_for_rcpt_or_data));
  CHECK(has(ServerState::waiting_for_rcpt_or_data, "DATA", ServerState::in_data));
  CHECK(has(ServerState::waiting_for_mail, "STARTTLS", ServerState::starting_tls));
  CHECK(has(ServerState::waiting_for_rcpt, "RSET", ServerState::waiting_for_mail));
  CHECK(has(ServerState::waiting_for_helo, "RSET", ServerState::waiting_for_helo));
  CHECK_FALSE(has(ServerState::waiting_for_rcpt, "DATA", ServerState::in_data));
  CHECK_FALSE(has(ServerState::waiting_for_rcpt, "AUTH", ServerState::waiting_for_mail));
  for (const auto& row : table) CHECK(to_string(row.from) != "?");
}

TEST_CASE("RFC 5321 4.1.1.5 RSET aborts the open transaction and keeps the session", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  say(server, "EHLO mx.cms.com\r\nMAIL FROM:<rav@cms.com>\r\nRCPT TO:<bob@ums.com>\r\n");
  CHECK(server.state_name() == "waiting_for_rcpt_or_data");
  // rfc5321.txt 4.1.1.5: sender, recipients and data are discarded; EHLO is not.
  CHECK(say(server, "RSET\r\n") == "250 2.0.0 OK\r\n");
  CHECK(server.state_name() == "waiting_for_mail");
  CHECK(say(server, "DATA\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(say(server, "RCPT TO:<bob@ums.com>\r\n") == "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(say(server, "MAIL FROM:<carol@ums.com>\r\nRCPT TO:<carol@ums.com>\r\nDATA\r\nx\r\n.\r\n") ==
        "250 2.1.0 Sender <carol@ums.com> OK\r\n"
        "250 2.1.5 Recipient <carol@ums.com> OK\r\n"
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
        "250 2.0.0 Ok: queued as Q1\r\n");
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].mail_from == "carol@ums.com");
  CHECK(backend.accepted[0].recipients == std::vector<std::string>{"carol@ums.com"});
  CHECK(backend.accepted[0].helo == "mx.cms.com");
}

TEST_CASE("RFC 5321 4.1.1.8 HELP takes an optional argument and lists what is offered", "[smtp]") {
  FakeBackend backend;
  ServerConfig config = submission_config();
  config.tls_available = true;
  ServerSession server(config, backend);
  server.take_output();
  const std::string help =
      "214-2.0.0 mailsim SMTP server (RFC 5321)\r\n"
      "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP AUTH STARTTLS\r\n";
  CHECK(say(server, "HELP\r\n") == help);
  CHECK(say(server, "help MAIL\r\n") == help);
  CHECK(server.state_name() == "waiting_for_helo");  // HELP changes nothing

  FakeBackend backend2;
  ServerConfig bare = relay_config();
  bare.auth_enabled = false;
  ServerSession plain(bare, backend2);
  plain.take_output();
  CHECK(say(plain, "HELP\r\n") ==
        "214-2.0.0 mailsim SMTP server (RFC 5321)\r\n"
        "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n");
  CHECK(say(plain, "AUTH PLAIN\r\n") == "502 5.5.1 Command not implemented\r\n");
  CHECK(say(plain, "STARTTLS\r\n") == "502 5.5.1 Command not implemented\r\n");
}

TEST_CASE("RFC 5321 2.3.8 a bare CR does not end a command line either", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  // One line "QUIT\rNOOP": an unknown verb, and above all no QUIT.
  CHECK(say(server, "QUIT\rNOOP\r\n") == "500 5.5.1 Syntax error, command unrecognized\r\n");
  // One line "NOOP x\rQUIT": a NOOP whose argument is ignored (rfc5321.txt 4.1.1.9).
  CHECK(say(server, "NOOP x\rQUIT\r\n") == "250 2.0.0 OK\r\n");
  CHECK_FALSE(server.closed());
}

TEST_CASE("RFC 6152 3 8-bit octets sent with BODY=8BITMIME arrive unchanged", "[smtp]") {
  FakeBackend backend;
  ServerSession server(relay_config(), backend);
  server.take_output();
  const std::string message =
      "Subject: caf\xc3\xa9\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n\xe2\x82\xac 5\r\n\xff\x80\r\n";
  CHECK(say(server,
            "EHLO mx.cms.com\r\nMAIL FROM:<rav@cms.com> BODY=8BITMIME\r\n"
            "RCPT TO:<bob@ums.com>\r\nDATA\r\n" +
                message + ".\r\n") == ehlo_reply +
                                          "250 2.1.0 Sender <rav@cms.com> OK\r\n"
                                          "250 2.1.5 Recipient <bob@ums.com> OK\r\n"
                                          "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
                                          "250 2.0.0 Ok: queued as Q1\r\n");
  REQUIRE(backend.accepted.size() == 1);
  CHECK(backend.accepted[0].message == message);
}

TEST_CASE("RFC 5321 4.5.3.1.5 reply lines of 512 octets and replies of 100 lines are read",
          "[smtp]") {
  // rfc5321.txt 4.5.3.1.5: 512 octets with the CRLF; ClientConfig::max_reply_lines bounds a
  // multi-line reply, so a server cannot make the client buffer without end.
  ClientSession longest({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
  longest.receive("220 " + std::string(506, 'g') + "\r\n");
  CHECK(longest.take_output() == "EHLO mx.cms.com\r\n");
  ClientSession too_long({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
  too_long.receive("220 " + std::string(507, 'g') + "\r\n");
  CHECK(too_long.closed());
  REQUIRE(too_long.failure());
  CHECK(too_long.failure()->to_bytes() == "451 4.5.0 Malformed reply from server\r\n");

  std::string hundred;
  for (int i = 0; i < 99; ++i) hundred += "220-line\r\n";
  ClientSession many({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
  many.receive(hundred + "220 last\r\n");
  CHECK(many.take_output() == "EHLO mx.cms.com\r\n");
  ClientSession too_many({"mx.cms.com", std::nullopt}, rav_to_bob("x\r\n"));
  too_many.receive(hundred + "220-one more\r\n220 last\r\n");
  CHECK(too_many.take_output() == "");
  CHECK(too_many.closed());
  REQUIRE(too_many.failure());
  CHECK(too_many.failure()->to_bytes() == "451 4.5.0 Malformed reply from server\r\n");
}

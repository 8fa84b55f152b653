#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "models/imap.hpp"

namespace imap = mailsim::imap;
using mailsim::store::MailStore;

namespace {

// 91 octets.
const std::string kMessage =
    "From: Rav <rav@cms.com>\r\n"
    "To: uday@ums.com\r\n"
    "Subject: hi\r\n"
    "Message-ID: <m1@cms.com>\r\n"
    "\r\n"
    "hello\r\n";

const std::string kMultipart =
    "From: rav@cms.com\r\n"
    "Subject: report\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "part one\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAAA\r\n"
    "--b1--\r\n";

std::unique_ptr<MailStore> make_store(int messages = 1) {
  auto store = std::make_unique<MailStore>("ums.com");
  store->add_account("uday@ums.com", "secret");
  for (int i = 0; i < messages; ++i) store->deliver("uday@ums.com", kMessage, 100 + i);
  return store;
}

const mailsim::store::Folder& inbox(MailStore& store) {
  return store.find_account("uday")->inbox();
}

std::string CRLF(std::string s) {  // "\n" -> "\r\n", to keep expected transcripts readable
  std::string out;
  for (char c : s) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

struct Session {
  explicit Session(MailStore& store) : server({"mail.ums.com"}, store) { server.take_output(); }
  std::string say(const std::string& lines) {
    server.receive(CRLF(lines));
    return server.take_output();
  }
  imap::ServerSession server;
};

const std::string kGreeting =
    "* OK [CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS] mail.ums.com IMAP4rev1 server ready\r\n";

const std::string kSelectOne = CRLF(
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n"
    "* 1 EXISTS\n"
    "* 1 RECENT\n"
    "* OK [UNSEEN 1] Message 1 is first unseen\n"
    "* OK [UIDVALIDITY 1] UIDs valid\n"
    "* OK [UIDNEXT 2] Predicted next UID\n"
    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Limited\n"
    "a2 OK [READ-WRITE] SELECT completed\n");

std::string converse(imap::ClientSession& client, imap::ServerSession& server) {
  std::string transcript;
  for (int round = 0; round < 100; ++round) {
    std::string s = server.take_output();
    if (!s.empty()) {
      transcript += "S: " + s;
      client.receive(s);
    }
    std::string c = client.take_output();
    if (!c.empty()) {
      transcript += "C: " + c;
      server.receive(c);
    }
    if (s.empty() && c.empty()) break;
  }
  return transcript;
}

imap::ClientConfig client_config(std::string user, std::string password) {
  imap::ClientConfig config;
  config.user = std::move(user);
  config.password = std::move(password);
  return config;
}

}  // namespace

TEST_CASE("IMAP server greets with its capabilities (RFC 3501 7.1.1, 9 greeting)", "[imap]") {
  auto store = make_store();
  imap::ServerSession server({"mail.ums.com"}, *store);
  CHECK(server.take_output() == kGreeting);
  CHECK(server.state_name() == "not_authenticated");
  server.receive("a CAPABILITY\r\nb NOOP\r\n");
  CHECK(server.take_output() == CRLF("* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS\n"
                                     "a OK CAPABILITY completed\n"
                                     "b OK NOOP completed\n"));
}

TEST_CASE("IMAP server: LOGIN then SELECT answers in RFC 3501 6.3.1 order", "[imap]") {
  auto store = make_store();
  Session s(*store);
  CHECK(s.say("a1 LOGIN uday@ums.com secret\n") == "a1 OK LOGIN completed\r\n");
  CHECK(s.server.state_name() == "authenticated");
  CHECK(s.say("a2 SELECT inbox\n") == kSelectOne);
  CHECK(s.server.state_name() == "selected");

  // A second session does not see the message as \Recent any more (RFC 3501 2.3.2).
  Session t(*store);
  t.say("a1 LOGIN uday secret\n");
  std::string out = t.say("a2 SELECT INBOX\n");
  CHECK(out.find("* 0 RECENT\r\n") != std::string::npos);
}

TEST_CASE("IMAP server: LOGIN failures and wrong states (RFC 3501 6.2.3, 6)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  CHECK(s.say("a1 SELECT INBOX\na2 LOGIN uday wrong\na3 LOGIN nobody secret\n"
              "a4 LOGIN uday\na5 FETCH 1 FLAGS\n") ==
        CRLF("a1 BAD SELECT not allowed in not_authenticated state\n"
             "a2 NO LOGIN failed: wrong user name or password\n"
             "a3 NO LOGIN failed: wrong user name or password\n"
             "a4 BAD expected a single space\n"
             "a5 BAD FETCH not allowed in not_authenticated state\n"));
  CHECK(s.server.state_name() == "not_authenticated");
  s.say("a6 LOGIN uday secret\n");
  CHECK(s.say("a7 LOGIN uday secret\na8 CLOSE\na9 SELECT Nope\n") ==
        CRLF("a7 BAD LOGIN not allowed in authenticated state\n"
             "a8 BAD CLOSE not allowed in authenticated state\n"
             "a9 NO no such mailbox\n"));
  auto events = s.server.take_events();
  CHECK(std::count_if(events.begin(), events.end(), [](const imap::ServerEvent& e) {
          return e.kind == imap::ServerEvent::Kind::login_failed;
        }) == 2);
  CHECK(std::none_of(events.begin(), events.end(), [](const imap::ServerEvent& e) {
    return e.detail.find("wrong") != std::string::npos &&
           e.kind == imap::ServerEvent::Kind::command_received;
  }));  // the password never goes into events
}

TEST_CASE("IMAP server: BAD for syntax errors, never a crash (RFC 3501 7.1.3)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("\n+x\na3\na4 FOO\na5 NOOP extra\na6 FETCH 0 FLAGS\na7 FETCH 2 FLAGS\n"
              "a8 FETCH 1 (FLAGS\na9 FETCH 1 BODY[NOPE]\nb1 STORE 1 FLAGS\nb2 SEARCH WHATEVER\n"
              "b3 LOGIN \"unterminated\n b4 NOOP\n") ==
        CRLF("* BAD invalid tag\n"
             "* BAD invalid tag\n"
             "a3 BAD expected a single space\n"
             "a4 BAD unknown command FOO\n"
             "a5 BAD unexpected text at end of command\n"
             "a6 BAD expected a non-zero number\n"
             "a7 BAD invalid message sequence number\n"
             "a8 BAD expected ) after the FETCH items\n"
             "a9 BAD unknown section NOPE\n"
             "b1 BAD expected a single space\n"
             "b2 BAD unknown search key WHATEVER\n"
             "b3 BAD LOGIN not allowed in selected state\n"
             "* BAD invalid tag\n"));
}

TEST_CASE("IMAP server: UID SEARCH, UID FETCH BODY.PEEK[], UID STORE +FLAGS (RFC 3501 6.4)",
          "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("a3 UID SEARCH UNSEEN\n") == CRLF("* SEARCH 1\na3 OK UID SEARCH completed\n"));
  CHECK(s.say("a4 UID FETCH 1 (BODY.PEEK[] FLAGS)\n") ==
        "* 1 FETCH (UID 1 BODY[] {91}\r\n" + kMessage +
            " FLAGS (\\Recent))\r\na4 OK UID FETCH completed\r\n");
  CHECK(inbox(*store).messages()[0].flags.empty());  // PEEK leaves \Seen alone
  CHECK(s.say("a5 UID STORE 1 +FLAGS (\\Seen)\n") ==
        CRLF("* 1 FETCH (UID 1 FLAGS (\\Recent \\Seen))\na5 OK UID STORE completed\n"));
  CHECK(inbox(*store).messages()[0].flags == std::set<std::string>{"\\Seen"});
  CHECK(s.say("a6 UID SEARCH UNSEEN\n") == CRLF("* SEARCH\na6 OK UID SEARCH completed\n"));
  CHECK(s.say("a7 FETCH 1 (FLAGS UID RFC822.SIZE)\n") ==
        CRLF("* 1 FETCH (FLAGS (\\Recent \\Seen) UID 1 RFC822.SIZE 91)\n"
             "a7 OK FETCH completed\n"));
}

TEST_CASE("IMAP server: BODY[] sets \\Seen and reports FLAGS (RFC 3501 6.4.5)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("a3 FETCH 1 BODY[]\n") ==
        "* 1 FETCH (BODY[] {91}\r\n" + kMessage +
            " FLAGS (\\Recent \\Seen))\r\na3 OK FETCH completed\r\n");
  CHECK(inbox(*store).messages()[0].flags.count("\\Seen") == 1);
  auto events = s.server.take_events();
  CHECK(std::any_of(events.begin(), events.end(), [](const imap::ServerEvent& e) {
    return e.kind == imap::ServerEvent::Kind::message_fetched && e.uid == 1 &&
           e.message_id == "<m1@cms.com>";
  }));
}

TEST_CASE("IMAP server: STORE forms, .SILENT and -FLAGS (RFC 3501 6.4.6)", "[imap]") {
  auto store = make_store(2);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("a3 STORE 1:* +FLAGS.SILENT (\\Flagged $Work)\n") == "a3 OK STORE completed\r\n");
  CHECK(s.say("a4 STORE 2 -FLAGS \\flagged\n") ==
        CRLF("* 2 FETCH (FLAGS ($Work \\Recent))\na4 OK STORE completed\n"));
  CHECK(s.say("a5 STORE 1 FLAGS (\\Deleted)\n") ==
        CRLF("* 1 FETCH (FLAGS (\\Deleted \\Recent))\na5 OK STORE completed\n"));
  CHECK(s.say("a6 STORE 1 FLAGS.LOUD (\\Deleted)\n") == "a6 BAD expected [+|-]FLAGS[.SILENT]\r\n");
  CHECK(inbox(*store).messages()[1].flags == std::set<std::string>{"$Work"});
  CHECK(s.say("a7 EXPUNGE\n") == CRLF("* 1 EXPUNGE\na7 OK EXPUNGE completed\n"));
  CHECK(inbox(*store).messages().size() == 1);
}

TEST_CASE("IMAP server: literals in commands get '+' continuations (RFC 3501 4.3, 7.5)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  CHECK(s.say("a1 LOGIN {12}\n") == "+ Ready for literal data\r\n");
  CHECK(s.say("uday@ums.com {6}\n") == "+ Ready for literal data\r\n");
  CHECK(s.say("secret\n") == "a1 OK LOGIN completed\r\n");

  // Literal octets are data: CRLF, "{", quotes inside are not syntax.
  std::string text = "Subject: x\r\n\r\n{3}\r\n\"\r\n";
  CHECK(s.say("a2 APPEND INBOX (\\Seen) {" + std::to_string(text.size()) + "}\n") ==
        "+ Ready for literal data\r\n");
  s.server.receive(text + "\r\n");
  CHECK(s.server.take_output() == "a2 OK [APPENDUID 1 2] APPEND completed\r\n");
  REQUIRE(inbox(*store).messages().size() == 2);
  CHECK(inbox(*store).messages()[1].text == text);
  CHECK(inbox(*store).messages()[1].flags == std::set<std::string>{"\\Seen"});

  // Literals larger than the limit are refused before the client sends them.
  imap::ServerConfig small{"mail.ums.com"};
  small.max_literal_size = 10;
  imap::ServerSession limited(small, *store);
  limited.take_output();
  limited.receive("a1 LOGIN uday {11}\r\n");
  CHECK(limited.take_output() == "a1 BAD literal too large\r\n");
}

TEST_CASE("IMAP server: only CRLF ends a line; long lines refused", "[imap]") {
  auto store = make_store();
  imap::ServerConfig config{"mail.ums.com"};
  config.max_line_length = 64;
  imap::ServerSession server(config, *store);
  server.take_output();
  server.receive("a1 NOOP\na2 NOOP\r\n");  // one line "a1 NOOP\na2 NOOP"
  CHECK(server.take_output() == "a1 BAD unexpected text at end of command\r\n");
  server.receive("a3 NOOP\rx\r\n");
  CHECK(server.take_output() == "a3 BAD unexpected text at end of command\r\n");
  server.receive("a4 " + std::string(100000, 'x') + "\r\na5 NOOP\r\n");
  CHECK(server.take_output() == "a4 BAD command line too long\r\na5 OK NOOP completed\r\n");
}

TEST_CASE("IMAP server: output and events do not depend on input chunking", "[imap]") {
  std::string transcript = CRLF(
      "a1 LOGIN {4}\nuday \"secret\"\na2 SELECT INBOX\na3 UID SEARCH UNSEEN\n"
      "a4 UID FETCH 1 (BODY.PEEK[] FLAGS)\na5 UID STORE 1 +FLAGS (\\Seen)\n"
      "a6 APPEND INBOX {5}\nabcde\na7 NOOP\nbad\r\r\na8 IDLE\nDONE\na9 FETCH 1:* (UID FLAGS)\n"
      "b1 LOGOUT\nb2 NOOP\n");
  auto run = [&](std::size_t chunk) {
    auto store = make_store();
    imap::ServerSession server({"mail.ums.com"}, *store);
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
    std::string events;
    for (const auto& e : server.take_events())
      events += std::to_string(static_cast<int>(e.kind)) + " " + e.detail + "\n";
    return std::make_pair(server.take_output(), events);
  };
  auto whole = run(transcript.size());
  CHECK(whole.first.find("* 2 EXISTS\r\n* 2 RECENT\r\na6 OK [APPENDUID 1 2] APPEND completed\r\n"
                         "a7 OK NOOP completed\r\n* BAD invalid tag\r\n+ idling\r\n") !=
        std::string::npos);
  CHECK(whole.first.find("b1 OK LOGOUT completed\r\n") == whole.first.size() - 24);
  CHECK(run(0) == whole);
  CHECK(run(1) == whole);
  CHECK(run(5) == whole);
}

TEST_CASE("IMAP server: LOGOUT says BYE then OK and closes (RFC 3501 6.1.3)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  CHECK(s.say("a1 LOGOUT\na2 NOOP\n") ==
        CRLF("* BYE mail.ums.com IMAP4rev1 server logging out\na1 OK LOGOUT completed\n"));
  CHECK(s.server.closed());
  CHECK(s.server.state_name() == "logout");
}

TEST_CASE("IMAP client and server in memory: new mail read, \\Seen in the store", "[imap]") {
  auto store = make_store();
  imap::ServerSession server({"mail.ums.com"}, *store);
  imap::ClientSession client(client_config("uday@ums.com", "secret"));
  std::string transcript = converse(client, server);

  CHECK(transcript ==
        "S: " + kGreeting +
            "C: a1 LOGIN uday@ums.com secret\r\n"
            "S: a1 OK LOGIN completed\r\n"
            "C: a2 SELECT INBOX\r\n"
            "S: " +
            kSelectOne +
            "C: a3 UID SEARCH UNSEEN\r\n"
            "S: * SEARCH 1\r\na3 OK UID SEARCH completed\r\n"
            "C: a4 UID FETCH 1 (BODY.PEEK[] FLAGS)\r\n"
            "S: * 1 FETCH (UID 1 BODY[] {91}\r\n" +
            kMessage +
            " FLAGS (\\Recent))\r\na4 OK UID FETCH completed\r\n"
            "C: a5 UID STORE 1 +FLAGS (\\Seen)\r\n"
            "S: * 1 FETCH (UID 1 FLAGS (\\Recent \\Seen))\r\na5 OK UID STORE completed\r\n"
            "C: a6 LOGOUT\r\n"
            "S: * BYE mail.ums.com IMAP4rev1 server logging out\r\na6 OK LOGOUT completed\r\n");
  CHECK(client.succeeded());
  CHECK(client.closed());
  CHECK(server.closed());
  REQUIRE(client.fetched().size() == 1);
  CHECK(client.fetched()[0].uid == 1);
  CHECK(client.fetched()[0].text == kMessage);
  CHECK(client.fetched()[0].flags == std::set<std::string>{"\\Recent", "\\Seen"});
  CHECK(inbox(*store).messages()[0].flags == std::set<std::string>{"\\Seen"});

  auto events = client.take_events();
  auto fetched = std::find_if(events.begin(), events.end(), [](const imap::ClientEvent& e) {
    return e.kind == imap::ClientEvent::Kind::message_fetched;
  });
  REQUIRE(fetched != events.end());
  CHECK(fetched->message.text == kMessage);
  CHECK(fetched->message.flags == std::set<std::string>{"\\Recent"});  // as fetched
  CHECK(events.back().kind == imap::ClientEvent::Kind::finished);

  // A second check finds nothing new and goes SEARCH -> LOGOUT.
  imap::ServerSession again({"mail.ums.com"}, *store);
  imap::ClientSession second(client_config("uday", "secret"));
  std::string t2 = converse(second, again);
  CHECK(t2.find("S: * SEARCH\r\na3 OK UID SEARCH completed\r\nC: a4 LOGOUT\r\n") !=
        std::string::npos);
  CHECK(second.succeeded());
  CHECK(second.fetched().empty());
}

TEST_CASE(
    "IMAP client: a sent message kept in Sent with APPEND, CREATE on TRYCREATE "
    "(RFC 3501 6.3.11)",
    "[imap]") {
  auto store = make_store(0);
  imap::ServerSession server({"mail.ums.com"}, *store);
  auto config = client_config("uday@ums.com", "secret");
  config.append_message = kMessage;
  imap::ClientSession client(config);
  std::string transcript = converse(client, server);

  const auto* sent = store->find_account("uday")->folder("Sent");
  REQUIRE(sent != nullptr);
  CHECK(transcript ==
        "S: " + kGreeting +
            "C: a1 LOGIN uday@ums.com secret\r\n"
            "S: a1 OK LOGIN completed\r\n"
            "C: a2 APPEND Sent (\\Seen) {91}\r\n"
            "S: + Ready for literal data\r\n"
            "C: " +
            kMessage +
            "\r\n"
            "S: a2 NO [TRYCREATE] no such mailbox\r\n"
            "C: a3 CREATE Sent\r\n"
            "S: a3 OK CREATE completed\r\n"
            "C: a4 APPEND Sent (\\Seen) {91}\r\n"
            "S: + Ready for literal data\r\n"
            "C: " +
            kMessage + "\r\n" +
            fmt::format("S: a4 OK [APPENDUID {} 1] APPEND completed\r\n", sent->uidvalidity()) +
            "C: a5 LOGOUT\r\n"
            "S: * BYE mail.ums.com IMAP4rev1 server logging out\r\na5 OK LOGOUT completed\r\n");
  CHECK(client.succeeded());
  REQUIRE(sent->messages().size() == 1);
  CHECK(sent->messages()[0].text == kMessage);
  CHECK(sent->messages()[0].flags == std::set<std::string>{"\\Seen"});
  CHECK(inbox(*store).messages().empty());
  auto events = client.take_events();
  CHECK(std::count_if(events.begin(), events.end(), [](const imap::ClientEvent& e) {
          return e.kind == imap::ClientEvent::Kind::message_appended && e.detail == "Sent";
        }) == 1);

  // The folder exists now: the next copy goes in with one APPEND.
  imap::ServerSession again({"mail.ums.com"}, *store);
  imap::ClientSession second(config);
  std::string t2 = converse(second, again);
  CHECK(t2.find("C: a2 APPEND Sent (\\Seen) {91}\r\nS: + Ready for literal data\r\n") !=
        std::string::npos);
  CHECK(t2.find("CREATE") == std::string::npos);
  CHECK(sent->messages().size() == 2);
}

TEST_CASE("IMAP client: headers first, then only the chosen message whole (RFC 3501 6.4.5)",
          "[imap]") {
  auto store = make_store(0);
  store->deliver("uday@ums.com", kMultipart, 1);
  store->deliver("uday@ums.com", kMessage, 2);
  imap::ServerSession server({"mail.ums.com"}, *store);
  auto config = client_config("uday@ums.com", "secret");
  config.headers_first = true;
  config.open = {"hi"};
  imap::ClientSession client(config);
  std::string transcript = converse(client, server);

  CHECK(transcript.find("C: a3 UID SEARCH UNSEEN\r\nS: * SEARCH 1 2\r\na3 OK UID SEARCH "
                        "completed\r\nC: a4 UID FETCH 1,2 (RFC822.SIZE BODY.PEEK[HEADER])\r\n"
                        "S: * 1 FETCH (UID 1 RFC822.SIZE " +
                        std::to_string(kMultipart.size()) + " BODY[HEADER] {") !=
        std::string::npos);
  CHECK(transcript.find("C: a5 UID FETCH 2 (BODY.PEEK[] FLAGS)\r\n") != std::string::npos);
  CHECK(transcript.find("UID FETCH 1 (BODY.PEEK[]") == std::string::npos);
  CHECK(client.succeeded());
  REQUIRE(client.fetched().size() == 1);
  CHECK(client.fetched()[0].uid == 2);
  CHECK(client.fetched()[0].text == kMessage);
  CHECK(inbox(*store).messages()[0].flags.empty());  // listed, never opened: still unseen
  CHECK(inbox(*store).messages()[1].flags == std::set<std::string>{"\\Seen"});

  auto events = client.take_events();
  std::vector<imap::FetchedMessage> headers;
  for (const auto& e : events)
    if (e.kind == imap::ClientEvent::Kind::header_fetched) headers.push_back(e.message);
  REQUIRE(headers.size() == 2);
  CHECK(headers[0].uid == 1);
  CHECK(headers[0].size == kMultipart.size());
  CHECK(headers[0].header ==
        "From: rav@cms.com\r\nSubject: report\r\n"
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
  CHECK(headers[1].size == 91);
}

TEST_CASE("IMAP client: a user opens one message by subject: its body with BODY.PEEK[], then "
          "the Seen flag with UID STORE (RFC 3501 6.4.4, 6.4.5, 6.4.6)",
          "[imap]") {
  auto store = make_store(0);
  store->deliver("uday@ums.com", kMultipart, 1);
  store->deliver("uday@ums.com", kMessage, 2);
  imap::ServerSession server({"mail.ums.com"}, *store);
  auto config = client_config("uday@ums.com", "secret");
  config.act_subject = "hi";
  config.act_fetch = true;
  imap::ClientSession client(config);
  std::string transcript = converse(client, server);

  INFO(transcript);
  // 6.4.5: BODY.PEEK[] leaves \Seen unset, so the FETCH answers FLAGS (\Recent); 6.4.6: STORE
  // sets it and the server returns the new flags.
  CHECK(transcript.find("C: a3 UID SEARCH SUBJECT hi\r\nS: * SEARCH 2\r\n"
                        "a3 OK UID SEARCH completed\r\n"
                        "C: a4 UID FETCH 2 (BODY.PEEK[] FLAGS)\r\n"
                        "S: * 2 FETCH (UID 2 BODY[] {91}\r\n" +
                        kMessage +
                        " FLAGS (\\Recent))\r\na4 OK UID FETCH completed\r\n"
                        "C: a5 UID STORE 2 +FLAGS (\\Seen)\r\n"
                        "S: * 2 FETCH (UID 2 FLAGS (\\Recent \\Seen))\r\n"
                        "a5 OK UID STORE completed\r\n"
                        "C: a6 LOGOUT\r\n") != std::string::npos);
  CHECK(client.succeeded());
  REQUIRE(client.fetched().size() == 1);
  CHECK(client.fetched()[0].uid == 2);
  CHECK(client.fetched()[0].text == kMessage);
  CHECK(client.fetched()[0].flags == std::set<std::string>{"\\Recent", "\\Seen"});
  CHECK(inbox(*store).messages()[0].flags.empty());
  CHECK(inbox(*store).messages()[1].flags == std::set<std::string>{"\\Seen"});
  int fetched = 0, seen = 0;
  for (const auto& e : client.take_events()) {
    fetched += e.kind == imap::ClientEvent::Kind::message_fetched && e.message.text == kMessage;
    seen += e.kind == imap::ClientEvent::Kind::message_seen && e.detail == "UID 2";
  }
  CHECK(fetched == 1);
  CHECK(seen == 1);
}

TEST_CASE("IMAP client: a device that holds the body already opens the message with the "
          "Seen flag alone (RFC 3501 6.4.4, 6.4.6)",
          "[imap]") {
  auto store = make_store(0);
  store->deliver("uday@ums.com", kMultipart, 1);
  store->deliver("uday@ums.com", kMessage, 2);
  imap::ServerSession server({"mail.ums.com"}, *store);
  auto config = client_config("uday@ums.com", "secret");
  config.act_subject = "hi";
  imap::ClientSession client(config);
  std::string transcript = converse(client, server);

  CHECK(transcript.find("C: a3 UID SEARCH SUBJECT hi\r\nS: * SEARCH 2\r\n"
                        "a3 OK UID SEARCH completed\r\nC: a4 UID STORE 2 +FLAGS (\\Seen)\r\n") !=
        std::string::npos);
  CHECK(transcript.find("BODY.PEEK") == std::string::npos);
  CHECK(client.succeeded());
  CHECK(inbox(*store).messages()[0].flags.empty());
  CHECK(inbox(*store).messages()[1].flags == std::set<std::string>{"\\Seen"});
  bool seen = false;
  for (const auto& e : client.take_events())
    seen |= e.kind == imap::ClientEvent::Kind::message_seen && e.detail == "UID 2";
  CHECK(seen);
}

TEST_CASE("IMAP client: a user moves a message to a new folder: UID MOVE, NO [TRYCREATE], "
          "CREATE, UID MOVE (RFC 6851 3.1, RFC 3501 6.3.3)",
          "[imap]") {
  auto store = make_store(0);
  store->deliver("uday@ums.com", kMultipart, 1);
  store->deliver("uday@ums.com", kMessage, 2);
  imap::ServerSession server({"mail.ums.com"}, *store);
  auto config = client_config("uday@ums.com", "secret");
  config.act_subject = "hi";
  config.move_to = "Family";
  imap::ClientSession client(config);
  std::string transcript = converse(client, server);

  CHECK(transcript.find("C: a4 UID MOVE 2 Family\r\nS: a4 NO [TRYCREATE]") != std::string::npos);
  CHECK(transcript.find("C: a5 CREATE Family\r\nS: a5 OK CREATE completed\r\n"
                        "C: a6 UID MOVE 2 Family\r\n") != std::string::npos);
  CHECK(client.succeeded());
  REQUIRE(inbox(*store).messages().size() == 1);
  auto* family = store->find_account("uday")->folder("Family");
  REQUIRE(family != nullptr);
  REQUIRE(family->messages().size() == 1);
  CHECK(family->messages()[0].text == kMessage);

  imap::ServerSession again({"mail.ums.com"}, *store);
  config.act_subject = "no such subject";
  imap::ClientSession missing(config);
  converse(missing, again);
  CHECK_FALSE(missing.succeeded());

  // A read step that would fetch the body fails just the same when nothing matches.
  imap::ServerSession third({"mail.ums.com"}, *store);
  config.move_to.reset();
  config.act_fetch = true;
  imap::ClientSession unread(config);
  std::string t3 = converse(unread, third);
  CHECK_FALSE(unread.succeeded());
  CHECK(t3.find("UID FETCH") == std::string::npos);
  CHECK(t3.find("UID STORE") == std::string::npos);
}

TEST_CASE("IMAP client: quoted strings and literals as the grammar needs (RFC 3501 4.3)",
          "[imap]") {
  CHECK(imap::astring_or_quoted("uday@ums.com") == std::optional<std::string>("uday@ums.com"));
  CHECK(imap::astring_or_quoted("two words") == std::optional<std::string>("\"two words\""));
  CHECK(imap::astring_or_quoted("a\"b\\c") == std::optional<std::string>("\"a\\\"b\\\\c\""));
  CHECK(imap::astring_or_quoted("") == std::optional<std::string>("\"\""));
  CHECK(imap::astring_or_quoted("{5}") == std::optional<std::string>("\"{5}\""));
  CHECK_FALSE(imap::astring_or_quoted("caf\xc3\xa9").has_value());

  auto store = std::make_unique<MailStore>("ums.com");
  store->add_account("uday@ums.com", "p\xc3\xa4ss word");
  store->deliver("uday@ums.com", kMessage, 1);
  imap::ServerSession server({"mail.ums.com"}, *store);
  imap::ClientSession client(client_config("uday", "p\xc3\xa4ss word"));
  std::string transcript = converse(client, server);
  CHECK(transcript.find("C: a1 LOGIN uday {10}\r\nS: + Ready for literal data\r\n"
                        "C: p\xc3\xa4ss word\r\nS: a1 OK LOGIN completed\r\n") !=
        std::string::npos);
  CHECK(client.succeeded());
  CHECK(client.fetched().size() == 1);
}

TEST_CASE("IMAP client: wrong password fails and logs out", "[imap]") {
  auto store = make_store();
  imap::ServerSession server({"mail.ums.com"}, *store);
  imap::ClientSession client(client_config("uday", "nope"));
  std::string transcript = converse(client, server);
  CHECK(transcript.find("S: a1 NO LOGIN failed: wrong user name or password\r\n"
                        "C: a2 LOGOUT\r\n") != std::string::npos);
  CHECK(client.closed());
  CHECK_FALSE(client.succeeded());
}

TEST_CASE("IMAP client: responses parsed the same byte by byte", "[imap]") {
  auto store = make_store(3);
  imap::ServerSession server({"mail.ums.com"}, *store);
  imap::ClientSession client(client_config("uday", "secret"));
  for (int round = 0; round < 100; ++round) {
    std::string s = server.take_output();
    for (char ch : s) client.receive(std::string_view(&ch, 1));
    std::string c = client.take_output();
    server.receive(c);
    if (s.empty() && c.empty()) break;
  }
  CHECK(client.succeeded());
  REQUIRE(client.fetched().size() == 3);
  CHECK(client.fetched()[2].uid == 3);
  CHECK(client.fetched()[2].text == kMessage);
  CHECK(inbox(*store).unseen_count() == 0);
}

TEST_CASE("IMAP server: EXAMINE is read-only (RFC 3501 6.3.2)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\n");
  CHECK(s.say("a2 EXAMINE INBOX\n") ==
        CRLF("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n"
             "* 1 EXISTS\n"
             "* 1 RECENT\n"
             "* OK [UNSEEN 1] Message 1 is first unseen\n"
             "* OK [UIDVALIDITY 1] UIDs valid\n"
             "* OK [UIDNEXT 2] Predicted next UID\n"
             "* OK [PERMANENTFLAGS ()] No permanent flags permitted\n"
             "a2 OK [READ-ONLY] EXAMINE completed\n"));
  CHECK(s.say("a3 STORE 1 +FLAGS (\\Seen)\na4 EXPUNGE\n") ==
        CRLF("a3 NO mailbox is read-only\na4 NO mailbox is read-only\n"));
  s.say("a5 FETCH 1 BODY[TEXT]\n");
  CHECK(inbox(*store).messages()[0].flags.empty());  // no implicit \Seen either

  // EXAMINE claims nothing: a later SELECT still gets the message as \Recent.
  Session t(*store);
  t.say("a1 LOGIN uday secret\n");
  CHECK(t.say("a2 SELECT INBOX\n") == kSelectOne);
}

TEST_CASE("IMAP server: other sessions' changes arrive as untagged updates (RFC 3501 5.2)",
          "[imap]") {
  auto store = make_store(2);
  Session a(*store), b(*store);
  a.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  b.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");

  store->deliver("uday@ums.com", kMessage, 300);
  CHECK(a.say("a3 NOOP\n") == CRLF("* 3 EXISTS\n* 3 RECENT\na3 OK NOOP completed\n"));

  CHECK(b.say("b1 STORE 1 +FLAGS (\\Deleted)\nb2 EXPUNGE\n") ==
        CRLF("* 1 FETCH (FLAGS (\\Deleted))\n* 3 EXISTS\n* 0 RECENT\nb1 OK STORE completed\n"
             "* 1 EXPUNGE\nb2 OK EXPUNGE completed\n"));
  // No EXPUNGE during FETCH (RFC 3501 7.4.1); sequence numbers stay as the client knows them.
  CHECK(a.say("a4 FETCH 2 (UID)\n") == CRLF("* 2 FETCH (UID 2)\na4 OK FETCH completed\n"));
  CHECK(a.say("a5 FETCH 1 (UID)\n") == "a5 OK FETCH completed\r\n");  // gone, not yet reported
  CHECK(a.say("a6 NOOP\n") == CRLF("* 1 EXPUNGE\na6 OK NOOP completed\n"));
  CHECK(a.say("a7 FETCH 1 (UID)\n") == CRLF("* 1 FETCH (UID 2)\na7 OK FETCH completed\n"));

  // Flag changes by others come as FETCH FLAGS.
  b.say("b3 UID STORE 2 +FLAGS.SILENT (\\Answered)\n");
  CHECK(a.say("a8 NOOP\n") ==
        CRLF("* 1 FETCH (FLAGS (\\Answered \\Recent))\na8 OK NOOP completed\n"));
}

TEST_CASE("IMAP server: IDLE pushes EXISTS when mail arrives (RFC 2177)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("a3 IDLE\n") == "+ idling\r\n");
  CHECK(s.server.idling());
  s.server.poll();
  CHECK(s.server.take_output().empty());

  store->deliver("uday@ums.com", kMessage, 500);
  s.server.poll();
  CHECK(s.server.take_output() == CRLF("* 2 EXISTS\n* 2 RECENT\n"));
  s.server.poll();
  CHECK(s.server.take_output().empty());
  CHECK(s.say("DONE\n") == "a3 OK IDLE terminated\r\n");
  CHECK_FALSE(s.server.idling());

  s.say("a4 IDLE\n");
  CHECK(s.say("a5 NOOP\n") == "a4 BAD expected DONE\r\n");
}

// A server that goes off ends its sessions, an IDLE one too: "A server MUST NOT unilaterally
// close the connection without sending an untagged BYE response that contains the reason"
// (rfc3501.txt 3.4), "as a panic shutdown announcement. The server closes the connection
// immediately" (rfc3501.txt 7.1.5, case 2). The client in IDLE takes it as the end.
TEST_CASE("IMAP server: shutting down says BYE and closes, also in IDLE (rfc3501.txt 7.1.5)",
          "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("a3 IDLE\n") == "+ idling\r\n");
  s.server.shut_down();
  CHECK(s.server.take_output() == "* BYE mail.ums.com IMAP4rev1 server shutting down\r\n");
  CHECK(s.server.closed());
  CHECK(s.say("DONE\n").empty());

  auto config = client_config("uday", "secret");
  config.idle = true;
  imap::ClientSession client(config);
  client.receive(CRLF("* OK ready\na1 OK LOGIN completed\n* 0 EXISTS\na2 OK SELECT completed\n"
                      "+ idling\n"));
  client.take_output();
  CHECK(client.idling());
  client.receive("* BYE mail.ums.com IMAP4rev1 server shutting down\r\n");
  CHECK(client.closed());
  CHECK(client.take_output().empty());
}

TEST_CASE("IMAP server: CREATE, LIST, RENAME, DELETE, SUBSCRIBE, LSUB (RFC 3501 6.3)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\n");
  CHECK(s.say("a2 CREATE Work/2026/\na3 CREATE inbox\na4 CREATE Work\n"
              "a5 CREATE \"Old mail\"\n") ==
        CRLF("a2 OK CREATE completed\na3 NO INBOX always exists\n"
             "a4 NO mailbox already exists\na5 OK CREATE completed\n"));
  CHECK(s.say("a6 LIST \"\" *\n") == CRLF("* LIST () \"/\" INBOX\n"
                                          "* LIST () \"/\" \"Old mail\"\n"
                                          "* LIST () \"/\" Work\n"
                                          "* LIST () \"/\" Work/2026\n"
                                          "a6 OK LIST completed\n"));
  CHECK(s.say("a7 LIST \"\" %\na8 LIST Work/ %\na9 LIST \"\" \"\"\n") ==
        CRLF("* LIST () \"/\" INBOX\n* LIST () \"/\" \"Old mail\"\n* LIST () \"/\" Work\n"
             "a7 OK LIST completed\n"
             "* LIST () \"/\" Work/2026\na8 OK LIST completed\n"
             "* LIST (\\Noselect) \"/\" \"\"\na9 OK LIST completed\n"));
  CHECK(s.say("b1 RENAME Work Play\nb2 RENAME Nope X\nb3 RENAME Play INBOX\n") ==
        CRLF("b1 OK RENAME completed\nb2 NO no such mailbox\nb3 NO cannot rename to INBOX\n"));
  CHECK(s.say("b4 DELETE Play\nb5 LIST \"\" Play*\n") ==
        CRLF("b4 OK DELETE completed\n"
             "* LIST (\\Noselect) \"/\" Play\n* LIST () \"/\" Play/2026\nb5 OK LIST completed\n"));
  CHECK(s.say("b6 DELETE INBOX\nb7 DELETE Play\n") ==
        CRLF("b6 NO INBOX cannot be deleted\nb7 NO no such mailbox\n"));
  CHECK(s.say("b8 SUBSCRIBE Play/2026\nb9 LSUB \"\" *\nc1 UNSUBSCRIBE INBOX\nc2 LSUB \"\" *\n") ==
        CRLF("b8 OK SUBSCRIBE completed\n"
             "* LSUB () \"/\" INBOX\n* LSUB () \"/\" Play/2026\nb9 OK LSUB completed\n"
             "c1 OK UNSUBSCRIBE completed\n"
             "* LSUB () \"/\" Play/2026\nc2 OK LSUB completed\n"));
}

TEST_CASE("IMAP server: STATUS and APPEND with flags and date (RFC 3501 6.3.10, 6.3.11)",
          "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 CREATE Sent\n");
  CHECK(s.say("a3 STATUS INBOX (UNSEEN MESSAGES UIDNEXT UIDVALIDITY RECENT)\n") ==
        CRLF("* STATUS INBOX (UNSEEN 1 MESSAGES 1 UIDNEXT 2 UIDVALIDITY 1 RECENT 1)\n"
             "a3 OK STATUS completed\n"));
  CHECK(s.say("a4 STATUS Nope (MESSAGES)\na5 STATUS INBOX (SIZE)\n") ==
        CRLF("a4 NO no such mailbox\na5 BAD unknown status item SIZE\n"));
  CHECK(s.say("a6 APPEND Sent (\\Seen \\Draft) \" 4-Jan-2026 10:00:00 +0100\" {5}\n") ==
        "+ Ready for literal data\r\n");
  CHECK(s.say("abcde\n") == "a6 OK [APPENDUID 2 1] APPEND completed\r\n");
  const auto* sent = store->find_account("uday")->folder("Sent");
  REQUIRE(sent->messages().size() == 1);
  CHECK(sent->messages()[0].flags == std::set<std::string>{"\\Draft", "\\Seen"});
  CHECK(sent->messages()[0].internal_date == 1767517200.0);  // 2026-01-04 09:00:00 UTC
  CHECK(s.say("a7 APPEND Nope {1}\nx\n") ==
        "+ Ready for literal data\r\na7 NO [TRYCREATE] no such mailbox\r\n");
  CHECK(s.say("a8 APPEND Sent \"bad date\" {1}\nx\n") ==
        "+ Ready for literal data\r\na8 BAD invalid date-time\r\n");
  CHECK(s.say("a9 SELECT Sent\nb1 FETCH 1 (INTERNALDATE FLAGS)\n")
            .find("* 1 FETCH (INTERNALDATE \"04-Jan-2026 09:00:00 +0000\" FLAGS (\\Draft \\Recent "
                  "\\Seen))\r\n") != std::string::npos);
}

TEST_CASE("IMAP server: COPY, MOVE with COPYUID (RFC 3501 6.4.7, RFC 6851 3, RFC 4315 3)",
          "[imap]") {
  auto store = make_store(3);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 CREATE Trash\na3 SELECT INBOX\n");
  s.say("a4 STORE 1 +FLAGS.SILENT (\\Flagged)\n");
  CHECK(s.say("a5 COPY 1:2 Trash\na6 COPY 1 Nope\n") ==
        CRLF("a5 OK [COPYUID 2 1:2 1:2] COPY completed\na6 NO [TRYCREATE] no such mailbox\n"));
  const auto* trash = store->find_account("uday")->folder("Trash");
  REQUIRE(trash->messages().size() == 2);
  CHECK(trash->messages()[0].flags == std::set<std::string>{"\\Flagged"});
  CHECK(s.say("a7 UID MOVE 3,1 Trash\n") ==
        CRLF("* OK [COPYUID 2 1,3 3:4] Moved\n* 1 EXPUNGE\n* 2 EXPUNGE\n"
             "a7 OK UID MOVE completed\n"));
  CHECK(inbox(*store).messages().size() == 1);
  CHECK(inbox(*store).messages()[0].uid == 2);
  CHECK(trash->messages().size() == 4);
  CHECK(trash->messages()[2].flags.count("\\Deleted") == 0);  // MOVE sets no \Deleted
}

TEST_CASE("IMAP server: EXPUNGE, UID EXPUNGE (RFC 4315 2.1) and CLOSE (RFC 3501 6.4.2)", "[imap]") {
  auto store = make_store(4);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  s.say("a3 STORE 1:3 +FLAGS.SILENT (\\Deleted)\n");
  CHECK(s.say("a4 UID EXPUNGE 2:3\n") ==
        CRLF("* 2 EXPUNGE\n* 2 EXPUNGE\na4 OK UID EXPUNGE completed\n"));
  CHECK(inbox(*store).messages().size() == 2);
  CHECK(s.say("a5 CLOSE\n") == "a5 OK CLOSE completed\r\n");  // silent expunge
  CHECK(s.server.state_name() == "authenticated");
  REQUIRE(inbox(*store).messages().size() == 1);
  CHECK(inbox(*store).messages()[0].uid == 4);
}

TEST_CASE("IMAP server: SEARCH keys (RFC 3501 6.4.4)", "[imap]") {
  auto store = std::make_unique<MailStore>("ums.com");
  store->add_account("uday@ums.com", "secret");
  store->deliver("uday",
                 "From: Rav <rav@cms.com>\r\nSubject: Lunch\r\nDate: Sun, 4 Jan 2026 "
                 "10:00:00 +0000\r\n\r\nsee you\r\n",
                 86400 * 3);
  store->deliver("uday", "From: ana@ums.com\r\nSubject: report\r\n\r\nnumbers here\r\n", 86400 * 5);
  store->deliver("uday", kMessage, 86400 * 7);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\na3 STORE 2 +FLAGS.SILENT (\\Seen)\n");
  auto search = [&](const std::string& criteria) {
    std::string out = s.say("t SEARCH " + criteria + "\n");
    return out.substr(0, out.find("\r\n"));
  };
  CHECK(search("ALL") == "* SEARCH 1 2 3");
  CHECK(search("SEEN") == "* SEARCH 2");
  CHECK(search("UNSEEN FROM rav") == "* SEARCH 1 3");
  CHECK(search("SUBJECT LUNCH") == "* SEARCH 1");
  CHECK(search("OR SUBJECT lunch BODY numbers") == "* SEARCH 1 2");
  CHECK(search("NOT 1:2") == "* SEARCH 3");
  CHECK(search("2:*") == "* SEARCH 2 3");
  CHECK(search("UID 3") == "* SEARCH 3");
  CHECK(search("HEADER Message-ID m1") == "* SEARCH 3");
  CHECK(search("LARGER 60 SMALLER 91") == "* SEARCH 1");
  CHECK(search("SINCE 5-Jan-1970") == "* SEARCH 2 3");
  CHECK(search("BEFORE \"5-Jan-1970\"") == "* SEARCH 1");
  CHECK(search("ON 8-Jan-1970") == "* SEARCH 3");
  CHECK(search("SENTON 4-Jan-2026") == "* SEARCH 1");
  CHECK(search("(SEEN) (TEXT ana)") == "* SEARCH 2");
  CHECK(search("NEW") == "* SEARCH 1 3");
  CHECK(search("CHARSET UTF-8 TO uday") == "* SEARCH 3");
  CHECK(search("CHARSET KOI8-R ALL") == "t NO [BADCHARSET (US-ASCII UTF-8)] unsupported charset");
  CHECK(search("SINCE 5-Foo-1970") == "t BAD expected a date like 1-Feb-1994");
}

TEST_CASE("IMAP server: ENVELOPE, BODYSTRUCTURE, BODY[part], partial fetch (RFC 3501 7.4.2)",
          "[imap]") {
  auto store = std::make_unique<MailStore>("ums.com");
  store->add_account("uday@ums.com", "secret");
  store->deliver("uday", kMessage, 1);
  store->deliver("uday", kMultipart, 2);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 EXAMINE INBOX\n");
  CHECK(s.say("a3 FETCH 1 ENVELOPE\n") ==
        CRLF("* 1 FETCH (ENVELOPE (NIL \"hi\" ((\"Rav\" NIL \"rav\" \"cms.com\")) "
             "((\"Rav\" NIL \"rav\" \"cms.com\")) ((\"Rav\" NIL \"rav\" \"cms.com\")) "
             "((NIL NIL \"uday\" \"ums.com\")) NIL NIL NIL \"<m1@cms.com>\"))\n"
             "a3 OK FETCH completed\n"));
  CHECK(s.say("a4 FETCH 1 BODYSTRUCTURE\n") ==
        CRLF("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
             "\"7BIT\" 7 1 NIL NIL NIL NIL))\na4 OK FETCH completed\n"));
  CHECK(s.say("a5 FETCH 2 BODY\n") ==
        CRLF("* 2 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 8 1)"
             "(\"APPLICATION\" \"PDF\" NIL NIL NIL \"BASE64\" 4) \"MIXED\"))\n"
             "a5 OK FETCH completed\n"));
  CHECK(s.say("a6 FETCH 2 (BODY[1] BODY[2.MIME] BODY[3] BODY[1.TEXT])\n") ==
        CRLF("* 2 FETCH (BODY[1] {8}\npart one BODY[2.MIME] {68}\n"
             "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
             " BODY[3] NIL BODY[1.TEXT] NIL)\na6 OK FETCH completed\n"));
  CHECK(s.say("a7 FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject TO)] BODY.PEEK[]<6.3>)\n") ==
        CRLF("* 1 FETCH (BODY[HEADER.FIELDS (subject TO)] {33}\nTo: uday@ums.com\n"
             "Subject: hi\n\n BODY[]<6> {3}\nRav)\na7 OK FETCH completed\n"));
  CHECK(s.say("a8 FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (From To Subject)] BODY[TEXT])\n") ==
        CRLF("* 1 FETCH (BODY[HEADER.FIELDS.NOT (From To Subject)] {28}\n"
             "Message-ID: <m1@cms.com>\n\n BODY[TEXT] {7}\nhello\n)\na8 OK FETCH completed\n"));
  CHECK(s.say("a9 FETCH 1 FAST\n") ==
        CRLF("* 1 FETCH (FLAGS (\\Recent) INTERNALDATE \"01-Jan-1970 00:00:01 +0000\" "
             "RFC822.SIZE 91)\na9 OK FETCH completed\n"));
}

TEST_CASE("IMAP server: arbitrary bytes never crash or hang it", "[imap]") {
  // A fixed pseudo-random byte soup, after login, selected, and in IDLE.
  std::uint32_t x = 12345;
  auto next = [&]() {
    x = x * 1103515245u + 12345u;
    return static_cast<char>((x >> 16) & 0xff);
  };
  const char* alphabet = "a1 {}()[]<>\"\\*%:,.+-\r\n FETCH UID SEARCH LOGIN BODY[] 0123456789";
  std::size_t alphabet_size = std::string_view(alphabet).size();
  for (const char* prefix :
       {"", "a LOGIN uday secret\r\n", "a LOGIN uday secret\r\nb SELECT INBOX\r\n",
        "a LOGIN uday secret\r\nb SELECT INBOX\r\nc IDLE\r\n"}) {
    for (int run = 0; run < 20; ++run) {
      auto store = make_store(2);
      imap::ServerSession server({"mail.ums.com"}, *store);
      server.receive(prefix);
      std::string soup;
      for (int i = 0; i < 4000; ++i) {
        char c = next();
        soup += (run % 2) ? c : alphabet[static_cast<unsigned char>(c) % alphabet_size];
      }
      server.receive(soup);
      server.receive("\r\nz9 NOOP\r\n");
      server.poll();
      std::string out = server.take_output();
      CHECK((out.empty() || out.substr(out.size() - 2) == "\r\n"));
    }
  }
}

TEST_CASE("IMAP server: expunge events carry UID and Message-ID", "[imap]") {
  auto store = make_store(2);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\na3 STORE 2 +FLAGS.SILENT (\\Deleted)\n");
  s.server.take_events();
  CHECK(s.say("a4 EXPUNGE\n") == CRLF("* 2 EXPUNGE\na4 OK EXPUNGE completed\n"));
  auto events = s.server.take_events();
  REQUIRE(events.size() == 2);
  CHECK(events[1].kind == imap::ServerEvent::Kind::message_expunged);
  CHECK(events[1].detail == "INBOX");
  CHECK(events[1].uid == 2);
  CHECK(events[1].message_id == "<m1@cms.com>");
}

TEST_CASE("IMAP server: COPY into the selected mailbox reports EXISTS (RFC 3501 5.2)", "[imap]") {
  auto store = make_store(1);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("a3 COPY 1 INBOX\n") ==
        CRLF("* 2 EXISTS\n* 2 RECENT\na3 OK [COPYUID 1 1 2] COPY completed\n"));
  CHECK(s.say("a4 UID FETCH 2:* (FLAGS)\n") ==
        CRLF("* 2 FETCH (UID 2 FLAGS (\\Recent))\na4 OK UID FETCH completed\n"));
}

TEST_CASE("IMAP server: a selected mailbox deleted by another session ends it with BYE", "[imap]") {
  auto store = make_store(0);
  Session a(*store), b(*store);
  a.say("a1 LOGIN uday secret\na2 CREATE Work\na3 SELECT Work\n");
  b.say("b1 LOGIN uday secret\n");
  CHECK(a.say("a4 DELETE Work\n") == "a4 NO mailbox is selected\r\n");
  CHECK(b.say("b2 DELETE Work\n") == "b2 OK DELETE completed\r\n");
  CHECK(a.say("a5 NOOP\n") == "* BYE the selected mailbox no longer exists\r\n");
  CHECK(a.server.closed());
}

TEST_CASE("IMAP server: RENAME INBOX moves its messages (RFC 3501 6.3.5)", "[imap]") {
  auto store = make_store(2);
  Session s(*store);
  s.say("a1 LOGIN uday secret\n");
  CHECK(s.say("a2 RENAME INBOX Archive\na3 STATUS INBOX (MESSAGES)\n"
              "a4 STATUS Archive (MESSAGES)\n") ==
        CRLF("a2 OK RENAME completed\n* STATUS INBOX (MESSAGES 0)\na3 OK STATUS completed\n"
             "* STATUS Archive (MESSAGES 2)\na4 OK STATUS completed\n"));
}

TEST_CASE("IMAP server: BODY[HEADER], BODY.PEEK[HEADER] and the RFC822 items (RFC 3501 6.4.5)",
          "[imap]") {
  // rfc3501.txt 6.4.5: RFC822.HEADER is BODY.PEEK[HEADER], RFC822 is BODY[] and RFC822.TEXT
  // is BODY[TEXT]; only the non-PEEK forms set \Seen.
  const std::string header =
      "From: Rav <rav@cms.com>\r\nTo: uday@ums.com\r\nSubject: hi\r\n"
      "Message-ID: <m1@cms.com>\r\n\r\n";
  REQUIRE(header.size() == 84);
  auto store = make_store(3);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("a3 FETCH 1 BODY.PEEK[HEADER]\n") ==
        "* 1 FETCH (BODY[HEADER] {84}\r\n" + header + ")\r\na3 OK FETCH completed\r\n");
  CHECK(s.say("a4 FETCH 1 RFC822.HEADER\n") ==
        "* 1 FETCH (RFC822.HEADER {84}\r\n" + header + ")\r\na4 OK FETCH completed\r\n");
  CHECK(inbox(*store).messages()[0].flags.empty());
  CHECK(s.say("a5 FETCH 1 BODY[HEADER]\n") == "* 1 FETCH (BODY[HEADER] {84}\r\n" + header +
                                                  " FLAGS (\\Recent \\Seen))\r\n"
                                                  "a5 OK FETCH completed\r\n");
  CHECK(s.say("a6 FETCH 2 RFC822.TEXT\n") ==
        CRLF("* 2 FETCH (RFC822.TEXT {7}\nhello\n FLAGS (\\Recent \\Seen))\n"
             "a6 OK FETCH completed\n"));
  CHECK(s.say("a7 FETCH 3 (FLAGS RFC822)\n") ==
        "* 3 FETCH (FLAGS (\\Recent \\Seen) RFC822 {91}\r\n" + kMessage +
            ")\r\na7 OK FETCH completed\r\n");
  CHECK(inbox(*store).unseen_count() == 0);
}

TEST_CASE("IMAP server: the ALL and FULL macros (RFC 3501 6.4.5)", "[imap]") {
  auto store = make_store();
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 EXAMINE INBOX\n");
  const std::string envelope =
      "ENVELOPE (NIL \"hi\" ((\"Rav\" NIL \"rav\" \"cms.com\")) "
      "((\"Rav\" NIL \"rav\" \"cms.com\")) ((\"Rav\" NIL \"rav\" \"cms.com\")) "
      "((NIL NIL \"uday\" \"ums.com\")) NIL NIL NIL \"<m1@cms.com>\")";
  const std::string fast =
      "FLAGS (\\Recent) INTERNALDATE \"01-Jan-1970 00:01:40 +0000\" RFC822.SIZE 91";
  CHECK(s.say("a3 FETCH 1 ALL\n") ==
        "* 1 FETCH (" + fast + " " + envelope + ")\r\na3 OK FETCH completed\r\n");
  CHECK(s.say("a4 FETCH 1 FULL\n") ==
        "* 1 FETCH (" + fast + " " + envelope +
            " BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 7 1))\r\n"
            "a4 OK FETCH completed\r\n");
}

TEST_CASE("IMAP server: UID FETCH and UID COPY of absent UIDs, n:* ranges (RFC 3501 6.4.8)",
          "[imap]") {
  auto store = make_store(3);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 CREATE Archive\na3 SELECT INBOX\n");
  // rfc3501.txt 6.4.8: UIDs not in the mailbox are no error, and "n:*" with n past the last
  // UID still names the last message, since a range has no order.
  CHECK(s.say("a4 UID FETCH 7 FLAGS\n") == "a4 OK UID FETCH completed\r\n");
  CHECK(s.say("a5 UID FETCH 9:* FLAGS\n") ==
        CRLF("* 3 FETCH (UID 3 FLAGS (\\Recent))\na5 OK UID FETCH completed\n"));
  // rfc4315.txt 3: COPYUID names the source UIDs and the UIDs they got, in the same order.
  CHECK(s.say("a6 UID COPY 2:3 Archive\n") == "a6 OK [COPYUID 2 2:3 1:2] UID COPY completed\r\n");
  CHECK(s.say("a7 UID COPY 8 Archive\n") == "a7 OK UID COPY completed\r\n");
  CHECK(s.say("a8 UID COPY 1 Nope\n") == "a8 NO [TRYCREATE] no such mailbox\r\n");
  const auto& archived = store->find_account("uday")->folder("Archive")->messages();
  REQUIRE(archived.size() == 2);
  CHECK(archived[0].internal_date == 101.0);  // rfc3501.txt 6.4.7: the date goes with the copy
  CHECK(archived[1].internal_date == 102.0);
}

TEST_CASE("IMAP server: MOVE by sequence number (RFC 6851 3.1, 4.3)", "[imap]") {
  auto store = make_store(3);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 CREATE Archive\na3 SELECT INBOX\n");
  CHECK(s.say("a4 MOVE 2 Archive\n") ==
        CRLF("* OK [COPYUID 2 2 1] Moved\n* 2 EXPUNGE\na4 OK MOVE completed\n"));
  CHECK(s.say("a5 FETCH 2 (UID)\n") == CRLF("* 2 FETCH (UID 3)\na5 OK FETCH completed\n"));
  CHECK(s.say("a6 MOVE 1 Nope\n") == "a6 NO [TRYCREATE] no such mailbox\r\n");
  CHECK(s.say("a7 MOVE 3 Archive\n") == "a7 BAD invalid message sequence number\r\n");
  CHECK(inbox(*store).messages().size() == 2);

  // rfc6851.txt 3.3: MOVE is COPY, STORE \Deleted and UID EXPUNGE in one; a read-only
  // mailbox allows none of the last two.
  Session t(*store);
  t.say("b1 LOGIN uday secret\nb2 EXAMINE INBOX\n");
  CHECK(t.say("b3 MOVE 1 Archive\n") == "b3 NO mailbox is read-only\r\n");
}

TEST_CASE("IMAP server: IDLE pushes other sessions' flag changes and EXPUNGE (RFC 2177 3)",
          "[imap]") {
  auto store = make_store(2);
  Session a(*store), b(*store);
  a.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  b.say("b1 LOGIN uday secret\nb2 SELECT INBOX\n");
  CHECK(a.say("a3 IDLE\n") == "+ idling\r\n");

  CHECK(b.say("b3 STORE 2 +FLAGS.SILENT (\\Flagged)\n") == "b3 OK STORE completed\r\n");
  a.server.poll();
  CHECK(a.server.take_output() == "* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\n");

  // rfc3501.txt 7.4.1: EXPUNGE may be sent while no FETCH, STORE or SEARCH is in progress,
  // which is the case in IDLE.
  b.say("b4 STORE 1 +FLAGS.SILENT (\\Deleted)\nb5 EXPUNGE\n");
  a.server.poll();
  CHECK(a.server.take_output() == "* 1 EXPUNGE\r\n");
  CHECK(a.say("DONE\n") == "a3 OK IDLE terminated\r\n");
  CHECK(a.say("a4 FETCH 1 (UID)\n") == CRLF("* 1 FETCH (UID 2)\na4 OK FETCH completed\n"));
}

TEST_CASE("IMAP server: CLOSE after EXAMINE expunges nothing; CHECK; a failed SELECT deselects",
          "[imap]") {
  auto store = make_store(1);
  Session a(*store), b(*store);
  a.say("a1 LOGIN uday secret\na2 SELECT INBOX\na3 STORE 1 +FLAGS.SILENT (\\Deleted)\n");
  // rfc3501.txt 6.4.1
  CHECK(a.say("a4 CHECK\n") == "a4 OK CHECK completed\r\n");
  b.say("b1 LOGIN uday secret\n");
  CHECK(b.say("b2 CHECK\n") == "b2 BAD CHECK not allowed in authenticated state\r\n");
  b.say("b3 EXAMINE INBOX\n");
  // rfc3501.txt 6.4.2: no expunge when the mailbox was selected read-only.
  CHECK(b.say("b4 CLOSE\n") == "b4 OK CLOSE completed\r\n");
  CHECK(inbox(*store).messages().size() == 1);
  CHECK(b.server.state_name() == "authenticated");

  // rfc3501.txt 6.3.1: a SELECT that fails leaves no mailbox selected.
  CHECK(a.say("a5 SELECT Nope\n") == "a5 NO no such mailbox\r\n");
  CHECK(a.server.state_name() == "authenticated");
  CHECK(a.say("a6 FETCH 1 FLAGS\n") == "a6 BAD FETCH not allowed in authenticated state\r\n");
  CHECK(inbox(*store).messages().size() == 1);  // leaving by a failed SELECT expunges nothing
}

TEST_CASE("IMAP server: flag, keyword, address and sent-date search keys (RFC 3501 6.4.4)",
          "[imap]") {
  auto store = std::make_unique<MailStore>("ums.com");
  store->add_account("uday@ums.com", "secret");
  store->deliver("uday",
                 "From: a@x.org\r\nCc: carol@ums.com\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\n"
                 "Subject: one\r\n\r\nx\r\n",
                 1);
  store->deliver("uday",
                 "From: b@x.org\r\nBcc: dave@ums.com\r\nDate: Wed, 7 Jan 2026 10:00:00 +0000\r\n"
                 "Subject: two\r\n\r\ny\r\n",
                 2);
  store->deliver("uday", kMessage, 3);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  s.say(
      "a3 STORE 1 +FLAGS.SILENT (\\Answered \\Flagged)\n"
      "a4 STORE 2 +FLAGS.SILENT (\\Deleted $Work)\na5 STORE 3 +FLAGS.SILENT (\\Draft)\n");
  auto search = [&](const std::string& criteria) { return s.say("t SEARCH " + criteria + "\n"); };
  auto found = [](const std::string& numbers) {
    return "* SEARCH" + numbers + "\r\nt OK SEARCH completed\r\n";
  };
  CHECK(search("ANSWERED") == found(" 1"));
  CHECK(search("UNANSWERED") == found(" 2 3"));
  CHECK(search("FLAGGED") == found(" 1"));
  CHECK(search("UNFLAGGED") == found(" 2 3"));
  CHECK(search("DELETED") == found(" 2"));
  CHECK(search("UNDELETED") == found(" 1 3"));
  CHECK(search("DRAFT") == found(" 3"));
  CHECK(search("UNDRAFT") == found(" 1 2"));
  CHECK(search("KEYWORD $Work") == found(" 2"));
  CHECK(search("UNKEYWORD $Work") == found(" 1 3"));
  CHECK(search("CC carol") == found(" 1"));
  CHECK(search("BCC DAVE@UMS.COM") == found(" 2"));
  CHECK(search("SENTBEFORE 6-Jan-2026") == found(" 1"));
  CHECK(search("SENTSINCE 6-Jan-2026") == found(" 2"));  // no Date: never matches
  CHECK(search("RECENT") == found(" 1 2 3"));
  CHECK(search("OLD") == found(""));
  CHECK(search("SMALLER 1000 UID 2:*") == found(" 2 3"));
  CHECK(s.say("t UID SEARCH DELETED\n") == CRLF("* SEARCH 2\nt OK UID SEARCH completed\n"));
}

TEST_CASE("IMAP server: \\Recent is the server's; STORE and APPEND ignore it (RFC 3501 2.3.2)",
          "[imap]") {
  auto store = make_store(1);
  Session s(*store);
  s.say("a1 LOGIN uday secret\na2 SELECT INBOX\n");
  CHECK(s.say("a3 STORE 1 FLAGS (\\Recent \\Seen)\n") ==
        CRLF("* 1 FETCH (FLAGS (\\Recent \\Seen))\na3 OK STORE completed\n"));
  CHECK(s.say("a4 STORE 1 -FLAGS (\\Recent)\n") ==
        CRLF("* 1 FETCH (FLAGS (\\Recent \\Seen))\na4 OK STORE completed\n"));
  CHECK(inbox(*store).messages()[0].flags == std::set<std::string>{"\\Seen"});
  CHECK(s.say("a5 APPEND INBOX (\\Recent) {1}\n") == "+ Ready for literal data\r\n");
  s.say("x\n");
  CHECK(inbox(*store).messages()[1].flags.empty());
}

// rfc3501.txt 6.2.1: STARTTLS where the driver can start TLS. CAPABILITY (and the greeting)
// list it before login only; the tagged OK comes before the handshake, a LOGIN pipelined
// behind it in the clear is not run, and afterwards the session is still not authenticated
// and no longer offers STARTTLS.
TEST_CASE("IMAP server: STARTTLS (rfc3501 6.2.1)", "[imap]") {
  auto store = make_store();
  imap::ServerConfig config{"mail.ums.com"};
  config.tls_available = true;
  imap::ServerSession server(config, *store);
  CHECK(server.take_output() ==
        "* OK [CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS STARTTLS] mail.ums.com IMAP4rev1 server "
        "ready\r\n");
  server.receive(CRLF("a1 CAPABILITY\na2 STARTTLS x\na3 STARTTLS\na4 LOGIN uday secret\n"));
  CHECK(server.take_output() == CRLF("* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS STARTTLS\n"
                                     "a1 OK CAPABILITY completed\n"
                                     "a2 BAD unexpected text at end of command\n"
                                     "a3 OK Begin TLS negotiation now\n"));
  CHECK(server.take_events().back().kind == imap::ServerEvent::Kind::starttls);
  server.tls_established();
  CHECK(server.tls_active());
  auto events = server.take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].detail == "22 octets sent in the clear after STARTTLS were discarded");
  CHECK(server.state_name() == "not_authenticated");
  server.receive(CRLF("a5 CAPABILITY\na6 STARTTLS\na7 LOGIN uday secret\na8 CAPABILITY\n"));
  CHECK(server.take_output() == CRLF("* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS\n"
                                     "a5 OK CAPABILITY completed\n"
                                     "a6 BAD TLS is already active\n"
                                     "a7 OK LOGIN completed\n"
                                     "* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS\n"
                                     "a8 OK CAPABILITY completed\n"));
}

// rfc8314.txt 3.3: on an implicit-TLS port the session starts inside TLS.
TEST_CASE("IMAP server: no STARTTLS on an implicit-TLS port (rfc8314 3.3)", "[imap]") {
  auto store = make_store();
  imap::ServerConfig config{"mail.ums.com"};
  config.tls_available = true;
  config.implicit_tls = true;
  imap::ServerSession server(config, *store);
  CHECK(server.take_output() == kGreeting);
  server.receive("a1 STARTTLS\r\n");
  CHECK(server.take_output() == "a1 BAD TLS is already active\r\n");
}

TEST_CASE("IMAP server: AUTHENTICATE and STARTTLS are refused with NO (RFC 3501 6.2.1, 6.2.2)",
          "[imap]") {
  auto store = make_store();
  Session s(*store);
  CHECK(s.say("a1 AUTHENTICATE PLAIN\na2 STARTTLS\n") ==
        CRLF("a1 NO no SASL mechanisms are offered; use LOGIN\na2 NO TLS is not simulated\n"));
  CHECK(s.server.state_name() == "not_authenticated");
  s.say("a3 LOGIN uday secret\n");
  CHECK(s.say("a4 STARTTLS\n") == "a4 BAD STARTTLS not allowed in authenticated state\r\n");
}

namespace {

// Feeds the server's pending output to the client and the client's back, until both are quiet.
std::string pump(imap::ClientSession& client, imap::ServerSession& server) {
  return converse(client, server);
}

std::string view_text(const imap::MailView& view) {
  std::string out;
  for (const auto& [folder, fv] : view) {
    out += folder + ":";
    for (const auto& m : fv.messages) {
      out += fmt::format(" {}/{}/{}", m.uid, m.subject, m.from);
      for (const auto& f : m.flags) out += " " + f;
      out += ";";
    }
    out += "\n";
  }
  return out;
}

}  // namespace

TEST_CASE(
    "IMAP client sync: LIST, then each folder's flags, names only for new UIDs "
    "(rfc3501.txt 6.3.8, 6.4.8, 2.3.1.1)",
    "[imap]") {
  auto store = make_store(2);
  auto* account = store->find_account("uday");
  account->create_folder("Family");
  imap::ServerSession setup({"mail.ums.com"}, *store);
  setup.receive(
      "s1 LOGIN uday secret\r\ns2 SELECT INBOX\r\ns3 UID MOVE 1 Family\r\n"
      "s4 UID STORE 2 +FLAGS (\\Seen)\r\n");

  imap::ServerSession server({"mail.ums.com"}, *store);
  auto config = client_config("uday@ums.com", "secret");
  config.sync = true;
  imap::ClientSession client(config);
  std::string transcript = converse(client, server);

  CHECK(transcript.find("C: a3 UID SEARCH UNSEEN\r\nS: * SEARCH\r\na3 OK UID SEARCH completed\r\n"
                        "C: a4 LIST \"\" \"*\"\r\n") != std::string::npos);
  // INBOX first, still selected by the check; then Family. Names only for UIDs new to it.
  CHECK(transcript.find(CRLF("C: a5 UID FETCH 1:* (FLAGS)\nS: * 1 FETCH (UID 2 FLAGS (\\Seen))\n"
                             "a5 OK UID FETCH completed\n"
                             "C: a6 UID FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\n"
                             "S: * 1 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT FROM)] {40}\n"
                             "From: Rav <rav@cms.com>\nSubject: hi\n\n)\n")) != std::string::npos);
  CHECK(transcript.find("C: a7 EXAMINE Family\r\n") != std::string::npos);
  CHECK(
      transcript.find("C: a8 UID FETCH 1:* (FLAGS)\r\nS: * 1 FETCH (UID 1 FLAGS (\\Recent))\r\n") !=
      std::string::npos);
  CHECK(transcript.find("C: a9 UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\r\n") !=
        std::string::npos);
  CHECK(transcript.find("C: a10 LOGOUT\r\n") != std::string::npos);
  CHECK(client.succeeded());
  CHECK(view_text(client.view()) ==
        "Family: 1/hi/Rav <rav@cms.com> \\Recent;\n"
        "INBOX: 2/hi/Rav <rav@cms.com> \\Seen;\n");

  // A second sync names nothing again: the device knew both messages.
  imap::ServerSession again({"mail.ums.com"}, *store);
  config.known = client.view();
  imap::ClientSession second(config);
  std::string transcript2 = converse(second, again);
  CHECK(transcript2.find("HEADER.FIELDS") == std::string::npos);
  CHECK(view_text(second.view()) ==
        "Family: 1/hi/Rav <rav@cms.com> \\Recent;\n"
        "INBOX: 2/hi/Rav <rav@cms.com> \\Seen;\n");
}

// A folder of 3000 messages new to the device: their names are asked for with the UIDs as a
// sequence set of ranges (rfc3501.txt 9, "sequence-set"; "1:3000"), not 3000 numbers in a
// 14 kB line that a server may refuse as too long (8192 octets here; RFC 2683 3.2.1.5).
TEST_CASE("IMAP client sync: the UIDs to name go as ranges, a short line (rfc3501.txt 9)",
          "[imap]") {
  auto store = make_store(0);
  auto& archive = store->find_account("uday")->create_folder("Archive");
  for (int i = 0; i < 3000; ++i) archive.append(kMessage, {"\\Seen"}, 100 + i);
  archive.append(kMessage, {"\\Seen"}, 4000);
  archive.remove(2999);
  imap::ServerSession server({"mail.ums.com"}, *store);
  auto config = client_config("uday@ums.com", "secret");
  config.sync = true;
  imap::ClientSession client(config);
  std::string transcript = converse(client, server);
  CHECK(transcript.find(
            "C: a6 UID FETCH 1:2998,3000:3001 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\r\n") !=
        std::string::npos);
  CHECK(transcript.find("BAD") == std::string::npos);
  CHECK(client.succeeded());
  CHECK(client.view().at("Archive").messages.size() == 3000);
  CHECK(client.view().at("Archive").messages.back().subject == "hi");
}

TEST_CASE(
    "IMAP client IDLE: flags, EXPUNGE and new mail change the view at once "
    "(rfc2177.txt 3, rfc3501.txt 7.4.1, 7.3.1)",
    "[imap]") {
  auto store = make_store(1);
  imap::ServerSession server({"mail.ums.com"}, *store);
  auto config = client_config("uday@ums.com", "secret");
  config.sync = true;
  config.idle = true;
  imap::ClientSession client(config);
  std::string transcript = pump(client, server);
  // The check fetched the unseen message; the sync keeps INBOX selected; IDLE follows.
  CHECK(
      transcript.find(CRLF("C: a6 LIST \"\" \"*\"\nS: * LIST () \"/\" INBOX\na6 OK LIST completed\n"
                           "C: a7 UID FETCH 1:* (FLAGS)\n")) != std::string::npos);
  CHECK(transcript.find("C: a9 IDLE\r\nS: + idling\r\n") != std::string::npos);
  CHECK(client.idling());
  client.take_events();

  // Another device stores \Flagged: the idling server says so, the client records it.
  imap::ServerSession other({"mail.ums.com"}, *store);
  other.receive("b1 LOGIN uday secret\r\nb2 SELECT INBOX\r\nb3 STORE 1 +FLAGS (\\Flagged)\r\n");
  server.poll();
  CHECK(pump(client, server) == "S: * 1 FETCH (FLAGS (\\Flagged \\Recent \\Seen))\r\n");
  auto events = client.take_events();
  REQUIRE(events.size() == 2);
  CHECK(events[1].kind == imap::ClientEvent::Kind::view_changed);
  CHECK(events[1].detail == "flags");
  CHECK(events[1].item.uid == 1);

  // New mail: EXISTS, so DONE, fetch its flags and names, IDLE again (rfc2177.txt 3).
  store->deliver("uday@ums.com", kMessage, 300);
  server.poll();
  CHECK(pump(client, server) ==
        CRLF("S: * 2 EXISTS\n* 2 RECENT\nC: DONE\nS: a9 OK IDLE terminated\n"
             "C: a10 UID FETCH 2:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\n"
             "S: * 2 FETCH (UID 2 FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT FROM)] {40}\n"
             "From: Rav <rav@cms.com>\nSubject: hi\n\n)\na10 OK UID FETCH completed\n"
             "C: a11 IDLE\nS: + idling\n"));
  CHECK(client.idling());

  // Another device moves message 1 away: EXPUNGE, and the view forgets it.
  other.receive("b4 UID MOVE 1 Trash\r\nb5 CREATE Trash\r\nb6 UID MOVE 1 Trash\r\n");
  server.poll();
  CHECK(pump(client, server) == "S: * 1 EXPUNGE\r\n");
  CHECK(view_text(client.view()) == "INBOX: 2/hi/Rav <rav@cms.com> \\Recent;\n");
  events.clear();
  for (const auto& e : client.take_events())
    if (e.kind == imap::ClientEvent::Kind::view_changed) events.push_back(e);
  REQUIRE(events.size() == 2);
  CHECK(events[0].detail == "new");
  CHECK(events[0].item.uid == 2);
  CHECK(events[1].detail == "expunged");
  CHECK(events[1].item.uid == 1);
  CHECK(events[1].item.subject == "hi");

  // RFC 2177 3: re-issue IDLE before 30 minutes; then stop: DONE, LOGOUT.
  client.refresh();
  CHECK(pump(client, server) == CRLF("C: DONE\nS: a11 OK IDLE terminated\nC: a12 IDLE\n"
                                     "S: + idling\n"));
  client.stop();
  CHECK(pump(client, server) ==
        CRLF("C: DONE\nS: a12 OK IDLE terminated\nC: a13 LOGOUT\n"
             "S: * BYE mail.ums.com IMAP4rev1 server logging out\na13 OK LOGOUT completed\n"));
  CHECK(client.succeeded());
}

TEST_CASE(
    "IMAP client sync and IDLE: the same whole or byte by byte; a name listed twice is "
    "synced once (rfc3501.txt 7.2.2, rfc2177.txt 3)",
    "[imap]") {
  auto literal = [](const std::string& s) { return fmt::format("{{{}}}\r\n{}", s.size(), s); };
  const std::string server =
      CRLF(
          "* OK [CAPABILITY IMAP4rev1 IDLE] ready\na1 OK LOGIN completed\n"
          "* 0 EXISTS\n* OK [UIDVALIDITY 1] UIDs valid\na2 OK [READ-WRITE] SELECT completed\n"
          "* LIST () \"/\" INBOX\n* LIST () \"/\" Family\n* LIST (\\Noselect) \"/\" Old\n"
          "* LIST () \"/\" Family\na3 OK LIST completed\n"
          "* 1 EXISTS\n* OK [UIDVALIDITY 2] UIDs valid\na4 OK [READ-ONLY] EXAMINE completed\n"
          "* 1 FETCH (UID 4 FLAGS (\\Seen))\na5 OK UID FETCH completed\n"
          "* 1 FETCH (UID 4 BODY[HEADER.FIELDS (SUBJECT FROM)] ") +
      literal("Subject: hi\r\nFrom: Rav <rav@cms.com>\r\n\r\n") +
      CRLF(
          ")\na6 OK UID FETCH completed\n"
          "* 0 EXISTS\n* OK [UIDVALIDITY 1] UIDs valid\na7 OK [READ-WRITE] SELECT completed\n"
          "+ idling\n* 1 EXISTS\na8 OK IDLE terminated\n"
          "* 1 FETCH (UID 9 FLAGS () BODY[HEADER.FIELDS (SUBJECT FROM)] ") +
      literal("Subject: new\r\n\r\n") + CRLF(")\na9 OK UID FETCH completed\n+ idling\n");
  auto config = client_config("uday", "secret");
  config.sync = true;
  config.idle = true;

  imap::ClientSession whole(config);
  whole.receive(server);
  imap::ClientSession bytewise(config);
  std::string out;
  for (char c : server) {
    bytewise.receive(std::string(1, c));
    out += bytewise.take_output();
  }
  const std::string expected = CRLF(
      "a1 LOGIN uday secret\na2 SELECT INBOX\na3 LIST \"\" \"*\"\na4 EXAMINE Family\n"
      "a5 UID FETCH 1:* (FLAGS)\na6 UID FETCH 4 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\n"
      "a7 SELECT INBOX\na8 IDLE\nDONE\n"
      "a9 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\na10 IDLE\n");
  CHECK(whole.take_output() == expected);
  CHECK(out == expected);
  CHECK(view_text(whole.view()) == "Family: 4/hi/Rav <rav@cms.com> \\Seen;\nINBOX: 9/new/;\n");
  CHECK(view_text(bytewise.view()) == view_text(whole.view()));
  CHECK(whole.idling());
}

TEST_CASE("IMAP client IDLE: mail that arrives during the fetch of new mail is fetched before "
          "IDLE again (rfc3501.txt 7.3.1, rfc2177.txt 3)",
          "[imap]") {
  auto config = client_config("uday", "secret");
  config.idle = true;
  imap::ClientSession client(config);
  client.receive(CRLF("* OK ready\na1 OK LOGIN completed\n* 0 EXISTS\na2 OK SELECT completed\n"
                      "+ idling\n* 1 EXISTS\na3 OK IDLE terminated\n"));
  CHECK(client.take_output() ==
        CRLF("a1 LOGIN uday secret\na2 SELECT INBOX\na3 IDLE\nDONE\n"
             "a4 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\n"));
  // The server reports a second message after the first one's data: fetch again, then IDLE.
  client.receive("* 1 FETCH (UID 5 FLAGS () BODY[HEADER.FIELDS (SUBJECT FROM)] {14}\r\n"
                 "Subject: a\r\n\r\n)\r\n* 2 EXISTS\r\na4 OK UID FETCH completed\r\n");
  CHECK(client.take_output() ==
        "a5 UID FETCH 6:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\r\n");
  // A server that said EXISTS but has nothing more gets IDLE, not an endless fetch.
  client.receive("* 3 EXISTS\r\na5 OK UID FETCH completed\r\n");
  CHECK(client.take_output() == "a6 IDLE\r\n");
  CHECK(view_text(client.view()) == "INBOX: 5/a/;\n");
}

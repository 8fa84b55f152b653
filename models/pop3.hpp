// POP3 (RFC 1939, with CAPA from RFC 2449): server and client sessions, sans-I/O.
//
// Theory of operation, server side. The session starts in AUTHORIZATION and has its
// greeting queued at once (RFC 1939 section 4). USER and PASS move it to TRANSACTION,
// where it works on a snapshot of the account's INBOX taken at login: message numbers
// 1..n stay fixed for the session, DELE only marks, RSET unmarks. QUIT from TRANSACTION
// enters UPDATE, removes the marked messages from the store and closes (section 6); a
// connection that ends any other way removes nothing. Every command is one CRLF-ended
// line (section 3); a bare CR or LF is data. Commands out of state, unknown or malformed
// get -ERR and a protocol_error event. Multi-line replies are byte-stuffed and end with
// CRLF.CRLF. UIDL strings are "<uidvalidity>.<uid>", stable across sessions.
// STLS (RFC 2595 4), when the driver offers TLS: "+OK Begin TLS negotiation", a starttls
// event, and every line until tls_established() is dropped unanswered (it came in the clear;
// a driver that pipelined it is not to be believed); after the handshake the session is in
// AUTHORIZATION again, with no USER remembered, and CAPA no longer lists STLS.
// Left out: APOP (it needs MD5 and a greeting timestamp), SASL AUTH, the maildrop lock
// (two sessions may open one maildrop; each sees its own snapshot), and the autologout
// timer (the simulation owns time).
//
// Client side. The session waits for the greeting and then holds one command in flight at
// a time: USER, PASS, STAT, LIST, UIDL (keep mode, or when a retention policy needs it),
// RETR n for each wanted message, DELE n after each RETR in delete mode (and for messages
// past the retention period in keep mode), QUIT. A -ERR during login, STAT or LIST fails
// the session, which still says QUIT.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/store.hpp"

namespace mailsim::pop3 {

// ---- Server ----

struct ServerConfig {
  std::string hostname;
  // RFC 2449 section 4: a command line is at most 255 octets including its CRLF.
  std::size_t max_command_length = 255;
  bool tls_available = false;  // offer STLS (RFC 2595 4)
  bool implicit_tls = false;   // inside TLS from the first byte (RFC 8314 3.3): no STLS
};

struct ServerEvent {
  enum class Kind {
    command_received,
    logged_in,
    login_failed,
    message_retrieved,
    message_deleted,   // marked by DELE; removed at update_committed
    update_committed,  // UPDATE state done: detail says how many were removed
    protocol_error,
    starttls,  // "+OK Begin TLS negotiation" sent: run the handshake, then tls_established()
    quit
  };
  Kind kind;
  std::string detail;  // the command line (PASS argument hidden), or what went wrong
  std::uint32_t uid = 0;
  std::string message_id;
};

class ServerSession {
 public:
  ServerSession(ServerConfig config, store::MailStore& store);

  void receive(std::string_view bytes);
  std::string take_output();
  std::vector<ServerEvent> take_events();
  bool closed() const { return closed_; }
  std::string_view state_name() const;  // "authorization", "transaction", "update"
  // The handshake that STLS started has completed.
  void tls_established();
  bool tls_active() const { return tls_active_; }

 private:
  enum class State { authorization, transaction, update };
  struct Entry {  // one message of the snapshot taken at login
    std::uint32_t uid = 0;
    std::size_t octets = 0;
    bool deleted = false;
  };

  void handle_line(std::string_view line);
  void handle_authorization(std::string_view verb, std::string_view args);
  void handle_transaction(std::string_view verb, std::string_view args);
  void do_quit();
  // Resolves a message-number argument to a snapshot entry, or replies -ERR and returns null.
  Entry* message_arg(std::string_view arg);
  const store::StoredMessage* stored(const Entry& entry);
  void reply(std::string_view line);
  void reply_multiline(std::string_view first, std::string_view body);
  void error(std::string_view line, std::string detail);
  void event(ServerEvent::Kind kind, std::string detail, std::uint32_t uid = 0,
             std::string message_id = "");
  std::string uidl(std::uint32_t uid) const;
  std::pair<std::size_t, std::size_t> drop_listing() const;  // messages, octets

  ServerConfig config_;
  store::MailStore& store_;
  State state_ = State::authorization;
  bool closed_ = false;
  std::string line_;
  bool cr_ = false;  // the last byte received was a CR
  bool line_too_long_ = false;
  bool tls_active_ = false;
  bool starting_tls_ = false;          // between STLS and tls_established()
  std::size_t plaintext_dropped_ = 0;  // octets received in that gap
  std::optional<std::string> user_;    // after a successful USER
  store::Account* account_ = nullptr;
  std::uint32_t uidvalidity_ = 0;
  std::vector<Entry> drop_;
  std::string output_;
  std::vector<ServerEvent> events_;
};

// Appends `text` to `out` byte-stuffed for a multi-line reply (RFC 1939 section 3), followed
// by the terminating ".CRLF"; a text not ending in CRLF gets one first.
void append_stuffed(std::string& out, std::string_view text);

// ---- Client ----

enum class Mode { delete_after_download, keep_on_server };

struct ClientConfig {
  std::string user;
  std::string password;
  Mode mode = Mode::keep_on_server;
  std::set<std::string> known_uidls;  // already downloaded: not fetched again (keep mode)
  // Keep mode only: "keep on server for N days". A known message whose download time in
  // `downloaded_at` is at least keep_days old at `now` is deleted with DELE. Unset keeps
  // messages for ever. Times are simulated seconds.
  std::optional<double> keep_days;
  std::map<std::string, double> downloaded_at;  // uidl -> when it was downloaded
  double now = 0;
};

struct RetrievedMessage {
  std::string text;  // unstuffed, CRLF line ends
  std::string uidl;  // "" when UIDL was not asked (delete mode without retention)
  std::size_t octets = 0;
};

struct ClientEvent {
  enum class Kind { response_received, message_retrieved, failed, finished };
  Kind kind;
  std::string detail;  // status line of the response, or what failed
  RetrievedMessage message;
};

class ClientSession {
 public:
  explicit ClientSession(ClientConfig config);

  void receive(std::string_view bytes);
  std::string take_output();
  std::vector<ClientEvent> take_events();
  bool closed() const { return closed_; }

  const std::vector<RetrievedMessage>& retrieved() const { return retrieved_; }
  // UIDLs deleted with DELE during this session (committed only if QUIT got +OK).
  const std::vector<std::string>& deleted_uidls() const { return deleted_uidls_; }
  bool succeeded() const { return finished_ && !failed_; }

 private:
  enum class Step { greeting, user, pass, stat, list, uidl, retr, dele, quit, done };

  void handle_line(std::string_view line);
  void handle_status(std::string_view line);
  void handle_multiline_end();
  void send(std::string command, Step step, bool multiline = false);
  void fail(std::string detail);
  void next_message();
  void after_listings();

  ClientConfig config_;
  Step step_ = Step::greeting;
  bool closed_ = false;
  bool finished_ = false;
  bool failed_ = false;
  std::string line_;
  bool cr_ = false;
  bool expect_multiline_ = false;  // the command in flight answers +OK with a multi-line body
  bool in_multiline_ = false;      // reading the body of a multi-line reply
  std::string body_;
  std::vector<std::size_t> sizes_;            // by message number - 1
  std::map<std::size_t, std::string> uidls_;  // message number -> uidl
  std::vector<std::size_t> to_fetch_;         // message numbers, ascending
  std::vector<std::size_t> to_expire_;        // keep mode: DELE without RETR
  std::size_t current_ = 0;
  std::string output_;
  std::vector<ClientEvent> events_;
  std::vector<RetrievedMessage> retrieved_;
  std::vector<std::string> deleted_uidls_;
};

}  // namespace mailsim::pop3

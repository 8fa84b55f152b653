// SMTP engines: the server and client sides of one SMTP connection, sans I/O.
//
// Theory of operation. Each session is a state machine fed with the bytes its peer sent
// (receive) and drained of the bytes it wants to send (take_output) and of what happened
// (take_events). Input is cut into lines at CRLF only (RFC 5321 2.3.8): a bare CR or a bare LF is
// an ordinary octet inside a line, so it can neither end a command nor end the mail data (the
// 2023 "SMTP smuggling" attacks). Output and events depend only on the bytes, never on how they
// were chunked.
//
// Server states (state_name()): waiting_for_helo -> waiting_for_mail -> waiting_for_rcpt ->
// waiting_for_rcpt_or_data -> in_data -> waiting_for_mail ...; in_auth while an AUTH exchange
// waits for the client's next line; closed after QUIT. The legal moves are the table
// server_transitions() (a state-diagram tool can print it); a command with no row is answered 503.
// Replies carry RFC 3463 enhanced codes (the server advertises ENHANCEDSTATUSCODES, RFC 2034),
// except the greeting and the replies to EHLO/HELO, which RFC 2034 3 exempts, and the 3xx ones.
//
// Client: greeting -> EHLO (HELO if EHLO is refused) -> AUTH PLAIN if configured -> MAIL ->
// one RCPT per recipient -> DATA -> the dot-stuffed message -> QUIT. It sends one command per
// flight, as RFC 5321 allows without PIPELINING.
//
// Deliberately left out: Received: trace fields (the backend's job, see below), VRFY/EXPN give
// no information, no PIPELINING or STARTTLS yet, no DSN, no CHUNKING/BDAT, no SMTPUTF8.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailsim::smtp {

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // text after "250-"/"250 "
  std::string to_bytes() const;    // "250-a\r\n250 b\r\n"; no lines gives "250 \r\n"
};

enum class Service { relay, submission };  // port 25 (RFC 5321) / port 587 (RFC 6409)

struct ServerConfig {
  std::string hostname;                 // "mail.ums.com"
  Service service = Service::relay;
  std::size_t max_message_size = 10 * 1024 * 1024;   // SIZE (RFC 1870)
  std::size_t max_command_line = 512;   // RFC 5321 4.5.3.1.4, CRLF included
  std::size_t max_text_line = 1000;     // RFC 5321 4.5.3.1.6, CRLF included
  std::size_t max_recipients = 100;     // RFC 5321 4.5.3.1.8
  std::size_t max_auth_line = 12288;    // RFC 4954 4: an AUTH exchange line, CRLF included
  std::size_t max_errors = 20;          // protocol errors before "421" and close
  bool auth_enabled = true;             // advertise and accept AUTH PLAIN (RFC 4954)
};

struct Envelope {
  std::string mail_from;                // reverse-path without <>, "" for the null path
  std::vector<std::string> recipients;  // forward-paths without <>
  std::string message;                  // RFC 5322 text, unstuffed, CRLF line ends
  std::string helo;                     // the client's EHLO/HELO argument (server fills it)
  std::string authenticated_user;       // server fills it after AUTH
  bool esmtp = true;                    // server fills it: EHLO (true) or HELO (false)
};

enum class RcptVerdict { accept, unknown_user, relay_denied };

// What a server needs from the outside world.
class ServerBackend {
 public:
  virtual ~ServerBackend() = default;
  virtual bool authenticate(std::string_view user, std::string_view password) = 0;
  virtual RcptVerdict check_recipient(std::string_view address, bool authenticated) = 0;
  // Takes responsibility for the message; returns the queue id ("" means it could not: 451).
  virtual std::string accept_message(const Envelope& envelope) = 0;
};

struct ServerEvent {
  enum class Kind {
    command_received,
    reply_sent,
    auth_succeeded,
    auth_failed,
    message_accepted,
    protocol_error,
    quit
  };
  Kind kind;
  std::string detail;   // the command line (no CRLF, credentials redacted), the reply, the queue id
};

enum class ServerState {
  waiting_for_helo,
  waiting_for_mail,
  waiting_for_rcpt,
  waiting_for_rcpt_or_data,
  in_data,
  in_auth,
  closed
};
std::string_view to_string(ServerState state);

// One row of the server's transition table: `verb` accepted in `from` leads to `to`.
struct ServerTransition {
  ServerState from;
  std::string_view verb;
  ServerState to;
};
const std::vector<ServerTransition>& server_transitions();

class ServerSession {
 public:
  ServerSession(ServerConfig config, ServerBackend& backend);  // queues "220 <hostname> ESMTP mailsim"
  void receive(std::string_view bytes);
  std::string take_output();
  std::vector<ServerEvent> take_events();
  bool closed() const;
  std::string_view state_name() const;  // e.g. "waiting_for_mail", "in_data"
  ServerState state() const { return state_; }

 private:
  enum class AuthStep { none, plain_response };

  void process_input();
  bool process_data();
  void handle_line(std::string_view line, bool too_long);
  void handle_command(std::string_view line);
  void handle_auth_line(std::string_view line, bool too_long);
  void end_of_data();

  // Each returns true when the command succeeded, so that its transition row applies.
  bool cmd_ehlo(std::string_view arg, bool extended);
  bool cmd_mail(std::string_view arg);
  bool cmd_rcpt(std::string_view arg);
  bool cmd_data(std::string_view arg);
  bool cmd_auth(std::string_view arg);
  bool cmd_simple(std::string_view verb, std::string_view arg);
  void finish_plain(std::string_view response);

  void reply(int code, std::vector<std::string> lines);
  void reply(int code, std::string line) { reply(code, std::vector<std::string>{std::move(line)}); }
  void protocol_error(std::string what);
  void event(ServerEvent::Kind kind, std::string detail);
  void reset_transaction();

  ServerConfig config_;
  ServerBackend& backend_;
  ServerState state_ = ServerState::waiting_for_helo;
  ServerState state_before_auth_ = ServerState::waiting_for_mail;
  AuthStep auth_step_ = AuthStep::none;

  std::string input_;           // bytes not yet consumed
  std::size_t input_pos_ = 0;   // first unconsumed byte of input_
  bool line_overflow_ = false;  // the current line passed its limit; its bytes are dropped

  std::string helo_;
  bool esmtp_ = false;
  std::string authenticated_user_;
  std::size_t errors_ = 0;

  Envelope envelope_;           // the open mail transaction
  std::size_t data_size_ = 0;   // octets of mail data so far (unstuffed, CRLF included)
  bool data_too_big_ = false;
  bool data_line_too_long_ = false;

  std::string output_;
  std::vector<ServerEvent> events_;
};

struct ClientConfig {
  std::string helo_name;                                   // "rav-laptop.cms.com"
  std::optional<std::pair<std::string, std::string>> auth; // user, password: AUTH PLAIN (RFC 4616)
  std::size_t max_reply_line = 512;                        // RFC 5321 4.5.3.1.5, CRLF included
  std::size_t max_reply_lines = 100;                       // lines of one multi-line reply
};

struct ClientEvent {
  enum class Kind { reply_received, message_accepted, message_rejected, finished };
  Kind kind;
  Reply reply;
  std::string detail;   // the command the reply answers, the queue id, or why it gave up
};

enum class ClientState {
  waiting_for_greeting,
  waiting_for_ehlo_reply,
  waiting_for_helo_reply,
  waiting_for_auth_reply,
  waiting_for_mail_reply,
  waiting_for_rcpt_reply,
  waiting_for_data_reply,
  waiting_for_data_end_reply,
  waiting_for_quit_reply,
  closed
};
std::string_view to_string(ClientState state);

// What the client learned from the server's EHLO reply (RFC 5321 4.1.1.1).
struct ServerExtensions {
  bool esmtp = false;
  bool size = false;
  std::size_t size_limit = 0;     // 0: SIZE without a limit
  bool eight_bit_mime = false;
  bool enhanced_status_codes = false;
  bool pipelining = false;
  bool starttls = false;
  std::vector<std::string> auth_mechanisms;
};
ServerExtensions parse_ehlo_reply(const Reply& reply);

class ClientSession {
 public:
  ClientSession(ClientConfig config, Envelope envelope);  // waits for the 220 greeting
  void receive(std::string_view bytes);   // server replies, any chunking
  std::string take_output();              // next command(s), or the whole dot-stuffed DATA block
  std::vector<ClientEvent> take_events();
  bool closed() const;                    // true after 221 (or after a failure and QUIT/221)
  bool succeeded() const;                 // the message got its final 250 after DATA
  const std::optional<Reply>& failure() const;  // the reply that made it give up, if any
  std::vector<std::pair<std::string, Reply>> recipient_replies() const;
  std::string_view state_name() const;
  ClientState state() const { return state_; }
  const ServerExtensions& extensions() const { return extensions_; }

 private:
  void handle_reply(const Reply& reply);
  void send(std::string line);
  void send_mail();
  void send_next_rcpt_or_data();
  void give_up(const Reply& reply, std::string why, bool say_quit = true);
  void finish();
  std::size_t content_size() const;

  ClientConfig config_;
  Envelope envelope_;
  ClientState state_ = ClientState::waiting_for_greeting;
  ServerExtensions extensions_;

  std::string input_;
  std::size_t input_pos_ = 0;
  Reply pending_;                 // lines of a multi-line reply so far
  bool pending_open_ = false;

  std::size_t next_rcpt_ = 0;
  std::size_t accepted_rcpts_ = 0;
  std::vector<std::pair<std::string, Reply>> rcpt_replies_;
  bool succeeded_ = false;
  std::optional<Reply> failure_;
  std::string last_command_;

  std::string output_;
  std::vector<ClientEvent> events_;
};

}  // namespace mailsim::smtp

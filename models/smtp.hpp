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
// waits for the client's next line; starting_tls between STARTTLS and tls_established();
// closed after QUIT. The legal moves are the table
// server_transitions() (a state-diagram tool can print it); a command with no row is answered 503.
// Replies carry RFC 3463 enhanced codes (the server advertises ENHANCEDSTATUSCODES, RFC 2034),
// except the greeting and the replies to EHLO/HELO, which RFC 2034 3 exempts, and the 3xx ones.
//
// Client: greeting -> EHLO (HELO if EHLO is refused) -> STARTTLS and EHLO again if its policy
// says so -> AUTH PLAIN if configured -> MAIL -> one RCPT per recipient -> DATA -> the
// dot-stuffed message -> QUIT. It sends one command per flight, unless the server offers
// PIPELINING and ClientConfig::use_pipelining is set: then MAIL, every RCPT and DATA go as one
// group and the replies are matched to them by counting (RFC 2920 3.1), never by their text.
//
// PIPELINING (RFC 2920): the server always answers every complete command in the order
// received, all within one receive(), so a pipelined group gets its replies as one flight.
// STARTTLS (RFC 3207) is modelled, not performed: after "220 Ready to start TLS" the driver runs
// (or charges for) the handshake and calls tls_established() on both engines; the sessions then
// start over as RFC 3207 4.2 says. Anything the peer sent after STARTTLS before the handshake
// is discarded, never executed (the 2011 STARTTLS command-injection flaw).
//
// Deliberately left out: Received: trace fields (the backend's job, with received_field_value(),
// since only it knows the queue id and the time), VRFY/EXPN give no information, no real TLS
// and no TLS-based client identity, no DSN, no CHUNKING/BDAT, no SMTPUTF8.
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
  std::string hostname;  // "mail.ums.com"
  Service service = Service::relay;
  std::size_t max_message_size = 10 * 1024 * 1024;  // SIZE (RFC 1870)
  std::size_t max_command_line = 512;               // RFC 5321 4.5.3.1.4, CRLF included
  std::size_t max_text_line = 1000;                 // RFC 5321 4.5.3.1.6, CRLF included
  std::size_t max_recipients = 100;                 // RFC 5321 4.5.3.1.8
  std::size_t max_auth_line = 12288;  // RFC 4954 4: an AUTH exchange line, CRLF included
  std::size_t max_errors = 20;        // protocol errors before "421" and close
  bool auth_enabled = true;           // advertise and accept AUTH PLAIN LOGIN (RFC 4954)
  bool pipelining = true;             // advertise PIPELINING (RFC 2920)
  bool tls_available = false;         // advertise STARTTLS (RFC 3207)
  bool tls_required = false;          // RFC 3207 4: 530 until STARTTLS (not on port 25!)
  bool implicit_tls = false;          // RFC 8314 3.3, port 465: inside TLS from the first byte
  std::string client_address;         // TCP-info for Received:, "host [192.0.2.7]"
};

struct Envelope {
  std::string mail_from;                // reverse-path without <>, "" for the null path
  std::vector<std::string> recipients;  // forward-paths without <>
  std::string message;                  // RFC 5322 text, unstuffed, CRLF line ends
  std::string helo;                     // the client's EHLO/HELO argument (server fills it)
  std::string authenticated_user;       // server fills it after AUTH
  bool esmtp = true;                    // server fills it: EHLO (true) or HELO (false)
  bool tls = false;                     // server fills it: after STARTTLS
  std::string client_address;           // server fills it from ServerConfig::client_address
};

// RFC 5321 4.4 and RFC 4954 7: the "with" protocol of a Received: field for this envelope:
// SMTP (HELO), ESMTP, ESMTPA (authenticated), ESMTPS (TLS) or ESMTPSA.
std::string_view received_protocol(const Envelope& envelope);

// RFC 5321 4.4 Stamp, for the backend to prepend (msg::prepend_header(m, "Received", value)):
// "from <helo> (<client_address>) by <by_host> with <protocol> id <queue_id>
// [for <rcpt>]; <date>". The FOR clause appears only with exactly one recipient (4.4).
// The engine does not add it itself: only the backend knows the queue id and the time.
std::string received_field_value(const Envelope& envelope, std::string_view by_host,
                                 std::string_view queue_id, std::string_view rfc5322_date);

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
    quit,
    starttls  // "220 Ready to start TLS" sent: run the handshake, then call tls_established()
  };
  Kind kind;
  std::string detail;  // the command line (no CRLF, credentials redacted), the reply, the queue id
};

enum class ServerState {
  waiting_for_helo,
  waiting_for_mail,
  waiting_for_rcpt,
  waiting_for_rcpt_or_data,
  in_data,
  in_auth,
  starting_tls,
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
  ServerSession(ServerConfig config,
                ServerBackend& backend);  // queues "220 <hostname> ESMTP mailsim"
  void receive(std::string_view bytes);
  std::string take_output();
  std::vector<ServerEvent> take_events();
  bool closed() const;
  std::string_view state_name() const;  // e.g. "waiting_for_mail", "in_data"
  ServerState state() const { return state_; }
  // RFC 3207 4.2: the TLS handshake after STARTTLS is done; the session starts over. Bytes
  // received between the 220 and this call were sent in the clear and are thrown away.
  void tls_established();
  bool tls_active() const { return tls_active_; }

 private:
  enum class AuthStep { none, plain_response, login_user, login_password };

  void process_input();
  bool process_data();
  void handle_line(std::string_view line, bool too_long);
  void handle_command(std::string_view line);
  void handle_auth_line(std::string_view line, bool too_long);
  void handle_auth_line_step(AuthStep step, std::string_view response);
  void end_of_data();

  // Each returns true when the command succeeded, so that its transition row applies.
  bool cmd_ehlo(std::string_view arg, bool extended);
  bool cmd_mail(std::string_view arg);
  bool cmd_rcpt(std::string_view arg);
  bool cmd_data(std::string_view arg);
  bool cmd_auth(std::string_view arg);
  bool cmd_starttls(std::string_view arg);
  bool cmd_simple(std::string_view verb, std::string_view arg);
  void finish_plain(std::string_view response);
  void finish_login(std::string_view password);
  void check_credentials(std::string_view user, std::string_view password);

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
  std::string login_user_;  // AUTH LOGIN: the user name while the password is asked
  std::size_t errors_ = 0;
  bool tls_active_ = false;
  std::size_t plaintext_dropped_ = 0;  // octets received while starting TLS

  Envelope envelope_;          // the open mail transaction
  std::size_t data_size_ = 0;  // octets of mail data so far (unstuffed, CRLF included)
  bool data_too_big_ = false;
  bool data_line_too_long_ = false;

  std::string output_;
  std::vector<ServerEvent> events_;
};

// When the client asks for TLS (RFC 3207): never, when the server offers it, or always.
enum class TlsPolicy { never, opportunistic, required };

struct ClientConfig {
  std::string helo_name;                                    // "rav-laptop.cms.com"
  std::optional<std::pair<std::string, std::string>> auth;  // user, password: AUTH PLAIN (RFC 4616)
  bool use_pipelining = false;  // RFC 2920: MAIL, RCPTs and DATA in one flight when offered
  TlsPolicy tls = TlsPolicy::never;
  std::size_t max_reply_line = 512;   // RFC 5321 4.5.3.1.5, CRLF included
  std::size_t max_reply_lines = 100;  // lines of one multi-line reply
};

struct ClientEvent {
  enum class Kind {
    reply_received,
    message_accepted,
    message_rejected,
    finished,
    starttls  // the server said 220 to STARTTLS: run the handshake, then tls_established()
  };
  Kind kind;
  Reply reply;
  std::string detail;  // the command the reply answers, the queue id, or why it gave up
};

enum class ClientState {
  waiting_for_greeting,
  waiting_for_ehlo_reply,
  waiting_for_helo_reply,
  waiting_for_starttls_reply,
  starting_tls,
  waiting_for_auth_reply,
  waiting_for_mail_reply,
  waiting_for_rcpt_reply,
  waiting_for_data_reply,
  waiting_for_data_end_reply,
  waiting_for_quit_reply,
  closed
};
std::string_view to_string(ClientState state);

// RFC 5321 4.5.3.2 minimum per-command timeouts, in seconds. The engines never read a clock:
// the driver arms a timer with reply_timeout() and closes the connection when it fires.
struct Timeouts {
  double initial_220 = 5 * 60;        // 4.5.3.2.1
  double mail = 5 * 60;               // 4.5.3.2.2
  double rcpt = 5 * 60;               // 4.5.3.2.3
  double data_initiation = 2 * 60;    // 4.5.3.2.4, waiting for the 354
  double data_block = 3 * 60;         // 4.5.3.2.5, each TCP send of mail data
  double data_termination = 10 * 60;  // 4.5.3.2.6, waiting for the 250 after the final dot
  double server_idle = 5 * 60;        // 4.5.3.2.7, a server waiting for the next command
  double other_command = 5 * 60;      // EHLO, AUTH, STARTTLS, QUIT: not in the RFC, as MAIL
};

// How long a client in `state` waits for the server's reply; 0 when it waits for nothing.
double reply_timeout(ClientState state, const Timeouts& timeouts);

// What the client learned from the server's EHLO reply (RFC 5321 4.1.1.1).
struct ServerExtensions {
  bool esmtp = false;
  bool size = false;
  std::size_t size_limit = 0;  // 0: SIZE without a limit
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
  void receive(std::string_view bytes);                   // server replies, any chunking
  std::string take_output();  // next command(s), or the whole dot-stuffed DATA block
  std::vector<ClientEvent> take_events();
  bool closed() const;                          // true after 221 (or after a failure and QUIT/221)
  bool succeeded() const;                       // the message got its final 250 after DATA
  const std::optional<Reply>& failure() const;  // the reply that made it give up, if any
  std::vector<std::pair<std::string, Reply>> recipient_replies() const;
  std::string_view state_name() const;
  ClientState state() const { return state_; }
  const ServerExtensions& extensions() const { return extensions_; }
  // RFC 3207 4.2: the handshake after "220 Ready to start TLS" is done; EHLO again. Replies
  // received between the 220 and this call came in the clear and are thrown away.
  void tls_established();
  bool tls_active() const { return tls_active_; }

 private:
  void handle_reply(const Reply& reply);
  void after_hello();
  void send_auth();
  void send(std::string line);
  void start_transaction();
  void send_next_rcpt_or_data();
  void recipients_done_pipelined(const Reply& data_reply);
  void give_up(const Reply& reply, std::string why, bool say_quit = true);
  void finish();
  std::size_t content_size() const;
  std::string mail_command() const;

  ClientConfig config_;
  Envelope envelope_;
  ClientState state_ = ClientState::waiting_for_greeting;
  ServerExtensions extensions_;
  bool tls_active_ = false;
  bool tls_declined_ = false;  // the server refused STARTTLS and we go on without

  std::string input_;
  std::size_t input_pos_ = 0;
  Reply pending_;  // lines of a multi-line reply so far
  bool pending_open_ = false;

  bool pipelined_ = false;             // MAIL, RCPTs and DATA went out as one group
  std::optional<Reply> mail_refused_;  // pipelined: the MAIL reply, if it failed
  std::optional<Reply> abort_reason_;  // pipelined: sent "." to a DATA we could not use
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

// The small JSON webmail API over HTTP/1.1: a server engine and a scripted browser engine.
//
//   POST /api/login   {"user":"uday@ums.com","password":"..."}
//                     -> 200 {"ok":true} + Set-Cookie: session=<token>; Path=/; HttpOnly
//   POST /api/send    {"to":["rav@cms.com"],"subject":"...","body":"..."}
//                     optional: "cc":[..], "bcc":[..], "reply_to":{"folder":"INBOX","id":uid}
//                     (the message answered), "attachments":[{"name":"a.jpg",
//                     "content_type":"image/jpeg","data":"<base64>"}]
//                     -> 202 {"queued":"<queue id>","message_id":"<...>"}
//   GET  /api/folders -> 200 [{"name":"INBOX","messages":n,"unseen":k}, ...]
//   GET  /api/folders/<folder>/messages
//                     -> 200 [{"id":uid,"from":..,"subject":..,"date":..,"seen":b,"size":n}]
//   GET  /api/messages/<folder>/<uid>
//                     -> 200 {"id":..,"from":..,"to":..,"subject":..,"date":..,"body":..,
//                             "raw_size":n}   (marks the message \Seen)
//   POST /api/messages/<folder>/<uid>/move   {"to":"Archive"}            -> 200 {"ok":true}
//   POST /api/messages/<folder>/<uid>/flags  {"add":["\\Flagged"],"remove":[]}
//                                                                        -> 200 {"ok":true}
//   POST /api/logout  -> 200 {"ok":true}
//
// Errors: 401 without a valid session cookie, 404 unknown path, folder or message, 400 bad
// JSON or bad framing, 403 a send to a domain the Backend does not relay to, 422 a send to a
// local mailbox that does not exist, 405 wrong method (with Allow), 415 content other than
// JSON, 501 a method no server knows, 500 a Backend that threw; 413, 414, 431 and 505 from
// the framing limits (http::ParserLimits). Error bodies are {"error":"..."}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/http.hpp"
#include "models/message.hpp"

namespace mailsim::webmail {

struct MessageSummary {
  std::uint32_t id;
  std::string from, subject, date;
  bool seen;
  std::size_t size;
};

struct MessageView {
  std::uint32_t id;
  std::string from, to, subject, date, body;
  std::size_t raw_size;
};

// One POST /api/send: what the user wrote in the compose form.
struct Submission {
  std::vector<std::string> to, cc, bcc;
  std::string subject, body;
  std::optional<std::pair<std::string, std::uint32_t>> reply_to;  // folder and id answered
  std::vector<msg::Attachment> attachments;                       // decoded octets
};

// Whether a recipient of a send is taken, as an SMTP server's RCPT check would say.
enum class RecipientVerdict {
  accept,
  unknown_user,  // a local domain without this mailbox (SMTP: 550 5.1.1), answered 422
  relay_denied   // a domain this server does not send to (SMTP: 550 5.7.1), answered 403
};

// What the server needs from the mail store and the submission path.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual bool authenticate(std::string_view user, std::string_view password) = 0;
  // Asked for every To, Cc and Bcc address before submit(); one refusal fails the whole send
  // with a 4xx naming the address. The default takes every address (a server with a relay).
  virtual RecipientVerdict check_recipient(std::string_view /*user*/,
                                           std::string_view /*address*/) {
    return RecipientVerdict::accept;
  }
  // The server composes the RFC 5322 message itself (that is what webmail does); returns the
  // queue id and the Message-ID.
  virtual std::pair<std::string, std::string> submit(std::string_view user,
                                                     const std::vector<std::string>& to,
                                                     std::string_view subject,
                                                     std::string_view body) = 0;
  // The same with cc, bcc, a reply and attachments; nullopt when the message answered is
  // unknown. The default can do only what submit() above does: it refuses the extras.
  virtual std::optional<std::pair<std::string, std::string>> submit(std::string_view user,
                                                                    const Submission& s) {
    if (!s.cc.empty() || !s.bcc.empty() || s.reply_to || !s.attachments.empty())
      return std::nullopt;
    return submit(user, s.to, s.subject, s.body);
  }
  // Each folder's name with (total, unseen).
  virtual std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> folders(
      std::string_view user) = 0;
  virtual std::vector<MessageSummary> list(std::string_view user, std::string_view folder) = 0;
  // Marks the message seen.
  virtual std::optional<MessageView> read(std::string_view user, std::string_view folder,
                                          std::uint32_t id) = 0;

  // Moves a message into another folder, as IMAP MOVE does (rfc6851.txt). False when the
  // message is unknown or the store cannot move; the default cannot.
  virtual bool move(std::string_view /*user*/, std::string_view /*folder*/, std::uint32_t /*id*/,
                    std::string_view /*to_folder*/) {
    return false;
  }
  // Adds, then removes, flags such as "\Flagged" or a keyword (rfc3501.txt 2.3.2), as IMAP
  // STORE +FLAGS / -FLAGS does. False when the message is unknown or the store keeps no
  // flags; the default keeps none.
  virtual bool update_flags(std::string_view /*user*/, std::string_view /*folder*/,
                            std::uint32_t /*id*/, const std::vector<std::string>& /*add*/,
                            const std::vector<std::string>& /*remove*/) {
    return false;
  }
};

// Every field has a default, so that ServerConfig{"ums.com"} compiles without warnings.
struct ServerConfig {
  std::string hostname{};
  std::string date{};           // sent as a Date field when non-empty; no clock is read
  http::ParserLimits limits{};  // what one request may hold
};

// Logged-in sessions, token -> user. A server keeps one for all its connections, so that a
// cookie from one connection works on the next; a ServerSession without one keeps its own.
class SessionTable {
 public:
  // A new token for this user; tokens come from a counter ("s1", "s2", ...), never a clock.
  std::string open(std::string_view user);
  std::optional<std::string> user(std::string_view token) const;
  void close(std::string_view token);
  std::size_t size() const { return users_.size(); }

 private:
  std::uint64_t next_ = 1;
  std::map<std::string, std::string, std::less<>> users_;
};

struct ServerEvent {
  enum class Kind {
    request_received,   // detail "POST /api/login", id the request's number on the connection
    response_sent,      // detail "200 OK", id the request's number
    logged_in,          // detail the user
    login_failed,       // detail the user
    message_submitted,  // detail the queue id
    message_listed,     // detail the folder, id the number of messages listed
    message_read,       // detail the folder, id the uid
    protocol_error,     // detail what was wrong; the connection is closed after the reply
    message_moved,      // detail "INBOX -> Archive", id the uid
    flags_changed       // detail "+\Flagged -\Seen", id the uid
  };
  Kind kind;
  std::string detail{};
  std::uint32_t id = 0;
};

// Theory of operation (server).
//
// One ServerSession is one TCP connection. It has no greeting: HTTP clients speak first. Each
// complete request is routed through a table of endpoints (501 unknown method, 404 unknown
// path, 405 known path with another method), then the session cookie is checked (401), then
// the content type (415) and the JSON body (400), then the Backend does the work.
// Every request gets exactly one response, in order (rfc9112.txt 9.2); the connection stays
// open (9.3) until a request says "Connection: close", an HTTP/1.0 request does not ask for
// keep-alive, or the framing breaks (the reply is 400, 413, 414, 431, 501 or 505 with
// "Connection: close", and nothing after it is read, 9.6). Responses carry Content-Type and
// Content-Length, a Date only if the config gives one, and JSON from nlohmann's dump() without
// indentation, so traces are byte-identical from run to run. A request that says
// "Expect: 100-continue" and whose body has not arrived yet gets "HTTP/1.1 100 Continue" first
// (real clients such as curl wait for it before sending a large body).
//
// Left out: TLS, caching headers, CSRF tokens, session expiry, HEAD and OPTIONS.
class ServerSession {
 public:
  ServerSession(ServerConfig config, Backend& backend);
  ServerSession(ServerConfig config, Backend& backend, SessionTable& sessions);

  void receive(std::string_view bytes);
  std::string take_output();
  std::vector<ServerEvent> take_events();
  bool closed() const { return closed_; }
  // The Date field of the responses from now on (an IMF-fixdate, rfc9110 5.6.7), for a driver
  // with a clock; "" sends none.
  void set_date(std::string date) { config_.date = std::move(date); }

 private:
  void handle(const http::Request& request);
  http::Response route(const http::Request& request);
  std::optional<std::string> session_user(const http::Request& request) const;
  http::Response login(const http::Request& request);
  http::Response logout(const http::Request& request);
  http::Response send(const http::Request& request, const std::string& user);
  http::Response list_folders(const std::string& user);
  http::Response list_messages(const std::string& user, const std::string& folder);
  http::Response read_message(const std::string& user, const std::string& folder,
                              std::string_view uid);
  http::Response move_message(const http::Request& request, const std::string& user,
                              const std::string& folder, std::string_view uid);
  http::Response change_flags(const http::Request& request, const std::string& user,
                              const std::string& folder, std::string_view uid);
  void emit(const http::Response& response, bool close);
  void event(ServerEvent::Kind kind, std::string detail, std::uint32_t id = 0);

  ServerConfig config_;
  Backend& backend_;
  SessionTable own_sessions_;
  SessionTable& sessions_;
  http::RequestParser parser_;
  std::uint32_t requests_ = 0;
  std::string output_;
  std::vector<ServerEvent> events_;
  bool closed_ = false;
};

// The browser side: a scripted web user agent.
struct Operation {
  enum class Kind { send, list_inbox, read_unseen };
  Kind kind;
  std::vector<std::string> to{};
  std::string subject{}, body{};
  // send, each sent only when not empty:
  std::vector<std::string> cc{}, bcc{};
  std::uint32_t reply_to_id = 0;  // the INBOX message answered (0: none)
  std::vector<msg::Attachment> attachments{};
};

struct ClientConfig {
  std::string host{};
  std::string user{};
  std::string password{};
  std::vector<Operation> operations{};
  // Above 0, request bodies go out chunked in pieces of this many octets (rfc9112.txt 7.1)
  // instead of with a Content-Length. The setting is the "user configuration" by which 6.3
  // lets a client know that the server takes HTTP/1.1 chunked requests.
  std::size_t chunk_size = 0;
};

struct ClientEvent {
  enum class Kind {
    response_received,  // detail "200 OK", id the request's number
    message_sent,       // detail the queue id and Message-ID, id the operation's index
    inbox_listed,       // detail "n messages, k unseen", id n
    message_read,       // detail the subject, id the uid
    failed,             // detail what went wrong
    finished            // logged out; the connection is closed
  };
  Kind kind;
  std::string detail{};
  std::uint32_t id = 0;
};

// What one send operation got back from the server.
struct SentMessage {
  std::string queue_id;
  std::string message_id;
};

// Theory of operation (client).
//
// The client speaks first: the login request is in take_output() right after construction.
// It sends one request at a time and waits for its response (no pipelining, rfc9112.txt
// 9.3.2): login, then the operations in order (send -> POST /api/send; list_inbox -> GET the
// INBOX list; read_unseen -> GET the list, then GET each unseen message), then POST
// /api/logout with "Connection: close", after whose response it is closed (9.6). A failed
// login ends the session at once; a failed operation is reported and the script goes on.
// succeeded() is true when every response was a success. Requests carry Host, User-Agent,
// Cookie once logged in, and Content-Type and Content-Length (or Transfer-Encoding: chunked,
// if so configured) when they have a body.
//
// Left out: redirects, retries, cookie attributes (only the session value is kept).
class ClientSession {
 public:
  explicit ClientSession(ClientConfig config);

  void receive(std::string_view bytes);
  std::string take_output();
  std::vector<ClientEvent> take_events();
  bool closed() const { return closed_; }
  bool succeeded() const { return closed_ && !failed_ && finished_; }
  const std::vector<SentMessage>& sent() const { return sent_; }  // in the order sent

 private:
  enum class Step { login, send, list, list_for_read, read, logout };
  struct Pending {
    Step step;
    std::size_t operation = 0;
    std::uint32_t uid = 0;
  };

  void request(std::string method, std::string target, std::string body, Pending pending,
               bool close = false);
  void on_response(const http::Response& response);
  void start_operation();
  void advance();
  void fail(std::string reason, bool fatal);
  void event(ClientEvent::Kind kind, std::string detail, std::uint32_t id = 0);

  ClientConfig config_;
  http::ResponseParser parser_;
  std::optional<Pending> pending_;
  std::vector<std::uint32_t> to_read_;
  std::size_t next_operation_ = 0;
  std::string cookie_;
  std::vector<SentMessage> sent_;
  std::uint32_t requests_ = 0;
  std::string output_;
  std::vector<ClientEvent> events_;
  bool closed_ = false;
  bool failed_ = false;
  bool finished_ = false;
};

// Whether a string is a flag a client may set: a system flag, a keyword or a flag extension
// of rfc3501.txt 9 (flag), so never "\Recent".
bool valid_flag(std::string_view flag);

// The path segment of a folder name, percent-encoded where needed (rfc3986 2.1).
std::string encode_segment(std::string_view segment);
// The folder name of a path segment; nullopt when a percent escape is broken.
std::optional<std::string> decode_segment(std::string_view segment);

}  // namespace mailsim::webmail

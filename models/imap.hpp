// IMAP4rev1 (RFC 3501, with IDLE RFC 2177, MOVE RFC 6851, UIDPLUS RFC 4315): server and
// client sessions, sans-I/O.
//
// Theory of operation, server side. States as RFC 3501 section 3: not_authenticated ->
// (LOGIN) authenticated -> (SELECT/EXAMINE) selected -> (LOGOUT) logout; CLOSE or a failed
// SELECT go back to authenticated. The greeting "* OK [CAPABILITY ...]" is queued at once.
// Input is cut into commands: a command is one CRLF-ended line, except that a line ending
// in a literal "{n}" (section 4.3) is answered with a "+" continuation and carries on after
// n raw octets; only CRLF ends a line. Each command is parsed from the formal syntax of
// section 9; a syntax error or a command out of state gets a tagged BAD, a well-formed
// request that cannot be done a tagged NO. Nothing in the input can crash or stall the
// session: lines and literals have named size limits.
//
// The selected mailbox is seen through a per-session view: the UIDs the client has been
// told about (sequence number n is the nth of them), their flags as last reported, and the
// messages that are \Recent for this session. Other sessions change the store; whenever
// MailStore::version() moved, the session reconciles its view before a tagged response (or
// at once while in IDLE, RFC 2177, when poll() is called): untagged EXPUNGE for vanished
// messages (never during FETCH, STORE or SEARCH, section 7.4.1), FETCH FLAGS for changed
// flags, EXISTS and RECENT for new messages (section 5.2).
//
// STARTTLS (RFC 3501 6.2.1) only when the driver can really start TLS (tls_available): the
// CAPABILITY lists (greeting included) name it in not-authenticated state until TLS is on;
// "OK Begin TLS negotiation now", a starttls event, then every octet until tls_established()
// is dropped unread (it came in the clear); the session stays not authenticated. Without
// tls_available STARTTLS gets NO (the simulation charges TLS elsewhere).
// Left out: AUTHENTICATE (LOGIN is always allowed, so LOGINDISABLED is never announced), the
// autologout timer (the simulation owns time), extensions beyond IDLE, MOVE and UIDPLUS (no
// LITERAL+, UNSELECT, CONDSTORE), LSUB of unsubscribed parent names, SEARCH on MIME-decoded text,
// and time zones in INTERNALDATE (always +0000). CHECK is a NOOP.
//
// Client side. What a desktop client does to read new mail, one command per flight:
// greeting -> LOGIN -> SELECT folder -> UID SEARCH UNSEEN -> for each UID: UID FETCH uid
// (BODY.PEEK[] FLAGS), then UID STORE uid +FLAGS (\Seen) -> LOGOUT. Tags are a1, a2, ...
// Acting on one message instead (a user opens it, or moves it to a folder): LOGIN -> SELECT
// INBOX -> UID SEARCH SUBJECT s -> [UID FETCH uid (BODY.PEEK[] FLAGS), when the device lacks
// the body] UID STORE uid +FLAGS (\Seen), or UID MOVE uid folder (CREATE folder and UID MOVE
// again on NO [TRYCREATE]) -> LOGOUT.
// Sync (a client that shows folders, as Thunderbird does): when the task above is done, instead
// of LOGOUT: LIST "" "*", then each selectable folder in turn (INBOX first, as the task left it
// selected; last, with SELECT rather than EXAMINE, when IDLE follows): EXAMINE it,
// UID FETCH 1:* (FLAGS), and for the UIDs the client has not seen before
// UID FETCH set (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]) to name them. The view (folders, and
// in each the messages with flags, Subject and From) starts from what the device knew.
// IDLE (RFC 2177) after the sync, with INBOX selected: "+ idling", then each untagged update
// changes the view at once (n EXPUNGE drops the nth message, n FETCH (FLAGS ...) sets its
// flags); an EXISTS beyond the known count ends IDLE with DONE, fetches the new messages' flags
// and names (UID FETCH next:*), and IDLEs again. refresh() re-issues IDLE (RFC 2177 3: at
// least every 29 minutes), stop() ends it with DONE and LOGOUT.
// Strings are sent as atoms, quoted strings or literals as the grammar requires.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "models/store.hpp"

namespace mailsim::imap {

// Formats `s` as an RFC 3501 astring when it can be one without a literal: an atom if all
// its characters are ASTRING-CHARs, else a quoted string (section 4.3). Returns nullopt
// when it needs a literal (CR, LF, NUL or 8-bit octets).
std::optional<std::string> astring_or_quoted(std::string_view s);

// ---- Server ----

struct ServerConfig {
  std::string hostname;
  std::size_t max_line_length = 8192;        // octets of command text outside literals
  std::size_t max_literal_size = 32u << 20;  // octets of one literal (APPEND)
  std::int64_t epoch_unix = 0;               // Unix time of simulated time 0, for dates
  bool tls_available = false;                // offer STARTTLS (RFC 3501 6.2.1)
  bool implicit_tls = false;                 // inside TLS from the first byte (RFC 8314 3.3)
};

struct ServerEvent {
  enum class Kind {
    command_received,
    logged_in,
    login_failed,
    selected,
    message_fetched,  // a FETCH returned message text (BODY[...], RFC822...)
    flags_changed,    // STORE, or \Seen set by a FETCH of the body
    protocol_error,   // a BAD reply
    logout,
    message_appended,  // APPEND, COPY or MOVE added a message (detail: the mailbox)
    message_expunged,  // EXPUNGE, CLOSE or MOVE removed a message (detail: the mailbox)
    starttls           // "OK Begin TLS negotiation now" sent: handshake, then tls_established()
  };
  Kind kind;
  std::string detail;
  std::uint32_t uid = 0;
  std::string message_id;
};

namespace detail {
class Parser;
struct SearchKey;
struct FetchItem;
struct SequenceSet;
}  // namespace detail

class ServerSession {
 public:
  ServerSession(ServerConfig config, store::MailStore& store);

  void receive(std::string_view bytes);
  std::string take_output();
  std::vector<ServerEvent> take_events();
  bool closed() const { return closed_; }
  std::string_view state_name() const;  // "not_authenticated", "authenticated", ...

  // Simulated time now (seconds), used as the internal date of APPENDed messages.
  void set_now(double now) { now_ = now; }
  // True while an IDLE command waits for DONE (RFC 2177).
  bool idling() const { return idle_tag_.has_value(); }
  // The account logged in, or nullptr before LOGIN.
  const store::Account* account() const { return account_; }
  // The handshake that STARTTLS started has completed.
  void tls_established();
  bool tls_active() const { return tls_active_; }
  // Tells the session the store may have changed; while idling it queues the untagged
  // updates at once. Outside IDLE updates wait for the next command (RFC 3501 5.2).
  void poll();
  // The server is going off: an untagged BYE with the reason, then the session is closed
  // (RFC 3501 3.4, 7.1.5), whatever state it is in, IDLE too.
  void shut_down();

 private:
  enum class State { not_authenticated, authenticated, selected, logout };
  struct View {  // what the client has been told about the selected mailbox
    std::uint32_t uidvalidity = 0;
    bool read_only = false;
    std::vector<std::uint32_t> uids;                       // sequence number n -> uids[n - 1]
    std::map<std::uint32_t, std::set<std::string>> flags;  // as last reported
    std::set<std::uint32_t> recent;
    std::uint64_t version = 0;  // store version the view was last reconciled with
  };

  void end_of_line();
  void handle_command(std::string_view text);
  void dispatch(const std::string& tag, const std::string& name, detail::Parser& p);
  void handle_uid(const std::string& tag, detail::Parser& p);

  void cmd_capability(const std::string& tag, detail::Parser& p);
  void cmd_starttls(const std::string& tag, detail::Parser& p);
  void cmd_noop(const std::string& tag, detail::Parser& p);
  void cmd_logout(const std::string& tag, detail::Parser& p);
  void cmd_login(const std::string& tag, detail::Parser& p);
  void cmd_select(const std::string& tag, detail::Parser& p, bool read_only);
  void cmd_create(const std::string& tag, detail::Parser& p);
  void cmd_delete(const std::string& tag, detail::Parser& p);
  void cmd_rename(const std::string& tag, detail::Parser& p);
  void cmd_subscribe(const std::string& tag, detail::Parser& p, bool on);
  void cmd_list(const std::string& tag, detail::Parser& p, bool lsub);
  void cmd_status(const std::string& tag, detail::Parser& p);
  void cmd_append(const std::string& tag, detail::Parser& p);
  void cmd_idle(const std::string& tag, detail::Parser& p);
  void cmd_close(const std::string& tag, detail::Parser& p);
  void cmd_expunge(const std::string& tag, detail::Parser& p, bool uid);
  void cmd_search(const std::string& tag, detail::Parser& p, bool uid);
  void cmd_fetch(const std::string& tag, detail::Parser& p, bool uid);
  void cmd_store(const std::string& tag, detail::Parser& p, bool uid);
  void cmd_copy(const std::string& tag, detail::Parser& p, bool uid, bool move);

  // Removes the \Deleted messages (those in `only`, if any) with an event each.
  void expunge(store::Folder& folder, const std::set<std::uint32_t>& only);
  // The selected folder, found by its UIDVALIDITY (unique in a store), or nullptr.
  store::Folder* selected_folder();
  // Indices into the view of the messages a sequence set names (BAD if out of range).
  std::vector<std::size_t> resolve(const detail::SequenceSet& set, bool uid);
  bool matches(const detail::SearchKey& key, std::size_t index, const store::StoredMessage& m);
  std::string fetch_one(const store::StoredMessage& m, const std::vector<detail::FetchItem>& items,
                        bool uid);
  std::string flag_list(const store::StoredMessage& m) const;
  std::string mailbox_flags(const store::Folder& folder) const;
  // Reconciles the view with the store and queues the untagged updates (RFC 3501 5.2).
  void send_updates(bool expunge_allowed);
  void finish(const std::string& tag, std::string_view status, std::string_view text);
  void untagged(std::string_view line);
  std::string capabilities() const;  // what CAPABILITY lists now
  void event(ServerEvent::Kind kind, std::string detail, std::uint32_t uid = 0,
             std::string message_id = "");

  ServerConfig config_;
  store::MailStore& store_;
  State state_ = State::not_authenticated;
  bool closed_ = false;
  double now_ = 0;
  store::Account* account_ = nullptr;
  View view_;
  bool expunge_allowed_ = true;  // for the command in progress
  std::optional<std::string> idle_tag_;

  std::string command_;             // the command being received, literals inline
  std::size_t segment_length_ = 0;  // octets of command_ since the last literal
  std::size_t literal_left_ = 0;
  bool cr_ = false;
  bool too_long_ = false;
  bool tls_active_ = false;
  bool starting_tls_ = false;          // between STARTTLS and tls_established()
  std::size_t plaintext_dropped_ = 0;  // octets received in that gap
  std::string output_;
  std::vector<ServerEvent> events_;
};

// ---- Client ----

// What a syncing client knows of one message, and of one folder: its messages in UID order,
// which is their sequence order (RFC 3501 2.3.1.2).
struct ViewMessage {
  std::uint32_t uid = 0;
  std::set<std::string> flags;  // as the server last reported them
  std::string subject, from;    // fetched once, when the client first saw the message
};
struct FolderView {
  std::uint32_t uidvalidity = 0;
  std::vector<ViewMessage> messages;
};
using MailView = std::map<std::string, FolderView>;  // by folder name

struct ClientConfig {
  std::string user;
  std::string password;
  std::string folder = "INBOX";
  // Set: instead of reading new mail, the session keeps a copy of a message the user sent:
  // LOGIN, APPEND to append_folder with \Seen (creating the folder when the server answers
  // NO [TRYCREATE], RFC 3501 6.3.11), LOGOUT.
  std::optional<std::string> append_message;
  std::string append_folder = "Sent";
  // Headers first, as a client on a metered link does: the unseen messages' sizes and header
  // sections in one UID FETCH (RFC822.SIZE BODY.PEEK[HEADER]); then only the messages whose
  // Subject is in `open` are fetched whole (and flagged \Seen). The others stay unseen.
  bool headers_first = false;
  std::set<std::string> open;
  // Set: instead of reading new mail, act on the newest INBOX message whose Subject contains
  // act_subject (UID SEARCH SUBJECT): with move_to, UID MOVE it there (RFC 6851 3.1), creating
  // the folder on NO [TRYCREATE] (RFC 3501 6.3.3); without, open it as a phone does: with
  // act_fetch, UID FETCH uid (BODY.PEEK[] FLAGS) (RFC 3501 6.4.5: no \Seen yet), then
  // UID STORE +FLAGS (\Seen) (RFC 3501 6.4.6); without act_fetch (the device holds the body
  // already) only the STORE.
  std::optional<std::string> act_subject;
  std::optional<std::string> move_to;
  bool act_fetch = false;
  // Sync the folder list and every folder's flags after the task (see the top of the file),
  // starting from the view `known`; then, with idle, stay in IDLE on INBOX.
  bool sync = false;
  MailView known;
  bool idle = false;
};

struct FetchedMessage {
  std::uint32_t uid = 0;
  std::string text;
  std::set<std::string> flags;  // as fetched; fetched() shows them after the STORE
  std::string header;           // headers first: the header section (BODY[HEADER])
  std::size_t size = 0;         // headers first: RFC822.SIZE, the whole message's octets
};

struct ClientEvent {
  enum class Kind {
    response_received,
    header_fetched,  // headers first: one message's header section and size
    message_fetched,  // a whole message (a check, or a read step with act_fetch)
    message_appended,
    message_seen,   // act_subject: \Seen is set on the server (detail: "UID n")
    message_moved,  // act_subject with move_to: the message is in move_to (detail: the folder)
    folder_synced,  // sync: the view of one folder is current (detail: the folder)
    idle_started,   // the server answered IDLE with "+ idling"
    view_changed,   // in IDLE: detail "new", "flags" or "expunged"; item: the message
    failed,
    finished
  };
  Kind kind;
  std::string detail;  // the response (literal contents left out), what failed, or the folder
  FetchedMessage message;
  ViewMessage item;
};

class ClientSession {
 public:
  explicit ClientSession(ClientConfig config);

  void receive(std::string_view bytes);
  std::string take_output();
  std::vector<ClientEvent> take_events();
  bool closed() const { return closed_; }

  const std::vector<FetchedMessage>& fetched() const { return fetched_; }
  bool succeeded() const { return finished_ && !failed_; }
  // The folders and messages as the client last learned them (sync and IDLE).
  const MailView& view() const { return view_; }
  // True while an IDLE command waits for DONE.
  bool idling() const { return step_ == Step::idle; }
  // In IDLE: DONE, then IDLE again (RFC 2177 3, before the server's inactivity timeout).
  void refresh();
  // Ends IDLE (DONE) and logs out; outside IDLE, logs out once the command in flight is done.
  void stop();

 private:
  enum class Step {
    greeting,
    login,
    select,
    search,
    headers,
    fetch,
    store,
    append,
    create,
    move,
    list,          // sync: LIST "" "*"
    examine,       // sync: EXAMINE (or SELECT) the folder being synced
    sync_flags,    // sync: UID FETCH 1:* (FLAGS)
    sync_headers,  // sync: the Subject and From of the messages new to the view
    idle,          // IDLE sent; "+ idling" and untagged updates until DONE
    idle_done,     // DONE sent, waiting for the IDLE command's tagged OK
    idle_fetch,    // the flags and names of messages that arrived during IDLE
    logout,
    done
  };
  // One argument of a command; a literal one is sent after the server's "+" continuation.
  struct Arg {
    Arg(const char* text) : text(text), literal(false) {}
    Arg(std::string text, bool literal = false) : text(std::move(text)), literal(literal) {}
    std::string text;
    bool literal;
  };
  // A string argument as an atom, a quoted string, or a literal (RFC 3501 section 4.3).
  static Arg string_arg(std::string_view s);

  void end_of_line();
  void handle_response(std::string_view text);
  void handle_untagged(std::string_view text);
  void handle_tagged(std::string_view status, std::string_view text);
  void send(Step step, std::vector<Arg> args);
  void next_message();
  void after_login();
  void send_append();
  void send_move();  // UID MOVE current_uid_ to move_to
  void fail(std::string detail);
  // The task is done: sync, or LOGOUT.
  void task_done();
  void fetch_flags();  // sync: UID FETCH 1:* (FLAGS) of the folder just selected
  void next_folder();  // sync the next folder in to_sync_, or IDLE or LOGOUT when none is left
  void send_idle();    // IDLE (RFC 2177 3); "+ idling" will start it
  // After DONE: the flags and names of messages beyond the view (EXISTS said so), else IDLE.
  void fetch_new_or_idle();
  void send_done();    // "DONE" ends IDLE (RFC 2177 3); the IDLE command's tag stays in flight
  // In IDLE and the steps around it: applies one untagged update to INBOX's view.
  void idle_update(const std::string& kind, std::uint32_t n, const FetchedMessage& fetched,
                   bool has_flags, bool has_header);

  ClientConfig config_;
  Step step_ = Step::greeting;
  bool closed_ = false;
  bool finished_ = false;
  bool failed_ = false;
  unsigned next_tag_ = 1;
  std::string tag_;                    // of the command in flight
  std::vector<std::string> segments_;  // rest of the command, sent on each "+"
  std::uint32_t exists_ = 0;
  std::vector<std::uint32_t> to_fetch_;
  std::optional<FetchedMessage> current_;
  std::uint32_t current_uid_ = 0;
  bool created_ = false;                 // CREATE was tried for the append folder
  std::vector<FetchedMessage> headers_;  // headers first: what the header FETCH returned
  MailView view_;                        // sync and IDLE
  std::vector<std::string> listed_;      // what LIST returned, in its order
  std::set<std::string> listed_set_;     // the same, to drop a name listed twice
  std::vector<std::string> to_sync_;     // folders still to sync
  std::string syncing_;                  // the folder being synced
  std::string selected_;                 // the selected folder, "" when none
  bool read_write_ = false;              // selected with SELECT, not EXAMINE
  std::uint32_t uidvalidity_ = 0;        // of the selected folder
  std::vector<ViewMessage> synced_;      // sync_flags: what UID FETCH 1:* (FLAGS) returned
  bool done_sent_ = false;               // DONE went out for the IDLE in flight
  std::size_t fetched_from_ = 0;         // INBOX's size in the view when idle_fetch began
  bool stop_ = false;                    // stop() was called

  std::string response_;
  std::size_t literal_left_ = 0;
  bool cr_ = false;
  std::string output_;
  std::vector<ClientEvent> events_;
  std::vector<FetchedMessage> fetched_;
};

}  // namespace mailsim::imap

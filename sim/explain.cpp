// Plain words for the steps of a run (mailsim run --explain).
//
// Theory of operation. The explainer reads trace events in order and keeps,
// per connection, the step it explained last. A step is named from the event
// alone: for TCP the control segment that opens or closes (SYN, FIN, RST); for
// a client's flight the command it carries (EHLO, RCPT, UID FETCH, GET /path);
// for a server's first flight its greeting. A server's reply continues the
// client's step and gets no line of its own. Events without a connection (a
// DNS query, the queue manager, local delivery, a user's action) are each a
// step. What the line says comes from the event's kind and the roles on its
// connection, never from the scenario, so every scenario is explained alike.
// A kind it knows no commands of (tls, or one added later) gets one line
// where it starts on a connection.
// Each line ends with the ideas of the story it shows, in brackets.
#include "sim/explain.hpp"

#include <fmt/format.h>

#include <cctype>

namespace mailsim::sim {

namespace {

// A flight's first line, without its CRLF.
std::string first_line(const std::string& payload) {
  return payload.substr(0, payload.find("\r\n"));
}

// Commands compare in upper case ("uid fetch" is "UID FETCH").
std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// The words of a line, split on spaces.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < line.size()) {
    auto end = line.find(' ', start);
    if (end == std::string::npos) end = line.size();
    if (end > start) out.push_back(line.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Letters only: a command verb rather than a header field or a body line.
bool is_word(const std::string& w) {
  if (w.empty()) return false;
  for (char c : w)
    if (not std::isalpha(static_cast<unsigned char>(c))) return false;
  return true;
}

bool starts_with(const std::string& text, const char* prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

// The step a client's flight begins: its command ("RCPT", "UID FETCH", "GET /api/messages").
std::string client_step(const TraceEvent& e) {
  auto w = words(first_line(e.payload));
  if (e.kind == "imap") {  // tag, then the command; UID takes the next word too
    bool fetch = w.size() >= 3 && upper(w[1]) == "UID" && upper(w[2]) == "FETCH";
    bool text = contains(e.payload, "BODY") || contains(e.payload, "RFC822");
    if (fetch && contains(e.payload, "HEADER.FIELDS"))  // a syncing client names new messages
      return "UID FETCH names";
    if (fetch && not text)  // a syncing client's flags
      return "UID FETCH flags";
    if (w.size() >= 3 && upper(w[1]) == "UID") return "UID " + upper(w[2]);
    if (w.size() >= 2) return upper(w[1]);
    return w.empty() ? "" : upper(w[0]);  // DONE, ending IDLE, has no tag
  }
  if (e.kind == "http") return w.size() >= 2 ? w[0] + " " + w[1] : "request";
  if (w.empty() || not is_word(w[0])) return "content";
  std::string verb = upper(w[0]);
  if (e.kind == "smtp" && (verb == "MAIL" || verb == "RCPT")) return "envelope";
  if (e.kind == "pop3" && (verb == "USER" || verb == "PASS" || verb == "APOP")) return "login";
  if (e.kind == "pop3" && (verb == "STAT" || verb == "LIST" || verb == "UIDL")) return "listing";
  return verb;
}

// What the server tells a client in IDLE without being asked: "IDLE EXISTS", "IDLE FETCH",
// "IDLE EXPUNGE" (RFC 2177 3), "IDLE BYE" as it goes off (RFC 3501 7.1.5), or "" for the
// answers to the client's own commands.
std::string idle_update(const TraceEvent& e) {
  auto w = words(first_line(e.payload));
  if (w.size() >= 2 && w[0] == "*" && upper(w[1]) == "BYE") return "IDLE BYE";
  if (w.size() < 3 || w[0] != "*") return "";
  std::string what = upper(w[2]);
  return what == "EXISTS" || what == "FETCH" || what == "EXPUNGE" ? "IDLE " + what : "";
}

// "  [push; SMTP client]": the ideas a line shows.
std::string tags(std::initializer_list<const char*> ideas) {
  std::string text;
  for (const char* idea : ideas) text += (text.empty() ? "" : "; ") + std::string(idea);
  return "  [" + text + "]";
}

}  // namespace

// Learns what to call each host and who is client and server on each connection.
Explainer::Explainer(const World& world) {
  for (const auto& person : world.scenario().people)
    for (const auto& device : person.devices)
      names_[device.host] = fmt::format("{}'s {}", person.name, device.name);
  names_[world.scenario().dns.host] = "the DNS server";

  for (const auto& e : world.recorder().events()) {
    if (e.conn.empty()) continue;
    auto& ends = ends_[e.conn];
    if (e.dir == "C" && ends.client.empty()) {
      ends.client = e.src_host;
      ends.client_role = e.role;
      ends.server = e.dst_host;
    } else if (e.dir == "S" && ends.server_role.empty()) {
      ends.server = e.src_host;
      ends.server_role = e.role;
    }
  }
}

// "Rav's laptop" for a device, the host name for a server.
std::string Explainer::name(const std::string& host) const {
  auto it = names_.find(host);
  return it == names_.end() ? host : it->second;
}

std::string Explainer::before(const TraceEvent& e) {
  std::string text;
  if (e.conn.empty()) {
    text = explain_other(e);
  } else {
    const Ends& ends = ends_[e.conn];
    std::string step;
    bool known = e.kind == "tcp" || e.kind == "smtp" || e.kind == "imap" || e.kind == "pop3" ||
                 e.kind == "http";
    if (not known)
      step = e.kind;  // a layer this explainer has no commands for: one line per stretch
    else if (e.kind == "tcp")
      step = e.summary == "SYN" || e.summary == "FIN" || e.summary == "RST" ? e.summary : "";
    else if (e.dir == "C")
      step = client_step(e);
    else if (step_[e.conn] == "SYN")
      step = "greeting";
    else if (e.kind == "imap" && starts_with(step_[e.conn], "IDLE"))
      step = idle_update(e);
    if (step.empty() || step == step_[e.conn]) return "";
    step_[e.conn] = step;
    if (e.kind == "tcp")
      text = explain_tcp(e, ends);
    else if (e.kind == "smtp")
      text = explain_smtp(step, ends);
    else if (e.kind == "imap")
      text = explain_imap(step, ends);
    else if (e.kind == "pop3")
      text = explain_pop3(step, ends, deleting_.count(e.conn) > 0);
    else if (e.kind == "http")
      text = explain_http(e, step, ends);
    else if (e.kind == "tls")
      text = fmt::format(
                 "TLS handshake: {} and {} agree on keys; what follows on this "
                 "connection is encrypted.",
                 name(ends.client), name(ends.server)) +
             tags({"TLS", "handshake"});
    else
      text = fmt::format("{} and {} exchange {} messages.", name(ends.client), name(ends.server),
                         upper(e.kind)) +
             tags({e.kind.c_str()});
    if (e.kind == "pop3" && step == "DELE") deleting_.insert(e.conn);
  }
  return text.empty() ? "" : fmt::format("{:>13}# {}\n", "", text);
}

// Opening (the handshake), refusing, closing.
std::string Explainer::explain_tcp(const TraceEvent& e, const Ends& ends) const {
  if (e.summary == "SYN")
    return fmt::format(
               "{} ({}) opens a TCP connection to {} ({}){}: SYN, SYN-ACK, ACK cost one "
               "round trip before any mail moves.",
               name(ends.client), ends.client_role, name(ends.server),
               ends.server_role.empty() ? "nobody answers yet" : ends.server_role,
               e.port > 0 ? fmt::format(" on port {}", e.port) : "") +
           tags({"handshake", "TCP/IP underneath"});
  if (e.summary == "RST")
    return fmt::format("Nothing listens on that port of {}: it refuses the connection (RST).",
                       name(e.src_host)) +
           tags({"handshake"});
  return fmt::format("{} closes the connection: FIN, FIN-ACK, ACK.", name(e.src_host)) +
         tags({"TCP/IP underneath"});
}

// SMTP steps, for submission (user agent) and relay (SMTP client) alike.
std::string Explainer::explain_smtp(const std::string& step, const Ends& ends) const {
  bool submission = ends.client_role == "user agent";
  auto idea = [submission](const char* extra) {
    return submission ? tags({"push", "user agent to mail server", extra})
                      : tags({"push", "SMTP client", "SMTP server", extra});
  };
  std::string client = name(ends.client), server = name(ends.server);
  if (step == "greeting")
    return fmt::format("{} greets first: on this connection it is the {}, and {} is the {}.",
                       server, ends.server_role, client, ends.client_role) +
           idea("roles");
  if (step == "EHLO" || step == "HELO")
    return fmt::format(
               "{} says who it is ({}); the server lists the SMTP extensions it "
               "supports.",
               client, step) +
           idea("SMTP");
  if (step == "AUTH")
    return fmt::format(
               "{} logs in (AUTH): the submission port takes mail only from the "
               "provider's own users.",
               client) +
           idea("submission");
  if (step == "STARTTLS")
    return "STARTTLS: both sides switch to an encrypted channel before going on." + idea("TLS");
  if (step == "envelope")
    return "The envelope: MAIL FROM names the sender, RCPT TO each recipient; the server "
           "accepts each one." +
           idea("SMTP");
  if (step == "DATA")
    return fmt::format("{} asks to send the message itself (DATA); 354 says go ahead.", client) +
           idea("SMTP");
  if (step == "content")
    return "The message crosses: header fields, a blank line, the body, and a lone dot to end "
           "it. The server queues it before it says 250." +
           idea(submission ? "the sender's server" : "the receiving server");
  if (step == "QUIT") return fmt::format("{} says goodbye (QUIT).", client) + idea("SMTP");
  return fmt::format("{} sends the SMTP command {}.", client, step) + idea("SMTP");
}

// IMAP steps: the pull that leaves the message on the server.
std::string Explainer::explain_imap(const std::string& step, const Ends& ends) const {
  std::string ideas = tags({"pull", "IMAP", "retrieval"});
  std::string ua = name(ends.client);
  if (step == "greeting")
    return fmt::format("The IMAP server greets {} and lists what it can do.", ua) + ideas;
  if (step == "LOGIN" || step == "AUTHENTICATE")
    return ua + " logs in to the mailbox on the server (LOGIN)." + ideas;
  if (step == "SELECT" || step == "EXAMINE")
    return ua + " opens a folder on the server; the server says how many messages it holds." +
           ideas;
  if (step == "SEARCH" || step == "UID SEARCH")
    return ua + " asks the server which messages are new (SEARCH UNSEEN)." + ideas;
  if (step == "FETCH" || step == "UID FETCH")
    return ua + " pulls a copy of a message (FETCH); the message itself stays on the server." +
           ideas;
  if (step == "STORE" || step == "UID STORE")
    return ua +
           " changes flags on the server (STORE): a message marked \\Seen here shows as read "
           "on every device." +
           ideas;
  if (step == "APPEND")
    return ua + " puts a copy of a message into a folder on the server (APPEND), e.g. Sent." +
           ideas;
  if (step == "IDLE")
    return ua + " waits for news (IDLE): the server will tell it at once when mail arrives." +
           ideas;
  std::string told = fmt::format("Without being asked, the server tells {} at once", ua);
  if (step == "IDLE EXISTS")
    return told + " that new mail has arrived (EXISTS); the device will end IDLE to list it." +
           tags({"IMAP", "IDLE", "the server speaks first"});
  if (step == "IDLE FETCH")
    return told + " that a flag changed, e.g. \\Seen set by another device (FETCH FLAGS)." +
           tags({"IMAP", "IDLE", "one mailbox, many devices"});
  if (step == "IDLE EXPUNGE")
    return told + " that a message left the folder, moved or deleted elsewhere (EXPUNGE)." +
           tags({"IMAP", "IDLE", "one mailbox, many devices"});
  if (step == "IDLE BYE")
    return fmt::format("The server is going off: it says goodbye to {} (BYE) and closes the "
                       "IDLE connection; the device hears nothing more until it connects again.",
                       ua) +
           tags({"IMAP", "IDLE", "things going wrong"});
  if (step == "DONE")
    return ua + " ends IDLE (DONE), to send a command or to renew IDLE before 30 minutes pass." +
           ideas;
  if (step == "LIST")
    return ua + " asks for the list of folders (LIST), to show them as the server has them." +
           ideas;
  if (step == "UID FETCH flags")
    return ua + " asks for every message's flags (FETCH FLAGS): read or not, as the server keeps"
                " them for all devices." +
           ideas;
  if (step == "UID FETCH names")
    return ua + " asks for the names (Subject, From) of messages it has not seen before, not "
                "their bodies." +
           ideas;
  if (step == "MOVE" || step == "UID MOVE" || step == "COPY" || step == "UID COPY")
    return ua + " moves or copies a message into another folder on the server." + ideas;
  if (step == "LOGOUT") return ua + " logs out; everything it changed stays on the server." + ideas;
  return fmt::format("{} sends the IMAP command {}.", ua, step) + ideas;
}

// POP3 steps: the pull that downloads, and maybe deletes.
std::string Explainer::explain_pop3(const std::string& step, const Ends& ends,
                                    bool deleting) const {
  std::string ideas = tags({"pull", "POP3", "retrieval"});
  std::string ua = name(ends.client);
  if (step == "greeting") return fmt::format("The POP3 server greets {}.", ua) + ideas;
  if (step == "login") return ua + " logs in to its maildrop (USER, PASS)." + ideas;
  if (step == "listing") return ua + " asks what the maildrop holds (STAT, LIST, UIDL)." + ideas;
  if (step == "RETR" || step == "TOP")
    return ua + " downloads a whole message to this device (RETR)." + ideas;
  if (step == "DELE")
    return ua + " marks the message for deletion (DELE): after QUIT the server keeps no copy." +
           ideas;
  if (step == "QUIT" && deleting)
    return ua +
           " says goodbye (QUIT); the server now removes the messages marked for deletion, "
           "so it keeps no copy." +
           ideas;
  if (step == "QUIT")
    return ua +
           " says goodbye (QUIT); nothing was marked for deletion, so the server keeps its "
           "copies." +
           ideas;
  return fmt::format("{} sends the POP3 command {}.", ua, step) + ideas;
}

// A browser's request to webmail.
std::string Explainer::explain_http(const TraceEvent& e, const std::string& step,
                                    const Ends& ends) const {
  bool push = e.flow == "push";
  std::string text =
      fmt::format("{} (a web-based user agent) sends the HTTP request {} to the webmail server.",
                  name(ends.client), step);
  if (contains(step, "logout"))
    text += " It logs out.";
  else if (contains(step, "login"))
    text += " It logs in first.";
  else if (push && starts_with(step, "POST"))
    text += " The webmail server, not the browser, will speak SMTP.";
  else if (starts_with(step, "GET"))
    text += " The answer brings mail to the browser.";
  return text + tags({push ? "push" : "pull", "HTTP", "user agent"});
}

// Steps without a connection: DNS, the queue manager, local delivery, a user's action.
std::string Explainer::explain_other(const TraceEvent& e) const {
  if (e.kind == "dns") {
    if (not starts_with(e.summary, "query")) return "";
    return fmt::format(
               "MX lookup: {} asks the DNS server which host receives mail for the "
               "recipient's domain.",
               name(e.src_host)) +
           tags({"MX lookup", "SMTP client"});
  }
  if (e.kind == "queue") {
    if (contains(e.summary, "queue active"))
      return fmt::format(
                 "Queueing: {} has written the message to its queue; its queue "
                 "manager will move it on.",
                 name(e.src_host)) +
             tags({"queueing", "mail server"});
    if (contains(e.summary, "status=sent (delivered"))
      return "The queue manager notes the local delivery; the message has left the queue." +
             tags({"queueing"});
    if (contains(e.summary, "status=sent"))
      return fmt::format("The next server has the message: {} drops it from its queue.",
                         name(e.src_host)) +
             tags({"queueing", "SMTP client"});
    if (contains(e.summary, "status=deferred"))
      return "The next server could not take it now: the message stays queued and will be "
             "tried again later." +
             tags({"queueing"});
    return fmt::format("Queue manager of {}: {}.", name(e.src_host), e.summary) +
           tags({"queueing"});
  }
  if (e.kind == "store")
    return fmt::format(
               "{} stores the message in the recipient's mailbox: SMTP's push ends "
               "here, and the message waits to be pulled.",
               name(e.src_host)) +
           tags({"SMTP server", "mailbox"});
  if (e.kind == "ua") {
    if (contains(e.summary, "presses Send"))
      return fmt::format(
                 "On {} the user agent takes the message; from here on, programs and "
                 "servers carry it.",
                 name(e.src_host)) +
             tags({"user agent", "push"});
    if (contains(e.summary, "checks") || contains(e.summary, "opens webmail"))
      return fmt::format("On {} the user agent asks its mail server for new mail.",
                         name(e.src_host)) +
             tags({"user agent", "pull"});
    if (contains(e.summary, "submitted") || contains(e.summary, "accepted the message"))
      return "Submission is done: the message is on the sender's mail server, and the user "
             "agent's part is over." +
             tags({"user agent", "push"});
    if (contains(e.summary, "now has") || contains(e.summary, " read "))
      return fmt::format("Retrieval is done: the message is on {}.", name(e.src_host)) +
             tags({"user agent", "pull", "retrieval"});
    if (contains(e.summary, "no new mail"))
      return fmt::format("{} finds no new mail on the server this time.", name(e.src_host)) +
             tags({"user agent", "pull"});
    return fmt::format("User agent on {}: {}.", name(e.src_host), e.summary) + tags({"user agent"});
  }
  return "";
}

}  // namespace mailsim::sim

// The user agents. A desktop client (Thunderbird, Outlook) composes the
// RFC 5322 message itself and submits it on port 587 with AUTH (RFC 6409),
// then reads mail over POP3 or IMAP; a web user agent is a browser talking
// HTTP/1.1 to the provider's webmail, which composes and submits for it.
// With the provider's "tls" on, they use what it offers: submission on 465
// (implicit TLS) or 587 with STARTTLS required, POP3 on 995, IMAP on 993,
// HTTPS on 443 (RFC 8314).
// Each action is one session actor on the device's host, started by the
// script, so a user who is not doing anything costs no actor.
// A client device with "sync" keeps its own view of the mailbox (DeviceState::view): each of
// its IMAP sessions ends with LIST and every folder's flags. With "idle" its check does not log
// out but stays in IDLE (RFC 2177): the actor lives on, waiting for the server's untagged
// updates, which change the view at once, and renews the IDLE every 29 minutes, until SimGrid
// stops it at the end of the run with the connection still open. When the server ends that
// connection (BYE as it goes off) or the network loses it, the device reconnects on its own:
// 1 minute later, then after 2, 4, 8 and at most 15 minutes between failed attempts (a model
// choice; real clients differ), each a real connect that times out or is refused while the
// server is off; the first that succeeds syncs and idles again. It stops at the end of the run.
#include "sim/agents.hpp"

#include "models/imap.hpp"
#include "models/message.hpp"
#include "models/pop3.hpp"
#include "models/random.hpp"
#include "models/webmail.hpp"
#include "sim/daemons.hpp"
#include "sim/session.hpp"

#include <fmt/format.h>
#include <xbt/log.h>

#include <algorithm>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_ua, mailsim, "User agents (mua, browser)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

// RFC 2177 3: a client in IDLE re-issues it at least every 29 minutes, before a server's
// 30-minute inactivity timer could log it out.
constexpr double kIdleRenewal = 29 * 60;
// The reconnect back-off of an IDLE device (a model choice: Thunderbird, for one, waits
// differently): the first attempt 1 minute after the loss, the delay doubled after each failed
// attempt up to 15 minutes.
constexpr double kReconnectFirst = 60;
constexpr double kReconnectMax = 15 * 60;

// How one check ended for the reconnect logic.
enum class CheckOutcome { done, unreachable, idle_lost };

std::map<std::string, DeviceState>& states()
{
  static std::map<std::string, DeviceState> all;  // by device host; one simulation per process
  return all;
}

DeviceState& state_of(const scenario::Person& person, const scenario::Device& device)
{
  auto& state = states()[device.host];
  state.person = person.name;
  state.device = device.name;
  state.host = device.host;
  return state;
}

std::string domain_of(const std::string& address)
{
  return address.substr(address.rfind('@') + 1);
}

// How many messages the person's provider holds in their INBOX now.
std::size_t server_inbox_size(const scenario::Person& person)
{
  auto* account = World::get().store(domain_of(person.address)).find_account(person.address);
  return account == nullptr ? 0 : account->inbox().messages().size();
}

void trace_ua(const std::string& host, const std::string& actor, const std::string& summary,
              const std::string& message_id = "")
{
  TraceEvent event;
  event.time = sg4::Engine::get_clock();
  event.kind = "ua";
  event.src_host = host;
  event.src_actor = actor;
  event.summary = summary;
  event.message_id = message_id;
  World::get().recorder().add(std::move(event));
}

std::string join(const std::vector<std::string>& items)
{
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The body reached the device: the message is read there.
void mark_read(const std::string& message_id, const std::string& reader, const HostEntry& device,
               const Connection& connection, const char* protocol)
{
  auto* timeline = World::get().find_timeline(message_id, reader);
  if (timeline == nullptr || timeline->read >= 0)
    return;
  timeline->read = sg4::Engine::get_clock();
  timeline->retrieval_open = connection.opened_at;
  timeline->retrieval_established = connection.established_at;
  timeline->retrieval_conn = connection.id;
  timeline->retrieved_by = device.name;
  timeline->retrieval_protocol = protocol;
  timeline->retrieval_round_trips = connection.round_trips;
  timeline->retrieval_tls = connection.tls_span;
}

// "\"Lake trip\" (seen)": a message of a device's view, for the trace.
std::string view_item(const imap::ViewMessage& m)
{
  return fmt::format("\"{}\" ({})", m.subject, m.flags.count("\\Seen") ? "seen" : "unseen");
}

// What a user sees when the server does not take the connection: a refusal
// (nothing listens on that port) or silence (the server is down).
std::string unreachable(ConnectError error, const std::string& server, const std::string& refused)
{
  if (error == ConnectError::timed_out)
    return fmt::format("cannot reach {}: no answer, the connection timed out", server);
  return refused;
}

const scenario::Provider& provider_of(const scenario::Person& person)
{
  const auto* provider = World::get().provider_of_domain(domain_of(person.address));
  return *provider;  // the loader checked that every address belongs to a provider
}

// The header section of a message: what a reply needs from it.
std::string header_section(const std::string& text)
{
  auto blank = text.find("\r\n\r\n");
  return blank == std::string::npos ? text : text.substr(0, blank + 4);
}

// The message a reply step answers, from what the device has received; nullptr if none.
const std::string* parent_of(const DeviceState& state, const scenario::Step& step)
{
  if (step.reply_position > 0)
    return step.reply_position <= state.headers.size() ? &state.headers[step.reply_position - 1]
                                                       : nullptr;
  for (auto it = state.headers.rbegin(); it != state.headers.rend(); ++it)
    if (msg::find_header(*it, "Subject").value_or("") == step.reply_subject)
      return &*it;
  return nullptr;
}

// The parent of a reply step, or nullptr after the trace has said that there is none.
const std::string* find_parent(const scenario::Person& person, const scenario::Device& device,
                               const scenario::Step& step, const char* actor)
{
  const std::string* parent = parent_of(state_of(person, device), step);
  if (parent == nullptr)
    trace_ua(device.host, actor,
             step.reply_position > 0
                 ? fmt::format("{} has no message {} on the {} to reply to", person.name,
                               step.reply_position, device.name)
                 : fmt::format("{} has no message \"{}\" on the {} to reply to", person.name,
                               step.reply_subject, device.name));
  return parent;
}

// The step's attachments with their content: a file's octets, or octets drawn from the
// scenario's seed (one stream per step and attachment, so they never depend on each other).
std::vector<msg::Attachment> attachments_of(const scenario::Step& step)
{
  const auto& scenario = World::get().scenario();
  auto step_index = static_cast<std::uint64_t>(&step - scenario.script.data());
  std::vector<msg::Attachment> out;
  for (std::size_t a = 0; a < step.attachments.size(); ++a) {
    const auto& spec = step.attachments[a];
    auto random = rnd::Random::stream(scenario.seed, step_index << 16 | a);
    std::string data = spec.from_file ? spec.content : random.bytes(spec.size);
    out.push_back({spec.name, spec.content_type, std::move(data)});
  }
  return out;
}

// "to uday@ums.com, cc mira@ums.com, 1 attachment of 2000000 bytes" (only what there is).
std::string recipients_line(const msg::Composition& c)
{
  std::string line = "to " + join(c.to);
  if (not c.cc.empty())
    line += ", cc " + join(c.cc);
  if (not c.bcc.empty())
    line += ", bcc " + join(c.bcc);
  std::size_t octets = 0;
  for (const auto& attachment : c.attachments)
    octets += attachment.data.size();
  if (not c.attachments.empty())
    line += fmt::format(", {} attachment{} of {} bytes", c.attachments.size(),
                        c.attachments.size() == 1 ? "" : "s", octets);
  return line;
}

// A desktop client's "place a copy in Sent": SMTP hands the message on but keeps nothing
// for the sender, so the client stores its own copy in the server's Sent folder with IMAP
// APPEND (RFC 3501 6.3.11), on a connection of its own after the submission.
void keep_sent_copy(const scenario::Person& person, const scenario::Device& device,
                    const std::string& text, const std::string& message_id)
{
  auto& world = World::get();
  const auto& provider = provider_of(person);
  const auto& me = world.platform().host(device.host);
  const auto& server = world.platform().host(provider.host);
  ConnectionSpec spec{"imap", "user agent", "IMAP server", "push"};  // an upload
  ConnectError error = ConnectError::refused;
  auto socket = connect(me, "mua", server, imap_port(provider), spec, &error);
  if (not socket) {
    trace_ua(me.name, "mua",
             unreachable(error, server.name,
                         fmt::format("no copy in Sent: {} does not offer IMAP", provider.domain)),
             message_id);
    return;
  }
  socket->connection().message_id = message_id;
  if (provider.tls.retrieval == scenario::TlsMode::implicit)
    tls_connect(*socket, provider.tls.version);
  imap::ClientConfig config;
  config.user = person.address;
  config.password = person.password;
  config.append_message = text;
  imap::ClientSession engine(config);
  bool appended = false;
  drive_session(*socket, engine, [&](const std::vector<imap::ClientEvent>& events) {
    for (const auto& e : events)
      appended |= e.kind == imap::ClientEvent::Kind::message_appended;
  });
  trace_ua(me.name, "mua",
           appended ? fmt::format("a copy of the sent message is in {}'s Sent folder on {}",
                                  person.name, provider.host)
                    : "no copy in Sent: the IMAP server refused the APPEND",
           message_id);
}

void client_send(const scenario::Person& person, const scenario::Device& device,
                 const scenario::Step& step)
{
  auto& world = World::get();
  const auto& provider = provider_of(person);
  const auto& me = world.platform().host(device.host);
  const auto& server = world.platform().host(provider.host);
  double now = sg4::Engine::get_clock();

  msg::Composition c;
  c.from_name = person.name;
  c.from = person.address;
  c.to = step.to;
  c.cc = step.cc;
  c.bcc = step.bcc;
  c.subject = step.subject;
  c.body = step.body;
  std::string parent_subject;
  if (step.action == scenario::Action::reply) {
    const std::string* parent = find_parent(person, device, step, "mua");
    if (parent == nullptr)
      return;
    auto reply = msg::reply_headers(*parent);
    parent_subject = msg::find_header(*parent, "Subject").value_or("");
    c.to = {reply.to};
    if (not step.has_subject)
      c.subject = reply.subject;
    c.in_reply_to = reply.in_reply_to;
    c.references = reply.references;
  }
  c.attachments = attachments_of(step);
  c.date_unix = world.scenario().epoch_unix + static_cast<std::int64_t>(now);
  c.tz_offset_minutes = me.utc_offset_minutes;
  c.message_id = world.next_message_id(provider.domain, now);
  std::string text = msg::build_message(c);
  const auto recipients = msg::envelope_recipients(c);
  trace_ua(me.name, "mua",
           step.action == scenario::Action::reply
               ? fmt::format("{} presses Reply to \"{}\" {}: \"{}\" {} ({} bytes)", person.name,
                             parent_subject, c.in_reply_to, c.subject, recipients_line(c),
                             text.size())
               : fmt::format("{} presses Send: \"{}\" {} ({} bytes)", person.name, c.subject,
                             recipients_line(c), text.size()),
           c.message_id);
  for (const auto& rcpt : recipients) {
    auto& t = world.timeline(c.message_id, rcpt);
    t.from = person.address;
    t.subject = c.subject;
    t.composed = now;
  }

  ConnectionSpec spec{"smtp", "user agent", "submission server", "push"};
  int port = submission_port(provider);
  ConnectError error = ConnectError::refused;
  auto socket = connect(me, "mua", server, port, spec, &error);
  if (not socket) {
    trace_ua(me.name, "mua",
             unreachable(error, server.name,
                         fmt::format("submission refused: the server does not listen on port {}",
                                     port)),
             c.message_id);
    return;
  }
  auto& connection = socket->connection();
  connection.message_id = c.message_id;
  if (provider.tls.submission == scenario::TlsMode::implicit)
    tls_connect(*socket, provider.tls.version);
  smtp::Envelope envelope;
  envelope.mail_from = person.address;
  envelope.recipients = recipients;
  envelope.message = text;
  smtp::ClientConfig config;
  config.helo_name = me.name;
  config.auth = std::make_pair(person.address, person.password);
  if (provider.tls.submission == scenario::TlsMode::starttls)
    config.tls = smtp::TlsPolicy::required;  // never AUTH in the clear
  smtp::ClientSession engine(config, std::move(envelope));
  drive_session(*socket, engine, [&](const std::vector<smtp::ClientEvent>& events) {
    for (const auto& e : events)
      if (e.kind == smtp::ClientEvent::Kind::starttls) {
        tls_connect(*socket, provider.tls.version);
        engine.tls_established();
      }
  });
  for (const auto& rcpt : recipients) {
    auto& t = world.timeline(c.message_id, rcpt);
    t.submit_open = connection.opened_at;
    t.submit_established = connection.established_at;
    t.submit_tls = connection.tls_span;
  }
  trace_ua(me.name, "mua",
           engine.succeeded()
               ? device.save_sent ? "message submitted; now a copy for the Sent folder"
                                  : "message submitted; the user agent's part is done"
               : "submission failed: the server refused the message",
           c.message_id);
  if (engine.succeeded())
    state_of(person, device).sent++;
  if (engine.succeeded() && device.save_sent)
    keep_sent_copy(person, device, text, c.message_id);
}

// Drives an IMAP client that ends in IDLE: like drive_session, but while the engine idles it
// waits for the server's next flight only until the IDLE is 29 minutes old, then re-issues it
// (RFC 2177 3). The connection stays open to the end of the run, when SimGrid stops the actor.
template <class OnEvents>
void idle_session(Socket& socket, imap::ClientSession& engine, OnEvents on_events,
                  const double& idle_since, const scenario::Device& device)
{
  drive_session(socket, engine, on_events, [&] {
    if (not engine.idling())
      return false;
    double left = idle_since + kIdleRenewal - sg4::Engine::get_clock();
    auto comm = socket.arm_receive();
    if (not comm || sg4::Comm::wait_any_for({comm}, left) >= 0)
      return false;
    trace_ua(device.host, "mua",
             fmt::format("the {} renews its IDLE (RFC 2177: at least every 29 minutes)",
                         device.name));
    engine.refresh();
    return true;
  });
}

// One IMAP or POP3 session of a desktop client; `reconnect` says it is an IDLE device's
// automatic attempt after its connection was lost.
CheckOutcome check_once(const scenario::Person& person, const scenario::Device& device,
                        const std::vector<std::string>& open, bool reconnect)
{
  auto& world = World::get();
  const auto& provider = provider_of(person);
  const auto& me = world.platform().host(device.host);
  const auto& server = world.platform().host(provider.host);
  auto& state = state_of(person, device);
  state.sessions++;

  bool imap = device.retrieval == scenario::Retrieval::imap;
  const char* protocol = imap ? "IMAP" : "POP3";
  ConnectionSpec spec{imap ? "imap" : "pop3", "user agent", imap ? "IMAP server" : "POP3 server",
                      "pull"};
  trace_ua(me.name, "mua",
           reconnect ? fmt::format("the {} reconnects to {} to sync and IDLE again", device.name,
                                   server.name)
                     : fmt::format("{} checks for new mail ({})", person.name,
                                   imap ? "IMAP" : "POP3"));
  ConnectError error = ConnectError::refused;
  auto socket = connect(me, "mua", server, imap ? imap_port(provider) : pop3_port(provider), spec,
                        &error);
  if (not socket) {
    trace_ua(me.name, "mua",
             unreachable(error, server.name,
                         fmt::format("{} is refused: {} does not offer {}", person.name,
                                     provider.domain, imap ? "IMAP" : "POP3")));
    return CheckOutcome::unreachable;
  }
  auto& connection = socket->connection();
  if (provider.tls.retrieval == scenario::TlsMode::implicit)
    tls_connect(*socket, provider.tls.version);
  std::vector<std::string> fetched;
  bool idle_here = imap && device.idle && state.idle_conn.empty();
  auto report = [&] {
    for (const auto& id : fetched)
      state.messages.push_back(id);
    trace_ua(me.name, "mua",
             fetched.empty() ? fmt::format("{} has no new mail", person.name)
                             : fmt::format("{} now has {} new message(s) on the {}", person.name,
                                           fetched.size(), device.name));
  };
  if (imap) {
    imap::ClientConfig config;
    config.user = person.address;
    config.password = person.password;
    // Reconnecting, nobody is at the device: it lists new mail by its headers and opens none.
    config.headers_first = not open.empty() || reconnect;
    config.open.insert(open.begin(), open.end());
    config.sync = device.sync;
    config.known = state.view;
    config.idle = idle_here;
    std::size_t listed = 0, listed_octets = 0;
    imap::ClientSession engine(config);
    double idle_since = -1;
    bool server_bye = false;  // an idling session never logs out: any BYE is the server's
    auto on_events = [&](const std::vector<imap::ClientEvent>& events) {
      for (const auto& e : events) {
        if (e.kind == imap::ClientEvent::Kind::response_received &&
            e.detail.rfind("* BYE", 0) == 0)
          server_bye = true;
        if (e.kind == imap::ClientEvent::Kind::header_fetched) {
          listed++;
          listed_octets += e.message.size;
        }
        if (e.kind == imap::ClientEvent::Kind::message_fetched) {
          auto id = msg::find_header(e.message.text, "Message-ID").value_or("");
          fetched.push_back(id);
          state.headers.push_back(header_section(e.message.text));
          mark_read(id, person.address, me, connection, protocol);
        }
        if (e.kind == imap::ClientEvent::Kind::folder_synced) {
          state.view = engine.view();
          state.synced_at = sg4::Engine::get_clock();
        }
        if (e.kind == imap::ClientEvent::Kind::idle_started) {
          if (idle_since < 0) {
            report();
            state.idle_conn = connection.id;
            trace_ua(me.name, "mua",
                     fmt::format("{}'s {} stays connected in IDLE on {}: the server tells it of "
                                 "changes to the INBOX at once",
                                 person.name, device.name, connection.id));
          }
          idle_since = sg4::Engine::get_clock();
        }
        if (e.kind == imap::ClientEvent::Kind::view_changed) {
          state.view["INBOX"] = engine.view().at("INBOX");
          state.updated_at = sg4::Engine::get_clock();
          trace_ua(me.name, "mua",
                   e.detail == "new"
                       ? fmt::format("the {} hears of new mail in IDLE and lists it: {} from {}",
                                     device.name, view_item(e.item), e.item.from)
                   : e.detail == "flags"
                       ? fmt::format("the {} hears in IDLE that \"{}\" is now {}", device.name,
                                     e.item.subject,
                                     e.item.flags.count("\\Seen") ? "seen" : "unseen")
                       : fmt::format("the {} hears in IDLE that \"{}\" left the INBOX (moved "
                                     "or deleted) and drops it from its list",
                                     device.name, e.item.subject));
        }
      }
    };
    if (idle_here)
      idle_session(*socket, engine, on_events, idle_since, device);
    else
      drive_session(*socket, engine, on_events);
    if (config.headers_first)
      trace_ua(me.name, "mua",
               fmt::format("{} saw {} new message(s) in the list by their headers ({} bytes in "
                           "all on the server) and opened {}",
                           person.name, listed, listed_octets, fetched.size()));
    if (idle_here) {  // the server or the network ended the IDLE connection
      if (idle_since < 0)
        report();
      else
        trace_ua(me.name, "mua",
                 fmt::format("the server ended the {}'s IDLE connection {}", device.name,
                             connection.id));
      state.idle_conn.clear();
      return idle_since >= 0 || server_bye ? CheckOutcome::idle_lost : CheckOutcome::done;
    }
  } else {
    pop3::ClientConfig config;
    config.user = person.address;
    config.password = person.password;
    config.mode = device.retrieval == scenario::Retrieval::pop3_delete
                      ? pop3::Mode::delete_after_download
                      : pop3::Mode::keep_on_server;
    config.known_uidls.insert(state.known_uidls.begin(), state.known_uidls.end());
    if (device.keep_days >= 0)
      config.keep_days = device.keep_days;
    config.downloaded_at = state.downloaded_at;
    config.now = sg4::Engine::get_clock();
    Pop3Visit visit{config.now, server_inbox_size(person), 0, 0,
                    config.mode == pop3::Mode::keep_on_server, device.keep_days};
    pop3::ClientSession engine(config);
    drive_session(*socket, engine, [&](const std::vector<pop3::ClientEvent>& events) {
      for (const auto& e : events)
        if (e.kind == pop3::ClientEvent::Kind::message_retrieved) {
          auto id = msg::find_header(e.message.text, "Message-ID").value_or("");
          fetched.push_back(id);
          state.headers.push_back(header_section(e.message.text));
          state.known_uidls.push_back(e.message.uidl);
          state.downloaded_at[e.message.uidl] = sg4::Engine::get_clock();
          mark_read(id, person.address, me, connection, protocol);
        }
    });
    visit.downloaded = fetched.size();
    visit.after = server_inbox_size(person);
    state.pop3_visits.push_back(visit);
    if (visit.keep && visit.after < visit.before)
      trace_ua(me.name, "mua",
               fmt::format("{}'s mail program removed {} message(s) kept on the server for {:g} "
                           "day(s) or more",
                           person.name, visit.before - visit.after, device.keep_days));
  }
  report();
  return CheckOutcome::done;
}

// A scripted check; for an IDLE device whose connection is then lost, the reconnect attempts
// with back-off (kReconnectFirst doubling to kReconnectMax) until one idles again, a newer
// check or reconnect takes over, or the next attempt would fall at or after the end of the run.
void client_check(const scenario::Person& person, const scenario::Device& device,
                  const std::vector<std::string>& open)
{
  auto& state = state_of(person, device);
  auto outcome = check_once(person, device, open, false);
  if (outcome != CheckOutcome::idle_lost)
    return;
  unsigned mine = ++state.reconnects;
  double delay = kReconnectFirst;
  while (true) {
    double at = sg4::Engine::get_clock() + delay;
    if (at >= World::get().end_s()) {
      trace_ua(device.host, "mua",
               fmt::format("the {} would try to reconnect at {:.3f} s, after the end of the run",
                           device.name, at));
      return;
    }
    trace_ua(device.host, "mua",
             delay == kReconnectFirst
                 ? fmt::format("the {} has lost its IDLE connection and tries to reconnect in "
                               "1 min (back-off: 1 min, doubled after each failure, at most 15 "
                               "min)",
                               device.name)
                 : fmt::format("the {} tries again in {:g} min", device.name, delay / 60));
    sg4::this_actor::sleep_until(at);
    if (state.reconnects != mine || not state.idle_conn.empty())
      return;  // a scripted check is idling again, or lost it and reconnects itself
    outcome = check_once(person, device, {}, true);
    if (outcome == CheckOutcome::done)
      return;
    if (outcome == CheckOutcome::idle_lost) {
      if (state.reconnects != mine)
        return;
      delay = kReconnectFirst;
    } else {
      delay = std::min(2 * delay, kReconnectMax);
    }
  }
}

// A read or move step by a desktop client. Over IMAP the change is made on the server, where
// every device of the person will see it at its next sync; a read first downloads the body
// the device does not hold yet, as opening a message on a phone does. Over POP3 the server
// holds no folders or flags for the device, so only the device's own copy changes.
void client_act(const scenario::Person& person, const scenario::Device& device,
                const scenario::Step& step)
{
  auto& world = World::get();
  const auto& provider = provider_of(person);
  const auto& me = world.platform().host(device.host);
  const auto& server = world.platform().host(provider.host);
  auto& state = state_of(person, device);
  bool move = step.action == scenario::Action::move;
  std::string what = move ? fmt::format("moves \"{}\" to {}", step.reply_subject, step.folder)
                          : fmt::format("opens \"{}\"", step.reply_subject);
  std::string id;
  for (std::size_t i = state.headers.size(); i-- > 0;)
    if (msg::find_header(state.headers[i], "Subject").value_or("") == step.reply_subject) {
      id = msg::find_header(state.headers[i], "Message-ID").value_or("");
      break;
    }
  if (device.retrieval != scenario::Retrieval::imap) {
    if (id.empty()) {
      trace_ua(me.name, "mua",
               fmt::format("{} has no message \"{}\" on the {}", person.name, step.reply_subject,
                           device.name));
      return;
    }
    if (move)
      state.folder_of[id] = step.folder;
    else
      state.opened.insert(id);
    trace_ua(me.name, "mua",
             fmt::format("{} {} on the {}: POP3 keeps no {} on the server, so only this "
                         "device's copy changes",
                         person.name, what, device.name, move ? "folders" : "read flags"),
             id);
    return;
  }
  trace_ua(me.name, "mua", fmt::format("{} {} on the {} (IMAP, on the server)", person.name, what,
                                       device.name),
           id);
  state.sessions++;
  ConnectionSpec spec{"imap", "user agent", "IMAP server", "push"};
  ConnectError error = ConnectError::refused;
  auto socket = connect(me, "mua", server, imap_port(provider), spec, &error);
  if (not socket) {
    trace_ua(me.name, "mua",
             unreachable(error, server.name,
                         fmt::format("{} is refused: {} does not offer IMAP", person.name,
                                     provider.domain)));
    return;
  }
  if (provider.tls.retrieval == scenario::TlsMode::implicit)
    tls_connect(*socket, provider.tls.version);
  imap::ClientConfig config;
  config.user = person.address;
  config.password = person.password;
  config.act_subject = step.reply_subject;
  if (move)
    config.move_to = step.folder;
  config.act_fetch = not move && id.empty();  // opening downloads the body, unless it is here
  config.sync = device.sync;
  config.known = state.view;
  imap::ClientSession engine(config);
  std::string failure;
  auto& connection = socket->connection();
  drive_session(*socket, engine, [&](const std::vector<imap::ClientEvent>& events) {
    for (const auto& e : events) {
      if (e.kind == imap::ClientEvent::Kind::failed)
        failure = e.detail;
      if (e.kind == imap::ClientEvent::Kind::message_fetched) {
        id = msg::find_header(e.message.text, "Message-ID").value_or("");
        state.messages.push_back(id);
        state.headers.push_back(header_section(e.message.text));
        mark_read(id, person.address, me, connection, "IMAP");
        trace_ua(me.name, "mua",
                 fmt::format("the {} downloaded the body of \"{}\" to show it", device.name,
                             step.reply_subject),
                 id);
      }
      if (e.kind == imap::ClientEvent::Kind::folder_synced) {
        state.view = engine.view();
        state.synced_at = sg4::Engine::get_clock();
      }
    }
  });
  if (engine.succeeded() && not id.empty()) {
    if (move)
      state.folder_of[id] = step.folder;
    else
      state.opened.insert(id);
  }
  trace_ua(me.name, "mua",
           engine.succeeded()
               ? fmt::format("done on the server: {}", move ? "the message is in " + step.folder
                                                            : std::string("\\Seen is set"))
               : fmt::format("not done: {}", failure),
           id);
}

void web_session(const scenario::Person& person, const scenario::Device& device,
                 const scenario::Step* step)
{
  auto& world = World::get();
  const auto& provider = provider_of(person);
  const auto& me = world.platform().host(device.host);
  const auto& server = world.platform().host(provider.host);
  auto& state = state_of(person, device);
  double now = sg4::Engine::get_clock();

  webmail::ClientConfig config;
  config.host = provider.host;
  config.user = person.address;
  config.password = person.password;
  webmail::Operation op;
  std::vector<std::string> recipients;
  if (step != nullptr) {
    msg::Composition c;  // what the compose form holds; webmail builds the message
    c.to = step->to;
    c.cc = step->cc;
    c.bcc = step->bcc;
    c.subject = step->subject;
    c.attachments = attachments_of(*step);
    std::string reply;
    if (step->action == scenario::Action::reply) {
      const std::string* parent = find_parent(person, device, *step, "browser");
      if (parent == nullptr)
        return;
      auto headers = msg::reply_headers(*parent);
      c.to = {headers.to};
      if (not step->has_subject)
        c.subject = headers.subject;
      auto id = msg::find_header(*parent, "Message-ID").value_or("");
      auto* account = world.store(provider.domain).find_account(person.address);
      for (const auto& m : account->inbox().messages())
        if (not id.empty() && m.message_id == id)
          op.reply_to_id = m.uid;
      if (op.reply_to_id == 0) {
        trace_ua(me.name, "browser",
                 fmt::format("{} cannot reply: {} is no longer in the INBOX", person.name, id));
        return;
      }
      reply = fmt::format(" (Reply to {})", id);
    }
    recipients = msg::envelope_recipients(c);
    trace_ua(me.name, "browser",
             fmt::format("{} presses Send in webmail{}: \"{}\" {}", person.name, reply, c.subject,
                         recipients_line(c)));
    op.kind = webmail::Operation::Kind::send;
    op.to = std::move(c.to);
    op.cc = std::move(c.cc);
    op.bcc = std::move(c.bcc);
    op.subject = std::move(c.subject);
    op.body = step->body;
    op.attachments = std::move(c.attachments);
  } else {
    op.kind = webmail::Operation::Kind::read_unseen;
    state.sessions++;
    trace_ua(me.name, "browser", fmt::format("{} opens webmail to read new mail", person.name));
  }
  config.operations.push_back(op);

  ConnectionSpec spec{"http", "browser", "webmail server", step ? "push" : "pull"};
  ConnectError error = ConnectError::refused;
  auto socket = connect(me, "browser", server, webmail_port(provider), spec, &error);
  if (not socket) {
    trace_ua(me.name, "browser",
             unreachable(error, server.name,
                         fmt::format("{} does not offer webmail", provider.domain)));
    return;
  }
  auto& connection = socket->connection();
  if (provider.tls.retrieval == scenario::TlsMode::implicit)
    tls_connect(*socket, provider.tls.version);
  webmail::ClientSession engine(config);
  std::vector<std::string> read;
  drive_session(*socket, engine, [&](const std::vector<webmail::ClientEvent>& events) {
    for (const auto& e : events) {
      if (e.kind == webmail::ClientEvent::Kind::message_sent) {
        // webmaild created the timeline entry when it composed the message.
        for (const auto& rcpt : recipients)
          if (auto* t = world.find_timeline(connection.message_id, rcpt); t && t->composed < 0)
            t->composed = now;
      } else if (e.kind == webmail::ClientEvent::Kind::message_read) {
        auto* account = world.store(provider.domain).find_account(person.address);
        for (const auto& m : account->inbox().messages())
          if (m.uid == e.id) {
            read.push_back(m.message_id);
            state.headers.push_back(header_section(m.text));
            mark_read(m.message_id, person.address, me, connection, "HTTP");
          }
      }
    }
  });
  if (step != nullptr) {
    for (const auto& rcpt : recipients)
      if (auto* t = world.find_timeline(connection.message_id, rcpt)) {
        t->submit_open = connection.opened_at;
        t->submit_established = connection.established_at;
        t->submit_tls = connection.tls_span;
      }
    trace_ua(me.name, "browser",
             engine.succeeded() ? "webmail accepted the message" : "webmail refused the message",
             connection.message_id);
    if (engine.succeeded())
      state.sent++;
    return;
  }
  for (const auto& id : read)
    state.messages.push_back(id);
  trace_ua(me.name, "browser",
           read.empty() ? fmt::format("{} has no new mail", person.name)
                        : fmt::format("{} read {} new message(s) in the browser", person.name,
                                      read.size()));
}

}  // namespace

void send_mail(const scenario::Person& person, const scenario::Device& device,
               const scenario::Step& step)
{
  state_of(person, device);
  if (device.agent == scenario::AgentKind::web)
    web_session(person, device, &step);
  else
    client_send(person, device, step);
}

void check_mail(const scenario::Person& person, const scenario::Device& device,
                const scenario::Step& step)
{
  if (device.agent == scenario::AgentKind::web)
    web_session(person, device, nullptr);
  else
    client_check(person, device, step.open);
}

void act_on_mail(const scenario::Person& person, const scenario::Device& device,
                 const scenario::Step& step)
{
  if (device.agent == scenario::AgentKind::web) {
    trace_ua(device.host, "browser", "read and move are done by a desktop client here");
    return;
  }
  client_act(person, device, step);
}

const std::map<std::string, DeviceState>& device_states()
{
  return states();
}

}  // namespace mailsim::sim

#include "sim/report.hpp"

#include "sim/agents.hpp"
#include "sim/expect.hpp"
#include "sim/explain.hpp"
#include "sim/lesson.hpp"
#include "sim/postal.hpp"

#include "models/message.hpp"
#include "models/post_route.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/version.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace mailsim::sim {

namespace {

constexpr std::size_t kMaxFlightLines = 14;  // longer flights (message bodies) are elided

// A protocol line as a student should see it: control characters made visible.
std::string visible(std::string_view line)
{
  std::string out;
  for (unsigned char ch : line) {
    if (ch == '\r')
      out += "\\r";
    else if (ch == '\n')
      out += "\\n";
    else if (ch == '\t')
      out += "    ";
    else if (ch < 0x20 || ch == 0x7f)
      out += fmt::format("\\x{:02x}", ch);
    else
      out += static_cast<char>(ch);
  }
  return out;
}

// Splits a flight into its CRLF-ended lines; a final fragment without CRLF is kept.
std::vector<std::string_view> crlf_lines(std::string_view payload)
{
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < payload.size()) {
    auto end = payload.find("\r\n", start);
    if (end == std::string_view::npos) {
      lines.push_back(payload.substr(start));
      break;
    }
    lines.push_back(payload.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

bool valid_utf8(std::string_view s)
{
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 0
                    : (c >> 5) == 0x6  ? 1
                    : (c >> 4) == 0xe  ? 2
                    : (c >> 3) == 0x1e ? 3
                                       : 9;
    if (n == 9 || i + n >= s.size() + (n == 0 ? 1 : 0))
      return false;
    for (std::size_t k = 1; k <= n; k++)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2)
        return false;
    i += n + 1;
  }
  return true;
}

std::string endpoint(const std::string& host, const std::string& actor)
{
  return actor.empty() ? host : host + "/" + actor;
}

std::string seconds(double t)
{
  return t < 0 ? "-" : fmt::format("{:.6f}", t);
}

// The mark of a flight that travelled inside TLS, before its direction ("🔒C: EHLO ...").
const std::string kTlsMark = "\xF0\x9F\x94\x92";  // U+1F512 LOCK, in UTF-8

// Says what the lock means and which ports each provider uses, when any provider uses TLS.
void write_tls_legend(std::ostream& out, const scenario::Scenario& s)
{
  using scenario::TlsMode;
  bool any = false;
  for (const auto& p : s.providers)
    any |= p.tls.any();
  if (not any)
    return;
  out << kTlsMark << " marks a line that travelled inside TLS: the trace shows its plaintext; "
      << "its bytes on the wire include the TLS record overhead.\n";
  for (const auto& p : s.providers) {
    auto mode = [](TlsMode m) {
      return m == TlsMode::off ? "off" : m == TlsMode::starttls ? "STARTTLS" : "implicit TLS";
    };
    out << fmt::format("TLS at {}: {}; submission: {} ({}); relay: {} (25); retrieval: {}\n",
                       p.domain, tls_version_name(p.tls.version), mode(p.tls.submission),
                       p.tls.submission == TlsMode::implicit ? "465" : "587", mode(p.tls.relay),
                       p.tls.retrieval == TlsMode::implicit
                           ? "implicit TLS (POP3 995, IMAP 993, HTTPS 443)"
                           : "off (POP3 110, IMAP 143, HTTP 80)");
  }
}

std::string duration(double from, double to)
{
  if (from < 0 || to < 0)
    return "-";
  double d = to - from;
  if (d < 1)
    return fmt::format("{:.1f} ms", d * 1000);
  if (d < 120)
    return fmt::format("{:.3f} s", d);
  return fmt::format("{:.1f} s ({:.1f} min)", d, d / 60);
}

// POP3 download and delete versus download and keep: the server's INBOX before and after
// each POP3 session of every device, in time order (nothing when no device used POP3).
void write_pop3_visits(std::ostream& out)
{
  std::vector<std::pair<const DeviceState*, const Pop3Visit*>> visits;
  for (const auto& [host, state] : device_states())
    for (const auto& v : state.pop3_visits)
      visits.emplace_back(&state, &v);
  if (visits.empty())
    return;
  std::stable_sort(visits.begin(), visits.end(),
                   [](const auto& a, const auto& b) { return a.second->at < b.second->at; });
  out << "\nThe server's INBOX around each POP3 session (messages before, downloaded, after):\n";
  for (const auto& [state, v] : visits) {
    std::string mode = not v->keep            ? "download and delete"
                       : v->keep_days < 0     ? "download and keep"
                                              : fmt::format("keep {:g} day{}", v->keep_days,
                                                            v->keep_days == 1 ? "" : "s");
    out << fmt::format("  {:>12}  {:<14} ({}): {} before, {} downloaded, {} after{}\n",
                       seconds(v->at), state->person + "'s " + state->device, mode, v->before,
                       v->downloaded, v->after,
                       v->after < v->before ? fmt::format(" ({} deleted)", v->before - v->after)
                                            : "");
  }
}

// Things going wrong: what the queue managers did with one email, when its
// first attempt did not simply go through (deferrals, retries, bounces).
void write_queue_history(std::ostream& out, const Timeline& t)
{
  if (t.queue_notes.empty())
    return;
  out << "  what the queues did (RFC 5321 4.5.4: a temporary failure waits and is retried):\n";
  for (const auto& line : t.queue_notes)
    out << "  " << line << "\n";
  if (t.delivered < 0)
    out << "  not delivered\n";
  else if (t.attempts > 0)
    out << fmt::format("  from queued to delivered: {}, over {} attempt{} by {}\n",
                       duration(t.submitted, t.delivered), t.attempts,
                       t.attempts == 1 ? "" : "s", t.sending_server);
}

// The expectations and the lesson of the scenario, when it has them.
void add_teaching(nlohmann::json& summary, const World& world)
{
  if (not world.scenario().expect.empty())
    summary["expectations"] = expectations_json(check_expectations(world));
  if (auto lesson = lesson_json(world); not lesson.is_null())
    summary["lesson"] = lesson;
}

}  // namespace

void write_story(std::ostream& out, const World& world, bool explain)
{
  std::optional<Explainer> explainer;
  if (explain) explainer.emplace(world);
  const auto& s = world.scenario();
  out << fmt::format("mailsim: scenario {} (seed {})\n", s.name, s.seed);
  if (not s.description.empty())
    out << s.description << "\n";
  write_tls_legend(out, s);
  // A run of a day or more (the post) also shows the elapsed days and hours.
  bool long_run = world.end_s() >= 86400;
  if (long_run)
    out << "\n" << fmt::format("{:>14}  {:<13} {:<4} {:<6} {:<22} {:<22} {}\n", "time (s)",
                               "elapsed", "conn", "proto", "from", "to", "what");
  else
    out << "\n" << fmt::format("{:>11}  {:<4} {:<5} {:<22} {:<22} {}\n", "time (s)", "conn",
                               "proto", "from", "to", "what");

  for (const auto& e : world.recorder().events()) {
    if (explainer)
      out << explainer->before(e);
    std::string from = endpoint(e.src_host, e.src_actor);
    std::string to = e.dst_host.empty() ? "" : endpoint(e.dst_host, e.dst_actor);
    auto prefix =
        long_run ? fmt::format("{:>14.6f}  {:<13} {:<4} {:<6} {:<22} {:<22} ", e.time,
                               post::elapsed_text(e.time), e.conn.empty() ? "-" : e.conn, e.kind,
                               from, to)
                 : fmt::format("{:>11.6f}  {:<4} {:<5} {:<22} {:<22} ", e.time,
                               e.conn.empty() ? "-" : e.conn, e.kind, from, to);
    if (e.kind == "tcp") {
      std::string note = e.summary;
      if (e.summary == "SYN")
        note += e.peer_role.empty()
                    ? fmt::format("  [{} opens a connection]", e.role)
                    : fmt::format("  [{} opens a connection to the {}]", e.role, e.peer_role);
      out << prefix << note << "\n";
    } else if (not e.payload.empty() && e.kind != "dns") {
      auto lines = crlf_lines(e.payload);
      std::size_t shown = lines.size();
      if (lines.size() > kMaxFlightLines)
        shown = kMaxFlightLines - 2;
      std::string dir = (e.tls ? kTlsMark : "") + e.dir + ": ";
      for (std::size_t i = 0; i < shown; i++)
        out << prefix << dir << visible(lines[i]) << "\n";
      if (shown < lines.size()) {
        out << prefix << dir
            << fmt::format("... ({} more lines) ...", lines.size() - shown - 1) << "\n";
        out << prefix << dir << visible(lines.back()) << "\n";
      }
    } else {
      out << prefix << e.summary;
      if (e.bytes > 0)
        out << fmt::format(" ({} bytes)", e.bytes);
      out << "\n";
    }
  }
  out << "\n";
}

namespace {

// The scenario's device on a host, or nullptr.
const scenario::Device* device_on(const World& world, const std::string& host)
{
  for (const auto& person : world.scenario().people)
    for (const auto& device : person.devices)
      if (device.host == host)
        return &device;
  return nullptr;
}

// What a device shows its user: by folder, each message as "\"Lake trip\" (read)". For an
// IMAP device with "sync", its view of the server; for a POP3 device, its own copies.
struct InboxFirst {
  bool operator()(const std::string& a, const std::string& b) const
  {
    return std::make_pair(a != "INBOX", a) < std::make_pair(b != "INBOX", b);
  }
};
using Shown = std::map<std::string, std::vector<std::string>, InboxFirst>;

Shown shown_by(const DeviceState& state, bool imap_view)
{
  Shown shown{{"INBOX", {}}};
  if (imap_view) {
    for (const auto& [folder, view] : state.view) {
      auto& list = shown[folder];
      for (const auto& m : view.messages)
        list.push_back(fmt::format("\"{}\" ({})", m.subject,
                                   m.flags.count("\\Seen") ? "seen" : "unseen"));
    }
    return shown;
  }
  for (const auto& header : state.headers) {
    auto id = msg::find_header(header, "Message-ID").value_or("");
    auto folder = state.folder_of.find(id);
    shown[folder == state.folder_of.end() ? "INBOX" : folder->second].push_back(
        fmt::format("\"{}\" ({})", msg::find_header(header, "Subject").value_or(""),
                    state.opened.count(id) ? "seen" : "unseen"));
  }
  return shown;
}

// The first ten messages of a folder and how many more, so that a preloaded archive of
// thousands keeps the summary readable.
std::string folder_text(const std::vector<std::string>& messages)
{
  constexpr std::size_t kShown = 10;
  if (messages.empty())
    return "empty";
  std::string out;
  for (std::size_t i = 0; i < messages.size() && i < kShown; ++i)
    out += (out.empty() ? "" : ", ") + messages[i];
  if (messages.size() > kShown)
    out += fmt::format(" and {} more", messages.size() - kShown);
  return out;
}

// "INBOX empty; Family: \"Lake trip\" (read)".
std::string shown_text(const Shown& shown)
{
  std::string out;
  for (const auto& [folder, messages] : shown)
    out += fmt::format("{}{}{}{}", out.empty() ? "" : "; ", folder, messages.empty() ? " " : ": ",
                       folder_text(messages));
  return out;
}

// With read or move steps, or devices that sync: each device's own view at the end. For an
// IMAP device with "sync", what it last learned from the server (by a sync or in IDLE); for a
// POP3 device, the copies it downloaded, where it filed them and whether they were opened
// there. Then, per person, whether their devices agree: with IMAP they do once synced; with
// POP3 a folder or a read mark made on one device is unknown to the others.
void write_device_copies(std::ostream& out, const World& world)
{
  bool acts = false;
  for (const auto& step : world.scenario().script)
    acts |= step.action == scenario::Action::read || step.action == scenario::Action::move;
  for (const auto& [host, state] : device_states())
    if (const auto* device = device_on(world, host))
      acts |= device->sync;
  if (not acts)
    return;
  bool pop3 = false;
  for (const auto& [host, state] : device_states())
    if (const auto* device = device_on(world, host))
      pop3 |= device->retrieval == scenario::Retrieval::pop3_delete ||
              device->retrieval == scenario::Retrieval::pop3_keep;
  out << (pop3 ? "\nEach device's own copies (POP3 keeps no folders or read marks on the server):\n"
               : "\nEach device's own copies (IMAP keeps folders and flags on the server, "
                 "above):\n");
  std::map<std::string, std::vector<std::pair<std::string, Shown>>> by_person;
  for (const auto& [host, state] : device_states()) {
    const auto* device = device_on(world, host);
    bool imap_view = device != nullptr && device->sync;
    bool pop3 = device != nullptr && device->agent == scenario::AgentKind::client &&
                device->retrieval != scenario::Retrieval::imap;
    if (imap_view) {
      double as_of = std::max(state.synced_at, state.updated_at);
      std::string how = state.synced_at < 0 ? "never synced"
                        : state.updated_at > state.synced_at
                            ? "the last change it heard in IDLE"
                            : "its last sync";
      if (not state.idle_conn.empty())
        how += fmt::format("; in IDLE on {} to the end", state.idle_conn);
      out << fmt::format("  {:<22} its IMAP view as of {} ({}):\n", host,
                         as_of < 0 ? "-" : fmt::format("{:.6f} s", as_of), how);
      auto folders = shown_by(state, true);
      std::size_t width = 8;  // the folder column, as wide as the longest name
      for (const auto& [folder, messages] : folders)
        width = std::max(width, folder.size());
      for (const auto& [folder, messages] : folders)
        out << fmt::format("  {:<22}   {:<{}} {}\n", "", folder, width, folder_text(messages));
    } else if (state.headers.empty() || not pop3) {
      out << fmt::format("  {:<22} none\n", host);
    }
    if (pop3)
      for (const auto& header : state.headers) {
        auto id = msg::find_header(header, "Message-ID").value_or("");
        auto folder = state.folder_of.find(id);
        out << fmt::format("  {:<22} \"{}\" in {}, {}\n", host,
                           msg::find_header(header, "Subject").value_or(""),
                           folder == state.folder_of.end() ? "INBOX" : folder->second,
                           state.opened.count(id) ? "read" : "not opened on this device");
      }
    if (imap_view || pop3)
      by_person[state.person].emplace_back(state.device, shown_by(state, imap_view));
  }
  for (const auto& [person, devices] : by_person) {
    if (devices.size() < 2)
      continue;
    bool agree = std::all_of(devices.begin(), devices.end(),
                             [&devices](const auto& d) { return d.second == devices[0].second; });
    if (agree) {
      out << fmt::format("  {}'s {} devices agree: {}\n", person, devices.size(),
                         shown_text(devices[0].second));
      continue;
    }
    out << fmt::format("  {}'s devices disagree:\n", person);
    for (const auto& [device, shown] : devices)
      out << fmt::format("    the {:<8} shows {}\n", device, shown_text(shown));
    std::set<std::string, InboxFirst> folders;
    for (const auto& d : devices)
      for (const auto& entry : d.second)
        folders.insert(entry.first);
    for (const auto& folder : folders) {
      std::vector<std::string> knowing;
      for (const auto& [device, shown] : devices)
        if (shown.count(folder))
          knowing.push_back(device);
      if (knowing.size() < devices.size()) {
        std::string names;
        for (const auto& name : knowing)
          names += (names.empty() ? "the " : " and the ") + name;
        out << fmt::format("    the folder {} is known to {} only\n", folder, names);
      }
    }
  }
}

}  // namespace

void write_summary(std::ostream& out, const World& world)
{
  const auto& s = world.scenario();
  if (world.end_s() >= 86400)
    out << fmt::format("Summary at {:.6f} s ({}, the end of the run)\n", world.end_s(),
                       post::elapsed_text(world.end_s()));
  else
    out << fmt::format("Summary at {:.6f} s (the end of the run)\n", world.end_s());

  int n = 0;
  for (const auto& t : world.timelines()) {
    n++;
    out << fmt::format("\nEmail {}: \"{}\" from {} to {}\n", n, t.subject, t.from, t.to);
    out << fmt::format("  Message-ID {}\n", t.message_id);
    out << fmt::format("  composed   {:>12}  on the sender's device\n", seconds(t.composed));
    out << fmt::format("  submitted  {:>12}  queued by {} as {}\n", seconds(t.submitted),
                       t.sending_server.empty() ? "-" : t.sending_server,
                       t.queue_id_out.empty() ? "-" : t.queue_id_out);
    out << fmt::format("  relayed    {:>12}  accepted by {} as {}\n", seconds(t.relayed),
                       t.receiving_server.empty() ? "-" : t.receiving_server,
                       t.queue_id_in.empty() ? "-" : t.queue_id_in);
    out << fmt::format("  delivered  {:>12}  stored in {}'s INBOX\n", seconds(t.delivered), t.to);
    out << fmt::format("  read       {:>12}  {}\n", seconds(t.read),
                       t.read < 0 ? "not read before the end of the run"
                                  : fmt::format("on {} over {}", t.retrieved_by,
                                                t.retrieval_protocol));
    out << fmt::format("  end to end {}: delivery took {}, then it waited {} in the mailbox\n",
                       duration(t.composed, t.read), duration(t.composed, t.delivered),
                       duration(t.delivered, t.retrieval_open));
    out << "  where the time went:\n";
    auto step = [&out](const std::string& what, double from, double to, int rts) {
      out << fmt::format("    {:<34} {:>16}", what, duration(from, to));
      if (rts > 0 && from >= 0 && to >= 0)  // a step that did not happen cost none
        out << fmt::format("  {:>2} round trip{}", rts, rts == 1 ? "" : "s");
      out << "\n";
    };
    bool same_server = t.sending_server == t.receiving_server;
    // A TLS handshake gets its own row; the dialog's row keeps the rest of its time and round
    // trips, so that the rows still add up.
    auto tls_step = [&step](const std::string& what, const TlsSpan& tls) {
      if (not tls.version.empty())
        step(what + ": " + tls.version + " handshake", tls.start, tls.end, tls.round_trips);
    };
    auto after_tls = [](double from, const TlsSpan& tls) {
      return tls.version.empty() || from < 0 ? from : from + (tls.end - tls.start);
    };
    auto dialog_rts = [](int round_trips, const TlsSpan& tls) {
      return round_trips > 0 ? round_trips - 1 - tls.round_trips : 0;
    };
    bool server_written = t.submit_open < 0 && t.submitted >= 0;  // a bounce, say
    if (not server_written) {
      step("submission: TCP set-up", t.submit_open, t.submit_established, 1);
      tls_step("submission", t.submit_tls);
      step("submission: " + std::string(t.submission_conn.empty() ? "" : "dialog") +
               " until queued",
           after_tls(t.submit_established, t.submit_tls), t.submitted,
           dialog_rts(t.submit_round_trips, t.submit_tls));
    }
    if (not same_server) {
      step("queueing at " + t.sending_server, t.submitted, t.relay_start, 0);
      step("DNS MX lookup", t.dns_start, t.dns_end, t.dns_round_trips);
      if (t.dns_end >= 0 && t.relay_open - t.dns_end > 1e-3)
        step("better MX hosts that did not answer", t.dns_end, t.relay_open, 0);
      step("relay: TCP set-up", t.relay_open, t.relay_established, 1);
      tls_step("relay", t.relay_tls);
      step("relay: SMTP dialog until accepted", after_tls(t.relay_established, t.relay_tls),
           t.relayed, dialog_rts(t.relay_round_trips, t.relay_tls));
    }
    double stored_from = same_server ? t.submitted : t.relayed;
    if (t.next_hop_relayed >= 0) {
      step("at backup MX " + t.receiving_server, t.relayed, t.next_hop_relayed, 0);
      stored_from = t.next_hop_relayed;
    }
    step("local delivery into the mailbox", stored_from, t.delivered, 0);
    step("in the mailbox until checked", t.delivered, t.retrieval_open, 0);
    step("retrieval: TCP set-up", t.retrieval_open, t.retrieval_established, 1);
    tls_step("retrieval", t.retrieval_tls);
    step("retrieval: " + (t.retrieval_protocol.empty() ? std::string("dialog")
                                                        : t.retrieval_protocol + " dialog") +
             " until read",
         after_tls(t.retrieval_established, t.retrieval_tls), t.read,
         dialog_rts(t.retrieval_round_trips, t.retrieval_tls));
    write_queue_history(out, t);
  }
  if (world.timelines().empty())
    out << "\nNo email was sent.\n";

  out << "\nBytes on the wire, by protocol:\n";
  const auto& flights = world.recorder().flights_by_kind();
  const auto& tls_overhead = world.recorder().tls_overhead_by_kind();
  std::uint64_t total = 0;
  for (const auto& [kind, bytes] : world.recorder().bytes_by_kind()) {
    out << fmt::format("  {:<5} {:>9} bytes in {:>5} {}", kind, bytes, flights.at(kind),
                       kind == "tcp"   ? "control segments (SYN, ACK, FIN)"
                       : kind == "dns" ? "datagrams"
                       : kind == "tls" ? "handshake flights"
                                       : "flights");
    if (auto it = tls_overhead.find(kind); it != tls_overhead.end())
      out << fmt::format(", {} of them TLS record overhead", it->second);
    out << "\n";
    total += bytes;
  }
  out << fmt::format("  total {:>9} bytes\n", total);

  out << "\nMailboxes on the servers at the end:\n";
  for (const auto& [domain, store] : world.stores()) {
    for (const auto& person : s.people) {
      if (person.address.substr(person.address.rfind('@') + 1) != domain)
        continue;
      const auto* account = const_cast<store::MailStore&>(*store).find_account(person.address);
      if (account == nullptr)
        continue;
      for (const auto* folder : account->folders()) {  // INBOX first, then preloaded ones
        std::size_t seen = 0;
        for (const auto& m : folder->messages())
          seen += m.flags.count("\\Seen");
        out << fmt::format("  {:<22} {}: {} message{}, {} seen\n",
                           folder == &account->inbox() ? person.address : "", folder->name(),
                           folder->messages().size(), folder->messages().size() == 1 ? "" : "s",
                           seen);
      }
    }
  }
  out << "\nOn the devices at the end:\n";
  for (const auto& [host, state] : device_states())
    out << fmt::format("  {:<22} ({}'s {}): {} message{} sent, {} message{} downloaded or read, "
                       "{} mailbox session{}{}\n",
                       host, state.person, state.device, state.sent, state.sent == 1 ? "" : "s",
                       state.messages.size(), state.messages.size() == 1 ? "" : "s",
                       state.sessions, state.sessions == 1 ? "" : "s",
                       state.idle_conn.empty()
                           ? ""
                           : fmt::format(" ({} still open, in IDLE)", state.idle_conn));
  write_device_copies(out, world);
  write_pop3_visits(out);
  write_postal_summary(out, world);

  // Teaching sections (issue 4): the scenario's idea, then its expectations.
  write_lesson(out, world);
  write_expectations(out, check_expectations(world));
}

nlohmann::json trace_header(const World& world)
{
  const auto& s = world.scenario();
  nlohmann::json places = nlohmann::json::array();
  for (const auto& p : s.places)
    places.push_back({{"name", p.name},
                      {"city", p.city},
                      {"latitude", p.latitude},
                      {"longitude", p.longitude},
                      {"utc_offset_minutes", p.utc_offset_minutes}});
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& h : world.platform().hosts())
    hosts.push_back({{"name", h.name}, {"address", h.address}, {"place", h.place}});
  nlohmann::json links = nlohmann::json::array();
  for (const auto& l : world.platform().links())
    links.push_back({{"name", l.name},
                     {"between", {l.a, l.b}},
                     {"latency_s", l.latency_s},
                     {"bandwidth_Bps", l.bandwidth_Bps}});
  return {{"record", "header"},
          {"format", "mailsim-trace"},
          {"version", kTraceFormatVersion},
          {"mailsim", MAILSIM_VERSION},
          {"simgrid", fmt::format("{}.{}", SIMGRID_VERSION_MAJOR, SIMGRID_VERSION_MINOR)},
          {"scenario", {{"name", s.name}, {"hash", s.hash}}},
          {"seed", s.seed},
          {"epoch_unix", s.epoch_unix},
          {"end_s", world.end_s()},
          {"world", {{"places", places}, {"hosts", hosts}, {"links", links}}}};
}

nlohmann::json trace_event(const TraceEvent& e)
{
  nlohmann::json j = {{"record", "event"}, {"time", e.time}, {"seq", e.seq}, {"kind", e.kind},
                      {"src_host", e.src_host}, {"src_actor", e.src_actor}};
  if (not e.dst_host.empty()) {
    j["dst_host"] = e.dst_host;
    j["dst_actor"] = e.dst_actor;
  }
  if (e.arrival >= 0)
    j["arrival"] = e.arrival;
  if (not e.conn.empty()) {
    j["conn"] = e.conn;
    j["role"] = e.role;
    j["peer_role"] = e.peer_role;
    j["dir"] = e.dir;
  }
  if (e.port > 0)
    j["port"] = e.port;
  if (not e.flow.empty())
    j["flow"] = e.flow;
  j["bytes"] = e.bytes;
  // Text protocols give UTF-8 (mostly ASCII) payloads; DNS and 8-bit bodies
  // do not, and JSON strings must be UTF-8: those go as base64.
  if (not e.payload.empty()) {
    if (e.kind != "dns" && valid_utf8(e.payload))
      j["payload"] = e.payload;
    else
      j["payload_base64"] = msg::base64_encode(e.payload);
  }
  if (not e.summary.empty())
    j["summary"] = e.summary;
  if (not e.message_id.empty())
    j["message_id"] = e.message_id;
  if (e.tls) {
    j["tls"] = true;
    j["tls_overhead"] = e.tls_overhead;
  }
  if (e.kind == "postal") {
    j["letter"] = e.letter;
    j["step"] = e.step;
    j["stage"] = e.stage;
    j["place"] = e.place;
    j["local_time"] = e.local_time;
    if (e.step == "departed") {
      j["vehicle"] = e.vehicle;
      j["km"] = e.km;
    }
    j["hands"] = e.hands;
  }
  return j;
}

nlohmann::json trace_summary(const World& world)
{
  nlohmann::json emails = nlohmann::json::array();
  auto t_or_null = [](double t) { return t < 0 ? nlohmann::json() : nlohmann::json(t); };
  auto tls_json = [&t_or_null](const Timeline& t) {
    nlohmann::json tls = nlohmann::json::object();
    for (const auto& [leg, span] : {std::pair{"submission", &t.submit_tls},
                                    std::pair{"relay", &t.relay_tls},
                                    std::pair{"retrieval", &t.retrieval_tls}})
      if (not span->version.empty())
        tls[leg] = {{"version", span->version},
                    {"start", t_or_null(span->start)},
                    {"end", t_or_null(span->end)},
                    {"round_trips", span->round_trips}};
    return tls;
  };
  for (const auto& t : world.timelines()) {
    emails.push_back({{"message_id", t.message_id},
                      {"from", t.from},
                      {"to", t.to},
                      {"subject", t.subject},
                      {"composed", t_or_null(t.composed)},
                      {"submitted", t_or_null(t.submitted)},
                      {"relay_start", t_or_null(t.relay_start)},
                      {"dns_start", t_or_null(t.dns_start)},
                      {"dns_end", t_or_null(t.dns_end)},
                      {"relayed", t_or_null(t.relayed)},
                      {"delivered", t_or_null(t.delivered)},
                      {"retrieval_open", t_or_null(t.retrieval_open)},
                      {"read", t_or_null(t.read)},
                      {"attempts", t.attempts},
                      {"round_trips",
                       {{"submission", t.submit_round_trips},
                        {"dns", t.dns_round_trips},
                        {"relay", t.relay_round_trips},
                        {"retrieval", t.retrieval_round_trips}}}});
    if (auto tls = tls_json(t); not tls.empty())
      emails.back()["tls"] = tls;
  }
  nlohmann::json bytes = nlohmann::json::object();
  for (const auto& [kind, n] : world.recorder().bytes_by_kind())
    bytes[kind] = n;
  nlohmann::json summary = {{"record", "summary"}, {"emails", emails}, {"bytes", bytes}};
  if (not world.recorder().tls_overhead_by_kind().empty())
    summary["tls_overhead"] = world.recorder().tls_overhead_by_kind();
  add_teaching(summary, world);
  if (not letter_records().empty())
    summary["letters"] = postal_trace_summary();
  return summary;
}

void write_trace(std::ostream& out, const World& world)
{
  out << trace_header(world).dump() << "\n";
  for (const auto& e : world.recorder().events())
    out << trace_event(e).dump() << "\n";
  out << trace_summary(world).dump() << "\n";
}

}  // namespace mailsim::sim

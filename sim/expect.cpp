// Checking a scenario's expectations against a finished run.
//
// Every check reads only the end state the summary also shows: the providers'
// mail stores (mailbox), what each device downloaded (device), the per-email
// timelines (latency), the byte counters of the recorder (bytes) and the
// recorded events (role). Nothing here changes the run, so checking twice
// gives the same answer, and the summary and the trace can each ask.
#include "sim/expect.hpp"

#include "sim/agents.hpp"

#include "models/message.hpp"
#include "models/store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace mailsim::sim {

namespace {

using scenario::Expectation;
using scenario::ExpectKind;

// "1 message", "2 messages".
std::string plural(long n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// "smtp" to "SMTP", for protocol names in sentences.
std::string upper(std::string text) {
  for (char& c : text)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return text;
}

// "1.600 s", "18.0 ms": as the summary writes durations.
std::string span_text(double seconds) {
  if (seconds < 1) return fmt::format("{:.1f} ms", seconds * 1000);
  return fmt::format("{:.3f} s", seconds);
}

// "over 180 s and under 181 s": the bounds of a check, as words.
std::string bound_text(const Expectation& e, bool duration) {
  auto show = [duration](double v) {
    if (not duration) return fmt::format("{:.0f}", v);
    return v < 1 ? fmt::format("{:g} ms", v * 1000) : fmt::format("{:g} s", v);
  };
  std::vector<std::string> parts;
  if (e.equals) parts.push_back("exactly " + show(*e.equals));
  if (e.over) parts.push_back("over " + show(*e.over));
  if (e.under) parts.push_back("under " + show(*e.under));
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : " and ") + part;
  return text;
}

// True when value satisfies every bound the check sets.
bool within(const Expectation& e, double value) {
  return (not e.equals || value == *e.equals) && (not e.over || value > *e.over) &&
         (not e.under || value < *e.under);
}

// " from rav@cms.com" " about "Hello"": the filters on emails, as words.
std::string email_filters(const Expectation& e) {
  std::string text;
  if (not e.from.empty()) text += " from " + e.from;
  if (not e.to.empty()) text += " to " + e.to;
  if (not e.subject.empty()) text += fmt::format(" about \"{}\"", e.subject);
  return text;
}

// True when the address in the From: field is the wanted one (or none is wanted).
bool from_matches(const std::string& wanted, const std::string& from_field) {
  if (wanted.empty()) return true;
  // "Rav <rav@cms.com>" or a bare "rav@cms.com"; domains compare in lower case.
  auto open = from_field.find('<');
  auto close = from_field.find('>', open);
  std::string address = open != std::string::npos && close != std::string::npos
                            ? from_field.substr(open + 1, close - open - 1)
                            : from_field;
  auto at = address.rfind('@');
  if (at != std::string::npos)
    for (auto i = at; i < address.size(); ++i)
      address[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(address[i])));
  return address == wanted;
}

// True when a line of the message's header section starts with `line` (or none is wanted).
bool has_header_line(const std::string& text, const std::string& line) {
  if (line.empty()) return true;
  auto end = text.find("\r\n\r\n");
  std::string_view head =
      std::string_view(text).substr(0, end == std::string::npos ? end : end + 2);
  for (std::size_t at = 0; at < head.size();) {
    if (head.compare(at, line.size(), line) == 0) return true;
    auto next = head.find("\r\n", at);
    if (next == std::string_view::npos) break;
    at = next + 2;
  }
  return false;
}

// The folder on the provider's server: count the matching messages and those seen.
ExpectResult check_mailbox(const World& world, const Expectation& e) {
  ExpectResult r;
  std::string what = e.messages ? plural(*e.messages, "message", "messages") : "messages";
  r.text =
      fmt::format("{}'s {} on the server holds {}{}", e.mailbox, e.folder, what, email_filters(e));
  if (not e.header.empty()) r.text += fmt::format(" with the header line \"{}\"", e.header);
  if (e.seen) r.text += fmt::format(", {} of them seen", *e.seen);

  const store::Folder* folder = nullptr;
  auto domain = e.mailbox.substr(e.mailbox.rfind('@') + 1);
  if (auto it = world.stores().find(domain); it != world.stores().end())
    if (const auto* account = std::as_const(*it->second).find_account(e.mailbox))
      folder = account->folder(e.folder);
  long count = 0, seen = 0;
  if (folder != nullptr)
    for (const auto& m : folder->messages()) {
      if (not from_matches(e.from, store::header_field(m.text, "From"))) continue;
      if (not e.subject.empty() && store::header_field(m.text, "Subject") != e.subject) continue;
      if (not has_header_line(m.text, e.header)) continue;
      count++;
      seen += m.flags.count("\\Seen");
    }
  r.met = (not e.messages || count == *e.messages) && (not e.seen || seen == *e.seen);
  r.actual = folder == nullptr
                 ? fmt::format("there is no folder {}", e.folder)
                 : fmt::format("it holds {}, {} seen", plural(count, "message", "messages"), seen);
  return r;
}

// One folder as the device itself shows it: an IMAP device's view ("sync"), or the copies a
// POP3 device downloaded and filed there.
ExpectResult check_device_folder(const scenario::Device* device, const Expectation& e) {
  ExpectResult r;
  r.text = fmt::format("{}'s {} shows {}{} in its own {}", e.person, e.device,
                       e.messages ? plural(*e.messages, "message", "messages")
                                  : std::string("messages"),
                       email_filters(e), e.folder);
  if (e.seen) r.text += fmt::format(", {} seen", *e.seen);
  long count = 0, seen = 0;
  bool known = false;
  const DeviceState* state = nullptr;
  if (device != nullptr)
    if (auto it = device_states().find(device->host); it != device_states().end())
      state = &it->second;
  if (state != nullptr && device->sync) {
    if (auto folder = state->view.find(e.folder); folder != state->view.end()) {
      known = true;
      for (const auto& m : folder->second.messages) {
        if (not from_matches(e.from, m.from)) continue;
        if (not e.subject.empty() && m.subject != e.subject) continue;
        count++;
        seen += m.flags.count("\\Seen");
      }
    }
  } else if (state != nullptr) {
    known = e.folder == "INBOX";
    for (const auto& header : state->headers) {
      auto id = msg::find_header(header, "Message-ID").value_or("");
      auto filed = state->folder_of.find(id);
      if ((filed == state->folder_of.end() ? "INBOX" : filed->second) != e.folder) continue;
      known = true;
      if (not from_matches(e.from, msg::find_header(header, "From").value_or(""))) continue;
      if (not e.subject.empty() && msg::find_header(header, "Subject").value_or("") != e.subject)
        continue;
      count++;
      seen += state->opened.count(id);
    }
  }
  // A folder the device does not know shows no messages: "messages": 0 holds there too.
  r.met = (not e.messages || count == *e.messages) && (not e.seen || seen == *e.seen);
  r.actual = known ? fmt::format("it shows {}, {} seen", plural(count, "message", "messages"), seen)
                   : fmt::format("it knows no folder {}", e.folder);
  return r;
}

// What the device downloaded or read, counted by Message-ID; with a folder, its own view.
ExpectResult check_device(const World& world, const Expectation& e) {
  ExpectResult r;
  const scenario::Device* device = nullptr;
  for (const auto& person : world.scenario().people)
    if (person.name == e.person)
      for (const auto& d : person.devices)
        if (d.name == e.device) device = &d;
  if (not e.folder.empty()) return check_device_folder(device, e);
  r.text = fmt::format("{}'s {} holds {}{}", e.person, e.device,
                       plural(e.messages.value_or(0), "message", "messages"), email_filters(e));
  std::map<std::string, const Timeline*> by_id;  // any recipient's: from and subject are shared
  if (not e.from.empty() || not e.subject.empty())
    for (const auto& t : world.timelines()) by_id.emplace(t.message_id, &t);
  long count = 0;
  if (device != nullptr)
    if (auto it = device_states().find(device->host); it != device_states().end())
      for (const auto& id : it->second.messages) {
        auto found = by_id.find(id);
        const Timeline* t = found == by_id.end() ? nullptr : found->second;
        if (not e.from.empty() && (t == nullptr || t->from != e.from)) continue;
        if (not e.subject.empty() && (t == nullptr || t->subject != e.subject)) continue;
        count++;
      }
  r.met = e.messages && count == *e.messages;
  r.actual = fmt::format("it holds {}", plural(count, "message", "messages"));
  return r;
}

// Start and end of a span of one email's timeline, and its round trips (-1: none counted).
struct Span {
  double from = -1, to = -1;
  int round_trips = -1;
};

// The span called `name` of one email's timeline (kLatencySpans).
Span span_of(const Timeline& t, const std::string& name) {
  if (name == "submission") return {t.composed, t.submitted, t.submit_round_trips};
  if (name == "queueing") return {t.submitted, t.relay_start, -1};
  if (name == "dns") return {t.dns_start, t.dns_end, t.dns_round_trips};
  if (name == "relay") return {t.relay_start, t.relayed, t.relay_round_trips};
  if (name == "delivery") return {t.composed, t.delivered, -1};
  if (name == "waiting") return {t.delivered, t.retrieval_open, -1};
  if (name == "retrieval") return {t.retrieval_open, t.read, t.retrieval_round_trips};
  return {t.composed, t.read, -1};  // end_to_end
}

// Every matching email must have got through the span within the bounds.
ExpectResult check_latency(const World& world, const Expectation& e) {
  ExpectResult r;
  std::string meaning;
  for (const auto& s : scenario::kLatencySpans)
    if (e.span == s.name) meaning = s.meaning;
  std::string how = bound_text(e, true);
  if (e.round_trips)
    how += (how.empty() ? "" : ", in ") + plural(*e.round_trips, "round trip", "round trips");
  r.text = fmt::format("{} ({}) of every email{} takes {}", e.span, meaning, email_filters(e), how);

  r.met = true;
  std::vector<std::string> seen;
  for (const auto& t : world.timelines()) {
    if ((not e.from.empty() && t.from != e.from) || (not e.to.empty() && t.to != e.to) ||
        (not e.subject.empty() && t.subject != e.subject))
      continue;
    Span s = span_of(t, e.span);
    if (s.from < 0 || s.to < 0) {
      r.met = false;
      seen.push_back(fmt::format("the email to {} never got that far", t.to));
      continue;
    }
    bool ok = within(e, s.to - s.from) && (not e.round_trips || s.round_trips == *e.round_trips);
    r.met = r.met && ok;
    std::string shown = fmt::format("{} took {}", t.to, span_text(s.to - s.from));
    if (e.round_trips)
      shown += fmt::format(" in {}", plural(s.round_trips, "round trip", "round trips"));
    seen.push_back(shown);
  }
  if (seen.empty()) {
    r.met = false;
    r.actual = "no email matches";
    return r;
  }
  for (const auto& part : seen) r.actual += (r.actual.empty() ? "" : "; ") + part;
  return r;
}

// Bytes on the wire of one kind, or of all.
ExpectResult check_bytes(const World& world, const Expectation& e) {
  ExpectResult r;
  std::uint64_t bytes = 0;
  for (const auto& [kind, n] : world.recorder().bytes_by_kind())
    if (e.protocol == "total" || kind == e.protocol) bytes += n;
  r.text = fmt::format("{} bytes on the wire: {}",
                       e.protocol == "total" ? "all" : upper(e.protocol), bound_text(e, false));
  r.met = within(e, static_cast<double>(bytes));
  r.actual = fmt::format("{} bytes", bytes);
  return r;
}

// The distinct connections on which the filter's host held the role.
ExpectResult check_role(const World& world, const Expectation& e) {
  ExpectResult r;
  const auto& f = e.filter;
  std::string proto = f.protocol.empty() ? "" : upper(f.protocol) + " ";
  std::string how_many =
      not e.connections ? "at least one " + proto + "connection"
      : *e.connections == 0
          ? "no " + proto + "connection"
          : plural(*e.connections, (proto + "connection").c_str(), (proto + "connections").c_str());
  r.text = fmt::format("{} is the {} on {}", f.host.empty() ? "a host" : f.host, f.role, how_many);
  if (f.host.empty() && e.connections && *e.connections == 0)
    r.text = fmt::format("no host is the {} on any {}connection", f.role, proto);
  if (not f.peer.empty()) r.text += " to " + f.peer;
  if (not f.line.empty()) r.text += fmt::format(" that carries \"{}\"", f.line);

  std::vector<std::string> conns;
  for (const auto& event : world.recorder().events())
    if (not event.conn.empty() && event_matches(f, event) &&
        std::find(conns.begin(), conns.end(), event.conn) == conns.end())
      conns.push_back(event.conn);
  auto n = static_cast<long>(conns.size());
  r.met = e.connections ? n == *e.connections : n > 0;
  std::string list;
  for (const auto& c : conns) list += (list.empty() ? "" : ", ") + c;
  r.actual = n == 0 ? "on no connection" : fmt::format("on {}", list);
  return r;
}

// The first line of a flight, or the whole payload when it has one line.
std::string_view first_line(const std::string& payload) {
  return std::string_view(payload).substr(0, payload.find("\r\n"));
}

// How many trace lines the filter matches, and when the first of them came: from
// the start of the run, or after the first line of any kind that carries `since`.
ExpectResult check_trace(const World& world, const Expectation& e) {
  ExpectResult r;
  const auto& f = e.filter;
  std::string what = f.protocol + " line";
  r.text = not e.lines ? "the trace has a " + what
                       : fmt::format("the trace has {}",
                                     plural(*e.lines, what.c_str(), (what + "s").c_str()));
  if (not f.host.empty()) r.text += " from " + f.host;
  if (not f.peer.empty()) r.text += " to " + f.peer;
  bool one = not e.lines || *e.lines == 1;
  if (not f.line.empty())
    r.text += fmt::format(" that {} \"{}\"", one ? "carries" : "carry", f.line);
  bool timed = e.under || e.over;
  if (timed)
    r.text += fmt::format(", the first {} {}", bound_text(e, true),
                          e.since.empty() ? "into the run"
                                          : fmt::format("after the first line that carries "
                                                        "\"{}\"",
                                                        e.since));

  scenario::EventFilter any_since;
  any_since.line = e.since;
  const TraceEvent* reference = nullptr;
  if (not e.since.empty())
    for (const auto& event : world.recorder().events())
      if (event_matches(any_since, event)) {
        reference = &event;
        break;
      }
  long count = 0;
  const TraceEvent* first = nullptr;  // the first match (after the reference, if any)
  for (const auto& event : world.recorder().events()) {
    if (not event_matches(f, event)) continue;
    count++;
    if (first == nullptr && (reference == nullptr || event.seq > reference->seq)) first = &event;
  }
  r.met = e.lines ? count == *e.lines : count > 0;
  r.actual = fmt::format("{} matched", plural(count, "line", "lines"));
  if (not timed) return r;
  if (not e.since.empty() && reference == nullptr) {
    r.met = false;
    r.actual += fmt::format("; no line carries \"{}\"", e.since);
  } else if (first == nullptr) {
    r.met = false;
    r.actual += reference == nullptr ? "" : "; none after it";
  } else {
    double start = reference == nullptr ? 0.0 : reference->time;
    r.met = r.met && within(e, first->time - start);
    r.actual += fmt::format(
        "; the first at {:.6f}{}", first->time,
        reference == nullptr
            ? ""
            : fmt::format(", {} after {:.6f}", span_text(first->time - start), reference->time));
  }
  return r;
}

}  // namespace

bool event_matches(const scenario::EventFilter& f, const TraceEvent& e) {
  if (not f.protocol.empty() && e.kind != f.protocol) return false;
  if (not f.role.empty() && e.role != f.role) return false;
  if (not f.host.empty() && e.src_host != f.host) return false;
  if (not f.peer.empty() && e.dst_host != f.peer) return false;
  if (f.line.empty()) return true;
  bool text = not e.payload.empty() && e.kind != "dns";
  return (text && first_line(e.payload).find(f.line) != std::string_view::npos) ||
         e.summary.find(f.line) != std::string::npos;
}

std::vector<ExpectResult> check_expectations(const World& world) {
  std::vector<ExpectResult> results;
  for (const auto& e : world.scenario().expect) {
    ExpectResult r;
    switch (e.kind) {
      case ExpectKind::mailbox:
        r = check_mailbox(world, e);
        break;
      case ExpectKind::device:
        r = check_device(world, e);
        break;
      case ExpectKind::latency:
        r = check_latency(world, e);
        break;
      case ExpectKind::bytes:
        r = check_bytes(world, e);
        break;
      case ExpectKind::role:
        r = check_role(world, e);
        break;
      case ExpectKind::trace:
        r = check_trace(world, e);
        break;
    }
    r.path = e.path;
    results.push_back(std::move(r));
  }
  return results;
}

void write_expectations(std::ostream& out, const std::vector<ExpectResult>& results) {
  if (results.empty()) return;
  auto met = std::count_if(results.begin(), results.end(), [](const auto& r) { return r.met; });
  out << fmt::format("\nExpectations: {} of {} met\n", met, results.size());
  for (const auto& r : results)
    out << fmt::format("  {:<8} {:<10} {} ({})\n", r.met ? "met" : "NOT MET", r.path, r.text,
                       r.actual);
}

nlohmann::json expectations_json(const std::vector<ExpectResult>& results) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : results)
    list.push_back({{"path", r.path}, {"text", r.text}, {"actual", r.actual}, {"met", r.met}});
  return list;
}

}  // namespace mailsim::sim

// The teaching parts of a scenario: what must hold at the end of a run (the
// `expect` block) and the idea the scenario shows (the `lesson`), as plain
// data read by load_scenario. docs/scenario-format.md describes the JSON;
// sim/expect.cpp checks expectations against a finished run and sim/lesson.cpp
// finds the trace lines a lesson points at.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mailsim::scenario {

// Which trace events a role check or a lesson point is about. An empty field
// matches anything.
struct EventFilter {
  std::string protocol;  // the event's kind: "smtp", "imap", "tcp", "dns", ...
  std::string role;      // the sender's role on the connection: "SMTP client", ...
  std::string host;      // the host that wrote it or did it
  std::string peer;      // the host it went to
  std::string line;      // text found in the event's first protocol line or its summary
};

enum class ExpectKind { mailbox, device, latency, bytes, role, trace };

// One line of the `expect` block. Which fields apply depends on the kind.
struct Expectation {
  ExpectKind kind = ExpectKind::mailbox;
  std::string path;  // "expect[2]", to name it in reports

  // mailbox: the address of an account; device: a person and one of their devices.
  std::string mailbox;
  std::string folder = "INBOX";  // device: "" for what it downloaded, else a folder of its view
  std::string person, device;
  std::optional<long> messages;  // how many messages (that match from/subject)
  std::optional<long> seen;      // how many of those carry \Seen (mailbox, device's folder)
  std::string header;  // mailbox: a header line each counted message has, from its start

  // Filters on emails: mailbox and device use from and subject; latency also to.
  std::string from, to, subject;

  // latency: a span of each matching email's timeline (see kLatencySpans).
  std::string span;
  std::optional<int> round_trips;  // exact, for spans that count them

  // bytes: a trace kind ("smtp") or "total".
  std::string protocol;

  // Bounds: seconds for latency, bytes for bytes. under and over are strict.
  std::optional<double> under, over, equals;

  // role: who held a role; connections is an exact count (default: at least one).
  EventFilter filter;
  std::optional<long> connections;

  // trace: the lines `filter` matches; lines is an exact count (default: at least one).
  // under and over bound the time of the first of them: from the start of the run, or
  // from the first trace line of any kind that carries `since`.
  std::optional<long> lines;
  std::string since;
};

// The spans a latency check can name, and whether each counts round trips.
struct LatencySpan {
  const char* name;
  const char* meaning;
  bool has_round_trips;
};
inline constexpr LatencySpan kLatencySpans[] = {
    {"submission", "from Send until the sender's server queued it", true},
    {"queueing", "in the sender's server's queue", false},
    {"dns", "the MX lookup", true},
    {"relay", "from leaving the queue until the receiving server accepted it", true},
    {"delivery", "from Send until it was stored in the recipient's mailbox", false},
    {"waiting", "in the mailbox until the recipient checked", false},
    {"retrieval", "from opening the retrieval connection until the body arrived", true},
    {"end_to_end", "from Send until the body reached the recipient's device", false},
};

// One trace line the lesson points at, in the student's words.
struct LessonPoint {
  std::string see;     // "cms.com, now an SMTP client, pushes the message to ums.com"
  EventFilter filter;  // the first event that matches is the line to look at
};

// The idea a scenario shows. An empty idea: the scenario has no lesson.
struct Lesson {
  std::string idea;  // "push and pull"
  std::string text;  // a few sentences for the student
  std::vector<LessonPoint> points;
};

}  // namespace mailsim::scenario

// Renderings of a finished run: the timed story a student reads on stdout,
// the JSON Lines trace (docs/trace-format.md), and the summary.
#pragma once

#include "sim/world.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace mailsim::sim {

constexpr int kTraceFormatVersion = 1;

// The timed story, one line per protocol line or step; with explain, a plain
// line before each step (sim/explain.hpp).
void write_story(std::ostream& out, const World& world, bool explain = false);
// The summary: per email, where its time went; bytes per protocol; mailboxes.
void write_summary(std::ostream& out, const World& world);

// JSON Lines: the header, every event, then the summary record.
nlohmann::json trace_header(const World& world);
nlohmann::json trace_event(const TraceEvent& event);
nlohmann::json trace_summary(const World& world);
void write_trace(std::ostream& out, const World& world);

}  // namespace mailsim::sim

// The lesson of a scenario: the idea of the story it shows, and the trace
// lines (time and connection) where a student can see it happen. Printed at
// the end of the summary and carried in the trace's summary record.
#pragma once

#include "sim/world.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace mailsim::sim {

// The "What this run shows" section (nothing when the scenario has no lesson).
void write_lesson(std::ostream& out, const World& world);
// The same as data: {idea, text, points: [{see, time, conn, seq, matches}]}, or null.
nlohmann::json lesson_json(const World& world);

}  // namespace mailsim::sim

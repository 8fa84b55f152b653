// Expectations: the facts a scenario's `expect` block states, checked against
// a finished run. Each gives one line a student or an instructor can read
// ("uday@ums.com's INBOX holds 1 message from rav@cms.com") and what the run
// actually showed, met or not. `mailsim run` prints them at the end of the
// summary, adds them to the trace's summary record, and exits with status 3
// when one is not met.
#pragma once

#include "sim/scenario_teaching.hpp"
#include "sim/trace.hpp"
#include "sim/world.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace mailsim::sim {

struct ExpectResult {
  std::string path;    // "expect[2]"
  std::string text;    // what must hold, in words
  std::string actual;  // what the run showed
  bool met = false;
};

// Checks every expectation of the world's scenario; call after the run.
std::vector<ExpectResult> check_expectations(const World& world);

// True when the event is one the filter describes.
bool event_matches(const scenario::EventFilter& filter, const TraceEvent& event);

// The "Expectations" section of the summary (nothing when there are none).
void write_expectations(std::ostream& out, const std::vector<ExpectResult>& results);
// The same for the trace's summary record: [{path, text, actual, met}, ...].
nlohmann::json expectations_json(const std::vector<ExpectResult>& results);

}  // namespace mailsim::sim

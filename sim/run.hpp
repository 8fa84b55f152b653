// One run of a scenario: engine, platform, actors, run, outputs.
#pragma once

#include "sim/scenario.hpp"

#include <string>
#include <vector>

namespace mailsim::sim {

struct RunOptions {
  std::string trace_path;                 // --trace FILE; empty: no JSON Lines file
  bool quiet = false;                     // --quiet: the summary only, no timed story
  bool story = true;                      // false: neither story nor summary (benchmarks)
  bool explain = false;                   // --explain: a plain line before each step
  std::vector<std::string> simgrid_args;  // --cfg=... and --log=..., handed to SimGrid
};

// Exit codes, as documented in docs/cli.md.
constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitExpectationFailed = 3;  // the run finished; an expectation was not met

// Runs the scenario and writes its outputs; returns the process exit code.
int run_scenario(const scenario::Scenario& scenario, const RunOptions& options);

}  // namespace mailsim::sim

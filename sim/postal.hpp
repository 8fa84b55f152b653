// The post: paper letters on the same engine as the email (docs/postal.md).
#pragma once

#include "sim/scenario.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <ostream>
#include <string>
#include <vector>

namespace mailsim::sim {

class World;

// Where one letter was when, in simulated seconds (-1: not yet).
struct LetterRecord {
  std::string id;                          // "L1", "L2", ... in the order of the file
  const scenario::Letter* letter = nullptr;
  const scenario::Place* from_place = nullptr;
  const scenario::Place* to_place = nullptr;
  double posted = -1;                      // dropped into the post box
  std::array<double, 6> reached{};         // reached the start of each stage
  std::array<double, 6> left{};            // the stage started with it
  double in_mailbox = -1;                  // dropped into the recipient's mailbox
  double read = -1;
};

// True when the scenario posts letters; run.cpp then also measures the servers' CPU.
bool postal_enabled(const scenario::Scenario& scenario);

// Starts the actor that posts each letter at its time; the route's actors follow.
void start_postal(const scenario::Scenario& scenario);

const std::vector<LetterRecord>& letter_records();

// The letters for the trace's summary record: times of posting, mailbox and reading.
nlohmann::json postal_trace_summary();

// Each letter's journey, then letter and email side by side.
void write_postal_summary(std::ostream& out, const World& world);

}  // namespace mailsim::sim

// `mailsim list`: the bundled scenarios, one line each.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace mailsim::sim {

struct ListedScenario {
  std::string file;         // file name, "rav-canada-to-uday-india.json"
  std::string name;         // its "name", or the file's stem when it has none
  std::string description;  // its "description", or why it could not be read
};

// The directory of the bundled scenarios: the one that holds the scenario
// schema (set at build time, like the schema's path).
std::string bundled_scenario_dir();

// Every scenario file (*.json with a "mailsim" member) in dir, sorted by file name.
std::vector<ListedScenario> list_scenarios(const std::string& dir);

// What `run` and `validate` open for SCENARIO: the file itself when it exists;
// otherwise, for a bare name like "rav-canada-to-uday-india", that bundled
// scenario (with or without ".json") when there is one; otherwise SCENARIO, so
// that loading it says why it cannot be read.
std::string find_scenario(const std::string& scenario);

// Writes the list; returns false when the directory cannot be read.
bool write_scenario_list(std::ostream& out, std::ostream& err, const std::string& dir);

}  // namespace mailsim::sim

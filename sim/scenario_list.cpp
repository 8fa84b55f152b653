// Listing scenario files. Only each file's "name" and "description" are read
// (a full load would stop at the first bad file); the list is sorted by file
// name so that it reads the same on every machine.
#include "sim/scenario_list.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mailsim::sim {

namespace fs = std::filesystem;

std::string bundled_scenario_dir() {
#ifdef MAILSIM_SCENARIO_SCHEMA
  return fs::path(MAILSIM_SCENARIO_SCHEMA).parent_path().string();
#else
  return "scenarios";
#endif
}

std::vector<ListedScenario> list_scenarios(const std::string& dir) {
  std::vector<ListedScenario> list;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (not entry.is_regular_file() || entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    ListedScenario item;
    item.file = entry.path().filename().string();
    auto doc = nlohmann::json::parse(bytes.str(), nullptr, false);
    if (doc.is_discarded()) {
      item.name = entry.path().stem().string();
      item.description = "(not valid JSON: mailsim validate says where)";
    } else if (not doc.is_object() || not doc.contains("mailsim")) {
      continue;  // the schema, or other data beside the scenarios
    } else {
      auto text = [&doc](const char* key, std::string fallback) {
        auto it = doc.find(key);
        return it != doc.end() && it->is_string() ? it->get<std::string>() : fallback;
      };
      item.name = text("name", entry.path().stem().string());
      item.description = text("description", "");
    }
    list.push_back(std::move(item));
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  return list;
}

std::string find_scenario(const std::string& scenario) {
  std::error_code ec;
  if (fs::exists(scenario, ec) || scenario.find('/') != std::string::npos) return scenario;
  fs::path bundled = fs::path(bundled_scenario_dir()) / scenario;
  if (bundled.extension() != ".json") bundled += ".json";
  return fs::is_regular_file(bundled, ec) ? bundled.string() : scenario;
}

bool write_scenario_list(std::ostream& out, std::ostream& err, const std::string& dir) {
  std::error_code ec;
  if (not fs::is_directory(dir, ec)) {
    err << "mailsim: cannot list scenarios: " << dir << " is not a directory\n";
    return false;
  }
  std::vector<ListedScenario> list;
  try {
    list = list_scenarios(dir);
  } catch (const fs::filesystem_error& e) {
    err << "mailsim: cannot list scenarios in " << dir << ": " << e.code().message() << "\n";
    return false;
  }
  std::size_t width = 0;
  for (const auto& item : list) width = std::max(width, item.name.size());
  bool bundled = dir == bundled_scenario_dir();
  out << fmt::format("{} scenario{} in {} (run one with: mailsim run {}):\n", list.size(),
                     list.size() == 1 ? "" : "s", dir, bundled ? "NAME" : dir + "/FILE");
  for (const auto& item : list)
    out << fmt::format("  {:<{}}  {}\n", item.name, width, item.description);
  return true;
}

}  // namespace mailsim::sim

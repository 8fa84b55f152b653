// Pointing a student at the trace lines that show a scenario's idea.
//
// Each point of a lesson describes trace events by a filter (protocol, role,
// hosts, a piece of the protocol line). The first event that matches is the
// line to look at: the summary gives its time and connection id, which are
// the first two columns of the timed story, and how many more lines match.
// A point that matches nothing says so, so a lesson that no longer fits its
// scenario shows at once (and the golden test catches it).
#include "sim/lesson.hpp"

#include "sim/expect.hpp"

#include <fmt/format.h>

#include <string>

namespace mailsim::sim {

namespace {

// A paragraph wrapped at `width` columns: the first line indented by `indent`,
// the others by `hanging`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t hanging,
                 std::size_t width) {
  std::string out, line;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(' ', start);
    std::string word = text.substr(start, end == std::string::npos ? end : end - start);
    start = end == std::string::npos ? text.size() : end + 1;
    if (word.empty()) continue;
    if (not line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
      indent = hanging;
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (not line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

struct Found {
  const TraceEvent* first = nullptr;
  std::size_t count = 0;
};

// The first event the filter matches, and how many match.
Found find(const World& world, const scenario::EventFilter& filter) {
  Found found;
  for (const auto& event : world.recorder().events())
    if (event_matches(filter, event)) {
      if (found.first == nullptr) found.first = &event;
      found.count++;
    }
  return found;
}

}  // namespace

void write_lesson(std::ostream& out, const World& world) {
  const auto& lesson = world.scenario().lesson;
  if (lesson.idea.empty()) return;
  out << fmt::format("\nWhat this run shows: {}\n", lesson.idea);
  if (not lesson.text.empty()) out << wrap(lesson.text, 2, 2, 100);
  for (const auto& point : lesson.points) {
    Found found = find(world, point.filter);
    std::string where = "not in this run";
    if (found.first != nullptr) {
      where = found.first->conn.empty()
                  ? fmt::format("see the {} line at {:.6f}", found.first->kind, found.first->time)
                  : fmt::format("see {:.6f} on {}", found.first->time, found.first->conn);
      if (found.count > 1)
        where += fmt::format(" (and {} more line{})", found.count - 1, found.count == 2 ? "" : "s");
    }
    out << wrap(fmt::format("- {}: {}", point.see, where), 2, 4, 100);
  }
}

nlohmann::json lesson_json(const World& world) {
  const auto& lesson = world.scenario().lesson;
  if (lesson.idea.empty()) return nullptr;
  nlohmann::json points = nlohmann::json::array();
  for (const auto& point : lesson.points) {
    Found found = find(world, point.filter);
    nlohmann::json p = {{"see", point.see}, {"matches", found.count}};
    if (found.first != nullptr) {
      p["time"] = found.first->time;
      p["seq"] = found.first->seq;
      if (not found.first->conn.empty()) p["conn"] = found.first->conn;
    }
    points.push_back(p);
  }
  return {{"idea", lesson.idea}, {"text", lesson.text}, {"points", points}};
}

}  // namespace mailsim::sim

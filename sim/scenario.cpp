// Loading scenario files: read, parse, check, convert.
//
// Theory of operation. A file goes through four gates, and every gate adds
// to one list of problems instead of stopping at the first:
//
//   1. bytes: the file must open and read (errno text otherwise);
//   2. JSON: nlohmann parses it; a parse error becomes "line L, column C";
//   3. schema: valijson checks it against scenarios/scenario.schema.json;
//   4. meaning: a Reader walks the document, converts units, fills defaults
//      and checks what a schema cannot say (names that refer to each other,
//      addresses at a provider's domain, places reachable through links).
//
// valijson reports every failed keyword, and every parent of a failed value
// again ("failed to validate item #1"), in its own generic words. We keep only
// the leaf errors and rewrite them: a value that fails at a path is described
// by the "x-expected" phrase of the schema node at that path ("a duration (use
// a number of seconds ...)"), so the words live beside the rule in the schema
// and one path gives at most one line. The Reader's own checks on a value the
// schema already rejected are dropped for the same reason. The list comes out
// in document order, so a student fixes the file from top to bottom.
//
// The Reader never trusts a type: a field of the wrong type reads as absent
// (the schema has said why), so gate 4 runs even on a file that failed gate 3.
#include "sim/scenario.hpp"

#include "sim/place_presets.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace mailsim::scenario {

namespace {

// The document keeps its member order, so that problems can be listed in it.
using Json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------
// JSON paths

struct Segment {
  std::string key;
  std::size_t index = 0;
  bool is_index = false;
};
using Path = std::vector<Segment>;

Path operator/(Path path, const std::string& key) {
  path.push_back({key, 0, false});
  return path;
}

Path operator/(Path path, std::size_t index) {
  path.push_back({"", index, true});
  return path;
}

// "people[1].address"
std::string path_string(const Path& path) {
  std::string text;
  for (const auto& segment : path) {
    if (segment.is_index) {
      text += fmt::format("[{}]", segment.index);
    } else {
      if (!text.empty()) text += '.';
      text += segment.key;
    }
  }
  return text;
}

// The value at a path, or nullptr.
const Json* lookup(const Json& doc, const Path& path) {
  const Json* node = &doc;
  for (const auto& segment : path) {
    if (segment.is_index) {
      if (!node->is_array() || segment.index >= node->size()) return nullptr;
      node = &(*node)[segment.index];
    } else {
      if (!node->is_object()) return nullptr;
      auto it = node->find(segment.key);
      if (it == node->end()) return nullptr;
      node = &*it;
    }
  }
  return node;
}

// Where a path stands in the document: the position of each member and item.
std::vector<std::size_t> document_order(const Json& doc, const Path& path) {
  std::vector<std::size_t> order;
  const Json* node = &doc;
  for (const auto& segment : path) {
    std::size_t position = SIZE_MAX;
    const Json* next = nullptr;
    if (segment.is_index) {
      position = segment.index;
      if (node && node->is_array() && segment.index < node->size()) next = &(*node)[segment.index];
    } else if (node && node->is_object()) {
      position = 0;
      for (auto it = node->begin(); it != node->end(); ++it, ++position) {
        if (it.key() == segment.key) {
          next = &*it;
          break;
        }
      }
    }
    order.push_back(position);
    node = next;
  }
  return order;
}

// A value as it appears in the file, shortened for one line.
std::string render(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  constexpr std::size_t limit = 60;
  if (text.size() > limit) {
    std::size_t cut = limit - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

// "Rav, Uday", or the first few and a count; each name once.
std::string list_names(const std::vector<std::string>& all) {
  constexpr std::size_t shown = 8;
  std::set<std::string> seen;
  std::string text;
  for (const auto& name : all) {
    if (!seen.insert(name).second || seen.size() > shown) continue;
    if (seen.size() > 1) text += ", ";
    text += name;
  }
  if (seen.size() > shown) text += fmt::format(" and {} more", seen.size() - shown);
  if (seen.empty()) text = "none";
  return text;
}

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// A folder name as the store and a device's view spell it: "INBOX" in any case is "INBOX"
// (RFC 3501 5.1), other names are case-sensitive.
std::string inbox_spelled(std::string folder) {
  return lower(folder) == "inbox" ? "INBOX" : folder;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t change = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, change});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// ---------------------------------------------------------------------------
// Problems as we collect them

struct Issue {
  Path path;
  std::string message;
  bool from_schema = false;
};

// Sorts into document order, drops repeats and the Reader's second opinion on
// a value the schema has already rejected, and turns paths into text.
std::vector<Problem> finish(const Json* doc, std::vector<Issue> issues) {
  std::set<std::string> schema_paths;
  for (const auto& issue : issues) {
    if (issue.from_schema) schema_paths.insert(path_string(issue.path));
  }

  std::vector<std::pair<std::vector<std::size_t>, Problem>> keyed;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& issue : issues) {
    std::string path = path_string(issue.path);
    if (!issue.from_schema && schema_paths.count(path)) continue;
    if (!seen.insert({path, issue.message}).second) continue;
    auto order = doc ? document_order(*doc, issue.path) : std::vector<std::size_t>{};
    keyed.push_back({std::move(order), Problem{path, issue.message}});
  }

  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<Problem> problems;
  for (auto& entry : keyed) problems.push_back(std::move(entry.second));
  return problems;
}

// ---------------------------------------------------------------------------
// The schema

// The schema document (in its own order, for its words) and valijson's
// compiled form of it.
struct SchemaFile {
  Json doc;
  valijson::Schema compiled;
};

std::string read_file(const std::string& path, std::string& error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = "it is a directory";
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return {};
  }
  // Bounded, so that an endless file (/dev/zero) is an error, not a hang.
  constexpr std::size_t max_bytes = std::size_t{128} << 20;
  std::string bytes;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    bytes.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > max_bytes) {
      error = "it is larger than 128 MiB";
      return {};
    }
  }
  if (in.bad()) {
    error = std::strerror(errno);
    return {};
  }
  return bytes;
}

#ifdef MAILSIM_SCENARIO_SCHEMA
constexpr const char* schema_path = MAILSIM_SCENARIO_SCHEMA;
#else
constexpr const char* schema_path = "scenarios/scenario.schema.json";
#endif

// Loaded once. The path is fixed at build time (docs/scenario-format.md).
const SchemaFile& schema_file(const std::string& origin) {
  static const std::unique_ptr<SchemaFile> loaded = [&origin] {
    auto fail = [&origin](const std::string& why) {
      return ScenarioError(origin, {Problem{"", fmt::format("cannot use the scenario schema {} "
                                                            "(set at build time): {}",
                                                            schema_path, why)}});
    };
    std::string error;
    std::string text = read_file(schema_path, error);
    if (!error.empty()) throw fail(error);
    auto file = std::make_unique<SchemaFile>();
    try {
      file->doc = Json::parse(text);
      nlohmann::json plain = file->doc;
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      valijson::adapters::NlohmannJsonAdapter adapter(plain);
      parser.populateSchema(adapter, file->compiled);
    } catch (const std::exception& e) {
      throw fail(e.what());
    }
    return file;
  }();
  return *loaded;
}

const Json* follow_refs(const Json& root, const Json* node) {
  for (int hops = 0; node && node->is_object() && node->contains("$ref") && hops < 16; ++hops) {
    const auto& ref = (*node)["$ref"];
    if (!ref.is_string()) return nullptr;
    std::string target = ref.get<std::string>();
    if (target.rfind("#", 0) != 0) return nullptr;
    try {
      node = &root.at(Json::json_pointer(target.substr(1)));
    } catch (const std::exception&) {
      return nullptr;
    }
  }
  return node;
}

// The schema node that governs the value at a path (properties, items,
// additionalProperties and local $ref only: the schema keeps oneOf at leaves).
const Json* schema_node(const Json& schema, const Path& path) {
  const Json* node = follow_refs(schema, &schema);
  for (const auto& segment : path) {
    if (!node || !node->is_object()) return nullptr;
    const Json* next = nullptr;
    if (segment.is_index) {
      auto items = node->find("items");
      if (items != node->end() && items->is_object()) next = &*items;
    } else {
      auto properties = node->find("properties");
      if (properties != node->end() && properties->contains(segment.key)) {
        next = &(*properties)[segment.key];
      } else {
        auto extra = node->find("additionalProperties");
        if (extra != node->end() && extra->is_object()) next = &*extra;
      }
    }
    node = follow_refs(schema, next);
  }
  return node;
}

std::optional<std::string> expected_phrase(const Json& schema, const Path& path) {
  const auto* node = schema_node(schema, path);
  if (node && node->is_object()) {
    auto it = node->find("x-expected");
    if (it != node->end() && it->is_string()) return it->get<std::string>();
  }
  return std::nullopt;
}

std::string type_phrase(const Json& type) {
  static const std::map<std::string, std::string> phrases = {{"string", "a string"},
                                                             {"number", "a number"},
                                                             {"integer", "a whole number"},
                                                             {"boolean", "true or false"},
                                                             {"array", "a list"},
                                                             {"object", "an object"},
                                                             {"null", "null"}};
  if (type.is_string()) {
    auto it = phrases.find(type.get<std::string>());
    if (it != phrases.end()) return it->second;
  }
  return "of the right type";
}

// valijson messages that only repeat, one level up, an error already reported
// below: a failed array item, property, branch or condition.
bool is_cascade(const std::string& description) {
  static const char* const prefixes[] = {
      "Failed to validate item #",
      "Failed to validate against schema associated with property name",
      "Failed to validate against schema associated with pattern",
      "Failed to validate against additional properties schema",
      "Failed to validate against any child schemas allowed by oneOf",
      "Failed to validate against any schemas allowed by anyOf",
      "Failed to validate against a conditional schema",
      "Failed to validate against dependent schema",
  };
  for (const char* prefix : prefixes) {
    if (description.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// "[people]" "[1]" from valijson, made into a Path by walking the document.
Path path_from_context(const Json& doc, const std::vector<std::string>& context) {
  Path path;
  const Json* node = &doc;
  for (std::size_t i = 1; i < context.size(); ++i) {
    std::string key = context[i];
    if (key.size() >= 2 && key.front() == '[' && key.back() == ']') {
      key = key.substr(1, key.size() - 2);
    }
    if (node && node->is_array()) {
      std::size_t index = std::strtoul(key.c_str(), nullptr, 10);
      path = path / index;
      node = index < node->size() ? &(*node)[index] : nullptr;
    } else {
      path = path / key;
      const Json* next = nullptr;
      if (node && node->is_object()) {
        auto it = node->find(key);
        if (it != node->end()) next = &*it;
      }
      node = next;
    }
  }
  return path;
}

// "unknown field (did you mean "address"?)", one Issue per stray member.
void unknown_fields(const Json& doc, const Json& schema, const Path& path,
                    std::vector<Issue>& issues) {
  const Json* object = lookup(doc, path);
  const auto* node = schema_node(schema, path);
  if (!object || !object->is_object() || !node || !node->contains("properties")) return;
  std::vector<std::string> known;
  for (const auto& [name, unused] : (*node)["properties"].items()) {
    if (name != "$schema") known.push_back(name);
  }
  for (const auto& member : object->items()) {
    if (std::find(known.begin(), known.end(), member.key()) != known.end()) continue;
    if (member.key() == "$schema" && path.empty()) continue;
    // Close enough to be a typo: one edit in three characters at most.
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(1, member.key().size() / 3) + 1;
    for (const auto& name : known) {
      std::size_t d = edit_distance(lower(member.key()), name);
      if (d < best_distance) best_distance = d, best = name;
    }
    std::string message =
        best.empty() ? fmt::format("unknown field (the fields here are {})", list_names(known))
                     : fmt::format("unknown field (did you mean \"{}\"?)", best);
    issues.push_back({path / member.key(), message, true});
  }
}

// "missing field "at"", for every missing one in the schema's order (valijson
// reports them in its own); finish() drops the repeats.
void missing_fields(const Json& doc, const Json& schema, const Path& path,
                    std::vector<Issue>& issues) {
  const Json* object = lookup(doc, path);
  const auto* node = schema_node(schema, path);
  if (!object || !object->is_object() || !node || !node->contains("required")) return;
  for (const auto& name : (*node)["required"]) {
    if (name.is_string() && !object->contains(name.get<std::string>())) {
      issues.push_back({path, fmt::format("missing field \"{}\"", name.get<std::string>()), true});
    }
  }
}

// One readable line for the value-level errors valijson found at one path.
std::string describe_value_error(const Json& doc, const Json& schema, const Path& path,
                                 const std::vector<std::string>& descriptions) {
  const Json* value = lookup(doc, path);
  std::string shown = value ? render(*value) : "the value";
  if (auto phrase = expected_phrase(schema, path))
    return fmt::format("{} is not {}", shown, *phrase);

  const auto* node = schema_node(schema, path);
  for (const auto& description : descriptions) {
    if (description.rfind("Value type not permitted", 0) == 0 && node && node->contains("type")) {
      return fmt::format("{} is not {}", shown, type_phrase((*node)["type"]));
    }
  }
  for (const auto& description : descriptions) {
    if (description.rfind("Failed to match against any enum values", 0) == 0 && node &&
        node->contains("enum")) {
      std::vector<std::string> choices;
      for (const auto& choice : (*node)["enum"]) choices.push_back(choice.dump());
      return fmt::format("{} is not one of {}", shown, list_names(choices));
    }
  }
  std::string reason = descriptions.front();
  if (!reason.empty() && reason.back() == '.') reason.pop_back();
  if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(reason[0]));
  return fmt::format("{}: {}", shown, reason);
}

void check_schema(const Json& doc, const SchemaFile& schema, std::vector<Issue>& issues) {
  nlohmann::json plain = doc;
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(plain);
  if (validator.validate(schema.compiled, target, &results)) return;

  const std::string required = "Missing required property '";
  const std::string stray = "Object contains a property that could not be validated";
  std::vector<std::string> value_paths;
  std::map<std::string, std::pair<Path, std::vector<std::string>>> value_errors;
  std::size_t reported = issues.size();

  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    Path path = path_from_context(doc, error.context);
    const std::string& description = error.description;
    if (is_cascade(description)) continue;
    if (description.rfind(required, 0) == 0) {
      missing_fields(doc, schema.doc, path, issues);
      std::string name = description.substr(required.size());
      name = name.substr(0, name.find('\''));
      issues.push_back({path, fmt::format("missing field \"{}\"", name), true});
    } else if (description.rfind(stray, 0) == 0) {
      unknown_fields(doc, schema.doc, path, issues);
    } else {
      std::string key = path_string(path);
      if (!value_errors.count(key)) value_paths.push_back(key);
      auto& entry = value_errors[key];
      entry.first = path;
      entry.second.push_back(description);
    }
  }
  for (const auto& key : value_paths) {
    const auto& [path, descriptions] = value_errors[key];
    issues.push_back({path, describe_value_error(doc, schema.doc, path, descriptions), true});
  }

  // Never let an invalid file through for want of words.
  if (issues.size() == reported) {
    issues.push_back({{}, "the file does not match the scenario schema", true});
  }
}

// ---------------------------------------------------------------------------
// Units and dates

struct Unit {
  const char* suffix;
  double multiply;
  double divide;  // kept apart so that "110ms" is exactly 110 / 1000
};

const std::vector<Unit> duration_units = {
    {"ms", 1, 1000}, {"s", 1, 1}, {"m", 60, 1}, {"h", 3600, 1}, {"d", 86400, 1}};

// SI prefixes; bits are divided by 8 into bytes.
const std::vector<Unit> bandwidth_units = {{"bps", 1, 8},    {"kbps", 1e3, 8}, {"Mbps", 1e6, 8},
                                           {"Gbps", 1e9, 8}, {"B/s", 1, 1},    {"kB/s", 1e3, 1},
                                           {"MB/s", 1e6, 1}, {"GB/s", 1e9, 1}};

const std::vector<Unit> cpu_units = {
    {"f", 1, 1}, {"kf", 1e3, 1}, {"Mf", 1e6, 1}, {"Gf", 1e9, 1}, {"Tf", 1e12, 1}};

// A number, or digits[.digits][ ]unit. Locale-free.
std::optional<double> parse_quantity(const Json& value, const std::vector<Unit>& units) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();

  std::size_t end = 0;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  if (end == 0) return std::nullopt;
  if (end < text.size() && text[end] == '.') {
    std::size_t fraction = ++end;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == fraction) return std::nullopt;
  }
  double number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, number);
  if (ec != std::errc() || ptr != text.data() + end) return std::nullopt;

  std::string suffix = text.substr(end);
  if (!suffix.empty() && suffix[0] == ' ') suffix.erase(0, 1);
  for (const auto& unit : units) {
    if (suffix == unit.suffix) return number * unit.multiply / unit.divide;
  }
  return std::nullopt;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

unsigned days_in_month(std::int64_t year, unsigned month) {
  static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

// "YYYY-MM-DDTHH:MM:SSZ" to Unix seconds, whatever the process's TZ.
std::optional<std::int64_t> parse_epoch(const std::string& text) {
  static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != sizeof(shape) - 1) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool digit = std::isdigit(static_cast<unsigned char>(text[i]));
    if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return std::nullopt;
  }
  auto field = [&text](std::size_t at, std::size_t width) {
    return static_cast<unsigned>(std::stoul(text.substr(at, width)));
  };
  std::int64_t year = field(0, 4);
  unsigned month = field(5, 2), day = field(8, 2);
  unsigned hour = field(11, 2), minute = field(14, 2), second = field(17, 2);
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

// "+05:30" to 330 minutes; "-12:00" to "+14:00".
std::optional<int> parse_utc_offset(const std::string& text) {
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') {
    return std::nullopt;
  }
  for (std::size_t i : {1, 2, 4, 5}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  }
  int hours = (text[1] - '0') * 10 + (text[2] - '0');
  int minutes = (text[4] - '0') * 10 + (text[5] - '0');
  int total = hours * 60 + minutes;
  if (minutes > 59 || (text[0] == '+' && total > 14 * 60) || (text[0] == '-' && total > 12 * 60)) {
    return std::nullopt;
  }
  return text[0] == '-' ? -total : total;
}

// ---------------------------------------------------------------------------
// Names and addresses

bool is_ldh_domain(const std::string& domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = domain.find('.', start);
    std::string label =
        domain.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

// local@domain: a dot-atom local part (RFC 5322 atext) and LDH domain labels.
bool is_address(const std::string& address) {
  std::size_t at = address.find('@');
  if (at == std::string::npos || address.find('@', at + 1) != std::string::npos) return false;
  std::string local = address.substr(0, at);
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string::npos) {
    return false;
  }
  static const std::string specials = "!#$%&'*+-/=?^_`{|}~.";
  for (char c : local) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && specials.find(c) == std::string::npos) {
      return false;
    }
  }
  return is_ldh_domain(address.substr(at + 1));
}

// The domain part in lower case (domains are case-insensitive; local parts are not).
std::string normalize_address(const std::string& address) {
  std::size_t at = address.rfind('@');
  if (at == std::string::npos) return address;
  return address.substr(0, at + 1) + lower(address.substr(at + 1));
}

// "Uday Kumar" to "uday-kumar": lower-case letters, digits and single hyphens.
std::string host_label(const std::string& name) {
  std::string label;
  for (char c : lower(name)) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep) {
      label += c;
    } else if (!label.empty() && label.back() != '-') {
      label += '-';
    }
  }
  while (!label.empty() && label.back() == '-') label.pop_back();
  return label;
}

std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
  std::uint32_t address = 0;
  std::size_t start = 0;
  for (int part = 0; part < 4; ++part) {
    std::size_t end = text.find('.', start);
    if ((part < 3) != (end != std::string::npos)) return std::nullopt;
    std::string digits = text.substr(start, end == std::string::npos ? end : end - start);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) {
      return std::nullopt;
    }
    for (char c : digits) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
    unsigned value = std::stoul(digits);
    if (value > 255) return std::nullopt;
    address = address << 8 | value;
    start = end + 1;
  }
  return address;
}

std::string ipv4_string(std::uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 255, (address >> 8) & 255,
                     address & 255);
}

// Hands out the addresses nobody wrote: a documentation /24 first (RFC 5737),
// then a private block, skipping .0, .255 and every address taken explicitly.
class AddressPool {
 public:
  AddressPool(std::uint32_t first, std::uint32_t spill_first, std::uint32_t spill_last,
              const std::set<std::uint32_t>& taken)
      : next_(first),
        block_end_(first | 0xFF),
        spill_first_(spill_first),
        spill_last_(spill_last),
        taken_(taken) {}

  std::optional<std::string> next() {
    while (true) {
      if (next_ >= block_end_) {
        if (spilled_) return std::nullopt;
        spilled_ = true;
        next_ = spill_first_;
        block_end_ = spill_last_;
      }
      std::uint32_t candidate = next_++;
      std::uint32_t last_octet = candidate & 0xFF;
      if (last_octet == 0 || last_octet == 255 || taken_.count(candidate)) continue;
      return ipv4_string(candidate);
    }
  }

 private:
  std::uint32_t next_, block_end_, spill_first_, spill_last_;
  bool spilled_ = false;
  const std::set<std::uint32_t>& taken_;
};

// FNV-1a, 64 bits, as 16 lower-case hex digits.
std::string fnv1a_64(const std::string& bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", hash);
}

// ---------------------------------------------------------------------------
// The Reader: defaults, units and the checks a schema cannot express

const Json* member(const Json* object, const char* key) {
  if (!object || !object->is_object()) return nullptr;
  auto it = object->find(key);
  return it == object->end() ? nullptr : &*it;
}

std::optional<std::string> string_member(const Json* object, const char* key) {
  const Json* value = member(object, key);
  if (value && value->is_string()) return value->get<std::string>();
  return std::nullopt;
}

// The items of a list, or none if it is not one.
std::vector<const Json*> items(const Json* list) {
  std::vector<const Json*> result;
  if (list && list->is_array()) {
    for (const auto& item : *list) result.push_back(&item);
  }
  return result;
}

class Reader {
 public:
  Reader(const Json& doc, const Json& schema, std::vector<Issue>& issues, std::string base_dir)
      : doc_(doc), schema_(schema), issues_(issues), base_dir_(std::move(base_dir)) {}

  // The bytes of every file the scenario names (attachments, preloaded messages), in the
  // order they were read, for the scenario's hash.
  const std::string& referenced_bytes() const { return referenced_bytes_; }

  Scenario read();

 private:
  void problem(const Path& path, std::string message) {
    issues_.push_back({path, std::move(message), false});
  }
  // "<value> is not <the schema's phrase for this path>"
  void not_a(const Path& path, const Json& value, const std::string& detail = "") {
    std::string phrase = expected_phrase(schema_, path).value_or("valid");
    if (!detail.empty())
      phrase = fmt::format("{} ({})", phrase.substr(0, phrase.find(" (")), detail);
    problem(path, fmt::format("{} is not {}", render(value), phrase));
  }

  std::optional<double> quantity(const Json* object, const char* key, const Path& path,
                                 const std::vector<Unit>& units, bool positive);
  Access access(const Json* object, const Path& path, Access fallback);
  bool known_place(const Json* object, const char* key, const Path& path);
  bool claim(std::map<std::string, Path>& names, const std::string& name, const Path& path,
             const char* what, const Path& report_at);
  void claim_host(const std::string& host, const Path& owner, bool written);
  void claim_address(const Json* object, const Path& owner);

  void read_header();
  void read_places();
  void add_preset_places();
  void read_links();
  void add_preset_links();
  std::string unknown_place(const std::string& name) const;
  void read_dns();
  void read_providers();
  void read_outages_and_queue(const Json* object, const Path& here, Provider& provider);
  void read_people();
  void read_keep_days(const Json* entry, const Path& at, Device& device);
  void read_save_sent(const Json* entry, const Path& at, Device& device);
  double moment_in_run(const Json* object, const Path& here);
  void read_sync(const Json* entry, const Path& at, Device& device);
  void read_act_fields(const Json* object, const Path& here, const std::string& action,
                       Step& step);
  void read_open(const Json* object, const Path& here, const std::string& action,
                 const Person* person, Step& step);
  void read_script();
  void read_mailboxes();
  void read_message_fields(const Json* object, const Path& here, const std::string& action,
                           Step& step);
  std::vector<AttachmentSpec> read_attachments(const Json* list, const Path& path);
  std::optional<std::string> read_beside(const Json* object, const Path& path);
  std::optional<std::string> read_crlf_text(const Json* object, const Path& here);
  void read_postal();
  void check_mx();
  void check_reachable();
  void assign_addresses();
  void read_tls();
  Tls tls_settings(const Json* object, const Tls& above, bool above_written) const;
  // Teaching parts (scenario_teaching.hpp), read after everything they refer to.
  void read_expect();
  void read_lesson();
  EventFilter event_filter(const Json* object, const Path& path);
  void known_host(const Json* object, const char* key, const Path& path);
  // Names in expect and lesson are checked only when the rest of the file has
  // no problem: a person renamed gives one line, not one more per expectation.
  bool check_teaching_names_ = true;

  const Json& doc_;
  const Json& schema_;
  std::vector<Issue>& issues_;
  Scenario scenario_;

  std::map<std::string, Path> place_names_;
  std::vector<std::string> place_list_;
  bool places_broken_ = false;  // "places" is there but not a list: the schema said so
  std::map<std::string, Path> hosts_;
  std::map<std::uint32_t, Path> addresses_;
  std::set<std::uint32_t> taken_;
  std::vector<std::string> hosting_places_;  // in document order, may repeat
  std::vector<Path> provider_paths_, device_paths_;
  std::vector<std::pair<std::size_t, std::size_t>> device_index_;  // person, device
  std::optional<double> end_;
  bool tls_written_ = false;  // the file has a top-level "tls"
  std::string base_dir_;  // files named in the scenario are relative to it
  std::string referenced_bytes_;
};

std::optional<double> Reader::quantity(const Json* object, const char* key, const Path& path,
                                       const std::vector<Unit>& units, bool positive) {
  const Json* value = member(object, key);
  if (!value) return std::nullopt;
  auto number = parse_quantity(*value, units);
  if (!number || *number < 0) {
    not_a(path, *value);
    return std::nullopt;
  }
  if (positive && *number <= 0) {
    not_a(path, *value, "it must be more than 0");
    return std::nullopt;
  }
  return number;
}

Access Reader::access(const Json* object, const Path& path, Access fallback) {
  Access result = fallback;
  const Json* value = member(object, "access");
  if (!value || !value->is_object()) return result;
  Path here = path / "access";
  if (auto latency = quantity(value, "latency", here / "latency", duration_units, false)) {
    result.latency_s = *latency;
  }
  if (auto bandwidth = quantity(value, "bandwidth", here / "bandwidth", bandwidth_units, true)) {
    result.bandwidth_Bps = *bandwidth;
  }
  result.source = string_member(value, "source").value_or("");
  return result;
}

bool Reader::known_place(const Json* object, const char* key, const Path& path) {
  auto name = string_member(object, key);
  if (!name) return false;
  if (place_names_.count(*name)) return true;
  if (places_broken_) return false;  // "places" itself is broken: said once, there
  problem(path, unknown_place(*name));
  return false;
}

// Records the first user of a name; any later one is a problem (and false).
bool Reader::claim(std::map<std::string, Path>& names, const std::string& name, const Path& path,
                   const char* what, const Path& report_at) {
  auto [it, fresh] = names.emplace(name, path);
  if (!fresh) {
    problem(report_at,
            fmt::format("\"{}\" is already the {} of {}", name, what, path_string(it->second)));
  }
  return fresh;
}

void Reader::claim_host(const std::string& host, const Path& owner, bool written) {
  auto [it, fresh] = hosts_.emplace(lower(host), owner);
  if (fresh) return;
  if (written) {
    problem(owner / "host",
            fmt::format("\"{}\" is already the host of {}", host, path_string(it->second)));
  } else {
    problem(owner, fmt::format("its default host \"{}\" is already the host of {}; "
                               "give one of them a \"host\"",
                               host, path_string(it->second)));
  }
}

// An explicit "address": checked, recorded, and kept out of the pools.
void Reader::claim_address(const Json* object, const Path& owner) {
  auto text = string_member(object, "address");
  if (!text) return;
  auto address = parse_ipv4(*text);
  if (!address) {
    not_a(owner / "address", *member(object, "address"));
    return;
  }
  auto [it, fresh] = addresses_.emplace(*address, owner);
  if (!fresh) {
    problem(owner / "address",
            fmt::format("\"{}\" is already the address of {}", *text, path_string(it->second)));
  }
  taken_.insert(*address);
}

void Reader::read_header() {
  const Json* root = &doc_;
  if (const Json* version = member(root, "mailsim"); version && version->is_number_integer()) {
    scenario_.version = version->get<int>();
  }
  scenario_.name = string_member(root, "name").value_or("");
  scenario_.description = string_member(root, "description").value_or("");

  if (auto epoch = string_member(root, "epoch")) {
    if (auto unix_time = parse_epoch(*epoch)) {
      scenario_.epoch_unix = *unix_time;
    } else {
      not_a({Segment{"epoch"}}, *member(root, "epoch"));
    }
  }

  end_ = quantity(root, "end", {Segment{"end"}}, duration_units, true);
  scenario_.end_s = end_.value_or(0);

  // Up to 2^63 - 1: valijson reads integers as signed 64 bits.
  const Json* seed = member(root, "seed");
  if (seed && seed->is_number_integer() && !seed->is_number_unsigned() &&
      seed->get<std::int64_t>() < 0) {
    not_a({Segment{"seed"}}, *seed);
  } else if (seed && seed->is_number_integer() &&
             seed->get<std::uint64_t>() <= std::uint64_t(INT64_MAX)) {
    scenario_.seed = seed->get<std::uint64_t>();
  } else if (seed && seed->is_number()) {
    not_a({Segment{"seed"}}, *seed);  // a fraction, or beyond 63 bits
  }
}

void Reader::read_places() {
  Path list{Segment{"places"}};
  const Json* given = member(&doc_, "places");
  places_broken_ = given && !given->is_array();
  auto places = items(member(&doc_, "places"));
  for (std::size_t i = 0; i < places.size(); ++i) {
    const Json* object = places[i];
    Path here = list / i;
    auto name = string_member(object, "name");
    if (!name) continue;
    Place place;
    place.name = *name;
    if (auto preset = string_member(object, "preset")) {
      if (const PlacePreset* known = find_place_preset(*preset)) {
        place.preset = known->name;
        place.city = known->city;
        place.latitude = known->latitude;
        place.longitude = known->longitude;
        place.utc_offset_minutes = known->utc_offset_minutes;
      } else {
        problem(here / "preset", fmt::format("\"{}\" is not a place preset ({})", *preset,
                                             place_preset_names()));
      }
    }
    place.city = string_member(object, "city").value_or(place.city);
    if (const Json* v = member(object, "latitude"); v && v->is_number()) {
      place.latitude = v->get<double>();
    }
    if (const Json* v = member(object, "longitude"); v && v->is_number()) {
      place.longitude = v->get<double>();
    }
    if (auto offset = string_member(object, "utc_offset")) {
      if (auto minutes = parse_utc_offset(*offset)) {
        place.utc_offset_minutes = *minutes;
      } else {
        not_a(here / "utc_offset", *member(object, "utc_offset"));
      }
    }
    if (!place_names_.count(*name)) place_list_.push_back(*name);
    claim(place_names_, *name, here, "name", here / "name");
    scenario_.places.push_back(place);
  }
}

void Reader::read_links() {
  Path list{Segment{"links"}};
  std::map<std::pair<std::string, std::string>, Path> pairs;
  auto links = items(member(&doc_, "links"));
  for (std::size_t i = 0; i < links.size(); ++i) {
    const Json* object = links[i];
    Path here = list / i;
    Link link;
    auto ends = items(member(object, "between"));
    bool usable = ends.size() == 2;
    for (std::size_t e = 0; e < ends.size(); ++e) {
      if (!ends[e]->is_string()) {
        usable = false;
        continue;
      }
      std::string name = ends[e]->get<std::string>();
      if (!place_names_.count(name)) {
        if (!places_broken_) problem(here / "between" / e, unknown_place(name));
        usable = false;
        continue;
      }
      (e == 0 ? link.a : link.b) = name;
    }
    if (usable && link.a == link.b) {
      problem(here / "between", fmt::format("a link joins two different places, not \"{}\" "
                                            "to itself",
                                            link.a));
      usable = false;
    }
    if (usable) {
      auto key = std::minmax(link.a, link.b);
      auto [it, fresh] = pairs.emplace(key, here);
      if (!fresh) {
        problem(here / "between", fmt::format("\"{}\" and \"{}\" are already joined by {}", link.a,
                                              link.b, path_string(it->second)));
      }
    }
    auto latency = quantity(object, "latency", here / "latency", duration_units, false);
    auto bandwidth = quantity(object, "bandwidth", here / "bandwidth", bandwidth_units, true);
    link.latency_s = latency.value_or(0);
    link.bandwidth_Bps = bandwidth.value_or(0);
    link.source = string_member(object, "source").value_or("");
    if (usable) scenario_.links.push_back(link);
  }
}

void Reader::read_dns() {
  Path here{Segment{"dns"}};
  const Json* object = member(&doc_, "dns");
  Dns& dns = scenario_.dns;
  if (!place_list_.empty()) dns.place = place_list_.front();
  if (object && known_place(object, "place", here / "place")) {
    dns.place = *string_member(object, "place");
  }
  if (!dns.place.empty()) hosting_places_.push_back(dns.place);

  auto host = string_member(object, "host");
  dns.host = lower(host.value_or(dns.host));
  claim_host(host.value_or(dns.host), here, host.has_value());

  claim_address(object, here);
  dns.address = string_member(object, "address").value_or("192.0.2.53");
  if (!member(object, "address")) {
    std::uint32_t fixed = *parse_ipv4(dns.address);
    addresses_.emplace(fixed, here);
    taken_.insert(fixed);
  }
  if (auto ttl = quantity(object, "ttl", here / "ttl", duration_units, false)) dns.ttl_s = *ttl;
}

void Reader::read_providers() {
  Path list{Segment{"providers"}};
  std::map<std::string, Path> domains;
  auto providers = items(member(&doc_, "providers"));
  for (std::size_t i = 0; i < providers.size(); ++i) {
    const Json* object = providers[i];
    Path here = list / i;
    Provider provider;
    provider.domain = lower(string_member(object, "domain").value_or(""));
    bool unique = !provider.domain.empty() &&
                  claim(domains, provider.domain, here, "domain", here / "domain");
    if (known_place(object, "place", here / "place")) {
      provider.place = *string_member(object, "place");
      hosting_places_.push_back(provider.place);
    }

    auto host = string_member(object, "host");
    if (host || !provider.domain.empty()) {
      provider.host = lower(host.value_or("mail." + provider.domain));
      // A default host repeats a repeated domain: that was said already.
      if (host || unique) claim_host(host.value_or(provider.host), here, host.has_value());
    }
    claim_address(object, here);
    provider.address = string_member(object, "address").value_or("");

    if (const Json* services = member(object, "services"); services && services->is_object()) {
      auto flag = [services](const char* key, bool& out) {
        if (const Json* v = member(services, key); v && v->is_boolean()) out = v->get<bool>();
      };
      flag("submission", provider.services.submission);
      flag("relay", provider.services.relay);
      flag("pop3", provider.services.pop3);
      flag("imap", provider.services.imap);
      flag("webmail", provider.services.webmail);
    }

    if (const Json* mx = member(object, "mx")) {
      for (const Json* record : items(mx)) {
        MxRecord entry;
        if (const Json* p = member(record, "preference"); p && p->is_number_integer()) {
          entry.preference = p->get<int>();
        }
        entry.host = lower(string_member(record, "host").value_or(""));
        provider.mx.push_back(entry);
      }
    } else {
      provider.mx.push_back(MxRecord{10, provider.host});
    }

    provider.access = access(object, here, Access{0.001, 1.25e9});
    if (auto cpu = quantity(object, "cpu", here / "cpu", cpu_units, true))
      provider.cpu_flops = *cpu;
    if (const Json* v = member(object, "pipelining"); v && v->is_boolean())
      provider.pipelining = v->get<bool>();
    if (const Json* limit = member(object, "process_limit"); limit && limit->is_number_integer())
      provider.process_limit = limit->get<int>();
    read_outages_and_queue(object, here, provider);
    provider.tls = tls_settings(member(object, "tls"), scenario_.tls, tls_written_);

    scenario_.providers.push_back(provider);
    provider_paths_.push_back(here);
  }
}

// ---------------------------------------------------------------------------
// Things going wrong: a provider's outages and its retry schedule

void Reader::read_outages_and_queue(const Json* object, const Path& here, Provider& provider) {
  auto outages = items(member(object, "down"));
  for (std::size_t i = 0; i < outages.size(); ++i) {
    Path at = here / "down" / i;
    auto from = quantity(outages[i], "from", at / "from", duration_units, false);
    auto until = quantity(outages[i], "until", at / "until", duration_units, false);
    if (!from || !until) continue;
    if (*until <= *from) {
      problem(at / "until", fmt::format("{} is not after \"from\" ({})",
                                        render(*member(outages[i], "until")),
                                        render(*member(outages[i], "from"))));
      continue;
    }
    provider.down.push_back(Outage{*from, *until});
  }
  std::stable_sort(provider.down.begin(), provider.down.end(),
                   [](const Outage& a, const Outage& b) { return a.from_s < b.from_s; });

  const Json* queue = member(object, "queue");
  Path at = here / "queue";
  QueuePolicy& policy = provider.queue;
  if (auto first = quantity(queue, "first_retry", at / "first_retry", duration_units, true))
    policy.first_retry_s = *first;
  auto longest =
      quantity(queue, "max_retry_interval", at / "max_retry_interval", duration_units, true);
  if (longest) policy.max_retry_interval_s = *longest;
  if (auto give_up = quantity(queue, "give_up", at / "give_up", duration_units, false))
    policy.give_up_s = *give_up;
  if (longest && policy.max_retry_interval_s < policy.first_retry_s) {
    std::string first = member(queue, "first_retry") ? render(*member(queue, "first_retry"))
                                                     : "300 s by default";
    problem(at / "max_retry_interval",
            fmt::format("{} is shorter than \"first_retry\" ({})",
                        render(*member(queue, "max_retry_interval")), first));
  }
}

void Reader::read_people() {
  Path list{Segment{"people"}};
  std::map<std::string, Path> names, addresses;
  std::vector<std::string> domains;
  for (const auto& provider : scenario_.providers) {
    if (!provider.domain.empty()) domains.push_back(provider.domain);
  }

  auto people = items(member(&doc_, "people"));
  for (std::size_t i = 0; i < people.size(); ++i) {
    const Json* object = people[i];
    Path here = list / i;
    Person person;
    person.name = string_member(object, "name").value_or("");
    bool unique = !person.name.empty() && claim(names, person.name, here, "name", here / "name");

    if (auto address = string_member(object, "address")) {
      person.address = normalize_address(*address);
      if (!is_address(*address)) {
        not_a(here / "address", *member(object, "address"));
      } else {
        std::string domain = person.address.substr(person.address.rfind('@') + 1);
        bool known = domains.empty() ||  // "providers" is broken: said there
                     std::find(domains.begin(), domains.end(), domain) != domains.end();
        if (!known) {
          problem(here / "address", fmt::format("\"{}\" is not at one of the providers' domains "
                                                "({})",
                                                *address, list_names(domains)));
        }
        claim(addresses, person.address, here, "address", here / "address");
      }
    }
    person.password = string_member(object, "password").value_or("");
    if (known_place(object, "place", here / "place")) {
      person.place = *string_member(object, "place");
      hosting_places_.push_back(person.place);
    }

    std::vector<const Json*> devices = items(member(object, "devices"));
    const Json fallback_device = Json{{"name", "laptop"}};
    bool defaulted = !member(object, "devices");
    if (defaulted) devices.push_back(&fallback_device);
    std::map<std::string, Path> device_names;
    for (std::size_t d = 0; d < devices.size(); ++d) {
      const Json* entry = devices[d];
      Path at = defaulted ? here : here / "devices" / d;
      Device device;
      device.name = string_member(entry, "name").value_or("");
      bool own = !device.name.empty() && claim(device_names, device.name, at, "name", at / "name");

      auto agent = string_member(entry, "agent");
      device.agent =
          agent == std::optional<std::string>("web") ? AgentKind::web : AgentKind::client;
      auto retrieval = string_member(entry, "retrieval");
      static const std::map<std::string, Retrieval> methods = {
          {"imap", Retrieval::imap},
          {"pop3-delete", Retrieval::pop3_delete},
          {"pop3-keep", Retrieval::pop3_keep},
          {"http", Retrieval::http}};
      device.retrieval = device.agent == AgentKind::web ? Retrieval::http : Retrieval::imap;
      if (retrieval && methods.count(*retrieval)) {
        device.retrieval = methods.at(*retrieval);
        if (device.agent == AgentKind::web && device.retrieval != Retrieval::http) {
          problem(at / "retrieval", fmt::format("a web agent reads mail over \"http\", not "
                                                "\"{}\"",
                                                *retrieval));
        } else if (device.agent == AgentKind::client && device.retrieval == Retrieval::http) {
          problem(at / "retrieval",
                  "\"http\" is for web agents; a client agent uses \"imap\", "
                  "\"pop3-delete\" or \"pop3-keep\"");
        }
      }

      read_keep_days(entry, at, device);
      read_save_sent(entry, at, device);
      read_sync(entry, at, device);

      auto host = string_member(entry, "host");
      std::string person_label = host_label(person.name);
      std::string device_label = host_label(device.name);
      if (person_label.empty()) person_label = fmt::format("person{}", i + 1);
      if (device_label.empty()) device_label = fmt::format("device{}", d + 1);
      device.host = lower(host.value_or(person_label + "-" + device_label));
      if (host || (unique && own)) claim_host(host.value_or(device.host), at, host.has_value());
      claim_address(entry, at);
      device.address = string_member(entry, "address").value_or("");
      device.access = access(entry, at, Access{0.005, 12.5e6});

      person.devices.push_back(device);
      device_paths_.push_back(at);
      device_index_.push_back({scenario_.people.size(), person.devices.size() - 1});
    }
    scenario_.people.push_back(person);
  }
}

// A device's "keep_days" (docs/scenario-format.md, "POP3: keep for N days"): only a client
// that downloads with POP3 and keeps the messages on the server can delete them later.
void Reader::read_keep_days(const Json* entry, const Path& at, Device& device) {
  const Json* days = member(entry, "keep_days");
  if (days == nullptr || !days->is_number()) return;  // the schema names a wrong type
  if (device.retrieval != Retrieval::pop3_keep) {
    auto retrieval = string_member(entry, "retrieval");
    problem(at / "keep_days",
            fmt::format("\"keep_days\" belongs to \"pop3-keep\" devices, not \"{}\"",
                        retrieval.value_or(device.agent == AgentKind::web ? "http" : "imap")));
    return;
  }
  device.keep_days = days->get<double>();
}

// An entry's "at" (a script step, a posted letter): 0 when missing; a problem when it falls
// after the scenario's "end".
double Reader::moment_in_run(const Json* object, const Path& here) {
  auto at = quantity(object, "at", here / "at", duration_units, false);
  if (at && end_ && *at > *end_) {
    problem(here / "at",
            fmt::format("{} is after the end of the run ({})", render(*member(object, "at")),
                        render(*member(&doc_, "end"))));
  }
  return at.value_or(0);
}

// A device's "save_sent": the copy in Sent goes by IMAP APPEND, so only a client that
// speaks IMAP can keep one (a browser's webmail and a POP3 client cannot).
void Reader::read_save_sent(const Json* entry, const Path& at, Device& device) {
  const Json* save = member(entry, "save_sent");
  if (save == nullptr || !save->is_boolean()) return;  // the schema names a wrong type
  if (save->get<bool>() && device.retrieval != Retrieval::imap) {
    problem(at / "save_sent",
            fmt::format("a copy in Sent is kept with IMAP APPEND: \"save_sent\" needs a client "
                        "device with \"retrieval\": \"imap\", not \"{}\"",
                        string_member(entry, "retrieval")
                            .value_or(device.agent == AgentKind::web ? "http" : "imap")));
    return;
  }
  device.save_sent = save->get<bool>();
}

// A device's "sync" and "idle": a view of the folders and flags on the server, kept with IMAP
// (LIST, FETCH FLAGS, IDLE); a browser shows the server's own pages and POP3 has no folders.
void Reader::read_sync(const Json* entry, const Path& at, Device& device) {
  for (const char* name : {"sync", "idle"}) {
    const Json* on = member(entry, name);
    if (on == nullptr || !on->is_boolean() || !on->get<bool>()) continue;  // the schema: type
    if (device.retrieval != Retrieval::imap) {
      problem(at / name,
              fmt::format("\"{}\" keeps a device's view with IMAP: it needs a client device "
                          "with \"retrieval\": \"imap\", not \"{}\"",
                          name,
                          string_member(entry, "retrieval")
                              .value_or(device.agent == AgentKind::web ? "http" : "imap")));
      continue;
    }
    device.sync = true;
    if (std::string(name) == "idle") device.idle = true;
  }
}

// A read or move step: the message by its subject and, for move, the folder.
void Reader::read_act_fields(const Json* object, const Path& here, const std::string& action,
                             Step& step) {
  bool act = action == "read" || action == "move";
  if (action != "move" && action != "" && member(object, "folder"))
    problem(here / "folder",
            fmt::format("\"folder\" belongs to \"move\" steps, not \"{}\"", action));
  if (!act) return;
  step.action = action == "read" ? Action::read : Action::move;
  for (const char* key : {"to", "subject", "body", "every", "cc", "bcc", "attachments"})
    if (member(object, key))
      problem(here / key, fmt::format("\"{}\" does not belong to \"{}\" steps", key, action));
  const Json* message = member(object, "message");
  if (message == nullptr)
    problem(here, "missing field \"message\"");
  else if (!message->is_string() || message->get<std::string>().empty())
    problem(here / "message",
            fmt::format("a \"{}\" step names its message by subject (a non-empty string)", action));
  else
    step.reply_subject = message->get<std::string>();
  if (action != "move") return;
  const Json* folder = member(object, "folder");
  if (folder == nullptr)
    problem(here, "missing field \"folder\"");
  else if (!folder->is_string() || folder->get<std::string>().empty() ||
           lower(folder->get<std::string>()) == "inbox")  // any case (RFC 3501 5.1)
    problem(here / "folder", "a folder name (a non-empty string other than \"INBOX\")");
  else
    step.folder = folder->get<std::string>();
}

// A check step's "open": headers first, then only these messages whole. IMAP can fetch a
// header section alone (BODY.PEEK[HEADER], RFC 3501 6.4.5); POP3 and webmail here cannot.
void Reader::read_open(const Json* object, const Path& here, const std::string& action,
                       const Person* person, Step& step) {
  const Json* open = member(object, "open");
  if (open == nullptr || !open->is_array()) return;  // the schema names a wrong type
  if (action != "check") {
    problem(here / "open", fmt::format("\"open\" belongs to \"check\" steps, not \"{}\"", action));
    return;
  }
  if (person != nullptr) {
    const Device* device = &person->devices.front();
    for (const auto& d : person->devices)
      if (d.name == string_member(object, "device").value_or(device->name)) device = &d;
    if (device->retrieval != Retrieval::imap) {
      problem(here / "open",
              fmt::format("headers first needs IMAP: {}'s {} reads mail over \"{}\"", person->name,
                          device->name,
                          device->retrieval == Retrieval::http        ? "http"
                          : device->retrieval == Retrieval::pop3_keep ? "pop3-keep"
                                                                      : "pop3-delete"));
      return;
    }
  }
  for (const auto& subject : *open)
    if (subject.is_string()) step.open.push_back(subject.get<std::string>());
}

void Reader::read_script() {
  Path list{Segment{"script"}};
  std::vector<std::string> names;
  std::map<std::string, std::size_t> by_name;  // the first of each name
  for (std::size_t i = 0; i < scenario_.people.size(); ++i) {
    const auto& name = scenario_.people[i].name;
    if (name.empty()) continue;
    names.push_back(name);
    by_name.emplace(name, i);
  }

  auto steps = items(member(&doc_, "script"));
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Json* object = steps[i];
    Path here = list / i;
    Step step;
    step.at_s = moment_in_run(object, here);

    const Person* person = nullptr;
    if (auto name = string_member(object, "person")) {
      step.person = *name;
      if (auto it = by_name.find(*name); it != by_name.end())
        person = &scenario_.people[it->second];
      if (!person && !names.empty()) {
        problem(here / "person",
                fmt::format("\"{}\" is not one of the people ({})", *name, list_names(names)));
      }
    }
    if (person && !person->devices.empty()) step.device = person->devices.front().name;
    if (auto device = string_member(object, "device"); device && person) {
      std::vector<std::string> owned;
      for (const auto& d : person->devices) owned.push_back(d.name);
      if (std::find(owned.begin(), owned.end(), *device) == owned.end()) {
        problem(here / "device", fmt::format("\"{}\" is not one of {}'s devices ({})", *device,
                                             person->name, list_names(owned)));
      }
      step.device = *device;
    }

    auto action = string_member(object, "action");
    step.action = action == std::optional<std::string>("check") ? Action::check : Action::send;
    if (action == std::optional<std::string>("reply")) step.action = Action::reply;
    read_message_fields(object, here, action.value_or(""), step);
    read_act_fields(object, here, action.value_or(""), step);
    read_open(object, here, action.value_or(""), person, step);
    if ((action == std::optional<std::string>("read") ||
         action == std::optional<std::string>("move")) &&
        person != nullptr) {
      const Device* on = &person->devices.front();
      for (const auto& d : person->devices)
        if (d.name == step.device) on = &d;
      if (on->agent == AgentKind::web)
        problem(here / "action",
                fmt::format("a webmail device cannot \"{}\" here: read and move are steps of "
                            "a client device (\"agent\": \"client\")",
                            *action));
    }
    if (action == std::optional<std::string>("send")) {
      if (member(object, "every")) {
        problem(here / "every", "\"every\" belongs to \"check\" steps, not \"send\"");
      }
      auto recipients = items(member(object, "to"));
      for (std::size_t r = 0; r < recipients.size(); ++r) {
        if (!recipients[r]->is_string()) continue;
        std::string address = recipients[r]->get<std::string>();
        if (!is_address(address)) not_a(here / "to" / r, *recipients[r]);
        step.to.push_back(normalize_address(address));
      }
      step.subject = string_member(object, "subject").value_or("");
      step.body = string_member(object, "body").value_or("");
    } else if (action == std::optional<std::string>("check")) {
      for (const char* key : {"to", "subject", "body"}) {
        if (member(object, key)) {
          problem(here / key, fmt::format("\"{}\" belongs to \"send\" steps, not \"check\"", key));
        }
      }
      if (auto every = quantity(object, "every", here / "every", duration_units, true)) {
        step.every_s = *every;
        // Each check is a simulated session: bound them, so the run ends in reasonable time.
        constexpr double max_checks = 1e6;
        if (end_ && (*end_ - step.at_s) / *every > max_checks) {
          problem(here / "every",
                  fmt::format("{} until the end of the run ({}) is more than 1,000,000 checks",
                              render(*member(object, "every")), render(*member(&doc_, "end"))));
        }
      }
    }
    scenario_.script.push_back(step);
  }
  std::stable_sort(scenario_.script.begin(), scenario_.script.end(),
                   [](const Step& a, const Step& b) { return a.at_s < b.at_s; });
}

// ---------------------------------------------------------------------------
// Messages beyond plain text: cc, bcc, attachments, replies, preloaded mailboxes

// "2MB", "512KiB" or a whole number of octets.
const std::vector<Unit> size_units = {{"B", 1, 1},           {"kB", 1e3, 1},
                                      {"MB", 1e6, 1},        {"GB", 1e9, 1},
                                      {"KiB", 1024, 1},      {"MiB", 1048576, 1},
                                      {"GiB", 1073741824, 1}};

// An attachment is built in memory several times over (message, queue, mailbox): keep it sane.
constexpr double max_attachment_size = 100e6;

// What is wrong with the line ends of a message's text, or "" when every line ends in CRLF.
// Lines count from 1 and end at LF, as an editor shows them.
std::string crlf_problem(const std::string& text) {
  if (text.empty()) return "the message is empty";
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) {
      return fmt::format("line {} has a bare CR; the text must use CRLF line ends", line);
    }
    if (text[i] != '\n') continue;
    if (i == 0 || text[i - 1] != '\r') {
      return fmt::format("line {} ends in a bare LF; the text must use CRLF line ends "
                         "(convert a file with: sed -i -e 's/\\r*$/\\r/' -e '$a\\' FILE)",
                         line);
    }
    if (i - 1 - line_start > 998) {
      return fmt::format("line {} is longer than 998 octets (RFC 5322 2.1.1)", line);
    }
    ++line;
    line_start = i + 1;
  }
  if (text.size() - line_start > 998) {
    return fmt::format("line {} is longer than 998 octets (RFC 5322 2.1.1)", line);
  }
  if (line_start != text.size()) {
    return fmt::format("line {}, the last, does not end in CRLF", line);
  }
  return "";
}

// The bytes of the file named by object's "file", relative to the scenario's directory.
std::optional<std::string> Reader::read_beside(const Json* object, const Path& path) {
  auto name = string_member(object, "file");
  if (!name) return std::nullopt;
  std::filesystem::path file(*name);
  if (file.is_relative() && !base_dir_.empty()) file = std::filesystem::path(base_dir_) / file;
  std::string error;
  std::string bytes = read_file(file.string(), error);
  if (!error.empty()) {
    problem(path / "file", fmt::format("cannot read \"{}\": {}", *name, error));
    return std::nullopt;
  }
  referenced_bytes_ += bytes;
  return bytes;
}

// A message given as "text" or "file" (one of them), checked for CRLF line ends.
std::optional<std::string> Reader::read_crlf_text(const Json* object, const Path& here) {
  bool has_text = member(object, "text") != nullptr, has_file = member(object, "file") != nullptr;
  if (has_text == has_file) {
    problem(here, has_text ? "give the message as \"text\" or as \"file\", not both"
                           : "missing field \"text\" (or \"file\")");
    return std::nullopt;
  }
  std::optional<std::string> text =
      has_text ? string_member(object, "text") : read_beside(object, here);
  if (!text) return std::nullopt;
  if (std::string why = crlf_problem(*text); !why.empty()) {
    problem(here / (has_text ? "text" : "file"), why);
    return std::nullopt;
  }
  return text;
}

std::vector<AttachmentSpec> Reader::read_attachments(const Json* list, const Path& path) {
  std::vector<AttachmentSpec> result;
  auto entries = items(list);
  for (std::size_t a = 0; a < entries.size(); ++a) {
    const Json* object = entries[a];
    Path here = path / a;
    AttachmentSpec attachment;
    attachment.name = string_member(object, "name").value_or("");
    attachment.content_type =
        string_member(object, "content_type").value_or(attachment.content_type);
    bool has_size = member(object, "size") != nullptr, has_file = member(object, "file");
    if (has_size == has_file) {
      problem(here, has_size ? "give the attachment a \"size\" or a \"file\", not both"
                             : "missing field \"size\" (or \"file\")");
    } else if (has_size) {
      if (auto size = quantity(object, "size", here / "size", size_units, false)) {
        if (*size != static_cast<double>(static_cast<std::uint64_t>(*size))) {
          not_a(here / "size", *member(object, "size"), "a whole number of octets");
        } else if (*size > max_attachment_size) {
          not_a(here / "size", *member(object, "size"), "at most 100MB");
        } else {
          attachment.size = static_cast<std::uint64_t>(*size);
        }
      }
    } else if (auto bytes = read_beside(object, here)) {
      attachment.from_file = true;
      attachment.size = bytes->size();
      attachment.content = std::move(*bytes);
    }
    result.push_back(std::move(attachment));
  }
  return result;
}

// cc, bcc, attachments and the reply's fields, and the fields that belong to other actions.
void Reader::read_message_fields(const Json* object, const Path& here, const std::string& action,
                                 Step& step) {
  if (action == "check") {
    for (const char* key : {"cc", "bcc", "attachments"}) {
      if (member(object, key)) {
        problem(here / key, fmt::format("\"{}\" belongs to \"send\" and \"reply\" steps, not "
                                        "\"check\"",
                                        key));
      }
    }
  }
  if (action != "reply" && action != "read" && action != "move" && action != "" &&
      member(object, "message")) {
    problem(here / "message",
            fmt::format("\"message\" belongs to \"reply\" steps, not \"{}\"", action));
  }
  if (action != "send" && action != "reply") return;

  for (auto [key, into] : {std::pair{"cc", &step.cc}, std::pair{"bcc", &step.bcc}}) {
    auto recipients = items(member(object, key));
    for (std::size_t r = 0; r < recipients.size(); ++r) {
      if (!recipients[r]->is_string()) continue;
      std::string address = recipients[r]->get<std::string>();
      if (!is_address(address)) not_a(here / key / r, *recipients[r]);
      into->push_back(normalize_address(address));
    }
  }
  step.attachments = read_attachments(member(object, "attachments"), here / "attachments");

  if (action != "reply") return;
  if (!member(object, "message")) problem(here, "missing field \"message\"");
  for (const char* key : {"to", "every"}) {
    if (member(object, key)) {
      problem(here / key, std::string(key) == "to"
                              ? "a reply goes to the sender of the message it answers; put "
                                "others in \"cc\""
                              : "\"every\" belongs to \"check\" steps, not \"reply\"");
    }
  }
  if (auto subject = string_member(object, "subject")) {
    step.subject = *subject;
    step.has_subject = true;
  }
  step.body = string_member(object, "body").value_or("");
  if (const Json* parent = member(object, "message")) {
    if (parent->is_string()) {
      step.reply_subject = parent->get<std::string>();
    } else if (parent->is_number_integer() && parent->get<std::int64_t>() >= 1) {
      step.reply_position = parent->get<std::size_t>();
    }
  }
}

// people[].mailbox: folders and their messages, each message's text checked for CRLF.
void Reader::read_mailboxes() {
  auto people = items(member(&doc_, "people"));
  for (std::size_t i = 0; i < people.size() && i < scenario_.people.size(); ++i) {
    Path here = Path{Segment{"people"}} / i / "mailbox";
    auto folders = items(member(member(people[i], "mailbox"), "folders"));
    std::map<std::string, Path> names;
    for (std::size_t f = 0; f < folders.size(); ++f) {
      Path at = here / "folders" / f;
      PreloadedFolder folder;
      folder.name = string_member(folders[f], "name").value_or("");
      if (folder.name.empty()) continue;
      // RFC 3501 5.1: INBOX is case-insensitive; other names are exact.
      std::string key = lower(folder.name) == "inbox" ? "INBOX" : folder.name;
      if (key == "INBOX") folder.name = "INBOX";
      claim(names, key, at, "name", at / "name");
      auto messages = items(member(folders[f], "messages"));
      for (std::size_t m = 0; m < messages.size(); ++m) {
        PreloadedMessage message;
        auto text = read_crlf_text(messages[m], at / "messages" / m);
        if (!text) continue;
        message.text = std::move(*text);
        for (const Json* flag : items(member(messages[m], "flags"))) {
          if (flag->is_string()) message.flags.push_back(flag->get<std::string>());
        }
        folder.messages.push_back(std::move(message));
      }
      scenario_.people[i].mailbox.push_back(std::move(folder));
    }
  }
}

// The postal section (docs/postal.md): letters, and changes to the default route.

void Reader::read_postal() {
  Path here{Segment{"postal"}};
  const Json* object = member(&doc_, "postal");
  if (!object || !object->is_object()) return;
  Postal& postal = scenario_.postal;
  if (const Json* v = member(object, "end_when_read"); v && v->is_boolean()) {
    postal.end_when_read = v->get<bool>();
  }

  std::vector<std::string> names;
  for (const auto& person : scenario_.people) {
    if (!person.name.empty()) names.push_back(person.name);
  }
  auto letters = items(member(object, "letters"));
  for (std::size_t i = 0; i < letters.size(); ++i) {
    const Json* entry = letters[i];
    Path at = here / "letters" / i;
    Letter letter;
    letter.at_s = moment_in_run(entry, at);
    for (const char* key : {"from", "to"}) {
      auto name = string_member(entry, key);
      if (!name) continue;
      (std::string(key) == "from" ? letter.from : letter.to) = *name;
      if (!names.empty() && std::find(names.begin(), names.end(), *name) == names.end()) {
        problem(at / key,
                fmt::format("\"{}\" is not one of the people ({})", *name, list_names(names)));
      }
    }
    if (!letter.from.empty() && letter.from == letter.to) {
      problem(at / "to", fmt::format("\"{}\" is also the sender; a letter goes to someone else",
                                     letter.to));
    }
    letter.subject = string_member(entry, "subject").value_or("");
    letter.body = string_member(entry, "body").value_or("");
    postal.letters.push_back(letter);
  }

  // A field of the wrong shape keeps its default: the schema has said why.
  const Json* route = member(object, "route");
  for (auto& stage : postal.route) {
    const Json* change = member(route, stage.key.c_str());
    if (!change || !change->is_object()) continue;
    Path at = here / "route" / stage.key;
    if (const Json* days = member(change, "days"); days && days->is_array() && !days->empty()) {
      std::array<bool, 7> chosen{};
      bool valid = true;
      for (const Json* day : items(days)) {
        auto number = day->is_string() ? post::parse_day(day->get<std::string>()) : std::nullopt;
        if (number) chosen[*number] = true;
        valid = valid && number.has_value();
      }
      if (valid) stage.schedule.days = chosen;
    }
    const Json* times = member(change, "times");
    if (times && times->is_array() && !times->empty()) {
      std::vector<int> minutes;
      bool valid = true;
      for (const Json* time : items(times)) {
        auto minute =
            time->is_string() ? post::parse_time_of_day(time->get<std::string>()) : std::nullopt;
        if (minute) minutes.push_back(*minute);
        valid = valid && minute.has_value();
      }
      std::sort(minutes.begin(), minutes.end());
      minutes.erase(std::unique(minutes.begin(), minutes.end()), minutes.end());
      if (valid) stage.schedule.minutes = minutes;
    }
    if (auto takes = quantity(change, "takes", at / "takes", duration_units, false)) {
      stage.takes_s = *takes;
    }
    if (auto vehicle = string_member(change, "vehicle")) stage.vehicle = *vehicle;
    if (const Json* km = member(change, "km"); km && km->is_number() && km->get<double>() >= 0) {
      stage.km = km->get<double>();
    }
    if (const Json* hands = member(change, "hands");
        hands && hands->is_number_integer() && hands->get<std::int64_t>() >= 0) {
      stage.hands = static_cast<int>(std::min<std::int64_t>(hands->get<std::int64_t>(), 1000000));
    }
    if (auto source = string_member(change, "source")) stage.source = *source;
  }
}

void Reader::check_mx() {
  std::vector<std::string> hosts;
  for (const auto& provider : scenario_.providers) {
    if (!provider.host.empty()) hosts.push_back(provider.host);
  }
  for (std::size_t i = 0; i < scenario_.providers.size(); ++i) {
    const auto& mx = scenario_.providers[i].mx;
    if (!member(lookup(doc_, provider_paths_[i]), "mx")) continue;
    for (std::size_t r = 0; r < mx.size(); ++r) {
      if (mx[r].host.empty()) continue;
      if (std::find(hosts.begin(), hosts.end(), mx[r].host) == hosts.end()) {
        problem(provider_paths_[i] / "mx" / r / "host",
                fmt::format("\"{}\" is not the host of any provider ({})", mx[r].host,
                            list_names(hosts)));
      }
    }
  }
}

// Every place where a host stands must reach every other through the links.
void Reader::check_reachable() {
  if (hosting_places_.empty()) return;
  std::map<std::string, std::vector<std::string>> neighbours;
  for (const auto& link : scenario_.links) {
    neighbours[link.a].push_back(link.b);
    neighbours[link.b].push_back(link.a);
  }
  std::set<std::string> hosting(hosting_places_.begin(), hosting_places_.end());
  std::string origin;
  for (const auto& name : place_list_) {
    if (hosting.count(name)) {
      origin = name;
      break;
    }
  }
  if (origin.empty()) return;

  std::set<std::string> reached = {origin};
  std::vector<std::string> frontier = {origin};
  while (!frontier.empty()) {
    std::string place = frontier.back();
    frontier.pop_back();
    for (const auto& next : neighbours[place]) {
      if (reached.insert(next).second) frontier.push_back(next);
    }
  }
  for (const auto& name : place_list_) {
    if (hosting.count(name) && !reached.count(name)) {
      problem(place_names_.at(name), fmt::format("\"{}\" cannot be reached from \"{}\" through "
                                                 "the links",
                                                 name, origin));
    }
  }
}

// ---------------------------------------------------------------------------
// TLS settings: the top-level "tls" and each provider's own

// A "tls" object turns TLS on: each field it leaves out comes from the level above when that
// level was written, else from the "on" defaults (TLS 1.3; submission on 465, RFC 8314 3.3;
// STARTTLS on 25; POP3, IMAP and webmail over implicit TLS). No object: the level above.
Tls Reader::tls_settings(const Json* object, const Tls& above, bool above_written) const {
  if (!object || !object->is_object()) return above;
  Tls tls = above;
  if (!above_written) {
    tls.version = TlsVersion::v1_3;
    tls.submission = TlsMode::implicit;
    tls.relay = TlsMode::starttls;
    tls.retrieval = TlsMode::implicit;
  }
  auto mode = [object](const char* key, TlsMode& out) {
    auto text = string_member(object, key);
    if (text == "off") out = TlsMode::off;
    if (text == "starttls") out = TlsMode::starttls;
    if (text == "implicit") out = TlsMode::implicit;
  };
  mode("submission", tls.submission);
  mode("relay", tls.relay);
  mode("retrieval", tls.retrieval);
  auto version = string_member(object, "version");
  if (version == "1.2") tls.version = TlsVersion::v1_2;
  if (version == "1.3") tls.version = TlsVersion::v1_3;
  return tls;
}

void Reader::read_tls() {
  const Json* object = member(&doc_, "tls");
  tls_written_ = object && object->is_object();
  scenario_.tls = tls_settings(object, Tls{}, false);
}

// Providers from 198.51.100.1 (then 172.16.0.0/12), devices from 203.0.113.1
// (then 10.0.0.0/8), in document order, around every address written out.
void Reader::assign_addresses() {
  AddressPool servers(*parse_ipv4("198.51.100.1"), *parse_ipv4("172.16.0.1"),
                      *parse_ipv4("172.31.255.255"), taken_);
  for (auto& provider : scenario_.providers) {
    if (provider.address.empty()) provider.address = servers.next().value_or("");
  }
  AddressPool homes(*parse_ipv4("203.0.113.1"), *parse_ipv4("10.0.0.1"),
                    *parse_ipv4("10.255.255.255"), taken_);
  for (auto [p, d] : device_index_) {
    auto& device = scenario_.people[p].devices[d];
    if (device.address.empty()) device.address = homes.next().value_or("");
  }
}

// ---------------------------------------------------------------------------
// Place presets (sim/place_presets.hpp, docs/places.md)

// "\"Brazil\" is not one of the places (Canada, India) nor a place preset (...)".
std::string Reader::unknown_place(const std::string& name) const {
  if (place_list_.empty())
    return fmt::format("\"{}\" is not a place preset ({})", name, place_preset_names());
  return fmt::format("\"{}\" is not one of the places ({}) nor a place preset ({})", name,
                     list_names(place_list_), place_preset_names());
}

// A place named where a place is expected (dns, providers, people, links),
// missing from "places" but the name of a preset, is added as that preset;
// in the order the file names them, so that the first is the DNS default.
void Reader::add_preset_places() {
  std::vector<std::pair<std::string, Path>> named;
  auto note = [&named](const Json* value, const Path& path) {
    if (value && value->is_string()) named.push_back({value->get<std::string>(), path});
  };
  for (const auto& [key, value] : doc_.items()) {
    Path top{Segment{key}};
    if (key == "dns") note(member(&value, "place"), top / "place");
    if (key != "providers" && key != "people" && key != "links") continue;
    auto list = items(&value);
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (key != "links") {
        note(member(list[i], "place"), top / i / "place");
        continue;
      }
      auto ends = items(member(list[i], "between"));
      for (std::size_t e = 0; e < ends.size(); ++e) note(ends[e], top / i / "between" / e);
    }
  }
  for (const auto& [name, path] : named) {
    const PlacePreset* preset = find_place_preset(name);
    if (!preset || place_names_.count(name)) continue;
    scenario_.places.push_back(
        {preset->name, preset->city, preset->latitude, preset->longitude,
         preset->utc_offset_minutes, preset->name});
    place_names_.emplace(name, path);
    place_list_.push_back(name);
  }
}

// Every two places with presets get the preset link between them, unless the
// file joins them itself: a link written out always wins.
void Reader::add_preset_links() {
  std::set<std::pair<std::string, std::string>> joined;
  for (const auto& link : scenario_.links) joined.insert(std::minmax(link.a, link.b));
  std::vector<Place> preset_places;
  for (const auto& place : scenario_.places) {
    if (!place.preset.empty()) preset_places.push_back(place);
  }
  for (std::size_t i = 0; i < preset_places.size(); ++i) {
    for (std::size_t j = i + 1; j < preset_places.size(); ++j) {
      const Place& a = preset_places[i];
      const Place& b = preset_places[j];
      if (a.name == b.name || joined.count(std::minmax(a.name, b.name))) continue;
      const PlacePreset& pa = *find_place_preset(a.preset);
      const PlacePreset& pb = *find_place_preset(b.preset);
      Link link;
      link.a = a.name;
      link.b = b.name;
      link.latency_s = preset_latency_s(pa, pb);
      link.bandwidth_Bps = kPresetLinkBandwidthBps;
      link.source = fmt::format("place presets {}-{}: {:.0f} km great circle, docs/places.md",
                                pa.name, pb.name, great_circle_km(pa, pb));
      link.from_presets = true;
      scenario_.links.push_back(link);
    }
  }
}

// ---------------------------------------------------------------------------
// Teaching parts: the expect block and the lesson (scenario_teaching.hpp)

// Each kind of check, the key that names it, and the other fields it takes.
struct CheckKind {
  ExpectKind kind;
  const char* key;
  std::vector<std::string> fields;
};

const std::vector<CheckKind>& check_kinds() {
  static const std::vector<CheckKind> kinds = {
      {ExpectKind::mailbox, "mailbox", {"folder", "from", "subject", "header", "messages", "seen"}},
      {ExpectKind::device, "device", {"person", "folder", "from", "subject", "messages", "seen"}},
      {ExpectKind::latency, "latency", {"from", "to", "subject", "under", "over", "round_trips"}},
      {ExpectKind::bytes, "bytes", {"under", "over", "equals"}},
      {ExpectKind::role, "role", {"protocol", "host", "peer", "line", "connections"}},
      {ExpectKind::trace, "trace", {"host", "peer", "line", "lines", "since", "under", "over"}},
  };
  return kinds;
}

std::optional<long> count_member(const Json* object, const char* key) {
  const Json* value = member(object, key);
  if (value && value->is_number_integer() && value->get<std::int64_t>() >= 0)
    return static_cast<long>(value->get<std::int64_t>());
  return std::nullopt;
}

void Reader::known_host(const Json* object, const char* key, const Path& path) {
  auto host = string_member(object, key);
  if (!check_teaching_names_ || !host || hosts_.count(lower(*host))) return;
  std::vector<std::string> names;
  for (const auto& [name, unused] : hosts_) names.push_back(name);
  problem(path, fmt::format("\"{}\" is not one of the hosts ({})", *host, list_names(names)));
}

EventFilter Reader::event_filter(const Json* object, const Path& path) {
  EventFilter filter;
  filter.protocol = string_member(object, "protocol").value_or("");
  filter.role = string_member(object, "role").value_or("");
  filter.host = lower(string_member(object, "host").value_or(""));
  filter.peer = lower(string_member(object, "peer").value_or(""));
  filter.line = string_member(object, "line").value_or("");
  known_host(object, "host", path / "host");
  known_host(object, "peer", path / "peer");
  return filter;
}

void Reader::read_expect() {
  Path list{Segment{"expect"}};
  std::vector<std::string> addresses;
  for (const auto& person : scenario_.people) addresses.push_back(person.address);

  auto entries = items(member(&doc_, "expect"));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Json* object = entries[i];
    Path here = list / i;
    if (!object->is_object()) continue;  // the schema said so

    std::vector<const CheckKind*> named;
    for (const auto& kind : check_kinds()) {
      if (member(object, kind.key)) named.push_back(&kind);
    }
    if (named.empty()) {
      problem(here, "say what to check: one of \"mailbox\", \"device\", \"latency\", \"bytes\", "
                    "\"role\", \"trace\"");
      continue;
    }
    if (named.size() > 1) {
      problem(here, fmt::format("check one thing per entry, not both \"{}\" and \"{}\"",
                                named[0]->key, named[1]->key));
      continue;
    }
    const CheckKind& kind = *named.front();
    for (const auto& field : object->items()) {
      if (field.key() == kind.key) continue;
      if (std::find(kind.fields.begin(), kind.fields.end(), field.key()) != kind.fields.end())
        continue;
      std::string fields;
      for (const auto& name : kind.fields) fields += (fields.empty() ? "" : ", ") + name;
      problem(here / field.key(), fmt::format("\"{}\" does not apply to a \"{}\" check (its "
                                              "fields: {})",
                                              field.key(), kind.key, fields));
    }

    Expectation e;
    e.kind = kind.kind;
    e.path = path_string(here);
    e.from = normalize_address(string_member(object, "from").value_or(""));
    e.to = normalize_address(string_member(object, "to").value_or(""));
    e.subject = string_member(object, "subject").value_or("");
    e.messages = count_member(object, "messages");
    e.seen = count_member(object, "seen");
    bool is_latency = kind.kind == ExpectKind::latency || kind.kind == ExpectKind::trace;
    bool has_bounds = is_latency || kind.kind == ExpectKind::bytes;
    for (auto [key, bound] : {std::pair{"under", &e.under}, {"over", &e.over}}) {
      const Json* value = member(object, key);
      if (!value || !has_bounds) continue;
      if (is_latency) {
        *bound = quantity(object, key, here / key, duration_units, false);
      } else if (value->is_number()) {
        *bound = value->get<double>();
      } else {
        problem(here / key, fmt::format("{} is not a number of bytes", render(*value)));
      }
    }
    if (const Json* value = member(object, "equals"); value && value->is_number())
      e.equals = value->get<double>();

    switch (kind.kind) {
      case ExpectKind::mailbox: {
        e.mailbox = normalize_address(string_member(object, "mailbox").value_or(""));
        e.folder = inbox_spelled(string_member(object, "folder").value_or("INBOX"));
        e.header = string_member(object, "header").value_or("");
        bool known = std::find(addresses.begin(), addresses.end(), e.mailbox) != addresses.end();
        if (check_teaching_names_ && !e.mailbox.empty() && !known) {
          problem(here / "mailbox", fmt::format("\"{}\" is not the address of one of the people "
                                                "({})",
                                                e.mailbox, list_names(addresses)));
        }
        if (!e.messages && !e.seen)
          problem(here, "a \"mailbox\" check needs \"messages\" or \"seen\"");
        break;
      }
      case ExpectKind::device: {
        e.device = string_member(object, "device").value_or("");
        e.person = string_member(object, "person").value_or("");
        if (!member(object, "person")) problem(here, "a \"device\" check needs \"person\"");
        // With "folder": the device's own view of that folder (docs/scenario-format.md).
        e.folder = inbox_spelled(string_member(object, "folder").value_or(""));
        if (e.folder.empty() && member(object, "seen"))
          problem(here / "seen", "\"seen\" in a \"device\" check needs a \"folder\"");
        if (!member(object, "messages") && !(member(object, "folder") && member(object, "seen")))
          problem(here, "a \"device\" check needs \"messages\" (or, with \"folder\", "
                        "\"seen\")");
        const Person* owner = nullptr;
        std::vector<std::string> names;
        for (const auto& person : scenario_.people) {
          names.push_back(person.name);
          if (person.name == e.person) owner = &person;
        }
        if (check_teaching_names_ && !e.person.empty() && !owner) {
          problem(here / "person", fmt::format("\"{}\" is not one of the people ({})", e.person,
                                               list_names(names)));
        } else if (check_teaching_names_ && owner && !e.device.empty()) {
          std::vector<std::string> owned;
          for (const auto& d : owner->devices) owned.push_back(d.name);
          if (std::find(owned.begin(), owned.end(), e.device) == owned.end()) {
            problem(here / "device", fmt::format("\"{}\" is not one of {}'s devices ({})",
                                                 e.device, owner->name, list_names(owned)));
          }
        }
        break;
      }
      case ExpectKind::latency: {
        e.span = string_member(object, "latency").value_or("");
        if (const Json* value = member(object, "round_trips"); value && value->is_number_integer())
          e.round_trips = value->get<int>();
        if (!e.under && !e.over && !member(object, "round_trips") && !member(object, "under") &&
            !member(object, "over")) {
          problem(here, "a \"latency\" check needs \"under\", \"over\" or \"round_trips\"");
        }
        const LatencySpan* span = nullptr;
        std::string counted;
        for (const auto& s : kLatencySpans) {
          if (e.span == s.name) span = &s;
          if (s.has_round_trips) counted += std::string(counted.empty() ? "" : ", ") + s.name;
        }
        if (span && !span->has_round_trips && member(object, "round_trips")) {
          problem(here / "round_trips", fmt::format("the \"{}\" span counts no round trips (these "
                                                    "do: {})",
                                                    e.span, counted));
        }
        break;
      }
      case ExpectKind::bytes:
        e.protocol = string_member(object, "bytes").value_or("");
        if (!member(object, "under") && !member(object, "over") && !member(object, "equals"))
          problem(here, "a \"bytes\" check needs \"under\", \"over\" or \"equals\"");
        break;
      case ExpectKind::role:
        e.filter = event_filter(object, here);
        e.connections = count_member(object, "connections");
        break;
      case ExpectKind::trace:
        e.filter = event_filter(object, here);
        e.filter.protocol = string_member(object, "trace").value_or("");
        e.lines = count_member(object, "lines");
        e.since = string_member(object, "since").value_or("");
        if (!e.since.empty() && !member(object, "under") && !member(object, "over"))
          problem(here / "since", "\"since\" needs \"under\" or \"over\" (how long after it)");
        break;
    }
    scenario_.expect.push_back(e);
  }
}

void Reader::read_lesson() {
  Path here{Segment{"lesson"}};
  const Json* object = member(&doc_, "lesson");
  if (!object || !object->is_object()) return;
  Lesson& lesson = scenario_.lesson;
  lesson.idea = string_member(object, "idea").value_or("");
  lesson.text = string_member(object, "text").value_or("");
  auto points = items(member(object, "points"));
  for (std::size_t i = 0; i < points.size(); ++i) {
    LessonPoint point;
    point.see = string_member(points[i], "see").value_or("");
    point.filter = event_filter(points[i], here / "points" / i);
    lesson.points.push_back(point);
  }
}

Scenario Reader::read() {
  read_header();
  read_places();
  add_preset_places();
  read_links();
  add_preset_links();
  read_dns();
  read_tls();
  read_providers();
  read_people();
  read_mailboxes();
  read_script();
  read_postal();
  check_mx();
  check_reachable();
  assign_addresses();
  check_teaching_names_ = std::none_of(issues_.begin(), issues_.end(), [](const Issue& issue) {
    return issue.path.empty() ||
           (issue.path[0].key != "expect" && issue.path[0].key != "lesson");
  });
  read_expect();
  read_lesson();
  return scenario_;
}

// "line 3, column 5" of a 1-based byte offset, counting UTF-8 characters.
std::string line_column(const std::string& text, std::size_t byte) {
  std::size_t end = std::min(byte == 0 ? 0 : byte - 1, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return fmt::format("line {}, column {}", line, column);
}

// The 1-based offset of the bracket that opens level limit + 1 outside strings, or 0.
std::size_t too_deep_at(const std::string& text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i + 1;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return 0;
}

// nlohmann's reason without its prefix and its echo of raw input.
std::string parse_reason(const std::string& what) {
  std::string reason = what;
  auto colon = reason.find(": ");
  if (reason.rfind("[json.exception", 0) == 0 && colon != std::string::npos) {
    reason = reason.substr(colon + 2);
  }
  for (const char* prefix : {"syntax error while parsing "}) {
    if (reason.rfind(prefix, 0) == 0) {
      reason = reason.substr(std::strlen(prefix));
      auto dash = reason.find(" - ");
      if (dash != std::string::npos) reason = reason.substr(dash + 3);
    }
  }
  auto echo = reason.find("; last read: ");
  if (echo != std::string::npos) {
    auto rest = reason.find("; expected", echo);
    reason = reason.substr(0, echo) + (rest == std::string::npos ? "" : reason.substr(rest));
  }
  return reason;
}

}  // namespace

// ---------------------------------------------------------------------------

namespace {
std::string join_problems(const std::vector<Problem>& problems) {
  std::string text;
  for (const auto& problem : problems) {
    if (!text.empty()) text += '\n';
    text += problem.to_string();
  }
  return text;
}
}  // namespace

ScenarioError::ScenarioError(std::string file, std::vector<Problem> problems)
    : std::runtime_error(join_problems(problems)),
      file_(std::move(file)),
      problems_(std::move(problems)) {}

Scenario parse_scenario(const std::string& text, const std::string& origin) {
  const SchemaFile& schema = schema_file(origin);

  // A scenario nests a few levels; far deeper input would overflow the stack when printed.
  constexpr int max_depth = 64;
  if (std::size_t at = too_deep_at(text, max_depth))
    throw ScenarioError(
        origin, {Problem{"", fmt::format("{}: this nests arrays and objects more than {} deep",
                                         line_column(text, at), max_depth)}});
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw ScenarioError(
        origin, {Problem{"", fmt::format("{}: this is not valid JSON ({})",
                                         line_column(text, e.byte), parse_reason(e.what()))}});
  }

  std::vector<Issue> issues;
  check_schema(doc, schema, issues);
  Reader reader(doc, schema.doc, issues, std::filesystem::path(origin).parent_path().string());
  Scenario scenario = reader.read();
  if (!issues.empty()) throw ScenarioError(origin, finish(&doc, std::move(issues)));

  scenario.hash = fnv1a_64(text + reader.referenced_bytes());
  return scenario;
}

Scenario load_scenario(const std::string& path) {
  std::string error;
  std::string text = read_file(path, error);
  if (!error.empty()) {
    throw ScenarioError(path, {Problem{"", fmt::format("cannot read the file: {}", error)}});
  }
  return parse_scenario(text, path);
}

}  // namespace mailsim::scenario

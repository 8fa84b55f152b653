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
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) {
    error = std::strerror(errno);
    return {};
  }
  return bytes.str();
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
  Reader(const Json& doc, const Json& schema, std::vector<Issue>& issues)
      : doc_(doc), schema_(schema), issues_(issues) {}

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
  void read_links();
  void read_dns();
  void read_providers();
  void read_people();
  void read_script();
  void read_postal();
  void check_mx();
  void check_reachable();
  void assign_addresses();

  const Json& doc_;
  const Json& schema_;
  std::vector<Issue>& issues_;
  Scenario scenario_;

  std::map<std::string, Path> place_names_;
  std::vector<std::string> place_list_;
  std::map<std::string, Path> hosts_;
  std::map<std::uint32_t, Path> addresses_;
  std::set<std::uint32_t> taken_;
  std::vector<std::string> hosting_places_;  // in document order, may repeat
  std::vector<Path> provider_paths_, device_paths_;
  std::vector<std::pair<std::size_t, std::size_t>> device_index_;  // person, device
  std::optional<double> end_;
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
  if (place_list_.empty()) return false;  // "places" itself is broken: said once, there
  problem(path,
          fmt::format("\"{}\" is not one of the places ({})", *name, list_names(place_list_)));
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
  auto places = items(member(&doc_, "places"));
  for (std::size_t i = 0; i < places.size(); ++i) {
    const Json* object = places[i];
    Path here = list / i;
    auto name = string_member(object, "name");
    if (!name) continue;
    Place place;
    place.name = *name;
    place.city = string_member(object, "city").value_or("");
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
        if (place_list_.empty()) {
          usable = false;
          continue;
        }
        problem(here / "between" / e,
                fmt::format("\"{}\" is not one of the places ({})", name, list_names(place_list_)));
        usable = false;
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

    scenario_.providers.push_back(provider);
    provider_paths_.push_back(here);
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
    auto at = quantity(object, "at", here / "at", duration_units, false);
    step.at_s = at.value_or(0);
    if (at && end_ && *at > *end_) {
      problem(here / "at",
              fmt::format("{} is after the end of the run ({})", render(*member(object, "at")),
                          render(*member(&doc_, "end"))));
    }

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
      }
    }
    scenario_.script.push_back(step);
  }
  std::stable_sort(scenario_.script.begin(), scenario_.script.end(),
                   [](const Step& a, const Step& b) { return a.at_s < b.at_s; });
}

// ---------------------------------------------------------------------------
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
    auto when = quantity(entry, "at", at / "at", duration_units, false);
    letter.at_s = when.value_or(0);
    if (when && end_ && *when > *end_) {
      problem(at / "at",
              fmt::format("{} is after the end of the run ({})", render(*member(entry, "at")),
                          render(*member(&doc_, "end"))));
    }
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

Scenario Reader::read() {
  read_header();
  read_places();
  read_links();
  read_dns();
  read_providers();
  read_people();
  read_script();
  read_postal();
  check_mx();
  check_reachable();
  assign_addresses();
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
  Scenario scenario = Reader(doc, schema.doc, issues).read();
  if (!issues.empty()) throw ScenarioError(origin, finish(&doc, std::move(issues)));

  scenario.hash = fnv1a_64(text);
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

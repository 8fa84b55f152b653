// The postal route's calendar arithmetic (models/post_route.hpp) and the scenario's postal
// section. The figures are the default route's, documented with their sources and
// assumptions in docs/postal.md: collections on weekdays at 17:00 Toronto time (assumption,
// within Canada Post's rule that mail posted after the last collection counts from the next
// business day), Air Canada's Toronto-Mumbai departures at 21:35 on Mon, Tue, Thu and Sat
// (2017 timetable), deliveries Monday to Saturday at 10:00 Mumbai time (Indian Express).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/post_route.hpp"
#include "sim/scenario.hpp"

using namespace mailsim;

namespace {

// 2026-12-04T14:00:00Z, a Friday: 09:00 in Toronto (-05:00), 19:30 in Mumbai (+05:30).
constexpr std::int64_t kEpoch = 1796392800;
constexpr int kToronto = -300;
constexpr int kMumbai = 330;
constexpr double kHour = 3600, kDay = 86400;

const post::Stage& stage(const std::string& key) {
  static const auto route = post::default_route();
  for (const auto& s : route)
    if (s.key == key) return s;
  FAIL("no stage " << key);
  return route.front();
}

double next(const std::string& key, double t) {
  const auto& s = stage(key);
  auto start = post::next_departure(s.schedule, t, kEpoch, s.at_recipient ? kMumbai : kToronto);
  REQUIRE(start.has_value());
  return *start;
}

}  // namespace

TEST_CASE("The epoch of the tests is Friday 4 December 2026, 09:00 in Toronto", "[post]") {
  CHECK(post::local_time_text(0, kEpoch, kToronto) == "Fri 4 Dec 09:00");
  CHECK(post::local_time_text(0, kEpoch, kMumbai) == "Fri 4 Dec 19:30");
  CHECK(post::local_time_rfc3339(0, kEpoch, kToronto) == "2026-12-04T09:00:00-05:00");
  CHECK(post::local_time_rfc3339(0, kEpoch, kMumbai) == "2026-12-04T19:30:00+05:30");
  CHECK(post::weekday(post::local_day(0, kEpoch, kToronto)) == 5);
}

TEST_CASE("The next collection after a time: weekdays at 17:00 local", "[post]") {
  CHECK(next("collection", 0) == 8 * kHour);                         // Fri 09:00 -> Fri 17:00
  CHECK(next("collection", 8 * kHour) == 8 * kHour);                 // exactly at 17:00: still made
  CHECK(next("collection", 8 * kHour + 1) == 3 * kDay + 8 * kHour);  // Fri 17:00:01 -> Mon 17:00
  CHECK(next("collection", 1 * kDay) == 3 * kDay + 8 * kHour);       // Saturday -> Monday
  CHECK(next("collection", 3 * kDay) == 3 * kDay + 8 * kHour);       // Monday 09:00 -> Monday 17:00
  CHECK(next("collection", 0.137) == 8 * kHour);  // fractions of a second are fine
}

TEST_CASE("The next flight: Mon, Tue, Thu and Sat at 21:35 Toronto time", "[post]") {
  double friday_2135 = 12 * kHour + 35 * 60;
  CHECK(next("flight", 0) == kDay + friday_2135);  // Fri morning -> Sat 21:35
  CHECK(next("flight", kDay + friday_2135) == kDay + friday_2135);
  CHECK(next("flight", kDay + friday_2135 + 60) == 3 * kDay + friday_2135);      // -> Mon
  CHECK(next("flight", 3 * kDay + friday_2135 + 60) == 4 * kDay + friday_2135);  // -> Tue
  CHECK(next("flight", 4 * kDay + friday_2135 + 60) == 6 * kDay + friday_2135);  // -> Thu
  CHECK(post::local_time_text(next("flight", 4 * kDay), kEpoch, kToronto) == "Tue 8 Dec 21:35");
  // 14 h 25 min later it is 22:30 in Mumbai (Toronto -05:00, Mumbai +05:30).
  CHECK(post::local_time_text(4 * kDay + friday_2135 + stage("flight").takes_s, kEpoch, kMumbai) ==
        "Wed 9 Dec 22:30");
}

TEST_CASE("No delivery round on Sunday in Mumbai; a half-hour offset is kept", "[post]") {
  // Sun 13 Dec 09:30 Mumbai is 4 h 00 min UTC on Sunday: 8 d 14 h after the epoch.
  double sunday_0930 = 8 * kDay + 14 * kHour;
  CHECK(post::local_time_text(sunday_0930, kEpoch, kMumbai) == "Sun 13 Dec 09:30");
  double monday_1000 = next("delivery", sunday_0930);
  CHECK(post::local_time_text(monday_1000, kEpoch, kMumbai) == "Mon 14 Dec 10:00");
  CHECK(monday_1000 - sunday_0930 == kDay + 30 * 60);
}

TEST_CASE("An empty schedule never starts; several times a day take the first due", "[post]") {
  post::WeeklySchedule none;
  none.days.fill(true);
  CHECK_FALSE(post::next_departure(none, 0, kEpoch, 0).has_value());
  post::WeeklySchedule no_days;
  no_days.minutes = {600};
  CHECK_FALSE(post::next_departure(no_days, 0, kEpoch, 0).has_value());

  post::WeeklySchedule twice;
  twice.days.fill(true);
  twice.minutes = {16 * 60, 12 * 60};  // Patna's boxes are cleared at 12:00 and 16:00
  // Epoch 14:00 UTC: the 16:00 clearance, 2 h later, then 12:00 the next day.
  CHECK(*post::next_departure(twice, 0, kEpoch, 0) == 2 * kHour);
  CHECK(*post::next_departure(twice, 2 * kHour + 1, kEpoch, 0) == 22 * kHour);
}

TEST_CASE("The default route takes the letter from Fri 4 Dec to Mon 14 Dec", "[post]") {
  double t = 0;
  for (const auto& s : post::default_route()) {
    t = *post::next_departure(s.schedule, t, kEpoch, s.at_recipient ? kMumbai : kToronto);
    t += s.takes_s;
  }
  CHECK(t == 9 * kDay + 23 * kHour + 5 * 60);
  CHECK(post::local_time_text(t, kEpoch, kMumbai) == "Mon 14 Dec 18:35");
  // Canada Post counts business days after the day of deposit: Mon 7 to Fri 11, Mon 14.
  CHECK(post::business_days_between(post::local_day(0, kEpoch, kToronto),
                                    post::local_day(t, kEpoch, kMumbai)) == 6);
}

TEST_CASE("Days and times of day parse strictly", "[post]") {
  CHECK(post::parse_day("Mon") == 1);
  CHECK(post::parse_day("Sun") == 0);
  CHECK_FALSE(post::parse_day("mon").has_value());
  CHECK(post::parse_time_of_day("17:00") == 1020);
  CHECK(post::parse_time_of_day("00:00") == 0);
  CHECK(post::parse_time_of_day("23:59") == 1439);
  CHECK_FALSE(post::parse_time_of_day("24:00").has_value());
  CHECK_FALSE(post::parse_time_of_day("7:00").has_value());
  CHECK_FALSE(post::parse_time_of_day("12:60").has_value());
}

TEST_CASE("Spans and elapsed times read as days, hours and minutes", "[post]") {
  CHECK(post::span_text(45) == "45 s");
  CHECK(post::span_text(300) == "5 min");
  CHECK(post::span_text(8 * kHour) == "8 h 00 min");
  CHECK(post::span_text(2 * kDay + 11 * kHour) == "2 d 11 h 00 min");
  CHECK(post::elapsed_text(0.137) == "+0d 00:00:00");
  CHECK(post::elapsed_text(9 * kDay + 23 * kHour + 5 * 60) == "+9d 23:05:00");
}

// ---------------------------------------------------------------------------
// The scenario's postal section

namespace {

using Json = nlohmann::ordered_json;

Json letter_vs_email() {
  std::ifstream in(std::string(MAILSIM_SOURCE_DIR) + "/scenarios/letter-vs-email.json");
  std::ostringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

std::vector<std::string> problems_in(const Json& doc) {
  try {
    scenario::parse_scenario(doc.dump(2), "test.json");
  } catch (const scenario::ScenarioError& e) {
    std::vector<std::string> lines;
    for (const auto& p : e.problems()) lines.push_back(p.to_string());
    return lines;
  }
  return {};
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("The letter-vs-email scenario posts one letter on the default route", "[post]") {
  auto s = scenario::parse_scenario(letter_vs_email().dump(), "letter-vs-email.json");
  REQUIRE(s.postal.letters.size() == 1);
  CHECK(s.postal.letters[0].from == "Rav");
  CHECK(s.postal.letters[0].to == "Uday");
  CHECK(s.postal.letters[0].subject == s.script[0].subject);
  CHECK(s.postal.letters[0].body == s.script[0].body);
  CHECK(s.postal.end_when_read);
  REQUIRE(s.postal.route.size() == 6);
  CHECK(s.postal.route[2].key == "flight");
  CHECK(s.postal.route[2].takes_s == 14 * kHour + 25 * 60);
}

TEST_CASE("A scenario without a postal section posts nothing", "[post]") {
  auto doc = letter_vs_email();
  doc.erase("postal");
  auto s = scenario::parse_scenario(doc.dump(), "t.json");
  CHECK(s.postal.letters.empty());
}

TEST_CASE("A route stage can be changed field by field", "[post]") {
  auto doc = letter_vs_email();
  doc["postal"]["route"]["flight"] = {
      {"days", {"Wed", "Sun"}}, {"times", {"23:10", "08:05"}}, {"takes", "16h"}, {"km", 13000}};
  doc["postal"]["end_when_read"] = false;
  auto s = scenario::parse_scenario(doc.dump(), "t.json");
  const auto& flight = s.postal.route[2];
  CHECK(flight.schedule.days == std::array<bool, 7>{true, false, false, true, false, false, false});
  CHECK(flight.schedule.minutes == std::vector<int>{8 * 60 + 5, 23 * 60 + 10});
  CHECK(flight.takes_s == 16 * kHour);
  CHECK(flight.km == 13000);
  CHECK(flight.vehicle == "aircraft");  // kept
  CHECK(flight.hands == 2);             // kept
  CHECK_FALSE(s.postal.end_when_read);
}

TEST_CASE("Postal problems name the JSON path and what is wrong", "[post]") {
  auto change = [](auto edit) {
    auto doc = letter_vs_email();
    edit(doc);
    return problems_in(doc);
  };
  CHECK(change([](Json& d) { d["postal"]["letters"][0]["to"] = "Udya"; }) ==
        Lines{"postal.letters[0].to: \"Udya\" is not one of the people (Rav, Uday)"});
  CHECK(change([](Json& d) { d["postal"]["letters"][0]["to"] = "Rav"; }) ==
        Lines{"postal.letters[0].to: \"Rav\" is also the sender; a letter goes to someone else"});
  CHECK(change([](Json& d) { d["postal"]["letters"][0]["at"] = "31d"; }) ==
        Lines{"postal.letters[0].at: \"31d\" is after the end of the run (\"30d\")"});
  CHECK(change([](Json& d) { d["postal"]["letters"][0].erase("from"); }) ==
        Lines{"postal.letters[0]: missing field \"from\""});
  CHECK(change([](Json& d) {
          d["postal"]["route"]["flight"]["times"] = {"21:35", "25:00"};
        }) == Lines{"postal.route.flight.times[1]: \"25:00\" is not a time of day (\"HH:MM\", like "
                    "\"17:00\")"});
  CHECK(change([](Json& d) { d["postal"]["route"]["flight"]["days"] = {"Fry"}; }) ==
        Lines{"postal.route.flight.days[0]: \"Fry\" is not one of \"Mon\", \"Tue\", \"Wed\", "
              "\"Thu\", \"Fri\", \"Sat\", \"Sun\""});
  CHECK(change([](Json& d) { d["postal"]["route"]["flight"]["days"] = Json::array(); }) ==
        Lines{"postal.route.flight.days: [] is not a list of days of the week (at least one, "
              "like [\"Mon\", \"Fri\"])"});
  CHECK(change([](Json& d) { d["postal"]["route"]["flights"] = Json::object(); }) ==
        Lines{"postal.route.flights: unknown field (did you mean \"flight\"?)"});
  CHECK(change([](Json& d) { d["postal"]["route"]["delivery"]["hands"] = -1; }) ==
        Lines{"postal.route.delivery.hands: -1 is not a number of hands (a whole number, 0 or "
              "more)"});
}

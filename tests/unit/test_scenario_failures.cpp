// Scenario settings for things going wrong: a server's outages ("down"), its
// retry schedule ("queue"), a domain without MX records; and the exact
// problem line for each bad value.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/scenario.hpp"

using namespace mailsim::scenario;

namespace {

using Json = nlohmann::ordered_json;
using Lines = std::vector<std::string>;

Json scenario_file(const std::string& name) {
  std::ifstream in(std::string(MAILSIM_SOURCE_DIR) + "/scenarios/" + name, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return Json::parse(bytes.str());
}

Lines problems_after(const std::function<void(Json&)>& change) {
  Json doc = scenario_file("rav-canada-to-uday-india.json");
  change(doc);
  try {
    parse_scenario(doc.dump(2), "test.json");
  } catch (const ScenarioError& e) {
    Lines lines;
    for (const auto& problem : e.problems()) lines.push_back(problem.to_string());
    return lines;
  }
  return {};
}

}  // namespace

TEST_CASE("Outages and queue settings load in seconds, with Postfix's defaults", "[scenario]") {
  auto flagship = load_scenario(std::string(MAILSIM_SOURCE_DIR) +
                                "/scenarios/rav-canada-to-uday-india.json");
  const auto& cms = flagship.providers[0];
  CHECK(cms.down.empty());
  CHECK(cms.queue.first_retry_s == 300);
  CHECK(cms.queue.max_retry_interval_s == 4000);
  CHECK(cms.queue.give_up_s == 5 * 86400);

  auto gives_up = load_scenario(std::string(MAILSIM_SOURCE_DIR) +
                                "/scenarios/server-down-gives-up.json");
  CHECK(gives_up.providers[0].queue.first_retry_s == 300);
  CHECK(gives_up.providers[0].queue.max_retry_interval_s == 3600);
  CHECK(gives_up.providers[0].queue.give_up_s == 1800);
  REQUIRE(gives_up.providers[1].down.size() == 1);
  CHECK(gives_up.providers[1].down[0].from_s == 0);
  CHECK(gives_up.providers[1].down[0].until_s == 3 * 3600);
}

TEST_CASE("Outages are kept in time order", "[scenario]") {
  Json doc = scenario_file("rav-canada-to-uday-india.json");
  doc["providers"][1]["down"] = Json::array({{{"from", "1h"}, {"until", "2h"}},
                                             {{"from", 0}, {"until", "90s"}}});
  auto s = parse_scenario(doc.dump(), "test.json");
  REQUIRE(s.providers[1].down.size() == 2);
  CHECK(s.providers[1].down[0].from_s == 0);
  CHECK(s.providers[1].down[0].until_s == 90);
  CHECK(s.providers[1].down[1].from_s == 3600);
}

TEST_CASE("An empty MX list is a domain without MX records", "[scenario]") {
  auto s = load_scenario(std::string(MAILSIM_SOURCE_DIR) + "/scenarios/no-mx-a-fallback.json");
  CHECK(s.providers[1].domain == "ums.com");
  CHECK(s.providers[1].mx.empty());
  CHECK(s.providers[0].mx.size() == 1);  // the default stays one record
}

TEST_CASE("A backup MX may be another provider's host", "[scenario]") {
  auto s = load_scenario(std::string(MAILSIM_SOURCE_DIR) + "/scenarios/mx-failover.json");
  REQUIRE(s.providers[1].mx.size() == 2);
  CHECK(s.providers[1].mx[1].preference == 20);
  CHECK(s.providers[1].mx[1].host == "mx.backupmx.in");
  CHECK(s.providers[2].host == "mx.backupmx.in");
}

TEST_CASE("Bad outages and queue settings name their JSON path", "[scenario]") {
  CHECK(problems_after([](Json& d) {
          d["providers"][1]["down"] = Json::array({{{"from", "10m"}, {"until", "5m"}}});
        }) == Lines{"providers[1].down[0].until: \"5m\" is not after \"from\" (\"10m\")"});
  CHECK(problems_after([](Json& d) {
          d["providers"][1]["down"] = Json::array({{{"from", "10m"}}});
        }) == Lines{"providers[1].down[0]: missing field \"until\""});
  CHECK(problems_after([](Json& d) {
          d["providers"][1]["down"] = Json::array({{{"from", "soon"}, {"until", "5m"}}});
        }) == Lines{"providers[1].down[0].from: \"soon\" is not a duration (use a number of "
                    "seconds or a string like \"110ms\")"});
  CHECK(problems_after([](Json& d) { d["providers"][1]["down"] = "always"; }) ==
        Lines{"providers[1].down: \"always\" is not a list of outages (objects with \"from\" "
              "and \"until\")"});
  CHECK(problems_after([](Json& d) { d["providers"][0]["queue"] = {{"first_retry", "0s"}}; }) ==
        Lines{"providers[0].queue.first_retry: \"0s\" is not a duration (it must be more than "
              "0)"});
  CHECK(problems_after([](Json& d) {
          d["providers"][0]["queue"] = {{"first_retry", "10m"}, {"max_retry_interval", "5m"}};
        }) == Lines{"providers[0].queue.max_retry_interval: \"5m\" is shorter than "
                    "\"first_retry\" (\"10m\")"});
  CHECK(problems_after([](Json& d) {
          d["providers"][0]["queue"] = {{"max_retry_interval", "1m"}};
        }) == Lines{"providers[0].queue.max_retry_interval: \"1m\" is shorter than "
                    "\"first_retry\" (300 s by default)"});
  CHECK(problems_after([](Json& d) { d["providers"][0]["queue"] = {{"retry", "5m"}}; }) ==
        Lines{"providers[0].queue.retry: unknown field (the fields here are first_retry, "
              "max_retry_interval, give_up)"});
  CHECK(problems_after([](Json& d) { d["providers"][0]["queue"] = {{"give_up", 0}}; }).empty());
}

// Device settings of issue 4's scenarios: POP3 "keep for N days" and the copy in Sent. Each
// setting is read into the Device, and a setting on a device that cannot use it is a problem
// named by its JSON path.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/scenario.hpp"

using namespace mailsim::scenario;

namespace {

using Json = nlohmann::ordered_json;
using Lines = std::vector<std::string>;

Json flagship() {
  std::ifstream in(std::string(MAILSIM_SOURCE_DIR) + "/scenarios/rav-canada-to-uday-india.json",
                   std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return Json::parse(bytes.str());
}

// The problem lines of the flagship with one change made to it, or none if it loads.
Lines problems_after(const std::function<void(Json&)>& change) {
  Json doc = flagship();
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

Scenario load_after(const std::function<void(Json&)>& change) {
  Json doc = flagship();
  change(doc);
  return parse_scenario(doc.dump(2), "test.json");
}

}  // namespace

TEST_CASE("Devices: keep_days is read for pop3-keep and refused elsewhere", "[scenario]") {
  auto s = load_after([](Json& d) {
    d["people"][1]["devices"][0]["retrieval"] = "pop3-keep";
    d["people"][1]["devices"][0]["keep_days"] = 1.5;
  });
  CHECK(s.people[1].devices[0].keep_days == 1.5);
  CHECK(load_after([](Json&) {}).people[1].devices[0].keep_days < 0);  // kept for ever

  CHECK(problems_after([](Json& d) {
          d["people"][1]["devices"][0]["retrieval"] = "pop3-delete";
          d["people"][1]["devices"][0]["keep_days"] = 1;
        }) == Lines{"people[1].devices[0].keep_days: \"keep_days\" belongs to \"pop3-keep\" "
                    "devices, not \"pop3-delete\""});
  CHECK(problems_after([](Json& d) { d["people"][1]["devices"][0]["keep_days"] = 1; }) ==
        Lines{"people[1].devices[0].keep_days: \"keep_days\" belongs to \"pop3-keep\" devices, "
              "not \"imap\""});
  CHECK(problems_after([](Json& d) {
          d["people"][1]["devices"][0]["retrieval"] = "pop3-keep";
          d["people"][1]["devices"][0]["keep_days"] = -1;
        }) == Lines{"people[1].devices[0].keep_days: -1 is not a number of days (0 or more)"});
}

TEST_CASE("Devices: save_sent is read for IMAP clients and refused elsewhere", "[scenario]") {
  CHECK(load_after([](Json& d) { d["people"][0]["devices"][0]["save_sent"] = true; })
            .people[0]
            .devices[0]
            .save_sent);
  CHECK_FALSE(load_after([](Json&) {}).people[0].devices[0].save_sent);
  CHECK(problems_after([](Json& d) {
          d["people"][0]["devices"][0]["retrieval"] = "pop3-keep";
          d["people"][0]["devices"][0]["save_sent"] = true;
        }) == Lines{"people[0].devices[0].save_sent: a copy in Sent is kept with IMAP APPEND: "
                    "\"save_sent\" needs a client device with \"retrieval\": \"imap\", not "
                    "\"pop3-keep\""});
  CHECK(problems_after([](Json& d) {
          d["people"][0]["devices"][0]["agent"] = "web";
          d["people"][0]["devices"][0]["retrieval"] = "http";
          d["people"][0]["devices"][0]["save_sent"] = true;
        }) == Lines{"people[0].devices[0].save_sent: a copy in Sent is kept with IMAP APPEND: "
                    "\"save_sent\" needs a client device with \"retrieval\": \"imap\", not "
                    "\"http\""});
  CHECK(problems_after([](Json& d) { d["people"][0]["devices"][0]["save_sent"] = "yes"; }) ==
        Lines{"people[0].devices[0].save_sent: \"yes\" is not true or false"});
}

TEST_CASE("Devices: sync and idle are for IMAP clients; idle implies sync", "[scenario]") {
  auto idle = load_after([](Json& d) { d["people"][0]["devices"][0]["idle"] = true; });
  CHECK(idle.people[0].devices[0].idle);
  CHECK(idle.people[0].devices[0].sync);
  auto sync = load_after([](Json& d) { d["people"][0]["devices"][0]["sync"] = true; });
  CHECK(sync.people[0].devices[0].sync);
  CHECK_FALSE(sync.people[0].devices[0].idle);
  CHECK_FALSE(load_after([](Json&) {}).people[0].devices[0].sync);
  CHECK(problems_after([](Json& d) {
          d["people"][0]["devices"][0]["retrieval"] = "pop3-keep";
          d["people"][0]["devices"][0]["idle"] = true;
        }) == Lines{"people[0].devices[0].idle: \"idle\" keeps a device's view with IMAP: it "
                    "needs a client device with \"retrieval\": \"imap\", not \"pop3-keep\""});
  CHECK(problems_after([](Json& d) {
          d["people"][0]["devices"][0]["agent"] = "web";
          d["people"][0]["devices"][0]["retrieval"] = "http";
          d["people"][0]["devices"][0]["sync"] = true;
        }) == Lines{"people[0].devices[0].sync: \"sync\" keeps a device's view with IMAP: it "
                    "needs a client device with \"retrieval\": \"imap\", not \"http\""});
  CHECK(problems_after([](Json& d) { d["people"][0]["devices"][0]["idle"] = "yes"; }) ==
        Lines{"people[0].devices[0].idle: \"yes\" is not true or false"});
}

TEST_CASE("Script: read and move name a message by subject; move names a folder",
          "[scenario]") {
  auto s = load_after([](Json& d) {
    d["script"][1] = {{"at", "3m"}, {"person", "Uday"}, {"action", "move"},
                      {"message", "Hello from Canada"}, {"folder", "Family"}};
  });
  CHECK(s.script[1].action == mailsim::scenario::Action::move);
  CHECK(s.script[1].reply_subject == "Hello from Canada");
  CHECK(s.script[1].folder == "Family");
  CHECK(problems_after([](Json& d) {
          d["script"][1] = {{"at", "3m"}, {"person", "Uday"}, {"action", "move"},
                            {"message", "Hello from Canada"}};
        }) == Lines{"script[1]: missing field \"folder\""});
  CHECK(problems_after([](Json& d) {
          d["script"][1] = {{"at", "3m"}, {"person", "Uday"}, {"action", "read"},
                            {"message", 2}};
        }) == Lines{"script[1].message: a \"read\" step names its message by subject (a "
                    "non-empty string)"});
  CHECK(problems_after([](Json& d) {
          d["script"][1] = {{"at", "3m"}, {"person", "Uday"}, {"action", "read"},
                            {"message", "x"}, {"folder", "Family"}};
        }) == Lines{"script[1].folder: \"folder\" belongs to \"move\" steps, not \"read\""});
}

// rfc3501.txt 5.1: "The case-insensitive mailbox name INBOX is a special name reserved to mean
// the primary mailbox"; "inbox" names the INBOX, so moving there is refused as "INBOX" is.
TEST_CASE("Script: a move to INBOX in any case is refused", "[scenario]") {
  for (const char* name : {"INBOX", "inbox", "InBoX"})
    CHECK(problems_after([name](Json& d) {
            d["script"][1] = {{"at", "3m"}, {"person", "Uday"}, {"action", "move"},
                              {"message", "Hello from Canada"}, {"folder", name}};
          }) == Lines{"script[1].folder: a folder name (a non-empty string other than "
                      "\"INBOX\")"});
}

// docs/scenario-format.md "Read and move on one device": a webmail device cannot take these
// steps, so the file is refused at validation, not run with a step that does nothing.
TEST_CASE("Script: read and move are refused on a webmail device", "[scenario]") {
  for (const char* action : {"read", "move"})
    CHECK(problems_after([action](Json& d) {
            d["people"][1]["devices"].push_back(
                {{"name", "web"}, {"agent", "web"}, {"retrieval", "http"}});
            d["script"][1] = {{"at", "3m"}, {"person", "Uday"}, {"device", "web"},
                              {"action", action}, {"message", "Hello"}, {"folder", "Family"}};
            if (std::string(action) == "read") d["script"][1].erase("folder");
          }) == Lines{fmt::format("script[1].action: a webmail device cannot \"{}\" here: "
                                  "read and move are steps of a client device (\"agent\": "
                                  "\"client\")",
                                  action)});
}

TEST_CASE("Script: a check's open list is for IMAP clients only", "[scenario]") {
  auto s = load_after([](Json& d) { d["script"][1]["open"] = {"Hello from Canada"}; });
  CHECK(s.script[1].open == std::vector<std::string>{"Hello from Canada"});
  CHECK(problems_after([](Json& d) { d["script"][0]["open"] = {"x"}; }) ==
        Lines{"script[0].open: \"open\" belongs to \"check\" steps, not \"send\""});
  CHECK(problems_after([](Json& d) {
          d["people"][1]["devices"][0]["retrieval"] = "pop3-keep";
          d["script"][1]["open"] = {"x"};
        }) == Lines{"script[1].open: headers first needs IMAP: Uday's laptop reads mail over "
                    "\"pop3-keep\""});
}

// Scenario files: the bundled scenarios load with units converted and
// defaults filled; every kind of bad file gives the exact problem lines.
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

// Ordered, so that a document dumped back keeps its members where they were.
using Json = nlohmann::ordered_json;

std::string source_file(const std::string& relative) {
  return std::string(MAILSIM_SOURCE_DIR) + "/" + relative;
}

const std::string flagship_path = source_file("scenarios/rav-canada-to-uday-india.json");
const std::string web_path = source_file("scenarios/rav-canada-to-uday-india-web.json");

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

Json flagship() {
  return Json::parse(slurp(flagship_path));
}

// The problem lines of a text, or none if it loads.
std::vector<std::string> problems_in(const std::string& text) {
  try {
    parse_scenario(text, "test.json");
  } catch (const ScenarioError& e) {
    std::vector<std::string> lines;
    for (const auto& problem : e.problems()) lines.push_back(problem.to_string());
    return lines;
  }
  return {};
}

// The flagship with one change made to it.
std::vector<std::string> problems_after(const std::function<void(Json&)>& change) {
  Json doc = flagship();
  change(doc);
  return problems_in(doc.dump(2));
}

Scenario load_after(const std::function<void(Json&)>& change) {
  Json doc = flagship();
  change(doc);
  return parse_scenario(doc.dump(2), "test.json");
}

using Lines = std::vector<std::string>;

const char* const minimal = R"({
  "mailsim": 1,
  "name": "minimal",
  "end": 120,
  "places": [{"name": "Here"}],
  "providers": [{"domain": "Example.ORG", "place": "Here"}],
  "people": [
    {"name": "Ann Lee", "address": "Ann@EXAMPLE.org", "password": "x", "place": "Here"},
    {"name": "Bo", "address": "bo@example.org", "password": "y", "place": "Here",
     "devices": [{"name": "Phone", "agent": "web"},
                 {"name": "pc", "retrieval": "pop3-keep", "address": "203.0.113.3"}]}
  ],
  "script": [
    {"at": "1.5m", "person": "Bo", "action": "check", "every": 10},
    {"at": 30, "person": "Ann Lee", "action": "send", "to": ["bo@Example.org"]},
    {"at": "30s", "person": "Bo", "device": "pc", "action": "check"}
  ]
})";

}  // namespace

TEST_CASE("The flagship scenario loads with every figure converted", "[scenario]") {
  Scenario s = load_scenario(flagship_path);

  CHECK(s.version == 1);
  CHECK(s.name == "rav-canada-to-uday-india");
  CHECK(s.epoch_unix == 1796392800);  // 2026-12-04T14:00:00Z
  CHECK(s.end_s == 600);
  CHECK(s.seed == 1);

  REQUIRE(s.places.size() == 2);
  CHECK(s.places[0].name == "Canada");
  CHECK(s.places[0].city == "Toronto");
  CHECK(s.places[0].latitude == 43.65);
  CHECK(s.places[0].longitude == -79.38);
  CHECK(s.places[0].utc_offset_minutes == -300);
  CHECK(s.places[1].utc_offset_minutes == 330);

  REQUIRE(s.links.size() == 1);
  CHECK(s.links[0].a == "Canada");
  CHECK(s.links[0].b == "India");
  CHECK(s.links[0].latency_s == 0.110);
  CHECK(s.links[0].bandwidth_Bps == 1.25e8);
  CHECK_FALSE(s.links[0].source.empty());

  CHECK(s.dns.place == "Canada");
  CHECK(s.dns.host == "dns");
  CHECK(s.dns.address == "192.0.2.53");
  CHECK(s.dns.ttl_s == 3600);

  REQUIRE(s.providers.size() == 2);
  const Provider& ums = s.providers[1];
  CHECK(ums.domain == "ums.com");
  CHECK(ums.place == "India");
  CHECK(ums.host == "mail.ums.com");
  CHECK(ums.address == "198.51.100.2");
  REQUIRE(ums.mx.size() == 1);
  CHECK(ums.mx[0].preference == 10);
  CHECK(ums.mx[0].host == "mail.ums.com");
  CHECK(ums.access.latency_s == 0.001);
  CHECK(ums.access.bandwidth_Bps == 1.25e9);
  CHECK(ums.cpu_flops == 1e9);
  CHECK((ums.services.submission && ums.services.relay && ums.services.pop3 && ums.services.imap &&
         ums.services.webmail));

  REQUIRE(s.people.size() == 2);
  const Person& rav = s.people[0];
  CHECK(rav.address == "rav@cms.com");
  CHECK(rav.password == "maple");
  CHECK(rav.place == "Canada");
  REQUIRE(rav.devices.size() == 1);
  CHECK(rav.devices[0].name == "laptop");
  CHECK(rav.devices[0].agent == AgentKind::client);
  CHECK(rav.devices[0].retrieval == Retrieval::imap);
  CHECK(rav.devices[0].host == "rav-laptop");
  CHECK(rav.devices[0].address == "203.0.113.1");
  CHECK(rav.devices[0].access.latency_s == 0.008);
  CHECK(rav.devices[0].access.bandwidth_Bps == 6.25e6);  // 50 Mbit/s
  CHECK_FALSE(rav.devices[0].access.source.empty());
  CHECK(s.people[1].devices[0].host == "uday-laptop");
  CHECK(s.people[1].devices[0].address == "203.0.113.2");

  REQUIRE(s.script.size() == 2);
  CHECK(s.script[0].at_s == 0);
  CHECK(s.script[0].person == "Rav");
  CHECK(s.script[0].device == "laptop");
  CHECK(s.script[0].action == Action::send);
  CHECK(s.script[0].to == std::vector<std::string>{"uday@ums.com"});
  CHECK(s.script[0].subject == "Hello from Canada");
  CHECK(s.script[0].body.rfind("Hi Uday,\n", 0) == 0);
  CHECK(s.script[1].at_s == 180);
  CHECK(s.script[1].person == "Uday");
  CHECK(s.script[1].action == Action::check);
  CHECK(s.script[1].every_s == 0);
}

TEST_CASE("The web scenario puts both people on webmail", "[scenario]") {
  Scenario s = load_scenario(web_path);
  CHECK(s.name == "rav-canada-to-uday-india-web");
  for (const auto& person : s.people) {
    REQUIRE(person.devices.size() == 1);
    CHECK(person.devices[0].agent == AgentKind::web);
    CHECK(person.devices[0].retrieval == Retrieval::http);
  }
  CHECK(s.links[0].latency_s == 0.110);
}

TEST_CASE("The hash is FNV-1a 64 of the file's bytes", "[scenario]") {
  std::string text = slurp(flagship_path);
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char byte : text) hash = (hash ^ byte) * 0x100000001b3ULL;
  char expected[17];
  std::snprintf(expected, sizeof expected, "%016llx", static_cast<unsigned long long>(hash));

  CHECK(load_scenario(flagship_path).hash == expected);
  CHECK(parse_scenario(text + " ", "x").hash != expected);
}

TEST_CASE("Defaults fill what a scenario leaves out", "[scenario]") {
  Scenario s = parse_scenario(minimal, "minimal.json");

  CHECK(s.epoch_unix == 0);
  CHECK(s.seed == 1);
  CHECK(s.description.empty());
  CHECK(s.places[0].utc_offset_minutes == 0);
  CHECK(s.links.empty());
  CHECK(s.dns.place == "Here");
  CHECK(s.dns.ttl_s == 3600);

  const Provider& provider = s.providers[0];
  CHECK(provider.domain == "example.org");  // domains are stored in lower case
  CHECK(provider.host == "mail.example.org");
  CHECK(provider.address == "198.51.100.1");
  CHECK(provider.access.latency_s == 0.001);
  CHECK(provider.access.bandwidth_Bps == 1.25e9);

  const Person& ann = s.people[0];
  CHECK(ann.address == "Ann@example.org");  // the local part keeps its case
  REQUIRE(ann.devices.size() == 1);
  CHECK(ann.devices[0].name == "laptop");
  CHECK(ann.devices[0].agent == AgentKind::client);
  CHECK(ann.devices[0].retrieval == Retrieval::imap);
  CHECK(ann.devices[0].host == "ann-lee-laptop");
  CHECK(ann.devices[0].access.latency_s == 0.005);
  CHECK(ann.devices[0].access.bandwidth_Bps == 12.5e6);

  const Person& bo = s.people[1];
  CHECK(bo.devices[0].host == "bo-phone");
  CHECK(bo.devices[0].retrieval == Retrieval::http);  // a web agent's default
  CHECK(bo.devices[0].address == "203.0.113.2");
  CHECK(bo.devices[1].retrieval == Retrieval::pop3_keep);
  CHECK(bo.devices[1].address == "203.0.113.3");

  // Sorted by time, stable: "30" comes before "30s" as in the file.
  REQUIRE(s.script.size() == 3);
  CHECK(s.script[0].person == "Ann Lee");
  CHECK(s.script[0].device == "laptop");
  CHECK(s.script[0].to == std::vector<std::string>{"bo@example.org"});
  CHECK(s.script[1].device == "pc");
  CHECK(s.script[2].at_s == 90);
  CHECK(s.script[2].device == "Phone");
  CHECK(s.script[2].every_s == 10);
}

TEST_CASE("Addresses are assigned around the ones written out", "[scenario]") {
  Scenario s = load_after([](Json& doc) {
    doc["providers"][0]["address"] = "198.51.100.1";
    doc["people"][0]["devices"][0]["address"] = "203.0.113.2";
    doc["dns"]["address"] = "192.0.2.1";
  });
  CHECK(s.providers[0].address == "198.51.100.1");
  CHECK(s.providers[1].address == "198.51.100.2");
  CHECK(s.people[0].devices[0].address == "203.0.113.2");
  CHECK(s.people[1].devices[0].address == "203.0.113.1");
  CHECK(s.dns.address == "192.0.2.1");

  Scenario crowd = load_after([](Json& doc) {
    Json devices = Json::array();
    for (int i = 0; i < 256; ++i) devices.push_back({{"name", "d" + std::to_string(i)}});
    doc["people"][0]["devices"] = devices;
    doc.erase("expect");  // it names Rav's laptop
    doc.erase("lesson");
  });
  const auto& devices = crowd.people[0].devices;
  CHECK(devices[253].address == "203.0.113.254");
  CHECK(devices[254].address == "10.0.0.1");  // past the documentation /24
  CHECK(devices[255].address == "10.0.0.2");
  CHECK(crowd.people[1].devices[0].address == "10.0.0.3");
}

TEST_CASE("Units convert to seconds, bytes per second and flops", "[scenario]") {
  auto link = [](const Json& latency, const Json& bandwidth) {
    Scenario s = load_after([&](Json& doc) {
      doc["links"][0]["latency"] = latency;
      doc["links"][0]["bandwidth"] = bandwidth;
    });
    return std::make_pair(s.links[0].latency_s, s.links[0].bandwidth_Bps);
  };
  CHECK(link("110ms", "50Mbps") == std::make_pair(0.110, 6.25e6));
  CHECK(link(0.25, 1000) == std::make_pair(0.25, 1000.0));
  CHECK(link("250 ms", "8kbps") == std::make_pair(0.25, 1000.0));
  CHECK(link("1.5h", "12.5MB/s") == std::make_pair(5400.0, 12.5e6));
  CHECK(link("2m", "1Gbps") == std::make_pair(120.0, 1.25e8));
  CHECK(link("1d", "100bps") == std::make_pair(86400.0, 12.5));
  CHECK(link("3s", "2kB/s") == std::make_pair(3.0, 2000.0));

  Scenario s = load_after([](Json& doc) { doc["providers"][0]["cpu"] = "2.5Gf"; });
  CHECK(s.providers[0].cpu_flops == 2.5e9);
  s = load_after([](Json& doc) { doc["providers"][0]["cpu"] = 3e6; });
  CHECK(s.providers[0].cpu_flops == 3e6);
}

TEST_CASE("A provider's process_limit is 100 unless it says otherwise", "[scenario]") {
  // Postfix's default_process_limit; sim/process_limit.hpp says what it limits.
  CHECK(load_after([](Json&) {}).providers[0].process_limit == 100);
  CHECK(load_after([](Json& d) { d["providers"][0]["process_limit"] = 3; })
            .providers[0]
            .process_limit == 3);
  for (Json bad : {Json(0), Json(-1), Json(2.5), Json("100"), Json(1000001)})
    CHECK(problems_after([&](Json& d) { d["providers"][0]["process_limit"] = bad; }) ==
          Lines{"providers[0].process_limit: " + bad.dump() +
                " is not a number of processes (a whole number from 1 to 1000000)"});
}

TEST_CASE("The epoch is exact Unix seconds, whatever the time zone", "[scenario]") {
  auto epoch = [](const char* text) {
    return load_after([text](Json& doc) { doc["epoch"] = text; }).epoch_unix;
  };
  CHECK(epoch("1970-01-01T00:00:00Z") == 0);
  CHECK(epoch("2000-02-29T12:34:56Z") == 951827696);
  CHECK(epoch("2024-12-31T23:59:59Z") == 1735689599);
  CHECK(epoch("1969-12-31T23:59:59Z") == -1);
  CHECK(epoch("1900-03-01T00:00:00Z") == -2203891200);
}

TEST_CASE("Schema problems name the JSON path and what is wrong", "[scenario]") {
  CHECK(problems_after([](Json& d) { d["people"][1]["address"] = "uday"; }) ==
        Lines{"people[1].address: \"uday\" is not an email address"});
  CHECK(problems_after([](Json& d) { d["links"][0]["latency"] = "fast"; }) ==
        Lines{"links[0].latency: \"fast\" is not a duration (use a number of seconds or a "
              "string like \"110ms\")"});
  CHECK(problems_after([](Json& d) { d["links"][0]["latency"] = -5; }) ==
        Lines{"links[0].latency: -5 is not a duration (use a number of seconds or a string "
              "like \"110ms\")"});
  CHECK(problems_after([](Json& d) { d["links"][0]["bandwidth"] = "fast"; }) ==
        Lines{"links[0].bandwidth: \"fast\" is not a bandwidth (use a number of bytes per second "
              "or a string like \"100Mbps\")"});
  CHECK(problems_after([](Json& d) { d["people"][0].erase("password"); }) ==
        Lines{"people[0]: missing field \"password\""});
  CHECK(problems_after([](Json& d) { d["script"][0].erase("to"); }) ==
        Lines{"script[0]: missing field \"to\""});
  CHECK(problems_after([](Json& d) { d["people"][0]["adress"] = "x"; }) ==
        Lines{"people[0].adress: unknown field (did you mean \"address\"?)"});
  CHECK(problems_after([](Json& d) {
          d["providers"][0]["services"] = {{"smtp", true}};
        }) == Lines{"providers[0].services.smtp: unknown field (the fields here are submission, "
                    "relay, pop3, imap, webmail)"});
  CHECK(problems_after([](Json& d) {
          d["providers"][0]["services"] = {{"imap", "yes"}};
        }) == Lines{"providers[0].services.imap: \"yes\" is not true or false"});
  CHECK(problems_after([](Json& d) { d["people"][0]["devices"][0]["retrieval"] = "pop4"; }) ==
        Lines{"people[0].devices[0].retrieval: \"pop4\" is not one of \"imap\", "
              "\"pop3-delete\", \"pop3-keep\", \"http\""});
  CHECK(problems_after([](Json& d) { d["mailsim"] = 2; }) ==
        Lines{"mailsim: 2 is not a format version this mailsim reads (it reads version 1)"});
  CHECK(problems_after([](Json& d) { d["places"][0]["latitude"] = 91; }) ==
        Lines{"places[0].latitude: 91 is not a latitude (degrees from -90 to 90)"});
  CHECK(problems_after([](Json& d) { d["places"][0]["utc_offset"] = "+15:00"; }) ==
        Lines{"places[0].utc_offset: \"+15:00\" is not a UTC offset (like \"+05:30\" or "
              "\"-05:00\")"});
  CHECK(problems_after([](Json& d) { d["epoch"] = "yesterday"; }) ==
        Lines{"epoch: \"yesterday\" is not a UTC date and time (RFC 3339, like "
              "\"2026-12-04T14:00:00Z\")"});
  CHECK(problems_after([](Json& d) { d["providers"][0]["address"] = "300.1.1.1"; }) ==
        Lines{"providers[0].address: \"300.1.1.1\" is not an IPv4 address (like "
              "\"198.51.100.7\")"});
  CHECK(problems_after([](Json& d) { d["links"][0]["between"] = {"Canada"}; }) ==
        Lines{"places[1]: \"India\" cannot be reached from \"Canada\" through the links",
              "links[0].between: [\"Canada\"] is not a pair of place names (like [\"Canada\", "
              "\"India\"])"});
  CHECK(problems_after([](Json& d) { d["places"] = "Canada"; }) ==
        Lines{"places: \"Canada\" is not a list of places (at least one)"});
  CHECK(problems_in("[1,2]") == Lines{"[1,2] is not a mailsim scenario (a JSON object)"});
}

TEST_CASE("A seed is a whole number from 0 to 2^63 - 1", "[scenario]") {
  CHECK(load_after([](Json& d) { d["seed"] = 9223372036854775807ULL; }).seed ==
        9223372036854775807ULL);
  CHECK(load_after([](Json& d) { d["seed"] = 0; }).seed == 0);
  const char* tail = " is not a seed (a whole number from 0 to 9223372036854775807)";
  CHECK(problems_after([](Json& d) { d["seed"] = 9223372036854775808ULL; }) ==
        Lines{std::string("seed: 9223372036854775808") + tail});
  CHECK(problems_after([](Json& d) { d["seed"] = -1; }) == Lines{std::string("seed: -1") + tail});
  CHECK(problems_after([](Json& d) { d["seed"] = 1.5; }) == Lines{std::string("seed: 1.5") + tail});
}

// Each rule of the schema carries the words mailsim's messages use for it.
TEST_CASE("Every rule in the schema has an x-expected phrase", "[scenario]") {
  Json schema = Json::parse(slurp(source_file("scenarios/scenario.schema.json")));
  std::vector<std::string> bare;
  std::function<void(const Json&, const std::string&)> visit = [&](const Json& node,
                                                                   const std::string& where) {
    if (!node.is_object()) return;
    bool rule = node.contains("type") || node.contains("oneOf") || node.contains("const");
    if (rule && !node.contains("x-expected") && where.find("/oneOf/") == std::string::npos) {
      bare.push_back(where);
    }
    for (const char* group : {"properties", "definitions"}) {
      if (!node.contains(group)) continue;
      for (const auto& [name, child] : node[group].items()) {
        visit(child, where + "/" + group + "/" + name);
      }
    }
    for (const char* single : {"items", "additionalProperties"}) {
      if (node.contains(single)) visit(node[single], where + "/" + single);
    }
    if (node.contains("oneOf")) {
      for (std::size_t i = 0; i < node["oneOf"].size(); ++i) {
        visit(node["oneOf"][i], where + "/oneOf/" + std::to_string(i));
      }
    }
  };
  visit(schema, "#");
  CHECK(bare == std::vector<std::string>{});
}

TEST_CASE("Checks beyond the schema name the JSON path and what is wrong", "[scenario]") {
  CHECK(problems_after([](Json& d) { d["script"][1]["person"] = "Udya"; }) ==
        Lines{"script[1].person: \"Udya\" is not one of the people (Rav, Uday)"});
  CHECK(problems_after([](Json& d) { d["script"][1]["device"] = "phone"; }) ==
        Lines{"script[1].device: \"phone\" is not one of Uday's devices (laptop)"});
  CHECK(problems_after([](Json& d) { d["providers"][1]["place"] = "Brazil"; }) ==
        Lines{"providers[1].place: \"Brazil\" is not one of the places (Canada, India) "
              "nor a place preset (Bangalore, Frankfurt, Johannesburg, London, Mumbai, San "
              "Francisco, Sao Paulo, Singapore, Sydney, Tokyo, Toronto, Vancouver, Virginia)"});
  CHECK(problems_after([](Json& d) { d["dns"]["place"] = "Mars"; }) ==
        Lines{"dns.place: \"Mars\" is not one of the places (Canada, India) "
              "nor a place preset (Bangalore, Frankfurt, Johannesburg, London, Mumbai, San "
              "Francisco, Sao Paulo, Singapore, Sydney, Tokyo, Toronto, Vancouver, Virginia)"});
  CHECK(problems_after([](Json& d) { d["links"][0]["between"][1] = "Indai"; }) ==
        Lines{"places[1]: \"India\" cannot be reached from \"Canada\" through the links",
              "links[0].between[1]: \"Indai\" is not one of the places (Canada, India) "
              "nor a place preset (Bangalore, Frankfurt, Johannesburg, London, Mumbai, San "
              "Francisco, Sao Paulo, Singapore, Sydney, Tokyo, Toronto, Vancouver, Virginia)"});
  CHECK(problems_after([](Json& d) { d["links"] = Json::array(); }) ==
        Lines{"places[1]: \"India\" cannot be reached from \"Canada\" through the links"});
  CHECK(problems_after([](Json& d) { d["links"][0]["between"][1] = "Canada"; }) ==
        Lines{"places[1]: \"India\" cannot be reached from \"Canada\" through the links",
              "links[0].between: a link joins two different places, not \"Canada\" to itself"});
  CHECK(problems_after([](Json& d) { d["links"].push_back(d["links"][0]); }) ==
        Lines{"links[1].between: \"Canada\" and \"India\" are already joined by links[0]"});
  CHECK(problems_after([](Json& d) { d["links"][0]["bandwidth"] = "0Mbps"; }) ==
        Lines{"links[0].bandwidth: \"0Mbps\" is not a bandwidth (it must be more than 0)"});
  CHECK(problems_after([](Json& d) { d["epoch"] = "2026-02-30T00:00:00Z"; }) ==
        Lines{"epoch: \"2026-02-30T00:00:00Z\" is not a UTC date and time (RFC 3339, like "
              "\"2026-12-04T14:00:00Z\")"});
  CHECK(problems_after([](Json& d) { d["people"][0]["address"] = "rav@gmail.com"; }) ==
        Lines{"people[0].address: \"rav@gmail.com\" is not at one of the providers' domains "
              "(cms.com, ums.com)"});
  CHECK(problems_after([](Json& d) {
          d["script"][0]["to"] = {"uday@ums.com", "bob@", "x@y.org"};
        }) == Lines{"script[0].to[1]: \"bob@\" is not an email address"});
  CHECK(problems_after([](Json& d) { d["people"][1]["devices"][0]["agent"] = "web"; }) ==
        Lines{"people[1].devices[0].retrieval: a web agent reads mail over \"http\", not "
              "\"imap\""});
  CHECK(problems_after([](Json& d) { d["people"][1]["devices"][0]["retrieval"] = "http"; }) ==
        Lines{"people[1].devices[0].retrieval: \"http\" is for web agents; a client agent uses "
              "\"imap\", \"pop3-delete\" or \"pop3-keep\""});
  CHECK(problems_after([](Json& d) { d["script"][1]["at"] = "20m"; }) ==
        Lines{"script[1].at: \"20m\" is after the end of the run (\"10m\")"});
  CHECK(problems_after([](Json& d) { d["script"][0]["every"] = "5m"; }) ==
        Lines{"script[0].every: \"every\" belongs to \"check\" steps, not \"send\""});
  CHECK(problems_after([](Json& d) { d["script"][1]["subject"] = "x"; }) ==
        Lines{"script[1].subject: \"subject\" belongs to \"send\" steps, not \"check\""});
  CHECK(problems_after([](Json& d) { d["script"][1]["every"] = "0s"; }) ==
        Lines{"script[1].every: \"0s\" is not a duration (it must be more than 0)"});
  CHECK(problems_after([](Json& d) {
          d["providers"][1]["mx"] = Json::array({{{"preference", 10}, {"host", "mx.ums.com"}}});
        }) == Lines{"providers[1].mx[0].host: \"mx.ums.com\" is not the host of any provider "
                    "(mail.cms.com, mail.ums.com)"});
}

TEST_CASE("Duplicate names, hosts and addresses are problems", "[scenario]") {
  CHECK(problems_after([](Json& d) { d["places"].push_back(d["places"][0]); }) ==
        Lines{"places[2].name: \"Canada\" is already the name of places[0]"});
  CHECK(problems_after([](Json& d) { d["people"][1]["name"] = "Rav"; }) ==
        Lines{"people[1].name: \"Rav\" is already the name of people[0]",
              "script[1].person: \"Uday\" is not one of the people (Rav)"});
  CHECK(problems_after([](Json& d) {
          auto& devices = d["people"][0]["devices"];
          devices.push_back(devices[0]);
        }) == Lines{"people[0].devices[1].name: \"laptop\" is already the name of "
                    "people[0].devices[0]"});
  CHECK(problems_after([](Json& d) { d["providers"][1]["host"] = "mail.cms.com"; }) ==
        Lines{"providers[1].host: \"mail.cms.com\" is already the host of providers[0]"});
  CHECK(problems_after([](Json& d) { d["people"][1]["devices"][0]["host"] = "RAV-laptop"; }) ==
        Lines{"people[1].devices[0].host: \"RAV-laptop\" is already the host of "
              "people[0].devices[0]"});
  CHECK(problems_after([](Json& d) { d["people"][0]["devices"][0]["host"] = "dns"; }) ==
        Lines{"people[0].devices[0].host: \"dns\" is already the host of dns"});
  CHECK(problems_after([](Json& d) {
          d["people"][0]["name"] = "Rav Home";
          d["people"][0]["devices"][0]["name"] = "laptop";
          d["script"][0]["person"] = "Rav Home";
          d["people"][1]["name"] = "Rav";
          d["people"][1]["devices"][0]["name"] = "home laptop";
          d["script"][1]["person"] = "Rav";
        }) == Lines{"people[1].devices[0]: its default host \"rav-home-laptop\" is already the "
                    "host of people[0].devices[0]; give one of them a \"host\""});
  CHECK(problems_after([](Json& d) { d["providers"][1]["domain"] = "CMS.com"; }) ==
        Lines{"providers[1].domain: \"cms.com\" is already the domain of providers[0]",
              "people[1].address: \"uday@ums.com\" is not at one of the providers' domains "
              "(cms.com)"});
  CHECK(problems_after([](Json& d) {
          d["providers"][0]["address"] = "198.51.100.9";
          d["providers"][1]["address"] = "198.51.100.9";
        }) == Lines{"providers[1].address: \"198.51.100.9\" is already the address of "
                    "providers[0]"});
  CHECK(problems_after([](Json& d) { d["people"][0]["devices"][0]["address"] = "192.0.2.53"; }) ==
        Lines{"people[0].devices[0].address: \"192.0.2.53\" is already the address of dns"});
  CHECK(problems_after([](Json& d) {
          d["people"][1]["address"] = "rav@cms.com";
          d["script"][0]["to"] = {"rav@cms.com"};
        }) == Lines{"people[1].address: \"rav@cms.com\" is already the address of people[0]"});
}

TEST_CASE("Several problems give several lines, in the order of the file", "[scenario]") {
  Lines lines = problems_after([](Json& d) {
    d["script"][1]["person"] = "Udya";
    d["people"][1]["address"] = "uday";
    d["providers"][1]["place"] = "Brazil";
    d["links"][0]["latency"] = "fast";
  });
  CHECK(lines == Lines{"links[0].latency: \"fast\" is not a duration (use a number of seconds or a "
                       "string like \"110ms\")",
                       "providers[1].place: \"Brazil\" is not one of the places (Canada, India) "
              "nor a place preset (Bangalore, Frankfurt, Johannesburg, London, Mumbai, San "
              "Francisco, Sao Paulo, Singapore, Sydney, Tokyo, Toronto, Vancouver, Virginia)",
                       "people[1].address: \"uday\" is not an email address",
                       "script[1].person: \"Udya\" is not one of the people (Rav, Uday)"});

  lines = problems_in(R"({"mailsim": 1, "name": "s", "end": "1m", "places": [{"name": "Here"}],
    "providers": [{"domain": "example.org", "place": "Here", "cpu": "0Gf"}],
    "people": [{"name": "Bo", "address": "bo@example.org", "password": "y", "place": "Here",
                "devices": []}],
    "script": [{"person": "Bo", "colour": "red"},
               {"at": -5, "person": "Bo", "action": "send", "to": []}]})");
  CHECK(lines ==
        Lines{"providers[0].cpu: \"0Gf\" is not a processor speed (it must be more than 0)",
              "people[0].devices: [] is not a list of devices (at least one)",
              "script[0]: missing field \"at\"", "script[0]: missing field \"action\"",
              "script[0].colour: unknown field (the fields here are at, person, device, action, "
              "to, subject, body, every and 6 more)",
              "script[1].at: -5 is not a duration (use a number of seconds or a string like "
              "\"110ms\")",
              "script[1].to: [] is not a list of email addresses (at least one)"});
}

TEST_CASE("A file that is not JSON gives its line and column", "[scenario]") {
  CHECK(problems_in("{\n  \"mailsim\": 1,\n  name: \"x\"\n}\n") ==
        Lines{"line 3, column 4: this is not valid JSON (invalid literal; expected string "
              "literal)"});
  CHECK(problems_in("{\n  \"mailsim\": 1,\n  \"name\": \"x\",\n") ==
        Lines{"line 4, column 1: this is not valid JSON (unexpected end of input; expected "
              "string literal)"});
  CHECK(problems_in("") == Lines{"line 1, column 1: this is not valid JSON (unexpected end of "
                                 "input; expected '[', '{', or a literal)"});
  // Columns count characters, not bytes: the "é" is one column.
  CHECK(problems_in("{\n  \"name\": \"\xc3\xa9\", x}\n") ==
        Lines{"line 2, column 16: this is not valid JSON (invalid literal; expected string "
              "literal)"});
}

TEST_CASE("A file that cannot be read says why", "[scenario]") {
  try {
    load_scenario("/nonexistent/scenario.json");
    FAIL("no error");
  } catch (const ScenarioError& e) {
    CHECK(e.file() == "/nonexistent/scenario.json");
    REQUIRE(e.problems().size() == 1);
    CHECK(e.problems()[0].path.empty());
    CHECK(std::string(e.what()) == "cannot read the file: No such file or directory");
  }
  try {
    load_scenario(source_file("scenarios"));
    FAIL("no error");
  } catch (const ScenarioError& e) {
    CHECK(std::string(e.what()) == "cannot read the file: it is a directory");
  }
}

TEST_CASE("ScenarioError's what() joins the problem lines", "[scenario]") {
  Json doc = flagship();
  doc["people"][1]["address"] = "uday";
  doc["script"][1]["person"] = "Udya";
  try {
    parse_scenario(doc.dump(), "mine.json");
    FAIL("no error");
  } catch (const ScenarioError& e) {
    CHECK(e.file() == "mine.json");
    CHECK(std::string(e.what()) ==
          "people[1].address: \"uday\" is not an email address\n"
          "script[1].person: \"Udya\" is not one of the people (Rav, Uday)");
  }
}

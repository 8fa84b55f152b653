// The teaching parts of a scenario file: place presets (and docs/places.md,
// which must list the code's own figures), the expect block and the lesson.
// Checking expectations against a run needs a simulation: the golden tests
// and tests/cli/test_cli.sh do that.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/place_presets.hpp"
#include "sim/scenario.hpp"

using namespace mailsim::scenario;

namespace {

using Json = nlohmann::ordered_json;
using Lines = std::vector<std::string>;

std::string slurp(const std::string& relative) {
  std::ifstream in(std::string(MAILSIM_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

Json flagship() {
  return Json::parse(slurp("scenarios/rav-canada-to-uday-india.json"));
}

// The flagship without its places and links, every place named by a preset.
Json on_presets() {
  Json doc = flagship();
  doc.erase("places");
  doc.erase("links");
  doc["dns"]["place"] = "Virginia";
  doc["providers"][0]["place"] = "Toronto";
  doc["providers"][1]["place"] = "Mumbai";
  doc["people"][0]["place"] = "Toronto";
  doc["people"][1]["place"] = "Mumbai";
  return doc;
}

Lines problems_in(const Json& doc) {
  try {
    parse_scenario(doc.dump(2), "test.json");
  } catch (const ScenarioError& e) {
    Lines lines;
    for (const auto& problem : e.problems()) lines.push_back(problem.to_string());
    return lines;
  }
  return {};
}

const std::string all_presets =
    "Bangalore, Frankfurt, Johannesburg, London, Mumbai, San Francisco, Sao Paulo, Singapore, "
    "Sydney, Tokyo, Toronto, Vancouver, Virginia";

}  // namespace

TEST_CASE("Place presets: a table sorted by name, with offsets of 4 December", "[places]") {
  const auto& presets = place_presets();
  REQUIRE(presets.size() == 13);
  CHECK(place_preset_names() == all_presets);
  const PlacePreset* toronto = find_place_preset("Toronto");
  REQUIRE(toronto != nullptr);
  CHECK(toronto->latitude == 43.65);
  CHECK(toronto->longitude == -79.38);
  CHECK(toronto->utc_offset_minutes == -300);
  CHECK(find_place_preset("Sydney")->utc_offset_minutes == 660);  // daylight time in December
  CHECK(find_place_preset("Mumbai")->utc_offset_minutes == 330);
  CHECK(find_place_preset("toronto") == nullptr);  // names are exact
}

TEST_CASE("The schema offers editors every preset name, and only those", "[places]") {
  Json schema = Json::parse(slurp("scenarios/scenario.schema.json"));
  std::vector<std::string> offered, presets;
  for (const auto& name : schema["definitions"]["place"]["properties"]["preset"]["examples"])
    offered.push_back(name.get<std::string>());
  for (const auto& preset : place_presets()) presets.push_back(preset.name);
  CHECK(offered == presets);
}

TEST_CASE("Preset links: 5 ms plus 1.5 times the great circle at 200,000 km/s", "[places]") {
  const PlacePreset& toronto = *find_place_preset("Toronto");
  const PlacePreset& mumbai = *find_place_preset("Mumbai");
  const PlacePreset& london = *find_place_preset("London");
  const PlacePreset& frankfurt = *find_place_preset("Frankfurt");
  CHECK(std::round(great_circle_km(toronto, mumbai)) == 12488);
  CHECK(great_circle_km(toronto, mumbai) == great_circle_km(mumbai, toronto));
  CHECK(great_circle_km(toronto, toronto) == 0);
  // 0.005 + 1.5 * 12488 / 200000 = 0.09866, to 0.1 ms.
  CHECK(preset_latency_s(toronto, mumbai) == 0.0987);
  // London-Frankfurt, 637 km: the 5 ms of routers dominate.
  CHECK(preset_latency_s(london, frankfurt) == 0.0098);
}

TEST_CASE("docs/places.md lists every preset and every link as the code computes them",
          "[places]") {
  std::string doc = slurp("docs/places.md");
  for (const auto& p : place_presets()) {
    int offset = std::abs(p.utc_offset_minutes);
    std::string row =
        fmt::format("| {} | {} | {:.2f} | {:.2f} | {}{:02}:{:02} |", p.name, p.city, p.latitude,
                    p.longitude, p.utc_offset_minutes < 0 ? '-' : '+', offset / 60, offset % 60);
    CHECK(doc.find(row) != std::string::npos);
  }
  const auto& presets = place_presets();
  for (std::size_t i = 0; i < presets.size(); ++i) {
    for (std::size_t j = i + 1; j < presets.size(); ++j) {
      double one_way = preset_latency_s(presets[i], presets[j]) * 1000;
      std::string km = fmt::format("{:.0f}", great_circle_km(presets[i], presets[j]));
      for (int at = static_cast<int>(km.size()) - 3; at > 0; at -= 3) km.insert(at, ",");
      std::string row = fmt::format("| {} | {} | {} | {:.1f} | {:.1f} |", presets[i].name,
                                    presets[j].name, km, one_way, 2 * one_way);
      CHECK(doc.find(row) != std::string::npos);
    }
  }
}

TEST_CASE("Places named by preset are added, in the order the file names them", "[places]") {
  Scenario s = parse_scenario(on_presets().dump(2), "test.json");
  REQUIRE(s.places.size() == 3);
  CHECK(s.places[0].name == "Virginia");  // dns comes first in the file
  CHECK(s.places[0].city == "Ashburn, Virginia, United States");
  CHECK(s.places[1].name == "Toronto");
  CHECK(s.places[1].preset == "Toronto");
  CHECK(s.places[2].utc_offset_minutes == 330);

  REQUIRE(s.links.size() == 3);
  CHECK(s.links[0].a == "Virginia");
  CHECK(s.links[0].b == "Toronto");
  CHECK(s.links[2].a == "Toronto");
  CHECK(s.links[2].b == "Mumbai");
  CHECK(s.links[2].latency_s == 0.0987);
  CHECK(s.links[2].bandwidth_Bps == 1.25e8);
  CHECK(s.links[2].from_presets);
  CHECK(s.links[2].source == "place presets Toronto-Mumbai: 12488 km great circle, docs/places.md");
}

TEST_CASE("A place takes a preset's figures; what the file writes wins", "[places]") {
  Json doc = flagship();
  doc["places"][0] = {{"name", "Canada"}, {"preset", "Toronto"}, {"utc_offset", "-04:00"}};
  doc["places"][1] = {{"name", "India"}, {"preset", "Mumbai"}};
  doc["places"].push_back({{"name", "Germany"}, {"preset", "Frankfurt"}});
  Scenario s = parse_scenario(doc.dump(2), "test.json");
  CHECK(s.places[0].city == "Toronto, Canada");
  CHECK(s.places[0].latitude == 43.65);
  CHECK(s.places[0].utc_offset_minutes == -240);

  // The written Canada-India link (110 ms) stays; the two others come from presets.
  REQUIRE(s.links.size() == 3);
  CHECK(s.links[0].latency_s == 0.110);
  CHECK_FALSE(s.links[0].from_presets);
  CHECK(s.links[1].a == "Canada");
  CHECK(s.links[1].b == "Germany");
  CHECK(s.links[2].a == "India");
  CHECK(s.links[2].b == "Germany");
}

TEST_CASE("Unknown places and presets list what is known", "[places]") {
  Json doc = on_presets();
  doc["people"][1]["place"] = "Mumbay";
  CHECK(problems_in(doc) ==
        Lines{"people[1].place: \"Mumbay\" is not one of the places (Virginia, Toronto, Mumbai) "
              "nor a place preset (" +
              all_presets + ")"});

  doc = flagship();
  doc["places"][0]["preset"] = "Torronto";
  CHECK(problems_in(doc) ==
        Lines{"places[0].preset: \"Torronto\" is not a place preset (" + all_presets + ")"});

  doc = on_presets();
  doc["dns"]["place"] = "Mars";
  doc["providers"][0]["place"] = "Mars";
  doc["people"][0]["place"] = "Mars";
  doc["providers"][1]["place"] = "Venus";
  doc["people"][1]["place"] = "Venus";
  CHECK(problems_in(doc).front() ==
        "dns.place: \"Mars\" is not a place preset (" + all_presets + ")");
}

TEST_CASE("The flagship's expect block and lesson load as data", "[expect]") {
  Scenario s = parse_scenario(flagship().dump(2), "test.json");
  REQUIRE(s.expect.size() == 18);

  const Expectation& inbox = s.expect[0];
  CHECK(inbox.kind == ExpectKind::mailbox);
  CHECK(inbox.path == "expect[0]");
  CHECK(inbox.mailbox == "uday@ums.com");
  CHECK(inbox.folder == "INBOX");
  CHECK(inbox.from == "rav@cms.com");
  CHECK(inbox.messages == 1);
  CHECK(inbox.seen == 1);

  const Expectation& device = s.expect[2];
  CHECK(device.kind == ExpectKind::device);
  CHECK(device.person == "Uday");
  CHECK(device.device == "laptop");

  const Expectation& delivery = s.expect[4];
  CHECK(delivery.kind == ExpectKind::latency);
  CHECK(delivery.span == "delivery");
  CHECK(delivery.to == "uday@ums.com");
  CHECK(delivery.under == 2.0);
  CHECK_FALSE(delivery.over);
  CHECK(s.expect[5].over == 180.0);
  CHECK(s.expect[8].round_trips == 7);

  const Expectation& relay = s.expect[11];
  CHECK(relay.kind == ExpectKind::role);
  CHECK(relay.filter.role == "SMTP client");
  CHECK(relay.filter.host == "mail.cms.com");
  CHECK(relay.filter.peer == "mail.ums.com");
  CHECK(relay.filter.protocol == "smtp");
  CHECK(relay.connections == 1);

  CHECK(s.expect[14].kind == ExpectKind::bytes);
  CHECK(s.expect[14].protocol == "smtp");
  CHECK(s.expect[14].equals == 1906);

  CHECK(s.lesson.idea == "push, then pull");
  REQUIRE(s.lesson.points.size() == 5);
  CHECK(s.lesson.points[2].filter.role == "SMTP client");
  CHECK(s.lesson.points[2].filter.line == "MAIL FROM");
  CHECK(s.lesson.points[3].filter.protocol == "store");
}

TEST_CASE("A trace check loads its kind, filter, count and bounds", "[expect]") {
  Json doc = flagship();
  doc["expect"] = Json::array(
      {{{"trace", "queue"}, {"host", "MAIL.cms.com"}, {"line", "attempt 2: retrying"},
        {"lines", 1}, {"since", "status=deferred"}, {"over", "299s"}, {"under", "5m"}},
       {{"trace", "tcp"}, {"line", "RST"}}});
  Scenario s = parse_scenario(doc.dump(2), "test.json");
  REQUIRE(s.expect.size() == 2);
  const Expectation& retry = s.expect[0];
  CHECK(retry.kind == ExpectKind::trace);
  CHECK(retry.filter.protocol == "queue");
  CHECK(retry.filter.host == "mail.cms.com");
  CHECK(retry.filter.role.empty());
  CHECK(retry.filter.line == "attempt 2: retrying");
  CHECK(retry.lines == 1);
  CHECK(retry.since == "status=deferred");
  CHECK(retry.over == 299.0);
  CHECK(retry.under == 300.0);
  CHECK_FALSE(s.expect[1].lines);
  CHECK(s.expect[1].since.empty());
  CHECK_FALSE(s.expect[1].under);
}

TEST_CASE("A trace check can time a step of a paper letter in days", "[expect][postal]") {
  Json doc = flagship();
  doc["expect"] = Json::array({{{"trace", "postal"}, {"line", "Uday has read letter L1"},
                                {"lines", 1}, {"over", "9d"}, {"under", "10d"}}});
  Scenario s = parse_scenario(doc.dump(2), "test.json");
  REQUIRE(s.expect.size() == 1);
  CHECK(s.expect[0].kind == ExpectKind::trace);
  CHECK(s.expect[0].filter.protocol == "postal");
  CHECK(s.expect[0].over == 9 * 86400.0);
  CHECK(s.expect[0].under == 10 * 86400.0);
}

TEST_CASE("A mailbox check can ask for a header line", "[expect]") {
  Json doc = flagship();
  doc["expect"] = Json::array({{{"mailbox", "rav@cms.com"}, {"header", "Return-Path: <>"},
                                {"messages", 1}}});
  Scenario s = parse_scenario(doc.dump(2), "test.json");
  REQUIRE(s.expect.size() == 1);
  CHECK(s.expect[0].header == "Return-Path: <>");
  CHECK(s.expect[0].folder == "INBOX");
}

// rfc3501.txt 5.1: INBOX is case-insensitive. A check written "inbox" looks at the INBOX, on the
// server and in a device's own view (whose INBOX is always spelled "INBOX").
TEST_CASE("A mailbox or device check names the INBOX in any case", "[expect]") {
  Json doc = flagship();
  doc["expect"] = Json::array(
      {{{"mailbox", "rav@cms.com"}, {"folder", "inbox"}, {"messages", 1}},
       {{"device", "laptop"}, {"person", "Uday"}, {"folder", "Inbox"}, {"messages", 1}},
       {{"device", "laptop"}, {"person", "Uday"}, {"folder", "Family"}, {"messages", 1}}});
  Scenario s = parse_scenario(doc.dump(2), "test.json");
  REQUIRE(s.expect.size() == 3);
  CHECK(s.expect[0].folder == "INBOX");
  CHECK(s.expect[1].folder == "INBOX");
  CHECK(s.expect[2].folder == "Family");
}

TEST_CASE("Bad expectations name their JSON path and what is wrong", "[expect]") {
  auto with = [](Json expect) {
    Json doc = flagship();
    doc["expect"] = Json::array({std::move(expect)});
    return problems_in(doc);
  };
  CHECK(with({{"messages", 1}}) ==
        Lines{"expect[0]: say what to check: one of \"mailbox\", \"device\", \"latency\", "
              "\"bytes\", \"role\", \"trace\""});
  CHECK(with({{"mailbox", "uday@ums.com"}, {"latency", "relay"}, {"messages", 1}}) ==
        Lines{"expect[0]: check one thing per entry, not both \"mailbox\" and \"latency\""});
  CHECK(with({{"mailbox", "uday@ums.com"}, {"under", "2s"}, {"messages", 1}}) ==
        Lines{"expect[0].under: \"under\" does not apply to a \"mailbox\" check (its fields: "
              "folder, from, subject, header, messages, seen)"});
  CHECK(with({{"mailbox", "uday@ums.com"}, {"header", ""}, {"messages", 1}}) ==
        Lines{"expect[0].header: \"\" is not the start of a header line (like "
              "\"In-Reply-To: <\")"});
  CHECK(with({{"mailbox", "uday@ums.com"}}) ==
        Lines{"expect[0]: a \"mailbox\" check needs \"messages\" or \"seen\""});
  CHECK(with({{"mailbox", "udya@ums.com"}, {"messages", 1}}) ==
        Lines{"expect[0].mailbox: \"udya@ums.com\" is not the address of one of the people "
              "(rav@cms.com, uday@ums.com)"});
  CHECK(with({{"mailbox", "uday"}, {"messages", 1}}) ==
        Lines{"expect[0].mailbox: \"uday\" is not an email address"});
  CHECK(with({{"device", "phone"}, {"person", "Uday"}, {"messages", 1}}) ==
        Lines{"expect[0].device: \"phone\" is not one of Uday's devices (laptop)"});
  CHECK(with({{"device", "laptop"}, {"person", "Udya"}, {"messages", 1}}) ==
        Lines{"expect[0].person: \"Udya\" is not one of the people (Rav, Uday)"});
  CHECK(with({{"device", "laptop"}, {"messages", 1}}) ==
        Lines{"expect[0]: a \"device\" check needs \"person\""});
  CHECK(with({{"device", "laptop"}, {"person", "Uday"}, {"seen", 1}}) ==
        Lines{"expect[0]: a \"device\" check needs \"messages\" (or, with \"folder\", "
              "\"seen\")",
              "expect[0].seen: \"seen\" in a \"device\" check needs a \"folder\""});
  CHECK(
      with({{"device", "laptop"}, {"person", "Uday"}, {"folder", "Family"}, {"seen", 1}}).empty());
  CHECK(with({{"latency", "delivery"}, {"to", "uday@ums.com"}}) ==
        Lines{"expect[0]: a \"latency\" check needs \"under\", \"over\" or \"round_trips\""});
  CHECK(with({{"latency", "delivery"}, {"under", "soon"}}) ==
        Lines{"expect[0].under: \"soon\" is not a bound (a duration like \"2s\" for a latency, "
              "a number of bytes for bytes)"});
  CHECK(with({{"latency", "delivery"}, {"round_trips", 3}}) ==
        Lines{"expect[0].round_trips: the \"delivery\" span counts no round trips (these do: "
              "submission, dns, relay, retrieval)"});
  CHECK(with({{"latency", "deliverd"}, {"under", "2s"}}) ==
        Lines{"expect[0].latency: \"deliverd\" is not one of \"submission\", \"queueing\", "
              "\"dns\", \"relay\", \"delivery\", \"waiting\", \"retrieval\", \"end_to_end\""});
  CHECK(with({{"bytes", "smtp"}, {"under", "2s"}}) ==
        Lines{"expect[0].under: \"2s\" is not a number of bytes"});
  CHECK(with({{"bytes", "smtp"}}) ==
        Lines{"expect[0]: a \"bytes\" check needs \"under\", \"over\" or \"equals\""});
  CHECK(with({{"role", "SMTP client"}, {"host", "mail.cms.org"}}) ==
        Lines{"expect[0].host: \"mail.cms.org\" is not one of the hosts (dns, mail.cms.com, "
              "mail.ums.com, rav-laptop, uday-laptop)"});
  CHECK(with({{"role", "SMTP clerk"}}) ==
        Lines{"expect[0].role: \"SMTP clerk\" is not one of \"user agent\", \"submission "
              "server\", \"SMTP client\", \"SMTP server\", \"POP3 server\", \"IMAP server\", "
              "\"browser\", \"webmail server\""});
  CHECK(with({{"trace", "tcp"}, {"line", "RST"}, {"since", "SYN"}}) ==
        Lines{"expect[0].since: \"since\" needs \"under\" or \"over\" (how long after it)"});
  CHECK(with({{"trace", "tcp"}, {"role", "SMTP client"}}) ==
        Lines{"expect[0]: check one thing per entry, not both \"role\" and \"trace\""});
  CHECK(with({{"trace", "queue"}, {"under", 5}, {"subject", "Hello"}}) ==
        Lines{"expect[0].subject: \"subject\" does not apply to a \"trace\" check (its fields: "
              "host, peer, line, lines, since, under, over)"});
  CHECK(with({{"trace", "tcp"}, {"over", "soon"}}) ==
        Lines{"expect[0].over: \"soon\" is not a bound (a duration like \"2s\" for a latency, "
              "a number of bytes for bytes)"});
  CHECK(with({{"trace", "rst"}}) ==
        Lines{"expect[0].trace: \"rst\" is not one of \"ua\", \"tcp\", \"dns\", \"smtp\", "
              "\"pop3\", \"imap\", \"http\", \"tls\" and 3 more"});
  CHECK(with({{"trace", "tcp"}, {"peer", "mail.ums.org"}}) ==
        Lines{"expect[0].peer: \"mail.ums.org\" is not one of the hosts (dns, mail.cms.com, "
              "mail.ums.com, rav-laptop, uday-laptop)"});
  CHECK(with({{"mailbox", "uday@ums.com"}, {"mesages", 1}}) ==
        Lines{"expect[0]: a \"mailbox\" check needs \"messages\" or \"seen\"",
              "expect[0].mesages: unknown field (did you mean \"messages\"?)"});
}

TEST_CASE("A broken person gives one line, not one more per expectation", "[expect]") {
  Json doc = flagship();
  doc["people"][1]["name"] = "Rav";
  CHECK(problems_in(doc) == Lines{"people[1].name: \"Rav\" is already the name of people[0]",
                                  "script[1].person: \"Uday\" is not one of the people (Rav)"});
}

TEST_CASE("A lesson needs an idea; its points name hosts that exist", "[expect]") {
  Json doc = flagship();
  doc["lesson"].erase("idea");
  CHECK(problems_in(doc) == Lines{"lesson: missing field \"idea\""});
  doc = flagship();
  doc["lesson"]["points"][0]["host"] = "rav-phone";
  CHECK(problems_in(doc) ==
        Lines{"lesson.points[0].host: \"rav-phone\" is not one of the hosts (dns, mail.cms.com, "
              "mail.ums.com, rav-laptop, uday-laptop)"});
}

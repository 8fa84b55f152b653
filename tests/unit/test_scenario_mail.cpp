// Scenario files, the mail parts: cc, bcc, attachments and replies in the script, and
// preloaded mailboxes (exact RFC 5322 text with CRLF line ends, inline or from a file beside
// the scenario), then the stores build_stores() makes of them.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/mailboxes.hpp"
#include "sim/scenario.hpp"

using namespace mailsim::scenario;
namespace fs = std::filesystem;

namespace {

using Json = nlohmann::ordered_json;
using Lines = std::vector<std::string>;

Json flagship() {
  std::ifstream in(std::string(MAILSIM_SOURCE_DIR) + "/scenarios/rav-canada-to-uday-india.json");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return Json::parse(bytes.str());
}

// A directory of its own for files beside a scenario, emptied first.
fs::path scratch(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("mailsim-test-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// The flagship with one change, read as if it were the file `origin`.
Scenario load_after(const std::function<void(Json&)>& change,
                    const std::string& origin = "test.json") {
  Json doc = flagship();
  change(doc);
  return parse_scenario(doc.dump(2), origin);
}

Lines problems_after(const std::function<void(Json&)>& change,
                     const std::string& origin = "test.json") {
  try {
    load_after(change, origin);
  } catch (const ScenarioError& e) {
    Lines lines;
    for (const auto& problem : e.problems()) lines.push_back(problem.to_string());
    return lines;
  }
  return {};
}

const std::string hello =
    "From: Rav <rav@cms.com>\r\n"
    "To: uday@ums.com\r\n"
    "Subject: Old news\r\n"
    "Message-ID: <old.1@cms.com>\r\n"
    "\r\n"
    "Still here.\r\n";

}  // namespace

TEST_CASE("A send step takes cc, bcc and attachments with sizes in units", "[scenario][mime]") {
  Scenario s = load_after([](Json& d) {
    d["script"][0]["cc"] = {"mira@UMS.com"};
    d["script"][0]["bcc"] = {"boss@cms.com"};
    d["script"][0]["attachments"] =
        Json::array({{{"name", "photo.jpg"}, {"content_type", "image/jpeg"}, {"size", "2MB"}},
                     {{"name", "a.bin"}, {"size", 100}},
                     {{"name", "b.bin"}, {"size", "1.5 KiB"}}});
  });
  const Step& step = s.script[0];
  CHECK(step.cc == std::vector<std::string>{"mira@ums.com"});
  CHECK(step.bcc == std::vector<std::string>{"boss@cms.com"});
  REQUIRE(step.attachments.size() == 3);
  CHECK(step.attachments[0].name == "photo.jpg");
  CHECK(step.attachments[0].content_type == "image/jpeg");
  CHECK(step.attachments[0].size == 2000000);
  CHECK_FALSE(step.attachments[0].from_file);
  CHECK(step.attachments[1].content_type == "application/octet-stream");
  CHECK(step.attachments[1].size == 100);
  CHECK(step.attachments[2].size == 1536);
}

TEST_CASE("An attachment file is read beside the scenario and joins its hash", "[scenario][mime]") {
  fs::path dir = scratch("attachment");
  write(dir / "files" / "notes.txt", "three\n");
  auto add = [](Json& d) {
    d["script"][0]["attachments"] = Json::array(
        {{{"name", "notes.txt"}, {"content_type", "text/plain"}, {"file", "files/notes.txt"}}});
  };
  Scenario s = load_after(add, (dir / "s.json").string());
  REQUIRE(s.script[0].attachments.size() == 1);
  CHECK(s.script[0].attachments[0].from_file);
  CHECK(s.script[0].attachments[0].content == "three\n");
  CHECK(s.script[0].attachments[0].size == 6);

  // The same file text with other attachment bytes is another scenario.
  std::string before = s.hash;
  write(dir / "files" / "notes.txt", "four\n");
  CHECK(load_after(add, (dir / "s.json").string()).hash != before);

  CHECK(problems_after(add, (dir / "elsewhere" / "s.json").string()) ==
        Lines{"script[0].attachments[0].file: cannot read \"files/notes.txt\": No such file or "
              "directory"});
}

TEST_CASE("Bad cc, bcc and attachments name the JSON path", "[scenario][mime]") {
  CHECK(problems_after([](Json& d) { d["script"][0]["cc"] = {"mira"}; }) ==
        Lines{"script[0].cc[0]: \"mira\" is not an email address"});
  CHECK(problems_after([](Json& d) { d["script"][1]["bcc"] = {"x@y.org"}; }) ==
        Lines{"script[1].bcc: \"bcc\" belongs to \"send\" and \"reply\" steps, not \"check\""});
  CHECK(problems_after([](Json& d) {
          d["script"][0]["attachments"] = Json::array({{{"name", "a"}, {"size", "2 parsecs"}}});
        }) == Lines{"script[0].attachments[0].size: \"2 parsecs\" is not a size (use a whole "
                    "number of octets or a string like \"2MB\")"});
  CHECK(problems_after([](Json& d) {
          d["script"][0]["attachments"] = Json::array({{{"name", "a"}, {"size", "1.5B"}}});
        }) == Lines{"script[0].attachments[0].size: \"1.5B\" is not a size (a whole number of "
                    "octets)"});
  CHECK(problems_after([](Json& d) {
          d["script"][0]["attachments"] = Json::array({{{"name", "a"}, {"size", "101MB"}}});
        }) == Lines{"script[0].attachments[0].size: \"101MB\" is not a size (at most 100MB)"});
  CHECK(problems_after([](Json& d) {
          d["script"][0]["attachments"] = Json::array({{{"name", "a"}}});
        }) == Lines{"script[0].attachments[0]: missing field \"size\" (or \"file\")"});
  CHECK(
      problems_after([](Json& d) {
        d["script"][0]["attachments"] = Json::array({{{"name", "a"}, {"size", 1}, {"file", "a"}}});
      }) == Lines{"script[0].attachments[0]: give the attachment a \"size\" or a \"file\", "
                  "not both"});
  CHECK(problems_after([](Json& d) {
          d["script"][0]["attachments"] =
              Json::array({{{"name", "a"}, {"size", 1}, {"content_type", "jpeg"}}});
        }) == Lines{"script[0].attachments[0].content_type: \"jpeg\" is not a MIME type (like "
                    "\"image/jpeg\")"});
}

TEST_CASE("A reply step names its message by subject or position", "[scenario][mime]") {
  Scenario s = load_after([](Json& d) {
    d["script"].push_back({{"at", "5m"},
                           {"person", "Uday"},
                           {"action", "reply"},
                           {"message", "Hello from Canada"},
                           {"body", "Thanks!"},
                           {"cc", {"mira@ums.com"}}});
    d["script"].push_back({{"at", "6m"},
                           {"person", "Uday"},
                           {"action", "reply"},
                           {"message", 1},
                           {"subject", "Again"}});
  });
  REQUIRE(s.script.size() == 4);
  CHECK(s.script[2].action == Action::reply);
  CHECK(s.script[2].reply_subject == "Hello from Canada");
  CHECK(s.script[2].reply_position == 0);
  CHECK_FALSE(s.script[2].has_subject);
  CHECK(s.script[2].body == "Thanks!");
  CHECK(s.script[2].cc == std::vector<std::string>{"mira@ums.com"});
  CHECK(s.script[3].reply_position == 1);
  CHECK(s.script[3].has_subject);
  CHECK(s.script[3].subject == "Again");

  CHECK(problems_after([](Json& d) {
          d["script"].push_back({{"at", "5m"}, {"person", "Uday"}, {"action", "reply"}});
        }) == Lines{"script[2]: missing field \"message\""});
  CHECK(problems_after([](Json& d) {
          d["script"].push_back(
              {{"at", "5m"}, {"person", "Uday"}, {"action", "reply"}, {"message", 0}});
        }) == Lines{"script[2].message: 0 is not a message received (its subject, or its "
                    "position: 1 for the first received)"});
  CHECK(problems_after([](Json& d) {
          d["script"].push_back({{"at", "5m"},
                                 {"person", "Uday"},
                                 {"action", "reply"},
                                 {"message", 1},
                                 {"to", {"x@y.org"}}});
        }) == Lines{"script[2].to: a reply goes to the sender of the message it answers; put "
                    "others in \"cc\""});
  CHECK(problems_after([](Json& d) { d["script"][0]["message"] = 1; }) ==
        Lines{"script[0].message: \"message\" belongs to \"reply\" steps, not \"send\""});
}

TEST_CASE("A preloaded mailbox keeps the exact text, flags and folders", "[scenario][mime]") {
  fs::path dir = scratch("preload");
  write(dir / "mail" / "second.eml", "Subject: two\r\n\r\nbody\r\n");
  Scenario s = load_after(
      [](Json& d) {
        d["people"][1]["mailbox"] = {{"folders",
                                      {{{"name", "inbox"},
                                        {"messages",
                                         {{{"text", hello}, {"flags", {"\\Seen", "$Work"}}},
                                          {{"file", "mail/second.eml"}}}}},
                                       {{"name", "Archive/2025"}}}}};
      },
      (dir / "s.json").string());
  const auto& mailbox = s.people[1].mailbox;
  REQUIRE(mailbox.size() == 2);
  CHECK(mailbox[0].name == "INBOX");
  REQUIRE(mailbox[0].messages.size() == 2);
  CHECK(mailbox[0].messages[0].text == hello);
  CHECK(mailbox[0].messages[0].flags == std::vector<std::string>{"\\Seen", "$Work"});
  CHECK(mailbox[0].messages[1].text == "Subject: two\r\n\r\nbody\r\n");
  CHECK(mailbox[1].name == "Archive/2025");
  CHECK(mailbox[1].messages.empty());

  // build_stores: the same stores for `run` and `serve`.
  auto stores = mailsim::sim::build_stores(s);
  REQUIRE(stores.size() == 2);
  const auto* uday = stores.at("ums.com")->find_account("uday@ums.com");
  REQUIRE(uday != nullptr);
  const auto& inbox = uday->inbox().messages();
  REQUIRE(inbox.size() == 2);
  CHECK(inbox[0].uid == 1);
  CHECK(inbox[0].text == hello);
  CHECK(inbox[0].text.size() ==
        106);  // 25 + 18 + 19 + 29 + 2 + 13: the octets RFC822.SIZE and POP3 LIST report
  CHECK(inbox[0].flags == std::set<std::string>{"\\Seen", "$Work"});
  CHECK(inbox[0].message_id == "<old.1@cms.com>");
  CHECK(inbox[0].internal_date == 0);
  CHECK(inbox[1].uid == 2);
  std::vector<std::string> names;
  for (const auto* folder : uday->folders()) {
    names.push_back(folder->name());
    CHECK(folder->subscribed());
  }
  CHECK(names == std::vector<std::string>{"INBOX", "Archive", "Archive/2025"});
  REQUIRE(stores.at("cms.com")->find_account("rav@cms.com") != nullptr);
  CHECK(stores.at("cms.com")->find_account("rav@cms.com")->inbox().messages().empty());
}

TEST_CASE("Preloaded text must use CRLF: the path and the line number say where",
          "[scenario][mime]") {
  auto preload = [](const Json& message) {
    return [message](Json& d) {
      d["people"][1]["mailbox"] = {{"folders", {{{"name", "INBOX"}, {"messages", {message}}}}}};
    };
  };
  const std::string at = "people[1].mailbox.folders[0].messages[0]";
  CHECK(problems_after(preload({{"text", "Subject: x\r\n\r\nline\nend\r\n"}})) ==
        Lines{at + ".text: line 3 ends in a bare LF; the text must use CRLF line ends (convert "
                   "a file with: sed -i -e 's/\\r*$/\\r/' -e '$a\\' FILE)"});
  CHECK(problems_after(preload({{"text", "Subject: x\r\n\r\na\rb\r\n"}})) ==
        Lines{at + ".text: line 3 has a bare CR; the text must use CRLF line ends"});
  CHECK(problems_after(preload({{"text", "Subject: x\r\n\r\nno end"}})) ==
        Lines{at + ".text: line 3, the last, does not end in CRLF"});
  CHECK(problems_after(preload({{"text", ""}})) == Lines{at + ".text: the message is empty"});
  CHECK(
      problems_after(preload({{"text", "Subject: x\r\n\r\n" + std::string(999, 'a') + "\r\n"}})) ==
      Lines{at + ".text: line 3 is longer than 998 octets (RFC 5322 2.1.1)"});
  CHECK(problems_after(preload(Json::object())) ==
        Lines{at + ": missing field \"text\" (or \"file\")"});
  CHECK(problems_after(preload({{"text", hello}, {"file", "x.eml"}})) ==
        Lines{at + ": give the message as \"text\" or as \"file\", not both"});
  CHECK(problems_after(preload({{"text", hello}, {"flags", {"\\Recent"}}})) ==
        Lines{at + ".flags[0]: \"\\\\Recent\" is not a flag (\\Seen, \\Answered, \\Flagged, "
                   "\\Deleted, \\Draft or a keyword like \"$Label\")"});

  fs::path dir = scratch("bare-lf");
  write(dir / "unix.eml", "Subject: x\n\nbody\n");
  CHECK(problems_after(preload({{"file", "unix.eml"}}), (dir / "s.json").string()) ==
        Lines{at + ".file: line 1 ends in a bare LF; the text must use CRLF line ends (convert "
                   "a file with: sed -i -e 's/\\r*$/\\r/' -e '$a\\' FILE)"});
}

TEST_CASE("Preloaded folders are unique, INBOX in any case", "[scenario][mime]") {
  CHECK(problems_after([](Json& d) {
          d["people"][1]["mailbox"] = {
              {"folders", {{{"name", "INBOX"}}, {{"name", "Inbox"}}, {{"name", "bad*name"}}}}};
        }) == Lines{"people[1].mailbox.folders[1].name: \"INBOX\" is already the name of "
                    "people[1].mailbox.folders[0]",
                    "people[1].mailbox.folders[2].name: \"bad*name\" is not a folder name "
                    "(letters, digits, spaces and . _ - & + , with / between levels, like "
                    "\"Archive/2025\")"});
}

#include <catch2/catch.hpp>

#include "models/store.hpp"

using mailsim::store::Account;
using mailsim::store::Folder;
using mailsim::store::MailStore;

namespace {

const char* const kMessage =
    "From: rav@cms.com\r\n"
    "To: uday@ums.com\r\n"
    "message-id:\r\n"
    " <20260104.1@cms.com>\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "Message-ID: <not-a-header@body>\r\n";

}  // namespace

TEST_CASE("header_field: case-insensitive name, unfolded value (RFC 5322 2.2.3)", "[store]") {
  CHECK(mailsim::store::header_field(kMessage, "Message-ID") == "<20260104.1@cms.com>");
  CHECK(mailsim::store::header_field(kMessage, "SUBJECT") == "hello");
  CHECK(mailsim::store::header_field(kMessage, "Cc").empty());
  // The body is not part of the header section.
  CHECK(mailsim::store::header_field("Subject: x\r\n\r\nCc: y\r\n", "Cc").empty());
  CHECK(mailsim::store::header_field("", "Subject").empty());
}

TEST_CASE("MailStore: accounts found by address or local part", "[store]") {
  MailStore store("ums.com");
  Account& uday = store.add_account("uday@ums.com", "pw");
  CHECK(store.find_account("uday@ums.com") == &uday);
  CHECK(store.find_account("uday") == &uday);
  CHECK(store.find_account("uday@UMS.COM") == &uday);
  CHECK(store.find_account("Uday@ums.com") == nullptr);  // local parts are exact
  CHECK(store.find_account("uday@cms.com") == nullptr);
  CHECK(store.find_account("") == nullptr);
  CHECK(uday.check_password("pw"));
  CHECK_FALSE(uday.check_password("PW"));
  CHECK(&store.add_account("uday@ums.com", "other") == &uday);
  CHECK(uday.check_password("pw"));
}

TEST_CASE("MailStore: deliver assigns ascending UIDs and extracts Message-ID", "[store]") {
  MailStore store("ums.com");
  store.add_account("uday@ums.com", "pw");
  std::uint64_t v0 = store.version();

  CHECK(store.deliver("uday@ums.com", kMessage, 10.5) == 1);
  CHECK(store.deliver("uday", "Subject: two\r\n\r\nx\r\n", 11) == 2);
  CHECK(store.deliver("nobody@ums.com", "x", 12) == 0);
  CHECK(store.version() > v0);

  const Folder& inbox = store.find_account("uday")->inbox();
  REQUIRE(inbox.messages().size() == 2);
  CHECK(inbox.messages()[0].uid == 1);
  CHECK(inbox.messages()[0].text == kMessage);
  CHECK(inbox.messages()[0].internal_date == 10.5);
  CHECK(inbox.messages()[0].message_id == "<20260104.1@cms.com>");
  CHECK(inbox.messages()[0].flags.empty());
  CHECK(inbox.messages()[1].message_id.empty());
  CHECK(inbox.uidnext() == 3);
}

TEST_CASE(
    "Folder: UIDVALIDITY from a counter, new value after delete and create (RFC 3501 "
    "2.3.1.1)",
    "[store]") {
  MailStore a("ums.com");
  MailStore b("ums.com");
  Account& ua = a.add_account("uday@ums.com", "pw");
  Account& ub = b.add_account("uday@ums.com", "pw");
  CHECK(ua.inbox().uidvalidity() == ub.inbox().uidvalidity());

  std::uint32_t first = ua.create_folder("Trash").uidvalidity();
  CHECK(first > ua.inbox().uidvalidity());
  CHECK(&ua.create_folder("Trash") == ua.folder("Trash"));  // existing name: same folder
  CHECK(ua.delete_folder("Trash"));
  CHECK(ua.folder("Trash") == nullptr);
  CHECK(ua.create_folder("Trash").uidvalidity() > first);
  CHECK_FALSE(ua.delete_folder("INBOX"));
  CHECK_FALSE(ua.delete_folder("Nope"));
}

TEST_CASE("Folder: flags, expunge and UIDs never reused", "[store]") {
  MailStore store("ums.com");
  Folder& inbox = store.add_account("uday@ums.com", "pw").inbox();
  inbox.append("a\r\n", {}, 1);
  inbox.append("b\r\n", {"\\Seen", "\\Recent"}, 2);
  inbox.append("c\r\n", {}, 3);
  CHECK(inbox.find(2)->flags == std::set<std::string>{"\\Seen"});  // \Recent is never stored
  CHECK(inbox.unseen_count() == 2);

  std::uint64_t v = store.version();
  CHECK(inbox.add_flags(1, {"\\Deleted"}));
  CHECK_FALSE(inbox.add_flags(1, {"\\Deleted"}));  // no change, no version bump
  CHECK(inbox.add_flags(3, {"\\Deleted", "$Junk"}));
  CHECK(inbox.remove_flags(3, {"$Junk"}));
  CHECK_FALSE(inbox.add_flags(99, {"\\Seen"}));
  CHECK(store.version() == v + 3);

  CHECK(inbox.expunge({3}) == std::vector<std::uint32_t>{3});  // UID EXPUNGE (RFC 4315 2.1)
  CHECK(inbox.expunge() == std::vector<std::uint32_t>{1});
  REQUIRE(inbox.messages().size() == 1);
  CHECK(inbox.messages()[0].uid == 2);
  CHECK(inbox.index_of(2) == std::optional<std::size_t>(0));
  CHECK_FALSE(inbox.index_of(1).has_value());
  CHECK(inbox.append("d\r\n", {}, 4) == 4);
}

TEST_CASE("Folder: the first claim sees messages as recent (RFC 3501 2.3.2)", "[store]") {
  MailStore store("ums.com");
  Folder& inbox = store.add_account("uday@ums.com", "pw").inbox();
  inbox.append("a\r\n", {}, 1);
  inbox.append("b\r\n", {}, 2);
  CHECK(inbox.recent_count() == 2);
  CHECK(inbox.claim_recent() == std::set<std::uint32_t>{1, 2});
  CHECK(inbox.recent_count() == 0);
  CHECK(inbox.claim_recent().empty());
  inbox.append("c\r\n", {}, 3);
  CHECK(inbox.claim_recent() == std::set<std::uint32_t>{3});
}

TEST_CASE("Account: RENAME INBOX moves its messages and leaves it empty (RFC 3501 6.3.5)",
          "[store]") {
  MailStore store("ums.com");
  Account& uday = store.add_account("uday@ums.com", "pw");
  uday.inbox().append("a\r\n", {"\\Seen"}, 1);
  std::uint32_t inbox_validity = uday.inbox().uidvalidity();

  CHECK(uday.rename_folder("inbox", "Old"));
  REQUIRE(uday.folder("Old") != nullptr);
  CHECK(uday.folder("Old")->messages().size() == 1);
  CHECK(uday.folder("Old")->messages()[0].flags == std::set<std::string>{"\\Seen"});
  CHECK(uday.inbox().messages().empty());
  CHECK(uday.inbox().uidvalidity() == inbox_validity);

  Folder& work = uday.create_folder("Work");
  std::uint32_t work_validity = work.uidvalidity();
  CHECK(uday.rename_folder("Work", "Projects"));
  CHECK(uday.folder("Work") == nullptr);
  CHECK(uday.folder("Projects")->uidvalidity() == work_validity);
  CHECK_FALSE(uday.rename_folder("Projects", "Old"));  // target exists
  CHECK_FALSE(uday.rename_folder("Missing", "X"));

  std::vector<std::string> names;
  for (const Folder* f : uday.folders()) names.push_back(f->name());
  CHECK(names == std::vector<std::string>{"INBOX", "Old", "Projects"});
}

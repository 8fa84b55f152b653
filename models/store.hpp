// Mail store: the mailboxes a provider's server keeps for its accounts.
//
// Theory of operation. A MailStore holds the accounts of one domain; an Account
// holds its folders (IMAP mailboxes, RFC 3501 section 5.1), INBOX always among
// them; a Folder holds its messages in UID order, so that a message's sequence
// number is its index plus one (RFC 3501 section 2.3.1). The store is plain data
// that the POP3 and IMAP server engines read and change; it has no I/O, no clock
// and no logging.
//
// Rules it keeps:
// - UIDs in a folder strictly ascend and are never reused (RFC 3501 2.3.1.1).
// - UIDVALIDITY values come from one counter per store, so a folder deleted and
//   created again gets a new, larger value; nothing depends on clocks or
//   pointers, and two runs of a scenario see the same numbers.
// - Every change (delivery, flag change, expunge, folder created, deleted or
//   renamed) bumps version(), so a session can notice that others changed the
//   store and send its client the untagged updates RFC 3501 section 5.2 asks for.
// - \Recent (RFC 3501 2.3.2) is not a stored flag: the first session that
//   claims a folder's new messages sees them as recent, later ones do not.
//
// Left out: quotas, ACLs, per-user (as opposed to per-folder) subscriptions of
// other users' folders, and any persistence beyond the run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailsim::store {

// The value of the first header field called `name` (case-insensitive) in the header section
// of an RFC 5322 message: folded lines joined (RFC 5322 section 2.2.3), white space trimmed.
// Returns "" when there is no such field.
std::string header_field(std::string_view text, std::string_view name);

struct StoredMessage {
  std::uint32_t uid = 0;
  std::string text;             // exact RFC 5322 octets, CRLF line ends
  std::set<std::string> flags;  // "\\Seen", "\\Deleted", ... (never "\\Recent")
  double internal_date = 0;     // simulated seconds when it arrived
  std::string message_id;       // from its Message-ID header, for joining trace events
};

namespace detail {
// What the folders of one store share: the change counter and the UIDVALIDITY counter.
struct StoreClock {
  std::uint64_t version = 0;
  std::uint32_t next_uidvalidity = 1;
};
}  // namespace detail

// An IMAP mailbox.
class Folder {
 public:
  Folder(std::string name, std::uint32_t uidvalidity, std::shared_ptr<detail::StoreClock> clock);

  const std::string& name() const { return name_; }
  std::uint32_t uidvalidity() const { return uidvalidity_; }
  std::uint32_t uidnext() const { return uidnext_; }
  const std::vector<StoredMessage>& messages() const { return messages_; }  // in UID order

  // Adds a message with the next UID and returns that UID.
  std::uint32_t append(std::string text, std::set<std::string> flags, double when);

  // The message with this UID, or nullptr.
  const StoredMessage* find(std::uint32_t uid) const;
  // Index (sequence number minus one) of the message with this UID.
  std::optional<std::size_t> index_of(std::uint32_t uid) const;

  // Flag changes on the message with this UID; each returns true if the flags changed.
  bool add_flags(std::uint32_t uid, const std::set<std::string>& flags);
  bool remove_flags(std::uint32_t uid, const std::set<std::string>& flags);
  bool replace_flags(std::uint32_t uid, std::set<std::string> flags);

  // Removes the message with this UID; returns false if there was none.
  bool remove(std::uint32_t uid);
  // Removes every message flagged \Deleted (restricted to `only` when it is not empty,
  // for UID EXPUNGE, RFC 4315 section 2.1) and returns their UIDs in ascending order.
  std::vector<std::uint32_t> expunge(const std::set<std::uint32_t>& only = {});

  // Messages without \Seen.
  std::uint32_t unseen_count() const;
  // Messages no session has claimed as recent yet.
  std::uint32_t recent_count() const;
  // UIDs of the messages no session has claimed yet (what EXAMINE reports as recent).
  std::set<std::uint32_t> unclaimed_uids() const;
  // Claims every message not yet claimed: this session is the first to see them, so they
  // are \Recent for it alone (RFC 3501 section 2.3.2). Returns their UIDs.
  std::set<std::uint32_t> claim_recent();

  bool subscribed() const { return subscribed_; }
  void set_subscribed(bool on);

 private:
  friend class Account;
  StoredMessage* find_mutable(std::uint32_t uid);
  void touch() { ++clock_->version; }

  std::string name_;
  std::uint32_t uidvalidity_;
  std::uint32_t uidnext_ = 1;
  std::uint32_t first_unclaimed_uid_ = 1;
  bool subscribed_ = false;
  std::vector<StoredMessage> messages_;
  std::shared_ptr<detail::StoreClock> clock_;
};

class Account {
 public:
  Account(std::string address, std::string password, std::shared_ptr<detail::StoreClock> clock);

  const std::string& address() const { return address_; }  // "uday@ums.com"
  bool check_password(std::string_view password) const { return password == password_; }

  Folder& inbox() { return *folders_.front(); }
  const Folder& inbox() const { return *folders_.front(); }
  // The folder with this name (INBOX in any case, other names exactly), or nullptr.
  Folder* folder(std::string_view name);
  const Folder* folder(std::string_view name) const;
  // The folder with this UIDVALIDITY (unique within a store), or nullptr: a session keeps
  // its selected folder by this number, so a rename does not lose it and a delete is seen.
  Folder* folder_by_uidvalidity(std::uint32_t uidvalidity);
  // Creates a folder with a fresh UIDVALIDITY; returns the existing one if the name is taken.
  Folder& create_folder(std::string name);
  // Deletes a folder other than INBOX with all its messages; false if there is none.
  bool delete_folder(std::string_view name);
  // Renames a folder (RFC 3501 6.3.5). Renaming INBOX moves its messages into a new folder
  // and leaves INBOX empty. False if `from` does not exist or `to` does.
  bool rename_folder(std::string_view from, std::string to);
  // All folders, INBOX first, then the others by name.
  std::vector<const Folder*> folders() const;

  // True for "INBOX" in any case (RFC 3501 section 5.1).
  static bool is_inbox(std::string_view name);

 private:
  std::string address_;
  std::string password_;
  std::vector<std::unique_ptr<Folder>> folders_;  // front() is INBOX; unique_ptr keeps refs valid
  std::shared_ptr<detail::StoreClock> clock_;
};

// One per provider (one domain).
class MailStore {
 public:
  explicit MailStore(std::string domain);

  const std::string& domain() const { return domain_; }

  // Adds an account; an address added twice keeps the first account (and its password).
  Account& add_account(std::string address, std::string password);
  // Accepts "uday@ums.com" or "uday" (local part exact, domain case-insensitive).
  Account* find_account(std::string_view user);
  const Account* find_account(std::string_view user) const;
  std::vector<const Account*> accounts() const;

  // Delivers into the INBOX of `address`; returns the UID, or 0 if there is no such account.
  std::uint32_t deliver(std::string_view address, std::string text, double when);

  // Bumps on every change, so sessions can notice updates.
  std::uint64_t version() const { return clock_->version; }

 private:
  // The index key of an address: its local part exact, its domain (this store's when it has
  // none) folded to lower case, so that one hash lookup finds an account among thousands.
  std::string account_key(std::string_view user) const;

  std::string domain_;
  std::shared_ptr<detail::StoreClock> clock_;
  std::vector<std::unique_ptr<Account>> accounts_;  // in the order they were added
  std::unordered_map<std::string, Account*> by_key_;
};

}  // namespace mailsim::store

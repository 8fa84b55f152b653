#include "models/store.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>

namespace mailsim::store {

namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The physical lines of the header section, without their CRLF, up to the empty line.
std::vector<std::string_view> header_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t end = text.find("\r\n");
    std::string_view line = text.substr(0, end);
    if (line.empty()) break;
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 2);
  }
  return lines;
}

}  // namespace

std::string header_field(std::string_view text, std::string_view name) {
  std::vector<std::string_view> lines = header_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    // A line that starts with white space continues the field above; it never starts one.
    if (lines[i].front() == ' ' || lines[i].front() == '\t') continue;
    std::size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos || !iequals(trim(lines[i].substr(0, colon)), name))
      continue;

    // RFC 5322 section 2.2.3: unfolding removes the CRLF before each continuation line.
    std::string value(lines[i].substr(colon + 1));
    for (std::size_t j = i + 1;
         j < lines.size() && (lines[j].front() == ' ' || lines[j].front() == '\t'); ++j)
      value += lines[j];
    return std::string(trim(value));
  }
  return "";
}

// ---- Folder ----

Folder::Folder(std::string name, std::uint32_t uidvalidity,
               std::shared_ptr<detail::StoreClock> clock)
    : name_(std::move(name)), uidvalidity_(uidvalidity), clock_(std::move(clock)) {}

std::uint32_t Folder::append(std::string text, std::set<std::string> flags, double when) {
  StoredMessage message;
  message.uid = uidnext_++;
  message.message_id = header_field(text, "Message-ID");
  message.text = std::move(text);
  flags.erase("\\Recent");
  message.flags = std::move(flags);
  message.internal_date = when;
  messages_.push_back(std::move(message));
  touch();
  return messages_.back().uid;
}

const StoredMessage* Folder::find(std::uint32_t uid) const {
  std::optional<std::size_t> index = index_of(uid);
  return index ? &messages_[*index] : nullptr;
}

StoredMessage* Folder::find_mutable(std::uint32_t uid) {
  std::optional<std::size_t> index = index_of(uid);
  return index ? &messages_[*index] : nullptr;
}

std::optional<std::size_t> Folder::index_of(std::uint32_t uid) const {
  auto it = std::lower_bound(messages_.begin(), messages_.end(), uid,
                             [](const StoredMessage& m, std::uint32_t u) { return m.uid < u; });
  if (it == messages_.end() || it->uid != uid) return std::nullopt;
  return static_cast<std::size_t>(it - messages_.begin());
}

bool Folder::add_flags(std::uint32_t uid, const std::set<std::string>& flags) {
  std::set<std::string> next;
  if (const StoredMessage* m = find(uid)) next = m->flags;
  next.insert(flags.begin(), flags.end());
  return replace_flags(uid, std::move(next));
}

bool Folder::remove_flags(std::uint32_t uid, const std::set<std::string>& flags) {
  std::set<std::string> next;
  if (const StoredMessage* m = find(uid)) next = m->flags;
  for (const std::string& f : flags) next.erase(f);
  return replace_flags(uid, std::move(next));
}

bool Folder::replace_flags(std::uint32_t uid, std::set<std::string> flags) {
  StoredMessage* m = find_mutable(uid);
  flags.erase("\\Recent");
  if (m == nullptr || m->flags == flags) return false;
  m->flags = std::move(flags);
  touch();
  return true;
}

bool Folder::remove(std::uint32_t uid) {
  std::optional<std::size_t> index = index_of(uid);
  if (!index) return false;
  messages_.erase(messages_.begin() + static_cast<std::ptrdiff_t>(*index));
  touch();
  return true;
}

std::vector<std::uint32_t> Folder::expunge(const std::set<std::uint32_t>& only) {
  std::vector<std::uint32_t> removed;
  auto doomed = [&](const StoredMessage& m) {
    bool hit = m.flags.count("\\Deleted") > 0 && (only.empty() || only.count(m.uid) > 0);
    if (hit) removed.push_back(m.uid);
    return hit;
  };
  messages_.erase(std::remove_if(messages_.begin(), messages_.end(), doomed), messages_.end());
  if (!removed.empty()) touch();
  return removed;
}

std::uint32_t Folder::unseen_count() const {
  return static_cast<std::uint32_t>(
      std::count_if(messages_.begin(), messages_.end(),
                    [](const StoredMessage& m) { return m.flags.count("\\Seen") == 0; }));
}

std::uint32_t Folder::recent_count() const {
  return static_cast<std::uint32_t>(
      std::count_if(messages_.begin(), messages_.end(),
                    [&](const StoredMessage& m) { return m.uid >= first_unclaimed_uid_; }));
}

std::set<std::uint32_t> Folder::unclaimed_uids() const {
  std::set<std::uint32_t> uids;
  for (const StoredMessage& m : messages_)
    if (m.uid >= first_unclaimed_uid_) uids.insert(m.uid);
  return uids;
}

std::set<std::uint32_t> Folder::claim_recent() {
  std::set<std::uint32_t> claimed;
  for (const StoredMessage& m : messages_)
    if (m.uid >= first_unclaimed_uid_) claimed.insert(m.uid);
  first_unclaimed_uid_ = uidnext_;
  return claimed;
}

void Folder::set_subscribed(bool on) {
  if (subscribed_ == on) return;
  subscribed_ = on;
  touch();
}

// ---- Account ----

Account::Account(std::string address, std::string password,
                 std::shared_ptr<detail::StoreClock> clock)
    : address_(std::move(address)), password_(std::move(password)), clock_(std::move(clock)) {
  folders_.push_back(std::make_unique<Folder>("INBOX", clock_->next_uidvalidity++, clock_));
  folders_.front()->subscribed_ = true;
}

bool Account::is_inbox(std::string_view name) {
  return iequals(name, "INBOX");
}

Folder* Account::folder(std::string_view name) {
  if (is_inbox(name)) return folders_.front().get();
  for (auto& f : folders_)
    if (f->name() == name) return f.get();
  return nullptr;
}

const Folder* Account::folder(std::string_view name) const {
  return const_cast<Account*>(this)->folder(name);
}

Folder* Account::folder_by_uidvalidity(std::uint32_t uidvalidity) {
  for (auto& f : folders_)
    if (f->uidvalidity() == uidvalidity) return f.get();
  return nullptr;
}

Folder& Account::create_folder(std::string name) {
  if (Folder* existing = folder(name)) return *existing;
  folders_.push_back(std::make_unique<Folder>(std::move(name), clock_->next_uidvalidity++, clock_));
  ++clock_->version;
  return *folders_.back();
}

bool Account::delete_folder(std::string_view name) {
  if (is_inbox(name)) return false;
  auto it = std::find_if(folders_.begin(), folders_.end(),
                         [&](const std::unique_ptr<Folder>& f) { return f->name() == name; });
  if (it == folders_.end()) return false;
  folders_.erase(it);
  ++clock_->version;
  return true;
}

bool Account::rename_folder(std::string_view from, std::string to) {
  Folder* source = folder(from);
  if (source == nullptr || folder(to) != nullptr) return false;

  if (source == folders_.front().get()) {
    // RFC 3501 section 6.3.5: renaming INBOX moves its messages into a new mailbox and
    // leaves INBOX empty, with its UIDVALIDITY and UIDNEXT unchanged.
    Folder& target = create_folder(std::move(to));
    for (StoredMessage& m : source->messages_) target.append(m.text, m.flags, m.internal_date);
    source->messages_.clear();
  } else {
    // Section 6.3.5 lets a renamed mailbox keep its UIDVALIDITY only if it keeps its UIDs,
    // which it does here: the folder object itself is renamed.
    source->name_ = std::move(to);
  }
  ++clock_->version;
  return true;
}

std::vector<const Folder*> Account::folders() const {
  std::vector<const Folder*> all;
  for (const auto& f : folders_) all.push_back(f.get());
  std::sort(all.begin() + 1, all.end(),
            [](const Folder* a, const Folder* b) { return a->name() < b->name(); });
  return all;
}

// ---- MailStore ----

MailStore::MailStore(std::string domain)
    : domain_(std::move(domain)), clock_(std::make_shared<detail::StoreClock>()) {}

std::string MailStore::account_key(std::string_view user) const {
  std::size_t at = user.rfind('@');
  std::string_view domain = at == std::string_view::npos ? domain_ : user.substr(at + 1);
  std::string key(user.substr(0, at));
  key += '@';
  for (char c : domain) key += lower(c);
  return key;
}

Account& MailStore::add_account(std::string address, std::string password) {
  std::string key = account_key(address);
  if (auto it = by_key_.find(key); it != by_key_.end()) return *it->second;
  accounts_.push_back(std::make_unique<Account>(std::move(address), std::move(password), clock_));
  by_key_.emplace(std::move(key), accounts_.back().get());
  ++clock_->version;
  return *accounts_.back();
}

Account* MailStore::find_account(std::string_view user) {
  auto it = by_key_.find(account_key(user));
  return it == by_key_.end() ? nullptr : it->second;
}

const Account* MailStore::find_account(std::string_view user) const {
  return const_cast<MailStore*>(this)->find_account(user);
}

std::vector<const Account*> MailStore::accounts() const {
  std::vector<const Account*> all;
  for (const auto& a : accounts_) all.push_back(a.get());
  return all;
}

std::uint32_t MailStore::deliver(std::string_view address, std::string text, double when) {
  Account* account = find_account(address);
  if (account == nullptr) return 0;
  return account->inbox().append(std::move(text), {}, when);
}

}  // namespace mailsim::store

#include "sim/mailboxes.hpp"

#include <set>

namespace mailsim::sim {

namespace {

// The folder called `name`, made with its superiors ("a/b/c" makes "a" and "a/b" first).
store::Folder& make_folder(store::Account& account, const std::string& name) {
  if (store::Account::is_inbox(name)) return account.inbox();
  for (auto slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1))
    account.create_folder(name.substr(0, slash)).set_subscribed(true);
  auto& folder = account.create_folder(name);
  folder.set_subscribed(true);
  return folder;
}

}  // namespace

void open_mailboxes(const scenario::Scenario& scenario, const StoreForDomain& store_for) {
  for (const auto& person : scenario.people) {
    auto* store = store_for(person.address.substr(person.address.rfind('@') + 1));
    if (store == nullptr)
      continue;  // the loader checked every address; a hand-built scenario may skip it
    auto& account = store->add_account(person.address, person.password);
    for (const auto& preloaded : person.mailbox) {
      auto& folder = make_folder(account, preloaded.name);
      for (const auto& message : preloaded.messages)
        folder.append(message.text,
                      std::set<std::string>(message.flags.begin(), message.flags.end()), 0);
    }
  }
}

MailStores build_stores(const scenario::Scenario& scenario) {
  MailStores stores;
  for (const auto& provider : scenario.providers)
    stores[provider.domain] = std::make_unique<store::MailStore>(provider.domain);
  open_mailboxes(scenario, [&stores](const std::string& domain) -> store::MailStore* {
    auto it = stores.find(domain);
    return it == stores.end() ? nullptr : it->second.get();
  });
  return stores;
}

std::optional<msg::Composition> compose_web_submission(store::Account& account,
                                                       const std::string& from,
                                                       const std::string& from_name,
                                                       const webmail::Submission& s) {
  msg::Composition c;
  c.from_name = from_name;
  c.from = from;
  c.to = s.to;
  c.cc = s.cc;
  c.bcc = s.bcc;
  c.subject = s.subject;
  c.body = s.body;
  c.attachments = s.attachments;
  if (s.reply_to) {
    auto* folder = account.folder(s.reply_to->first);
    const auto* parent = folder ? folder->find(s.reply_to->second) : nullptr;
    if (parent == nullptr) return std::nullopt;
    auto reply = msg::reply_headers(parent->text);
    c.in_reply_to = reply.in_reply_to;
    c.references = reply.references;
    folder->add_flags(parent->uid, {"\\Answered"});
  }
  return c;
}

}  // namespace mailsim::sim

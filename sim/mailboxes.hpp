// The mailboxes a scenario starts with: one account per person, with its password, in the
// store that serves the person's domain, then the folders and messages the scenario preloads.
//
// `run` keeps one store per provider (build_stores); `serve` keeps one store for all of them.
// Both go through open_mailboxes(), so the simulation and the real-socket server start from
// the same mailboxes. Plain data only: no SimGrid, no I/O (the loader has already read every
// file).
#pragma once

#include "models/message.hpp"
#include "models/store.hpp"
#include "models/webmail.hpp"
#include "sim/scenario.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace mailsim::sim {

// The store that keeps a domain's mailboxes, or nullptr when no provider serves the domain.
using StoreForDomain = std::function<store::MailStore*(const std::string& domain)>;

// Adds every person of the scenario whose domain has a store as an account of that store, with
// the mailbox the scenario preloads. A preloaded folder below another ("Archive/2025") gets its
// superiors too (RFC 3501 6.3.3); every preloaded folder is subscribed; preloaded messages take
// UIDs 1, 2, ... in file order, the flags as given, and simulated time 0 (the scenario's
// epoch) as their internal date.
void open_mailboxes(const scenario::Scenario& scenario, const StoreForDomain& store_for);

// Mail stores by provider domain ("cms.com").
using MailStores = std::map<std::string, std::unique_ptr<store::MailStore>>;

// One store per provider, opened with open_mailboxes(): what a run starts with.
MailStores build_stores(const scenario::Scenario& scenario);

// The message a webmail user's form asks for, sent from `from` (the account's address) under
// `from_name`: recipients, subject, body and attachments as posted and, for a reply,
// In-Reply-To and References from the parent, which is flagged \Answered (rfc5322.txt 3.6.4).
// nullopt, with nothing flagged, when the parent is not in the account. The caller sets the
// Date, its zone and the Message-ID.
std::optional<msg::Composition> compose_web_submission(store::Account& account,
                                                       const std::string& from,
                                                       const std::string& from_name,
                                                       const webmail::Submission& s);

}  // namespace mailsim::sim

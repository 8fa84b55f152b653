// The providers' mail stores as a run starts, built from a scenario.
//
// One function, used by both `mailsim run` (sim/world.cpp) and `mailsim serve`, so that the
// simulation and the real-socket server start from the same mailboxes: an account for every
// person at their provider's domain, then the folders and messages the scenario preloads.
// Plain data only: no SimGrid, no I/O (the loader has already read every file).
#pragma once

#include "models/store.hpp"
#include "sim/scenario.hpp"

#include <map>
#include <memory>
#include <string>

namespace mailsim::sim {

// Mail stores by provider domain ("cms.com").
using MailStores = std::map<std::string, std::unique_ptr<store::MailStore>>;

// Every provider's store with its accounts and preloaded mailboxes. A preloaded folder below
// another ("Archive/2025") gets its superiors too (RFC 3501 6.3.3); every preloaded folder is
// subscribed; preloaded messages take UIDs 1, 2, ... in file order, the flags as given, and
// simulated time 0 (the scenario's epoch) as their internal date.
MailStores build_stores(const scenario::Scenario& scenario);

}  // namespace mailsim::sim

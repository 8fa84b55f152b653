// The mailboxes a scenario starts with: one account per person, with its password, in the
// store that serves the person's domain. `run` keeps one store per provider; `serve` keeps one
// store for all of them. Both go through open_mailboxes(), so whatever a scenario says about
// its mailboxes reaches both the same way.
#pragma once

#include "models/store.hpp"
#include "sim/scenario.hpp"

#include <functional>
#include <string>

namespace mailsim::sim {

// The store that keeps a domain's mailboxes, or nullptr when no provider serves the domain.
using StoreForDomain = std::function<store::MailStore*(const std::string& domain)>;

// Adds every person of the scenario whose domain has a store as an account of that store.
void open_mailboxes(const scenario::Scenario& scenario, const StoreForDomain& store_for);

}  // namespace mailsim::sim

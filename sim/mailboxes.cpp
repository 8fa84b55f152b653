#include "sim/mailboxes.hpp"

namespace mailsim::sim {

void open_mailboxes(const scenario::Scenario& scenario, const StoreForDomain& store_for)
{
  for (const auto& person : scenario.people) {
    auto at = person.address.rfind('@');
    if (auto* store = store_for(person.address.substr(at + 1)))
      store->add_account(person.address, person.password);
  }
}

}  // namespace mailsim::sim

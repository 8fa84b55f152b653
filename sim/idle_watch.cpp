// The registry of sessions parked in IMAP IDLE (see idle_watch.hpp).
#include "sim/idle_watch.hpp"

#include <xbt/log.h>

#include <algorithm>
#include <map>
#include <vector>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_idle, mailsim, "Sessions parked in IMAP IDLE");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

// By account, the parked sessions; one simulation per process.
std::map<const store::Account*, std::vector<IdleWatch*>>& parked()
{
  static std::map<const store::Account*, std::vector<IdleWatch*>> all;
  return all;
}

int wake_token = 0;  // what a wake-up carries; its address is all that travels

}  // namespace

IdleWatch::IdleWatch(const store::Account& account, const std::string& connection_id)
    : account_(&account), mailbox_(sg4::Mailbox::by_name("idle:" + connection_id))
{
  parked()[account_].push_back(this);
}

IdleWatch::~IdleWatch()
{
  auto& list = parked()[account_];
  list.erase(std::remove(list.begin(), list.end(), this), list.end());
  // A receive still posted ends with the actor; no blocking call here, since the destructor
  // also runs while SimGrid kills the daemons at the end of the run.
}

sg4::CommPtr IdleWatch::arm()
{
  if (not pending_) {
    pending_ = mailbox_->get_async<int>(&token_);
    armed_ = true;
  }
  return pending_;
}

void IdleWatch::woken()
{
  pending_ = nullptr;
  armed_ = false;
}

void IdleWatch::wake(const store::Account* account)
{
  auto it = parked().find(account);
  if (it == parked().end())
    return;
  for (auto* watch : it->second)
    if (watch->armed_) {
      watch->armed_ = false;
      XBT_DEBUG("wake %s", watch->mailbox_->get_cname());
      watch->mailbox_->put_init(&wake_token, 0)->detach();
    }
}

void IdleWatch::wake_all(const store::MailStore& store)
{
  // Only the accounts with a parked session are looked at, not every account of the store.
  for (const auto& [account, watches] : parked())
    if (not watches.empty() && store.find_account(account->address()) == account)
      wake(account);
}

}  // namespace mailsim::sim

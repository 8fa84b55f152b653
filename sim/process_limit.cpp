#include "sim/process_limit.hpp"

#include <xbt/log.h>

#include <utility>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_process_limit, mailsim, "Process limits of services");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

void ProcessLimit::take()
{
  if (limit_ <= 0 || busy_ < limit_) {
    busy_++;
    return;
  }
  if (not std::exchange(warned_, true))
    XBT_WARN("%s reached its process limit of %d: new clients wait for a free process",
             service_.c_str(), limit_);
  // give_back() hands its process straight to the actor it resumes: busy_ stays the same.
  waiting_.push_back(sg4::Actor::self());
  sg4::this_actor::suspend();
}

void ProcessLimit::give_back()
{
  if (waiting_.empty()) {
    busy_--;
    return;
  }
  auto next = waiting_.front();
  waiting_.pop_front();
  next->resume();
}

}  // namespace mailsim::sim

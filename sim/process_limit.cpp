#include "sim/process_limit.hpp"

#include <xbt/log.h>

#include <utility>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_process_limit, mailsim, "Process limits of services");

namespace mailsim::sim {

bool ProcessLimit::try_take()
{
  if (limit_ > 0 && busy_ >= limit_)
    return false;
  busy_++;
  return true;
}

void ProcessLimit::wait(Socket& socket, std::function<void()> start)
{
  if (not std::exchange(warned_, true))
    XBT_WARN("%s reached its process limit of %d: new clients wait for a free process",
             service_.c_str(), limit_);
  socket.park(simgrid::s4u::ActorPtr(kernel_));
  waiting_.push_back(std::move(start));
}

void ProcessLimit::give_back()
{
  if (waiting_.empty()) {
    busy_--;
    return;
  }
  // The process goes straight to the next connection: busy_ stays the same.
  auto start = std::move(waiting_.front());
  waiting_.pop_front();
  start();
}

}  // namespace mailsim::sim

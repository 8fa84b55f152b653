#include "sim/retry.hpp"

#include <algorithm>

namespace mailsim::sim {

double retry_interval(const scenario::QueuePolicy& policy, int failures)
{
  double wait = policy.first_retry_s;
  for (int n = 1; n < failures && wait < policy.max_retry_interval_s; n++)
    wait *= 2;
  return std::min(wait, policy.max_retry_interval_s);
}

RetryDecision after_temporary_failure(const scenario::QueuePolicy& policy, double arrived,
                                      double now, int failures)
{
  if (now - arrived >= policy.give_up_s)
    return {true, 0};
  return {false, now + retry_interval(policy, failures)};
}

}  // namespace mailsim::sim

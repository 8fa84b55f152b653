// The queue manager's retry schedule, as a pure function of time, so that it
// can be tested without a simulation (qmgr.cpp explains the policy).
#pragma once

#include "sim/scenario.hpp"

namespace mailsim::sim {

// What the queue manager does after a temporary failure.
struct RetryDecision {
  bool give_up = false;      // return the message to its sender (a "failed" DSN)
  double next_attempt = 0;   // otherwise, when to try again (simulated seconds)
};

// The wait after the n-th failed attempt (n >= 1): first_retry doubled n - 1
// times, never more than max_retry_interval.
double retry_interval(const scenario::QueuePolicy& policy, int failures);

// After the n-th failed attempt, at `now`, of a message that arrived at
// `arrived`: give up once it has been queued for give_up or longer, as
// Postfix does with maximal_queue_lifetime; otherwise wait retry_interval.
RetryDecision after_temporary_failure(const scenario::QueuePolicy& policy, double arrived,
                                      double now, int failures);

}  // namespace mailsim::sim

// The queue manager's retry schedule (sim/retry.hpp): RFC 5321 4.5.4.1 asks
// a sender to retry after a temporary failure and to give up only after a
// long time; mailsim follows Postfix's figures and doubling (qmgr.cpp).
#include <catch2/catch.hpp>

#include "sim/retry.hpp"

using mailsim::scenario::QueuePolicy;
using mailsim::sim::after_temporary_failure;
using mailsim::sim::retry_interval;

TEST_CASE("Retry intervals double from 5 minutes up to 4000 s by default", "[retry]") {
  QueuePolicy defaults;
  CHECK(retry_interval(defaults, 1) == 300);
  CHECK(retry_interval(defaults, 2) == 600);
  CHECK(retry_interval(defaults, 3) == 1200);
  CHECK(retry_interval(defaults, 4) == 2400);
  CHECK(retry_interval(defaults, 5) == 4000);  // 4800 capped at maximal_backoff_time
  CHECK(retry_interval(defaults, 6) == 4000);
  CHECK(retry_interval(defaults, 1000) == 4000);
}

TEST_CASE("A scenario's queue settings change the schedule", "[retry]") {
  QueuePolicy policy;
  policy.first_retry_s = 60;
  policy.max_retry_interval_s = 150;
  CHECK(retry_interval(policy, 1) == 60);
  CHECK(retry_interval(policy, 2) == 120);
  CHECK(retry_interval(policy, 3) == 150);
}

TEST_CASE("The next attempt comes one interval after the failure", "[retry]") {
  QueuePolicy defaults;
  // server-down-retry.json: queued at 0.137 s, first attempt timed out at 30.141 s.
  auto first = after_temporary_failure(defaults, 0.137, 30.141, 1);
  CHECK_FALSE(first.give_up);
  CHECK(first.next_attempt == Approx(330.141));
  auto second = after_temporary_failure(defaults, 0.137, 360.141, 2);
  CHECK_FALSE(second.give_up);
  CHECK(second.next_attempt == Approx(960.141));
}

TEST_CASE("A message queued for the give-up time or longer is returned", "[retry]") {
  QueuePolicy policy;
  policy.give_up_s = 1800;
  // server-down-gives-up.json: the fourth attempt fails 2220 s after arrival.
  CHECK(after_temporary_failure(policy, 0, 990, 3).give_up == false);
  CHECK(after_temporary_failure(policy, 0, 2220, 4).give_up == true);
  CHECK(after_temporary_failure(policy, 100, 1899.5, 4).give_up == false);
  CHECK(after_temporary_failure(policy, 100, 1900, 4).give_up == true);  // exactly the limit

  QueuePolicy defaults;  // 5 days, Postfix's maximal_queue_lifetime
  CHECK(after_temporary_failure(defaults, 0, 5 * 86400 - 1, 40).give_up == false);
  CHECK(after_temporary_failure(defaults, 0, 5 * 86400, 40).give_up == true);

  QueuePolicy once;  // give_up 0: one attempt only
  once.give_up_s = 0;
  CHECK(after_temporary_failure(once, 0, 30, 1).give_up == true);
}

// qmgr: the queue manager of a provider's server.
//
// Messages accepted by smtpd or webmail land in the active queue. The queue
// manager takes them in arrival order and starts one delivery job per
// destination: a local delivery per local recipient, one SMTP relay per remote
// domain, each in its own actor, at most `kConcurrency` at a time per server
// (Postfix's default_destination_concurrency_limit is 20).
//
// Retry policy (RFC 5321 4.5.4.1). A temporary failure (no MX host answers
// the connection, or a 4xx reply) keeps the recipient in the deferred queue;
// nothing is dropped. The message waits, then is tried again, the wait
// doubling each time: 5 min, 10, 20, 40, then 4000 s (66.7 min) apart, until
// it has been queued for 5 days, when the sender gets a "failed" DSN.
// These are Postfix's defaults (minimal_backoff_time, maximal_backoff_time,
// maximal_queue_lifetime), and a provider's "queue" settings change them.
// Why not RFC 5321's own figures? Its section 4.5.4.1 asks for at least
// 30 minutes between tries and at least 4-5 days before giving up, and
// warns that retrying too eagerly loads a sick server further; Postfix
// starts sooner because most outages are short, and backs off fast because
// long ones are long. Teaching scenarios last minutes, so the short first
// wait is the one a student can watch; the doubling holds a five-day outage
// to about 110 attempts, where a fixed 5 minutes would make 1,440. The
// recipients of one destination that failed together wait together; a 5xx
// reply is permanent and bounces at once (RFC 5321 4.2.1). A deferred job is
// plain data with a due time, not a sleeping actor: the queue manager wakes
// for the earliest one.
//
// Bounces (RFC 5321 4.5.5, RFC 3464): a recipient that fails for good is
// reported to the message's envelope sender by bounce.cpp, in one DSN per
// message and delivery attempt, itself queued here with MAIL FROM:<>.
#include "sim/daemons.hpp"

#include "sim/retry.hpp"
#include "sim/world.hpp"

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <deque>
#include <fmt/format.h>
#include <map>
#include <memory>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_qmgr, mailsim, "Queue manager (qmgr)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

constexpr unsigned kConcurrency = 20;

// One delivery job: a message to the recipients of one destination.
struct Job {
  std::shared_ptr<const QueuedMessage> message;
  std::string domain;              // destination domain
  std::vector<std::string> recipients;
  bool local = false;
  int attempts = 0;
};

const char* status_word(DeliveryStatus status)
{
  return status == DeliveryStatus::sent       ? "sent"
         : status == DeliveryStatus::deferred ? "deferred"
                                              : "bounced";
}

class Qmgr {
 public:
  explicit Qmgr(const scenario::Provider& provider)
      : provider_(provider), arrivals_(sg4::Semaphore::create(0)),
        slots_(sg4::Semaphore::create(kConcurrency))
  {
  }

  void enqueue(QueuedMessage message)
  {
    auto shared = std::make_shared<const QueuedMessage>(std::move(message));
    // Split the recipients by destination, keeping their order.
    std::map<std::string, std::size_t> by_domain;
    for (const auto& rcpt : shared->envelope.recipients) {
      std::string domain = rcpt.substr(rcpt.rfind('@') + 1);
      bool local = domain == provider_.domain;
      if (local) {
        active_.push_back({shared, domain, {rcpt}, true});
      } else if (auto it = by_domain.find(domain); it != by_domain.end()) {
        pending_[it->second].recipients.push_back(rcpt);
      } else {
        by_domain[domain] = pending_.size();
        pending_.push_back({shared, domain, {rcpt}, false});
      }
    }
    for (auto& job : pending_)
      active_.push_back(std::move(job));
    pending_.clear();
    trace(*shared, fmt::format("{}: from=<{}>, size={}, nrcpt={} (queue active)", shared->queue_id,
                               shared->envelope.mail_from, shared->envelope.message.size(),
                               shared->envelope.recipients.size()));
    arrivals_->release();
  }

  // The queue manager's loop: wait for work or for the next deferred job.
  void run()
  {
    while (true) {
      double now = sg4::Engine::get_clock();
      if (not deferred_.empty() && deferred_.begin()->first <= now) {
        auto node = deferred_.extract(deferred_.begin());
        active_.push_back(std::move(node.mapped()));
        continue;
      }
      if (active_.empty()) {
        if (deferred_.empty())
          arrivals_->acquire();
        else if (arrivals_->acquire_timeout(deferred_.begin()->first - now))
          continue;  // timed out: a deferred job is due
        continue;
      }
      // A server that is down does nothing: its queue waits for it.
      if (double back = World::get().back_up_at(provider_.host, now); back > now) {
        sg4::this_actor::sleep_until(back);
        continue;
      }
      Job job = std::move(active_.front());
      active_.pop_front();
      slots_->acquire();
      dispatch(std::move(job));
    }
  }

 private:
  void dispatch(Job job)
  {
    auto& world = World::get();
    const auto& host = world.platform().host(provider_.host);
    double now = sg4::Engine::get_clock();
    job.attempts++;
    for (const auto& rcpt : job.recipients) {
      auto& timeline = world.timeline(job.message->message_id, rcpt);
      if (job.local || not is_sender_of(timeline))
        continue;
      timeline.relay_start = now;  // the last attempt's start: queueing includes every wait
      timeline.attempts = job.attempts;
    }
    if (job.attempts > 1)
      trace(*job.message, fmt::format("{}: to={}, attempt {}: retrying, {:.1f} s after arrival",
                                      job.message->queue_id, brackets(job.recipients),
                                      job.attempts, now - job.message->queued_at));
    sg4::Actor::create(job.local ? "local" : "smtp", host.host, [this, job]() mutable {
      std::vector<DeliveryResult> results;
      if (job.local)
        results.push_back(deliver_locally(provider_, *job.message, job.recipients.front()));
      else
        results = relay(provider_, *job.message, job.domain, job.recipients);
      finish(std::move(job), results);
      slots_->release();
    })->daemonize();
  }

  // Logs each recipient's outcome; defers, retries or bounces the failures.
  void finish(Job job, const std::vector<DeliveryResult>& results)
  {
    double now = sg4::Engine::get_clock();
    const auto& message = *job.message;
    double delay = now - message.queued_at;
    std::vector<std::string> deferred;
    std::vector<std::pair<std::string, DeliveryResult>> failed;
    for (std::size_t i = 0; i < job.recipients.size(); i++) {
      const auto& rcpt = job.recipients[i];
      const auto& result = results[i];
      trace(message, fmt::format("{}: to=<{}>, delay={:.3f}, status={} ({})", message.queue_id,
                                 rcpt, delay, status_word(result.status), result.diagnostic));
      if (result.status != DeliveryStatus::sent || job.attempts > 1 || not result.skipped.empty())
        note(message, rcpt, fmt::format("attempt {}: {} ({})", job.attempts,
                                        status_word(result.status), result.diagnostic));
      if (result.status == DeliveryStatus::deferred)
        deferred.push_back(rcpt);
      else if (result.status == DeliveryStatus::bounced)
        failed.emplace_back(rcpt, result);
    }

    if (not deferred.empty()) {
      auto decision =
          after_temporary_failure(provider_.queue, message.queued_at, now, job.attempts);
      if (decision.give_up) {
        for (std::size_t i = 0; i < job.recipients.size(); i++)
          if (results[i].status == DeliveryStatus::deferred) {
            const auto& rcpt = job.recipients[i];
            trace(message, fmt::format("{}: to=<{}>, status=expired: still failing after {} "
                                       "attempts in {:.1f} s (give-up time {:.0f} s), returned "
                                       "to sender",
                                       message.queue_id, rcpt, job.attempts, delay,
                                       provider_.queue.give_up_s));
            note(message, rcpt, fmt::format("given up after {} attempts", job.attempts));
            failed.emplace_back(rcpt, results[i]);
          }
      } else {
        trace(message, fmt::format("{}: to={}, deferred: next attempt at {:.3f} s, in {:.0f} s",
                                   message.queue_id, brackets(deferred), decision.next_attempt,
                                   decision.next_attempt - now));
        for (const auto& rcpt : deferred)
          note(message, rcpt, fmt::format("kept in the deferred queue; next attempt at {:.3f} s",
                                          decision.next_attempt));
        job.recipients = deferred;
        deferred_.emplace(decision.next_attempt, std::move(job));
        arrivals_->release();  // wake the loop so that it sees the new due time
      }
    }
    if (not failed.empty())
      bounce(provider_, message, failed);
  }

  // Whether this server took the message from its author (so the timeline's
  // relay steps are ours, not a backup MX's second hop).
  bool is_sender_of(const Timeline& timeline) const
  {
    return timeline.sending_server.empty() || timeline.sending_server == provider_.host;
  }

  // One line of the message's queue history, for the summary.
  void note(const QueuedMessage& message, const std::string& rcpt, const std::string& text)
  {
    auto& timeline = World::get().timeline(message.message_id, rcpt);
    timeline.queue_notes.push_back(fmt::format("{:>12.6f}  {} {}: {}", sg4::Engine::get_clock(),
                                               provider_.host, message.queue_id, text));
  }

  static std::string brackets(const std::vector<std::string>& recipients)
  {
    std::string out;
    for (const auto& r : recipients)
      out += (out.empty() ? "<" : ", <") + r + ">";
    return out;
  }

  void trace(const QueuedMessage& message, std::string summary)
  {
    TraceEvent event;
    event.time = sg4::Engine::get_clock();
    event.kind = "queue";
    event.src_host = provider_.host;
    event.src_actor = "qmgr";
    event.summary = std::move(summary);
    event.message_id = message.message_id;
    World::get().recorder().add(std::move(event));
  }

  const scenario::Provider& provider_;
  std::deque<Job> active_;
  std::vector<Job> pending_;
  std::multimap<double, Job> deferred_;
  sg4::SemaphorePtr arrivals_;
  sg4::SemaphorePtr slots_;
};

// One queue manager per provider; one simulation per process.
std::map<std::string, std::unique_ptr<Qmgr>>& managers()
{
  static std::map<std::string, std::unique_ptr<Qmgr>> all;
  return all;
}

}  // namespace

void start_qmgr(const scenario::Provider& provider)
{
  auto& manager = managers()[provider.domain];
  manager = std::make_unique<Qmgr>(provider);
  auto* qmgr = manager.get();
  const auto& host = World::get().platform().host(provider.host);
  sg4::Actor::create("qmgr", host.host, [qmgr]() { qmgr->run(); })->daemonize();
}

void qmgr_enqueue(const std::string& domain, QueuedMessage message)
{
  managers().at(domain)->enqueue(std::move(message));
}

}  // namespace mailsim::sim

// qmgr: the queue manager of a provider's server.
//
// Messages accepted by smtpd or webmail land in the active queue. The queue
// manager takes them in arrival order and starts one delivery job per
// destination: a local delivery per local recipient, one SMTP relay per remote
// domain, each in its own actor, at most `kConcurrency` at a time per server
// (Postfix's default_destination_concurrency_limit is 20).
//
// Retry policy (RFC 5321 4.5.4.1). A temporary failure (4xx reply, no MX host
// reachable) moves the job to the deferred queue. RFC 5321 asks for a retry
// interval of at least 30 minutes and a give-up time of at least 4-5 days;
// we follow Postfix instead, which retries after 5 minutes and doubles the
// wait up to 4000 s, because teaching scenarios last minutes, and give up
// after 5 days. A deferred job is plain data with a due time, not a sleeping
// actor: the queue manager wakes for the earliest one.
#include "sim/daemons.hpp"

#include "sim/world.hpp"

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <deque>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <set>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_qmgr, mailsim, "Queue manager (qmgr)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

constexpr unsigned kConcurrency = 20;
constexpr double kMinimalBackoff = 300;
constexpr double kMaximalBackoff = 4000;
constexpr double kMaximalQueueLifetime = 5 * 86400;

// One delivery job: a message to the recipients of one destination.
struct Job {
  std::shared_ptr<const QueuedMessage> message;
  std::string domain;              // destination domain
  std::vector<std::string> recipients;
  bool local = false;
  int attempts = 0;
  double backoff = kMinimalBackoff;
};

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
    job.attempts++;
    for (const auto& rcpt : job.recipients) {
      auto& timeline = world.timeline(job.message->message_id, rcpt);
      if (not job.local && timeline.relay_start < 0)
        timeline.relay_start = sg4::Engine::get_clock();
    }
    sg4::Actor::create(job.local ? "local" : "smtp", host.host, [this, job]() mutable {
      std::string diagnostic;
      DeliveryStatus status =
          job.local ? deliver_locally(provider_, *job.message, job.recipients.front(), &diagnostic)
                    : relay(provider_, *job.message, job.domain, job.recipients, &diagnostic);
      finish(std::move(job), status, diagnostic);
      slots_->release();
    })->daemonize();
  }

  void finish(Job job, DeliveryStatus status, const std::string& diagnostic)
  {
    double now = sg4::Engine::get_clock();
    double delay = now - job.message->queued_at;
    std::string rcpts;
    for (const auto& r : job.recipients)
      rcpts += (rcpts.empty() ? "<" : ", <") + r + ">";
    const char* word = status == DeliveryStatus::sent       ? "sent"
                       : status == DeliveryStatus::deferred ? "deferred"
                                                            : "bounced";
    trace(*job.message, fmt::format("{}: to={}, delay={:.3f}, status={} ({})",
                                    job.message->queue_id, rcpts, delay, word, diagnostic));
    if (status == DeliveryStatus::deferred) {
      if (now - job.message->queued_at + job.backoff > kMaximalQueueLifetime) {
        trace(*job.message, fmt::format("{}: to={}, status=expired, returned to sender",
                                        job.message->queue_id, rcpts));
        return;
      }
      double due = now + job.backoff;
      job.backoff = std::min(job.backoff * 2, kMaximalBackoff);
      deferred_.emplace(due, std::move(job));
      arrivals_->release();  // wake the loop so that it sees the new due time
    }
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

#include "sim/trace.hpp"

namespace mailsim::sim {

std::uint64_t Recorder::add(TraceEvent event)
{
  std::uint64_t seq = tally(event.kind, event.bytes, event.tls, event.tls_overhead);
  event.seq = seq;
  if (keep_)
    events_.push_back(std::move(event));
  return seq;
}

std::uint64_t Recorder::tally(const std::string& kind, std::uint64_t bytes, bool tls,
                              std::uint64_t tls_overhead)
{
  if (bytes > 0) {
    bytes_by_kind_[kind] += bytes;
    flights_by_kind_[kind] += 1;
    if (tls)
      tls_overhead_by_kind_[kind] += tls_overhead;
  }
  return next_seq_++;
}

void Recorder::set_arrival(std::uint64_t seq, double arrival)
{
  if (keep_ && seq < events_.size())
    events_[seq].arrival = arrival;
}

}  // namespace mailsim::sim

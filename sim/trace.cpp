#include "sim/trace.hpp"

namespace mailsim::sim {

std::uint64_t Recorder::add(TraceEvent event)
{
  event.seq = next_seq_++;
  if (event.bytes > 0) {
    bytes_by_kind_[event.kind] += event.bytes;
    flights_by_kind_[event.kind] += 1;
    if (event.tls)
      tls_overhead_by_kind_[event.kind] += event.tls_overhead;
  }
  if (keep_)
    events_.push_back(std::move(event));
  return next_seq_ - 1;
}

void Recorder::set_arrival(std::uint64_t seq, double arrival)
{
  if (keep_ && seq < events_.size())
    events_[seq].arrival = arrival;
}

}  // namespace mailsim::sim

// Deterministic pseudo-random numbers for the simulation.
//
// Theory of operation. A Random is SplitMix64 (Steele, Lea and Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014): 64 bits of state advanced by a fixed odd
// constant and mixed by two multiply-xorshift rounds. It is ours, not the standard library's,
// because std::uniform_int_distribution and friends give different numbers on different
// standard libraries, and a scenario with a seed must give a byte-identical trace everywhere.
// Independent streams (one per attachment, say) come from mixing the seed with a stream number,
// so adding a stream never shifts the numbers of another.
//
// Not for cryptography.
#pragma once

#include <cstdint>
#include <string>

namespace mailsim::rnd {

class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  // A generator for stream `stream` of `seed`, independent of the other streams.
  static Random stream(std::uint64_t seed, std::uint64_t stream);

  // The next 64 random bits.
  std::uint64_t next();
  // `size` random octets.
  std::string bytes(std::size_t size);

 private:
  std::uint64_t state_;
};

}  // namespace mailsim::rnd

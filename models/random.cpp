#include "models/random.hpp"

namespace mailsim::rnd {

Random Random::stream(std::uint64_t seed, std::uint64_t stream) {
  Random mixer(seed ^ (stream * 0xd1b54a32d192ed03ULL));
  mixer.next();
  return Random(mixer.next());
}

std::uint64_t Random::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string Random::bytes(std::size_t size) {
  std::string out(size, '\0');
  std::size_t i = 0;
  while (i < size) {
    std::uint64_t word = next();
    for (int k = 0; k < 8 && i < size; ++k, ++i, word >>= 8)
      out[i] = static_cast<char>(word & 0xff);
  }
  return out;
}

}  // namespace mailsim::rnd

// Unit tests of models/random: SplitMix64 gives the published numbers on every platform.
#include "models/random.hpp"

#include <catch2/catch.hpp>

using mailsim::rnd::Random;

TEST_CASE("SplitMix64 gives the reference sequence for seed 0", "[random]") {
  Random r(0);
  CHECK(r.next() == 0xe220a8397b1dcdafULL);
  CHECK(r.next() == 0x6e789e6aa1b965f4ULL);
  CHECK(r.next() == 0x06c45d188009454fULL);
}

TEST_CASE("Random bytes are the generator's words, low octet first", "[random]") {
  CHECK(Random(0).bytes(10) == std::string("\xaf\xcd\x1d\x7b\x39\xa8\x20\xe2\xf4\x65", 10));
  CHECK(Random(7).bytes(0).empty());
}

TEST_CASE("Streams of one seed are repeatable and differ from each other", "[random]") {
  CHECK(Random::stream(1, 0).bytes(32) == Random::stream(1, 0).bytes(32));
  CHECK(Random::stream(1, 0).bytes(32) != Random::stream(1, 1).bytes(32));
  CHECK(Random::stream(1, 0).bytes(32) != Random::stream(2, 0).bytes(32));
}

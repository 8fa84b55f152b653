// What the timing tests (network_timing_test, tls_timing_test) share: the simulation of two
// places A and B joined by one wide-area link, a client host at A and a server host at B behind
// access links, and the checks that print one line each and count the failures.
#pragma once

#include "sim/platform.hpp"
#include "sim/world.hpp"

#include <xbt/log.h>
#include <simgrid/s4u.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mailsim::timing_test {

// The scenario: places A and B, a 0.120 s, 1 MB/s wide-area link between them, and one person
// at each with one device ("client" at A, "server" at B) on a 5 ms, 12.5 MB/s access link.
inline scenario::Scenario two_places(const std::string& name) {
  scenario::Scenario s;
  s.name = name;
  s.end_s = 100;
  s.places = {{"A", "", 0, 0, 0}, {"B", "", 0, 0, 0}};
  s.links = {{"A", "B", 0.120, 1e6, "test"}};
  s.dns.place = "A";
  s.dns.address = "192.0.2.53";
  scenario::Person p;
  p.name = "P";
  p.address = "p@example.org";
  p.place = "A";
  scenario::Device d;
  d.name = "d";
  d.host = "client";
  d.address = "203.0.113.1";
  d.access = {0.005, 12.5e6, ""};
  p.devices.push_back(d);
  scenario::Person q = p;
  q.name = "Q";
  q.place = "B";
  q.devices[0].host = "server";
  q.devices[0].address = "203.0.113.2";
  s.people = {p, q};
  return s;
}

// Applies SimGrid's command-line options without their "Configuration change" chatter.
inline int* quiet_configuration(int* argc) {
  xbt_log_control_set("xbt_cfg.thres:warning");
  return argc;
}

// A timing test's simulation: the engine (with the command line's --cfg options), our network
// model (sim/platform.cpp) and the world of two_places(name).
class TwoPlaces {
 public:
  TwoPlaces(int* argc, char** argv, const std::string& name)
      : engine(quiet_configuration(argc), argv),
        places(configure(engine, name)),
        world(places, true),
        client(world.platform().host("client")),
        server(world.platform().host("server")) {}

  // Sets our network model on `engine` (before any host exists) and returns two_places(name).
  static scenario::Scenario configure(simgrid::s4u::Engine& engine, const std::string& name) {
    sim::configure_network(engine);
    return two_places(name);
  }

  // One-way latency from client to server (access, wide area, access), and the bottleneck
  // bandwidth (the wide-area link).
  static constexpr double latency = 0.005 + 0.120 + 0.005;
  static constexpr double bandwidth = 1e6;

  simgrid::s4u::Engine engine;
  const scenario::Scenario places;
  sim::World world;
  const sim::HostEntry& client;
  const sim::HostEntry& server;
};

// Checks that print "what got want ok|FAILED", `width` columns for `what`, and count failures.
class Checks {
 public:
  explicit Checks(int width) : width_(width) {}

  // A duration, to a nanosecond.
  void time(const char* what, double got, double want) {
    bool ok = std::fabs(got - want) < 1e-9;
    std::printf("%-*s got %.9f want %.9f %s\n", width_, what, got, want, ok ? "ok" : "FAILED");
    failures_ += ok ? 0 : 1;
  }

  // A count, exactly.
  void count(const char* what, std::uint64_t got, std::uint64_t want) {
    bool ok = got == want;
    std::printf("%-*s got %llu want %llu %s\n", width_, what, static_cast<unsigned long long>(got),
                static_cast<unsigned long long>(want), ok ? "ok" : "FAILED");
    failures_ += ok ? 0 : 1;
  }

  // A failure found some other way, said in `message`.
  void fail(const std::string& message) {
    std::printf("%s\n", message.c_str());
    failures_++;
  }

  // Prints `all_hold` or `failed` and returns the test's exit status.
  int summary(const char* all_hold, const char* failed) const {
    std::printf("%s\n", failures_ == 0 ? all_hold : failed);
    return failures_ == 0 ? 0 : 1;
  }

 private:
  int width_;
  int failures_ = 0;
};

}  // namespace mailsim::timing_test

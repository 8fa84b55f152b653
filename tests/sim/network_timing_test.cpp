// The network timing test: one flight of n bytes over a route of latency L
// and bottleneck bandwidth B must arrive L + n/B after it was written (the
// CM02 model, sim/platform.cpp), plus one round trip per window doubling
// when slow start applies (sim/tcp.hpp). The default LV08 model would make 6
// bytes over a 0.12 s link take about 1.56 s; this test would catch a
// regression to it. Exit status 0 when every check holds.
#include "sim/tcp.hpp"
#include "tests/sim/timing_fixture.hpp"

#include <simgrid/s4u.hpp>

#include <cstdio>

namespace sg4 = simgrid::s4u;
using namespace mailsim;

int main(int argc, char** argv)
{
  timing_test::TwoPlaces test(&argc, argv, "timing");
  timing_test::Checks checks(58);
  const double L = test.latency;
  const double B = test.bandwidth;
  checks.time("one-way route latency",
              test.world.platform().latency(test.client.host, test.server.host), L);

  const std::vector<std::size_t> sizes{6, 1000, 14600, 100000};
  // The server speaks first, as SMTP does, so that the client's handshake ACK
  // is not sharing the link with the flights measured.
  test.world.listen("server:9", "echo");  // open before any actor runs, as start_listener does
  sg4::Actor::create("server", test.server.host, [&]() {
    sim::Listener listener(test.server, 9, "echo");
    while (true) {
      auto connection = listener.accept();
      auto socket = sim::accept_connection(connection, "echo");
      socket.send("hello\r\n");
      while (auto data = socket.receive())
        socket.send("ok\r\n");
    }
  })->daemonize();
  sg4::Actor::create("client", test.client.host, [&]() {
    for (bool slow_start : {false, true}) {
      sim::ConnectionSpec spec{"test", "client", "server", "push", slow_start};
      auto socket = sim::connect(test.client, "c", test.server, 9, spec);
      socket->receive();  // the greeting
      for (auto n : sizes) {
        socket->send(std::string(n, 'x'));
        socket->receive();
      }
      socket->close();
    }
  });
  test.engine.run();

  // Find each data flight from the client and check its duration.
  double rtt = 2 * L;
  int index = 0;
  for (const auto& e : test.world.recorder().events()) {
    if (e.kind != "test" || e.dir != "C")
      continue;
    bool slow_start = index >= static_cast<int>(sizes.size());
    auto n = static_cast<double>(sizes[index % sizes.size()]);
    double extra = 0;
    if (slow_start) {
      // 14600-byte initial window (RFC 6928); 100000 bytes need two doublings.
      extra = n > 14600 ? 2 * rtt : 0;
    }
    char what[80];
    std::snprintf(what, sizeof what, "%s %6.0f bytes: arrival - write", slow_start ? "slow start" :
                  "no slow start", n);
    checks.time(what, e.arrival - e.time, extra + L + n / B);
    index++;
  }
  if (index != 2 * static_cast<int>(sizes.size()))
    checks.fail("expected " + std::to_string(2 * sizes.size()) + " flights, saw " +
                std::to_string(index));
  return checks.summary("all timing checks hold", "TIMING CHECKS FAILED");
}

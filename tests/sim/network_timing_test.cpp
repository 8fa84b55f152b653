// The network timing test: one flight of n bytes over a route of latency L
// and bottleneck bandwidth B must arrive L + n/B after it was written (the
// CM02 model, sim/platform.cpp), plus one round trip per window doubling
// when slow start applies (sim/tcp.hpp). The default LV08 model would make 6
// bytes over a 0.12 s link take about 1.56 s; this test would catch a
// regression to it. Exit status 0 when every check holds.
#include "sim/platform.hpp"
#include "sim/tcp.hpp"
#include "sim/world.hpp"

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <cmath>
#include <cstdio>

namespace sg4 = simgrid::s4u;
using namespace mailsim;

namespace {

int failures = 0;

void check(const char* what, double got, double want)
{
  bool ok = std::fabs(got - want) < 1e-9;
  std::printf("%-58s got %.9f want %.9f %s\n", what, got, want, ok ? "ok" : "FAILED");
  failures += ok ? 0 : 1;
}

scenario::Scenario two_places()
{
  scenario::Scenario s;
  s.name = "timing";
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

}  // namespace

int main(int argc, char** argv)
{
  xbt_log_control_set("xbt_cfg.thres:warning");
  sg4::Engine engine(&argc, argv);
  sim::configure_network(engine);
  auto s = two_places();
  sim::World world(s, true);
  const auto& client = world.platform().host("client");
  const auto& server = world.platform().host("server");
  const double L = 0.005 + 0.120 + 0.005;  // access, wide-area, access
  const double B = 1e6;                     // the wide-area link is the bottleneck
  check("one-way route latency", world.platform().latency(client.host, server.host), L);

  const std::vector<std::size_t> sizes{6, 1000, 14600, 100000};
  // The server speaks first, as SMTP does, so that the client's handshake ACK
  // is not sharing the link with the flights measured.
  world.listen("server:9", "echo");  // open before any actor runs, as start_listener does
  sg4::Actor::create("server", server.host, [&]() {
    sim::Listener listener(server, 9, "echo");
    while (true) {
      auto connection = listener.accept();
      auto socket = sim::accept_connection(connection, "echo");
      socket.send("hello\r\n");
      while (auto data = socket.receive())
        socket.send("ok\r\n");
    }
  })->daemonize();
  sg4::Actor::create("client", client.host, [&]() {
    for (bool slow_start : {false, true}) {
      sim::ConnectionSpec spec{"test", "client", "server", "push", slow_start};
      auto socket = sim::connect(client, "c", server, 9, spec);
      socket->receive();  // the greeting
      for (auto n : sizes) {
        socket->send(std::string(n, 'x'));
        socket->receive();
      }
      socket->close();
    }
  });
  engine.run();

  // Find each data flight from the client and check its duration.
  double rtt = 2 * L;
  int index = 0;
  for (const auto& e : world.recorder().events()) {
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
    check(what, e.arrival - e.time, extra + L + n / B);
    index++;
  }
  if (index != 2 * static_cast<int>(sizes.size())) {
    std::printf("expected %zu flights, saw %d\n", 2 * sizes.size(), index);
    failures++;
  }
  std::printf("%s\n", failures == 0 ? "all timing checks hold" : "TIMING CHECKS FAILED");
  return failures == 0 ? 0 : 1;
}

// The TLS timing test: over a route of one-way latency L and bottleneck bandwidth B, a TLS 1.3
// handshake delays the client's first data by one round trip (2L), TLS 1.2 by two, plus the
// handshake flights' transmission time and the server's handshake CPU (sim/tls.hpp). For a
// server that speaks first (an IMAP or SMTP greeting) both versions put the greeting two round
// trips after the ClientHello. Every flight's bytes on the wire include the record overhead.
// Exit status 0 when every check holds.
#include "sim/tcp.hpp"
#include "sim/tls.hpp"
#include "tests/sim/timing_fixture.hpp"

#include <simgrid/s4u.hpp>

#include <map>
#include <optional>

namespace sg4 = simgrid::s4u;
using namespace mailsim;
using sim::TlsVersion;

namespace {

// One connection of the test: which port, which TLS each side speaks, who speaks first.
struct Case {
  int port;
  std::optional<TlsVersion> client, server;
  bool server_first;
};

const std::vector<Case> cases{
    {10, std::nullopt, std::nullopt, false},
    {11, TlsVersion::v1_3, TlsVersion::v1_3, false},
    {12, TlsVersion::v1_2, TlsVersion::v1_2, false},
    {13, TlsVersion::v1_3, TlsVersion::v1_3, true},
    {14, TlsVersion::v1_2, TlsVersion::v1_2, true},
    {15, TlsVersion::v1_3, TlsVersion::v1_2, false},  // the server only speaks 1.2
};

const std::string kHello = "hello\r\n";  // the server's greeting, when it speaks first
const std::string kPing = "ping\r\n";

}  // namespace

int main(int argc, char** argv)
{
  timing_test::TwoPlaces test(&argc, argv, "tls-timing");
  timing_test::Checks checks(66);
  const double L = test.latency;
  const double B = test.bandwidth;
  const double cpu = test.world.costs().tls_handshake / 1e9;  // the server host runs 1 Gflop/s

  for (const auto& c : cases) {
    std::string key = "server:" + std::to_string(c.port);
    test.world.listen(key, "echo");
    sg4::Actor::create("server", test.server.host, [&test, c]() {
      sim::Listener listener(test.server, c.port, "echo");
      auto connection = listener.accept();
      auto socket = sim::accept_connection(connection, "echo");
      if (c.server)
        sim::tls_accept(socket, *c.server);
      if (c.server_first)
        socket.send(kHello);
      while (auto data = socket.receive())
        socket.send("pong\r\n");
    })->daemonize();
  }
  std::vector<std::optional<TlsVersion>> agreed;
  sg4::Actor::create("client", test.client.host, [&]() {
    for (const auto& c : cases) {
      sim::ConnectionSpec spec{"test", "client", "server", "push", true};
      auto socket = sim::connect(test.client, "c", test.server, c.port, spec);
      // Let the handshake's ACK arrive first, so that no flight measured shares the link.
      sg4::this_actor::sleep_for(1);
      if (c.client)
        sim::tls_connect(*socket, *c.client);
      agreed.push_back(socket->connection().tls);
      if (c.server_first)
        socket->receive();
      socket->send(kPing);
      socket->receive();
      socket->close();
    }
    // Let the last ACK reach the server before the simulation ends (no segment left behind).
    sg4::this_actor::sleep_for(1);
  });
  test.engine.run();

  // Per connection: when the ClientHello (or, without TLS, the first data) was written, when
  // the client's first data and the server's greeting arrived, and the handshake's bytes.
  struct Seen {
    double start = -1, data_arrival = -1, greeting_arrival = -1;
    std::uint64_t handshake_bytes = 0, handshake_flights = 0, data_bytes = 0;
    bool data_marked = false;
  };
  std::map<std::string, Seen> seen;
  for (const auto& e : test.world.recorder().events()) {
    auto& x = seen[e.conn];
    if (e.kind == "tls") {
      if (x.start < 0)
        x.start = e.time;
      x.handshake_bytes += e.bytes;
      x.handshake_flights++;
    } else if (e.kind == "test" && e.dir == "C" && x.data_arrival < 0) {
      if (x.start < 0)
        x.start = e.time;
      x.data_arrival = e.arrival;
      x.data_bytes = e.bytes;
      x.data_marked = e.tls;
    } else if (e.kind == "test" && e.dir == "S" && x.greeting_arrival < 0) {
      x.greeting_arrival = e.arrival;
    }
  }

  const double rtt = 2 * L;
  auto bytes_of = [](TlsVersion v) {
    std::uint64_t n = 0;
    for (const auto& f : sim::tls_handshake_flights(v))
      n += f.bytes;
    return static_cast<double>(n);
  };
  auto ping_wire = [](TlsVersion v) {
    return static_cast<double>(kPing.size() + sim::tls_record_overhead(kPing.size(), v));
  };
  const auto& c1 = seen["c1"];
  const auto& c2 = seen["c2"];
  const auto& c3 = seen["c3"];
  const auto& c4 = seen["c4"];
  const auto& c5 = seen["c5"];
  const auto& c6 = seen["c6"];

  double plain = c1.data_arrival - c1.start;
  checks.time("no TLS: first data arrives L + n/B after it is written", plain,
              L + kPing.size() / B);
  checks.count("no TLS: its bytes are the payload", c1.data_bytes, kPing.size());

  auto v13 = TlsVersion::v1_3, v12 = TlsVersion::v1_2;
  checks.time("TLS 1.3: first data, from the ClientHello: 1 RTT more than without",
              c2.data_arrival - c2.start,
              plain + rtt + cpu + (bytes_of(v13) + ping_wire(v13) - kPing.size()) / B);
  checks.time("TLS 1.2: first data, from the ClientHello: 2 RTT more than without",
              c3.data_arrival - c3.start,
              plain + 2 * rtt + cpu + (bytes_of(v12) + ping_wire(v12) - kPing.size()) / B);
  checks.count("TLS 1.3: 3 handshake flights", c2.handshake_flights, 3);
  checks.count("TLS 1.2: 4 handshake flights", c3.handshake_flights, 4);
  checks.count("TLS 1.3: ClientHello 517 + server 3079 + Finished 64 bytes", c2.handshake_bytes,
               517 + 3079 + 64);
  checks.count("TLS 1.2: 517 + 3013 + 93 + 51 bytes", c3.handshake_bytes, 517 + 3013 + 93 + 51);
  checks.count("TLS 1.3: 6 bytes of data are 6 + 22 on the wire", c2.data_bytes, 6 + 22);
  checks.count("TLS 1.2: 6 bytes of data are 6 + 29 on the wire", c3.data_bytes, 6 + 29);
  checks.count("TLS: the data flight is marked as inside TLS",
               c2.data_marked && c3.data_marked && not c1.data_marked, 1);

  // Server speaks first: the greeting cannot ride before the handshake is over on the server.
  double hello13 = (kHello.size() + sim::tls_record_overhead(kHello.size(), v13)) / B;
  double hello12 = (kHello.size() + sim::tls_record_overhead(kHello.size(), v12)) / B;
  checks.time("TLS 1.3, server first: greeting 2 RTT after the ClientHello",
              c4.greeting_arrival - c4.start, 2 * rtt + cpu + bytes_of(v13) / B + hello13);
  checks.time("TLS 1.2, server first: greeting 2 RTT after (rides with Finished)",
              c5.greeting_arrival - c5.start, 2 * rtt + cpu + bytes_of(v12) / B + hello12);

  checks.count("a 1.3 client and a 1.2 server settle on TLS 1.2",
               agreed.size() == cases.size() && agreed[5] == v12 && agreed[1] == v13, 1);
  checks.time("...and pay TLS 1.2's two round trips", c6.data_arrival - c6.start,
              plain + 2 * rtt + cpu + (bytes_of(v12) + ping_wire(v12) - kPing.size()) / B);

  return checks.summary("all TLS timing checks hold", "TLS TIMING CHECKS FAILED");
}

// Simulated TCP (and UDP) over SimGrid mailboxes.
//
// Theory of operation. A connection is a pair of SimGrid mailboxes, one per
// direction, each with its reading actor set as permanent receiver, so that
// bytes travel as soon as they are written, as with a kernel's socket buffer,
// whether or not the peer is reading yet. What crosses is a *flight*: the
// bytes one side writes before it waits (a command, a whole multi-line reply,
// a message body), sent as ONE SimGrid communication of its exact size. Under
// the CM02 model a flight of n bytes over a route of latency L and bottleneck
// bandwidth B arrives after about L + n/B.
//
// Opening costs the three-way handshake: SYN, SYN-ACK, ACK (RFC 9293 3.5),
// each a 40-byte segment (IPv4 and TCP headers, no options); the client may
// write right after its ACK. Closing is initiated by the client once its
// protocol is done: FIN, FIN+ACK, ACK. A port with no listener answers the SYN
// with RST after one round trip.
//
// Slow start (RFC 5681, initial window of RFC 6928: 14600 bytes) is charged
// as extra round trips: a flight larger than the sender's congestion window
// waits one RTT per doubling it needs, and the window persists across flights
// of a connection until the connection idles for longer than one RTO (1 s).
//
// TLS (sim/tls.hpp) uses the hooks below: handshake flights of a given size (kind "tls"), a
// flight held back to ride with the writer's next flight, and after start_tls() every payload
// flight carries the record layer's overhead on the wire and is marked as inside TLS.
//
// Left out on purpose: loss and retransmission (the fluid model loses no
// packets), per-segment headers on data (a flight's size is its payload),
// delayed ACKs, Nagle. docs/network-model.md says so too.
#pragma once

#include "sim/platform.hpp"
#include "sim/tls.hpp"
#include "sim/trace.hpp"

#include <simgrid/s4u.hpp>

#include <memory>
#include <optional>
#include <string>

namespace mailsim::sim {

constexpr std::uint64_t kTcpControlSegmentBytes = 40;
constexpr double kTcpInitialWindowBytes = 14600;  // RFC 6928 section 2, MSS 1460
constexpr double kTcpRestartIdle = 1.0;           // RFC 6298 minimum RTO
constexpr double kTcpSynTimeout = 1.0;            // RFC 6298 initial RTO, doubled per retry
constexpr double kTcpConnectTimeout = 30;         // Postfix's smtp_connect_timeout

// Why connect() gave up: RST from a closed port, or no answer at all from a
// host that is down (SYN sent again 1, 3, 7 and 15 s after the first, given up at 30 s).
enum class ConnectError { refused, timed_out };

// What the connecting side says about the connection it opens.
struct ConnectionSpec {
  std::string kind;         // smtp, pop3, imap, http
  std::string client_role;  // "user agent", "SMTP client", "browser"
  std::string server_role;  // "submission server", "SMTP server", "IMAP server", ...
  std::string flow;         // "push" or "pull"
  bool slow_start = true;
};

enum class Side { client, server };

class Connection {
 public:
  std::string id;  // "c3"
  ConnectionSpec spec;
  int port = 0;
  const HostEntry* client_host = nullptr;
  const HostEntry* server_host = nullptr;
  std::string client_actor, server_actor;
  std::string message_id;  // the message this connection is about, once known
  double rtt = 0;
  double opened_at = -1, established_at = -1, closed_at = -1;
  int round_trips = 0;     // times the client waited for the server (handshake included)
  std::uint64_t bytes_to_server = 0, bytes_to_client = 0;
  TlsVersion tls_offered = TlsVersion::v1_3;  // what the ClientHello offered
  std::optional<TlsVersion> tls;              // what the server settled on, once it has
  TlsSpan tls_span;                           // the client's view of the handshake

  simgrid::s4u::Mailbox* inbox(Side side) const {
    return side == Side::client ? to_client_ : to_server_;
  }
  simgrid::s4u::Mailbox* outbox(Side side) const {
    return side == Side::client ? to_server_ : to_client_;
  }

 private:
  friend class Socket;
  friend std::optional<class Socket> connect(const HostEntry&, const std::string&, const HostEntry&,
                                             int, const ConnectionSpec&, ConnectError*);
  simgrid::s4u::Mailbox* to_server_ = nullptr;
  simgrid::s4u::Mailbox* to_client_ = nullptr;
  Side last_sender_ = Side::server;
  double window_[2] = {kTcpInitialWindowBytes, kTcpInitialWindowBytes};
  double last_write_[2] = {-1, -1};
  std::uint64_t syn_event_ = 0;
  friend Socket accept_connection(std::shared_ptr<Connection>, const std::string&);
};

// One end of a connection.
class Socket {
 public:
  Socket(std::shared_ptr<Connection> connection, Side side);
  Socket(Socket&&) noexcept;
  Socket& operator=(Socket&&) noexcept;
  ~Socket();

  // Writes one flight. message_id tags the trace event (default: the connection's).
  void send(const std::string& bytes, const std::string& message_id = "");
  // The next flight from the peer, or nullopt once the peer has closed (after
  // answering its FIN).
  std::optional<std::string> receive();
  // Active close: FIN, wait for FIN+ACK, ACK.
  void close();
  // Posts the wait for the peer's next flight without blocking, so that the caller can wait
  // for it together with something else (Comm::wait_any); the next receive() takes what it
  // brings. The same one until receive() has taken it; nullptr when a flight is already here.
  simgrid::s4u::CommPtr arm_receive();

  Connection& connection() { return *connection_; }
  Side side() const { return side_; }

  // A TLS handshake flight of `bytes` on the wire (kind "tls"; `carries` names its messages).
  void send_handshake(std::uint64_t bytes, const std::string& carries);
  // The same, held back: it rides with this side's next send(), or goes alone before this
  // side next waits to read.
  void queue_handshake(std::uint64_t bytes, const std::string& carries);
  // Waits for the peer's next handshake flight. If it rode with application data, that data
  // is kept for the next receive().
  void receive_handshake();
  // From now on this side writes inside TLS of that version.
  void start_tls(TlsVersion version) { tls_ = version; }
  // Until adopt(), `holder` receives this side's incoming flights (they arrive and wait).
  void park(simgrid::s4u::ActorPtr holder);
  // The calling actor reads this side from now on; a flight that arrived while parked is
  // stamped with its real arrival time.
  void adopt();

 private:
  enum class Control { syn, syn_ack, ack, fin, fin_ack, rst };
  void send_control(Control what);
  friend std::optional<Socket> connect(const HostEntry&, const std::string&, const HostEntry&, int,
                                       const ConnectionSpec&, ConnectError*);
  friend Socket accept_connection(std::shared_ptr<Connection>, const std::string&);
  struct Segment;
  std::unique_ptr<Segment> next_segment();
  void record(const std::string& kind, std::uint64_t bytes, const std::string& payload,
              const std::string& summary, const std::string& message_id, std::uint64_t* seq,
              std::uint64_t tls_overhead = 0);
  // The trace event of a flight this side writes now.
  TraceEvent trace_event(const std::string& kind, std::uint64_t bytes, const std::string& payload,
                         const std::string& summary, const std::string& message_id, bool tls,
                         std::uint64_t tls_overhead) const;
  void pace(std::uint64_t bytes);
  void flush_handshake();

  std::shared_ptr<Connection> connection_;
  Side side_;
  bool closed_ = false;
  std::optional<TlsVersion> tls_;
  std::uint64_t pending_bytes_ = 0;  // a handshake flight waiting to ride with the next write
  std::string pending_carries_;
  std::unique_ptr<Segment> held_;    // data that arrived with a handshake flight
  simgrid::s4u::CommPtr armed_;      // arm_receive(): the posted wait for the next segment
  Segment* armed_segment_ = nullptr;  // where it lands
  bool adopted_ = false;             // parked until now: stamp the next flight's true arrival
};

// A listening port: "mail.ums.com:25". The actor that calls accept() owns it.
class Listener {
 public:
  Listener(const HostEntry& host, int port, const std::string& actor);
  ~Listener();
  // Waits for the next SYN; the caller then starts a session actor that calls
  // accept_connection() on what this returns.
  std::shared_ptr<Connection> accept();

 private:
  simgrid::s4u::Mailbox* mailbox_;
  std::string key_;
};

// Client side of the handshake: SYN, SYN-ACK, ACK. nullopt if the port is
// closed (RST) or the host is down (no answer); *error then says which.
// Runs in the calling actor.
std::optional<Socket> connect(const HostEntry& from, const std::string& actor, const HostEntry& to,
                              int port, const ConnectionSpec& spec,
                              ConnectError* error = nullptr);

// Server side of the handshake: SYN-ACK, then the client's ACK.
Socket accept_connection(std::shared_ptr<Connection> connection, const std::string& actor);

// UDP, for DNS: one datagram, one SimGrid communication of its exact size.
struct Datagram {
  std::string payload;
  std::uint64_t event = 0;
  const HostEntry* from = nullptr;
  std::string from_actor;
  std::string reply_mailbox;
};
void send_datagram(const HostEntry& from, const std::string& actor, const HostEntry& to,
                   const std::string& to_actor, simgrid::s4u::Mailbox* mailbox, Datagram datagram,
                   const std::string& kind, const std::string& summary);
// Waits for a datagram on a mailbox for at most timeout seconds (nullptr on timeout).
std::unique_ptr<Datagram> receive_datagram(simgrid::s4u::Mailbox* mailbox, double timeout);

}  // namespace mailsim::sim

#include "sim/tcp.hpp"

#include "sim/world.hpp"

#include <fmt/format.h>
#include <xbt/log.h>

#include <cassert>
#include <cmath>
#include <utility>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_tcp, mailsim, "Simulated TCP and UDP");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

constexpr std::uint64_t kNoEvent = UINT64_MAX;

struct Socket::Segment {
  bool control = false;
  Control what = Control::ack;
  bool handshake = false;  // a TLS handshake flight and nothing else
  std::string payload;
  std::uint64_t event = 0;
  std::uint64_t handshake_event = kNoEvent;  // a handshake flight that rode with this data
};

namespace {
const char* control_name(int what)
{
  static const char* names[] = {"SYN", "SYN-ACK", "ACK", "FIN", "FIN-ACK", "RST"};
  return names[what];
}

// The listener mailbox carries new connections; one per listening port.
struct SynRequest {
  std::shared_ptr<Connection> connection;
};

// A detached send owns its payload until someone receives it. SimGrid calls this for one still
// unreceived when the simulation ends (a daemon's last ACK, say), so the payload is not leaked.
template <typename Payload>
void delete_unreceived(void* payload)
{
  delete static_cast<Payload*>(payload);
}

std::string listener_key(const HostEntry& host, int port)
{
  return host.name + ":" + std::to_string(port);
}
}  // namespace

Socket::Socket(std::shared_ptr<Connection> connection, Side side)
    : connection_(std::move(connection)), side_(side)
{
}

Socket::Socket(Socket&&) noexcept = default;
Socket& Socket::operator=(Socket&&) noexcept = default;
Socket::~Socket() = default;

void Socket::record(const std::string& kind, std::uint64_t bytes, const std::string& payload,
                    const std::string& summary, const std::string& message_id, std::uint64_t* seq,
                    std::uint64_t tls_overhead)
{
  auto& c = *connection_;
  bool from_client = side_ == Side::client;
  bool tls = tls_.has_value() && kind != "tcp" && kind != "tls";
  auto& recorder = World::get().recorder();
  if (recorder.keeps())
    *seq = recorder.add(trace_event(kind, bytes, payload, summary, message_id, tls, tls_overhead));
  else
    *seq = recorder.tally(kind, bytes, tls, tls_overhead);

  // A round trip is counted each time the server answers after the client wrote.
  if (side_ == Side::server && c.last_sender_ == Side::client)
    c.round_trips++;
  c.last_sender_ = side_;
  (from_client ? c.bytes_to_server : c.bytes_to_client) += bytes;
}

TraceEvent Socket::trace_event(const std::string& kind, std::uint64_t bytes,
                               const std::string& payload, const std::string& summary,
                               const std::string& message_id, bool tls,
                               std::uint64_t tls_overhead) const
{
  const auto& c = *connection_;
  bool from_client = side_ == Side::client;
  TraceEvent event;
  event.time = sg4::Engine::get_clock();
  event.kind = kind;
  event.src_host = from_client ? c.client_host->name : c.server_host->name;
  event.src_actor = from_client ? c.client_actor : c.server_actor;
  event.dst_host = from_client ? c.server_host->name : c.client_host->name;
  event.dst_actor = from_client ? c.server_actor : c.client_actor;
  event.conn = c.id;
  event.role = from_client ? c.spec.client_role : c.spec.server_role;
  event.peer_role = from_client ? c.spec.server_role : c.spec.client_role;
  event.dir = from_client ? "C" : "S";
  event.flow = kind == "tcp" ? "" : c.spec.flow;
  event.bytes = bytes;
  event.payload = payload;
  event.summary = summary;
  event.message_id = message_id.empty() ? c.message_id : message_id;
  event.tls = tls;
  event.tls_overhead = tls_overhead;
  if (from_client && kind == "tcp" && summary.compare(0, 3, "SYN") == 0)
    event.port = c.port;
  return event;
}

void Socket::send_control(Control what)
{
  auto segment = std::make_unique<Segment>();
  segment->control = true;
  segment->what = what;
  record("tcp", kTcpControlSegmentBytes, "", control_name(static_cast<int>(what)), "",
         &segment->event);
  connection_->outbox(side_)
      ->put_init(segment.release(), kTcpControlSegmentBytes)
      ->detach(delete_unreceived<Segment>);
}

void Socket::send(const std::string& bytes, const std::string& message_id)
{
  assert(not closed_);
  auto& c = *connection_;
  auto segment = std::make_unique<Segment>();
  segment->payload = bytes;

  // A held-back handshake flight rides with this one: two events, one communication.
  std::uint64_t wire = 0;
  if (pending_bytes_ > 0) {
    record("tls", pending_bytes_, "", pending_carries_, "", &segment->handshake_event);
    wire += std::exchange(pending_bytes_, 0);
  }
  std::uint64_t overhead = tls_ ? tls_record_overhead(bytes.size(), *tls_) : 0;
  record(c.spec.kind, bytes.size() + overhead, bytes, "", message_id, &segment->event, overhead);
  wire += bytes.size() + overhead;

  pace(wire);
  c.outbox(side_)->put_init(segment.release(), wire)->detach(delete_unreceived<Segment>);
}

void Socket::pace(std::uint64_t bytes)
{
  // Slow start: a flight larger than the congestion window needs one more
  // round trip per doubling of the window (RFC 5681 3.1). After an idle
  // period longer than the RTO the window restarts (RFC 5681 4.1).
  auto& c = *connection_;
  int dir = side_ == Side::client ? 0 : 1;
  double now = sg4::Engine::get_clock();
  if (c.last_write_[dir] >= 0 && now - c.last_write_[dir] > std::max(kTcpRestartIdle, c.rtt))
    c.window_[dir] = kTcpInitialWindowBytes;
  c.last_write_[dir] = now;
  int extra_rounds = 0;
  double remaining = static_cast<double>(bytes);
  while (c.spec.slow_start && remaining > c.window_[dir]) {
    remaining -= c.window_[dir];
    c.window_[dir] *= 2;
    extra_rounds++;
  }
  if (extra_rounds > 0)
    sg4::this_actor::sleep_for(extra_rounds * c.rtt);
}

void Socket::send_handshake(std::uint64_t bytes, const std::string& carries)
{
  assert(not closed_ && pending_bytes_ == 0);
  auto segment = std::make_unique<Segment>();
  segment->handshake = true;
  record("tls", bytes, "", carries, "", &segment->event);
  pace(bytes);
  connection_->outbox(side_)->put_init(segment.release(), bytes)->detach(
      delete_unreceived<Segment>);
}

void Socket::queue_handshake(std::uint64_t bytes, const std::string& carries)
{
  assert(pending_bytes_ == 0 && bytes > 0);
  pending_bytes_ = bytes;
  pending_carries_ = carries;
}

void Socket::flush_handshake()
{
  if (pending_bytes_ > 0)
    send_handshake(std::exchange(pending_bytes_, 0), pending_carries_);
}

void Socket::receive_handshake()
{
  flush_handshake();
  auto segment = next_segment();
  assert(not segment->control && "the peer closed during a TLS handshake");
  if (not segment->handshake) {
    assert(segment->handshake_event != kNoEvent);
    held_ = std::move(segment);  // application data that rode with the handshake flight
  }
}

void Socket::park(sg4::ActorPtr holder)
{
  connection_->inbox(side_)->set_receiver(std::move(holder));
}

void Socket::adopt()
{
  connection_->inbox(side_)->set_receiver(sg4::Actor::self());
  adopted_ = true;
}

std::unique_ptr<Socket::Segment> Socket::next_segment()
{
  Segment* received = nullptr;
  double now;
  if (armed_) {
    // arm_receive() posted this wait; the flight may have landed while the actor did other
    // work (IMAP IDLE sending updates): it arrived when the comm finished.
    armed_->wait();
    now = armed_->get_finish_time();
    armed_ = nullptr;
    received = std::exchange(armed_segment_, nullptr);
  } else if (std::exchange(adopted_, false)) {
    // A flight that came while the socket was parked arrived then, not when it is read.
    auto comm = connection_->inbox(side_)->get_async<Segment>(&received);
    comm->wait();
    now = comm->get_finish_time();
  } else {
    received = connection_->inbox(side_)->get<Segment>();
    now = sg4::Engine::get_clock();
  }
  std::unique_ptr<Segment> segment(received);
  World::get().recorder().set_arrival(segment->event, now);
  if (segment->handshake_event != kNoEvent)
    World::get().recorder().set_arrival(segment->handshake_event, now);
  return segment;
}

sg4::CommPtr Socket::arm_receive()
{
  if (held_)
    return nullptr;
  if (not armed_)
    armed_ = connection_->inbox(side_)->get_async<Segment>(&armed_segment_);
  return armed_;
}

std::optional<std::string> Socket::receive()
{
  if (closed_)
    return std::nullopt;
  flush_handshake();
  auto segment = held_ ? std::move(held_) : next_segment();
  assert(not segment->handshake && "a TLS handshake flight outside a handshake");
  if (not segment->control)
    return std::move(segment->payload);

  // The peer closed: answer FIN with FIN+ACK and wait for the last ACK.
  assert(segment->what == Control::fin);
  send_control(Control::fin_ack);
  next_segment();
  closed_ = true;
  connection_->closed_at = sg4::Engine::get_clock();
  connection_->inbox(side_)->set_receiver(nullptr);
  return std::nullopt;
}

void Socket::close()
{
  if (closed_)
    return;
  flush_handshake();
  send_control(Control::fin);
  // Flights still on their way (none in our protocols) are drained before the FIN+ACK.
  while (true) {
    auto segment = next_segment();
    if (segment->control && segment->what == Control::fin_ack)
      break;
  }
  send_control(Control::ack);
  closed_ = true;
  connection_->closed_at = sg4::Engine::get_clock();
  connection_->inbox(side_)->set_receiver(nullptr);
}

Listener::Listener(const HostEntry& host, int port, const std::string& actor)
    : key_(listener_key(host, port))
{
  mailbox_ = sg4::Mailbox::by_name("listen:" + key_);
  mailbox_->set_receiver(sg4::Actor::self());
  World::get().listen(key_, actor);
}

Listener::~Listener()
{
  World::get().unlisten(key_);
}

std::shared_ptr<Connection> Listener::accept()
{
  std::unique_ptr<SynRequest> request(mailbox_->get<SynRequest>());
  return std::move(request->connection);
}

std::optional<Socket> connect(const HostEntry& from, const std::string& actor, const HostEntry& to,
                              int port, const ConnectionSpec& spec, ConnectError* error)
{
  auto& world = World::get();
  auto connection = std::make_shared<Connection>();
  auto& c = *connection;
  c.id = world.next_connection_id();
  c.spec = spec;
  c.port = port;
  c.client_host = &from;
  c.server_host = &to;
  c.client_actor = actor;
  const std::string* listener = world.listener(listener_key(to, port));
  c.server_actor = listener ? *listener : "kernel";
  c.rtt = 2 * world.platform().latency(from.host, to.host);
  c.opened_at = sg4::Engine::get_clock();
  c.to_server_ = sg4::Mailbox::by_name(c.id + ">server");
  c.to_client_ = sg4::Mailbox::by_name(c.id + ">client");
  c.to_client_->set_receiver(sg4::Actor::self());

  Socket socket(connection, Side::client);
  std::string key = listener_key(to, port);
  if (world.host_down(to.name, c.opened_at)) {
    // The host is off: nothing answers. The SYN goes out again after each
    // retransmission timeout (doubled every time, RFC 6298 5.5) until the
    // connect timeout; its bytes are spent, but it arrives nowhere.
    c.server_actor = "";
    double timeout = kTcpSynTimeout;
    double next = c.opened_at;
    for (int attempt = 0; next < c.opened_at + kTcpConnectTimeout; attempt++) {
      sg4::this_actor::sleep_until(next);
      std::uint64_t seq;
      socket.record("tcp", kTcpControlSegmentBytes, "",
                    attempt == 0 ? "SYN" : fmt::format("SYN (sent again, {:.0f} s without answer)",
                                                       next - c.opened_at),
                    "", &seq);
      next += timeout;
      timeout *= 2;
    }
    sg4::this_actor::sleep_until(c.opened_at + kTcpConnectTimeout);
    std::uint64_t seq;
    socket.record("tcp", 0, "",
                  fmt::format("no answer in {:.0f} s: connection timed out", kTcpConnectTimeout),
                  "", &seq);
    c.to_client_->set_receiver(nullptr);
    XBT_VERB("%s: connection to %s timed out (host down)", c.id.c_str(), key.c_str());
    if (error)
      *error = ConnectError::timed_out;
    return std::nullopt;
  }
  if (listener == nullptr) {
    // Nobody listens: the server's kernel answers the SYN with RST.
    std::uint64_t seq;
    socket.record("tcp", kTcpControlSegmentBytes, "", "SYN", "", &seq);
    sg4::this_actor::sleep_for(c.rtt / 2);
    world.recorder().set_arrival(seq, sg4::Engine::get_clock());
    Socket server_side(connection, Side::server);
    server_side.record("tcp", kTcpControlSegmentBytes, "", "RST", "", &seq);
    sg4::this_actor::sleep_for(c.rtt / 2);
    world.recorder().set_arrival(seq, sg4::Engine::get_clock());
    c.to_client_->set_receiver(nullptr);
    XBT_VERB("%s: connection to %s refused", c.id.c_str(), key.c_str());
    if (error)
      *error = ConnectError::refused;
    return std::nullopt;
  }

  auto* syn = new SynRequest{connection};
  std::uint64_t seq;
  socket.record("tcp", kTcpControlSegmentBytes, "", "SYN", "", &seq);
  // The SYN travels on the listener's mailbox; its arrival is stamped by the
  // accepting side (see accept_connection).
  c.syn_event_ = seq;
  sg4::Mailbox::by_name("listen:" + key)
      ->put_init(syn, kTcpControlSegmentBytes)
      ->detach(delete_unreceived<SynRequest>);
  auto syn_ack = socket.next_segment();
  assert(syn_ack->control && syn_ack->what == Socket::Control::syn_ack);
  socket.send_control(Socket::Control::ack);
  c.established_at = sg4::Engine::get_clock();
  XBT_VERB("%s: %s -> %s established", c.id.c_str(), from.name.c_str(), key.c_str());
  return socket;
}

Socket accept_connection(std::shared_ptr<Connection> connection, const std::string& actor)
{
  auto& c = *connection;
  World::get().recorder().set_arrival(c.syn_event_, sg4::Engine::get_clock());
  c.server_actor = actor;
  c.to_server_->set_receiver(sg4::Actor::self());
  Socket socket(connection, Side::server);
  socket.send_control(Socket::Control::syn_ack);
  auto ack = socket.next_segment();
  assert(ack->control && ack->what == Socket::Control::ack);
  return socket;
}

void send_datagram(const HostEntry& from, const std::string& actor, const HostEntry& to,
                   const std::string& to_actor, sg4::Mailbox* mailbox, Datagram datagram,
                   const std::string& kind, const std::string& summary)
{
  TraceEvent event;
  event.time = sg4::Engine::get_clock();
  event.kind = kind;
  event.src_host = from.name;
  event.src_actor = actor;
  event.dst_host = to.name;
  event.dst_actor = to_actor;
  event.bytes = datagram.payload.size();
  event.payload = datagram.payload;
  event.summary = summary;
  auto size = datagram.payload.size();
  auto* copy = new Datagram(std::move(datagram));
  copy->event = World::get().recorder().add(std::move(event));
  mailbox->put_init(copy, size)->detach(delete_unreceived<Datagram>);
}

std::unique_ptr<Datagram> receive_datagram(sg4::Mailbox* mailbox, double timeout)
{
  Datagram* datagram = nullptr;
  try {
    datagram = timeout < 0 ? mailbox->get<Datagram>() : mailbox->get<Datagram>(timeout);
  } catch (const simgrid::TimeoutException&) {
    return nullptr;
  }
  World::get().recorder().set_arrival(datagram->event, sg4::Engine::get_clock());
  return std::unique_ptr<Datagram>(datagram);
}

}  // namespace mailsim::sim

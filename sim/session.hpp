// The loops that move an engine's bytes through a simulated socket.
//
// Every daemon and user agent in sim/ is the same few lines around a
// sans-I/O engine from models/: write what the engine wants written, wait for
// the peer's next flight, feed it, act on the events. Server sessions also
// spend CPU on their host for each flight (ServerCosts), so that load turns
// into queueing.
#pragma once

#include "sim/tcp.hpp"
#include "sim/world.hpp"

#include <simgrid/s4u.hpp>

#include <string>

namespace mailsim::sim {

// Serves one accepted connection until the client closes it. after_write runs after each
// flight the server writes (where smtpd starts TLS once its 220 to STARTTLS is out).
template <class Engine, class OnEvents, class AfterWrite>
void serve_session(Socket& socket, Engine& engine, OnEvents on_events, AfterWrite after_write)
{
  const auto& costs = World::get().costs();
  if (auto greeting = engine.take_output(); not greeting.empty()) {
    socket.send(greeting);
    after_write();
  }
  while (auto data = socket.receive()) {
    simgrid::s4u::this_actor::execute(costs.per_command +
                                      costs.per_message_byte * static_cast<double>(data->size()));
    engine.receive(*data);
    on_events(engine.take_events());
    if (auto out = engine.take_output(); not out.empty()) {
      socket.send(out);
      after_write();
    }
  }
}

template <class Engine, class OnEvents>
void serve_session(Socket& socket, Engine& engine, OnEvents on_events)
{
  serve_session(socket, engine, on_events, [] {});
}

// Drives a client engine until it is done, then closes the connection. before_receive() runs
// before each wait for the server; when it returns true it has given the engine something to
// send first (an IDLE renewal), and the loop sends it instead of waiting.
template <class Engine, class OnEvents, class BeforeReceive>
void drive_session(Socket& socket, Engine& engine, OnEvents on_events,
                   BeforeReceive before_receive)
{
  on_events(engine.take_events());
  while (true) {
    if (auto out = engine.take_output(); not out.empty())
      socket.send(out);
    if (engine.closed())
      break;
    if (before_receive())
      continue;
    auto data = socket.receive();
    if (not data)
      break;
    engine.receive(*data);
    on_events(engine.take_events());
  }
  socket.close();
}

template <class Engine, class OnEvents>
void drive_session(Socket& socket, Engine& engine, OnEvents on_events)
{
  drive_session(socket, engine, on_events, [] { return false; });
}

// Starts a daemon actor that listens on host:port and runs `session` (a
// callable taking std::shared_ptr<Connection>) in a new actor per connection,
// as a real server gives each connection its own process or socket.
// Returns the listener actor.
template <class Session>
simgrid::s4u::ActorPtr start_listener(const HostEntry& host, int port, const std::string& actor,
                                      Session session)
{
  // The port is open from now on, even before the listener actor first runs.
  World::get().listen(host.name + ":" + std::to_string(port), actor);
  return simgrid::s4u::Actor::create(actor + ":" + std::to_string(port), host.host,
                              [&host, port, actor, session]() {
                                Listener listener(host, port, actor);
                                while (true) {
                                  auto connection = listener.accept();
                                  simgrid::s4u::Actor::create(actor, host.host,
                                                              [connection, session]() {
                                                                session(connection);
                                                              })
                                      ->daemonize();
                                }
                              })
      ->daemonize();
}

}  // namespace mailsim::sim

// imapd: the IMAP4rev1 server (RFC 3501) on port 143 (993 with implicit TLS,
// RFC 8314 3, the handshake before the greeting), one actor per
// connection running imap::ServerSession against the provider's mail store.
//
// A session in IDLE (RFC 2177) waits for its client's next flight and for a wake-up from the
// store at once (sim/idle_watch.hpp); woken, it sends the untagged updates the engine has for
// its client ("* 1 EXISTS", "* 1 FETCH (FLAGS (\Seen))", "* 1 EXPUNGE") and waits again. A
// command that changed the store wakes the sessions idling on the same account.
#include "sim/daemons.hpp"

#include "models/imap.hpp"
#include "sim/idle_watch.hpp"
#include "sim/session.hpp"

#include <xbt/log.h>

#include <cmath>
#include <optional>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_imapd, mailsim, "IMAP server (imapd)");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

// Waits, in IDLE, for the client's next flight or a wake-up; on each wake-up sends the
// engine's updates. Returns when the client has written (or closed), or when the server goes
// off (a "down" period starts, or has started while the session worked): then the session
// says BYE and the connection closes (RFC 3501 7.1.5), since a server that is off keeps no
// connections.
void idle(Socket& socket, imap::ServerSession& engine, std::optional<IdleWatch>& watch,
          const std::string& host)
{
  if (not watch)
    watch.emplace(*engine.account(), socket.connection().id);
  while (auto data = socket.arm_receive()) {
    std::vector<sg4::CommPtr> comms{data, watch->arm()};
    double now = sg4::Engine::get_clock();
    double off_in = World::get().host_down(host, now) ? 0 : World::get().next_down(host, now) - now;
    ssize_t which = std::isinf(off_in) ? sg4::Comm::wait_any(comms)
                                       : sg4::Comm::wait_any_for(comms, off_in);
    if (which < 0) {
      engine.shut_down();
      socket.send(engine.take_output());
      return;
    }
    if (which == 0)
      return;
    watch->woken();
    sg4::this_actor::execute(World::get().costs().per_command);
    engine.poll();
    XBT_DEBUG("woken in IDLE on %s", socket.connection().id.c_str());
    if (auto out = engine.take_output(); not out.empty())
      socket.send(out);
  }
}

}  // namespace

void start_imapd(const scenario::Provider& provider)
{
  const auto& host = World::get().platform().host(provider.host);
  int port = imap_port(provider);
  start_listener(host, port, "imapd", [&provider](std::shared_ptr<Connection> connection) {
    Socket socket = accept_connection(connection, "imapd");
    if (provider.tls.retrieval == scenario::TlsMode::implicit)
      tls_accept(socket, provider.tls.version);
    imap::ServerConfig config;
    config.hostname = provider.host;
    auto& store = World::get().store(provider.domain);
    imap::ServerSession engine(config, store);
    const auto& costs = World::get().costs();
    std::optional<IdleWatch> watch;
    if (auto greeting = engine.take_output(); not greeting.empty())
      socket.send(greeting);
    while (true) {
      if (engine.idling())
        idle(socket, engine, watch, provider.host);
      auto data = socket.receive();
      if (not data)
        break;
      sg4::this_actor::execute(costs.per_command +
                               costs.per_message_byte * static_cast<double>(data->size()));
      auto version = store.version();
      engine.receive(*data);
      engine.take_events();
      if (store.version() != version)
        IdleWatch::wake(engine.account());
      if (auto out = engine.take_output(); not out.empty())
        socket.send(out);
    }
  });
}

}  // namespace mailsim::sim

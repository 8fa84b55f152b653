// pop3d: the POP3 server (RFC 1939) on port 110 (995 with implicit TLS, RFC
// 8314 3, the handshake before the greeting), one actor per connection
// running pop3::ServerSession against the provider's mail store.
#include "sim/daemons.hpp"

#include "models/pop3.hpp"
#include "sim/idle_watch.hpp"
#include "sim/session.hpp"

#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_pop3d, mailsim, "POP3 server (pop3d)");

namespace mailsim::sim {

void start_pop3d(const scenario::Provider& provider)
{
  const auto& host = World::get().platform().host(provider.host);
  int port = pop3_port(provider);
  start_listener(host, port, "pop3d", [&provider](std::shared_ptr<Connection> connection) {
    Socket socket = accept_connection(connection, "pop3d");
    if (provider.tls.retrieval == scenario::TlsMode::implicit)
      tls_accept(socket, provider.tls.version);
    pop3::ServerConfig config;
    config.hostname = provider.host;
    auto& store = World::get().store(provider.domain);
    pop3::ServerSession engine(config, store);
    auto version = store.version();
    // DELE takes effect at QUIT (RFC 1939 6): a session of the account in IMAP IDLE hears it.
    serve_session(socket, engine, [&](const std::vector<pop3::ServerEvent>&) {
      if (store.version() != std::exchange(version, store.version()))
        IdleWatch::wake_all(store);
    });
  });
}

}  // namespace mailsim::sim

// imapd: the IMAP4rev1 server (RFC 3501) on port 143 (993 with implicit TLS,
// RFC 8314 3, the handshake before the greeting), one actor per
// connection running imap::ServerSession against the provider's mail store.
#include "sim/daemons.hpp"

#include "models/imap.hpp"
#include "sim/session.hpp"

#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_imapd, mailsim, "IMAP server (imapd)");

namespace mailsim::sim {

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
    imap::ServerSession engine(config, World::get().store(provider.domain));
    serve_session(socket, engine, [](const std::vector<imap::ServerEvent>&) {});
  });
}

}  // namespace mailsim::sim

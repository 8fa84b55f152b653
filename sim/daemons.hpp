// The daemons of a provider's mail server and of the DNS, one file each, named
// after the Postfix and Dovecot processes they imitate:
//   smtpd.cpp        SMTP server: relay (25) and submission (587, 465 with implicit TLS)
//   qmgr.cpp         queue manager: active and deferred queues, retry schedule
//   smtp_relay.cpp   SMTP client: MX lookup, relay to the next hop on port 25
//   bounce.cpp       delivery status notifications back to the sender (RFC 3464)
//   local.cpp        local delivery into the recipient's mailbox
//   pop3d.cpp        POP3 server (110, or 995 with implicit TLS)
//   imapd.cpp        IMAP server (143, or 993 with implicit TLS)
//   webmaild.cpp     webmail over HTTP/1.1 (80, or HTTPS on 443)
//   resolver.cpp     stub resolver with a TTL cache, used by the SMTP client
//   dnsd.cpp         authoritative DNS server (UDP 53)
#pragma once

#include "models/dns.hpp"
#include "models/smtp.hpp"
#include "sim/platform.hpp"
#include "sim/scenario.hpp"

#include <string>
#include <vector>

namespace mailsim::sim {

constexpr int kPortSmtp = 25;
constexpr int kPortSubmission = 587;
constexpr int kPortPop3 = 110;
constexpr int kPortImap = 143;
constexpr int kPortHttp = 80;
constexpr int kPortDns = 53;
// Implicit TLS (RFC 8314 3; RFC 2818 for HTTPS).
constexpr int kPortSubmissions = 465;
constexpr int kPortImaps = 993;
constexpr int kPortPop3s = 995;
constexpr int kPortHttps = 443;

// The ports a provider's retrieval services listen on, with or without implicit TLS.
inline int pop3_port(const scenario::Provider& p)
{
  return p.tls.retrieval == scenario::TlsMode::implicit ? kPortPop3s : kPortPop3;
}
inline int imap_port(const scenario::Provider& p)
{
  return p.tls.retrieval == scenario::TlsMode::implicit ? kPortImaps : kPortImap;
}
inline int webmail_port(const scenario::Provider& p)
{
  return p.tls.retrieval == scenario::TlsMode::implicit ? kPortHttps : kPortHttp;
}
// Where a user agent submits: 465 with implicit TLS, 587 otherwise.
inline int submission_port(const scenario::Provider& p)
{
  return p.tls.submission == scenario::TlsMode::implicit ? kPortSubmissions : kPortSubmission;
}

// A message the server has taken responsibility for.
struct QueuedMessage {
  std::string queue_id;
  std::string message_id;
  smtp::Envelope envelope;
  double queued_at = 0;
};

// Starts every enabled service of a provider's server, and its queue manager.
void start_mail_server(const scenario::Provider& provider);
// implicit_tls: port 465, TLS from the first byte (RFC 8314 3.3); otherwise 25 or 587, where
// the provider's "tls" says whether STARTTLS is offered (and, on 587, required).
void start_smtpd(const scenario::Provider& provider, smtp::Service service,
                 bool implicit_tls = false);
void start_pop3d(const scenario::Provider& provider);
void start_imapd(const scenario::Provider& provider);
void start_webmaild(const scenario::Provider& provider);
void start_qmgr(const scenario::Provider& provider);
void start_dnsd();

// Hands an accepted message to the provider's queue manager.
void qmgr_enqueue(const std::string& domain, QueuedMessage message);

// Result of one delivery attempt, as the queue manager sees it.
enum class DeliveryStatus { sent, deferred, bounced };

// The outcome of one delivery attempt for one recipient.
struct DeliveryResult {
  DeliveryStatus status = DeliveryStatus::deferred;
  std::string diagnostic;  // for the queue log: "host mail.ums.com[...] said: 550 ..."
  std::string dsn_status;  // RFC 3463 code for a DSN: "5.1.1", "4.4.1"
  std::string remote_mta;  // the server that answered, "" when none did
  std::string reply;       // its reply, "550 5.1.1 <x@ums.com> ...", "" when none
  std::string skipped;     // MX hosts that did not take the connection before this one
};

// Relays a queued message to the recipients of one domain (runs in the
// calling actor, on the sending server's host); one result per recipient.
std::vector<DeliveryResult> relay(const scenario::Provider& from, const QueuedMessage& message,
                                  const std::string& domain,
                                  const std::vector<std::string>& recipients);

// Stores a queued message in a local recipient's INBOX.
DeliveryResult deliver_locally(const scenario::Provider& provider, const QueuedMessage& message,
                               const std::string& recipient);

// Builds the delivery status notification (RFC 3464) for the recipients a
// message failed for, and queues it to the message's sender with the null
// reverse-path (bounce.cpp). Nothing for a message that was itself a bounce.
void bounce(const scenario::Provider& provider, const QueuedMessage& message,
            const std::vector<std::pair<std::string, DeliveryResult>>& failed);

// Asks the DNS for name/type from `from`, through that host's cache. Counts
// the round trips it cost in *round_trips; *name_error is set when the DNS
// said the name does not exist (NXDOMAIN).
std::vector<dns::Record> resolve(const HostEntry& from, const std::string& actor,
                                 const std::string& name, dns::Type type, int* round_trips,
                                 bool* name_error = nullptr);

}  // namespace mailsim::sim

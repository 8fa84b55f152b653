// The state of one run, shared by every actor: the scenario, the platform,
// the trace recorder, each provider's mail store, the DNS zone, the counters
// that give deterministic ids, and the per-message timeline the summary reads.
//
// SimGrid runs one simulation per process, and all actors run in one thread
// (one at a time), so a single World needs no locking.
#pragma once

#include "models/dns.hpp"
#include "models/store.hpp"
#include "sim/platform.hpp"
#include "sim/scenario.hpp"
#include "sim/tls.hpp"
#include "sim/trace.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mailsim::sim {

// Server-side costs, in flops on the server host (1 Gflop/s by default, so
// 1e6 flops is 1 ms). They make load show up as CPU queueing.
struct ServerCosts {
  double per_command = 2e4;      // parse a command line and build the reply (20 us)
  double per_message_byte = 20;  // scan a body (headers, dot-unstuffing)
  double queue_write = 2e6;      // write the queue file and fsync it (2 ms)
  double mailbox_write = 1e6;    // append to the recipient's mailbox (1 ms)
  double per_lookup = 1e4;       // a DNS answer from the zone
  // A full TLS handshake on the server: one RSA-2048 signature (openssl speed rsa2048 gives
  // about 1,500 to 2,500 signatures a second on one current server core, 0.4 to 0.7 ms), an
  // X25519 key exchange (about 0.05 ms) and the key schedule: 1 ms.
  double tls_handshake = 1e6;
};

// Where the time of one message to one recipient went, in simulated seconds
// (-1: did not happen). One per (Message-ID, recipient).
struct Timeline {
  std::string message_id;
  std::string from, to, subject;
  std::string sending_server, receiving_server;
  std::string submission_conn, relay_conn, retrieval_conn;
  std::string queue_id_out, queue_id_in;
  double composed = -1;          // the user pressed Send
  double submit_open = -1;       // UA's SYN
  double submit_established = -1;
  double submitted = -1;         // the sending server accepted it (queued)
  double relay_start = -1;       // the queue manager handed it to the relay client
  double dns_start = -1, dns_end = -1;
  double relay_open = -1, relay_established = -1;
  double relayed = -1;           // the receiving server accepted it
  double delivered = -1;         // stored in the recipient's mailbox
  double retrieval_open = -1;    // the recipient's UA opened the session that fetched it
  double retrieval_established = -1;
  double read = -1;              // the body arrived on the recipient's device
  int submit_round_trips = 0, dns_round_trips = 0, relay_round_trips = 0;
  int retrieval_round_trips = 0;
  std::string retrieved_by;      // device host that read it
  std::string retrieval_protocol;
  // What the queue managers did when delivery did not simply work: one line
  // per deferral, retry, bounce ("", when the first attempt went through).
  std::vector<std::string> queue_notes;
  int attempts = 0;              // delivery attempts by the sending server's qmgr
  // A backup MX that accepted it first passed it on to this server, at this time.
  std::string next_hop_server;
  double next_hop_relayed = -1;
  TlsSpan submit_tls, relay_tls, retrieval_tls;  // TLS handshakes, when there were any
};

class World {
 public:
  World(const scenario::Scenario& scenario, bool keep_events);
  static World& get();  // the World of this process's run

  const scenario::Scenario& scenario() const { return scenario_; }
  // When the run ended: the scenario's end, or earlier when postal.end_when_read stopped it.
  double end_s() const { return ended_at_ >= 0 ? ended_at_ : scenario_.end_s; }
  void set_ended_at(double t) { ended_at_ = t; }
  Platform& platform() { return *platform_; }
  const Platform& platform() const { return *platform_; }
  Recorder& recorder() { return recorder_; }
  const Recorder& recorder() const { return recorder_; }
  store::MailStore& store(const std::string& domain) { return *stores_.at(domain); }
  const std::map<std::string, std::unique_ptr<store::MailStore>>& stores() const { return stores_; }
  const dns::Zone& zone() const { return zone_; }
  const ServerCosts& costs() const { return costs_; }

  const scenario::Provider* provider_of_domain(const std::string& domain) const;
  const scenario::Provider* provider_of_host(const std::string& host) const;
  const scenario::Person* person_by_address(const std::string& address) const;

  std::string next_connection_id() { return "c" + std::to_string(++connections_); }
  std::string next_queue_id(const std::string& host);
  std::string next_message_id(const std::string& domain, double now);
  std::uint16_t next_dns_id() { return static_cast<std::uint16_t>(++dns_queries_); }

  Timeline& timeline(const std::string& message_id, const std::string& recipient);
  Timeline* find_timeline(const std::string& message_id, const std::string& recipient);
  const std::vector<Timeline>& timelines() const { return timelines_; }

  // Whether a server host is off at `now` (the scenario's "down" periods).
  bool host_down(const std::string& host, double now) const;
  // When a host that is down at `now` comes back (`now` if it is up).
  double back_up_at(const std::string& host, double now) const;
  // When the host next goes off at or after `now`; infinity if it never does.
  double next_down(const std::string& host, double now) const;

  // Ports that have a listener ("mail.ums.com:25"); a SYN to any other port gets RST.
  void listen(const std::string& key, const std::string& actor) { listening_[key] = actor; }
  void unlisten(const std::string& key) { listening_.erase(key); }
  // The actor that listens on key, or nullptr when nobody does.
  const std::string* listener(const std::string& key) const
  {
    auto it = listening_.find(key);
    return it == listening_.end() ? nullptr : &it->second;
  }

 private:
  const scenario::Scenario& scenario_;
  std::unique_ptr<Platform> platform_;
  Recorder recorder_;
  std::map<std::string, std::unique_ptr<store::MailStore>> stores_;
  dns::Zone zone_;
  ServerCosts costs_;
  std::uint64_t connections_ = 0;
  std::uint64_t dns_queries_ = 0;
  std::map<std::string, std::uint64_t> queue_ids_;
  std::map<std::string, std::uint64_t> message_ids_;
  std::vector<Timeline> timelines_;
  std::map<std::string, std::string> listening_;
  std::map<std::string, std::vector<scenario::Outage>> outages_;  // by host name
  std::map<std::pair<std::string, std::string>, std::size_t> timeline_index_;
  double ended_at_ = -1;
};

}  // namespace mailsim::sim

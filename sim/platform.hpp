// The simulated world: SimGrid zones, hosts and links built from a scenario.
//
// Each place is a star zone: every host in it hangs off the centre by its own
// access link (a device's home or mobile line, a server's data-centre uplink),
// and a router is the place's gateway. The places are joined in one full zone
// by the scenario's wide-area links; places with no direct link are routed
// through the chain of links of least total latency. Star zones keep routing
// tables linear in the number of hosts, so a run can hold 100,000 devices.
//
// Network model: see configure_network() and docs/network-model.md.
#pragma once

#include "sim/scenario.hpp"

#include <simgrid/s4u.hpp>

#include <map>
#include <string>
#include <vector>

namespace mailsim::sim {

struct HostEntry {
  std::string name;     // "rav-laptop", "mail.cms.com", "dns"
  std::string address;  // IPv4, dotted
  std::string place;
  int utc_offset_minutes = 0;
  simgrid::s4u::Host* host = nullptr;
};

struct LinkEntry {
  std::string name;
  std::string a, b;  // what it joins: two places, or a host and its place
  double latency_s;
  double bandwidth_Bps;
};

// Sets the network model before any platform exists: CM02 with TCP-gamma kept
// and cross-traffic on. Values given on the command line (--cfg=...) win.
void configure_network(simgrid::s4u::Engine& engine);

class Platform {
 public:
  explicit Platform(const scenario::Scenario& scenario);

  const HostEntry& host(const std::string& name) const;  // asserts it exists
  const HostEntry* find_host(const std::string& name) const;
  const HostEntry* find_by_address(const std::string& address) const;
  const std::vector<HostEntry>& hosts() const { return hosts_; }
  const std::vector<LinkEntry>& links() const { return links_; }

  // One-way latency of the route between two hosts (sum of link latencies).
  double latency(const simgrid::s4u::Host* a, const simgrid::s4u::Host* b) const;

 private:
  void add_host(simgrid::s4u::NetZone* zone, const std::string& name, const std::string& address,
                const std::string& place, double flops, const scenario::Access& access);

  const scenario::Scenario& scenario_;
  std::vector<HostEntry> hosts_;
  std::map<std::string, std::size_t> by_name_;
  std::map<std::string, std::size_t> by_address_;
  std::vector<LinkEntry> links_;
  std::map<std::string, simgrid::s4u::NetZone*> zones_;
  std::map<std::string, simgrid::kernel::routing::NetPoint*> gateways_;
  mutable std::map<std::pair<const void*, const void*>, double> latency_cache_;
};

}  // namespace mailsim::sim

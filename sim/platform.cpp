#include "sim/platform.hpp"

#include <xbt/config.hpp>
#include <xbt/log.h>

#include <cassert>
#include <limits>
#include <set>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_platform, mailsim, "Platform built from a scenario");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

void configure_network(sg4::Engine& engine)
{
  // LV08, SimGrid's default, models a whole TCP flow and multiplies latency by
  // about 13 for small messages. We send each flight as its own message, so we
  // want one flight over latency L and bandwidth B to take L + bytes/B: CM02
  // gives exactly that (tests/sim/test_network_timing checks it).
  // TCP-gamma caps a flow at gamma / (2 L), the effect of a finite receive
  // window; we keep SimGrid's 4 MiB, which only bites on very large flights.
  // Cross-traffic charges the reverse direction for acknowledgements; kept on.
  // Explicit --cfg values on the command line take precedence: set_config is
  // only called for keys the user did not set.
  auto set_default = [&engine](const std::string& key, const std::string& value) {
    if (simgrid::config::is_default(key.c_str()))
      engine.set_config(key + ":" + value);
  };
  set_default("network/model", "CM02");
  set_default("network/TCP-gamma", "4194304");
  set_default("network/crosstraffic", "1");
}

namespace {
sg4::Link* make_link(sg4::NetZone* zone, const std::string& name, double bandwidth, double latency)
{
  return zone->create_split_duplex_link(name, bandwidth)->set_latency(latency)->seal();
}
}  // namespace

Platform::Platform(const scenario::Scenario& scenario) : scenario_(scenario)
{
  auto* world = sg4::create_full_zone("world");

  // One star zone per place, with a router as its gateway.
  std::map<std::string, int> offsets;
  for (const auto& place : scenario.places) {
    auto* zone = sg4::create_star_zone("place:" + place.name);
    zone->set_parent(world);
    zones_[place.name] = zone;
    gateways_[place.name] = zone->create_router("router:" + place.name);
    offsets[place.name] = place.utc_offset_minutes;
  }

  // Hosts: provider servers, the DNS server, every person's devices.
  for (const auto& provider : scenario.providers) {
    add_host(zones_.at(provider.place), provider.host, provider.address, provider.place,
             provider.cpu_flops, provider.access);
    // The server's own loopback, for what one of its processes tells another (the wake-up of
    // a session in IMAP IDLE, sim/idle_watch.hpp): no time, not a link of the world.
    auto* zone = zones_.at(provider.place);
    auto* point = hosts_.back().host->get_netpoint();
    auto* loopback = zone->create_link("loopback:" + provider.host, 1e12)->set_latency(0)->seal();
    zone->add_route(point, point, nullptr, nullptr, {sg4::LinkInRoute(loopback)}, false);
  }
  scenario::Access dns_access{0.001, 1.25e9};
  add_host(zones_.at(scenario.dns.place), scenario.dns.host, scenario.dns.address,
           scenario.dns.place, 1e9, dns_access);
  for (const auto& person : scenario.people)
    for (const auto& device : person.devices)
      add_host(zones_.at(person.place), device.host, device.address, person.place, 1e9,
               device.access);
  for (auto& entry : hosts_)
    entry.utc_offset_minutes = offsets.at(entry.place);
  for (auto& [name, zone] : zones_)
    zone->seal();

  // Wide-area links, then a route for every pair of places: the path of least
  // total latency over the links (Dijkstra on the small graph of places).
  std::map<std::string, std::vector<std::pair<std::string, sg4::Link*>>> adjacent;
  std::map<const sg4::Link*, std::pair<std::string, double>> link_info;
  for (const auto& l : scenario.links) {
    std::string name = "wan:" + l.a + "-" + l.b;
    auto* link = make_link(world, name, l.bandwidth_Bps, l.latency_s);
    adjacent[l.a].emplace_back(l.b, link);
    adjacent[l.b].emplace_back(l.a, link);
    link_info[link] = {l.a, l.latency_s};
    links_.push_back({name, l.a, l.b, l.latency_s, l.bandwidth_Bps});
  }
  for (const auto& from : scenario.places) {
    std::map<std::string, double> dist;
    std::map<std::string, std::pair<std::string, sg4::Link*>> prev;
    std::set<std::pair<double, std::string>> frontier{{0.0, from.name}};
    dist[from.name] = 0;
    while (not frontier.empty()) {
      auto [d, here] = *frontier.begin();
      frontier.erase(frontier.begin());
      if (d > dist[here])
        continue;
      for (const auto& [next, link] : adjacent[here]) {
        double nd = d + link->get_latency();
        if (not dist.count(next) || nd < dist[next]) {
          dist[next] = nd;
          prev[next] = {here, link};
          frontier.insert({nd, next});
        }
      }
    }
    for (const auto& to : scenario.places) {
      if (to.name <= from.name || not dist.count(to.name))
        continue;
      // Walk back from `to`, then emit the links from `from` towards `to`.
      std::vector<sg4::LinkInRoute> route;
      for (std::string at = to.name; at != from.name; at = prev[at].first) {
        auto* link = prev[at].second;
        // UP is the direction from the link's first place to its second.
        bool forward = link_info[link].first == prev[at].first;
        route.emplace_back(link, forward ? sg4::LinkInRoute::Direction::UP
                                         : sg4::LinkInRoute::Direction::DOWN);
      }
      std::vector<sg4::LinkInRoute> ordered(route.rbegin(), route.rend());
      world->add_route(zones_.at(from.name)->get_netpoint(), zones_.at(to.name)->get_netpoint(),
                       gateways_.at(from.name), gateways_.at(to.name), ordered, true);
    }
  }
  world->seal();
  XBT_VERB("Platform: %zu places, %zu hosts, %zu wide-area links", scenario.places.size(),
           hosts_.size(), scenario.links.size());
}

void Platform::add_host(sg4::NetZone* zone, const std::string& name, const std::string& address,
                        const std::string& place, double flops, const scenario::Access& access)
{
  auto* host = zone->create_host(name, flops)->seal();
  auto* link = make_link(zone, "access:" + name, access.bandwidth_Bps, access.latency_s);
  zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr,
                  {sg4::LinkInRoute(link, sg4::LinkInRoute::Direction::UP)}, true);
  by_name_[name] = hosts_.size();
  by_address_[address] = hosts_.size();
  hosts_.push_back({name, address, place, 0, host});
  links_.push_back({"access:" + name, name, place, access.latency_s, access.bandwidth_Bps});
}

const HostEntry& Platform::host(const std::string& name) const
{
  auto it = by_name_.find(name);
  assert(it != by_name_.end());
  return hosts_[it->second];
}

const HostEntry* Platform::find_host(const std::string& name) const
{
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &hosts_[it->second];
}

const HostEntry* Platform::find_by_address(const std::string& address) const
{
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : &hosts_[it->second];
}

double Platform::latency(const sg4::Host* a, const sg4::Host* b) const
{
  auto key = std::make_pair(static_cast<const void*>(a), static_cast<const void*>(b));
  if (auto it = latency_cache_.find(key); it != latency_cache_.end())
    return it->second;
  std::vector<sg4::Link*> route;
  double latency = 0;
  a->route_to(b, route, &latency);
  latency_cache_[key] = latency;
  return latency;
}

}  // namespace mailsim::sim

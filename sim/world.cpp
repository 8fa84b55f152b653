#include "sim/world.hpp"

#include "models/message.hpp"
#include "sim/mailboxes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>
#include <ctime>

namespace mailsim::sim {

namespace {
World* current = nullptr;

std::array<std::uint8_t, 4> ipv4(const std::string& dotted)
{
  auto parsed = dns::parse_ipv4(dotted);
  assert(parsed);
  return *parsed;
}
}  // namespace

World::World(const scenario::Scenario& scenario, bool keep_events)
    : scenario_(scenario), recorder_(keep_events)
{
  assert(current == nullptr);  // one simulation per process
  current = this;
  platform_ = std::make_unique<Platform>(scenario);

  // Each provider's mailboxes (with what the scenario preloads), and its records in the DNS zone.
  stores_ = build_stores(scenario);
  auto ttl = static_cast<std::uint32_t>(scenario.dns.ttl_s);
  for (const auto& provider : scenario.providers) {
    for (const auto& mx : provider.mx)
      zone_.add_mx(provider.domain, static_cast<std::uint16_t>(mx.preference), mx.host, ttl);
    zone_.add_a(provider.host, ipv4(provider.address), ttl);
    // No MX: the domain's own A record names its mail server (RFC 5321 5.1).
    if (provider.mx.empty())
      zone_.add_a(provider.domain, ipv4(provider.address), ttl);
    if (not provider.down.empty())
      outages_[provider.host] = provider.down;
  }
}

bool World::host_down(const std::string& host, double now) const
{
  auto it = outages_.find(host);
  if (it == outages_.end())
    return false;
  for (const auto& outage : it->second)
    if (outage.from_s <= now && now < outage.until_s)
      return true;
  return false;
}

double World::back_up_at(const std::string& host, double now) const
{
  auto it = outages_.find(host);
  if (it == outages_.end())
    return now;
  double back = now;
  for (const auto& outage : it->second)  // sorted by start; outages may touch or overlap
    if (outage.from_s <= back && back < outage.until_s)
      back = outage.until_s;
  return back;
}

double World::next_down(const std::string& host, double now) const
{
  double next = std::numeric_limits<double>::infinity();
  if (auto it = outages_.find(host); it != outages_.end())
    for (const auto& outage : it->second)
      if (outage.from_s >= now)
        next = std::min(next, outage.from_s);
  return next;
}

World& World::get()
{
  assert(current != nullptr);
  return *current;
}

const scenario::Provider* World::provider_of_domain(const std::string& domain) const
{
  for (const auto& provider : scenario_.providers)
    if (provider.domain == domain)
      return &provider;
  return nullptr;
}

const scenario::Provider* World::provider_of_host(const std::string& host) const
{
  for (const auto& provider : scenario_.providers)
    if (provider.host == host)
      return &provider;
  return nullptr;
}

const scenario::Person* World::person_by_address(const std::string& address) const
{
  for (const auto& person : scenario_.people)
    if (person.address == address)
      return &person;
  return nullptr;
}

std::string World::next_queue_id(const std::string& host)
{
  // Postfix-like hex queue ids, from a per-host counter and a hash of the host
  // name: short, deterministic, different on each server.
  std::uint32_t hash = 2166136261u;
  for (unsigned char ch : host)
    hash = (hash ^ ch) * 16777619u;
  return fmt::format("{:05X}{:05X}", hash & 0xFFFFF, ++queue_ids_[host]);
}

std::string World::next_message_id(const std::string& domain, double now)
{
  std::time_t t = static_cast<std::time_t>(scenario_.epoch_unix + static_cast<std::int64_t>(now));
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto left = fmt::format("{:04}{:02}{:02}{:02}{:02}{:02}.{}", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ++message_ids_[domain]);
  return msg::make_message_id(left, domain);
}

Timeline& World::timeline(const std::string& message_id, const std::string& recipient)
{
  auto key = std::make_pair(message_id, recipient);
  auto it = timeline_index_.find(key);
  if (it != timeline_index_.end())
    return timelines_[it->second];
  timeline_index_[key] = timelines_.size();
  timelines_.emplace_back();
  timelines_.back().message_id = message_id;
  timelines_.back().to = recipient;
  return timelines_.back();
}

Timeline* World::find_timeline(const std::string& message_id, const std::string& recipient)
{
  auto it = timeline_index_.find({message_id, recipient});
  return it == timeline_index_.end() ? nullptr : &timelines_[it->second];
}

}  // namespace mailsim::sim

// Named places a scenario can use without writing coordinates, time zones or
// links: "Toronto", "Mumbai", "Frankfurt", "Virginia", ... (docs/places.md).
//
// A preset gives a place its city, latitude, longitude and UTC offset, and
// every two presets a wide-area link whose one-way latency comes from one
// documented formula: great-circle distance over fibre at 2/3 of c, times a
// route factor, plus a fixed cost for the routers at both ends. The table is
// the data; this file is its one loader. No SimGrid here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailsim::scenario {

struct PlacePreset {
  const char* name;  // what a scenario writes: "Sao Paulo"
  const char* city;  // "São Paulo, Brazil"
  double latitude;   // degrees
  double longitude;
  int utc_offset_minutes;  // in effect on 4 December (no daylight saving modelled)
};

// The model of preset links (docs/places.md explains each figure).
constexpr double kEarthRadiusKm = 6371.0;           // mean radius (IUGG)
constexpr double kFibreKmPerSecond = 200000.0;      // light in glass, about 2/3 of c
constexpr double kRouteFactor = 1.5;                // cables are longer than the great circle
constexpr double kRouterLatencyS = 0.005;           // switching and queueing, both ends together
constexpr double kPresetLinkBandwidthBps = 1.25e8;  // 1 Gbit/s: one flow's share, a choice

// Every preset, sorted by name.
const std::vector<PlacePreset>& place_presets();

// The preset of that exact name, or nullptr.
const PlacePreset* find_place_preset(std::string_view name);

// "Bangalore, Frankfurt, ...": every preset name, for error messages.
std::string place_preset_names();

// Great-circle distance (haversine) in kilometres.
double great_circle_km(const PlacePreset& a, const PlacePreset& b);

// One-way latency of the link between two presets, in seconds, to 0.1 ms.
double preset_latency_s(const PlacePreset& a, const PlacePreset& b);

}  // namespace mailsim::scenario

// The table of place presets and the latency model of their links.
//
// Coordinates are those of each city's centre (for Virginia: Ashburn, where
// most of the state's data centres stand), to two decimals. UTC offsets are
// the ones in effect on 4 December, the date of the bundled scenarios: the
// northern cities keep standard time then, Sydney keeps daylight time
// (+11:00); a run in another season would need other offsets, and a place
// never changes its offset during a run (docs/scenario-format.md).
#include "sim/place_presets.hpp"

#include <algorithm>
#include <cmath>

namespace mailsim::scenario {

const std::vector<PlacePreset>& place_presets() {
  static const std::vector<PlacePreset> presets = [] {
    std::vector<PlacePreset> table = {
        {"Bangalore", "Bengaluru, India", 12.97, 77.59, 330},
        {"Frankfurt", "Frankfurt am Main, Germany", 50.11, 8.68, 60},
        {"Johannesburg", "Johannesburg, South Africa", -26.20, 28.05, 120},
        {"London", "London, United Kingdom", 51.51, -0.13, 0},
        {"Mumbai", "Mumbai, India", 19.08, 72.88, 330},
        {"San Francisco", "San Francisco, United States", 37.77, -122.42, -480},
        {"Sao Paulo", "São Paulo, Brazil", -23.55, -46.63, -180},
        {"Singapore", "Singapore", 1.35, 103.82, 480},
        {"Sydney", "Sydney, Australia", -33.87, 151.21, 660},
        {"Tokyo", "Tokyo, Japan", 35.68, 139.69, 540},
        {"Toronto", "Toronto, Canada", 43.65, -79.38, -300},
        {"Vancouver", "Vancouver, Canada", 49.28, -123.12, -480},
        {"Virginia", "Ashburn, Virginia, United States", 39.04, -77.49, -300},
    };
    std::sort(table.begin(), table.end(), [](const auto& a, const auto& b) {
      return std::string_view(a.name) < std::string_view(b.name);
    });
    return table;
  }();
  return presets;
}

const PlacePreset* find_place_preset(std::string_view name) {
  for (const auto& preset : place_presets())
    if (name == preset.name) return &preset;
  return nullptr;
}

std::string place_preset_names() {
  std::string names;
  for (const auto& preset : place_presets())
    names += (names.empty() ? "" : ", ") + std::string(preset.name);
  return names;
}

double great_circle_km(const PlacePreset& a, const PlacePreset& b) {
  constexpr double radians = 3.14159265358979323846 / 180;
  double lat1 = a.latitude * radians, lat2 = b.latitude * radians;
  double dlat = lat2 - lat1, dlon = (b.longitude - a.longitude) * radians;
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(lat1) * std::cos(lat2) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

double preset_latency_s(const PlacePreset& a, const PlacePreset& b) {
  double seconds = kRouterLatencyS + kRouteFactor * great_circle_km(a, b) / kFibreKmPerSecond;
  return std::round(seconds * 1e4) / 1e4;
}

}  // namespace mailsim::scenario

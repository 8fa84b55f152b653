#include "models/post_route.hpp"

#include <fmt/format.h>

#include <cmath>

namespace mailsim::post {

namespace {

constexpr std::int64_t kDay = 86400;

struct Civil {
  std::int64_t year;
  unsigned month, day;
};

// Proleptic Gregorian date of a day number (days since 1970-01-01), after H. Hinnant's
// civil_from_days: count in 400-year eras that start on 1 March.
Civil civil_from_days(std::int64_t days) {
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto day_of_era = static_cast<unsigned>(z - era * 146097);
  unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  unsigned shifted_month = (5 * day_of_year + 2) / 153;  // 0 is March
  unsigned day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  unsigned month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  std::int64_t year = static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// Whole local seconds since 1970-01-01 00:00 local, at simulated time t.
std::int64_t local_seconds(double t, std::int64_t epoch_unix, int utc_offset_minutes) {
  return epoch_unix + utc_offset_minutes * 60 + static_cast<std::int64_t>(std::floor(t));
}

WeeklySchedule weekly(std::initializer_list<int> days, std::initializer_list<int> minutes) {
  WeeklySchedule schedule;
  for (int d : days) schedule.days[d] = true;
  schedule.minutes = minutes;
  return schedule;
}

constexpr int kSun = 0, kMon = 1, kTue = 2, kWed = 3, kThu = 4, kFri = 5, kSat = 6;

}  // namespace

std::vector<Stage> default_route() {
  std::vector<Stage> route(6);

  auto& collection = route[0];
  collection.key = "collection";
  collection.what = "the postman's collection round";
  collection.waits_for = "the next collection";
  collection.from_site = "post-box";
  collection.to_site = "sorting-plant";
  collection.actor = "postman";
  collection.schedule = weekly({kMon, kTue, kWed, kThu, kFri}, {17 * 60});
  collection.takes_s = 2 * 3600;
  collection.vehicle = "collection van";
  collection.km = 25;
  collection.hands = 1;
  collection.source =
      "Canada Post counts a delivery standard in business days from the day of deposit, and "
      "an item posted after the last collection time printed on the street letter box as "
      "deposited on the next business day (Canada Post, Delivery standards overview). One "
      "collection on weekdays at 17:00, and 2 h and 25 km to the sorting plant: assumptions.";

  auto& origin = route[1];
  origin.key = "origin_office";
  origin.what = "the sender's post office: sorting, the dispatch abroad, the truck to the airport";
  origin.waits_for = "the next sorting shift";
  origin.from_site = "sorting-plant";
  origin.to_site = "airport";
  origin.actor = "sorters";
  origin.schedule = weekly({kMon, kTue, kWed, kThu, kFri}, {6 * 60});
  origin.takes_s = 32 * 3600;
  origin.vehicle = "truck";
  origin.km = 10;
  origin.hands = 3;
  origin.source =
      "Canada Post sends mail abroad through three processing facilities, Montreal, Toronto "
      "and Vancouver (Canada Post, How to find delivery standards to an international "
      "destination). Work on business days from 06:00, and 32 h to cancel, sort, bag the "
      "closed dispatch for the destination and truck it 10 km to the airline: assumptions.";

  auto& flight = route[2];
  flight.key = "flight";
  flight.what = "the flight";
  flight.waits_for = "the next flight";
  flight.from_site = "airport";
  flight.to_site = "arrival-office";
  flight.actor = "aircraft";
  flight.schedule = weekly({kMon, kTue, kThu, kSat}, {21 * 60 + 35});
  flight.takes_s = 14 * 3600 + 25 * 60;
  flight.vehicle = "aircraft";
  flight.km = 12490;
  flight.hands = 2;
  flight.source =
      "Air Canada's non-stop Toronto-Mumbai flight left at 21:35 on Mondays, Tuesdays, "
      "Thursdays and Saturdays and landed at 21:30 local time the next day, 14 h 25 min "
      "(deplacementspros.com, 2017); it flies four times a week again from 27 October 2024 "
      "(CTV News, 3 June 2024). 12,490 km is the great circle from Toronto Pearson to Mumbai; "
      "the letter riding in that flight's hold is an assumption.";

  auto& destination = route[3];
  destination.key = "destination_office";
  destination.what = "the recipient's post office: customs, sorting, the mail van";
  destination.waits_for = "the next customs and sorting shift";
  destination.from_site = "arrival-office";
  destination.to_site = "delivery-po";
  destination.actor = "customs";
  destination.at_recipient = true;
  destination.schedule = weekly({kMon, kTue, kWed, kThu, kFri, kSat}, {9 * 60 + 30});
  destination.takes_s = 3 * kDay;
  destination.vehicle = "mail van";
  destination.km = 30;
  destination.hands = 4;
  destination.source =
      "Mumbai Customs clears letter mail at the foreign post office at the time of its arrival "
      "and sorting (Mumbai Customs, FAQ on imports by post). Work from 09:30 Monday to "
      "Saturday, and 3 days for customs, sorting to the PIN code and the mail van to the "
      "delivery office, 30 km: assumptions, chosen so that the journey takes about 6 "
      "business days, within the 6 to 10 typical of letter mail from Canada to India.";

  auto& delivery = route[4];
  delivery.key = "delivery";
  delivery.what = "the postman's delivery round";
  delivery.waits_for = "the next delivery round";
  delivery.from_site = "delivery-po";
  delivery.to_site = "mailbox";
  delivery.actor = "postman";
  delivery.at_recipient = true;
  delivery.schedule = weekly({kMon, kTue, kWed, kThu, kFri, kSat}, {10 * 60});
  delivery.takes_s = 2 * 3600;
  delivery.vehicle = "bicycle";
  delivery.km = 8;
  delivery.hands = 1;
  delivery.source =
      "At a Delhi delivery office the bags are sorted into beats from 06:00 and the postmen go "
      "out at 10:00 (The Indian Express, New Year greetings keep postmen busy). No round on "
      "Sundays, 2 h and 8 km by bicycle to the recipient's door: assumptions.";

  auto& reading = route[5];
  reading.key = "reading";
  reading.what = "a look into the mailbox, and reading";
  reading.waits_for = "the next look into the mailbox";
  reading.from_site = "mailbox";
  reading.to_site = "";
  reading.actor = "";
  reading.at_recipient = true;
  reading.schedule = weekly({kSun, kMon, kTue, kWed, kThu, kFri, kSat}, {18 * 60 + 30});
  reading.takes_s = 5 * 60;
  reading.hands = 1;
  reading.source =
      "Assumption: the recipient looks into the mailbox on coming home, at 18:30 every day, "
      "and reads the letter in 5 minutes.";

  return route;
}

std::optional<int> parse_day(const std::string& name) {
  for (int d = 0; d < 7; d++)
    if (name == kDayNames[d]) return d;
  return std::nullopt;
}

std::optional<int> parse_time_of_day(const std::string& text) {
  auto digit = [&text](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4))
    return std::nullopt;
  int hours = (text[0] - '0') * 10 + (text[1] - '0');
  int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

std::int64_t local_day(double t, std::int64_t epoch_unix, int utc_offset_minutes) {
  return floor_div(local_seconds(t, epoch_unix, utc_offset_minutes), kDay);
}

int weekday(std::int64_t day) {
  // 1970-01-01 was a Thursday.
  return static_cast<int>(((day % 7) + 7 + 4) % 7);
}

std::optional<double> next_departure(const WeeklySchedule& schedule, double t,
                                     std::int64_t epoch_unix, int utc_offset_minutes) {
  if (schedule.minutes.empty()) return std::nullopt;
  std::int64_t shift = epoch_unix + utc_offset_minutes * 60;  // simulated 0 in local seconds
  double now = static_cast<double>(shift) + t;
  std::int64_t today = local_day(t, epoch_unix, utc_offset_minutes);
  // A week and a day: today's remaining times, then every day of the next week.
  for (std::int64_t day = today; day <= today + 7; day++) {
    if (not schedule.days[weekday(day)]) continue;
    std::optional<std::int64_t> best;
    for (int minute : schedule.minutes) {
      std::int64_t start = day * kDay + minute * 60;
      if (static_cast<double>(start) >= now && (not best || start < *best)) best = start;
    }
    if (best) return static_cast<double>(*best - shift);
  }
  return std::nullopt;
}

int business_days_between(std::int64_t from_day, std::int64_t to_day) {
  int count = 0;
  for (std::int64_t day = from_day + 1; day <= to_day; day++) {
    int d = weekday(day);
    count += d >= 1 && d <= 5;
  }
  return count;
}

std::string local_time_text(double t, std::int64_t epoch_unix, int utc_offset_minutes) {
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::int64_t local = local_seconds(t, epoch_unix, utc_offset_minutes);
  std::int64_t day = floor_div(local, kDay);
  std::int64_t second_of_day = local - day * kDay;
  Civil date = civil_from_days(day);
  return fmt::format("{} {} {} {:02}:{:02}", kDayNames[weekday(day)], date.day,
                     months[date.month - 1], second_of_day / 3600, second_of_day % 3600 / 60);
}

std::string local_time_rfc3339(double t, std::int64_t epoch_unix, int utc_offset_minutes) {
  std::int64_t local = local_seconds(t, epoch_unix, utc_offset_minutes);
  std::int64_t day = floor_div(local, kDay);
  std::int64_t second_of_day = local - day * kDay;
  Civil date = civil_from_days(day);
  int offset = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}", date.year, date.month,
                     date.day, second_of_day / 3600, second_of_day % 3600 / 60, second_of_day % 60,
                     utc_offset_minutes < 0 ? '-' : '+', offset / 60, offset % 60);
}

std::string span_text(double seconds) {
  if (seconds < 60) return fmt::format("{:.0f} s", seconds);
  auto minutes = static_cast<std::int64_t>(std::llround(seconds / 60));
  if (minutes < 60) return fmt::format("{} min", minutes);
  if (minutes < 24 * 60) return fmt::format("{} h {:02} min", minutes / 60, minutes % 60);
  return fmt::format("{} d {} h {:02} min", minutes / (24 * 60), minutes % (24 * 60) / 60,
                     minutes % 60);
}

std::string elapsed_text(double seconds) {
  auto whole = static_cast<std::int64_t>(std::floor(seconds));
  return fmt::format("+{}d {:02}:{:02}:{:02}", whole / kDay, whole % kDay / 3600, whole % 3600 / 60,
                     whole % 60);
}

}  // namespace mailsim::post

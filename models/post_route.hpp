// The route of a paper letter, as plain data, and the calendar arithmetic of its schedules.
//
// Theory of operation. A letter crosses a fixed chain of six stages, the physical mail of
// the story (Steps 3 to 7): the postman's collection round (post box to the sender's
// sorting plant), the sender's post office (sorting, the international dispatch, the truck
// to the airport), the flight, the recipient's post office (customs and sorting at the
// office of exchange, the mail van to the delivery office), the delivery round (to the
// recipient's mailbox) and the recipient looking into the mailbox and reading. A stage
// starts only at the times of its weekly schedule (days of the week and times of day, in
// the local time of the sender's or the recipient's place) and then takes a fixed time. A
// letter that reaches a stage exactly at a start time still makes it.
//
// Times are simulated seconds since the scenario's epoch (a Unix time). A place's local
// time is a fixed UTC offset, as in the scenario format: no daylight saving. Nothing here
// reads a clock or touches SimGrid; sim/postal.cpp moves the letters.
//
// Left out: public holidays, the queue of other mail ahead of a letter (a stage's fixed
// time stands for it), loss, postage, registered mail. docs/postal.md gives the source of
// every default figure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailsim::post {

// Days of the week, in the order of the C library: 0 is Sunday.
constexpr std::array<const char*, 7> kDayNames = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

struct WeeklySchedule {
  std::array<bool, 7> days{};  // runs on this day of the week (0 = Sunday)
  std::vector<int> minutes;    // start times, minutes after local midnight, ascending
};

struct Stage {
  std::string key;                 // the scenario's name for it: "collection", "flight", ...
  std::string what;                // what happens, for the story: "the postman's collection round"
  std::string waits_for;           // what a letter waits for here: "the next collection"
  std::string from_site, to_site;  // trace hosts: "post-box", "sorting-plant"
  std::string actor;               // who does it: "postman"
  bool at_recipient = false;  // the schedule is in the recipient's local time, not the sender's
  WeeklySchedule schedule;
  double takes_s = 0;   // from the start to the next site
  std::string vehicle;  // "" when the letter is carried by hand
  double km = 0;        // distance the vehicle carries it
  int hands = 0;        // people who handle the letter or its bag in this stage
  std::string source;   // where the figures come from
};

// The six stages with the figures of docs/postal.md (Toronto to Mumbai).
std::vector<Stage> default_route();

// "Mon" to 1; nullopt for anything else.
std::optional<int> parse_day(const std::string& name);
// "17:30" to 1050 minutes; nullopt unless HH:MM with HH 00-23 and MM 00-59.
std::optional<int> parse_time_of_day(const std::string& text);

// Days since 1970-01-01 of the local date at simulated time t.
std::int64_t local_day(double t, std::int64_t epoch_unix, int utc_offset_minutes);
// Day of the week (0 = Sunday) of a day number from local_day().
int weekday(std::int64_t day);

// The first start of the schedule at or after t, in simulated seconds; nullopt when the
// schedule has no day or no time.
std::optional<double> next_departure(const WeeklySchedule& schedule, double t,
                                     std::int64_t epoch_unix, int utc_offset_minutes);

// Monday to Friday days d with from_day < d <= to_day: Canada Post's way of counting a
// delivery standard, day 0 being the day of deposit.
int business_days_between(std::int64_t from_day, std::int64_t to_day);

// "Fri 4 Dec 17:00" in the local time of the offset (seconds dropped).
std::string local_time_text(double t, std::int64_t epoch_unix, int utc_offset_minutes);
// "2026-12-04T17:00:00-05:00" (RFC 3339, whole seconds).
std::string local_time_rfc3339(double t, std::int64_t epoch_unix, int utc_offset_minutes);
// A span for people: "45 s", "8 h 00 min", "2 d 11 h 00 min" (whole minutes from one hour).
std::string span_text(double seconds);
// Elapsed simulated time for the story's time column: "+9d 23:05:00".
std::string elapsed_text(double seconds);

}  // namespace mailsim::post

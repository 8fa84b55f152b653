// The post, on the same engine as the email.
//
// Theory of operation. The physical mail of the story runs beside the email in the same
// SimGrid simulation, in days where the email takes seconds. The route
// (models/post_route.hpp) is a chain of six stages. A letter that reaches a stage waits for
// the stage's next start in its weekly schedule, and the letters waiting for the same start
// go together, as the contents of one post box go in one van. One actor per start that has
// mail to carry (a collection round, a sorting shift, a flight, a delivery round, a look
// into the mailbox) sleeps until the start, records the departure, sleeps for the stage's
// time and hands the letters to the next stage. So actors live only while there is mail to
// carry, as the email's session actors live only while a session is open. The post uses no
// network and no processor: its actors stand on the script's host and cost the email
// nothing. Every step is a trace event of kind "postal".
//
// With postal.end_when_read (the default), reading the last letter ends the run when every
// email has been read by then, as it is when the letter is the slow one; otherwise the run
// goes on to the scenario's end.
#include "sim/postal.hpp"

#include "sim/world.hpp"

#include <fmt/format.h>
#include <simgrid/plugins/load.h>
#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <algorithm>
#include <map>
#include <tuple>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_postal, mailsim, "The post: letters on the same engine");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

constexpr std::size_t kStages = 6;
constexpr std::size_t kMailboxStage = 5;  // the reading stage starts at the mailbox

// The letters of this run; one simulation per process.
struct PostOffice {
  const scenario::Scenario* scenario = nullptr;
  std::vector<LetterRecord> letters;
  // Letters waiting for one start: (stage, start time, person the stage works for).
  std::map<std::tuple<std::size_t, double, std::string>, std::vector<std::size_t>> waiting;
};

PostOffice& office()
{
  static PostOffice post;
  return post;
}

const std::vector<post::Stage>& route()
{
  return office().scenario->postal.route;
}

std::string lower(std::string text)
{
  for (char& c : text)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return text;
}

std::string city(const scenario::Place& place)
{
  return place.city.empty() ? place.name : place.city;
}

const scenario::Place& stage_place(const LetterRecord& l, const post::Stage& stage)
{
  return stage.at_recipient ? *l.to_place : *l.from_place;
}

// "Fri 4 Dec 17:00 Toronto"
std::string when(const scenario::Place& place, double t)
{
  return post::local_time_text(t, office().scenario->epoch_unix, place.utc_offset_minutes) + " " +
         city(place);
}

// Who carries out a stage: its actor, or the recipient for the last one.
std::string actor_of(const LetterRecord& l, std::size_t k)
{
  if (k < kStages && not route()[k].actor.empty())
    return route()[k].actor;
  return lower(l.letter->to);
}

// "1,250"
std::string grouped(double value)
{
  auto digits = fmt::format("{:.0f}", value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); i++) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

std::string plural(long n, const char* one, const char* many)
{
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

TraceEvent postal_event(const LetterRecord& l, const char* step, const std::string& stage,
                        const scenario::Place& place)
{
  TraceEvent e;
  e.time = sg4::Engine::get_clock();
  e.kind = "postal";
  e.letter = l.id;
  e.step = step;
  e.stage = stage;
  e.place = place.name;
  e.local_time =
      post::local_time_rfc3339(e.time, office().scenario->epoch_unix, place.utc_offset_minutes);
  return e;
}

void start_trip(std::size_t k, double start, const std::string& group);

// The letter has reached stage k: it waits for the stage's next start.
void wait_for_stage(std::size_t i, std::size_t k, TraceEvent event, const std::string& opening)
{
  auto& l = office().letters[i];
  const auto& stage = route()[k];
  const auto& place = stage_place(l, stage);
  double now = sg4::Engine::get_clock();
  l.reached[k] = now;
  auto start = post::next_departure(stage.schedule, now, office().scenario->epoch_unix,
                                    place.utc_offset_minutes);
  event.src_host = stage.from_site;
  event.src_actor = k == 0 ? lower(l.letter->from) : actor_of(l, k);
  if (not start) {
    event.summary = opening + fmt::format("; {} never comes (the stage has no start)",
                                          stage.waits_for);
    World::get().recorder().add(std::move(event));
    return;
  }
  event.summary = opening + fmt::format("; waits for {}, {}, in {}", stage.waits_for,
                                        when(place, *start), post::span_text(*start - now));
  World::get().recorder().add(std::move(event));

  std::string group = stage.at_recipient ? l.letter->to : l.letter->from;
  auto& batch = office().waiting[{k, *start, group}];
  batch.push_back(i);
  if (batch.size() == 1)
    start_trip(k, *start, group);
}

void read_letter(std::size_t i);

// The letter arrives at the end of stage k - 1, the start of stage k.
void arrive(std::size_t i, std::size_t k)
{
  auto& l = office().letters[i];
  if (k == kStages) {
    read_letter(i);
    return;
  }
  const auto& place = stage_place(l, route()[k]);
  double now = sg4::Engine::get_clock();
  auto event = postal_event(l, "arrived", route()[k].key, place);
  std::string opening;
  if (k == kMailboxStage) {
    l.in_mailbox = now;
    opening = fmt::format("{} is in {}'s mailbox ({})", l.id, l.letter->to, when(place, now));
  } else {
    opening = fmt::format("{} arrives at the {} ({})", l.id, route()[k].from_site,
                          when(place, now));
  }
  wait_for_stage(i, k, std::move(event), opening);
}

// Stage k starts with the letter on board.
void depart(std::size_t i, std::size_t k)
{
  auto& l = office().letters[i];
  const auto& stage = route()[k];
  const auto& place = stage_place(l, stage);
  double now = sg4::Engine::get_clock();
  l.left[k] = now;
  auto event = postal_event(l, "departed", stage.key, place);
  event.src_host = stage.from_site;
  event.src_actor = actor_of(l, k);
  event.arrival = now + stage.takes_s;
  event.vehicle = stage.vehicle;
  event.km = stage.km;
  event.hands = stage.hands;
  if (k + 1 < kStages) {
    const auto& next_place = stage_place(l, route()[k + 1]);
    event.dst_host = stage.to_site;
    event.dst_actor = actor_of(l, k + 1);
    std::string how = stage.vehicle.empty()
                          ? std::string("by hand")
                          : fmt::format("by {}, {} km", stage.vehicle, grouped(stage.km));
    event.summary = fmt::format("{}: {} leaves {}, {}; arrives {}, {} later", stage.what, l.id,
                                how, plural(stage.hands, "hand", "hands"),
                                when(next_place, now + stage.takes_s),
                                post::span_text(stage.takes_s));
  } else {
    event.summary = fmt::format("{} looks into the mailbox and reads {} from {}: {}, {}",
                                l.letter->to, l.id, l.letter->from,
                                plural(stage.hands, "hand", "hands"),
                                post::span_text(stage.takes_s));
  }
  World::get().recorder().add(std::move(event));
}

// One start of stage k that has mail: sleep until it, carry the letters, hand them on.
void start_trip(std::size_t k, double start, const std::string& group)
{
  const auto& host = World::get().platform().host(office().scenario->dns.host);
  auto name = route()[k].actor.empty() ? lower(group) : route()[k].actor;
  sg4::Actor::create(name, host.host, [k, start, group]() {
    sg4::this_actor::sleep_until(start);
    auto batch = office().waiting.extract({k, start, group}).mapped();
    for (std::size_t i : batch)
      depart(i, k);
    sg4::this_actor::sleep_for(route()[k].takes_s);
    for (std::size_t i : batch)
      arrive(i, k + 1);
  })->daemonize();
}

// Every letter and every email has been read.
bool all_read()
{
  for (const auto& l : office().letters)
    if (l.read < 0)
      return false;
  for (const auto& t : World::get().timelines())
    if (t.read < 0)
      return false;
  return true;
}

int total_hands()
{
  int hands = 1;  // the sender's, posting it
  for (const auto& stage : route())
    hands += stage.hands;
  return hands;
}

void read_letter(std::size_t i)
{
  auto& l = office().letters[i];
  double now = sg4::Engine::get_clock();
  l.read = now;
  const auto& place = *l.to_place;
  auto event = postal_event(l, "read", route().back().key, place);
  event.src_host = route().back().from_site;
  event.src_actor = lower(l.letter->to);
  event.summary = fmt::format("{} has read letter {} from {} ({}), {} after it was posted",
                              l.letter->to, l.id, l.letter->from, when(place, now),
                              post::span_text(now - l.posted));
  World::get().recorder().add(std::move(event));

  if (office().scenario->postal.end_when_read && all_read()) {
    XBT_VERB("Every letter and email has been read: the run ends at %.6f s", now);
    sg4::Actor::kill_all();
  }
}

// Posts letter i: the sender drops it into the post box.
void post_letter(std::size_t i)
{
  auto& l = office().letters[i];
  l.posted = sg4::Engine::get_clock();
  auto event = postal_event(l, "posted", route().front().key, *l.from_place);
  event.hands = 1;
  std::string subject = l.letter->subject.empty() ? "" : fmt::format(" \"{}\"", l.letter->subject);
  auto opening = fmt::format("{} posts letter {}{} to {} in {} ({})", l.letter->from, l.id,
                             subject, l.letter->to, city(*l.to_place),
                             when(*l.from_place, l.posted));
  wait_for_stage(i, 0, std::move(event), opening);
}

const scenario::Place* place_of_person(const scenario::Scenario& s, const std::string& name)
{
  for (const auto& person : s.people)
    if (person.name == name)
      for (const auto& place : s.places)
        if (place.name == person.place)
          return &place;
  return nullptr;
}

}  // namespace

bool postal_enabled(const scenario::Scenario& scenario)
{
  return not scenario.postal.letters.empty();
}

const std::vector<LetterRecord>& letter_records()
{
  return office().letters;
}

void start_postal(const scenario::Scenario& scenario)
{
  auto& post = office();
  post.scenario = &scenario;
  if (not postal_enabled(scenario))
    return;
  for (const auto& letter : scenario.postal.letters) {
    LetterRecord record;
    record.id = fmt::format("L{}", post.letters.size() + 1);
    record.letter = &letter;
    record.from_place = place_of_person(scenario, letter.from);  // the loader checked the names
    record.to_place = place_of_person(scenario, letter.to);
    record.reached.fill(-1);
    record.left.fill(-1);
    post.letters.push_back(record);
  }

  const auto& host = World::get().platform().host(scenario.dns.host);
  sg4::Actor::create("post", host.host, []() {
    std::vector<std::size_t> order(office().letters.size());
    for (std::size_t i = 0; i < order.size(); i++)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(), [](std::size_t a, std::size_t b) {
      return office().letters[a].letter->at_s < office().letters[b].letter->at_s;
    });
    for (std::size_t i : order) {
      sg4::this_actor::sleep_until(office().letters[i].letter->at_s);
      post_letter(i);
    }
  })->daemonize();
}

nlohmann::json postal_trace_summary()
{
  auto t_or_null = [](double t) { return t < 0 ? nlohmann::json() : nlohmann::json(t); };
  nlohmann::json letters = nlohmann::json::array();
  for (const auto& l : office().letters)
    letters.push_back({{"letter", l.id},
                       {"from", l.letter->from},
                       {"to", l.letter->to},
                       {"subject", l.letter->subject},
                       {"posted", t_or_null(l.posted)},
                       {"in_mailbox", t_or_null(l.in_mailbox)},
                       {"read", t_or_null(l.read)}});
  return letters;
}

void write_postal_summary(std::ostream& out, const World& world)
{
  const auto& s = world.scenario();
  for (const auto& l : office().letters) {
    out << fmt::format("\nLetter {}: \"{}\" from {} in {} to {} in {}, by post\n", l.id,
                       l.letter->subject, l.letter->from, city(*l.from_place), l.letter->to,
                       city(*l.to_place));
    auto at = [&](const scenario::Place& place, double t) {
      return t < 0 ? std::string("-")
                   : fmt::format("{:<24} {}", when(place, t), post::elapsed_text(t));
    };
    out << fmt::format("  posted      {}\n", at(*l.from_place, l.posted));
    out << fmt::format("  in mailbox  {}\n", at(*l.to_place, l.in_mailbox));
    out << fmt::format("  read        {}\n",
                       l.read < 0 ? "not read before the end of the run" : at(*l.to_place, l.read));
    out << "  where the time went:\n";
    for (std::size_t k = 0; k < kStages; k++) {
      const auto& stage = route()[k];
      if (l.reached[k] < 0)
        break;
      if (l.left[k] < 0) {
        out << fmt::format("    {:<46} until the end of the run\n",
                           "waiting for " + stage.waits_for);
        break;
      }
      out << fmt::format("    {:<46} {:>16}\n", "waiting for " + stage.waits_for,
                         post::span_text(l.left[k] - l.reached[k]));
      std::string used = stage.vehicle.empty()
                             ? plural(stage.hands, "hand", "hands")
                             : fmt::format("{}, {} km, {}", stage.vehicle, grouped(stage.km),
                                           plural(stage.hands, "hand", "hands"));
      bool done = k + 1 < kStages ? l.reached[k + 1] >= 0 : l.read >= 0;
      out << fmt::format("    {:<46} {:>16}  {}{}\n", stage.key, post::span_text(stage.takes_s),
                         used, done ? "" : " (under way at the end of the run)");
    }
  }

  // Side by side: each letter with the email of the same subject between the same people.
  for (const auto& l : office().letters) {
    const Timeline* email = nullptr;
    for (const auto& t : world.timelines()) {
      const auto* sender = world.person_by_address(t.from);
      const auto* recipient = world.person_by_address(t.to);
      if (sender && recipient && sender->name == l.letter->from &&
          recipient->name == l.letter->to && t.subject == l.letter->subject) {
        email = &t;
        break;
      }
    }
    if (email == nullptr)
      continue;

    out << fmt::format("\nLetter {} and the email \"{}\", side by side:\n", l.id, email->subject);
    auto row = [&out](const std::string& what, const std::string& letter,
                      const std::string& mail) {
      auto line = fmt::format("  {:<16} {:<36} {}", what, letter, mail);
      line.erase(line.find_last_not_of(' ') + 1);
      out << line << "\n";
    };
    auto span = [](double from, double to) {
      return from < 0 || to < 0 ? std::string("-") : post::span_text(to - from);
    };
    auto seconds = [](double from, double to) {
      return from < 0 || to < 0 ? std::string("-") : fmt::format("{:.3f} s", to - from);
    };
    row("", "by post", "by email");
    row("sent", when(*l.from_place, l.posted),
        email->composed < 0 ? "-" : when(*l.from_place, email->composed));
    row("delivery time", span(l.posted, l.in_mailbox) + " (into the mailbox)",
        seconds(email->composed, email->delivered) + " (into the INBOX)");
    row("sent to read", span(l.posted, l.read), seconds(email->composed, email->read));
    std::string business = "-";
    if (l.in_mailbox >= 0) {
      auto from_day = post::local_day(l.posted, s.epoch_unix, l.from_place->utc_offset_minutes);
      auto to_day = post::local_day(l.in_mailbox, s.epoch_unix, l.to_place->utc_offset_minutes);
      business = plural(post::business_days_between(from_day, to_day), "business day",
                        "business days");
    }
    row("", business, "");

    bool relayed = email->sending_server != email->receiving_server;
    int hops = relayed ? 4 : 3;
    row("handling steps",
        fmt::format("{} stages, {}", kStages, plural(total_hands(), "hand", "hands")),
        fmt::format("{} hops, 2 hands ({}'s and {}'s)", hops, l.letter->from, l.letter->to));
    std::vector<std::string> machines = {email->sending_server};
    if (relayed)
      machines.push_back(email->receiving_server);
    machines.push_back(s.dns.host);
    row("", "", "machines: " + [&machines] {
      std::string text;
      for (const auto& m : machines)
        text += (text.empty() ? "" : ", ") + m;
      return text;
    }());

    double km = 0, flown = 0;
    bool first = true;
    for (const auto& stage : route()) {
      if (stage.vehicle.empty())
        continue;
      km += stage.km;
      if (stage.key == "flight")
        flown += stage.km;
      row(first ? "vehicles" : "", fmt::format("{} {} km", stage.vehicle, grouped(stage.km)),
          first ? "none" : "");
      first = false;
    }
    row("distance", fmt::format("{} km, {} of them flown", grouped(km), grouped(flown)),
        "none: nothing physical travels");

    std::uint64_t bytes = 0, flights = 0;
    for (const auto& [kind, n] : world.recorder().bytes_by_kind())
      bytes += n;
    for (const auto& [kind, n] : world.recorder().flights_by_kind())
      flights += n;
    row("bytes", "-", fmt::format("{} bytes on the wire, {} flights and segments",
                                  grouped(static_cast<double>(bytes)), flights));

    double total = 0;
    std::vector<std::pair<std::string, double>> cpu;
    for (const auto& provider : s.providers) {
      const auto& host = world.platform().host(provider.host);
      cpu.emplace_back(provider.host,
                       sg_host_get_computed_flops(host.host) / host.host->get_speed());
    }
    const auto& dns = world.platform().host(s.dns.host);
    cpu.emplace_back(s.dns.host, sg_host_get_computed_flops(dns.host) / dns.host->get_speed());
    for (const auto& [name, seconds_used] : cpu)
      total += seconds_used;
    row("server CPU", "-", fmt::format("{:.3f} ms in all", total * 1000));
    for (const auto& [name, seconds_used] : cpu)
      row("", "", fmt::format("{:<16} {:>8.3f} ms", name, seconds_used * 1000));
  }
}

}  // namespace mailsim::sim

// The timed script. One scheduler actor keeps every pending step in an
// agenda ordered by (time, order of the file) and, when a step is due, starts
// a session actor on the device's host. Repeating checks ("every") go back
// into the agenda. When the agenda holds nothing before the end of the run,
// the scheduler sleeps until scenario.end_s and returns; it is the only
// non-daemon actor, so SimGrid then stops every server and open session.
#include "sim/agents.hpp"

#include "sim/world.hpp"

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <map>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_script, mailsim, "The scenario's timed script");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

const scenario::Device& device_of(const scenario::Person& person, const std::string& name)
{
  for (const auto& device : person.devices)
    if (device.name == name)
      return device;
  return person.devices.front();
}


}  // namespace

void start_script(const scenario::Scenario& scenario)
{
  auto& world = World::get();
  const auto& host = world.platform().host(scenario.dns.host);
  sg4::Actor::create("script", host.host, [&scenario]() {
    auto& world = World::get();
    std::map<std::string, const scenario::Person*> people;  // the loader checked the names
    for (const auto& person : scenario.people)
      people[person.name] = &person;
    std::multimap<std::pair<double, std::size_t>, const scenario::Step*> agenda;
    std::size_t order = 0;
    for (const auto& step : scenario.script)
      agenda.emplace(std::make_pair(step.at_s, order++), &step);

    while (not agenda.empty()) {
      auto node = agenda.extract(agenda.begin());
      double at = node.key().first;
      const auto* step = node.mapped();
      if (at >= scenario.end_s)
        break;
      sg4::this_actor::sleep_until(at);
      const auto& person = *people.at(step->person);
      const auto& device = device_of(person, step->device);
      const auto& device_host = world.platform().host(device.host);
      const char* actor = device.agent == scenario::AgentKind::web ? "browser" : "mua";
      // The session daemonizes itself as it starts. Called from here, daemonize() could
      // come after a session that ends without blocking (a reply with nothing to answer),
      // and SimGrid would count it out twice and stop every daemon while the script runs.
      sg4::Actor::create(actor, device_host.host, [&person, &device, step]() {
        sg4::Actor::self()->daemonize();
        if (step->action == scenario::Action::check)
          check_mail(person, device, *step);
        else if (step->action == scenario::Action::read ||
                 step->action == scenario::Action::move)
          act_on_mail(person, device, *step);
        else
          send_mail(person, device, *step);
      });
      if (step->action == scenario::Action::check && step->every_s > 0)
        agenda.emplace(std::make_pair(at + step->every_s, order++), step);
    }
    sg4::this_actor::sleep_until(scenario.end_s);
  });
}

}  // namespace mailsim::sim

#include "sim/run.hpp"

#include "sim/agents.hpp"
#include "sim/daemons.hpp"
#include "sim/expect.hpp"
#include "sim/platform.hpp"
#include "sim/postal.hpp"
#include "sim/report.hpp"
#include "sim/world.hpp"

#include <simgrid/plugins/load.h>
#include <simgrid/s4u.hpp>
#include <xbt/config.hpp>
#include <xbt/log.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_run, mailsim, "Running a scenario");

namespace sg4 = simgrid::s4u;

namespace mailsim::sim {

namespace {

// Writes a file whole or not at all: into FILE.partial, then renamed.
bool write_atomically(const std::string& path, const World& world)
{
  // Renaming onto a device or FIFO (--trace /dev/null, as root) would replace it with a file.
  std::error_code error;
  auto status = std::filesystem::status(path, error);
  if (std::filesystem::exists(status) && not std::filesystem::is_regular_file(status))
    return false;
  std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (not out)
      return false;
    write_trace(out, world);
    out.flush();
    if (not out) {
      std::remove(partial.c_str());
      return false;
    }
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return false;
  }
  return true;
}

}  // namespace

int run_scenario(const scenario::Scenario& scenario, const RunOptions& options)
{
  // SimGrid announces every configuration change at INFO; our defaults are
  // documented, so only show warnings (a --log= given by the user still wins).
  xbt_log_control_set("xbt_cfg.thres:warning");
  std::vector<std::string> args{"mailsim"};
  args.insert(args.end(), options.simgrid_args.begin(), options.simgrid_args.end());
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());

  sg4::Engine engine(&argc, argv.data());
  configure_network(engine);
  if (simgrid::config::is_default("contexts/stack-size"))
    engine.set_config("contexts/stack-size:256");  // KiB; our actors are shallow

  // The letter-against-email summary reports the servers' CPU seconds: the host load
  // plugin counts them, and must see the hosts being created.
  if (postal_enabled(scenario))
    sg_host_load_plugin_init();

  bool keep_events = (options.story && not options.quiet) || not options.trace_path.empty() ||
                     not scenario.expect.empty() || not scenario.lesson.points.empty();
  World world(scenario, keep_events);

  // Servers first, so that they listen before the first user acts at time 0.
  start_dnsd();
  for (const auto& provider : scenario.providers)
    start_mail_server(provider);
  start_script(scenario);
  start_postal(scenario);

  engine.run();
  world.set_ended_at(sg4::Engine::get_clock());
  XBT_VERB("Run finished at %.6f s: %llu trace events", sg4::Engine::get_clock(),
           static_cast<unsigned long long>(world.recorder().count()));

  if (not options.trace_path.empty() && not write_atomically(options.trace_path, world)) {
    std::cerr << "mailsim: cannot write trace file " << options.trace_path << "\n";
    return kExitBadInput;
  }
  if (options.story) {
    std::ostringstream text;
    if (not options.quiet)
      write_story(text, world, options.explain);
    write_summary(text, world);
    std::cout << text.str() << std::flush;
  }
  for (const auto& result : check_expectations(world))
    if (not result.met)
      return kExitExpectationFailed;
  return kExitOk;
}

}  // namespace mailsim::sim

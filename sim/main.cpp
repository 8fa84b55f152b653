// mailsim: the command line.
//
//   mailsim run SCENARIO [--trace FILE] [--seed N] [--quiet] [--explain] [--cfg=K:V] [--log=...]
//   mailsim validate SCENARIO
//   mailsim list [--dir DIR]
//   mailsim serve SCENARIO [--bind ADDR] [--smtp-port N] [--submission-port N] [--pop3-port N]
//                 [--imap-port N] [--http-port N] [--submissions-port N] [--imaps-port N]
//                 [--pop3s-port N] [--https-port N]
//   mailsim --help | --version
//
// Exit codes: 0 success, 1 internal failure, 2 bad input (usage, scenario),
// 3 the run finished but an expectation of the scenario was not met.
// SimGrid's --cfg= and --log= are taken out before our own parsing and handed
// to the engine, which would otherwise answer --help and --version itself.
#include "sim/run.hpp"
#include "sim/scenario.hpp"
#include "sim/scenario_list.hpp"
#include "sim/serve.hpp"

#include <CLI/CLI.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/version.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace {

bool is_simgrid_flag(const std::string& arg)
{
  return arg.rfind("--cfg=", 0) == 0 || arg.rfind("--log=", 0) == 0;
}

void print_problems(const mailsim::scenario::ScenarioError& error)
{
  for (const auto& problem : error.problems())
    std::cerr << error.file() << ": " << problem.to_string() << "\n";
}

}  // namespace

int main(int argc, char** argv)
{
  using namespace mailsim;
  std::vector<std::string> ours;
  sim::RunOptions options;
  for (int i = 0; i < argc; i++) {
    std::string arg = argv[i];
    if (i > 0 && is_simgrid_flag(arg))
      options.simgrid_args.push_back(arg);
    else
      ours.push_back(arg);
  }

  CLI::App app{"mailsim: a discrete-event simulator of the whole email system", "mailsim"};
  app.set_version_flag("--version", std::string("mailsim ") + MAILSIM_VERSION + " (SimGrid " +
                                        std::to_string(SIMGRID_VERSION_MAJOR) + "." +
                                        std::to_string(SIMGRID_VERSION_MINOR) + ")");
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 internal failure, 2 bad input (usage or scenario file),\n"
      "3 the run finished but an expectation of the scenario was not met.\n"
      "SimGrid options --cfg=KEY:VALUE and --log=... are passed to the simulation engine.");

  std::string scenario_path;
  std::uint64_t seed = 0;
  auto* run = app.add_subcommand("run", "Simulate a scenario and print its timed trace");
  run->add_option("scenario", scenario_path,
                  "Scenario file (JSON, format v1), or the name of a bundled one")
      ->required();
  run->add_option("--trace", options.trace_path, "Also write the events as JSON Lines to FILE")
      ->type_name("FILE");
  auto* seed_option =
      run->add_option("--seed", seed, "Seed of the random generator (default: the scenario's)")
          ->type_name("N")
          // The scenario's range; CLI11 alone turns -1 and 2^64 into 2^64 - 1 without a word.
          ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{9223372036854775807}));
  run->add_flag("--quiet", options.quiet, "Print only the summary, not the timed story");
  run->add_flag("--explain", options.explain,
                "Add a plain line before each step: what happens, and which idea it shows");

  std::string validate_path;
  auto* validate = app.add_subcommand("validate", "Check a scenario file and report every problem");
  validate->add_option("scenario", validate_path,
                       "Scenario file (JSON, format v1), or the name of a bundled one")
      ->required();

  std::string list_dir = sim::bundled_scenario_dir();
  auto* list = app.add_subcommand("list", "Show the bundled scenarios, one line each");
  list->add_option("--dir", list_dir, "List the scenarios in DIR instead")->type_name("DIR");

  std::string serve_path;
  sim::ServeOptions serve_options;
  auto* serve = app.add_subcommand(
      "serve", "Serve the scenario's users and mailboxes to real mail clients on loopback ports");
  serve->add_option("scenario", serve_path, "Scenario file (JSON, format v1)")->required();
  serve->add_option("--bind", serve_options.bind, "Address to listen on")
      ->capture_default_str();
  serve->add_option("--smtp-port", serve_options.smtp_port, "SMTP relay port (0: any free port)")
      ->capture_default_str();
  serve->add_option("--submission-port", serve_options.submission_port,
                    "SMTP submission port, AUTH required (0: any free port)")
      ->capture_default_str();
  serve->add_option("--pop3-port", serve_options.pop3_port, "POP3 port (0: any free port)")
      ->capture_default_str();
  serve->add_option("--imap-port", serve_options.imap_port, "IMAP port (0: any free port)")
      ->capture_default_str();
  serve->add_option("--http-port", serve_options.http_port, "Webmail HTTP port (0: any free port)")
      ->capture_default_str();
  serve->add_option("--submissions-port", serve_options.submissions_port,
                    "SMTP submission inside TLS from the first byte, RFC 8314 (0: any free port)")
      ->capture_default_str();
  serve->add_option("--imaps-port", serve_options.imaps_port,
                    "IMAP inside TLS from the first byte (0: any free port)")
      ->capture_default_str();
  serve->add_option("--pop3s-port", serve_options.pop3s_port,
                    "POP3 inside TLS from the first byte (0: any free port)")
      ->capture_default_str();
  serve->add_option("--https-port", serve_options.https_port,
                    "Webmail HTTPS port (0: any free port)")
      ->capture_default_str();
  for (auto* port : {"--smtp-port", "--submission-port", "--pop3-port", "--imap-port",
                     "--http-port", "--submissions-port", "--imaps-port", "--pop3s-port",
                     "--https-port"})
    serve->get_option(port)->check(CLI::Range(0, 65535));

  std::vector<const char*> cli_argv;
  for (const auto& a : ours)
    cli_argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(cli_argv.size()), cli_argv.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? sim::kExitOk : sim::kExitBadInput;
  }

  try {
    if (*list)
      return sim::write_scenario_list(std::cout, std::cerr, list_dir) ? sim::kExitOk
                                                                      : sim::kExitBadInput;
    if (*validate) {
      validate_path = sim::find_scenario(validate_path);
      auto s = scenario::load_scenario(validate_path);
      std::cout << validate_path << ": ok (" << s.places.size() << " places, "
                << s.providers.size() << " providers, " << s.people.size() << " people, "
                << s.script.size() << " script steps)\n";
      return sim::kExitOk;
    }
    if (*serve)
      return sim::serve_scenario(scenario::load_scenario(sim::find_scenario(serve_path)),
                                 serve_options);
    auto s = scenario::load_scenario(sim::find_scenario(scenario_path));
    if (*seed_option)
      s.seed = seed;
    return sim::run_scenario(s, options);
  } catch (const scenario::ScenarioError& e) {
    print_problems(e);
    return sim::kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "mailsim: internal error: " << e.what() << "\n";
    return sim::kExitInternal;
  }
}

// User agents and the script that drives them.
//
//   user_agent.cpp   the mail user agents: a desktop client (SMTP submission,
//                    POP3 or IMAP) and a web browser on webmail (HTTP)
//   script.cpp       the scenario's timed script: one scheduler actor holds
//                    every step as data and starts a session actor on the
//                    device when a step is due, so idle users cost no actor
#pragma once

#include "sim/scenario.hpp"

#include <map>
#include <string>
#include <vector>

namespace mailsim::sim {

// What a device holds at the end of the run (for the summary).
struct DeviceState {
  std::string person, device, host;
  std::vector<std::string> messages;  // Message-IDs downloaded or read, in order
  std::vector<std::string> headers;   // the header section of each, in the same order
  std::vector<std::string> known_uidls;
  int sessions = 0;
};

// A send or a reply step (a reply answers a message the device received).
void send_mail(const scenario::Person& person, const scenario::Device& device,
               const scenario::Step& step);
void check_mail(const scenario::Person& person, const scenario::Device& device);

// Starts the scheduler actor and the clock that ends the run at scenario.end_s.
void start_script(const scenario::Scenario& scenario);

const std::map<std::string, DeviceState>& device_states();

}  // namespace mailsim::sim

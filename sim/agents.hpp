// User agents and the script that drives them.
//
//   user_agent.cpp   the mail user agents: a desktop client (SMTP submission,
//                    POP3 or IMAP) and a web browser on webmail (HTTP)
//   script.cpp       the scenario's timed script: one scheduler actor holds
//                    every step as data and starts a session actor on the
//                    device when a step is due, so idle users cost no actor
#pragma once

#include "models/imap.hpp"
#include "sim/scenario.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace mailsim::sim {

// What a device holds at the end of the run (for the summary).
// One POP3 session of a device, with the server's INBOX around it: what "download and
// delete" and "download and keep" leave behind (report.cpp prints these).
struct Pop3Visit {
  double at = 0;               // the session began
  std::size_t before = 0;      // messages in the server's INBOX as it began
  std::size_t downloaded = 0;  // messages it downloaded
  std::size_t after = 0;       // messages in the server's INBOX after QUIT
  bool keep = false;           // pop3-keep (else pop3-delete)
  double keep_days = -1;       // pop3-keep: the device's keep_days, negative for ever
};

struct DeviceState {
  std::string person, device, host;
  std::vector<std::string> messages;  // Message-IDs downloaded or read, in order
  std::vector<std::string> headers;   // the header section of each, in the same order
  std::vector<std::string> known_uidls;
  std::map<std::string, double> downloaded_at;  // POP3 UIDL -> when it was downloaded
  std::vector<Pop3Visit> pop3_visits;
  std::set<std::string> opened;                  // Message-IDs the user opened (read steps)
  std::map<std::string, std::string> folder_of;  // Message-ID -> folder it was moved to
  int sent = 0;      // messages it submitted that the server accepted (SMTP or webmail)
  int sessions = 0;  // with the mailbox: check, read, move, IDLE
  // A device with "sync" (IMAP): its own view of the folders and flags, as last learned.
  imap::MailView view;
  double synced_at = -1;   // its last sync (LIST and every folder's flags) ended
  double updated_at = -1;  // IDLE last changed the view
  std::string idle_conn;   // the connection it idles on, "" when none
  unsigned reconnects = 0;  // reconnect loops started after losing IDLE (the newest one runs)
};

// A send or a reply step (a reply answers a message the device received).
void send_mail(const scenario::Person& person, const scenario::Device& device,
               const scenario::Step& step);
// A check step (step.open: headers first over IMAP, then only those subjects whole).
void check_mail(const scenario::Person& person, const scenario::Device& device,
                const scenario::Step& step);

// A read or move step: over IMAP on the server (the body if the device lacks it, then UID STORE
// \Seen; or UID MOVE), over POP3 only
// on the device's own copy.
void act_on_mail(const scenario::Person& person, const scenario::Device& device,
                 const scenario::Step& step);

// Starts the scheduler actor and the clock that ends the run at scenario.end_s.
void start_script(const scenario::Scenario& scenario);

const std::map<std::string, DeviceState>& device_states();

}  // namespace mailsim::sim

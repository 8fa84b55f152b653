// Scenario files, format v1: what a run simulates.
//
// A scenario is read from JSON (docs/scenario-format.md, schema in
// scenarios/scenario.schema.json), checked against the schema and then against
// the rules a schema cannot express (names that must refer to each other,
// addresses that must belong to a provider), and turned into the plain data
// below with every default filled in and every unit converted: times in
// seconds, bandwidths in bytes per second. Nothing here touches SimGrid.
#pragma once

#include "models/post_route.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mailsim::scenario {

struct Place {
  std::string name;              // "Canada"
  std::string city;              // "Toronto" (informative)
  double latitude = 0;           // degrees, for maps in viz/
  double longitude = 0;
  int utc_offset_minutes = 0;    // Date: headers of people in this place
};

// A wide-area link between two places (both directions, full duplex).
struct Link {
  std::string a, b;              // place names
  double latency_s = 0;          // one way
  double bandwidth_Bps = 0;      // bytes per second
  std::string source;            // where the figure comes from
};

// An access link: from a host to the core of its place.
struct Access {
  double latency_s = 0.005;
  double bandwidth_Bps = 12.5e6;  // 100 Mbit/s
  std::string source = "";       // where the figures come from ("" spares {l, b} a warning)
};

struct Services {
  bool submission = true;  // SMTP submission, port 587 (RFC 6409), AUTH required
  bool relay = true;       // SMTP relay, port 25 (RFC 5321)
  bool pop3 = true;        // port 110 (RFC 1939)
  bool imap = true;        // port 143 (RFC 3501)
  bool webmail = true;     // HTTP/1.1, port 80
};

struct MxRecord {
  int preference = 10;
  std::string host;        // a provider server host name, e.g. "mail.ums.com"
};

struct Provider {
  std::string domain;      // "cms.com"
  std::string place;       // where its server stands
  std::string host;        // server host name; default "mail.<domain>"
  std::string address;     // IPv4 of the server host, dotted; default assigned
  Services services;
  std::vector<MxRecord> mx;  // default: one record, preference 10, the server host
  Access access;           // data-centre uplink; default 1 ms, 1.25e9 B/s (10 Gbit/s)
  double cpu_flops = 1e9;  // server host speed
};

enum class AgentKind { client, web };
enum class Retrieval { pop3_delete, pop3_keep, imap, http };

struct Device {
  std::string name;        // "laptop"
  AgentKind agent = AgentKind::client;
  Retrieval retrieval = Retrieval::imap;  // web agents always use http
  std::string host;        // simulated host name; default "<person>-<device>" lower case
  std::string address;     // IPv4 dotted; default assigned
  Access access;           // home or mobile access link
};

struct Person {
  std::string name;        // "Rav"
  std::string address;     // "rav@cms.com"
  std::string password;
  std::string place;
  std::vector<Device> devices;  // at least one
};

enum class Action { send, check };

// One line of the timed script.
struct Step {
  double at_s = 0;
  std::string person;      // Person::name
  std::string device;      // Device::name; default the person's first device
  Action action = Action::send;
  // send:
  std::vector<std::string> to;
  std::string subject;
  std::string body;        // plain text; '\n' line ends, converted to CRLF on the wire
  // check:
  double every_s = 0;      // 0: once; otherwise repeat until the end of the run
};

struct Dns {
  std::string place;       // where the DNS server stands; default the first place
  std::string host = "dns";
  std::string address;     // default assigned
  double ttl_s = 3600;     // TTL of the MX and A records it serves
};

// A paper letter posted by one person to another (docs/postal.md).
struct Letter {
  double at_s = 0;         // when the sender drops it into the post box
  std::string from, to;    // Person::name of the sender and of the recipient
  std::string subject;     // what the story calls it
  std::string body;        // plain text, for the record
};

// The physical mail of the story: letters and the route they take.
struct Postal {
  std::vector<Letter> letters;      // none: no postal simulation at all
  bool end_when_read = true;        // stop the run once every letter and email has been read
  std::vector<post::Stage> route = post::default_route();
};

struct Scenario {
  int version = 1;
  std::string name;
  std::string description;
  std::int64_t epoch_unix = 0;   // Unix time of simulated time 0
  double end_s = 0;              // the run stops here
  std::uint64_t seed = 1;
  std::vector<Place> places;
  std::vector<Link> links;
  Dns dns;
  std::vector<Provider> providers;
  std::vector<Person> people;
  std::vector<Step> script;      // sorted by at_s, stable
  Postal postal;
  std::string hash;              // hex digest of the file's bytes (FNV-1a 64)
};

// One thing wrong with a scenario file, named by its JSON path.
struct Problem {
  std::string path;     // "people[1].address" ("" for the whole file)
  std::string message;  // "\"uday\" is not an email address"
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

class ScenarioError : public std::runtime_error {
 public:
  ScenarioError(std::string file, std::vector<Problem> problems);
  const std::string& file() const { return file_; }
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::string file_;
  std::vector<Problem> problems_;
};

// Reads, validates and converts a scenario file. Throws ScenarioError listing
// every problem found (unreadable file, bad JSON, schema, cross-references).
Scenario load_scenario(const std::string& path);

// Same checks on text already in memory; `origin` names it in messages.
Scenario parse_scenario(const std::string& text, const std::string& origin);

}  // namespace mailsim::scenario

// Scenario files, format v1: what a run simulates.
//
// A scenario is read from JSON (docs/scenario-format.md, schema in
// scenarios/scenario.schema.json), checked against the schema and then against
// the rules a schema cannot express (names that must refer to each other,
// addresses that must belong to a provider), and turned into the plain data
// below with every default filled in and every unit converted: times in
// seconds, bandwidths in bytes per second. Files the scenario names (attachments, preloaded
// messages) are read at load time, relative to the scenario file's directory, so a Scenario
// holds everything a run needs. Nothing here touches SimGrid.
#pragma once

#include "sim/scenario_teaching.hpp"
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
  std::string preset;            // the place preset it takes its figures from, if any
};

// A wide-area link between two places (both directions, full duplex).
struct Link {
  std::string a, b;              // place names
  double latency_s = 0;          // one way
  double bandwidth_Bps = 0;      // bytes per second
  std::string source;            // where the figure comes from
  bool from_presets = false;     // made from the places' presets, not written in the file
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

// TLS on a provider's services (docs/scenario-format.md, "tls"). off everywhere unless a
// "tls" object says otherwise.
enum class TlsVersion { v1_2, v1_3 };
enum class TlsMode {
  off,
  starttls,  // plain connection, then STARTTLS (RFC 3207): submission on 587, relay on 25
  implicit   // TLS from the first byte (RFC 8314 3): 465, IMAP 993, POP3 995, HTTPS 443
};
struct Tls {
  TlsVersion version = TlsVersion::v1_3;  // the highest version the server (or client) speaks
  TlsMode submission = TlsMode::off;      // off, starttls (587) or implicit (465)
  TlsMode relay = TlsMode::off;           // off or starttls: port 25 offers it, relaying uses it
  TlsMode retrieval = TlsMode::off;       // off or implicit: POP3 995, IMAP 993, webmail 443
  bool any() const
  {
    return submission != TlsMode::off || relay != TlsMode::off || retrieval != TlsMode::off;
  }
};

struct MxRecord {
  int preference = 10;
  std::string host;        // a provider server host name, e.g. "mail.ums.com"
};

// A time when a server host is off: it answers no SYN, so connections to it
// time out (docs/scenario-format.md, "Things going wrong").
struct Outage {
  double from_s = 0;
  double until_s = 0;      // the host is back at until_s
};

// The queue manager's retry schedule (RFC 5321 4.5.4.1), Postfix's defaults:
// minimal_backoff_time 300 s, maximal_backoff_time 4000 s, maximal_queue_lifetime 5 d.
struct QueuePolicy {
  double first_retry_s = 300;          // wait after the first failed attempt
  double max_retry_interval_s = 4000;  // the wait doubles up to this
  double give_up_s = 5 * 86400;        // a temporary failure this long after arrival bounces
};

struct Provider {
  std::string domain;      // "cms.com"
  std::string place;       // where its server stands
  std::string host;        // server host name; default "mail.<domain>"
  std::string address;     // IPv4 of the server host, dotted; default assigned
  Services services;
  std::vector<MxRecord> mx;  // default: one record, preference 10, the server host;
                             // empty: no MX, the domain gets an A record (RFC 5321 5.1)
  Access access;           // data-centre uplink; default 1 ms, 1.25e9 B/s (10 Gbit/s)
  double cpu_flops = 1e9;  // server host speed
  int process_limit = 100;  // smtpd sessions at once per port (Postfix's default_process_limit)
  std::vector<Outage> down;  // when the server host is off, in time order
  QueuePolicy queue;
  Tls tls;                 // the scenario's "tls", overridden field by field by its own
  // Its SMTP client sends MAIL, every RCPT and DATA as one flight when the next hop offers
  // PIPELINING (RFC 2920 3.1), as Postfix does; off by default, so a trace shows one command
  // per round trip.
  bool pipelining = false;
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
  // pop3-keep only: "keep on the server for N days"; a downloaded message this old is deleted
  // at the next check (pop3::ClientConfig::keep_days). Negative: kept for ever.
  double keep_days = -1;
  // A client reading over IMAP: after each submission, keep a copy in the server's "Sent"
  // folder with IMAP APPEND, as desktop clients do (docs/scenario-format.md).
  bool save_sent = false;
  // A client reading over IMAP that keeps its own view of the mailbox, as clients that show
  // folders do: at every session it lists the folders and fetches each one's flags, and the
  // names of messages it has not seen before (docs/imap.md, "A device's view").
  bool sync = false;
  // Also stays connected in IMAP IDLE (RFC 2177) on INBOX after each check, hearing changes
  // at once. Implies sync.
  bool idle = false;
};

// A message already in a mailbox when the run starts: its exact RFC 5322 text, with CRLF
// line ends (the loader refuses any other), so octet counts are those of the text as given.
struct PreloadedMessage {
  std::string text;
  std::vector<std::string> flags;  // "\\Seen", "\\Flagged", keywords such as "$Label"
};

// A folder of a preloaded mailbox ("INBOX" in any case is the inbox).
struct PreloadedFolder {
  std::string name;
  std::vector<PreloadedMessage> messages;  // in the order of the file: UIDs 1, 2, ...
};

struct Person {
  std::string name;        // "Rav"
  std::string address;     // "rav@cms.com"
  std::string password;
  std::string place;
  std::vector<Device> devices;  // at least one
  std::vector<PreloadedFolder> mailbox;  // what the server holds for them at time 0
};

enum class Action { send, check, reply, read, move };

// A file sent with a message: given by its size (content made from the seed) or read from a
// file beside the scenario.
struct AttachmentSpec {
  std::string name;                                        // "photo.jpg"
  std::string content_type = "application/octet-stream";  // "image/jpeg"
  std::uint64_t size = 0;                                  // octets before base64
  bool from_file = false;
  std::string content;  // the file's octets when from_file
};

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
  // check by an IMAP client: fetch the new messages' headers first, then open (fetch whole)
  // only the ones with these subjects; empty: fetch every new message whole
  std::vector<std::string> open;
  // send and reply:
  std::vector<std::string> cc, bcc;
  std::vector<AttachmentSpec> attachments;
  bool has_subject = false;  // reply: false means "Re: " and the parent's subject
  // reply: the parent is the last message received on the device with this subject, or the
  // one at this position (1 = the first received), one of the two.
  std::string reply_subject;
  std::size_t reply_position = 0;
  // read and move: the message, by subject, is in reply_subject; move: the folder it goes to
  std::string folder;
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
  Tls tls;                       // the top-level "tls": the default of every provider
  std::vector<Expectation> expect;  // what must hold at the end (scenario_teaching.hpp)
  Lesson lesson;                 // the idea it shows; empty idea: none
  std::string hash;              // FNV-1a 64 of the file's bytes, then of the files it names
  Postal postal;                 // paper letters beside the email (docs/postal.md)
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

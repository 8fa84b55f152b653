// The trace: what a run did, as data.
//
// Every flight that crosses the simulated network and every step a daemon takes
// (a message queued, stored, read) becomes one TraceEvent, numbered in the
// order it happened. Events are recorded in simulation order, so the vector is
// already sorted by (time, seq). The JSON Lines file (docs/trace-format.md) and
// the timed story on stdout are both renderings of these events; tracing is
// data for tools, not logging.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mailsim::sim {

struct TraceEvent {
  double time = 0;        // when it happened; for a flight, when its first byte was written
  double arrival = -1;    // for a flight, when its last byte arrived; -1 otherwise
  std::uint64_t seq = 0;  // 0, 1, 2, ... in recording order
  std::string kind;       // tcp, tls, udp, smtp, pop3, imap, http, dns, queue, store, ua, postal
  std::string src_host, src_actor;
  std::string dst_host, dst_actor;
  std::string conn;       // connection id ("c3"), empty when there is none
  std::string role;       // the sender's role on the connection ("SMTP client", ...)
  std::string peer_role;  // the receiver's role on it ("SMTP server", ...)
  std::string dir;        // "C" client to server, "S" server to client, "" otherwise
  std::string flow;       // "push" (SMTP), "pull" (POP3, IMAP, HTTP reads), "" otherwise
  std::uint64_t bytes = 0;   // bytes on the wire: the exact payload, or the segment size
  std::string payload;    // exact protocol bytes of the flight (CRLF included)
  std::string summary;    // a short description: "SYN", "queued as Q1", ...
  std::string message_id; // the Message-ID it concerns, if any
  bool tls = false;       // the flight travelled inside TLS (payload is the plaintext)
  std::uint64_t tls_overhead = 0;  // of `bytes`, what the TLS record layer added
  int port = 0;                    // on a client's SYN: the server port it knocks on (587, 25, ...)
  // Postal events only (kind "postal", sim/postal.cpp):
  std::string letter;     // "L1"
  std::string step;       // "posted", "arrived", "departed", "read"
  std::string stage;      // the stage of the route it concerns: "collection", "flight", ...
  std::string place;      // the scenario place where it happens
  std::string local_time; // the place's wall clock, RFC 3339: "2026-12-04T17:00:00-05:00"
  std::string vehicle;    // on "departed": what carries the letter ("" by hand)
  double km = 0;          // on "departed": distance carried
  int hands = 0;          // people who handle it in this step
};

class Recorder {
 public:
  // keep=false keeps counters only (benchmarks, --quiet without --trace).
  explicit Recorder(bool keep) : keep_(keep) {}

  // Records an event, gives it the next sequence number, returns that number.
  std::uint64_t add(TraceEvent event);
  // Whether add() keeps events; when not, hot paths call tally() and build no event.
  bool keeps() const { return keep_; }
  // Counts an event that is not kept, as add() would; returns its sequence number.
  std::uint64_t tally(const std::string& kind, std::uint64_t bytes, bool tls,
                      std::uint64_t tls_overhead);
  void set_arrival(std::uint64_t seq, double arrival);

  const std::vector<TraceEvent>& events() const { return events_; }
  std::uint64_t count() const { return next_seq_; }
  // Bytes on the wire per kind (tcp control segments count under "tcp").
  const std::map<std::string, std::uint64_t>& bytes_by_kind() const { return bytes_by_kind_; }
  const std::map<std::string, std::uint64_t>& flights_by_kind() const { return flights_by_kind_; }
  // Of bytes_by_kind(), what TLS records added (only kinds that travelled inside TLS).
  const std::map<std::string, std::uint64_t>& tls_overhead_by_kind() const
  {
    return tls_overhead_by_kind_;
  }

 private:
  bool keep_;
  std::uint64_t next_seq_ = 0;
  std::vector<TraceEvent> events_;
  std::map<std::string, std::uint64_t> bytes_by_kind_;
  std::map<std::string, std::uint64_t> flights_by_kind_;
  std::map<std::string, std::uint64_t> tls_overhead_by_kind_;
};

}  // namespace mailsim::sim

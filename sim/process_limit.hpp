// How many sessions of one service a server runs at once.
//
// Theory of operation. Postfix runs each master.cf service (smtp on 25, submission on 587,
// submissions on 465) as a pool of at most maxproc processes, 100 by default
// (default_process_limit). The kernel completes the TCP handshake of every connection
// whether or not a process is free; a connection beyond the limit waits in the listen queue
// until a process calls accept(), and only then does the client get its 220 greeting.
// ProcessLimit keeps that count for one listening service. A session actor takes a process
// after its handshake: at once while fewer than the limit are busy, otherwise it suspends
// itself in a FIFO of waiting connections. When a session ends it gives its process back,
// and the longest-waiting connection resumes. The listen backlog is taken as unbounded (a
// real one drops SYNs beyond net.core.somaxconn, and clients send them again).
//
// Why it matters to the simulation: every busy session spends CPU on the server host as a
// SimGrid execution, and SimGrid shares a host among all of its executions by max-min
// fairness, re-solved at every event. Without a limit an overloaded server holds every
// client's session at once (tens of thousands in the 100,000-pair benchmark) and each event
// costs time proportional to them; with it, at most `limit` executions share the CPU and the
// rest wait suspended, which costs the solver nothing (docs/performance.md).
#pragma once

#include <simgrid/s4u.hpp>

#include <deque>
#include <string>
#include <utility>

namespace mailsim::sim {

// The processes of one listening service: at most `limit` sessions at once (0: no limit).
class ProcessLimit {
 public:
  ProcessLimit(int limit, std::string service) : limit_(limit), service_(std::move(service)) {}
  // Takes a free process for the calling session actor, first waiting for one if all are busy.
  void take();
  // Gives the caller's process back: the connection that has waited longest takes it.
  void give_back();

 private:
  int limit_;
  std::string service_;  // "smtpd on mail.cms.com:587", for the warning
  int busy_ = 0;
  bool warned_ = false;
  std::deque<simgrid::s4u::ActorPtr> waiting_;
};

}  // namespace mailsim::sim

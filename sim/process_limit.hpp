// How many sessions of one service a server runs at once.
//
// Theory of operation. Postfix runs each master.cf service (smtp on 25, submission on 587,
// submissions on 465) as a pool of at most maxproc processes, 100 by default
// (default_process_limit). The kernel completes the TCP handshake of every connection
// whether or not a process is free; a connection beyond the limit waits in the listen queue
// until a process calls accept(), and only then does the client get its 220 greeting.
// ProcessLimit keeps that count for one listening service. A session actor does the
// handshake (the kernel's part) and then takes a process at once while fewer than the limit are
// busy. Otherwise the connection waits as plain data, in arrival order, and the actor ends: no
// process, no actor, as in the real kernel. What the client sends meanwhile (a ClientHello on
// 465) is held for it by the listener, which stands for the kernel's socket buffer. When a
// session ends it gives its process back, and the longest-waiting connection gets a new
// session actor. The listen backlog is taken as unbounded (a real one drops SYNs beyond
// net.core.somaxconn, and clients send them again).
//
// Why it matters to the simulation: every busy session spends CPU on the server host as a
// SimGrid execution, and SimGrid shares a host among all of its executions by max-min
// fairness, re-solved at every event. Without a limit an overloaded server holds every
// client's session at once (tens of thousands in the 100,000-pair benchmark) and each event
// costs time proportional to them; with it, at most `limit` executions share the CPU and the
// rest wait as data, which costs the solver nothing (docs/performance.md).
#pragma once

#include "sim/tcp.hpp"

#include <simgrid/s4u.hpp>

#include <deque>
#include <functional>
#include <string>
#include <utility>

namespace mailsim::sim {

// The processes of one listening service: at most `limit` sessions at once (0: no limit).
class ProcessLimit {
 public:
  ProcessLimit(int limit, std::string service) : limit_(limit), service_(std::move(service)) {}
  // The actor that holds what waiting connections receive (the service's listener, which
  // lives as long as the simulation; not owned, as it owns this limit).
  void set_kernel(simgrid::s4u::Actor* kernel) { kernel_ = kernel; }
  // Takes a free process, if there is one.
  bool try_take();
  // Queues a connection that found every process busy; `start` runs its session once it has
  // one. Until then the socket's incoming flights are held by the kernel.
  void wait(Socket& socket, std::function<void()> start);
  // Gives a process back: the connection that has waited longest takes it.
  void give_back();

 private:
  int limit_;
  std::string service_;  // "smtpd on mail.cms.com:587", for the warning
  int busy_ = 0;
  bool warned_ = false;
  simgrid::s4u::Actor* kernel_ = nullptr;
  std::deque<std::function<void()>> waiting_;
};

}  // namespace mailsim::sim

// --explain: one plain line before each step of the timed story, saying what
// is happening and which idea of the story it is (push, pull, SMTP client,
// SMTP server, handshake, MX lookup, user agent, queueing, retrieval).
#pragma once

#include "sim/trace.hpp"
#include "sim/world.hpp"

#include <map>
#include <set>
#include <string>

namespace mailsim::sim {

class Explainer {
 public:
  explicit Explainer(const World& world);

  // The line to print before this event, or "" when the event continues a
  // step already explained (a server's reply, the rest of a handshake).
  std::string before(const TraceEvent& event);

 private:
  struct Ends {
    std::string client, server;            // host names
    std::string client_role, server_role;  // as the trace names them
  };
  std::string name(const std::string& host) const;
  std::string explain_tcp(const TraceEvent& e, const Ends& ends) const;
  std::string explain_smtp(const std::string& step, const Ends& ends) const;
  std::string explain_imap(const std::string& step, const Ends& ends) const;
  std::string explain_pop3(const std::string& step, const Ends& ends, bool deleting) const;
  std::string explain_http(const TraceEvent& e, const std::string& step, const Ends& ends) const;
  std::string explain_other(const TraceEvent& e) const;

  std::map<std::string, Ends> ends_;          // per connection id
  std::map<std::string, std::string> step_;   // the step last explained, per connection
  std::map<std::string, std::string> names_;  // host name to what a student calls it
  std::set<std::string> deleting_;            // POP3 connections that have sent DELE
};

}  // namespace mailsim::sim

// Sessions parked in IMAP IDLE, and what wakes them.
//
// Theory of operation. A session in IDLE (RFC 2177) has nothing to do until its client writes
// (DONE) or its mailbox changes. It waits for both at once: the next flight on its socket and
// a wake-up on a mailbox of its own (Comm::wait_any), so an idle user costs no CPU and no
// events, and no timer polls the store. Whatever changes an account's mailboxes (local
// delivery, another IMAP session's STORE, MOVE or EXPUNGE, a POP3 DELE, webmail) calls
// wake(); each session parked on that account gets one zero-byte wake-up, sent over its
// server host's loopback, which costs no simulated time. The woken session asks its engine
// for the untagged updates (imap::ServerSession::poll) and parks again.
//
// A session holds at most one wake-up in flight: wake() sends only to sessions that wait for
// one (armed), so a burst of changes costs one wake-up, and the engine reports them together.
#pragma once

#include "models/store.hpp"

#include <simgrid/s4u.hpp>

#include <string>

namespace mailsim::sim {

class IdleWatch {
 public:
  // Parks under `account`; the session's wake-up mailbox is unique to it.
  IdleWatch(const store::Account& account, const std::string& connection_id);
  ~IdleWatch();
  IdleWatch(const IdleWatch&) = delete;
  IdleWatch& operator=(const IdleWatch&) = delete;

  // The wake-up to wait on (with the socket's next flight); the same one until it completes.
  simgrid::s4u::CommPtr arm();
  // The wake-up that arm() returned has completed: the next arm() starts a new one.
  void woken();

  // Wakes every session parked on `account` that waits for a wake-up.
  static void wake(const store::Account* account);
  // Wakes every session parked on an account of `store` (for changes whose account the caller
  // does not know).
  static void wake_all(const store::MailStore& store);

 private:
  const store::Account* account_;
  simgrid::s4u::Mailbox* mailbox_;
  simgrid::s4u::CommPtr pending_;
  int* token_ = nullptr;
  bool armed_ = false;  // a receive is posted and no wake-up was sent to it yet
};

}  // namespace mailsim::sim

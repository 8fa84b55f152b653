// TLS in the simulation: its handshake round trips and its record overhead, not its crypto.
//
// Theory of operation. A handshake is a few flights of realistic, fixed sizes (kind "tls" in
// the trace), exchanged over the connection's Socket; once it is done on one side, every flight
// that side writes is application data inside TLS: its payload as the engine wrote it, plus the
// record layer's bytes on the wire (tls_record_overhead). Nothing is encrypted: the trace keeps
// the plaintext, marked as having travelled inside TLS, which is what a student needs to see.
//
// TLS 1.3 (RFC 8446 2, full handshake, no resumption): the client sends ClientHello; the server
// answers ServerHello, ChangeCipherSpec and {EncryptedExtensions, Certificate, CertificateVerify,
// Finished} in one flight; the client's ChangeCipherSpec and {Finished} ride with its first
// application data (one round trip before the client may write). The server writes application
// data only after the client's Finished, as OpenSSL-based servers do (no 0.5-RTT data): a
// server that speaks first (SMTP, POP3, IMAP greetings) gets the client's Finished alone.
//
// TLS 1.2 (RFC 5246 7.3, ECDHE-RSA with AES-128-GCM, RFC 5289): ClientHello; ServerHello,
// Certificate, ServerKeyExchange, ServerHelloDone; ClientKeyExchange, ChangeCipherSpec,
// {Finished}; ChangeCipherSpec, {Finished}: two round trips before the client may write. The
// server's last flight rides with its first application data (a greeting) when it has some.
//
// The version is negotiated: the lower of what the client and the server speak. The server
// spends ServerCosts::tls_handshake on its CPU (signature and key exchange) before its first
// flight. Left out: session resumption and 0-RTT, HelloRetryRequest, False Start, client
// certificates, certificate validation, close_notify alerts, the CPU cost of the record
// layer's symmetric crypto (AES-GCM runs at gigabytes per second) and any crypto on clients.
#pragma once

#include "sim/scenario.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace mailsim::sim {

class Socket;
using TlsVersion = scenario::TlsVersion;

// One handshake as the client saw it, for the summary: from its ClientHello until it may write
// application data.
struct TlsSpan {
  std::string version;  // "TLS 1.3", "TLS 1.2"; "" when the connection had no TLS
  double start = -1, end = -1;
  int round_trips = 0;  // the connection's round trips that fell inside the handshake
};

// "TLS 1.3" or "TLS 1.2".
std::string tls_version_name(TlsVersion version);

// Bytes a TLS record layer adds to `plaintext` bytes of application data, cut into records of
// at most 2^14 bytes (RFC 8446 5.1). TLS 1.3 (5.2): a 5-byte header, the 1-byte inner content
// type and a 16-byte AEAD tag per record. TLS 1.2 with AES-GCM (RFC 5246 6.2.3.3, RFC 5288 3):
// a 5-byte header, an 8-byte explicit nonce and a 16-byte tag per record. 0 bytes: 0.
std::uint64_t tls_record_overhead(std::uint64_t plaintext, TlsVersion version);

// One handshake flight: its size on the wire and what it carries ({...}: encrypted).
struct TlsFlight {
  std::uint64_t bytes;
  const char* carries;
};

// The flights of a full handshake, in order, client first; sizes documented in tls.cpp and
// docs/network-model.md. TLS 1.3 has three flights, TLS 1.2 four.
const std::vector<TlsFlight>& tls_handshake_flights(TlsVersion version);

// Client side: runs the handshake on a connected socket, offering up to `version`. Returns the
// negotiated version. The client's last flight waits to ride with its next write (or goes
// alone when the client next waits to read).
TlsVersion tls_connect(Socket& socket, TlsVersion version);

// Server side: waits for the ClientHello, spends the handshake's CPU, answers, and returns
// once the handshake is complete on its side (TLS 1.3: the client's Finished has arrived; TLS
// 1.2: its own Finished waits to ride with its next write).
TlsVersion tls_accept(Socket& socket, TlsVersion version);

// The lower of two versions: what a client and a server settle on.
TlsVersion tls_negotiate(TlsVersion client, TlsVersion server);

}  // namespace mailsim::sim

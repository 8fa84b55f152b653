// Real TLS for mailsim serve (OpenSSL), so that STARTTLS (RFC 3207) can be offered honestly.
//
// Theory of operation. TlsContext makes, at start-up and in memory only, a key (ECDSA P-256)
// and a self-signed certificate for "localhost" and 127.0.0.1, valid from an hour ago for a
// year; nothing is read from or written to disk, so every run has a new certificate and
// clients must be told not to verify it (it proves nothing but that the bytes are
// encrypted). TlsStream is the server side of one connection's TLS, sans I/O like the engines:
// ciphertext from the socket goes in with feed(), the plaintext it carried comes out;
// plaintext to send goes in with write(), and take_ciphertext() gives the bytes for the
// socket. Two memory BIOs stand between OpenSSL and the poll loop, so OpenSSL never touches a
// socket and never blocks. Plaintext written before the handshake ends waits inside the
// stream.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;

namespace mailsim::sim {

class TlsContext {
 public:
  // Makes the key and the certificate; throws std::runtime_error if OpenSSL fails.
  TlsContext();
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // "SHA256 AB:CD:...", for people to compare with what their client shows.
  const std::string& fingerprint() const { return fingerprint_; }
  ssl_ctx_st* native() { return ctx_; }

 private:
  ssl_ctx_st* ctx_ = nullptr;
  std::string fingerprint_;
};

class TlsStream {
 public:
  explicit TlsStream(TlsContext& context);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Takes ciphertext from the peer and appends the plaintext it carried to `plaintext`.
  // Returns false when the peer broke the TLS protocol (the alert is in take_ciphertext()).
  bool feed(std::string_view ciphertext, std::string& plaintext);
  // True once the handshake has completed (feed() reported it by returning true).
  bool established() const { return established_; }
  // True once the peer sent close_notify.
  bool peer_closed() const { return peer_closed_; }
  // Encrypts plaintext for the peer (held back until the handshake is done).
  void write(std::string_view plaintext);
  // Sends close_notify.
  void close();
  // The bytes to write on the socket.
  std::string take_ciphertext();
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once established.
  std::string description() const;

 private:
  void flush_pending();

  ssl_st* ssl_ = nullptr;
  bool established_ = false;
  bool peer_closed_ = false;
  std::string pending_;  // plaintext written before the handshake ended
};

}  // namespace mailsim::sim

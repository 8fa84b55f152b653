#include "sim/tls.hpp"

#include "sim/tcp.hpp"
#include "sim/world.hpp"

#include <fmt/format.h>
#include <simgrid/s4u.hpp>
#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(mailsim_tls, mailsim, "TLS handshakes and records");

namespace mailsim::sim {

namespace {

// Sizes on the wire, in bytes. Assumptions, the same for every server: an X25519 key exchange
// (RFC 7748), a chain of two RSA-2048 certificates (leaf and intermediate, 1,300 bytes of DER
// each, as for a typical Let's Encrypt chain), RSA signatures of 256 bytes, SHA-256 Finished.
constexpr std::uint64_t kRecordHeader = 5;     // RFC 8446 5.1, RFC 5246 6.2.1
constexpr std::uint64_t kHandshakeHeader = 4;  // msg_type and a 24-bit length
constexpr std::uint64_t kCertificateDer = 1300;
constexpr std::uint64_t kSignature = 256;       // RSA-2048
constexpr std::uint64_t kKeyShare = 32;         // X25519 public key
constexpr std::uint64_t kChangeCipherSpec = 6;  // a 1-byte record (RFC 8446 D.4 in 1.3)

// ClientHello: 512 bytes, the size clients pad hellos of 256 to 511 bytes to (RFC 7685 1
// explains why), in one record. A mail client's hello without padding is 250 to 400 bytes.
constexpr std::uint64_t kClientHello = kRecordHeader + 512;

// TLS 1.3 ServerHello (RFC 8446 4.1.3): version 2, random 32, session id echo 1+32, cipher 2,
// compression 1, extensions length 2, supported_versions 6, key_share 2+2+2+2+32.
constexpr std::uint64_t kServerHello13 =
    kRecordHeader + kHandshakeHeader + 2 + 32 + 33 + 2 + 1 + 2 + 6 + (8 + kKeyShare);
// Encrypted in one record: EncryptedExtensions (empty list), Certificate (context 1, list
// length 3, each entry 3 + DER + 2 of extensions), CertificateVerify (scheme 2, length 2,
// signature), Finished (32).
constexpr std::uint64_t kServerEncrypted13 =
    (kHandshakeHeader + 2) + (kHandshakeHeader + 1 + 3 + 2 * (3 + kCertificateDer + 2)) +
    (kHandshakeHeader + 2 + 2 + kSignature) + (kHandshakeHeader + 32);
constexpr std::uint64_t kTls13RecordOverhead = kRecordHeader + 1 + 16;
constexpr std::uint64_t kServerFlight13 =
    kServerHello13 + kChangeCipherSpec + kServerEncrypted13 + kTls13RecordOverhead;
constexpr std::uint64_t kClientFinished13 =
    kChangeCipherSpec + (kHandshakeHeader + 32) + kTls13RecordOverhead;

// TLS 1.2 ServerHello (RFC 5246 7.4.1.3): version 2, random 32, session id 1+32, cipher 2,
// compression 1, extensions length 2 + renegotiation_info 5, ec_point_formats 6,
// extended_master_secret 4. Certificate (list length 3, each entry 3 + DER). ServerKeyExchange
// (RFC 8422 5.4: curve type 1, named curve 2, point length 1 + key, scheme 2, length 2,
// signature). ServerHelloDone (empty). All four in one record.
constexpr std::uint64_t kServerFlight12 =
    kRecordHeader + (kHandshakeHeader + 2 + 32 + 33 + 2 + 1 + 2 + 5 + 6 + 4) +
    (kHandshakeHeader + 3 + 2 * (3 + kCertificateDer)) +
    (kHandshakeHeader + 1 + 2 + 1 + kKeyShare + 2 + 2 + kSignature) + kHandshakeHeader;
constexpr std::uint64_t kTls12RecordOverhead = kRecordHeader + 8 + 16;
// Finished (12 bytes of verify_data) in an AES-GCM record.
constexpr std::uint64_t kFinished12 = kHandshakeHeader + 12 + kTls12RecordOverhead;
// ClientKeyExchange (point length 1 + key) in its own record, ChangeCipherSpec, {Finished}.
constexpr std::uint64_t kClientFlight12 =
    kRecordHeader + kHandshakeHeader + 1 + kKeyShare + kChangeCipherSpec + kFinished12;
constexpr std::uint64_t kServerFinished12 = kChangeCipherSpec + kFinished12;

}  // namespace

std::string tls_version_name(TlsVersion version)
{
  return version == TlsVersion::v1_3 ? "TLS 1.3" : "TLS 1.2";
}

std::uint64_t tls_record_overhead(std::uint64_t plaintext, TlsVersion version)
{
  constexpr std::uint64_t kMaxRecord = 16384;  // 2^14, RFC 8446 5.1 and RFC 5246 6.2.1
  std::uint64_t records = (plaintext + kMaxRecord - 1) / kMaxRecord;
  return records * (version == TlsVersion::v1_3 ? kTls13RecordOverhead : kTls12RecordOverhead);
}

const std::vector<TlsFlight>& tls_handshake_flights(TlsVersion version)
{
  static const std::vector<TlsFlight> v13{
      {kClientHello, "ClientHello"},
      {kServerFlight13,
       "ServerHello, ChangeCipherSpec, {EncryptedExtensions, Certificate, CertificateVerify, "
       "Finished}"},
      {kClientFinished13, "ChangeCipherSpec, {Finished}"}};
  static const std::vector<TlsFlight> v12{
      {kClientHello, "ClientHello"},
      {kServerFlight12, "ServerHello, Certificate, ServerKeyExchange, ServerHelloDone"},
      {kClientFlight12, "ClientKeyExchange, ChangeCipherSpec, {Finished}"},
      {kServerFinished12, "ChangeCipherSpec, {Finished}"}};
  return version == TlsVersion::v1_3 ? v13 : v12;
}

TlsVersion tls_negotiate(TlsVersion client, TlsVersion server)
{
  return client == TlsVersion::v1_2 || server == TlsVersion::v1_2 ? TlsVersion::v1_2
                                                                  : TlsVersion::v1_3;
}

TlsVersion tls_connect(Socket& socket, TlsVersion version)
{
  auto& c = socket.connection();
  c.tls_offered = version;
  c.tls_span.start = simgrid::s4u::Engine::get_clock();
  int round_trips_before = c.round_trips;
  const auto& hello = tls_handshake_flights(version).front();
  socket.send_handshake(hello.bytes, fmt::format("{} (offers up to {})", hello.carries,
                                                 tls_version_name(version)));
  socket.receive_handshake();  // the server's first flight; it settled the version
  TlsVersion agreed = *c.tls;
  const auto& flights = tls_handshake_flights(agreed);
  if (agreed == TlsVersion::v1_3) {
    socket.start_tls(agreed);
    socket.queue_handshake(flights[2].bytes, flights[2].carries);
  } else {
    socket.send_handshake(flights[2].bytes, flights[2].carries);
    socket.receive_handshake();
    socket.start_tls(agreed);
  }
  c.tls_span.version = tls_version_name(agreed);
  c.tls_span.end = simgrid::s4u::Engine::get_clock();
  c.tls_span.round_trips = c.round_trips - round_trips_before;
  XBT_VERB("%s: %s established (client side)", c.id.c_str(), tls_version_name(agreed).c_str());
  return agreed;
}

TlsVersion tls_accept(Socket& socket, TlsVersion version)
{
  auto& c = socket.connection();
  socket.receive_handshake();  // the ClientHello
  TlsVersion agreed = tls_negotiate(c.tls_offered, version);
  c.tls = agreed;
  simgrid::s4u::this_actor::execute(World::get().costs().tls_handshake);
  const auto& flights = tls_handshake_flights(agreed);
  socket.send_handshake(flights[1].bytes,
                        fmt::format("{} ({})", flights[1].carries, tls_version_name(agreed)));
  socket.receive_handshake();  // the client's Finished, maybe riding with its first data
  socket.start_tls(agreed);
  if (agreed == TlsVersion::v1_2)
    socket.queue_handshake(flights[3].bytes, flights[3].carries);
  XBT_VERB("%s: %s established (server side)", c.id.c_str(), tls_version_name(agreed).c_str());
  return agreed;
}

}  // namespace mailsim::sim

#include "sim/serve_tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <stdexcept>

namespace mailsim::sim {

namespace {

constexpr long kValidBefore = 3600;           // seconds before start-up
constexpr long kValidAfter = 365L * 24 * 3600;  // seconds after start-up

// Throws with OpenSSL's last error when `ok` is false.
void require(bool ok, const char* what)
{
  if (ok)
    return;
  char text[256] = "";
  ERR_error_string_n(ERR_get_error(), text, sizeof text);
  throw std::runtime_error(fmt::format("TLS: {}: {}", what, text));
}

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

// A self-signed certificate for localhost and 127.0.0.1 with a random serial number.
CertPtr make_certificate(EVP_PKEY* key)
{
  CertPtr cert(X509_new());
  require(cert != nullptr, "X509_new");
  require(X509_set_version(cert.get(), 2) == 1, "version");  // X.509 v3, for the SAN
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> serial(BN_new());
  require(serial && BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
          "serial");
  require(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr,
          "serial");
  require(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kValidBefore) != nullptr, "dates");
  require(X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidAfter) != nullptr, "dates");
  require(X509_set_pubkey(cert.get(), key) == 1, "public key");

  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add = [&](const char* field, const char* value) {
    require(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(value), -1, -1,
                                       0) == 1,
            "subject");
  };
  add("O", "mailsim serve (self-signed, made at start-up)");
  add("CN", "localhost");
  require(X509_set_issuer_name(cert.get(), name) == 1, "issuer");

  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name,
                                            "DNS:localhost,IP:127.0.0.1,IP:::1");
  require(san != nullptr, "subjectAltName");
  bool added = X509_add_ext(cert.get(), san, -1) == 1;
  X509_EXTENSION_free(san);
  require(added, "subjectAltName");
  require(X509_sign(cert.get(), key, EVP_sha256()) > 0, "signature");
  return cert;
}

}  // namespace

TlsContext::TlsContext()
{
  KeyPtr key(EVP_EC_gen("P-256"));
  require(key != nullptr, "key generation");
  CertPtr cert = make_certificate(key.get());

  ctx_ = SSL_CTX_new(TLS_server_method());
  require(ctx_ != nullptr, "SSL_CTX_new");
  require(SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION) == 1, "minimum version");
  require(SSL_CTX_use_certificate(ctx_, cert.get()) == 1, "certificate");
  require(SSL_CTX_use_PrivateKey(ctx_, key.get()) == 1, "private key");

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  require(X509_digest(cert.get(), EVP_sha256(), digest, &length) == 1, "fingerprint");
  fingerprint_ = "SHA256 ";
  for (unsigned int i = 0; i < length; ++i)
    fingerprint_ += fmt::format("{}{:02X}", i ? ":" : "", digest[i]);
}

TlsContext::~TlsContext()
{
  SSL_CTX_free(ctx_);
}

TlsStream::TlsStream(TlsContext& context) : ssl_(SSL_new(context.native()))
{
  require(ssl_ != nullptr, "SSL_new");
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  require(in != nullptr && out != nullptr, "BIO_new");
  BIO_set_mem_eof_return(in, -1);  // an empty input BIO means "wait for more", not EOF
  SSL_set_bio(ssl_, in, out);      // ssl_ owns both now
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream()
{
  SSL_free(ssl_);
}

bool TlsStream::feed(std::string_view ciphertext, std::string& plaintext)
{
  if (!ciphertext.empty())
    BIO_write(SSL_get_rbio(ssl_), ciphertext.data(), static_cast<int>(ciphertext.size()));
  if (!established_) {
    int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      int error = SSL_get_error(ssl_, rc);
      ERR_clear_error();
      return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
    }
    established_ = true;
    flush_pending();
  }
  char buffer[16 * 1024];
  while (true) {
    int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n > 0) {
      plaintext.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    ERR_clear_error();
    if (error == SSL_ERROR_ZERO_RETURN)
      peer_closed_ = true;
    return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_ZERO_RETURN;
  }
}

void TlsStream::write(std::string_view plaintext)
{
  pending_.append(plaintext);
  if (established_)
    flush_pending();
}

void TlsStream::flush_pending()
{
  if (!pending_.empty() && SSL_write(ssl_, pending_.data(), static_cast<int>(pending_.size())) > 0)
    pending_.clear();
  ERR_clear_error();
}

void TlsStream::close()
{
  if (established_)
    SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string TlsStream::take_ciphertext()
{
  std::string out;
  BIO* bio = SSL_get_wbio(ssl_);
  char buffer[16 * 1024];
  int n;
  while ((n = BIO_read(bio, buffer, sizeof buffer)) > 0)
    out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

std::string TlsStream::description() const
{
  return established_ ? fmt::format("{} {}", SSL_get_version(ssl_), SSL_get_cipher_name(ssl_))
                      : "";
}

}  // namespace mailsim::sim

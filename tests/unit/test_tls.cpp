// TLS as the simulation models it: record-layer arithmetic (RFC 8446 5.1-5.2, RFC 5246 6.2.3.3
// with AES-GCM, RFC 5288 3), the documented sizes of the handshake flights, version
// negotiation, the scenario's "tls" settings with their JSON-path errors, and the SMTP server
// on port 465 (RFC 8314 3.3), inside TLS from its greeting on.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/smtp.hpp"
#include "sim/scenario.hpp"
#include "sim/tls.hpp"

using namespace mailsim;
using scenario::TlsMode;
using scenario::TlsVersion;

namespace {

using Json = nlohmann::ordered_json;

Json flagship_tls() {
  std::ifstream in(std::string(MAILSIM_SOURCE_DIR) + "/scenarios/rav-canada-to-uday-india-tls.json",
                   std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return Json::parse(bytes.str());
}

// The TLS flagship with one change made to it: its problem lines, or none.
std::vector<std::string> problems_after(const std::function<void(Json&)>& change) {
  Json doc = flagship_tls();
  change(doc);
  try {
    scenario::parse_scenario(doc.dump(2), "test.json");
  } catch (const scenario::ScenarioError& e) {
    std::vector<std::string> lines;
    for (const auto& problem : e.problems()) lines.push_back(problem.to_string());
    return lines;
  }
  return {};
}

scenario::Scenario load_after(const std::function<void(Json&)>& change) {
  Json doc = flagship_tls();
  change(doc);
  return scenario::parse_scenario(doc.dump(2), "test.json");
}

}  // namespace

TEST_CASE("TLS 1.3 records add 22 bytes per 16384 bytes of data", "[tls]") {
  // rfc8446.txt 5.1: TLSPlaintext.length MUST NOT exceed 2^14; 5.2: a 5-byte header, then
  // the content, its 1-byte type and the AEAD tag (16 bytes for AES-GCM and ChaCha20-Poly1305).
  auto v = TlsVersion::v1_3;
  CHECK(sim::tls_record_overhead(0, v) == 0);
  CHECK(sim::tls_record_overhead(1, v) == 22);
  CHECK(sim::tls_record_overhead(16384, v) == 22);
  CHECK(sim::tls_record_overhead(16385, v) == 44);
  CHECK(sim::tls_record_overhead(32768, v) == 44);
  CHECK(sim::tls_record_overhead(100000, v) == 7 * 22);  // 6 full records and 1696 bytes
}

TEST_CASE("TLS 1.2 AES-GCM records add 29 bytes per 16384 bytes of data", "[tls]") {
  // rfc5246.txt 6.2.1 (5-byte header, 2^14 limit); rfc5288.txt 3: an 8-byte explicit nonce
  // and a 16-byte tag per record.
  auto v = TlsVersion::v1_2;
  CHECK(sim::tls_record_overhead(0, v) == 0);
  CHECK(sim::tls_record_overhead(6, v) == 29);
  CHECK(sim::tls_record_overhead(16384, v) == 29);
  CHECK(sim::tls_record_overhead(16385, v) == 58);
}

TEST_CASE("The handshake flights have their documented sizes", "[tls]") {
  const auto& v13 = sim::tls_handshake_flights(TlsVersion::v1_3);
  REQUIRE(v13.size() == 3);
  CHECK(v13[0].bytes == 517);   // 5 + a ClientHello padded to 512 (rfc7685.txt 1)
  CHECK(v13[1].bytes == 3079);  // ServerHello 127, CCS 6, encrypted 2924 + 22
  CHECK(v13[2].bytes == 64);    // CCS 6, encrypted Finished 36 + 22
  CHECK(std::string(v13[1].carries) ==
        "ServerHello, ChangeCipherSpec, {EncryptedExtensions, Certificate, CertificateVerify, "
        "Finished}");

  const auto& v12 = sim::tls_handshake_flights(TlsVersion::v1_2);
  REQUIRE(v12.size() == 4);
  CHECK(v12[0].bytes == 517);
  CHECK(v12[1].bytes == 3013);  // 5 + ServerHello 91, Certificate 2613, SKE 300, Done 4
  CHECK(v12[2].bytes == 93);    // CKE 42, CCS 6, Finished 45
  CHECK(v12[3].bytes == 51);    // CCS 6, Finished 45
  CHECK(std::string(v12[2].carries) == "ClientKeyExchange, ChangeCipherSpec, {Finished}");
}

TEST_CASE("Client and server settle on the lower TLS version", "[tls]") {
  // rfc8446.txt 4.2.1: the server picks a version the client offered.
  CHECK(sim::tls_negotiate(TlsVersion::v1_3, TlsVersion::v1_3) == TlsVersion::v1_3);
  CHECK(sim::tls_negotiate(TlsVersion::v1_3, TlsVersion::v1_2) == TlsVersion::v1_2);
  CHECK(sim::tls_negotiate(TlsVersion::v1_2, TlsVersion::v1_3) == TlsVersion::v1_2);
  CHECK(sim::tls_version_name(TlsVersion::v1_2) == "TLS 1.2");
}

TEST_CASE("A scenario without \"tls\" has TLS off everywhere", "[tls][scenario]") {
  auto s = load_after([](Json& doc) { doc.erase("tls"); });
  CHECK_FALSE(s.tls.any());
  for (const auto& p : s.providers) {
    CHECK(p.tls.submission == TlsMode::off);
    CHECK(p.tls.relay == TlsMode::off);
    CHECK(p.tls.retrieval == TlsMode::off);
  }
}

TEST_CASE("The TLS flagship turns TLS on for both providers", "[tls][scenario]") {
  auto s = load_after([](Json&) {});
  REQUIRE(s.providers.size() == 2);
  for (const auto& p : s.providers) {
    CHECK(p.tls.version == TlsVersion::v1_3);
    CHECK(p.tls.submission == TlsMode::implicit);
    CHECK(p.tls.relay == TlsMode::starttls);
    CHECK(p.tls.retrieval == TlsMode::implicit);
  }
}

TEST_CASE("An empty \"tls\" object turns on the RFC 8314 defaults", "[tls][scenario]") {
  auto s = load_after([](Json& doc) { doc["tls"] = Json::object(); });
  const auto& t = s.providers[0].tls;
  CHECK(t.version == TlsVersion::v1_3);
  CHECK(t.submission == TlsMode::implicit);
  CHECK(t.relay == TlsMode::starttls);
  CHECK(t.retrieval == TlsMode::implicit);
}

TEST_CASE("A provider's \"tls\" overrides the scenario's field by field", "[tls][scenario]") {
  auto s = load_after([](Json& doc) {
    doc["tls"] = {{"version", "1.2"}, {"submission", "starttls"}};
    doc["providers"][1]["tls"] = {{"retrieval", "off"}};
  });
  const auto& cms = s.providers[0].tls;
  CHECK(cms.version == TlsVersion::v1_2);
  CHECK(cms.submission == TlsMode::starttls);
  CHECK(cms.relay == TlsMode::starttls);
  CHECK(cms.retrieval == TlsMode::implicit);
  const auto& ums = s.providers[1].tls;
  CHECK(ums.version == TlsVersion::v1_2);  // from the scenario
  CHECK(ums.submission == TlsMode::starttls);
  CHECK(ums.retrieval == TlsMode::off);

  // Without a scenario-wide "tls", a provider's own object starts from the defaults.
  auto only = load_after([](Json& doc) {
    doc.erase("tls");
    doc["providers"][0]["tls"] = {{"relay", "off"}};
  });
  CHECK(only.providers[0].tls.submission == TlsMode::implicit);
  CHECK(only.providers[0].tls.relay == TlsMode::off);
  CHECK_FALSE(only.providers[1].tls.any());
}

TEST_CASE("Bad TLS settings name the JSON path", "[tls][scenario]") {
  CHECK(problems_after([](Json& doc) { doc["tls"]["version"] = "1.4"; }) ==
        std::vector<std::string>{"tls.version: \"1.4\" is not one of \"1.3\", \"1.2\""});
  CHECK(problems_after([](Json& doc) {
          doc["providers"][1]["tls"] = {{"relay", "implicit"}};
        }) == std::vector<std::string>{
                  "providers[1].tls.relay: \"implicit\" is not one of \"starttls\", \"off\""});
  CHECK(
      problems_after([](Json& doc) { doc["tls"]["retrieval"] = "starttls"; }) ==
      std::vector<std::string>{"tls.retrieval: \"starttls\" is not one of \"implicit\", \"off\""});
  CHECK(problems_after([](Json& doc) { doc["tls"] = true; }) ==
        std::vector<std::string>{"tls: true is not TLS settings (an object with \"version\", "
                                 "\"submission\", \"relay\" and \"retrieval\")"});
  CHECK(problems_after([](Json& doc) { doc["tls"]["submision"] = "off"; }) ==
        std::vector<std::string>{"tls.submision: unknown field (did you mean \"submission\"?)"});
}

namespace {

class NoBackend : public smtp::ServerBackend {
 public:
  bool authenticate(std::string_view, std::string_view) override { return true; }
  smtp::RcptVerdict check_recipient(std::string_view, bool) override {
    return smtp::RcptVerdict::accept;
  }
  std::string accept_message(const smtp::Envelope& envelope) override {
    protocol = smtp::received_protocol(envelope);
    return "Q1";
  }
  std::string protocol;
};

}  // namespace

TEST_CASE("On port 465 the SMTP server is inside TLS from its greeting", "[tls][smtp]") {
  // rfc8314.txt 3.3: implicit TLS; rfc3207.txt 4.2: STARTTLS is not offered inside TLS;
  // RFC 3848 (via received_protocol): an authenticated session inside TLS is ESMTPSA.
  NoBackend backend;
  smtp::ServerConfig config;
  config.hostname = "mail.cms.com";
  config.service = smtp::Service::submission;
  config.tls_available = true;
  config.implicit_tls = true;
  smtp::ServerSession server(config, backend);
  CHECK(server.tls_active());
  CHECK(server.take_output() == "220 mail.cms.com ESMTP mailsim\r\n");
  server.receive("EHLO rav-laptop\r\n");
  CHECK(server.take_output() ==
        "250-mail.cms.com\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-AUTH PLAIN LOGIN\r\n"
        "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n");
  server.receive("STARTTLS\r\n");
  CHECK(server.take_output() == "503 5.5.1 Bad sequence of commands\r\n");
  server.receive(
      "AUTH PLAIN AHJhdkBjbXMuY29tAG1hcGxl\r\nMAIL FROM:<rav@cms.com>\r\n"
      "RCPT TO:<uday@ums.com>\r\nDATA\r\n");
  server.take_output();
  server.receive("Subject: x\r\n\r\nhi\r\n.\r\n");
  CHECK(server.take_output() == "250 2.0.0 Ok: queued as Q1\r\n");
  CHECK(backend.protocol == "ESMTPSA");
}

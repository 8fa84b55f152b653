// Fuzz target: the IMAP server session (models/imap) fed whatever a client might send, over a
// store with one account ("uday"/"secret") whose INBOX holds a plain and a multipart message
// and which has an Archive folder. Option bit 0: small limits (100-octet lines, 1000-octet
// literals).
// Invariants: chunking independence; bounded output; the output is a sequence of responses
// (rfc3501.txt 7): each starts with "* ", "+" or a tag followed by OK, NO or BAD, and is CRLF
// lines whose literals "{n}" are followed by exactly n octets; no bare CR or LF outside a
// literal; nothing is written once the session is closed.
#include "models/imap.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <cstring>
#include <memory>
#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

const std::string plain = fz::rav_to_uday();

const std::string multipart =
    "From: rav@cms.com\r\n"
    "Subject: report\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "part one\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAAA\r\n"
    "--b1--\r\n";

std::unique_ptr<store::MailStore> make_store() {
  auto store = std::make_unique<store::MailStore>("ums.com");
  store::Account& account = store->add_account("uday@ums.com", "secret");
  store->deliver("uday@ums.com", plain, 100);
  store->deliver("uday@ums.com", multipart, 200);
  account.create_folder("Archive").append(plain, {"\\Seen"}, 50);
  return store;
}

// The tag of a tagged response: ASTRING-CHARs but "+" (rfc3501.txt 9).
bool is_tag_char(char c) {
  return c > 0x20 && c < 0x7f && !std::strchr("(){%*\"\\+", c);
}

void check_responses(std::string_view out) {
  bool cut = false;
  for (const fz::ImapLine& line : fz::imap_lines(out, &cut)) {
    if (!line.first || line.text.substr(0, 2) == "* " || line.text.substr(0, 1) == "+") continue;
    std::size_t sp = line.text.find(' ');
    std::string_view tag = line.text.substr(0, sp);
    bool good = sp != std::string_view::npos && sp > 0;
    for (char c : tag) good = good && is_tag_char(c);
    std::string_view rest = good ? line.text.substr(sp + 1) : std::string_view();
    good = good && (rest.substr(0, 3) == "OK " || rest.substr(0, 3) == "NO " ||
                    rest.substr(0, 4) == "BAD ");
    FUZZ_CHECK(good, "not a response: \"%s\"", fz::escaped(line.text).c_str());
  }
  FUZZ_CHECK(!cut, "a literal runs past the output");
}

fz::Run run(const fz::Input& in, std::size_t chunk) {
  auto store = make_store();
  imap::ServerConfig config{"mail.ums.com"};
  if (in.option(0)) {
    config.max_line_length = 100;
    config.max_literal_size = 1000;
  }
  imap::ServerSession session(config, *store);
  session.set_now(1000);
  fz::Run r = fz::feed_session(session, in.transcript, chunk, [](const imap::ServerEvent& e) {
    return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " " + std::to_string(e.uid) +
           " " + e.message_id + "\n";
  });
  r.events += std::string(session.state_name()) + "\n";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::check_session(fz::Input(data, size), run, check_responses);
  return 0;
}

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
#include <optional>
#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

const std::string plain =
    "From: Rav <rav@cms.com>\r\n"
    "To: uday@ums.com\r\n"
    "Subject: hi\r\n"
    "Message-ID: <m1@cms.com>\r\n"
    "\r\n"
    "hello\r\n";

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

// The n of a line that ends in a literal's "{n}" (rfc3501.txt 4.3).
std::optional<std::size_t> literal_size(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  std::size_t open = line.rfind('{');
  if (open == std::string_view::npos || open + 2 >= line.size()) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::stoul(std::string(digits));
}

void check_responses(std::string_view out) {
  std::size_t at = 0;
  bool start = true;
  while (at < out.size()) {
    std::size_t end = out.find("\r\n", at);
    FUZZ_CHECK(end != std::string_view::npos, "output ends inside a line: \"%s\"",
               fz::escaped(out.substr(at)).c_str());
    std::string_view line = out.substr(at, end - at);
    FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos,
               "bare CR or LF in response line \"%s\"", fz::escaped(line).c_str());
    if (start && line.substr(0, 2) != "* " && line.substr(0, 1) != "+") {
      std::size_t sp = line.find(' ');
      std::string_view tag = line.substr(0, sp);
      bool good = sp != std::string_view::npos && sp > 0;
      for (char c : tag) good = good && is_tag_char(c);
      std::string_view rest = good ? line.substr(sp + 1) : std::string_view();
      good = good && (rest.substr(0, 3) == "OK " || rest.substr(0, 3) == "NO " ||
                      rest.substr(0, 4) == "BAD ");
      FUZZ_CHECK(good, "not a response: \"%s\"", fz::escaped(line).c_str());
    }
    at = end + 2;
    start = true;
    if (auto n = literal_size(line)) {
      FUZZ_CHECK(at + *n <= out.size(), "literal of %zu octets runs past the output", *n);
      at += *n;
      start = false;
    }
  }
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
  fz::Run r;
  r.output = session.take_output();
  fz::for_each_chunk(in.transcript, chunk, [&](std::string_view piece) {
    bool was_closed = session.closed();
    session.receive(piece);
    std::string out = session.take_output();
    FUZZ_CHECK(!was_closed || out.empty(), "output after the session closed");
    r.output += out;
    for (const imap::ServerEvent& e : session.take_events())
      r.events += std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " " +
                  std::to_string(e.uid) + " " + e.message_id + "\n";
  });
  r.events += std::string(session.state_name()) + "\n";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fz::Input in(data, size);
  const fz::Run whole = run(in, 0);
  fz::check_bounded(whole, in.transcript.size());
  check_responses(whole.output);
  fz::check_same(whole, run(in, in.chunk), in.chunk);
  return 0;
}

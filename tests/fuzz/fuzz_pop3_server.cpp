// Fuzz target: the POP3 server session (models/pop3) fed whatever a client might send, over a
// store with one account ("uday"/"secret") holding three messages (none with option bit 0).
// Options: bit 1 40-octet command lines instead of 255, bit 2 STLS offered.
// Invariants: chunking independence; bounded output; output is CRLF lines without a bare CR
// or LF, opening with "+OK" (rfc1939.txt 4); nothing is written once the session is closed;
// the store changes only after QUIT (rfc1939.txt 6); fed one command line at a time as a client
// sends, every complete command line gets exactly one response with one status line, multi-line
// only where rfc1939.txt 3 says so (check_statuses), and the same output unless STLS happened.
#include "models/pop3.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <memory>
#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

const std::string message_text =
    "From: rav@cms.com\r\n"
    "Subject: hi\r\n"
    "Message-ID: <m1@cms.com>\r\n"
    "\r\n"
    "first line\r\n"
    ".second line\r\n"
    "..\r\n"
    ".\r\n"
    "third\r\n";

std::unique_ptr<store::MailStore> make_store(const fz::Input& in) {
  auto store = std::make_unique<store::MailStore>("ums.com");
  store->add_account("uday@ums.com", "secret");
  if (!in.option(0))
    for (int i = 0; i < 3; ++i) store->deliver("uday@ums.com", message_text, 100 + i);
  return store;
}

pop3::ServerConfig config(const fz::Input& in) {
  pop3::ServerConfig c{"mail.ums.com"};
  if (in.option(1)) c.max_command_length = 40;
  c.tls_available = in.option(2);
  return c;
}

std::string describe(const pop3::ServerEvent& e) {
  return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " " + std::to_string(e.uid) +
         " " + e.message_id + "\n";
}

fz::Run run(const fz::Input& in, std::size_t chunk) {
  auto store = make_store(in);
  pop3::ServerSession session(config(in), *store);
  bool quit = false;
  fz::Run r = fz::feed_session(session, in.transcript, chunk, [&](const pop3::ServerEvent& e) {
    quit = quit || e.kind == pop3::ServerEvent::Kind::quit;
    return describe(e);
  });
  std::size_t left = store->find_account("uday")->inbox().messages().size();
  FUZZ_CHECK(quit || left == (in.option(0) ? 0u : 3u), "messages removed without QUIT");
  r.events += "left " + std::to_string(left) + "\n";
  return r;
}

void check_lines(std::string_view output) {
  std::vector<std::string_view> lines = fz::crlf_lines(output);
  FUZZ_CHECK(!lines.empty() && lines[0].substr(0, 4) == "+OK ", "no +OK greeting");
  for (std::string_view line : lines)
    FUZZ_CHECK(line.size() + 2 <= 512, "line over 512 octets (rfc1939.txt 3): \"%s\"",
               fz::escaped(line).c_str());
}

// Whether `line` starts with the status indicator `status` ("+OK" or "-ERR") as a word.
bool has_status(std::string_view line, std::string_view status) {
  return line.substr(0, status.size()) == status &&
         (line.size() == status.size() || line[status.size()] == ' ');
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// The status rule, fed as a client sends: one command line at a time, the next line after
// STLS's +OK only once the handshake is done (RFC 2595 4). Requires: a greeting of one +OK
// line (rfc1939.txt 4); for every complete command line, exactly one response starting with
// one status line, "+OK" or "-ERR" (rfc1939.txt 3); after a +OK to RETR, TOP, CAPA
// (rfc2449.txt 5), or LIST or UIDL without an argument, byte-stuffed lines ended by the one line
// "." (rfc1939.txt 3), else nothing more; a "+ " continuation only to AUTH, whose next line is
// SASL data, no command (RFC 5034 4); the session closes only after QUIT, and always after
// QUIT's +OK (rfc1939.txt 6); STLS's +OK, and only it, asks for the handshake. Returns the run,
// the same as the whole feeding's unless a TLS handshake was done.
fz::Run check_statuses(const fz::Input& in, bool* handshaken) {
  auto store = make_store(in);
  pop3::ServerSession session(config(in), *store);
  fz::TurnClient client(session, in.transcript, describe);
  std::vector<std::string_view> greeting = fz::crlf_lines(client.output());
  FUZZ_CHECK(greeting.size() == 1 && has_status(greeting[0], "+OK"), "greeting \"%s\"",
             fz::escaped(client.output()).c_str());

  std::string keyword;  // of the command being answered, upper case
  bool argument = false;
  bool sasl = false;  // the line is AUTH's SASL data
  while (!client.done()) {
    std::size_t eol = client.rest().find("\r\n");
    if (eol == std::string_view::npos) break;  // the transcript ends inside a line
    std::string line(client.rest().substr(0, eol));
    std::string out = client.send(eol + 2);
    if (!sasl) {
      std::size_t sp = line.find(' ');
      keyword = upper(line.substr(0, sp));
      argument = sp != std::string::npos && sp + 1 < line.size();
    }
    std::vector<std::string_view> lines = fz::crlf_lines(out);
    FUZZ_CHECK(!lines.empty(), "no response to \"%s\"", fz::escaped(line).c_str());

    if (lines[0] == "+" || lines[0].substr(0, 2) == "+ ") {
      FUZZ_CHECK(keyword == "AUTH" && lines.size() == 1 && !session.closed(),
                 "a continuation to \"%s\": \"%s\"", fz::escaped(line).c_str(),
                 fz::escaped(out).c_str());
      client.complete_handshake(false, out);
      sasl = true;
      continue;
    }
    bool ok = has_status(lines[0], "+OK");
    FUZZ_CHECK(ok || has_status(lines[0], "-ERR"), "\"%s\" answered with no status: \"%s\"",
               fz::escaped(line).c_str(), fz::escaped(out).c_str());
    bool multi_line = ok && !sasl &&
                      (keyword == "RETR" || keyword == "TOP" || keyword == "CAPA" ||
                       ((keyword == "LIST" || keyword == "UIDL") && !argument));
    if (multi_line) {
      FUZZ_CHECK(lines.size() >= 2 && lines.back() == ".",
                 "the multi-line answer to \"%s\" does not end with \".\": \"%s\"",
                 fz::escaped(line).c_str(), fz::escaped(out).c_str());
      for (std::size_t i = 1; i + 1 < lines.size(); ++i)
        FUZZ_CHECK(lines[i].substr(0, 1) != "." || lines[i].substr(0, 2) == "..",
                   "line \"%s\" of the answer to \"%s\" is not byte-stuffed",
                   fz::escaped(lines[i]).c_str(), fz::escaped(line).c_str());
    } else {
      FUZZ_CHECK(lines.size() == 1, "%zu lines answer \"%s\": \"%s\"", lines.size(),
                 fz::escaped(line).c_str(), fz::escaped(out).c_str());
    }
    bool quit = !sasl && keyword == "QUIT";
    FUZZ_CHECK(session.closed() ? quit : !(quit && ok), "closed: %d after \"%s\" answered \"%s\"",
               session.closed(), fz::escaped(line).c_str(), fz::escaped(out).c_str());
    client.complete_handshake(!sasl && keyword == "STLS" && ok, out);
    sasl = false;
  }
  fz::Run r = client.finish(handshaken);
  std::size_t left = store->find_account("uday")->inbox().messages().size();
  r.events += "left " + std::to_string(left) + "\n";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::check_session_by_command(fz::Input(data, size), run, check_statuses, check_lines);
  return 0;
}

// Fuzz target: the IMAP server session (models/imap) fed whatever a client might send, over a
// store with one account ("uday"/"secret") whose INBOX holds a plain and a multipart message
// and which has an Archive folder. Options: bit 0 small limits (100-octet lines, 1000-octet
// literals), bit 1 STARTTLS offered.
// Invariants: chunking independence; bounded output; the output is a sequence of responses
// (rfc3501.txt 7): each starts with "* ", "+" or a tag followed by OK, NO or BAD, and is CRLF
// lines whose literals "{n}" are followed by exactly n octets; no bare CR or LF outside a
// literal; nothing is written once the session is closed; fed one command line at a time as a
// client sends, every complete command gets exactly one tagged completion with its tag, in order
// (check_completions), and the same output unless STARTTLS happened.
#include "models/imap.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
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

imap::ServerConfig config(const fz::Input& in) {
  imap::ServerConfig c{"mail.ums.com"};
  if (in.option(0)) {
    c.max_line_length = 100;
    c.max_literal_size = 1000;
  }
  c.tls_available = in.option(1);
  return c;
}

std::string describe(const imap::ServerEvent& e) {
  return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " " + std::to_string(e.uid) +
         " " + e.message_id + "\n";
}

fz::Run run(const fz::Input& in, std::size_t chunk) {
  auto store = make_store();
  imap::ServerSession session(config(in), *store);
  session.set_now(1000);
  fz::Run r = fz::feed_session(session, in.transcript, chunk, describe);
  r.events += std::string(session.state_name()) + "\n";
  return r;
}

// One response in some output: its tag ("+" for a continuation request, "*" when untagged), and
// for a tagged one its status (OK, NO or BAD).
struct Response {
  std::string_view tag;
  std::string_view status;
  std::string_view line;
};

std::vector<Response> responses_in(std::string_view out) {
  std::vector<Response> all;
  for (const fz::ImapLine& l : fz::imap_lines(out)) {
    if (!l.first) continue;
    std::string_view tag =
        l.text.substr(0, 1) == "+" ? l.text.substr(0, 1) : l.text.substr(0, l.text.find(' '));
    std::string_view rest = l.text.substr(std::min(l.text.size(), tag.size() + 1));
    all.push_back({tag, rest.substr(0, rest.find(' ')), l.text});
  }
  return all;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// The command being sent: its tag (empty when the line starts with none the server could read)
// and name, upper case.
struct Command {
  std::string tag;
  std::string name;
};

// The first line of a command: the tag is what comes before the first SP, 1*<ASTRING-CHAR
// except "+"> (rfc3501.txt 9), but none when the server's line limit `max` cut the line before
// the tag ended (it cannot name the command, 7.1.3); the name follows the tag.
Command command_of(std::string_view line, std::size_t max) {
  std::size_t sp = line.find(' ');
  std::string_view tag = line.substr(0, sp);
  bool valid = !tag.empty() && (sp == std::string_view::npos ? line.size() <= max : sp < max);
  for (char c : tag) valid = valid && is_tag_char(c);
  std::string_view rest = sp == std::string_view::npos ? "" : line.substr(sp + 1);
  return {valid ? std::string(tag) : "", upper(rest.substr(0, rest.find(' ')))};
}

// The completion rule, fed as a client that follows RFC 3501 sends: one line at a time, a
// literal's octets (and the rest of their line) only once the server asked for them with "+"
// (2.2.1, 7.5), the next line after STARTTLS's OK only once the handshake is done (6.2.1).
// Requires: a greeting of one untagged response (7.1); for every complete command, exactly one
// tagged OK, NO or BAD carrying its tag, after any untagged data it caused and before the next
// command (2.2.2), or an untagged BAD when its line starts with no tag the server could read
// (7.1.3); a "+" only for a literal the line announced, for IDLE (rfc2177.txt 3: the next line,
// whatever it is, is the continuation that ends it, with OK after DONE) or for AUTHENTICATE
// data (6.2.2), and then no completion yet; the session closes only after LOGOUT's "* BYE" and
// tagged OK (6.1.3), and always then; STARTTLS's OK, and only it, asks for the handshake.
// Returns the run, the same as the whole feeding's unless a TLS handshake was done.
fz::Run check_completions(const fz::Input& in, bool* handshaken) {
  auto store = make_store();
  imap::ServerSession session(config(in), *store);
  session.set_now(1000);
  fz::TurnClient client(session, in.transcript, describe);
  std::vector<Response> greeting = responses_in(client.output());
  FUZZ_CHECK(greeting.size() == 1 && greeting[0].tag == "*", "greeting \"%s\"",
             fz::escaped(client.output()).c_str());

  std::optional<Command> command;  // sent in part: a continuation request is pending
  std::size_t literal = 0;         // octets of literal the next turn starts with
  bool idle = false;               // the pending continuation is IDLE's
  while (!client.done()) {
    std::string_view rest = client.rest();
    std::size_t eol = literal > rest.size() ? std::string_view::npos : rest.find("\r\n", literal);
    if (eol == std::string_view::npos) break;  // the transcript ends inside a command
    std::string line(rest.substr(literal, eol - literal));
    bool first_line = !command;
    if (first_line) command = command_of(line, config(in).max_line_length);
    std::string out = client.send(eol + 2);
    literal = 0;
    std::vector<Response> responses = responses_in(out);
    std::size_t continuations = 0, tagged = 0, untagged_bad = 0;
    for (const Response& r : responses) {
      continuations += r.tag == "+";
      tagged += r.tag != "+" && r.tag != "*";
      untagged_bad += r.tag == "*" && r.status == "BAD";
    }
    const std::string& tag = command->tag;

    if (continuations > 0 && !idle) {
      FUZZ_CHECK(continuations == 1 && tagged == 0 && responses.back().tag == "+",
                 "a continuation request among other responses to \"%s\": \"%s\"",
                 fz::escaped(line).c_str(), fz::escaped(out).c_str());
      if (std::optional<std::size_t> n = fz::literal_size(line)) {
        literal = *n;
      } else {
        idle = first_line && command->name == "IDLE";
        FUZZ_CHECK(idle || command->name == "AUTHENTICATE",
                   "a continuation request that \"%s\" did not ask for", fz::escaped(line).c_str());
      }
      FUZZ_CHECK(!session.closed(), "closed after a continuation request");
      client.complete_handshake(false, out);
      continue;
    }
    FUZZ_CHECK(continuations == 0, "a continuation request after IDLE's: \"%s\"",
               fz::escaped(out).c_str());
    if (tag.empty()) {
      FUZZ_CHECK(tagged == 0 && untagged_bad > 0,
                 "a command with no tag got no untagged BAD, or a tagged reply: \"%s\"",
                 fz::escaped(out).c_str());
    } else {
      FUZZ_CHECK(tagged == 1 && responses.back().tag == tag,
                 "command \"%s\" got %zu tagged replies, the last response \"%s\"",
                 fz::escaped(tag + " " + command->name).c_str(), tagged,
                 fz::escaped(responses.empty() ? "" : responses.back().line).c_str());
    }
    std::string_view status = tagged == 1 ? responses.back().status : "";
    if (idle)
      FUZZ_CHECK(upper(line) != "DONE" || status == "OK", "IDLE ended by DONE with \"%s\"",
                 fz::escaped(responses.back().line).c_str());
    bool logout = !idle && command->name == "LOGOUT" && status == "OK";
    bool bye = false;
    for (const Response& r : responses) bye = bye || (r.tag == "*" && r.status == "BYE");
    FUZZ_CHECK(session.closed() == logout && (!logout || bye),
               "closed: %d after \"%s\" answered \"%s\"", session.closed(),
               fz::escaped(line).c_str(), fz::escaped(out).c_str());
    client.complete_handshake(!idle && command->name == "STARTTLS" && status == "OK", out);
    command.reset();
    idle = false;
  }
  fz::Run r = client.finish(handshaken);
  r.events += std::string(session.state_name()) + "\n";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::check_session_by_command(fz::Input(data, size), run, check_completions, check_responses);
  return 0;
}

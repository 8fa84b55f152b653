// What every fuzz target shares: how an input is cut into the peer's chunks, the invariants'
// check macro, how a session is fed and recorded, the invariants every session target holds,
// and the line checks, IMAP's literals included (docs/robustness.md).
//
// Input layout of the session targets: byte 0 is the chunk size of the second feeding (0 feeds
// one octet at a time), byte 1 selects target-specific options (a config switch, which side,
// ...), and the rest is what the peer sent. Fewer than two bytes are an empty transcript.
//
// A session target feeds the transcript to a fresh engine twice, whole and in chunks, and
// requires the same output and the same events (docs/engines.md: results never depend on the
// chunking), output within output_bound(), and output shaped as the protocol says.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailsim::fuzz {

// An invariant that does not hold is a finding: print it and abort, so that libFuzzer saves the
// input as crash-<sha1>.
#define FUZZ_CHECK(cond, ...)                                                                    \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                         \
      std::fprintf(stderr, "\n");                                                                \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

// No engine may answer n input octets with more than this: a fixed allowance for greetings and
// the seeded messages, and 100 octets per input octet. More means a runaway loop or an
// amplification a peer can abuse.
inline std::size_t output_bound(std::size_t input_size) {
  return 64 * 1024 + 100 * input_size;
}

struct Input {
  std::size_t chunk = 1;     // octets per receive() in the chunked feeding
  std::uint8_t options = 0;  // target-specific switches
  std::string_view transcript;

  Input(const std::uint8_t* data, std::size_t size) {
    if (size >= 1 && data[0] != 0) chunk = data[0];
    if (size >= 2) options = data[1];
    if (size > 2) transcript = std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2);
  }
  bool option(int bit) const { return (options >> bit) & 1; }
};

// Calls feed(piece) for successive pieces of `transcript`, `chunk` octets each (the last may be
// shorter), or once with all of it when chunk is 0. An empty transcript is fed once, empty.
template <typename Feed>
void for_each_chunk(std::string_view transcript, std::size_t chunk, Feed feed) {
  if (chunk == 0 || chunk >= transcript.size()) {
    feed(transcript);
    return;
  }
  for (std::size_t at = 0; at < transcript.size(); at += chunk) feed(transcript.substr(at, chunk));
}

// What one session did with a transcript: every octet it wrote, one line per event.
struct Run {
  std::string output;
  std::string events;
};

// Feeds a session (an engine's ServerSession or ClientSession) and records what it did: its
// output from the first octet on (a greeting included) and one line per event, written by
// `describe`, which may also act on the session (complete a TLS handshake it asked for). Every
// piece fed must leave nothing written once the session said closed().
template <typename Session, typename Describe>
class Feeder {
 public:
  Feeder(Session& session, Describe describe) : session_(session), describe_(describe) {
    run_.output = session_.take_output();
  }

  // Feeds one piece and returns what the session wrote in answer to it.
  std::string feed(std::string_view piece) {
    bool was_closed = session_.closed();
    session_.receive(piece);
    for (const auto& event : session_.take_events()) run_.events += describe_(event);
    std::string out = session_.take_output();
    FUZZ_CHECK(!was_closed || out.empty(), "output after the session closed");
    run_.output += out;
    return out;
  }

  Run& run() { return run_; }
  const Run& run() const { return run_; }

 private:
  Session& session_;
  Describe describe_;
  Run run_;
};

// Feeds `transcript` to `session` in pieces of `chunk` octets (0: whole) through a Feeder.
template <typename Session, typename Describe>
Run feed_session(Session& session, std::string_view transcript, std::size_t chunk,
                 Describe describe) {
  Feeder<Session, Describe> feeder(session, describe);
  for_each_chunk(transcript, chunk, [&](std::string_view piece) { feeder.feed(piece); });
  return std::move(feeder.run());
}

// A printable, escaped copy of (the start of) some bytes, for invariant messages.
inline std::string escaped(std::string_view bytes, std::size_t max = 200) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\\')
      out += "\\\\";
    else if (c >= 32 && c < 127)
      out += static_cast<char>(c);
    else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

// The first place two transcripts differ, for invariant messages.
inline std::string first_difference(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::size_t from = i > 40 ? i - 40 : 0;
  return "at octet " + std::to_string(i) + ": \"" + escaped(a.substr(from), 120) + "\" vs \"" +
         escaped(b.substr(from), 120) + "\"";
}

// The chunking invariant: the whole feeding and another one (`how` it was fed, for the
// message) did the same.
inline void check_same(const Run& whole, const Run& other, const std::string& how) {
  FUZZ_CHECK(whole.output == other.output, "output differs when fed %s, %s", how.c_str(),
             first_difference(whole.output, other.output).c_str());
  FUZZ_CHECK(whole.events == other.events, "events differ when fed %s, %s", how.c_str(),
             first_difference(whole.events, other.events).c_str());
}

// check_same for a feeding in pieces of `chunk` octets.
inline void check_same(const Run& whole, const Run& chunked, std::size_t chunk) {
  check_same(whole, chunked, "in chunks of " + std::to_string(chunk));
}

inline void check_bounded(const Run& run, std::size_t input_size) {
  FUZZ_CHECK(run.output.size() <= output_bound(input_size), "%zu octets of output for %zu of input",
             run.output.size(), input_size);
}

// The invariants of every session target, for `run(in, chunk)`, a fresh session fed the
// transcript in pieces of `chunk` octets (0: whole): fed whole, its output is bounded and passes
// `check_output(output)`; fed in in.chunk pieces, it does and writes the same. check_output sees
// the whole feeding before the chunked one starts. Returns the whole feeding.
template <typename RunSession, typename CheckOutput>
Run check_session(const Input& in, RunSession run, CheckOutput check_output) {
  Run whole = run(in, 0);
  check_bounded(whole, in.transcript.size());
  check_output(std::string_view(whole.output));
  check_same(whole, run(in, in.chunk), in.chunk);
  return whole;
}

// check_session for an engine that can start TLS, with `run(in, chunk, tls)` completing each
// handshake the engine asks for when `tls` is true. The whole and chunked feedings leave every
// handshake undone (what follows STARTTLS is dropped unread); when the target offers TLS, one
// more feeding, octet by octet with each handshake completed, must pass check_output too.
template <typename RunSession, typename CheckOutput>
Run check_tls_session(const Input& in, bool tls_offered, RunSession run, CheckOutput check_output) {
  auto plain = [&run](const Input& i, std::size_t chunk) { return run(i, chunk, false); };
  Run whole = check_session(in, plain, check_output);
  if (tls_offered) check_output(std::string_view(run(in, 1, true).output));
  return whole;
}

// The message the targets store or send: from Rav to Uday, Subject "hi", Message-ID
// <m1@cms.com>, body "hello", with `headers` (CRLF-ended fields) after the Message-ID and `body`
// (CRLF-ended lines) after "hello".
inline std::string rav_to_uday(std::string_view headers = "", std::string_view body = "") {
  return "From: Rav <rav@cms.com>\r\nTo: uday@ums.com\r\nSubject: hi\r\n"
         "Message-ID: <m1@cms.com>\r\n" +
         std::string(headers) + "\r\nhello\r\n" + std::string(body);
}

// A client that sends a transcript to a session one turn at a time, as its RFC lets a client
// do, and completes each TLS handshake the session asks for (its `starttls` event) before it
// sends more: what the IMAP and POP3 server targets feed for their by-command properties.
template <typename Session>
class TurnClient {
  using Event = typename decltype(std::declval<Session&>().take_events())::value_type;

 public:
  template <typename Describe>
  TurnClient(Session& session, std::string_view transcript, Describe describe)
      : session_(session),
        rest_(transcript),
        feeder_(session, std::function<std::string(const Event&)>([this, describe](const Event& e) {
                  asked_ = asked_ || e.kind == Event::Kind::starttls;
                  return describe(e);
                })) {}

  const std::string& output() const { return feeder_.run().output; }  // all so far, greeting first
  std::string_view rest() const { return rest_; }
  bool done() const { return rest_.empty() || session_.closed(); }
  bool handshake_asked() const { return asked_; }

  // Sends the next `n` octets as one turn and returns what the session wrote in answer.
  std::string send(std::size_t n) {
    std::string out = feeder_.feed(rest_.substr(0, n));
    rest_.remove_prefix(std::min(n, rest_.size()));
    return out;
  }

  // Requires that the last turn asked for a handshake exactly when `expected` (its answer was
  // the positive one to STARTTLS or STLS), and completes it.
  void complete_handshake(bool expected, std::string_view answer) {
    FUZZ_CHECK(expected == asked_, "handshake asked: %d, after \"%s\"", asked_,
               escaped(answer).c_str());
    if (!asked_) return;
    session_.tls_established();
    asked_ = false;
    handshaken_ = true;
  }

  // Sends what is left (a command the transcript ends inside, or what follows the close, which
  // must get nothing) and returns the run; `handshaken` says whether a handshake was done.
  Run finish(bool* handshaken) {
    if (!rest_.empty()) feeder_.feed(rest_);
    *handshaken = handshaken_;
    return std::move(feeder_.run());
  }

 private:
  Session& session_;
  std::string_view rest_;
  bool asked_ = false;
  bool handshaken_ = false;
  Feeder<Session, std::function<std::string(const Event&)>> feeder_;
};

// check_session, and a third feeding by `by_command(in, &handshaken)`, one command at a time
// through a TurnClient that checks each answer: fed so, the session writes the same as fed
// whole, or, when a TLS handshake was done (so nothing was dropped unread), passes check_output.
template <typename RunSession, typename ByCommand, typename CheckOutput>
void check_session_by_command(const Input& in, RunSession run, ByCommand by_command,
                              CheckOutput check_output) {
  const Run whole = check_session(in, run, check_output);
  bool handshaken = false;
  const Run turns = by_command(in, &handshaken);
  if (handshaken)
    check_output(std::string_view(turns.output));
  else
    check_same(whole, turns, "one command line at a time");
}

// The CRLF-ended line of `out` that starts at octet `at`, without its CRLF; moves `at` past it.
// Output must end with a CRLF (an engine writes whole lines) and hold no bare CR or LF.
inline std::string_view take_line(std::string_view out, std::size_t& at) {
  std::size_t end = out.find("\r\n", at);
  FUZZ_CHECK(end != std::string_view::npos, "output ends inside a line: \"%s\"",
             escaped(out.substr(at)).c_str());
  std::string_view line = out.substr(at, end - at);
  FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos,
             "bare CR or LF in output line \"%s\"", escaped(line).c_str());
  at = end + 2;
  return line;
}

// The CRLF-ended lines of some output, without their CRLF (see take_line).
inline std::vector<std::string_view> crlf_lines(std::string_view out) {
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at < out.size();) lines.push_back(take_line(out, at));
  return lines;
}

// The n of a line that ends in an IMAP literal's "{n}" (rfc3501.txt 4.3; number, 9: 1*DIGIT
// of 32 bits, leading zeros allowed), or nullopt.
inline std::optional<std::size_t> literal_size(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  std::size_t open = line.rfind('{');
  if (open == std::string_view::npos || open + 2 >= line.size()) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
  if (digits.size() > 10) return std::nullopt;
  std::uint64_t n = digits.empty() ? 0 : std::stoull(std::string(digits));
  if (n > 0xffffffffu) return std::nullopt;
  return static_cast<std::size_t>(n);
}

// One line of IMAP output; `first` is false for the rest of a command or response after a
// literal's octets.
struct ImapLine {
  std::string_view text;
  bool first = true;
};

// IMAP output cut into lines (rfc3501.txt 2.2, 4.3): each ends in CRLF with no bare CR or LF in
// it, and one that ends in "{n}" is followed by n octets of literal data, which are no line.
// `cut` (if given) says whether the last literal runs past the output.
inline std::vector<ImapLine> imap_lines(std::string_view out, bool* cut = nullptr) {
  std::vector<ImapLine> lines;
  bool first = true;
  if (cut) *cut = false;
  for (std::size_t at = 0; at < out.size();) {
    std::string_view line = take_line(out, at);
    lines.push_back({line, first});
    first = true;
    if (std::optional<std::size_t> n = literal_size(line)) {
      if (cut && at + *n > out.size()) *cut = true;
      at += *n;
      first = false;
    }
  }
  return lines;
}

}  // namespace mailsim::fuzz

// What every fuzz target shares: how an input is cut into the peer's chunks, the invariants'
// check macro, the bound on output, and the line checks (docs/robustness.md).
//
// Input layout of the session targets: byte 0 is the chunk size of the second feeding (0 feeds
// one octet at a time), byte 1 selects target-specific options (a config switch, which side,
// ...), and the rest is what the peer sent. Fewer than two bytes are an empty transcript.
//
// A session target feeds the transcript to a fresh engine twice, whole and in chunks, and
// requires the same output and the same events (docs/engines.md: results never depend on the
// chunking), output within output_bound(), and output shaped as the protocol says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
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

// The chunking invariant: the whole feeding and the chunked one did the same.
inline void check_same(const Run& whole, const Run& chunked, std::size_t chunk) {
  FUZZ_CHECK(whole.output == chunked.output, "output differs when fed in chunks of %zu, %s", chunk,
             first_difference(whole.output, chunked.output).c_str());
  FUZZ_CHECK(whole.events == chunked.events, "events differ when fed in chunks of %zu, %s", chunk,
             first_difference(whole.events, chunked.events).c_str());
}

inline void check_bounded(const Run& run, std::size_t input_size) {
  FUZZ_CHECK(run.output.size() <= output_bound(input_size), "%zu octets of output for %zu of input",
             run.output.size(), input_size);
}

// The CRLF-ended lines of some output, without their CRLF. Output must end with a CRLF (an
// engine writes whole lines) and hold no bare CR or LF.
inline std::vector<std::string_view> crlf_lines(std::string_view out) {
  std::vector<std::string_view> lines;
  std::size_t at = 0;
  while (at < out.size()) {
    std::size_t end = out.find("\r\n", at);
    FUZZ_CHECK(end != std::string_view::npos, "output ends inside a line: \"%s\"",
               escaped(out.substr(at)).c_str());
    std::string_view line = out.substr(at, end - at);
    FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos,
               "bare CR or LF in output line \"%s\"", escaped(line).c_str());
    lines.push_back(line);
    at = end + 2;
  }
  return lines;
}

}  // namespace mailsim::fuzz

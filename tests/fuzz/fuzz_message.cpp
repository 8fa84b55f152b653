// Fuzz target: the RFC 5322 message parser and the mail-data transforms (models/message), and
// the store's own header lookup (models/store). The whole input is one message text.
// Invariants: parse_headers() and find_header() agree with each other and with
// store::header_field(); a parsed address written out parses to the same address (rfc5321.txt
// 4.1.2); strict base64 (rfc4954.txt 4) round-trips; dot-unstuffing undoes dot-stuffing
// (rfc5321.txt 4.5.2); a folded header never has a line of white space only and unfolds to
// its value (rfc5322.txt 2.2.3, 3.2.2).
#include "models/message.hpp"
#include "models/store.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void check_headers(std::string_view text) {
  std::vector<msg::HeaderField> fields = msg::parse_headers(text);
  for (const char* name : {"From", "Subject", "Message-ID", "To"}) {
    std::optional<std::string> found = msg::find_header(text, name);
    std::string stored = store::header_field(text, name);
    FUZZ_CHECK(found.value_or("") == stored, "%s: message parser says \"%s\", store \"%s\"", name,
               fz::escaped(found.value_or("(none)")).c_str(), fz::escaped(stored).c_str());
  }
  for (const msg::HeaderField& f : fields) {
    FUZZ_CHECK(msg::find_header(text, f.name).has_value(), "field \"%s\" not found",
               fz::escaped(f.name).c_str());
  }
  std::string_view body = msg::body_of(text);
  FUZZ_CHECK(body.size() <= text.size() &&
                 (body.empty() || text.substr(text.size() - body.size()) == body),
             "body is not a suffix of the message");
}

void check_address(std::string_view text) {
  auto a = msg::parse_address(text);
  if (!a) return;
  std::string written = a->to_string();
  auto again = msg::parse_address(written);
  FUZZ_CHECK(again && again->local_part == a->local_part && again->domain == a->domain,
             "address \"%s\" written as \"%s\" does not parse back", fz::escaped(text).c_str(),
             fz::escaped(written).c_str());
}

void check_base64(std::string_view text) {
  auto decoded = msg::base64_decode(text);
  if (decoded)
    FUZZ_CHECK(msg::base64_encode(*decoded) == text, "base64 \"%s\" is not canonical",
               fz::escaped(text).c_str());
  auto back = msg::base64_decode(msg::base64_encode(text));
  FUZZ_CHECK(back && *back == text, "base64 round trip failed");
}

void check_stuffing(std::string_view text) {
  std::string stuffed = msg::dot_stuff(text);
  FUZZ_CHECK(stuffed.size() >= 3 && stuffed.substr(stuffed.size() - 3) == ".\r\n",
             "stuffed data does not end with .CRLF");
  std::string content = stuffed.substr(0, stuffed.size() - 3);
  FUZZ_CHECK(content.find("\r\n.\r\n") == std::string::npos && content.substr(0, 3) != ".\r\n",
             "stuffed data ends early");
  std::string expected(text);
  if (!expected.empty() && expected.substr(expected.size() < 2 ? 0 : expected.size() - 2) != "\r\n")
    expected += "\r\n";
  FUZZ_CHECK(msg::dot_unstuff(content) == expected, "unstuffing does not undo stuffing");
}

void check_folding(std::string_view value) {
  std::string folded = msg::fold_header("Subject", value);
  for (std::string_view line : fz::crlf_lines(folded))
    FUZZ_CHECK(!trim(line).empty(), "a folded line of white space only in \"%s\"",
               fz::escaped(folded).c_str());
  std::string expected(trim(value));
  for (char& c : expected)
    if (c == '\r' || c == '\n') c = ' ';
  expected = std::string(trim(expected));
  auto unfolded = msg::find_header(folded + "\r\n", "Subject");
  FUZZ_CHECK(unfolded && *unfolded == expected, "\"%s\" folds and unfolds to \"%s\"",
             fz::escaped(expected).c_str(), fz::escaped(unfolded.value_or("(none)")).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_headers(text);
  check_address(text);
  check_base64(text);
  check_stuffing(text);
  check_folding(text);
  return 0;
}

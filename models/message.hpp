// Mail data: addresses, RFC 5322 messages, and the SMTP transparency (dot-stuffing) transform.
//
// Theory of operation. Everything here is a pure function over strings: no state, no I/O, no
// clock (the Date: value comes in as Unix seconds plus a zone offset). A message is always
// RFC 5322 text with CRLF line ends (RFC 5322 2.1); build_message() turns the bare LFs and bare
// CRs of a composed body into CRLF so that nothing this model builds carries a bare line end
// (the 2023 SMTP smuggling attacks relied on those). Parsing is strict in the same way: only CRLF
// ends a header line.
//
// Recipients. To and Cc are written in the header (RFC 5322 3.6.3); Bcc recipients are on the
// envelope only: of the three ways RFC 5322 3.6.3 allows, we take the first, so no Bcc: line
// is ever sent and the other recipients never learn of them.
//
// Replies (RFC 5322 3.6.4): reply_headers() reads the parent's Message-ID, In-Reply-To and
// References and gives the child's In-Reply-To and References, with "Re: " before the subject
// once (RFC 5322 3.6.5).
//
// Attachments (RFC 2045, RFC 2046 5.1). A message with attachments is multipart/mixed: the text
// first, then each attachment base64-encoded in lines of 76 characters (RFC 2045 6.8) with a
// Content-Disposition (RFC 2183), so that its size on the wire carries the real overhead of
// about 4/3 plus a CRLF per 57 octets. Each part's content ends in CRLF and the delimiter line
// follows it, so a parser that gives the CRLF to the delimiter (RFC 2046 5.1.1) sees the text
// part without its last line end. The boundary is made from the Message-ID (deterministic) and
// starts with "=_", which base64 cannot contain; build_message() lengthens it if the text
// happens to contain it. There is no preamble and no epilogue.
//
// Deliberately left out: RFC 2047 encoded-words (a non-ASCII display name or subject is written
// as raw UTF-8, as RFC 6532 would), RFC 2231 parameter encoding (an attachment name is ASCII),
// quoted-printable (a body line over 998 octets is passed through as is), nested multiparts,
// the obsolete syntax of RFC 5322 section 4, comments (CFWS) inside addresses, and group
// syntax in To:.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailsim::msg {

// RFC 5321 4.5.3.1.1 and 4.5.3.1.2: the longest local part and domain a mailbox may have.
constexpr std::size_t max_local_part_length = 64;
constexpr std::size_t max_domain_length = 255;
// RFC 5322 2.1.1: a line SHOULD stay within 78 characters and MUST stay within 998 (no CRLF).
constexpr std::size_t recommended_line_length = 78;
constexpr std::size_t max_line_length = 998;

struct Address {
  std::string local_part;  // unquoted form: `"john smith"@x` has local_part `john smith`
  std::string domain;      // LDH labels, or an address literal such as "[192.0.2.1]"
  // Mailbox text with the least quoting that keeps it valid (RFC 5321 4.1.2).
  std::string to_string() const;
};

// RFC 5321 4.1.2 Mailbox: Local-part "@" Domain, where Local-part is a Dot-string or a
// Quoted-string and Domain is LDH labels (or an IPv4 address literal, RFC 5321 4.1.3).
// Enforces the sizes of RFC 5321 4.5.3.1. Returns nullopt on anything else.
std::optional<Address> parse_address(std::string_view text);

// RFC 5322 3.2.3: true if the octet is atext (the characters allowed in an atom).
bool is_atext(char c);

// RFC 5321 4.1.2 Domain: sub-domains of letters, digits and inner hyphens, each at most 63
// octets (RFC 1035 2.3.4), at most 255 in all.
bool is_domain(std::string_view text);

// RFC 5321 4.1.3 address-literal, limited to "[" IPv4-address-literal "]".
bool is_address_literal(std::string_view text);

// A file sent with a message (RFC 2183 "attachment" disposition).
struct Attachment {
  std::string filename;      // "photo.jpg": printable ASCII
  std::string content_type;  // "image/jpeg" (RFC 2045 5.1 type "/" subtype)
  std::string data;          // the octets themselves, any values
};

struct Composition {
  std::string from_name;         // "Rav"
  std::string from;              // "rav@cms.com"
  std::vector<std::string> to;   // addresses
  std::vector<std::string> cc;   // written in a Cc: header
  std::vector<std::string> bcc;  // envelope only, never in the header (RFC 5322 3.6.3)
  std::string subject;
  std::string body;                     // text with '\n' or CRLF line ends
  std::int64_t date_unix = 0;           // Unix seconds of the Date: header
  int tz_offset_minutes = 0;            // for the Date: zone, e.g. -300 => -0500
  std::string message_id;               // "<...@...>", as made by make_message_id
  std::string in_reply_to;              // the parent's msg-id when this is a reply (RFC 5322 3.6.4)
  std::string references;               // msg-ids separated by spaces, oldest first
  std::vector<Attachment> attachments;  // none: a single text/plain body
};

// Every recipient for the envelope (RCPT TO): To, then Cc, then Bcc, each address once.
std::vector<std::string> envelope_recipients(const Composition& c);

// What a reply takes from its parent message (RFC 5322 3.6.4, 3.6.5).
struct ReplyHeaders {
  std::string to;           // the address in the parent's Reply-To, else in its From
  std::string subject;      // "Re: " and the parent's subject, the prefix never doubled
  std::string in_reply_to;  // the parent's Message-ID ("" if it has none)
  std::string references;   // the parent's References (or its single In-Reply-To), then its
                            // Message-ID
};

// The reply fields for a parent message given as RFC 5322 text (its header section is enough).
ReplyHeaders reply_headers(std::string_view parent);

// The addr-spec of a mailbox header value: what is inside the angle brackets of
// "Rav <rav@cms.com>", or the trimmed value when there are none (RFC 5322 3.4).
std::string mailbox_address(std::string_view value);

// RFC 5322 3.3 date-time in local time of the given zone: "Fri, 04 Dec 2026 04:00:00 -0500".
std::string format_date(std::int64_t unix_seconds, int tz_offset_minutes);

// RFC 5322 3.6.4 msg-id: "<" id-left "@" id-right ">".
std::string make_message_id(std::string_view unique_left, std::string_view domain);

// A complete RFC 5322 message: Date, From, To, Cc, Subject, Message-ID, In-Reply-To, References
// (each left out when empty), MIME-Version, Content-Type, Content-Transfer-Encoding (7bit, or
// 8bit when the body has a non-ASCII octet), a blank line, then the body with every line end
// CRLF and a final CRLF; with attachments, the multipart/mixed body described above.
// Header lines longer than 78 characters are folded at white space (RFC 5322 2.2.3).
std::string build_message(const Composition& c);

// The multipart boundary build_message() uses for this Message-ID, before any lengthening.
std::string make_boundary(std::string_view message_id);

// "Name: value" folded at white space so that each line stays within 78 characters where the
// value allows it (RFC 5322 2.2.3), ending in CRLF.
std::string fold_header(std::string_view name, std::string_view value);

struct HeaderField {
  std::string name;
  std::string value;  // unfolded, leading and trailing white space removed
};

// The header section of a CRLF message (up to the first empty line), unfolded (RFC 5322 2.2.3).
std::vector<HeaderField> parse_headers(std::string_view message);

// The first header field with this name, compared case-insensitively (RFC 5322 1.2.2).
std::optional<std::string> find_header(std::string_view message, std::string_view name);

// The message with "name: value" (folded) put before its first line, as trace fields
// (Received:, Return-Path:) are (RFC 5321 4.4).
std::string prepend_header(std::string_view message, std::string_view name, std::string_view value);

// The body of a CRLF message: what follows the first empty line ("" if there is none).
std::string_view body_of(std::string_view message);

// RFC 5321 4.5.2 transparency, sending side: a period is added before every line that starts
// with one. A CRLF is added if the message does not end in one (an empty message stays empty),
// then the ".\r\n" that ends the mail data. Only CRLF starts a new line.
std::string dot_stuff(std::string_view message);

// RFC 5321 4.5.2 receiving side: the first period of every line that starts with one is
// removed. `data` is what came after the 354 reply, without the final ".\r\n".
std::string dot_unstuff(std::string_view data);

// RFC 4648 4 base64 with padding.
std::string base64_encode(std::string_view bytes);
// RFC 2045 6.8 base64 for a message body: lines of at most 76 characters, each ending in CRLF
// ("" for no bytes).
std::string base64_encode_lines(std::string_view bytes);
// RFC 2045 6.8 line length of base64 in a body.
constexpr std::size_t base64_line_length = 76;
// Strict decoding as RFC 4954 4 requires: any character outside the alphabet, a length that is
// not a multiple of 4, padding anywhere but the end, or non-zero pad bits give nullopt.
std::optional<std::string> base64_decode(std::string_view text);

// True if any octet has its high bit set (the body then needs 8bit / 8BITMIME, RFC 6152).
bool has_8bit(std::string_view text);

}  // namespace mailsim::msg

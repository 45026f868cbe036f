#pragma once

// Parsing of the replies a primary Redis sends (RESP2 and RESP3): a fast,
// resumable scanner that only finds where each reply ends (the proxy's hot
// path, which forwards the bytes untouched) and a full parser for the few
// slower paths that need a reply's content (health probes, ROLE, SENTINEL,
// HELLO). No I/O.
//
// Top-level RESP type bytes: '+' simple string, '-' error, ':' integer,
// '$' bulk string, '*' array, '_' null, ',' double, '#' boolean, '!' blob
// error, '=' verbatim string, '(' big number, '%' map, '~' set, '>' push,
// '|' attribute (precedes the value it annotates and is part of its reply).
//
// Deliberately rejected (kError): streamed strings and aggregates ("$?",
// "*?", ";" chunks, "." end), which Redis never sends, and any length other
// than -1 below zero. RESP2's "$-1" and "*-1" are accepted; RESP3 only has
// "_" for null, so "%-1", "~-1", "!-1" and the like are rejected.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace understudy::protocol {

// Most aggregates (attributes included) that may be open inside one another.
// A deeper reply is an error, so that a hostile primary cannot make the
// scanner's stack (or the parsed tree) grow without bound.
inline constexpr size_t kMaxReplyNesting = 1024;
// Longest bulk, blob error or verbatim payload accepted (Redis's default
// proto-max-bulk-len). Also the longest simple string, error or big number
// line: Redis never sends longer ones, and without a cap a primary that never
// sends CRLF would make the proxy buffer forever.
inline constexpr int64_t kMaxReplyBulkLength = 512LL * 1024 * 1024;

enum class ScanStatus { kComplete, kNeedMore, kError };

// Finds the end of one complete reply at the start of a byte stream.
//
// Contract: Scan() is given the bytes from the first byte of the current
// reply. When it returns kNeedMore the caller must call again with the same
// bytes (they may have moved in memory) plus whatever arrived since; the
// scanner keeps only offsets and resumes where it stopped, so a reply costs
// O(its size) in total however it is cut. Bulk payloads are skipped by their
// length without being read. On kComplete the scanner is ready for the next
// reply (pass the bytes after *length). After kError the stream cannot be
// framed any more: close the connection (the scanner has been reset).
//
// The scanner allocates only when a reply nests deeper than any before it.
class ReplyScanner {
 public:
  ReplyScanner();

  ScanStatus Scan(std::string_view data, size_t* length);

  // After kComplete: the reply's top-level type byte, attributes skipped
  // (e.g. '-' for an error, '>' for a push). RESP2 nulls report '$' / '*'.
  char type() const { return type_; }
  // After kNeedMore: while a bulk payload is being received, the size the
  // data must reach before the scanner can move on (the end of that bulk; the
  // reply may continue after it), else 0. Lets the caller read a large bulk
  // in one go instead of in small reads.
  size_t bytes_wanted() const { return bulk_end_; }
  // Forgets a partially scanned reply (e.g. the connection was replaced).
  void Reset();
  // After kError: why (bad type byte, malformed length, ...).
  const std::string& error() const { return error_; }

 private:
  // An open aggregate: how many values it still needs. An attribute is
  // followed by the value it annotates, which belongs to the enclosing frame.
  struct Frame {
    uint64_t remaining;
    bool attribute;
  };

  ScanStatus Fail(std::string message);
  // Bookkeeping after a complete value at the current level; returns true
  // when it completed the top-level reply.
  bool ValueDone();
  // Checks the CRLF (and the verbatim format) of the bulk ending at bulk_end_.
  bool FinishBulk(const char* base);

  size_t position_ = 0;       // offset of the next header not yet scanned
  size_t line_searched_ = 0;  // for an incomplete header line: offset searched up to for CR
  size_t bulk_end_ = 0;       // while a bulk payload is incomplete: offset after its CRLF
  size_t bulk_length_ = 0;    // that bulk's payload length
  char bulk_type_ = 0;        // and its type byte
  char type_ = 0;
  std::vector<Frame> stack_;
  std::string error_;
};

// A fully parsed reply, for the paths that need the content.
struct ReplyValue {
  // The RESP type byte as above. '_' is null; RESP2's null bulk "$-1" and null
  // array "*-1" are reported as '_' too, with resp2_null_array telling which.
  char type = 0;
  // Simple string, error text (without '-'), bulk, blob error, verbatim text
  // (without the "txt:" prefix), big number digits, the double's text.
  std::string str;
  std::string format;   // verbatim format ("txt", "mkd")
  int64_t integer = 0;  // ':' and '#' (1 / 0)
  double number = 0;    // ','
  // '*', '~', '>'; for '%' alternating key, value.
  std::vector<ReplyValue> elements;
  // The attributes ('|') that preceded this value: alternating key, value.
  std::vector<ReplyValue> attributes;
  bool resp2_null_array = false;

  bool IsError() const { return type == '-' || type == '!'; }
  bool IsNull() const { return type == '_'; }
  bool IsAggregate() const { return type == '*' || type == '%' || type == '~' || type == '>'; }
  // For errors, the code: the first word ("LOADING", "NOAUTH", "ERR");
  // empty for other types.
  std::string_view ErrorCode() const;

  bool operator==(const ReplyValue&) const = default;
};

// Parses one complete reply from the start of `data`: kComplete with
// *consumed and *out set, kNeedMore (nothing set; call again with more
// bytes, the parse starts over), or kError with *error (when given) set.
// Accepts exactly what ReplyScanner accepts, with the same nesting limit, and
// does not recurse.
ScanStatus ParseReply(std::string_view data, ReplyValue* out, size_t* consumed,
                      std::string* error = nullptr);

}  // namespace understudy::protocol

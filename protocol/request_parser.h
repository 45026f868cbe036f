#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace understudy::protocol {

// Limits applied while parsing; they mirror redis.conf's names.
struct ParserLimits {
  int64_t max_bulk_len = 512LL * 1024 * 1024;  // proto-max-bulk-len
  int64_t max_multibulk_len = INT32_MAX;       // Redis accepts up to INT_MAX
  size_t max_inline_len = 64 * 1024;           // PROTO_INLINE_MAX_SIZE
  // Applied before the client has authenticated, as Redis does, so that an
  // unauthenticated peer cannot make the server buffer much.
  int64_t unauth_max_multibulk_len = 10;
  int64_t unauth_max_bulk_len = 16384;
};

enum class ParseStatus {
  kCommand,   // one request parsed: see args() and consumed()
  kEmpty,     // an empty request (blank inline line, "*0", "*-1"): skip it
  kNeedMore,  // the request is incomplete; call again with more bytes
  kError,     // protocol error: reply error() and close the connection
};

// Incremental parser for client requests: RESP multibulk ("*2\r\n$3\r\nGET...")
// and inline commands ("GET key\r\n"), with Redis's exact error texts.
//
// Contract: Parse() is given the unconsumed bytes, starting at the beginning
// of the current request. When it returns kNeedMore the caller must keep those
// bytes unchanged (they may move in memory) and call again with them plus
// whatever arrived since; the parser resumes where it stopped instead of
// scanning the request again. After kCommand/kEmpty the caller drops
// consumed() bytes. args() views point into the bytes passed to the last
// Parse() call (or into the parser, for inline commands) and are valid until
// the next call.
class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {}) : limits_(limits) {}

  ParseStatus Parse(std::string_view data, bool authenticated);

  const std::vector<std::string_view>& args() const { return args_; }
  size_t consumed() const { return consumed_; }
  // The error reply text (without "-" and CRLF), valid after kError.
  const std::string& error() const { return error_; }
  // After kNeedMore: the number of bytes the current request needs in total
  // when known (a large bulk being received), else 0. Lets the connection
  // read a big argument in one go.
  size_t bytes_wanted() const { return bytes_wanted_; }

  void set_limits(const ParserLimits& limits) { limits_ = limits; }
  // Forget any partially parsed request (the connection is being reset).
  void Reset();

 private:
  ParseStatus ParseMultibulk(std::string_view data, bool authenticated);
  ParseStatus ParseInline(std::string_view data);
  ParseStatus Fail(std::string message);
  ParseStatus Complete(size_t consumed);

  ParserLimits limits_;
  // Resumable multibulk state; offsets are relative to the request start.
  bool in_multibulk_ = false;
  int64_t args_expected_ = 0;
  size_t position_ = 0;
  std::vector<std::pair<size_t, size_t>> arg_spans_;  // (offset, length)

  std::vector<std::string_view> args_;
  std::vector<std::string> inline_args_;
  size_t consumed_ = 0;
  size_t bytes_wanted_ = 0;
  std::string error_;
};

// Splits an inline command line into arguments the way redis-cli and Redis's
// inline protocol do: whitespace separated, "double quotes" with C-like
// escapes (\n \r \t \b \a \\ \" \xHH), 'single quotes' with \' only. A closing
// quote must be followed by whitespace or the end. Returns false on
// unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out);

}  // namespace understudy::protocol

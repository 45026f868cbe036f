#pragma once

#include <limits>
#include <string_view>

#include "common/ascii.h"
#include "common/numbers.h"
#include "server/errors.h"
#include "server/server.h"

// Small argument and lookup helpers shared by command handlers. Each one that
// can fail writes the Redis error reply itself and returns false, so a
// handler reads: `if (!ParseIntegerArg(ctx, ctx.args[2], &n)) return;`.
namespace understudy::server {

// Parses a 64-bit integer argument ("ERR value is not an integer or out of range").
inline bool ParseIntegerArg(CommandContext& ctx, std::string_view arg, int64_t* out) {
  if (ParseInt64(arg, out)) return true;
  ctx.reply.Error(errors::kNotInteger);
  return false;
}

// Parses a SCAN-family cursor (SCAN, HSCAN, SSCAN, ZSCAN) with the rules of
// strtoul() as Redis applies them: the text ends at the first NUL; a leading
// space, trailing garbage or overflow is invalid; a sign is allowed ("-1" is
// 2^64-1) and an empty cursor means 0. The caller replies "ERR invalid cursor".
inline bool ParseScanCursor(std::string_view arg, uint64_t* out) {
  std::string_view text = arg.substr(0, arg.find('\0'));
  if (!text.empty() && (text[0] == ' ' || (text[0] >= '\t' && text[0] <= '\r'))) return false;
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  const size_t digits_start = i;
  uint64_t value = 0;
  bool overflow = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    auto digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) overflow = true;
    value = value * 10 + digit;
  }
  if (i == digits_start) {
    // No digits: strtoul converts nothing, which Redis accepts only for "".
    *out = 0;
    return text.empty();
  }
  if (overflow || i != text.size()) return false;
  *out = negative ? 0 - value : value;
  return true;
}

// True when the option word `arg` is `option`, ignoring ASCII case. Redis
// compares options as C strings, so anything from a NUL byte on is ignored
// ("count\0x" is COUNT); this keeps that quirk.
inline bool IsOption(std::string_view arg, std::string_view option) {
  return EqualsIgnoreCase(arg.substr(0, arg.find('\0')), option);
}

// [MATCH pattern] [COUNT count] of HSCAN, SSCAN and ZSCAN.
struct ScanOptions {
  int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;  // false for no MATCH or MATCH *
};

// Parses the options from args[first] on. Replies the error and returns
// false on a bad option or a COUNT below 1 ("ERR syntax error").
inline bool ParseScanOptions(CommandContext& ctx, size_t first, ScanOptions* out) {
  for (size_t i = first; i < ctx.argc(); i += 2) {
    const bool has_value = i + 1 < ctx.argc();
    if (IsOption(ctx.args[i], "count") && has_value) {
      if (!ParseIntegerArg(ctx, ctx.args[i + 1], &out->count)) return false;
      if (out->count < 1) {
        ctx.reply.Error(errors::kSyntax);
        return false;
      }
    } else if (IsOption(ctx.args[i], "match") && has_value) {
      out->pattern = ctx.args[i + 1];
      out->use_pattern = out->pattern != "*";
    } else {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
  }
  return true;
}

// Finds a live key for reading and checks that it holds `type`. Returns
// false after replying WRONGTYPE; otherwise *entry is the entry or nullptr.
inline bool LookupRead(CommandContext& ctx, std::string_view key, storage::ValueType type,
                       storage::Entry** entry) {
  storage::Entry* e = ctx.db.FindForRead(key, ctx.now_ms);
  if (e != nullptr && e->value().type() != type) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  *entry = e;
  return true;
}

// As LookupRead, for commands that will write (no hit/miss accounting).
inline bool LookupWrite(CommandContext& ctx, std::string_view key, storage::ValueType type,
                        storage::Entry** entry) {
  storage::Entry* e = ctx.db.Find(key, ctx.now_ms);
  if (e != nullptr && e->value().type() != type) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  *entry = e;
  return true;
}

// The start of HSCAN, SSCAN and ZSCAN, in Redis's order of checks: the
// cursor (args[2]), then the key (args[1], which must hold `type`), then the
// options (args[3] on) - a missing key replies the empty scan whatever
// options follow. Returns false once it has replied (an error, or that
// empty scan); otherwise *entry is the live key.
inline bool BeginKeyScan(CommandContext& ctx, storage::ValueType type, uint64_t* cursor,
                         storage::Entry** entry, ScanOptions* options) {
  if (!ParseScanCursor(ctx.args[2], cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return false;
  }
  if (!LookupRead(ctx, ctx.args[1], type, entry)) return false;
  if (*entry == nullptr) {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk("0");
    ctx.reply.EmptyArray();
    return false;
  }
  return ParseScanOptions(ctx, 3, options);
}

// The `count [WITH...]` arguments of HRANDFIELD and ZRANDMEMBER (args[2] and
// an optional args[3], which must be `pair_option`). Replies Redis's error
// and returns false on a bad count or option. With the option, twice the
// count must still fit a signed 64-bit reply length.
inline bool ParseRandomCount(CommandContext& ctx, std::string_view pair_option, int64_t* count,
                             bool* with_pairs) {
  if (!ParseIntegerArg(ctx, ctx.args[2], count)) return false;
  if (*count == std::numeric_limits<int64_t>::min()) {
    // Redis's wording, grammar included.
    ctx.reply.Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
    return false;
  }
  if (ctx.argc() > 4 || (ctx.argc() == 4 && !IsOption(ctx.args[3], pair_option))) {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  *with_pairs = ctx.argc() == 4;
  constexpr int64_t kHalf = std::numeric_limits<int64_t>::max() / 2;
  if (*with_pairs && (*count < -kHalf || *count > kHalf)) {
    ctx.reply.Error("ERR value is out of range");
    return false;
  }
  return true;
}

}  // namespace understudy::server

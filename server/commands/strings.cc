// String commands: GET, SET and their variants, counters, ranges and LCS,
// with Redis 7.0's replies and error texts.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

using storage::Entry;
using storage::Value;
using storage::ValueType;

constexpr std::string_view kOffsetOutOfRange = "ERR offset is out of range";
constexpr std::string_view kStringTooLong =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
constexpr std::string_view kNanOrInfinity = "ERR increment would produce NaN or Infinity";
constexpr std::string_view kDecrementOverflow = "ERR decrement would overflow";
constexpr std::string_view kLcsNotStrings = "ERR The specified keys must contain string values";
constexpr std::string_view kLcsLenAndIdx =
    "ERR If you want both the length and indexes, please just use IDX.";
constexpr std::string_view kLcsTooBig =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";

// The options of SET and GETEX, as bits.
enum StringOption : unsigned {
  kOptNx = 1u << 0,
  kOptXx = 1u << 1,
  kOptGet = 1u << 2,
  kOptKeepTtl = 1u << 3,
  kOptPersist = 1u << 4,
  kOptEx = 1u << 5,
  kOptPx = 1u << 6,
  kOptExAt = 1u << 7,
  kOptPxAt = 1u << 8,
};
constexpr unsigned kAnyExpireOption = kOptEx | kOptPx | kOptExAt | kOptPxAt;

enum class OptionSyntax { kSet, kGetEx };

struct StringOptions {
  unsigned flags = 0;
  std::string_view expire_arg;  // the number after EX/PX/EXAT/PXAT
};

// Parses the options of SET (from args[3]) or GETEX (from args[2]) with
// Redis's acceptance rules: NX and XX exclude each other, KEEPTTL/PERSIST and
// the four expire forms exclude each other, but repeating the same option is
// fine (the last expire value wins). Replies "ERR syntax error" and returns
// false on anything else.
bool ParseStringOptions(CommandContext& ctx, OptionSyntax syntax, StringOptions* out) {
  const bool is_set = syntax == OptionSyntax::kSet;
  unsigned& flags = out->flags;
  for (size_t i = is_set ? 3 : 2; i < ctx.argc(); ++i) {
    std::string_view opt = ctx.args[i];
    bool has_next = i + 1 < ctx.argc();
    // The expire forms each exclude the other three and KEEPTTL/PERSIST.
    auto expire_allowed = [&](unsigned self) {
      return has_next && !(flags & (kOptKeepTtl | kOptPersist)) &&
             !(flags & (kAnyExpireOption & ~self));
    };
    if (is_set && IsOption(opt, "nx") && !(flags & kOptXx)) {
      flags |= kOptNx;
    } else if (is_set && IsOption(opt, "xx") && !(flags & kOptNx)) {
      flags |= kOptXx;
    } else if (is_set && IsOption(opt, "get")) {
      flags |= kOptGet;
    } else if (is_set && IsOption(opt, "keepttl") && !(flags & kAnyExpireOption)) {
      flags |= kOptKeepTtl;
    } else if (!is_set && IsOption(opt, "persist") && !(flags & kAnyExpireOption)) {
      flags |= kOptPersist;
    } else if (IsOption(opt, "ex") && expire_allowed(kOptEx)) {
      flags |= kOptEx;
      out->expire_arg = ctx.args[++i];
    } else if (IsOption(opt, "px") && expire_allowed(kOptPx)) {
      flags |= kOptPx;
      out->expire_arg = ctx.args[++i];
    } else if (IsOption(opt, "exat") && expire_allowed(kOptExAt)) {
      flags |= kOptExAt;
      out->expire_arg = ctx.args[++i];
    } else if (IsOption(opt, "pxat") && expire_allowed(kOptPxAt)) {
      flags |= kOptPxAt;
      out->expire_arg = ctx.args[++i];
    } else {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
  }
  return true;
}

void ReplyInvalidExpire(CommandContext& ctx) {
  ctx.reply.Error("ERR invalid expire time in '" + ctx.spec.FullName() + "' command");
}

// Turns an expire argument into an absolute deadline in unix ms. `unit_flag`
// is one of kOptEx/kOptPx (relative to now) or kOptExAt/kOptPxAt (absolute).
// Zero, negative and overflowing values get "ERR invalid expire time in
// '<cmd>' command"; non-integers "ERR value is not an integer or out of range".
bool ComputeDeadline(CommandContext& ctx, std::string_view arg, unsigned unit_flag,
                     int64_t* deadline_ms) {
  int64_t value;
  if (!ParseIntegerArg(ctx, arg, &value)) return false;
  const bool seconds = (unit_flag & (kOptEx | kOptExAt)) != 0;
  if (value <= 0 || (seconds && value > std::numeric_limits<int64_t>::max() / 1000)) {
    ReplyInvalidExpire(ctx);
    return false;
  }
  if (seconds) value *= 1000;
  if ((unit_flag & (kOptEx | kOptPx)) != 0 && __builtin_add_overflow(value, ctx.now_ms, &value)) {
    ReplyInvalidExpire(ctx);
    return false;
  }
  *deadline_ms = value;
  return true;
}

// Replies with a string value, or null for a missing key. Returns false
// (after WRONGTYPE) when the key holds another type. Counts a keyspace hit
// or miss, as Redis's GET does.
bool ReplyStringValue(CommandContext& ctx, std::string_view key, Entry** entry) {
  if (!LookupRead(ctx, key, ValueType::kString, entry)) return false;
  if (*entry == nullptr) {
    ctx.reply.Null();
  } else {
    ctx.reply.Bulk((*entry)->value().string());
  }
  return true;
}

// Stores `value` at `key` with no deadline, creating the key if needed.
Entry* StoreString(CommandContext& ctx, std::string_view key, std::string_view value) {
  bool created;
  Entry* e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
  e->value().SetString(value);
  ctx.db.ClearExpire(e);
  ctx.KeyModified(key);
  return e;
}

// What a SET-family command replies when it stored the value, and when NX/XX
// stopped it (unless GET decided the reply already).
enum class SetReply { kOkOrNull, kOneOrZero };

// The common part of SET, SETEX, PSETEX and SETNX.
void SetGeneric(CommandContext& ctx, const StringOptions& options, std::string_view key,
                std::string_view value, SetReply reply_kind) {
  const unsigned flags = options.flags;
  int64_t deadline = storage::kNoExpire;
  if ((flags & kAnyExpireOption) != 0 &&
      !ComputeDeadline(ctx, options.expire_arg, flags & kAnyExpireOption, &deadline)) {
    return;
  }
  Entry* e = nullptr;
  if ((flags & kOptGet) != 0) {
    if (!ReplyStringValue(ctx, key, &e)) return;
  } else {
    e = ctx.db.Find(key, ctx.now_ms);
  }
  if (((flags & kOptNx) != 0 && e != nullptr) || ((flags & kOptXx) != 0 && e == nullptr)) {
    if ((flags & kOptGet) != 0) return;
    if (reply_kind == SetReply::kOneOrZero) {
      ctx.reply.Integer(0);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  if (e == nullptr) {
    bool created;
    e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
  }
  e->value().SetString(value);
  // A deadline already past is stored as is, like Redis 7.0: the key reads
  // as missing at once and is reclaimed by lazy or active expiry.
  if (deadline != storage::kNoExpire) {
    ctx.db.SetExpire(e, deadline);
  } else if ((flags & kOptKeepTtl) == 0) {
    ctx.db.ClearExpire(e);
  }
  ctx.KeyModified(key);
  if ((flags & kOptGet) != 0) return;
  if (reply_kind == SetReply::kOneOrZero) {
    ctx.reply.Integer(1);
  } else {
    ctx.reply.Ok();
  }
}

// GET key
void GetCommand(CommandContext& ctx) {
  Entry* e;
  ReplyStringValue(ctx, ctx.args[1], &e);
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]
void SetCommand(CommandContext& ctx) {
  if (ctx.argc() == 3) {  // the common case: no options to parse
    StoreString(ctx, ctx.args[1], ctx.args[2]);
    ctx.reply.Ok();
    return;
  }
  StringOptions options;
  if (!ParseStringOptions(ctx, OptionSyntax::kSet, &options)) return;
  SetGeneric(ctx, options, ctx.args[1], ctx.args[2], SetReply::kOkOrNull);
}

// SETEX key seconds value
void SetExCommand(CommandContext& ctx) {
  SetGeneric(ctx, {.flags = kOptEx, .expire_arg = ctx.args[2]}, ctx.args[1], ctx.args[3],
             SetReply::kOkOrNull);
}

// PSETEX key milliseconds value
void PSetExCommand(CommandContext& ctx) {
  SetGeneric(ctx, {.flags = kOptPx, .expire_arg = ctx.args[2]}, ctx.args[1], ctx.args[3],
             SetReply::kOkOrNull);
}

// SETNX key value
void SetNxCommand(CommandContext& ctx) {
  SetGeneric(ctx, {.flags = kOptNx, .expire_arg = {}}, ctx.args[1], ctx.args[2],
             SetReply::kOneOrZero);
}

// GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]
void GetExCommand(CommandContext& ctx) {
  StringOptions options;
  if (!ParseStringOptions(ctx, OptionSyntax::kGetEx, &options)) return;
  std::string_view key = ctx.args[1];
  Entry* e;
  if (!LookupRead(ctx, key, ValueType::kString, &e)) return;
  if (e == nullptr) {
    ctx.reply.Null();  // even when the expire argument is invalid
    return;
  }
  const unsigned expire_flag = options.flags & kAnyExpireOption;
  int64_t deadline = storage::kNoExpire;
  if (expire_flag != 0 && !ComputeDeadline(ctx, options.expire_arg, expire_flag, &deadline)) {
    return;
  }
  ctx.reply.Bulk(e->value().string());
  if ((expire_flag & (kOptExAt | kOptPxAt)) != 0 && deadline <= ctx.now_ms) {
    // An absolute time already past deletes the key at once.
    ctx.db.Delete(key, ctx.now_ms);
    ctx.KeyModified(key);
  } else if (expire_flag != 0) {
    ctx.db.SetExpire(e, deadline);
    ctx.KeyModified(key);
  } else if ((options.flags & kOptPersist) != 0 && e->has_expire()) {
    ctx.db.ClearExpire(e);
    ctx.KeyModified(key);
  }
}

// GETDEL key
void GetDelCommand(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  Entry* e;
  if (!ReplyStringValue(ctx, key, &e) || e == nullptr) return;
  ctx.db.Delete(key, ctx.now_ms);
  ctx.KeyModified(key);
}

// GETSET key value
void GetSetCommand(CommandContext& ctx) {
  Entry* e;
  if (!ReplyStringValue(ctx, ctx.args[1], &e)) return;
  StoreString(ctx, ctx.args[1], ctx.args[2]);
}

// MGET key [key ...]
void MGetCommand(CommandContext& ctx) {
  ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argc() - 1));
  for (size_t i = 1; i < ctx.argc(); ++i) {
    Entry* e = ctx.db.FindForRead(ctx.args[i], ctx.now_ms);
    if (e == nullptr || !e->value().is_string()) {
      ctx.reply.Null();
    } else {
      ctx.reply.Bulk(e->value().string());
    }
  }
}

// MSET key value [key value ...]
void MSetCommand(CommandContext& ctx) {
  if (ctx.argc() % 2 == 0) {
    ctx.WrongArity();
    return;
  }
  for (size_t i = 1; i < ctx.argc(); i += 2) StoreString(ctx, ctx.args[i], ctx.args[i + 1]);
  ctx.reply.Ok();
}

// MSETNX key value [key value ...]
void MSetNxCommand(CommandContext& ctx) {
  if (ctx.argc() % 2 == 0) {
    ctx.WrongArity();
    return;
  }
  for (size_t i = 1; i < ctx.argc(); i += 2) {
    if (ctx.db.Find(ctx.args[i], ctx.now_ms) != nullptr) {
      ctx.reply.Integer(0);
      return;
    }
  }
  for (size_t i = 1; i < ctx.argc(); i += 2) StoreString(ctx, ctx.args[i], ctx.args[i + 1]);
  ctx.reply.Integer(1);
}

// Adds `increment` to the integer at `key` (0 when missing), keeping its
// deadline, and replies with the result.
void IncrementBy(CommandContext& ctx, int64_t increment) {
  std::string_view key = ctx.args[1];
  bool created;
  Entry* e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
  Value& value = e->value();
  int64_t current = 0;
  if (!created) {
    if (!value.is_string()) {
      ctx.reply.Error(errors::kWrongType);
      return;
    }
    if (!ParseInt64(value.string(), &current)) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
  }
  int64_t result;
  if (__builtin_add_overflow(current, increment, &result)) {
    ctx.reply.Error(errors::kOverflow);  // only reachable for an existing key
    return;
  }
  char digits[kInt64MaxChars];
  value.SetString(std::string_view(digits, FormatInt64(result, digits) - digits));
  ctx.KeyModified(key);
  ctx.reply.Integer(result);
}

// INCR key
void IncrCommand(CommandContext& ctx) { IncrementBy(ctx, 1); }

// DECR key
void DecrCommand(CommandContext& ctx) { IncrementBy(ctx, -1); }

// INCRBY key increment
void IncrByCommand(CommandContext& ctx) {
  int64_t increment;
  if (!ParseIntegerArg(ctx, ctx.args[2], &increment)) return;
  IncrementBy(ctx, increment);
}

// DECRBY key decrement
void DecrByCommand(CommandContext& ctx) {
  int64_t decrement;
  if (!ParseIntegerArg(ctx, ctx.args[2], &decrement)) return;
  if (decrement == std::numeric_limits<int64_t>::min()) {
    ctx.reply.Error(kDecrementOverflow);  // its negation does not fit
    return;
  }
  IncrementBy(ctx, -decrement);
}

// INCRBYFLOAT key increment
void IncrByFloatCommand(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  Entry* e;
  if (!LookupWrite(ctx, key, ValueType::kString, &e)) return;
  long double current = 0;
  long double increment;
  // The stored value is checked before the argument, as in Redis.
  if ((e != nullptr && !ParseLongDouble(e->value().string(), &current)) ||
      !ParseLongDouble(ctx.args[2], &increment)) {
    ctx.reply.Error(errors::kNotFloat);
    return;
  }
  long double result = current + increment;
  if (std::isnan(result) || std::isinf(result)) {
    ctx.reply.Error(kNanOrInfinity);
    return;
  }
  std::string text = FormatLongDoubleHuman(result);
  if (e == nullptr) {
    bool created;
    e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
  }
  e->value().SetString(text);  // the deadline stays
  ctx.KeyModified(key);
  ctx.reply.Bulk(text);
}

// True when a string of `length` bytes is within proto-max-bulk-len;
// otherwise replies with the size error. `length` is computed by callers
// without overflow (see WouldExceedLimit).
bool WithinStringLimit(CommandContext& ctx, uint64_t offset, uint64_t length) {
  const int64_t limit = ctx.server.config().proto_max_bulk_len;
  if (limit < 0 || length > static_cast<uint64_t>(limit) ||
      offset > static_cast<uint64_t>(limit) - length) {
    ctx.reply.Error(kStringTooLong);
    return false;
  }
  return true;
}

// Writes `data` at `offset` of the string in `value`, zero-padding any gap;
// the string grows as needed and never shrinks. Small results stay inline.
void WriteAt(Value& value, size_t offset, std::string_view data) {
  std::string_view old = value.string();
  const size_t new_len = std::max(old.size(), offset + data.size());
  if (new_len <= Value::kInlineCapacity) {
    char buffer[Value::kInlineCapacity];
    std::memcpy(buffer, old.data(), old.size());
    if (offset > old.size()) std::memset(buffer + old.size(), 0, offset - old.size());
    std::memcpy(buffer + offset, data.data(), data.size());
    value.SetString(std::string_view(buffer, new_len));
    return;
  }
  std::string& text = value.MutableString();
  if (text.size() < new_len) text.resize(new_len, '\0');
  std::memcpy(text.data() + offset, data.data(), data.size());
}

// APPEND key value
void AppendCommand(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  std::string_view suffix = ctx.args[2];
  bool created;
  Entry* e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
  if (!created) {
    if (!e->value().is_string()) {
      ctx.reply.Error(errors::kWrongType);
      return;
    }
    if (!WithinStringLimit(ctx, e->value().string().size(), suffix.size())) return;
  }
  WriteAt(e->value(), e->value().string().size(), suffix);
  ctx.KeyModified(key);
  ctx.reply.Integer(static_cast<int64_t>(e->value().string().size()));
}

// STRLEN key
void StrLenCommand(CommandContext& ctx) {
  Entry* e;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kString, &e)) return;
  ctx.reply.Integer(e == nullptr ? 0 : static_cast<int64_t>(e->value().string().size()));
}

// GETRANGE key start end   (also SUBSTR)
void GetRangeCommand(CommandContext& ctx) {
  int64_t start, end;
  if (!ParseIntegerArg(ctx, ctx.args[2], &start) || !ParseIntegerArg(ctx, ctx.args[3], &end)) {
    return;
  }
  Entry* e;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kString, &e)) return;
  std::string_view text = e == nullptr ? std::string_view() : e->value().string();
  const int64_t len = static_cast<int64_t>(text.size());
  // Both ends negative and crossed: empty, even where clamping both to 0
  // below would select the first byte.
  if (start < 0 && end < 0 && start > end) {
    ctx.reply.Bulk({});
    return;
  }
  // Negative indexes count from the end; both are then clamped into range.
  if (start < 0) start = std::max<int64_t>(0, len + start);
  if (end < 0) end = std::max<int64_t>(0, len + end);
  if (end >= len) end = len - 1;
  if (len == 0 || start > end) {
    ctx.reply.Bulk({});
  } else {
    ctx.reply.Bulk(text.substr(start, end - start + 1));
  }
}

// SETRANGE key offset value
void SetRangeCommand(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  std::string_view data = ctx.args[3];
  int64_t offset;
  if (!ParseIntegerArg(ctx, ctx.args[2], &offset)) return;
  if (offset < 0) {
    ctx.reply.Error(kOffsetOutOfRange);
    return;
  }
  Entry* e;
  if (!LookupWrite(ctx, key, ValueType::kString, &e)) return;
  if (data.empty()) {  // nothing to write: no key is created or changed
    ctx.reply.Integer(e == nullptr ? 0 : static_cast<int64_t>(e->value().string().size()));
    return;
  }
  if (!WithinStringLimit(ctx, static_cast<uint64_t>(offset), data.size())) return;
  if (e == nullptr) {
    bool created;
    e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
  }
  WriteAt(e->value(), static_cast<size_t>(offset), data);
  ctx.KeyModified(key);
  ctx.reply.Integer(static_cast<int64_t>(e->value().string().size()));
}

// Emits one IDX match of LCS: [[a_start, a_end], [b_start, b_end] (, len)].
void ReplyLcsMatch(CommandContext& ctx, uint32_t a_start, uint32_t a_end, uint32_t b_start,
                   uint32_t b_end, bool with_length) {
  ctx.reply.ArrayHeader(with_length ? 3 : 2);
  ctx.reply.ArrayHeader(2);
  ctx.reply.Integer(a_start);
  ctx.reply.Integer(a_end);
  ctx.reply.ArrayHeader(2);
  ctx.reply.Integer(b_start);
  ctx.reply.Integer(b_end);
  if (with_length) ctx.reply.Integer(a_end - a_start + 1);
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
void LcsCommand(CommandContext& ctx) {
  Entry* entry_a = ctx.db.FindForRead(ctx.args[1], ctx.now_ms);
  Entry* entry_b = ctx.db.FindForRead(ctx.args[2], ctx.now_ms);
  if ((entry_a != nullptr && !entry_a->value().is_string()) ||
      (entry_b != nullptr && !entry_b->value().is_string())) {
    ctx.reply.Error(kLcsNotStrings);
    return;
  }
  bool want_idx = false, want_len = false, with_match_len = false;
  int64_t min_match_len = 0;
  for (size_t i = 3; i < ctx.argc(); ++i) {
    std::string_view opt = ctx.args[i];
    if (IsOption(opt, "idx")) {
      want_idx = true;
    } else if (IsOption(opt, "len")) {
      want_len = true;
    } else if (IsOption(opt, "withmatchlen")) {
      with_match_len = true;
    } else if (IsOption(opt, "minmatchlen") && i + 1 < ctx.argc()) {
      if (!ParseIntegerArg(ctx, ctx.args[++i], &min_match_len)) return;
      min_match_len = std::max<int64_t>(min_match_len, 0);
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (want_idx && want_len) {
    ctx.reply.Error(kLcsLenAndIdx);
    return;
  }
  std::string_view a = entry_a ? entry_a->value().string() : std::string_view();
  std::string_view b = entry_b ? entry_b->value().string() : std::string_view();
  // The table holds (|a|+1)*(|b|+1) uint32 cells; like Redis, refuse when
  // that transient memory would exceed proto-max-bulk-len.
  const uint64_t cells = (a.size() + 1) * static_cast<uint64_t>(b.size() + 1);
  const uint64_t limit = static_cast<uint64_t>(ctx.server.config().proto_max_bulk_len);
  if (cells > limit / sizeof(uint32_t)) {
    ctx.reply.Error(kLcsTooBig);
    return;
  }
  const size_t width = b.size() + 1;
  std::vector<uint32_t> table(cells, 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return table[i * width + j]; };
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  const uint32_t lcs_len = at(a.size(), b.size());
  if (want_len) {
    ctx.reply.Integer(lcs_len);
    return;
  }
  // Walk back from the end, collecting the common subsequence and, for IDX,
  // the maximal runs that are contiguous in both strings (last run first).
  std::string common(lcs_len, '\0');
  size_t fill = lcs_len;
  size_t deferred = 0;
  int64_t emitted = 0;
  if (want_idx) {
    ctx.reply.MapHeader(2);
    ctx.reply.Bulk("matches");
    deferred = ctx.reply.BeginDeferred();
  }
  const auto no_run = static_cast<uint32_t>(a.size());
  uint32_t a_start = no_run, a_end = 0, b_start = 0, b_end = 0;
  size_t i = a.size(), j = b.size();
  while (i > 0 && j > 0) {
    bool close_run = false;
    if (a[i - 1] == b[j - 1]) {
      common[--fill] = a[i - 1];
      if (a_start == no_run) {
        a_start = a_end = static_cast<uint32_t>(i - 1);
        b_start = b_end = static_cast<uint32_t>(j - 1);
      } else {
        --a_start;  // consecutive matches always extend the run backwards
        --b_start;
      }
      close_run = a_start == 0 || b_start == 0;
      --i;
      --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      close_run = a_start != no_run;
    }
    if (close_run) {
      uint32_t run_len = a_end - a_start + 1;
      if (want_idx && (min_match_len == 0 || run_len >= min_match_len)) {
        ReplyLcsMatch(ctx, a_start, a_end, b_start, b_end, with_match_len);
        ++emitted;
      }
      a_start = no_run;
    }
  }
  if (want_idx) {
    ctx.reply.EndDeferredArray(deferred, emitted);
    ctx.reply.Bulk("len");
    ctx.reply.Integer(lcs_len);
  } else {
    ctx.reply.Bulk(common);
  }
}

// SET's key flags for one request: with the GET option SET reads the old
// value (RW access update), without it the value is simply overwritten
// (OW update). Like Redis, GET is recognised anywhere after the value.
uint32_t SetKeyFlags(std::span<const std::string_view> args) {
  for (size_t i = 3; i < args.size(); ++i) {
    // Redis compares C strings: "get" followed by a NUL byte also counts.
    std::string_view word = args[i].substr(0, args[i].find('\0'));
    if (EqualsIgnoreCase(word, "get")) return kKeyRW | kKeyAccess | kKeyUpdate;
  }
  return kKeyOW | kKeyUpdate;
}

}  // namespace

void RegisterStringCommands(CommandTable& table) {
  constexpr uint32_t kRead = kCmdReadOnly;
  constexpr uint32_t kWrite = kCmdWrite;
  constexpr uint32_t kGrow = kCmdWrite | kCmdDenyOom;
  // clang-format off
  table.Add({.name = "get", .arity = 2, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = GetCommand, .group = "string", .summary = "Get the value of a key", .since = "1.0.0"});
  table.Add({.name = "set", .arity = -3, .flags = kGrow, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate | kKeyVariableFlags, "RW and ACCESS due to the optional `GET` argument")}, .variable_key_flags = SetKeyFlags, .handler = SetCommand, .group = "string", .summary = "Set the string value of a key", .since = "1.0.0"});
  table.Add({.name = "setex", .arity = 4, .flags = kGrow, .key_specs = {KeyAt(1, kKeyOW | kKeyUpdate)}, .handler = SetExCommand, .group = "string", .summary = "Set the value and expiration of a key", .since = "2.0.0"});
  table.Add({.name = "psetex", .arity = 4, .flags = kGrow, .key_specs = {KeyAt(1, kKeyOW | kKeyUpdate)}, .handler = PSetExCommand, .group = "string", .summary = "Set the value and expiration in milliseconds of a key", .since = "2.6.0"});
  table.Add({.name = "setnx", .arity = 3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyOW | kKeyInsert)}, .handler = SetNxCommand, .group = "string", .summary = "Set the value of a key, only if the key does not exist", .since = "1.0.0"});
  table.Add({.name = "getex", .arity = -2, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate, "RW and UPDATE because it changes the TTL")}, .handler = GetExCommand, .group = "string", .summary = "Get the value of a key and optionally set its expiration", .since = "6.2.0"});
  table.Add({.name = "getdel", .arity = 2, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = GetDelCommand, .group = "string", .summary = "Get the value of a key and delete the key", .since = "6.2.0"});
  table.Add({.name = "getset", .arity = 3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = GetSetCommand, .group = "string", .summary = "Set the string value of a key and return its old value", .since = "1.0.0"});
  table.Add({.name = "mget", .arity = -2, .flags = kRead | kCmdFast, .key_specs = {KeyRange(1, -1, 1, kKeyRO | kKeyAccess)}, .handler = MGetCommand, .group = "string", .summary = "Get the values of all the given keys", .since = "1.0.0", .tips = "request_policy:multi_shard"});
  table.Add({.name = "mset", .arity = -3, .flags = kGrow, .key_specs = {KeyRange(1, -1, 2, kKeyOW | kKeyUpdate)}, .handler = MSetCommand, .group = "string", .summary = "Set multiple keys to multiple values", .since = "1.0.1", .tips = "request_policy:multi_shard response_policy:all_succeeded"});
  table.Add({.name = "msetnx", .arity = -3, .flags = kGrow, .key_specs = {KeyRange(1, -1, 2, kKeyOW | kKeyInsert)}, .handler = MSetNxCommand, .group = "string", .summary = "Set multiple keys to multiple values, only if none of the keys exist", .since = "1.0.1", .tips = "request_policy:multi_shard response_policy:agg_min"});
  table.Add({.name = "incr", .arity = 2, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = IncrCommand, .group = "string", .summary = "Increment the integer value of a key by one", .since = "1.0.0"});
  table.Add({.name = "decr", .arity = 2, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = DecrCommand, .group = "string", .summary = "Decrement the integer value of a key by one", .since = "1.0.0"});
  table.Add({.name = "incrby", .arity = 3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = IncrByCommand, .group = "string", .summary = "Increment the integer value of a key by the given amount", .since = "1.0.0"});
  table.Add({.name = "decrby", .arity = 3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = DecrByCommand, .group = "string", .summary = "Decrement the integer value of a key by the given number", .since = "1.0.0"});
  table.Add({.name = "incrbyfloat", .arity = 3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = IncrByFloatCommand, .group = "string", .summary = "Increment the float value of a key by the given amount", .since = "2.6.0"});
  table.Add({.name = "append", .arity = 3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyInsert)}, .handler = AppendCommand, .group = "string", .summary = "Append a value to a key", .since = "2.0.0"});
  table.Add({.name = "strlen", .arity = 2, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = StrLenCommand, .group = "string", .summary = "Get the length of the value stored in a key", .since = "2.2.0"});
  table.Add({.name = "getrange", .arity = 4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = GetRangeCommand, .group = "string", .summary = "Get a substring of the string stored at a key", .since = "2.4.0"});
  table.Add({.name = "substr", .arity = 4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = GetRangeCommand, .group = "string", .summary = "Get a substring of the string stored at a key", .since = "1.0.0"});
  table.Add({.name = "setrange", .arity = 4, .flags = kGrow, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = SetRangeCommand, .group = "string", .summary = "Overwrite part of a string at key starting at the specified offset", .since = "2.2.0"});
  table.Add({.name = "lcs", .arity = -3, .flags = kRead, .key_specs = {KeyRange(1, 1, 1, kKeyRO | kKeyAccess)}, .handler = LcsCommand, .group = "string", .summary = "Find longest common substring", .since = "7.0.0"});
  // clang-format on
}

}  // namespace understudy::server

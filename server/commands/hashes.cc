// Hash commands: HSET and friends, counters, whole-hash reads, HRANDFIELD
// and HSCAN, with Redis 7.0's replies and error texts. The data type itself
// (encodings, conversion, sampling) lives in storage/hash_value.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/glob.h"
#include "server/commands/families.h"
#include "server/commands/helpers.h"
#include "storage/hash_value.h"

namespace understudy::server {
namespace {

using storage::Entry;
using storage::HashIncrStatus;
using storage::HashPair;
using storage::Value;
using storage::ValueType;

constexpr std::string_view kHashValueNotInteger = "ERR hash value is not an integer";
constexpr std::string_view kHashValueNotFloat = "ERR hash value is not a float";
constexpr std::string_view kIncrementNotFinite = "ERR value is NaN or Infinity";
constexpr std::string_view kResultNotFinite = "ERR increment would produce NaN or Infinity";

// HRANDFIELD with a negative count streams its reply in batches of this
// many draws, so a huge count costs output buffer (as in Redis) but no
// extra copy of the whole answer.
constexpr uint64_t kRandomBatch = 1024;

// The current hash-max-listpack-* settings.
storage::HashLimits Limits(CommandContext& ctx) {
  const Config& config = ctx.server.config();
  return {.max_listpack_entries =
              static_cast<size_t>(std::max<int64_t>(0, config.hash_max_listpack_entries)),
          .max_listpack_value =
              static_cast<size_t>(std::max<int64_t>(0, config.hash_max_listpack_value))};
}

// Finds the hash at `key` for a command that adds to it, creating an empty
// one when the key is missing (the command then always stores a field).
// Returns nullptr after replying WRONGTYPE.
Entry* FindOrCreateHash(CommandContext& ctx, std::string_view key) {
  Entry* e = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kHash, &e)) return nullptr;
  if (e == nullptr) {
    bool created = false;
    e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
    storage::HashInit(e->value());
  }
  return e;
}

// Deletes `key` if its hash lost its last field.
void DeleteIfEmpty(CommandContext& ctx, std::string_view key, const Value& hash) {
  if (storage::HashSize(hash) == 0) ctx.db.Delete(key, ctx.now_ms);
}

// The common part of HSET and HMSET, which differ only in their reply.
// Returns the number of fields created, or -1 after an error reply.
int64_t SetPairs(CommandContext& ctx) {
  if (ctx.argc() % 2 != 0) {
    ctx.WrongArity();
    return -1;
  }
  Entry* e = FindOrCreateHash(ctx, ctx.args[1]);
  if (e == nullptr) return -1;
  const storage::HashLimits limits = Limits(ctx);
  int64_t created = 0;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    created += storage::HashSet(e->value(), ctx.args[i], ctx.args[i + 1], limits) ? 1 : 0;
  }
  ctx.KeyModified(ctx.args[1]);
  return created;
}

// HSET key field value [field value ...]
void HSetCommand(CommandContext& ctx) {
  int64_t created = SetPairs(ctx);
  if (created >= 0) ctx.reply.Integer(created);
}

// HMSET key field value [field value ...]
void HMSetCommand(CommandContext& ctx) {
  if (SetPairs(ctx) >= 0) ctx.reply.Ok();
}

// HSETNX key field value
void HSetNxCommand(CommandContext& ctx) {
  Entry* e = FindOrCreateHash(ctx, ctx.args[1]);
  if (e == nullptr) return;
  if (storage::HashExists(e->value(), ctx.args[2])) {
    ctx.reply.Integer(0);
    return;
  }
  storage::HashSet(e->value(), ctx.args[2], ctx.args[3], Limits(ctx));
  ctx.KeyModified(ctx.args[1]);
  ctx.reply.Integer(1);
}

// HGET key field
void HGetCommand(CommandContext& ctx) {
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  std::optional<std::string_view> value;
  if (e != nullptr) value = storage::HashGet(e->value(), ctx.args[2]);
  if (value) {
    ctx.reply.Bulk(*value);
  } else {
    ctx.reply.Null();
  }
}

// HMGET key field [field ...]
void HMGetCommand(CommandContext& ctx) {
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argc() - 2));
  for (size_t i = 2; i < ctx.argc(); ++i) {
    std::optional<std::string_view> value;
    if (e != nullptr) value = storage::HashGet(e->value(), ctx.args[i]);
    if (value) {
      ctx.reply.Bulk(*value);
    } else {
      ctx.reply.Null();
    }
  }
}

// HDEL key field [field ...]
// Deletes the key with its last field.
void HDelCommand(CommandContext& ctx) {
  Entry* e = nullptr;
  if (!LookupWrite(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  int64_t deleted = 0;
  if (e != nullptr) {
    for (size_t i = 2; i < ctx.argc(); ++i) {
      if (storage::HashDelete(e->value(), ctx.args[i])) ++deleted;
    }
    if (deleted > 0) {
      DeleteIfEmpty(ctx, ctx.args[1], e->value());
      ctx.KeyModified(ctx.args[1]);
    }
  }
  ctx.reply.Integer(deleted);
}

// HEXISTS key field
void HExistsCommand(CommandContext& ctx) {
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  ctx.reply.Integer(e != nullptr && storage::HashExists(e->value(), ctx.args[2]) ? 1 : 0);
}

// HLEN key
void HLenCommand(CommandContext& ctx) {
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  ctx.reply.Integer(e == nullptr ? 0 : static_cast<int64_t>(storage::HashSize(e->value())));
}

// HSTRLEN key field
void HStrLenCommand(CommandContext& ctx) {
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  std::optional<std::string_view> value;
  if (e != nullptr) value = storage::HashGet(e->value(), ctx.args[2]);
  ctx.reply.Integer(value ? static_cast<int64_t>(value->size()) : 0);
}

// HINCRBY key field increment
void HIncrByCommand(CommandContext& ctx) {
  int64_t delta = 0;
  if (!ParseIntegerArg(ctx, ctx.args[3], &delta)) return;
  Entry* e = FindOrCreateHash(ctx, ctx.args[1]);
  if (e == nullptr) return;
  int64_t result = 0;
  switch (storage::HashIncrBy(e->value(), ctx.args[2], delta, Limits(ctx), &result)) {
    case HashIncrStatus::kOk:
      ctx.KeyModified(ctx.args[1]);
      ctx.reply.Integer(result);
      return;
    case HashIncrStatus::kNotANumber:
      ctx.reply.Error(kHashValueNotInteger);
      break;
    case HashIncrStatus::kOverflow:
    case HashIncrStatus::kNotFinite:
      ctx.reply.Error(errors::kOverflow);
      break;
  }
  // Only an existing field can fail, so the hash was not created here;
  // this is a safety net against leaving an empty hash behind.
  DeleteIfEmpty(ctx, ctx.args[1], e->value());
}

// HINCRBYFLOAT key field increment
void HIncrByFloatCommand(CommandContext& ctx) {
  long double delta = 0;
  if (!ParseLongDouble(ctx.args[3], &delta)) {
    ctx.reply.Error(errors::kNotFloat);
    return;
  }
  if (std::isnan(delta) || std::isinf(delta)) {
    ctx.reply.Error(kIncrementNotFinite);
    return;
  }
  Entry* e = FindOrCreateHash(ctx, ctx.args[1]);
  if (e == nullptr) return;
  std::string result;
  switch (storage::HashIncrByFloat(e->value(), ctx.args[2], delta, Limits(ctx), &result)) {
    case HashIncrStatus::kOk:
      ctx.KeyModified(ctx.args[1]);
      ctx.reply.Bulk(result);
      return;
    case HashIncrStatus::kNotANumber:
      ctx.reply.Error(kHashValueNotFloat);
      break;
    case HashIncrStatus::kOverflow:
    case HashIncrStatus::kNotFinite:
      ctx.reply.Error(kResultNotFinite);
      break;
  }
  DeleteIfEmpty(ctx, ctx.args[1], e->value());
}

// What HGETALL, HKEYS and HVALS include of each pair.
enum class PairPart { kBoth, kField, kValue };

// HGETALL / HKEYS / HVALS: the whole hash in its iteration order (insertion
// order for a listpack). HGETALL is a map under RESP3; a missing key gives
// an empty map or array.
void ReplyWholeHash(CommandContext& ctx, PairPart part) {
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  int64_t size = e == nullptr ? 0 : static_cast<int64_t>(storage::HashSize(e->value()));
  if (part == PairPart::kBoth) {
    ctx.reply.MapHeader(size);
  } else {
    ctx.reply.ArrayHeader(size);
  }
  if (e == nullptr) return;
  storage::HashForEach(e->value(), [&ctx, part](std::string_view field, std::string_view value) {
    if (part != PairPart::kValue) ctx.reply.Bulk(field);
    if (part != PairPart::kField) ctx.reply.Bulk(value);
  });
}

// HGETALL key
void HGetAllCommand(CommandContext& ctx) { ReplyWholeHash(ctx, PairPart::kBoth); }

// HKEYS key
void HKeysCommand(CommandContext& ctx) { ReplyWholeHash(ctx, PairPart::kField); }

// HVALS key
void HValsCommand(CommandContext& ctx) { ReplyWholeHash(ctx, PairPart::kValue); }

// Writes HRANDFIELD's items: fields, or with values a flat field/value list
// under RESP2 and one [field, value] array per pair under RESP3 (Redis 7.0).
void ReplyRandomPairs(CommandContext& ctx, const std::vector<HashPair>& pairs, bool with_values) {
  for (const HashPair& pair : pairs) {
    if (with_values && ctx.reply.resp3()) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(pair.field);
    if (with_values) ctx.reply.Bulk(pair.value);
  }
}

// HRANDFIELD key count [WITHVALUES]
// count >= 0: distinct fields (all of them, in hash order, when count is at
// least the size); count < 0: -count independent draws.
void HRandFieldWithCount(CommandContext& ctx) {
  int64_t count = 0;
  bool with_values = false;
  if (!ParseRandomCount(ctx, "withvalues", &count, &with_values)) return;
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  if (e == nullptr || count == 0) {
    ctx.reply.EmptyArray();
    return;
  }
  const Value& hash = e->value();
  std::mt19937_64& rng = ctx.db.rng();
  // Under RESP3 each pair is one array item; under RESP2 it is two.
  const int64_t per_pair = with_values && !ctx.reply.resp3() ? 2 : 1;
  std::vector<HashPair> pairs;
  if (count > 0) {
    storage::HashRandomPairs(hash, static_cast<uint64_t>(count), /*distinct=*/true, rng, &pairs);
    ctx.reply.ArrayHeader(static_cast<int64_t>(pairs.size()) * per_pair);
    ReplyRandomPairs(ctx, pairs, with_values);
    return;
  }
  uint64_t draws = static_cast<uint64_t>(-count);
  ctx.reply.ArrayHeader(static_cast<int64_t>(draws) * per_pair);
  while (draws > 0) {
    uint64_t batch = std::min(draws, kRandomBatch);
    pairs.clear();
    storage::HashRandomPairs(hash, batch, /*distinct=*/false, rng, &pairs);
    ReplyRandomPairs(ctx, pairs, with_values);
    draws -= batch;
  }
}

// HRANDFIELD key [count [WITHVALUES]]
void HRandFieldCommand(CommandContext& ctx) {
  if (ctx.argc() >= 3) {
    HRandFieldWithCount(ctx);
    return;
  }
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kHash, &e)) return;
  if (e == nullptr) {
    ctx.reply.Null();
    return;
  }
  std::mt19937_64& rng = ctx.db.rng();
  ctx.reply.Bulk(storage::HashRandomPair(e->value(), rng).field);
}

// HSCAN key cursor [MATCH pattern] [COUNT count]
// A listpack hash is returned whole with cursor 0. For a hashtable, COUNT
// bounds the items (fields plus values) collected per call, and at most
// COUNT*10 buckets are visited; MATCH filters the fields afterwards. As in
// Redis, the options are checked only once the key is known to be a hash.
void HScanCommand(CommandContext& ctx) {
  uint64_t cursor = 0;
  Entry* e = nullptr;
  ScanOptions options;
  if (!BeginKeyScan(ctx, ValueType::kHash, &cursor, &e, &options)) return;
  const int64_t count = options.count;
  const std::string_view pattern = options.pattern;
  const bool use_pattern = options.use_pattern;

  // The hash is not modified during this command, so views stay valid.
  std::vector<HashPair> pairs;
  auto collect = [&pairs](std::string_view field, std::string_view value) {
    pairs.push_back({field, value});
  };
  const Value& hash = e->value();
  if (hash.is_listpack()) {
    cursor = storage::HashScan(hash, cursor, collect);
  } else {
    int64_t max_iterations = count > std::numeric_limits<int64_t>::max() / 10
                                 ? std::numeric_limits<int64_t>::max()
                                 : count * 10;
    do {
      cursor = storage::HashScan(hash, cursor, collect);
    } while (cursor != 0 && max_iterations-- > 0 &&
             pairs.size() * 2 < static_cast<uint64_t>(count));
  }
  if (use_pattern) {
    std::erase_if(pairs, [pattern](const HashPair& p) { return !GlobMatch(pattern, p.field); });
  }

  char cursor_text[24];
  char* cursor_end = std::to_chars(cursor_text, cursor_text + sizeof(cursor_text), cursor).ptr;
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::string_view(cursor_text, cursor_end - cursor_text));
  ctx.reply.ArrayHeader(static_cast<int64_t>(pairs.size()) * 2);
  for (const HashPair& pair : pairs) {
    ctx.reply.Bulk(pair.field);
    ctx.reply.Bulk(pair.value);
  }
}

}  // namespace

void RegisterHashCommands(CommandTable& table) {
  constexpr uint32_t kRead = kCmdReadOnly;
  constexpr uint32_t kGrow = kCmdWrite | kCmdDenyOom;
  // clang-format off
  table.Add({.name = "hset", .arity = -4, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = HSetCommand, .group = "hash", .summary = "Set the string value of a hash field", .since = "2.0.0", .complexity = "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs."});
  table.Add({.name = "hsetnx", .arity = 4, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyInsert)}, .handler = HSetNxCommand, .group = "hash", .summary = "Set the value of a hash field, only if the field does not exist", .since = "2.0.0", .complexity = "O(1)"});
  table.Add({.name = "hmset", .arity = -4, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = HMSetCommand, .group = "hash", .summary = "Set multiple hash fields to multiple values", .since = "2.0.0", .complexity = "O(N) where N is the number of fields being set."});
  table.Add({.name = "hget", .arity = 3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = HGetCommand, .group = "hash", .summary = "Get the value of a hash field", .since = "2.0.0", .complexity = "O(1)"});
  table.Add({.name = "hmget", .arity = -3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = HMGetCommand, .group = "hash", .summary = "Get the values of all the given hash fields", .since = "2.0.0", .complexity = "O(N) where N is the number of fields being requested."});
  table.Add({.name = "hgetall", .arity = 2, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = HGetAllCommand, .group = "hash", .summary = "Get all the fields and values in a hash", .since = "2.0.0", .complexity = "O(N) where N is the size of the hash.", .tips = "nondeterministic_output_order"});
  table.Add({.name = "hdel", .arity = -3, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyDelete)}, .handler = HDelCommand, .group = "hash", .summary = "Delete one or more hash fields", .since = "2.0.0", .complexity = "O(N) where N is the number of fields to be removed."});
  table.Add({.name = "hexists", .arity = 3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = HExistsCommand, .group = "hash", .summary = "Determine if a hash field exists", .since = "2.0.0", .complexity = "O(1)"});
  table.Add({.name = "hlen", .arity = 2, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = HLenCommand, .group = "hash", .summary = "Get the number of fields in a hash", .since = "2.0.0", .complexity = "O(1)"});
  table.Add({.name = "hstrlen", .arity = 3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = HStrLenCommand, .group = "hash", .summary = "Get the length of the value of a hash field", .since = "3.2.0", .complexity = "O(1)"});
  table.Add({.name = "hincrby", .arity = 4, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = HIncrByCommand, .group = "hash", .summary = "Increment the integer value of a hash field by the given number", .since = "2.0.0", .complexity = "O(1)"});
  table.Add({.name = "hincrbyfloat", .arity = 4, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = HIncrByFloatCommand, .group = "hash", .summary = "Increment the float value of a hash field by the given amount", .since = "2.6.0", .complexity = "O(1)"});
  table.Add({.name = "hkeys", .arity = 2, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = HKeysCommand, .group = "hash", .summary = "Get all the fields in a hash", .since = "2.0.0", .complexity = "O(N) where N is the size of the hash.", .tips = "nondeterministic_output_order"});
  table.Add({.name = "hvals", .arity = 2, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = HValsCommand, .group = "hash", .summary = "Get all the values in a hash", .since = "2.0.0", .complexity = "O(N) where N is the size of the hash.", .tips = "nondeterministic_output_order"});
  table.Add({.name = "hrandfield", .arity = -2, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = HRandFieldCommand, .group = "hash", .summary = "Get one or multiple random fields from a hash", .since = "6.2.0", .complexity = "O(N) where N is the number of fields returned", .tips = "nondeterministic_output"});
  table.Add({.name = "hscan", .arity = -3, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = HScanCommand, .group = "hash", .summary = "Incrementally iterate hash fields and associated values", .since = "2.8.0", .complexity = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", .tips = "nondeterministic_output"});
  // clang-format on
}

}  // namespace understudy::server

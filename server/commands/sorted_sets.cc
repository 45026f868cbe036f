// Sorted-set commands: single-member operations, pops, random members,
// ZSCAN, and the registration of the whole family (the range commands are
// in sorted_set_ranges.cc, the set algebra in sorted_set_algebra.cc).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/glob.h"
#include "server/commands/families.h"
#include "server/commands/helpers.h"
#include "server/commands/sorted_set_support.h"
#include "storage/zset_value.h"

namespace understudy::server {
namespace zset {

using storage::Entry;
using storage::ScoredMember;
using storage::ValueType;
using storage::ZSetItem;

void ReplyScore(CommandContext& ctx, double score) {
  char text[kDoubleMaxChars];
  size_t length = static_cast<size_t>(FormatDouble(score, text) - text);
  if (ctx.reply.resp3()) {
    std::string* out = ctx.reply.buffer();
    out->push_back(',');
    out->append(text, length);
    out->append("\r\n", 2);
  } else {
    ctx.reply.Bulk(std::string_view(text, length));
  }
}

void ReplyItems(CommandContext& ctx, const std::vector<ZSetItem>& items, bool withscores) {
  const bool nested = withscores && ctx.reply.resp3();
  const int64_t count = static_cast<int64_t>(items.size());
  ctx.reply.ArrayHeader(withscores && !nested ? count * 2 : count);
  for (const ZSetItem& item : items) {
    if (nested) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(item.member);
    if (withscores) ReplyScore(ctx, item.score);
  }
}

bool ParseScoreArg(CommandContext& ctx, std::string_view arg, double* out) {
  if (ParseDouble(arg, out)) return true;
  ctx.reply.Error(errors::kNotFloat);
  return false;
}

void FinishWrite(CommandContext& ctx, std::string_view key, Entry* entry) {
  if (storage::ZSetSize(entry->value()) == 0) ctx.db.Delete(key, ctx.now_ms);
  ctx.KeyModified(key);
}

void StoreResult(CommandContext& ctx, std::string_view destination,
                 std::vector<ScoredMember>&& members) {
  if (members.empty()) {
    if (ctx.db.Delete(destination, ctx.now_ms)) ctx.KeyModified(destination);
    ctx.reply.Integer(0);
    return;
  }
  const int64_t count = static_cast<int64_t>(members.size());
  bool created = false;
  Entry* entry = ctx.db.FindOrCreate(destination, ctx.now_ms, &created);
  if (entry->has_expire()) ctx.db.ClearExpire(entry);
  storage::ZSetAssign(entry->value(), std::move(members), LimitsOf(ctx));
  ctx.KeyModified(destination);
  ctx.KeyReady(destination);
  ctx.reply.Integer(count);
}

}  // namespace zset

namespace {

using storage::Entry;
using storage::ScoredMember;
using storage::ValueType;
using storage::ZSetItem;
using zset::ReplyItems;
using zset::ReplyScore;

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
// ZINCRBY shares it with `incr` set; like Redis, it then still reads
// options first, so "ZINCRBY key nx member" is a syntax error.
void ZAddGeneric(CommandContext& ctx, bool incr_command) {
  uint32_t flags = incr_command ? uint32_t{storage::kZAddIncr} : 0u;
  bool ch = false;
  size_t score_index = 2;
  for (; score_index < ctx.argc(); ++score_index) {
    std::string_view opt = ctx.args[score_index];
    if (IsOption(opt, "nx")) {
      flags |= storage::kZAddNx;
    } else if (IsOption(opt, "xx")) {
      flags |= storage::kZAddXx;
    } else if (IsOption(opt, "ch")) {
      ch = true;
    } else if (IsOption(opt, "incr")) {
      flags |= storage::kZAddIncr;
    } else if (IsOption(opt, "gt")) {
      flags |= storage::kZAddGt;
    } else if (IsOption(opt, "lt")) {
      flags |= storage::kZAddLt;
    } else {
      break;
    }
  }
  const bool nx = flags & storage::kZAddNx, xx = flags & storage::kZAddXx;
  const bool gt = flags & storage::kZAddGt, lt = flags & storage::kZAddLt;
  const bool incr = flags & storage::kZAddIncr;
  size_t elements = ctx.argc() - score_index;
  if (elements == 0 || elements % 2 != 0) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  elements /= 2;
  if (nx && xx) {
    ctx.reply.Error("ERR XX and NX options at the same time are not compatible");
    return;
  }
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    ctx.reply.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
    return;
  }
  if (incr && elements > 1) {
    ctx.reply.Error("ERR INCR option supports a single increment-element pair");
    return;
  }
  // Scores are all parsed before anything changes, as in Redis.
  double few_scores[8];
  std::vector<double> many_scores;
  double* scores = few_scores;
  if (elements > std::size(few_scores)) {
    many_scores.resize(elements);
    scores = many_scores.data();
  }
  for (size_t j = 0; j < elements; ++j) {
    if (!zset::ParseScoreArg(ctx, ctx.args[score_index + j * 2], &scores[j])) return;
  }

  std::string_view key = ctx.args[1];
  Entry* entry = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kZSet, &entry)) return;
  const storage::ZSetLimits limits = zset::LimitsOf(ctx);
  int64_t added = 0, updated = 0, processed = 0;
  double score = 0;
  if (entry == nullptr && !xx) {
    bool created = false;
    entry = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
    storage::ZSetInit(entry->value(), ctx.args[score_index + 1], limits);
  }
  bool nan_error = false;
  for (size_t j = 0; entry != nullptr && j < elements; ++j) {
    double new_score = 0;
    storage::ZAddOutcome outcome = storage::ZSetAdd(
        entry->value(), ctx.args[score_index + 1 + j * 2], scores[j], flags, limits, &new_score);
    if (outcome == storage::ZAddOutcome::kNaN) {
      nan_error = true;
      break;
    }
    if (outcome == storage::ZAddOutcome::kAdded) ++added;
    if (outcome == storage::ZAddOutcome::kUpdated) ++updated;
    if (outcome != storage::ZAddOutcome::kSkipped) {
      ++processed;
      score = new_score;
    }
  }
  if (added > 0 || updated > 0) ctx.KeyModified(key);
  if (added > 0) {
    storage::ZSetShrinkToFit(entry->value());
    ctx.KeyReady(key);
  }
  if (nan_error) {
    ctx.reply.Error("ERR resulting score is not a number (NaN)");
  } else if (incr) {
    if (processed > 0) {
      ReplyScore(ctx, score);
    } else {
      ctx.reply.Null();
    }
  } else {
    ctx.reply.Integer(ch ? added + updated : added);
  }
}

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
void ZAddCommand(CommandContext& ctx) { ZAddGeneric(ctx, false); }

// ZINCRBY key increment member
void ZIncrByCommand(CommandContext& ctx) { ZAddGeneric(ctx, true); }

// ZREM key member [member ...]
void ZRemCommand(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  Entry* entry = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kZSet, &entry)) return;
  int64_t removed = 0;
  if (entry != nullptr) {
    for (size_t i = 2; i < ctx.argc(); ++i) {
      if (storage::ZSetRemove(entry->value(), ctx.args[i])) ++removed;
      if (storage::ZSetSize(entry->value()) == 0) break;
    }
    if (removed > 0) zset::FinishWrite(ctx, key, entry);
  }
  ctx.reply.Integer(removed);
}

// ZSCORE key member
void ZScoreCommand(CommandContext& ctx) {
  Entry* entry = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kZSet, &entry)) return;
  std::optional<double> score;
  if (entry != nullptr) score = storage::ZSetScore(entry->value(), ctx.args[2]);
  if (score) {
    ReplyScore(ctx, *score);
  } else {
    ctx.reply.Null();
  }
}

// ZMSCORE key member [member ...]
void ZMScoreCommand(CommandContext& ctx) {
  Entry* entry = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kZSet, &entry)) return;
  ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argc() - 2));
  for (size_t i = 2; i < ctx.argc(); ++i) {
    std::optional<double> score;
    if (entry != nullptr) score = storage::ZSetScore(entry->value(), ctx.args[i]);
    if (score) {
      ReplyScore(ctx, *score);
    } else {
      ctx.reply.Null();
    }
  }
}

// ZCARD key
void ZCardCommand(CommandContext& ctx) {
  Entry* entry = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kZSet, &entry)) return;
  ctx.reply.Integer(entry == nullptr ? 0 : static_cast<int64_t>(storage::ZSetSize(entry->value())));
}

void ZRankGeneric(CommandContext& ctx, bool reverse) {
  Entry* entry = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kZSet, &entry)) return;
  std::optional<uint64_t> rank;
  if (entry != nullptr) rank = storage::ZSetRank(entry->value(), ctx.args[2], reverse);
  if (rank) {
    ctx.reply.Integer(static_cast<int64_t>(*rank));
  } else {
    ctx.reply.Null();
  }
}

// ZRANK key member
void ZRankCommand(CommandContext& ctx) { ZRankGeneric(ctx, false); }

// ZREVRANK key member
void ZRevRankCommand(CommandContext& ctx) { ZRankGeneric(ctx, true); }

// Pops from the first non-empty key of `keys` and replies, as Redis's
// genericZpopCommand: `count` < 0 is a plain single pop; `emit_key` prefixes
// the key (ZMPOP's [key, [[member, score]...]] form, always nested);
// otherwise a flat [member, score, ...] array, or nested pairs when
// `nested`. No key: a null array when `null_when_empty`, else empty array.
void PopAndReply(CommandContext& ctx, std::span<const std::string_view> keys, bool from_max,
                 int64_t count, bool emit_key, bool nested, bool null_when_empty) {
  Entry* entry = nullptr;
  std::string_view key;
  for (std::string_view candidate : keys) {
    if (!LookupWrite(ctx, candidate, ValueType::kZSet, &entry)) return;
    if (entry != nullptr) {
      key = candidate;
      break;
    }
  }
  if (entry == nullptr) {
    if (null_when_empty) {
      ctx.reply.NullArray();
    } else {
      ctx.reply.EmptyArray();
    }
    return;
  }
  if (count == 0) {
    ctx.reply.EmptyArray();
    return;
  }
  // Reply from views of the members, then remove them (what ZSetPop does,
  // without copying the members out).
  storage::Value& value = entry->value();
  const uint64_t size = storage::ZSetSize(value);
  const uint64_t wanted = count < 0 ? 1 : static_cast<uint64_t>(count);
  const uint64_t taken = std::min(wanted, size);
  std::vector<ZSetItem> popped;
  storage::ZSetRangeByRank(value, 0, taken - 1, from_max, &popped);
  const int64_t n = static_cast<int64_t>(popped.size());
  if (emit_key) {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(key);
    ctx.reply.ArrayHeader(n);
  } else {
    ctx.reply.ArrayHeader(nested ? n : n * 2);
  }
  for (const ZSetItem& item : popped) {
    if (nested) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(item.member);
    ReplyScore(ctx, item.score);
  }
  if (from_max) {
    storage::ZSetRemoveRangeByRank(value, size - taken, size - 1);
  } else {
    storage::ZSetRemoveRangeByRank(value, 0, taken - 1);
  }
  zset::FinishWrite(ctx, key, entry);
}

void ZPopGeneric(CommandContext& ctx, bool from_max) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  int64_t count = -1;
  if (ctx.argc() == 3) {
    // Redis gives the range error for a non-integer count too.
    if (!ParseInt64(ctx.args[2], &count) || count < 0) {
      ctx.reply.Error("ERR value is out of range, must be positive");
      return;
    }
  }
  // RESP3 nests [member, score] pairs only when a count was given.
  const bool nested = ctx.reply.resp3() && count != -1;
  PopAndReply(ctx, ctx.args.subspan(1, 1), from_max, count, false, nested, false);
}

// ZPOPMIN key [count]
void ZPopMinCommand(CommandContext& ctx) { ZPopGeneric(ctx, false); }

// ZPOPMAX key [count]
void ZPopMaxCommand(CommandContext& ctx) { ZPopGeneric(ctx, true); }

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
void ZMPopCommand(CommandContext& ctx) {
  int64_t numkeys = 0;
  if (!ParseInt64(ctx.args[1], &numkeys) || numkeys < 1) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return;
  }
  if (numkeys > static_cast<int64_t>(ctx.argc()) - 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  size_t where_index = 2 + static_cast<size_t>(numkeys);
  bool from_max = false;
  if (IsOption(ctx.args[where_index], "min")) {
    from_max = false;
  } else if (IsOption(ctx.args[where_index], "max")) {
    from_max = true;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  int64_t count = -1;
  for (size_t i = where_index + 1; i < ctx.argc(); ++i) {
    if (count == -1 && IsOption(ctx.args[i], "count") && i + 1 < ctx.argc()) {
      ++i;
      if (!ParseInt64(ctx.args[i], &count) || count < 1) {
        ctx.reply.Error("ERR count should be greater than 0");
        return;
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (count == -1) count = 1;
  PopAndReply(ctx, ctx.args.subspan(2, static_cast<size_t>(numkeys)), from_max, count, true, true,
              true);
}

// ZRANDMEMBER key [count [WITHSCORES]]
void ZRandMemberCommand(CommandContext& ctx) {
  std::mt19937_64& rng = ctx.db.rng();
  if (ctx.argc() < 3) {
    Entry* entry = nullptr;
    if (!LookupRead(ctx, ctx.args[1], ValueType::kZSet, &entry)) return;
    if (entry == nullptr) {
      ctx.reply.Null();
      return;
    }
    std::vector<ZSetItem> picked;
    storage::ZSetRandomMembers(entry->value(), 1, false, rng, &picked);
    ctx.reply.Bulk(picked.front().member);
    return;
  }
  int64_t count = 0;
  bool withscores = false;
  if (!ParseRandomCount(ctx, "withscores", &count, &withscores)) return;
  Entry* entry = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kZSet, &entry)) return;
  if (entry == nullptr || count == 0) {
    ctx.reply.EmptyArray();
    return;
  }
  const bool distinct = count > 0;
  const uint64_t wanted =
      distinct ? static_cast<uint64_t>(count) : 0 - static_cast<uint64_t>(count);
  std::vector<ZSetItem> picked;
  storage::ZSetRandomMembers(entry->value(), wanted, distinct, rng, &picked);
  ReplyItems(ctx, picked, withscores);
}

// The score text ZSCAN shows for a listpack sorted set: Redis returns the
// listpack's own entry, which holds an integral score between -2^62 and
// 2^62 as an integer ("100000000000000000" where the double would print
// "1e+17") and any other score as "%.17g" text.
std::string ListpackScoreText(double score) {
  constexpr double kIntegerBound = 4611686018427387904.0;  // 2^62
  if (score >= -kIntegerBound && score <= kIntegerBound && score == std::trunc(score)) {
    return Int64ToString(static_cast<int64_t>(score));
  }
  return FormatDouble(score);
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]
// As in Redis, the cursor is checked first, then the key, then the options.
// A listpack is returned whole with cursor 0; a skiplist walks its member
// index like SCAN (COUNT members per call, at most COUNT*10 buckets).
void ZScanCommand(CommandContext& ctx) {
  uint64_t cursor = 0;
  Entry* entry = nullptr;
  ScanOptions options;
  if (!BeginKeyScan(ctx, ValueType::kZSet, &cursor, &entry, &options)) return;
  const int64_t count = options.count;
  const std::string_view pattern = options.pattern;
  const bool use_pattern = options.use_pattern;
  std::vector<ScoredMember> found;
  auto collect = [&](std::string_view member, double score) {
    if (!use_pattern || GlobMatch(pattern, member)) found.push_back({std::string(member), score});
  };
  const storage::Value& value = entry->value();
  if (value.is_listpack()) {
    cursor = storage::ZSetScan(value, 0, collect);
  } else {
    int64_t max_iterations = count > std::numeric_limits<int64_t>::max() / 10
                                 ? std::numeric_limits<int64_t>::max()
                                 : count * 10;
    // Redis stops once its list of collected strings (a member and its
    // score each) reaches COUNT, before filtering.
    size_t visited = 0;
    auto counting_collect = [&](std::string_view member, double score) {
      ++visited;
      collect(member, score);
    };
    do {
      cursor = storage::ZSetScan(value, cursor, counting_collect);
    } while (cursor != 0 && max_iterations-- > 0 && visited * 2 < static_cast<uint64_t>(count));
  }
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(cursor));
  ctx.reply.ArrayHeader(static_cast<int64_t>(found.size() * 2));
  const bool listpack = value.is_listpack();
  for (const ScoredMember& m : found) {
    ctx.reply.Bulk(m.member);
    ctx.reply.Bulk(listpack ? ListpackScoreText(m.score) : FormatDouble(m.score));
  }
}

}  // namespace

void RegisterSortedSetCommands(CommandTable& table) {
  using namespace zset;  // NOLINT(build/namespaces): the handlers of this family
  constexpr uint32_t kRead = kCmdReadOnly;
  constexpr uint32_t kWrite = kCmdWrite;
  constexpr uint32_t kGrow = kCmdWrite | kCmdDenyOom;
  // clang-format off
  table.Add({.name = "zadd", .arity = -4, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = ZAddCommand, .group = "sorted-set", .summary = "Add one or more members to a sorted set, or update its score if it already exists", .since = "1.2.0", .complexity = "O(log(N)) for each item added, where N is the number of elements in the sorted set."});
  table.Add({.name = "zincrby", .arity = 4, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = ZIncrByCommand, .group = "sorted-set", .summary = "Increment the score of a member in a sorted set", .since = "1.2.0", .complexity = "O(log(N)) where N is the number of elements in the sorted set."});
  table.Add({.name = "zrem", .arity = -3, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyDelete)}, .handler = ZRemCommand, .group = "sorted-set", .summary = "Remove one or more members from a sorted set", .since = "1.2.0", .complexity = "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."});
  table.Add({.name = "zscore", .arity = 3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZScoreCommand, .group = "sorted-set", .summary = "Get the score associated with the given member in a sorted set", .since = "1.2.0", .complexity = "O(1)"});
  table.Add({.name = "zmscore", .arity = -3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZMScoreCommand, .group = "sorted-set", .summary = "Get the score associated with the given members in a sorted set", .since = "6.2.0", .complexity = "O(N) where N is the number of members being requested."});
  table.Add({.name = "zcard", .arity = 2, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = ZCardCommand, .group = "sorted-set", .summary = "Get the number of members in a sorted set", .since = "1.2.0", .complexity = "O(1)"});
  table.Add({.name = "zcount", .arity = 4, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZCountCommand, .group = "sorted-set", .summary = "Count the members in a sorted set with scores within the given values", .since = "2.0.0", .complexity = "O(log(N)) with N being the number of elements in the sorted set."});
  table.Add({.name = "zlexcount", .arity = 4, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZLexCountCommand, .group = "sorted-set", .summary = "Count the number of members in a sorted set between a given lexicographical range", .since = "2.8.9", .complexity = "O(log(N)) with N being the number of elements in the sorted set."});
  table.Add({.name = "zrange", .arity = -4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRangeCommand, .group = "sorted-set", .summary = "Return a range of members in a sorted set", .since = "1.2.0", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."});
  table.Add({.name = "zrangestore", .arity = -5, .flags = kGrow, .key_specs = {KeyAt(1, kKeyOW | kKeyUpdate), KeyAt(2, kKeyRO | kKeyAccess)}, .handler = ZRangeStoreCommand, .group = "sorted-set", .summary = "Store a range of members from sorted set into another key", .since = "6.2.0", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."});
  table.Add({.name = "zrangebyscore", .arity = -4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRangeByScoreCommand, .group = "sorted-set", .summary = "Return a range of members in a sorted set, by score", .since = "1.0.5", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."});
  table.Add({.name = "zrevrangebyscore", .arity = -4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRevRangeByScoreCommand, .group = "sorted-set", .summary = "Return a range of members in a sorted set, by score, with scores ordered from high to low", .since = "2.2.0", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."});
  table.Add({.name = "zrangebylex", .arity = -4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRangeByLexCommand, .group = "sorted-set", .summary = "Return a range of members in a sorted set, by lexicographical range", .since = "2.8.9", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."});
  table.Add({.name = "zrevrangebylex", .arity = -4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRevRangeByLexCommand, .group = "sorted-set", .summary = "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", .since = "2.8.9", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."});
  table.Add({.name = "zrevrange", .arity = -4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRevRangeCommand, .group = "sorted-set", .summary = "Return a range of members in a sorted set, by index, with scores ordered from high to low", .since = "1.2.0", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."});
  table.Add({.name = "zrank", .arity = 3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRankCommand, .group = "sorted-set", .summary = "Determine the index of a member in a sorted set", .since = "2.0.0", .complexity = "O(log(N))"});
  table.Add({.name = "zrevrank", .arity = 3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRevRankCommand, .group = "sorted-set", .summary = "Determine the index of a member in a sorted set, with scores ordered from high to low", .since = "2.0.0", .complexity = "O(log(N))"});
  table.Add({.name = "zremrangebyscore", .arity = 4, .flags = kWrite, .key_specs = {KeyAt(1, kKeyRW | kKeyDelete)}, .handler = ZRemRangeByScoreCommand, .group = "sorted-set", .summary = "Remove all members in a sorted set within the given scores", .since = "1.2.0", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."});
  table.Add({.name = "zremrangebyrank", .arity = 4, .flags = kWrite, .key_specs = {KeyAt(1, kKeyRW | kKeyDelete)}, .handler = ZRemRangeByRankCommand, .group = "sorted-set", .summary = "Remove all members in a sorted set within the given indexes", .since = "2.0.0", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."});
  table.Add({.name = "zremrangebylex", .arity = 4, .flags = kWrite, .key_specs = {KeyAt(1, kKeyRW | kKeyDelete)}, .handler = ZRemRangeByLexCommand, .group = "sorted-set", .summary = "Remove all members in a sorted set between the given lexicographical range", .since = "2.8.9", .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."});
  table.Add({.name = "zpopmin", .arity = -2, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = ZPopMinCommand, .group = "sorted-set", .summary = "Remove and return members with the lowest scores in a sorted set", .since = "5.0.0", .complexity = "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."});
  table.Add({.name = "zpopmax", .arity = -2, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = ZPopMaxCommand, .group = "sorted-set", .summary = "Remove and return members with the highest scores in a sorted set", .since = "5.0.0", .complexity = "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."});
  table.Add({.name = "zmpop", .arity = -4, .flags = kWrite, .key_specs = {KeysCounted(1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = ZMPopCommand, .group = "sorted-set", .summary = "Remove and return members with scores in a sorted set", .since = "7.0.0", .complexity = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."});
  table.Add({.name = "zrandmember", .arity = -2, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZRandMemberCommand, .group = "sorted-set", .summary = "Get one or multiple random elements from a sorted set", .since = "6.2.0", .complexity = "O(N) where N is the number of elements returned", .tips = "nondeterministic_output"});
  table.Add({.name = "zunionstore", .arity = -4, .flags = kGrow, .key_specs = {KeyAt(1, kKeyOW | kKeyUpdate), KeysCounted(2, kKeyRO | kKeyAccess)}, .handler = ZUnionStoreCommand, .group = "sorted-set", .summary = "Add multiple sorted sets and store the resulting sorted set in a new key", .since = "2.0.0", .complexity = "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."});
  table.Add({.name = "zinterstore", .arity = -4, .flags = kGrow, .key_specs = {KeyAt(1, kKeyOW | kKeyUpdate), KeysCounted(2, kKeyRO | kKeyAccess)}, .handler = ZInterStoreCommand, .group = "sorted-set", .summary = "Intersect multiple sorted sets and store the resulting sorted set in a new key", .since = "2.0.0", .complexity = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."});
  table.Add({.name = "zdiffstore", .arity = -4, .flags = kGrow, .key_specs = {KeyAt(1, kKeyOW | kKeyUpdate), KeysCounted(2, kKeyRO | kKeyAccess)}, .handler = ZDiffStoreCommand, .group = "sorted-set", .summary = "Subtract multiple sorted sets and store the resulting sorted set in a new key", .since = "6.2.0", .complexity = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."});
  table.Add({.name = "zunion", .arity = -3, .flags = kRead, .key_specs = {KeysCounted(1, kKeyRO | kKeyAccess)}, .handler = ZUnionCommand, .group = "sorted-set", .summary = "Add multiple sorted sets", .since = "6.2.0", .complexity = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."});
  table.Add({.name = "zinter", .arity = -3, .flags = kRead, .key_specs = {KeysCounted(1, kKeyRO | kKeyAccess)}, .handler = ZInterCommand, .group = "sorted-set", .summary = "Intersect multiple sorted sets", .since = "6.2.0", .complexity = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."});
  table.Add({.name = "zdiff", .arity = -3, .flags = kRead, .key_specs = {KeysCounted(1, kKeyRO | kKeyAccess)}, .handler = ZDiffCommand, .group = "sorted-set", .summary = "Subtract multiple sorted sets", .since = "6.2.0", .complexity = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."});
  table.Add({.name = "zintercard", .arity = -3, .flags = kRead, .key_specs = {KeysCounted(1, kKeyRO | kKeyAccess)}, .handler = ZInterCardCommand, .group = "sorted-set", .summary = "Intersect multiple sorted sets and return the cardinality of the result", .since = "7.0.0", .complexity = "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."});
  table.Add({.name = "zscan", .arity = -3, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ZScanCommand, .group = "sorted-set", .summary = "Incrementally iterate sorted sets elements and associated scores", .since = "2.8.0", .complexity = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", .tips = "nondeterministic_output"});
  // clang-format on
}

}  // namespace understudy::server

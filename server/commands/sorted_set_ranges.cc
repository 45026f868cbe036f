// Sorted-set range commands: the ZRANGE family (by rank, score or lex,
// forward or reversed, optionally stored), counts and removals by range.
#include <string>
#include <vector>

#include "server/commands/helpers.h"
#include "server/commands/sorted_set_support.h"
#include "storage/zset_value.h"

namespace understudy::server::zset {
namespace {

using storage::Entry;
using storage::LexRange;
using storage::ScoredMember;
using storage::ScoreRange;
using storage::ValueType;
using storage::ZSetItem;

constexpr std::string_view kNotFloatRange = "ERR min or max is not a float";
constexpr std::string_view kNotLexRange = "ERR min or max not valid string range item";

enum class RangeType { kAuto, kRank, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

// Clamps ZRANGE-style rank arguments (negative counts from the end) to
// [0, size); false when the range is empty.
bool NormalizeRanks(int64_t size, int64_t* start, int64_t* end) {
  if (*start < 0) *start += size;
  if (*end < 0) *end += size;
  if (*start < 0) *start = 0;
  if (*start > *end || *start >= size) return false;
  if (*end >= size) *end = size - 1;
  return true;
}

// The body of ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE and
// Z[REV]RANGEBYLEX, following Redis's zrangeGenericCommand: options after
// <key> <min> <max> (WITHSCORES unless storing, LIMIT, and REV / BYSCORE /
// BYLEX where the command leaves them open), then the range, then the key.
// `destination` is set for ZRANGESTORE.
void RangeGeneric(CommandContext& ctx, size_t key_index,
                  std::optional<std::string_view> destination, RangeType type,
                  Direction direction) {
  const bool store = destination.has_value();
  size_t min_index = key_index + 1;
  size_t max_index = key_index + 2;
  bool withscores = false;
  int64_t offset = 0;
  int64_t limit = -1;
  for (size_t j = key_index + 3; j < ctx.argc(); ++j) {
    const size_t left = ctx.argc() - j - 1;
    std::string_view arg = ctx.args[j];
    if (!store && IsOption(arg, "withscores")) {
      withscores = true;
    } else if (IsOption(arg, "limit") && left >= 2) {
      if (!ParseIntegerArg(ctx, ctx.args[j + 1], &offset) ||
          !ParseIntegerArg(ctx, ctx.args[j + 2], &limit)) {
        return;
      }
      j += 2;
    } else if (direction == Direction::kAuto && IsOption(arg, "rev")) {
      direction = Direction::kReverse;
    } else if (type == RangeType::kAuto && IsOption(arg, "bylex")) {
      type = RangeType::kLex;
    } else if (type == RangeType::kAuto && IsOption(arg, "byscore")) {
      type = RangeType::kScore;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (direction == Direction::kAuto) direction = Direction::kForward;
  if (type == RangeType::kAuto) type = RangeType::kRank;
  const bool reverse = direction == Direction::kReverse;
  // Redis only notices a LIMIT whose count is not -1.
  if (limit != -1 && type == RangeType::kRank) {
    ctx.reply.Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return;
  }
  if (withscores && type == RangeType::kLex) {
    ctx.reply.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    return;
  }
  if (reverse && type != RangeType::kRank) std::swap(min_index, max_index);

  int64_t start = 0, end = 0;
  ScoreRange score_range;
  LexRange lex_range;
  switch (type) {
    case RangeType::kScore:
      if (!storage::ParseScoreRange(ctx.args[min_index], ctx.args[max_index], &score_range)) {
        ctx.reply.Error(kNotFloatRange);
        return;
      }
      break;
    case RangeType::kLex:
      if (!storage::ParseLexRange(ctx.args[min_index], ctx.args[max_index], &lex_range)) {
        ctx.reply.Error(kNotLexRange);
        return;
      }
      break;
    default:
      if (!ParseIntegerArg(ctx, ctx.args[min_index], &start) ||
          !ParseIntegerArg(ctx, ctx.args[max_index], &end)) {
        return;
      }
      break;
  }

  Entry* entry = nullptr;
  if (!LookupRead(ctx, ctx.args[key_index], ValueType::kZSet, &entry)) return;
  std::vector<ZSetItem> items;
  if (entry != nullptr) {
    const storage::Value& value = entry->value();
    switch (type) {
      case RangeType::kScore:
        storage::ZSetRangeByScore(value, score_range, reverse, offset, limit, &items);
        break;
      case RangeType::kLex:
        storage::ZSetRangeByLex(value, lex_range, reverse, offset, limit, &items);
        break;
      default:
        if (NormalizeRanks(static_cast<int64_t>(storage::ZSetSize(value)), &start, &end)) {
          storage::ZSetRangeByRank(value, static_cast<uint64_t>(start), static_cast<uint64_t>(end),
                                   reverse, &items);
        }
        break;
    }
  }
  if (!store) {
    ReplyItems(ctx, items, withscores);
    return;
  }
  std::vector<ScoredMember> members;
  members.reserve(items.size());
  for (const ZSetItem& item : items) members.push_back({std::string(item.member), item.score});
  StoreResult(ctx, *destination, std::move(members));
}

}  // namespace

// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
void ZRangeCommand(CommandContext& ctx) {
  RangeGeneric(ctx, 1, std::nullopt, RangeType::kAuto, Direction::kAuto);
}

// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
void ZRangeStoreCommand(CommandContext& ctx) {
  RangeGeneric(ctx, 2, ctx.args[1], RangeType::kAuto, Direction::kAuto);
}

// ZREVRANGE key start stop [WITHSCORES]
void ZRevRangeCommand(CommandContext& ctx) {
  RangeGeneric(ctx, 1, std::nullopt, RangeType::kRank, Direction::kReverse);
}

// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
void ZRangeByScoreCommand(CommandContext& ctx) {
  RangeGeneric(ctx, 1, std::nullopt, RangeType::kScore, Direction::kForward);
}

// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
void ZRevRangeByScoreCommand(CommandContext& ctx) {
  RangeGeneric(ctx, 1, std::nullopt, RangeType::kScore, Direction::kReverse);
}

// ZRANGEBYLEX key min max [LIMIT offset count]
void ZRangeByLexCommand(CommandContext& ctx) {
  RangeGeneric(ctx, 1, std::nullopt, RangeType::kLex, Direction::kForward);
}

// ZREVRANGEBYLEX key max min [LIMIT offset count]
void ZRevRangeByLexCommand(CommandContext& ctx) {
  RangeGeneric(ctx, 1, std::nullopt, RangeType::kLex, Direction::kReverse);
}

// ZCOUNT key min max
void ZCountCommand(CommandContext& ctx) {
  ScoreRange range;
  if (!storage::ParseScoreRange(ctx.args[2], ctx.args[3], &range)) {
    ctx.reply.Error(kNotFloatRange);
    return;
  }
  Entry* entry = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kZSet, &entry)) return;
  uint64_t count = entry == nullptr ? 0 : storage::ZSetCountInScoreRange(entry->value(), range);
  ctx.reply.Integer(static_cast<int64_t>(count));
}

// ZLEXCOUNT key min max
void ZLexCountCommand(CommandContext& ctx) {
  LexRange range;
  if (!storage::ParseLexRange(ctx.args[2], ctx.args[3], &range)) {
    ctx.reply.Error(kNotLexRange);
    return;
  }
  Entry* entry = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kZSet, &entry)) return;
  uint64_t count = entry == nullptr ? 0 : storage::ZSetCountInLexRange(entry->value(), range);
  ctx.reply.Integer(static_cast<int64_t>(count));
}

namespace {

// Looks up the key of a ZREMRANGEBY* command and, when members were
// removed, deletes an emptied key and reports the change. `remove` does
// the removal on the set and returns the count.
template <typename Remove>
void RemoveRangeGeneric(CommandContext& ctx, Remove remove) {
  std::string_view key = ctx.args[1];
  Entry* entry = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kZSet, &entry)) return;
  uint64_t removed = entry == nullptr ? 0 : remove(entry->value());
  if (removed > 0) FinishWrite(ctx, key, entry);
  ctx.reply.Integer(static_cast<int64_t>(removed));
}

}  // namespace

// ZREMRANGEBYRANK key start stop
void ZRemRangeByRankCommand(CommandContext& ctx) {
  int64_t start = 0, end = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &start) || !ParseIntegerArg(ctx, ctx.args[3], &end)) {
    return;
  }
  RemoveRangeGeneric(ctx, [&](storage::Value& value) -> uint64_t {
    if (!NormalizeRanks(static_cast<int64_t>(storage::ZSetSize(value)), &start, &end)) return 0;
    return storage::ZSetRemoveRangeByRank(value, static_cast<uint64_t>(start),
                                          static_cast<uint64_t>(end));
  });
}

// ZREMRANGEBYSCORE key min max
void ZRemRangeByScoreCommand(CommandContext& ctx) {
  ScoreRange range;
  if (!storage::ParseScoreRange(ctx.args[2], ctx.args[3], &range)) {
    ctx.reply.Error(kNotFloatRange);
    return;
  }
  RemoveRangeGeneric(
      ctx, [&](storage::Value& value) { return storage::ZSetRemoveRangeByScore(value, range); });
}

// ZREMRANGEBYLEX key min max
void ZRemRangeByLexCommand(CommandContext& ctx) {
  LexRange range;
  if (!storage::ParseLexRange(ctx.args[2], ctx.args[3], &range)) {
    ctx.reply.Error(kNotLexRange);
    return;
  }
  RemoveRangeGeneric(
      ctx, [&](storage::Value& value) { return storage::ZSetRemoveRangeByLex(value, range); });
}

}  // namespace understudy::server::zset

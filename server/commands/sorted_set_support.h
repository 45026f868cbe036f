#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "server/commands/helpers.h"
#include "storage/zset_value.h"

// What the sorted-set command files (sorted_sets.cc, sorted_set_ranges.cc,
// sorted_set_algebra.cc) share: limits from the configuration, reply
// helpers and the handlers that sorted_sets.cc registers.
namespace understudy::server::zset {

// The configured listpack limits (zset-max-listpack-entries / -value).
inline storage::ZSetLimits LimitsOf(CommandContext& ctx) {
  const Config& config = ctx.server.config();
  return storage::ZSetLimits{
      .max_listpack_entries =
          static_cast<size_t>(std::max<int64_t>(0, config.zset_max_listpack_entries)),
      .max_listpack_value =
          static_cast<size_t>(std::max<int64_t>(0, config.zset_max_listpack_value)),
  };
}

// A score as Redis 7.0's addReplyDouble writes it ("%.17g", "inf"): a bulk
// string in RESP2, a double in RESP3.
void ReplyScore(CommandContext& ctx, double score);

// Members, or members with their scores: a flat array [m1, s1, m2, s2...]
// in RESP2 and an array of [member, score] pairs in RESP3, as the ZRANGE
// family, ZUNION/ZINTER/ZDIFF and ZRANDMEMBER reply.
void ReplyItems(CommandContext& ctx, const std::vector<storage::ZSetItem>& items, bool withscores);

// Parses a sorted-set key's score argument ("ERR value is not a valid float").
bool ParseScoreArg(CommandContext& ctx, std::string_view arg, double* out);

// Deletes `key` when its set became empty; reports the modification.
void FinishWrite(CommandContext& ctx, std::string_view key, storage::Entry* entry);

// Stores the result of ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE or ZDIFFSTORE
// (distinct members, any order) at `destination`, replacing its value and
// TTL, or deletes `destination` when the result is empty (Redis's setKey /
// dbDelete). Replies the result's size.
void StoreResult(CommandContext& ctx, std::string_view destination,
                 std::vector<storage::ScoredMember>&& members);

// Handlers defined in sorted_set_ranges.cc.
void ZRangeCommand(CommandContext& ctx);
void ZRangeStoreCommand(CommandContext& ctx);
void ZRangeByScoreCommand(CommandContext& ctx);
void ZRevRangeByScoreCommand(CommandContext& ctx);
void ZRangeByLexCommand(CommandContext& ctx);
void ZRevRangeByLexCommand(CommandContext& ctx);
void ZRevRangeCommand(CommandContext& ctx);
void ZCountCommand(CommandContext& ctx);
void ZLexCountCommand(CommandContext& ctx);
void ZRemRangeByRankCommand(CommandContext& ctx);
void ZRemRangeByScoreCommand(CommandContext& ctx);
void ZRemRangeByLexCommand(CommandContext& ctx);

// Handlers defined in sorted_set_algebra.cc.
void ZUnionStoreCommand(CommandContext& ctx);
void ZInterStoreCommand(CommandContext& ctx);
void ZDiffStoreCommand(CommandContext& ctx);
void ZUnionCommand(CommandContext& ctx);
void ZInterCommand(CommandContext& ctx);
void ZDiffCommand(CommandContext& ctx);
void ZInterCardCommand(CommandContext& ctx);

}  // namespace understudy::server::zset

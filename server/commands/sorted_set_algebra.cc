// Sorted-set algebra: ZUNION, ZINTER, ZDIFF, their *STORE forms and
// ZINTERCARD. Inputs may be sorted sets or plain sets (members scoring 1).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/commands/helpers.h"
#include "server/commands/sorted_set_support.h"
#include "storage/set_value.h"
#include "storage/zset_value.h"

namespace understudy::server::zset {
namespace {

using storage::Entry;
using storage::ScoredMember;
using storage::ValueType;
using storage::ZSetItem;

enum class SetOp { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

// One input key: a sorted set, a plain set, or missing (empty).
struct Source {
  storage::Value* value = nullptr;
  double weight = 1;
  size_t size = 0;

  bool is_zset() const { return value != nullptr && value->type() == ValueType::kZSet; }

  // Calls visit(member, score) for every member.
  template <typename Visit>
  void ForEach(Visit visit) const {
    if (value == nullptr) return;
    if (is_zset()) {
      std::vector<ZSetItem> items;
      if (size > 0) storage::ZSetRangeByRank(*value, 0, size - 1, false, &items);
      for (const ZSetItem& item : items) visit(item.member, item.score);
      return;
    }
    storage::SetValue(*value).ForEach([&](std::string_view member) {
      visit(member, 1.0);
      return true;
    });
  }

  // The member's score in this input (1 in a plain set), or nullopt.
  std::optional<double> Find(std::string_view member) const {
    if (value == nullptr) return std::nullopt;
    if (is_zset()) return storage::ZSetScore(*value, member);
    if (storage::SetValue(*value).Contains(member)) return 1.0;
    return std::nullopt;
  }
};

// Combines `value` into `*target` as Redis's zunionInterAggregate does: a
// sum that is NaN (inf + -inf) becomes 0; MIN and MAX keep the target when
// the value is NaN.
void AggregateInto(double* target, double value, Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::kSum:
      *target = *target + value;
      if (std::isnan(*target)) *target = 0.0;
      break;
    case Aggregate::kMin:
      *target = value < *target ? value : *target;
      break;
    case Aggregate::kMax:
      *target = value > *target ? value : *target;
      break;
  }
}

// The weighted score of an input's member; NaN (inf * 0) counts as 0.
double Weighted(const Source& source, double score) {
  double weighted = source.weight * score;
  return std::isnan(weighted) ? 0 : weighted;
}

std::vector<ScoredMember> Intersect(const std::vector<Source>& sources, Aggregate aggregate,
                                    uint64_t limit, uint64_t* cardinality, bool count_only) {
  std::vector<ScoredMember> result;
  if (sources[0].size == 0) return result;
  bool done = false;
  sources[0].ForEach([&](std::string_view member, double score) {
    if (done) return;
    double total = Weighted(sources[0], score);
    size_t j = 1;
    for (; j < sources.size(); ++j) {
      std::optional<double> found = sources[j].value == sources[0].value
                                        ? std::optional<double>(score)
                                        : sources[j].Find(member);
      if (!found) break;
      // Unlike the first input's, these products are not NaN-checked.
      AggregateInto(&total, *found * sources[j].weight, aggregate);
    }
    if (j != sources.size()) return;
    if (count_only) {
      ++*cardinality;
      if (limit != 0 && *cardinality >= limit) done = true;
    } else {
      result.push_back({std::string(member), total});
    }
  });
  return result;
}

std::vector<ScoredMember> Union(const std::vector<Source>& sources, Aggregate aggregate) {
  std::unordered_map<std::string, double> totals;
  totals.reserve(sources.back().size);
  for (const Source& source : sources) {
    source.ForEach([&](std::string_view member, double score) {
      double weighted = Weighted(source, score);
      auto [it, inserted] = totals.try_emplace(std::string(member), weighted);
      if (!inserted) AggregateInto(&it->second, weighted, aggregate);
    });
  }
  std::vector<ScoredMember> result;
  result.reserve(totals.size());
  for (auto& [member, score] : totals) result.push_back({member, score});
  return result;
}

std::vector<ScoredMember> Difference(const std::vector<Source>& sources) {
  std::vector<ScoredMember> result;
  sources[0].ForEach([&](std::string_view member, double score) {
    for (size_t j = 1; j < sources.size(); ++j) {
      if (sources[j].Find(member)) return;
    }
    result.push_back({std::string(member), score});
  });
  return result;
}

// The body of every command of this file, after Redis's
// zunionInterDiffGenericCommand: numkeys at `numkeys_index`, the keys, then
// WEIGHTS / AGGREGATE (not for ZDIFF*), WITHSCORES (not when storing) or
// LIMIT (ZINTERCARD). `destination` is set for the *STORE forms.
void SetOpGeneric(CommandContext& ctx, std::optional<std::string_view> destination,
                  size_t numkeys_index, SetOp op, bool cardinality_only) {
  int64_t setnum = 0;
  if (!ParseIntegerArg(ctx, ctx.args[numkeys_index], &setnum)) return;
  if (setnum < 1) {
    ctx.reply.Error("ERR at least 1 input key is needed for '" + ctx.spec.name + "' command");
    return;
  }
  if (setnum > static_cast<int64_t>(ctx.argc() - (numkeys_index + 1))) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  std::vector<Source> sources(static_cast<size_t>(setnum));
  size_t j = numkeys_index + 1;
  for (Source& source : sources) {
    std::string_view key = ctx.args[j++];
    Entry* entry = destination ? ctx.db.Find(key, ctx.now_ms) : ctx.db.FindForRead(key, ctx.now_ms);
    if (entry == nullptr) continue;
    ValueType type = entry->value().type();
    if (type != ValueType::kZSet && type != ValueType::kSet) {
      ctx.reply.Error(errors::kWrongType);
      return;
    }
    source.value = &entry->value();
    source.size = type == ValueType::kZSet ? storage::ZSetSize(entry->value())
                                           : storage::SetValue(entry->value()).size();
  }

  Aggregate aggregate = Aggregate::kSum;
  bool withscores = false;
  int64_t limit = 0;
  while (j < ctx.argc()) {
    const size_t remaining = ctx.argc() - j;
    std::string_view arg = ctx.args[j];
    const bool weighted_op = op != SetOp::kDiff && !cardinality_only;
    if (weighted_op && remaining >= sources.size() + 1 && IsOption(arg, "weights")) {
      ++j;
      for (Source& source : sources) {
        if (!ParseDouble(ctx.args[j++], &source.weight)) {
          ctx.reply.Error("ERR weight value is not a float");
          return;
        }
      }
    } else if (weighted_op && remaining >= 2 && IsOption(arg, "aggregate")) {
      std::string_view how = ctx.args[j + 1];
      if (IsOption(how, "sum")) {
        aggregate = Aggregate::kSum;
      } else if (IsOption(how, "min")) {
        aggregate = Aggregate::kMin;
      } else if (IsOption(how, "max")) {
        aggregate = Aggregate::kMax;
      } else {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      j += 2;
    } else if (!destination && !cardinality_only && IsOption(arg, "withscores")) {
      withscores = true;
      ++j;
    } else if (cardinality_only && remaining >= 2 && IsOption(arg, "limit")) {
      if (!ParseInt64(ctx.args[j + 1], &limit) || limit < 0) {
        ctx.reply.Error("ERR LIMIT can't be negative");
        return;
      }
      j += 2;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }

  if (op != SetOp::kDiff) {
    // Smallest inputs first, as Redis does (it also fixes the order in
    // which a member's weighted scores are summed).
    std::stable_sort(sources.begin(), sources.end(),
                     [](const Source& a, const Source& b) { return a.size < b.size; });
  }
  uint64_t cardinality = 0;
  std::vector<ScoredMember> result;
  switch (op) {
    case SetOp::kInter:
      result = Intersect(sources, aggregate, static_cast<uint64_t>(limit), &cardinality,
                         cardinality_only);
      break;
    case SetOp::kUnion:
      result = Union(sources, aggregate);
      break;
    case SetOp::kDiff:
      result = Difference(sources);
      break;
  }

  if (destination) {
    StoreResult(ctx, *destination, std::move(result));
    return;
  }
  if (cardinality_only) {
    ctx.reply.Integer(static_cast<int64_t>(cardinality));
    return;
  }
  std::sort(result.begin(), result.end(), [](const ScoredMember& a, const ScoredMember& b) {
    return storage::ZSetLess(a.score, a.member, b.score, b.member);
  });
  std::vector<ZSetItem> items;
  items.reserve(result.size());
  for (const ScoredMember& m : result) items.push_back({m.member, m.score});
  ReplyItems(ctx, items, withscores);
}

}  // namespace

// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
void ZUnionStoreCommand(CommandContext& ctx) {
  SetOpGeneric(ctx, ctx.args[1], 2, SetOp::kUnion, false);
}

// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
void ZInterStoreCommand(CommandContext& ctx) {
  SetOpGeneric(ctx, ctx.args[1], 2, SetOp::kInter, false);
}

// ZDIFFSTORE destination numkeys key [key ...]
void ZDiffStoreCommand(CommandContext& ctx) {
  SetOpGeneric(ctx, ctx.args[1], 2, SetOp::kDiff, false);
}

// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
void ZUnionCommand(CommandContext& ctx) {
  SetOpGeneric(ctx, std::nullopt, 1, SetOp::kUnion, false);
}

// ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
void ZInterCommand(CommandContext& ctx) {
  SetOpGeneric(ctx, std::nullopt, 1, SetOp::kInter, false);
}

// ZDIFF numkeys key [key ...] [WITHSCORES]
void ZDiffCommand(CommandContext& ctx) { SetOpGeneric(ctx, std::nullopt, 1, SetOp::kDiff, false); }

// ZINTERCARD numkeys key [key ...] [LIMIT limit]
void ZInterCardCommand(CommandContext& ctx) {
  SetOpGeneric(ctx, std::nullopt, 1, SetOp::kInter, true);
}

}  // namespace understudy::server::zset

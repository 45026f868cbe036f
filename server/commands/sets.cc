// Set commands: membership, random members, the algebra of SINTER/SUNION/
// SDIFF and their STORE forms, and SSCAN, with Redis 7.0's replies and
// error texts. The set representation itself is storage/set_value.
#include <algorithm>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/glob.h"
#include "server/commands/families.h"
#include "server/commands/helpers.h"
#include "storage/set_value.h"

namespace understudy::server {
namespace {

using storage::Entry;
using storage::SetLimits;
using storage::SetValue;
using storage::Value;
using storage::ValueType;

constexpr std::string_view kMustBePositive = "ERR value is out of range, must be positive";
constexpr std::string_view kNumKeysNotPositive = "ERR numkeys should be greater than 0";
constexpr std::string_view kTooManyNumKeys =
    "ERR Number of keys can't be greater than number of args";
constexpr std::string_view kLimitNegative = "ERR LIMIT can't be negative";

// SPOP with a count removes members one by one while this many times more
// members remain than are popped; otherwise it rebuilds the set from the
// members that stay (Redis's SPOP_MOVE_STRATEGY_MUL).
constexpr uint64_t kSpopMoveStrategyMul = 5;
// SRANDMEMBER with a positive count copies the whole set and drops members
// when the set holds at most this many times the count; otherwise it draws
// until it has enough distinct ones (SRANDMEMBER_SUB_STRATEGY_MUL).
constexpr uint64_t kSrandmemberSubStrategyMul = 3;
// How many members SRANDMEMBER with a negative count writes between checks
// of the client's output buffer limit.
constexpr uint64_t kOutputLimitCheckInterval = 1024;

SetLimits Limits(const CommandContext& ctx) {
  return SetLimits{.max_intset_entries = ctx.server.config().set_max_intset_entries};
}

// Parses an integer that must be >= 0, replying `error` for anything else
// (Redis's getPositiveLongFromObjectOrReply uses one message for both).
bool ParseNonNegative(CommandContext& ctx, std::string_view arg, std::string_view error,
                      int64_t* out) {
  if (ParseInt64(arg, out) && *out >= 0) return true;
  ctx.reply.Error(error);
  return false;
}

// Replies with every member of `set` as a set reply (RESP3 '~').
void ReplyMembers(CommandContext& ctx, const SetValue& set) {
  ctx.reply.SetHeader(static_cast<int64_t>(set.size()));
  set.ForEach([&ctx](std::string_view member) {
    ctx.reply.Bulk(member);
    return true;
  });
}

// The end of a *STORE command whose result is empty: the destination is
// deleted and the reply is 0.
void StoreEmptyResult(CommandContext& ctx, std::string_view destination) {
  ctx.reply.Integer(0);
  if (ctx.db.Delete(destination, ctx.now_ms)) ctx.KeyModified(destination);
}

// Stores the computed set `result` at `destination` (replacing any value
// and deadline) and replies its size; an empty result deletes the
// destination instead. The *STORE commands end here.
void StoreResult(CommandContext& ctx, std::string_view destination, Value&& result) {
  SetValue set(result);
  if (set.empty()) {
    StoreEmptyResult(ctx, destination);
    return;
  }
  int64_t size = static_cast<int64_t>(set.size());
  bool created;
  Entry* e = ctx.db.FindOrCreate(destination, ctx.now_ms, &created);
  e->value() = std::move(result);
  ctx.db.ClearExpire(e);
  ctx.KeyModified(destination);
  ctx.reply.Integer(size);
}

// Looks up every key of `keys` as a set for reading, in order; a missing
// key gives nullptr. Returns false after WRONGTYPE for any of them (even
// after a missing one, as Redis 7.0 checks them all first).
bool LookupSets(CommandContext& ctx, std::span<const std::string_view> keys,
                std::vector<Entry*>* sets) {
  sets->reserve(keys.size());
  for (std::string_view key : keys) {
    Entry* e;
    if (!LookupRead(ctx, key, ValueType::kSet, &e)) return false;
    sets->push_back(e);
  }
  return true;
}

// SADD key member [member ...]
void SAddCommand(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  Entry* e;
  if (!LookupWrite(ctx, key, ValueType::kSet, &e)) return;
  const SetLimits limits = Limits(ctx);
  if (e == nullptr) {
    bool created;
    e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
    SetValue::Create(e->value(), ctx.args[2], limits);
  }
  SetValue set(e->value());
  int64_t added = 0;
  for (size_t i = 2; i < ctx.argc(); ++i) added += set.Add(ctx.args[i], limits) ? 1 : 0;
  if (added > 0) ctx.KeyModified(key);
  ctx.reply.Integer(added);
}

// SREM key member [member ...]
void SRemCommand(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  Entry* e;
  if (!LookupWrite(ctx, key, ValueType::kSet, &e)) return;
  int64_t removed = 0;
  if (e != nullptr) {
    SetValue set(e->value());
    for (size_t i = 2; i < ctx.argc(); ++i) {
      if (!set.Remove(ctx.args[i])) continue;
      ++removed;
      if (set.empty()) {
        ctx.db.Delete(key, ctx.now_ms);
        break;
      }
    }
  }
  if (removed > 0) ctx.KeyModified(key);
  ctx.reply.Integer(removed);
}

// SMOVE source destination member
// Like Redis 7.0, the destination counts as modified only when the member
// was not already there.
void SMoveCommand(CommandContext& ctx) {
  std::string_view source = ctx.args[1];
  std::string_view destination = ctx.args[2];
  std::string_view member = ctx.args[3];
  Entry* src = ctx.db.Find(source, ctx.now_ms);
  Entry* dst = ctx.db.Find(destination, ctx.now_ms);
  if (src == nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  if (src->value().type() != ValueType::kSet ||
      (dst != nullptr && dst->value().type() != ValueType::kSet)) {
    ctx.reply.Error(errors::kWrongType);
    return;
  }
  if (src == dst) {
    ctx.reply.Integer(SetValue(src->value()).Contains(member) ? 1 : 0);
    return;
  }
  SetValue from(src->value());
  if (!from.Remove(member)) {
    ctx.reply.Integer(0);
    return;
  }
  if (from.empty()) ctx.db.Delete(source, ctx.now_ms);
  const SetLimits limits = Limits(ctx);
  if (dst == nullptr) {
    bool created;
    dst = ctx.db.FindOrCreate(destination, ctx.now_ms, &created);
    SetValue::Create(dst->value(), member, limits);
  }
  ctx.KeyModified(source);
  if (SetValue(dst->value()).Add(member, limits)) ctx.KeyModified(destination);
  ctx.reply.Integer(1);
}

// SISMEMBER key member
void SIsMemberCommand(CommandContext& ctx) {
  Entry* e;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kSet, &e)) return;
  ctx.reply.Integer(e != nullptr && SetValue(e->value()).Contains(ctx.args[2]) ? 1 : 0);
}

// SMISMEMBER key member [member ...]
void SMIsMemberCommand(CommandContext& ctx) {
  Entry* e;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kSet, &e)) return;
  ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argc() - 2));
  for (size_t i = 2; i < ctx.argc(); ++i) {
    ctx.reply.Integer(e != nullptr && SetValue(e->value()).Contains(ctx.args[i]) ? 1 : 0);
  }
}

// SCARD key
void SCardCommand(CommandContext& ctx) {
  Entry* e;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kSet, &e)) return;
  ctx.reply.Integer(e == nullptr ? 0 : static_cast<int64_t>(SetValue(e->value()).size()));
}

// SPOP key count, for count < the set's size: replies `count` distinct
// random members and removes them.
void PopSome(CommandContext& ctx, Entry* e, uint64_t count) {
  SetValue set(e->value());
  uint64_t remaining = set.size() - count;
  std::mt19937_64& rng = ctx.db.rng();
  std::string member;
  ctx.reply.SetHeader(static_cast<int64_t>(count));
  if (remaining * kSpopMoveStrategyMul > count) {
    while (count-- > 0) {
      set.PopRandom(rng, &member);
      ctx.reply.Bulk(member);
    }
    return;
  }
  // Most members go: move the few that stay to a new set, reply the rest.
  // The new set's representation follows its first member, as in Redis.
  Value kept;
  SetValue kept_set(kept);
  const SetLimits limits = Limits(ctx);
  for (uint64_t i = 0; i < remaining; ++i) {
    set.PopRandom(rng, &member);
    if (i == 0) kept_set = SetValue::Create(kept, member, limits);
    kept_set.Add(member, limits);
  }
  set.ForEach([&ctx](std::string_view popped) {
    ctx.reply.Bulk(popped);
    return true;
  });
  e->value() = std::move(kept);
}

// SPOP key [count]
void SPopCommand(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  std::string_view key = ctx.args[1];
  if (ctx.argc() == 2) {
    Entry* e;
    if (!LookupWrite(ctx, key, ValueType::kSet, &e)) return;
    if (e == nullptr) {
      ctx.reply.Null();
      return;
    }
    SetValue set(e->value());
    std::string member;
    set.PopRandom(ctx.db.rng(), &member);
    ctx.reply.Bulk(member);
    if (set.empty()) ctx.db.Delete(key, ctx.now_ms);
    ctx.KeyModified(key);
    return;
  }
  int64_t count;
  if (!ParseNonNegative(ctx, ctx.args[2], kMustBePositive, &count)) return;
  Entry* e;
  if (!LookupWrite(ctx, key, ValueType::kSet, &e)) return;
  if (e == nullptr || count == 0) {
    ctx.reply.SetHeader(0);
    return;
  }
  SetValue set(e->value());
  if (static_cast<uint64_t>(count) >= set.size()) {
    // Everything goes. Redis replies with the union of the set with
    // nothing, so an all-integer set comes back in ascending order.
    Value copy;
    SetValue all = SetValue::CreateIntSet(copy);
    const SetLimits limits = Limits(ctx);
    set.ForEach([&](std::string_view member) {
      all.Add(member, limits);
      return true;
    });
    ReplyMembers(ctx, all);
    ctx.db.Delete(key, ctx.now_ms);
  } else {
    PopSome(ctx, e, static_cast<uint64_t>(count));
  }
  ctx.KeyModified(key);
}

// SRANDMEMBER key count, for 1 < count < the set's size: `count` distinct
// random members, in no particular order.
void ReplyDistinctRandomMembers(CommandContext& ctx, const SetValue& set, uint64_t count) {
  std::mt19937_64& rng = ctx.db.rng();
  ctx.reply.ArrayHeader(static_cast<int64_t>(count));
  if (count * kSrandmemberSubStrategyMul > set.size()) {
    // Take everything, then drop random members until `count` are left.
    std::vector<std::string> members;
    members.reserve(set.size());
    set.ForEach([&members](std::string_view member) {
      members.emplace_back(member);
      return true;
    });
    while (members.size() > count) {
      size_t victim = rng() % members.size();
      std::swap(members[victim], members.back());
      members.pop_back();
    }
    for (const std::string& member : members) ctx.reply.Bulk(member);
    return;
  }
  std::unordered_set<std::string> chosen;
  chosen.reserve(count);
  std::string member;
  while (chosen.size() < count) {
    set.RandomMember(rng, &member);
    chosen.insert(member);
  }
  for (const std::string& m : chosen) ctx.reply.Bulk(m);
}

// SRANDMEMBER key [count]
// A negative count allows repeats and returns exactly -count members.
void SRandMemberCommand(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  std::string_view key = ctx.args[1];
  std::string member;
  if (ctx.argc() == 2) {
    Entry* e;
    if (!LookupRead(ctx, key, ValueType::kSet, &e)) return;
    if (e == nullptr) {
      ctx.reply.Null();
      return;
    }
    SetValue(e->value()).RandomMember(ctx.db.rng(), &member);
    ctx.reply.Bulk(member);
    return;
  }
  int64_t requested;
  if (!ParseIntegerArg(ctx, ctx.args[2], &requested)) return;
  if (requested == std::numeric_limits<int64_t>::min()) {
    ctx.reply.Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
    return;
  }
  bool distinct = requested >= 0;
  uint64_t count = distinct ? static_cast<uint64_t>(requested) : static_cast<uint64_t>(-requested);
  Entry* e;
  if (!LookupRead(ctx, key, ValueType::kSet, &e)) return;
  if (e == nullptr || count == 0) {
    ctx.reply.EmptyArray();
    return;
  }
  SetValue set(e->value());
  if (!distinct || count == 1) {
    ctx.reply.ArrayHeader(static_cast<int64_t>(count));
    for (uint64_t i = 1; i <= count; ++i) {
      set.RandomMember(ctx.db.rng(), &member);
      ctx.reply.Bulk(member);
      // A huge count can only be served to a client without an output
      // limit; one with a limit is disconnected once past it, as Redis
      // stops when the client is marked to be closed.
      if (i % kOutputLimitCheckInterval == 0 && !ctx.server.EnforceOutputBufferLimit(ctx.client)) {
        return;
      }
    }
    return;
  }
  if (count >= set.size()) {
    ctx.reply.ArrayHeader(static_cast<int64_t>(set.size()));
    set.ForEach([&ctx](std::string_view m) {
      ctx.reply.Bulk(m);
      return true;
    });
    return;
  }
  ReplyDistinctRandomMembers(ctx, set, count);
}

// What SINTER, SINTERCARD and SINTERSTORE do with the intersection.
enum class InterOutput { kReply, kCardinality, kStore };

// The intersection of the sets at `keys`. A missing key makes it empty.
// `limit` (kCardinality only) stops counting there; 0 means no limit.
void Intersect(CommandContext& ctx, std::span<const std::string_view> keys, InterOutput output,
               std::string_view destination = {}, uint64_t limit = 0) {
  std::vector<Entry*> sets;
  if (!LookupSets(ctx, keys, &sets)) return;
  if (std::find(sets.begin(), sets.end(), nullptr) != sets.end()) {
    switch (output) {
      case InterOutput::kStore:
        StoreEmptyResult(ctx, destination);
        break;
      case InterOutput::kCardinality:
        ctx.reply.Integer(0);
        break;
      case InterOutput::kReply:
        ctx.reply.SetHeader(0);
        break;
    }
    return;
  }
  // Walk the smallest set and probe the others.
  std::stable_sort(sets.begin(), sets.end(), [](Entry* a, Entry* b) {
    return SetValue(a->value()).size() < SetValue(b->value()).size();
  });
  SetValue smallest(sets[0]->value());
  Value result;
  SetValue result_set = SetValue::CreateIntSet(result);
  const SetLimits limits = Limits(ctx);
  size_t deferred = output == InterOutput::kReply ? ctx.reply.BeginDeferred() : 0;
  uint64_t cardinality = 0;
  smallest.ForEach([&](std::string_view member) {
    for (size_t j = 1; j < sets.size(); ++j) {
      if (sets[j] != sets[0] && !SetValue(sets[j]->value()).Contains(member)) return true;
    }
    ++cardinality;
    if (output == InterOutput::kReply) {
      ctx.reply.Bulk(member);
    } else if (output == InterOutput::kStore) {
      result_set.Add(member, limits);
    } else if (limit != 0 && cardinality >= limit) {
      return false;
    }
    return true;
  });
  switch (output) {
    case InterOutput::kStore:
      StoreResult(ctx, destination, std::move(result));
      break;
    case InterOutput::kCardinality:
      ctx.reply.Integer(static_cast<int64_t>(cardinality));
      break;
    case InterOutput::kReply:
      ctx.reply.EndDeferredSet(deferred, static_cast<int64_t>(cardinality));
      break;
  }
}

enum class SetOp { kUnion, kDiff };

// The union or difference of the sets at `keys` (missing keys are empty
// sets), built as Redis does: into a new set that starts as an intset, so
// its representation (and reply order) follows from its members.
// Returns false after WRONGTYPE.
bool Combine(CommandContext& ctx, std::span<const std::string_view> keys, SetOp op, Value* result) {
  std::vector<Entry*> sets;
  if (!LookupSets(ctx, keys, &sets)) return false;
  SetValue out = SetValue::CreateIntSet(*result);
  const SetLimits limits = Limits(ctx);
  auto add_all = [&](Entry* e) {
    SetValue(e->value()).ForEach([&](std::string_view member) {
      out.Add(member, limits);
      return true;
    });
  };
  if (op == SetOp::kUnion) {
    for (Entry* e : sets) {
      if (e != nullptr) add_all(e);
    }
    return true;
  }
  Entry* first = sets[0];
  // Nothing to subtract from, or the first set subtracts itself.
  if (first == nullptr || std::find(sets.begin() + 1, sets.end(), first) != sets.end()) return true;
  SetValue first_set(first->value());
  // Redis's cost model: probing each member of the first set in every other
  // set (with a bonus for its better constants) against copying the first
  // set and removing every member of the others.
  uint64_t probe_work = 0;
  uint64_t copy_work = 0;
  for (Entry* e : sets) {
    if (e == nullptr) continue;
    probe_work += first_set.size();
    copy_work += SetValue(e->value()).size();
  }
  probe_work /= 2;
  std::vector<Entry*> others;
  for (size_t j = 1; j < sets.size(); ++j) {
    if (sets[j] != nullptr) others.push_back(sets[j]);
  }
  if (probe_work <= copy_work) {
    // Larger sets first: members in common are found sooner.
    std::stable_sort(others.begin(), others.end(), [](Entry* a, Entry* b) {
      return SetValue(a->value()).size() > SetValue(b->value()).size();
    });
    first_set.ForEach([&](std::string_view member) {
      for (Entry* other : others) {
        if (SetValue(other->value()).Contains(member)) return true;
      }
      out.Add(member, limits);
      return true;
    });
    return true;
  }
  add_all(first);
  for (Entry* other : others) {
    if (out.empty()) break;
    SetValue(other->value()).ForEach([&out](std::string_view member) {
      out.Remove(member);
      return !out.empty();
    });
  }
  return true;
}

// SMEMBERS key
// As in Redis 7.0, this is SINTER of a single key.
void SMembersCommand(CommandContext& ctx) {
  Intersect(ctx, ctx.args.subspan(1, 1), InterOutput::kReply);
}

// SINTER key [key ...]
void SInterCommand(CommandContext& ctx) {
  Intersect(ctx, ctx.args.subspan(1), InterOutput::kReply);
}

// SINTERCARD numkeys key [key ...] [LIMIT limit]
void SInterCardCommand(CommandContext& ctx) {
  int64_t numkeys;
  if (!ParseInt64(ctx.args[1], &numkeys) || numkeys < 1) {
    ctx.reply.Error(kNumKeysNotPositive);
    return;
  }
  if (numkeys > static_cast<int64_t>(ctx.argc()) - 2) {
    ctx.reply.Error(kTooManyNumKeys);
    return;
  }
  int64_t limit = 0;
  for (size_t i = 2 + static_cast<size_t>(numkeys); i < ctx.argc(); ++i) {
    if (IsOption(ctx.args[i], "limit") && i + 1 < ctx.argc()) {
      if (!ParseNonNegative(ctx, ctx.args[++i], kLimitNegative, &limit)) return;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  Intersect(ctx, ctx.args.subspan(2, static_cast<size_t>(numkeys)), InterOutput::kCardinality, {},
            static_cast<uint64_t>(limit));
}

// SINTERSTORE destination key [key ...]
void SInterStoreCommand(CommandContext& ctx) {
  Intersect(ctx, ctx.args.subspan(2), InterOutput::kStore, ctx.args[1]);
}

// SUNION key [key ...] / SDIFF key [key ...]
void ReplyCombined(CommandContext& ctx, SetOp op) {
  Value result;
  if (!Combine(ctx, ctx.args.subspan(1), op, &result)) return;
  ReplyMembers(ctx, SetValue(result));
}

// SUNIONSTORE destination key [key ...] / SDIFFSTORE destination key [key ...]
void StoreCombined(CommandContext& ctx, SetOp op) {
  Value result;
  if (!Combine(ctx, ctx.args.subspan(2), op, &result)) return;
  StoreResult(ctx, ctx.args[1], std::move(result));
}

// SUNION key [key ...]
void SUnionCommand(CommandContext& ctx) { ReplyCombined(ctx, SetOp::kUnion); }

// SUNIONSTORE destination key [key ...]
void SUnionStoreCommand(CommandContext& ctx) { StoreCombined(ctx, SetOp::kUnion); }

// SDIFF key [key ...]
void SDiffCommand(CommandContext& ctx) { ReplyCombined(ctx, SetOp::kDiff); }

// SDIFFSTORE destination key [key ...]
void SDiffStoreCommand(CommandContext& ctx) { StoreCombined(ctx, SetOp::kDiff); }

// SSCAN key cursor [MATCH pattern] [COUNT count]
// The options are parsed only once the key is known to be a set: a missing
// key replies an empty scan whatever follows (as Redis 7.0).
void SScanCommand(CommandContext& ctx) {
  uint64_t cursor = 0;
  Entry* e = nullptr;
  ScanOptions options;
  if (!BeginKeyScan(ctx, ValueType::kSet, &cursor, &e, &options)) return;
  const int64_t count = options.count;
  const std::string_view pattern = options.pattern;
  const bool use_pattern = options.use_pattern;
  std::vector<std::string> members;
  cursor = SetValue(e->value()).Scan(cursor, count, [&](std::string_view member) {
    if (!use_pattern || GlobMatch(pattern, member)) members.emplace_back(member);
  });
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(cursor));
  ctx.reply.ArrayHeader(static_cast<int64_t>(members.size()));
  for (const std::string& member : members) ctx.reply.Bulk(member);
}

}  // namespace

void RegisterSetCommands(CommandTable& table) {
  constexpr uint32_t kRead = kCmdReadOnly;
  constexpr uint32_t kWrite = kCmdWrite;
  constexpr uint32_t kGrow = kCmdWrite | kCmdDenyOom;
  // clang-format off
  table.Add({.name = "sadd", .arity = -3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyInsert)}, .handler = SAddCommand, .group = "set", .summary = "Add one or more members to a set", .since = "1.0.0", .complexity = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."});
  table.Add({.name = "srem", .arity = -3, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyDelete)}, .handler = SRemCommand, .group = "set", .summary = "Remove one or more members from a set", .since = "1.0.0", .complexity = "O(N) where N is the number of members to be removed."});
  table.Add({.name = "sismember", .arity = 3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = SIsMemberCommand, .group = "set", .summary = "Determine if a given value is a member of a set", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "smismember", .arity = -3, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = SMIsMemberCommand, .group = "set", .summary = "Returns the membership associated with the given elements for a set", .since = "6.2.0", .complexity = "O(N) where N is the number of elements being checked for membership"});
  table.Add({.name = "smembers", .arity = 2, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = SMembersCommand, .group = "set", .summary = "Get all the members in a set", .since = "1.0.0", .complexity = "O(N) where N is the set cardinality.", .tips = "nondeterministic_output_order"});
  table.Add({.name = "scard", .arity = 2, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = SCardCommand, .group = "set", .summary = "Get the number of members in a set", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "spop", .arity = -2, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = SPopCommand, .group = "set", .summary = "Remove and return one or multiple random members from a set", .since = "1.0.0", .complexity = "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", .tips = "nondeterministic_output"});
  table.Add({.name = "srandmember", .arity = -2, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = SRandMemberCommand, .group = "set", .summary = "Get one or multiple random members from a set", .since = "1.0.0", .complexity = "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", .tips = "nondeterministic_output"});
  table.Add({.name = "smove", .arity = 4, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete), KeyAt(2, kKeyRW | kKeyInsert)}, .handler = SMoveCommand, .group = "set", .summary = "Move a member from one set to another", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "sinter", .arity = -2, .flags = kRead, .key_specs = {KeyRange(1, -1, 1, kKeyRO | kKeyAccess)}, .handler = SInterCommand, .group = "set", .summary = "Intersect multiple sets", .since = "1.0.0", .complexity = "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", .tips = "nondeterministic_output_order"});
  table.Add({.name = "sintercard", .arity = -3, .flags = kRead, .key_specs = {KeysCounted(1, kKeyRO | kKeyAccess)}, .handler = SInterCardCommand, .group = "set", .summary = "Intersect multiple sets and return the cardinality of the result", .since = "7.0.0", .complexity = "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."});
  table.Add({.name = "sinterstore", .arity = -3, .flags = kGrow, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate), KeyRange(2, -1, 1, kKeyRO | kKeyAccess)}, .handler = SInterStoreCommand, .group = "set", .summary = "Intersect multiple sets and store the resulting set in a key", .since = "1.0.0", .complexity = "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."});
  table.Add({.name = "sunion", .arity = -2, .flags = kRead, .key_specs = {KeyRange(1, -1, 1, kKeyRO | kKeyAccess)}, .handler = SUnionCommand, .group = "set", .summary = "Add multiple sets", .since = "1.0.0", .complexity = "O(N) where N is the total number of elements in all given sets.", .tips = "nondeterministic_output_order"});
  table.Add({.name = "sunionstore", .arity = -3, .flags = kGrow, .key_specs = {KeyAt(1, kKeyOW | kKeyUpdate), KeyRange(2, -1, 1, kKeyRO | kKeyAccess)}, .handler = SUnionStoreCommand, .group = "set", .summary = "Add multiple sets and store the resulting set in a key", .since = "1.0.0", .complexity = "O(N) where N is the total number of elements in all given sets."});
  table.Add({.name = "sdiff", .arity = -2, .flags = kRead, .key_specs = {KeyRange(1, -1, 1, kKeyRO | kKeyAccess)}, .handler = SDiffCommand, .group = "set", .summary = "Subtract multiple sets", .since = "1.0.0", .complexity = "O(N) where N is the total number of elements in all given sets.", .tips = "nondeterministic_output_order"});
  table.Add({.name = "sdiffstore", .arity = -3, .flags = kGrow, .key_specs = {KeyAt(1, kKeyOW | kKeyUpdate), KeyRange(2, -1, 1, kKeyRO | kKeyAccess)}, .handler = SDiffStoreCommand, .group = "set", .summary = "Subtract multiple sets and store the resulting set in a key", .since = "1.0.0", .complexity = "O(N) where N is the total number of elements in all given sets."});
  table.Add({.name = "sscan", .arity = -3, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = SScanCommand, .group = "set", .summary = "Incrementally iterate Set elements", .since = "2.8.0", .complexity = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", .tips = "nondeterministic_output"});
  // clang-format on
}

}  // namespace understudy::server

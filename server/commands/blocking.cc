// Blocking list and sorted-set commands: BLPOP, BRPOP, BRPOPLPUSH, BLMOVE,
// BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
//
// Each one first tries its keys in order and, on the first that has
// elements, behaves like its non-blocking form (a key of the wrong type
// before that one is a WRONGTYPE error). Otherwise it blocks the client
// (server/blocking.h), or, inside MULTI/EXEC, answers null at once. The
// arguments are checked in Redis 7.0's order, which differs per command:
// BLPOP and friends parse the timeout first, BLMOVE its two directions
// first, BLMPOP/BZMPOP numkeys, direction and COUNT first.
#include "server/blocking.h"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

using storage::Entry;
using storage::ListEnd;
using storage::ValueType;

constexpr std::string_view kTimeoutNotFloat = "ERR timeout is not a float or out of range";
constexpr std::string_view kTimeoutNegative = "ERR timeout is negative";
constexpr std::string_view kNumkeysNotPositive = "ERR numkeys should be greater than 0";
constexpr std::string_view kCountNotPositive = "ERR count should be greater than 0";

// Redis compares option words as C strings: "left\0junk" reads as LEFT.
bool WordIs(std::string_view arg, std::string_view word) {
  size_t nul = arg.find('\0');
  if (nul != std::string_view::npos) arg = arg.substr(0, nul);
  return EqualsIgnoreCase(arg, word);
}

// Parses a timeout in seconds (fractional) into an absolute deadline in ms
// (0: wait forever), as Redis 7.0 does: whatever strtold accepts (hex
// included), times 1000 rounded up, so any positive fraction of a
// millisecond waits 1 ms and "-0.0001" waits forever. Redis converts the
// milliseconds with a plain C cast, which on x86-64 turns anything out of
// the int64 range (and infinity) into INT64_MIN: "timeout is negative".
// A deadline past the int64 range overflows in Redis into one that never
// fires; here it is simply "forever".
bool ParseTimeoutArg(CommandContext& ctx, std::string_view arg, int64_t* deadline_ms) {
  long double seconds = 0;
  if (!ParseLongDouble(arg, &seconds)) {
    ctx.reply.Error(kTimeoutNotFloat);
    return false;
  }
  const long double ms = std::ceil(seconds * 1000.0L);
  constexpr long double kLimit = 9223372036854775808.0L;  // 2^63
  const int64_t timeout = (ms >= -kLimit && ms < kLimit) ? static_cast<int64_t>(ms)
                                                         : std::numeric_limits<int64_t>::min();
  if (timeout < 0) {
    ctx.reply.Error(kTimeoutNegative);
    return false;
  }
  if (timeout == 0 || timeout > std::numeric_limits<int64_t>::max() - ctx.now_ms) {
    *deadline_ms = 0;
  } else {
    *deadline_ms = ctx.now_ms + timeout;
  }
  return true;
}

// LEFT|RIGHT, or "ERR syntax error".
bool ParseListEnd(CommandContext& ctx, std::string_view arg, ListEnd* end) {
  if (WordIs(arg, "left")) {
    *end = ListEnd::kHead;
  } else if (WordIs(arg, "right")) {
    *end = ListEnd::kTail;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  return true;
}

// A positive 64-bit integer (numkeys, COUNT), or `error` for anything else.
bool ParsePositiveArg(CommandContext& ctx, std::string_view arg, std::string_view error,
                      int64_t* out) {
  if (!ParseInt64(arg, out) || *out < 1) {
    ctx.reply.Error(error);
    return false;
  }
  return true;
}

// The common tail of every blocking command: serve from the first key that
// has elements, else block (or answer null inside MULTI/EXEC). `keys` are
// the request's keys, in order.
void PopOrBlock(CommandContext& ctx, BlockedRequest& request,
                std::span<const std::string_view> keys) {
  const ValueType type = IsListOp(request.op) ? ValueType::kList : ValueType::kZSet;
  for (std::string_view key : keys) {
    Entry* entry = nullptr;
    if (!LookupWrite(ctx, key, type, &entry)) return;
    if (entry == nullptr) continue;
    PopForRequest(ctx.server, ctx.db, key, request, ctx.reply, ctx.now_ms);
    return;
  }
  if (ctx.client.in_multi) {
    // A transaction cannot wait: it gets what a timeout would give, except
    // that BLMOVE/BRPOPLPUSH answer like LMOVE on a missing key.
    if (request.op == BlockedOp::kListMove) {
      ctx.reply.Null();
    } else {
      ctx.reply.NullArray();
    }
    return;
  }
  request.keys.assign(keys.begin(), keys.end());
  ctx.server.blocking().Block(ctx.client, std::move(request));
}

// BLPOP/BRPOP key [key ...] timeout
void BlockingListPop(CommandContext& ctx, ListEnd from) {
  BlockedRequest request;
  if (!ParseTimeoutArg(ctx, ctx.args.back(), &request.deadline_ms)) return;
  request.op = BlockedOp::kListPop;
  request.from = from;
  PopOrBlock(ctx, request, ctx.args.subspan(1, ctx.argc() - 2));
}

// BLPOP key [key ...] timeout
void BlpopCommand(CommandContext& ctx) { BlockingListPop(ctx, ListEnd::kHead); }

// BRPOP key [key ...] timeout
void BrpopCommand(CommandContext& ctx) { BlockingListPop(ctx, ListEnd::kTail); }

// The shared part of BLMOVE and BRPOPLPUSH once their arguments are parsed.
void BlockingMove(CommandContext& ctx, BlockedRequest& request) {
  request.op = BlockedOp::kListMove;
  request.target = std::string(ctx.args[2]);
  PopOrBlock(ctx, request, ctx.args.subspan(1, 1));
}

// BRPOPLPUSH source destination timeout
void BrpoplpushCommand(CommandContext& ctx) {
  BlockedRequest request;
  if (!ParseTimeoutArg(ctx, ctx.args[3], &request.deadline_ms)) return;
  request.from = ListEnd::kTail;
  request.to = ListEnd::kHead;
  BlockingMove(ctx, request);
}

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
void BlmoveCommand(CommandContext& ctx) {
  BlockedRequest request;
  if (!ParseListEnd(ctx, ctx.args[3], &request.from) ||
      !ParseListEnd(ctx, ctx.args[4], &request.to) ||
      !ParseTimeoutArg(ctx, ctx.args[5], &request.deadline_ms)) {
    return;
  }
  BlockingMove(ctx, request);
}

// The shared parsing of BLMPOP and BZMPOP: "timeout numkeys key [key ...]
// <direction> [COUNT count]", checked in Redis's order (numkeys, direction,
// COUNT, then timeout). `low`/`high` name the directions (LEFT/RIGHT or
// MIN/MAX); `high` maps to ListEnd::kTail.
void BlockingMultiPop(CommandContext& ctx, BlockedOp op, std::string_view low,
                      std::string_view high) {
  BlockedRequest request;
  request.op = op;
  int64_t numkeys = 0;
  if (!ParsePositiveArg(ctx, ctx.args[2], kNumkeysNotPositive, &numkeys)) return;
  // The direction follows the keys; compared without overflowing.
  if (numkeys > static_cast<int64_t>(ctx.argc()) - 4) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const size_t where_index = 3 + static_cast<size_t>(numkeys);
  if (WordIs(ctx.args[where_index], low)) {
    request.from = ListEnd::kHead;
  } else if (WordIs(ctx.args[where_index], high)) {
    request.from = ListEnd::kTail;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  bool have_count = false;
  for (size_t i = where_index + 1; i < ctx.argc(); ++i) {
    if (!have_count && WordIs(ctx.args[i], "count") && i + 1 < ctx.argc()) {
      if (!ParsePositiveArg(ctx, ctx.args[++i], kCountNotPositive, &request.count)) return;
      have_count = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (!ParseTimeoutArg(ctx, ctx.args[1], &request.deadline_ms)) return;
  PopOrBlock(ctx, request, ctx.args.subspan(3, static_cast<size_t>(numkeys)));
}

// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
void BlmpopCommand(CommandContext& ctx) {
  BlockingMultiPop(ctx, BlockedOp::kListMPop, "left", "right");
}

// BZPOPMIN/BZPOPMAX key [key ...] timeout
void BlockingZSetPop(CommandContext& ctx, ListEnd from) {
  BlockedRequest request;
  if (!ParseTimeoutArg(ctx, ctx.args.back(), &request.deadline_ms)) return;
  request.op = BlockedOp::kZSetPop;
  request.from = from;
  PopOrBlock(ctx, request, ctx.args.subspan(1, ctx.argc() - 2));
}

// BZPOPMIN key [key ...] timeout
void BzpopminCommand(CommandContext& ctx) { BlockingZSetPop(ctx, ListEnd::kHead); }

// BZPOPMAX key [key ...] timeout
void BzpopmaxCommand(CommandContext& ctx) { BlockingZSetPop(ctx, ListEnd::kTail); }

// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
void BzmpopCommand(CommandContext& ctx) {
  BlockingMultiPop(ctx, BlockedOp::kZSetMPop, "min", "max");
}

}  // namespace

void RegisterBlockingCommands(CommandTable& table) {
  constexpr uint32_t kListBlocking = kCmdWrite | kCmdNoScript | kCmdBlocking;
  constexpr uint32_t kMoveBlocking = kCmdWrite | kCmdDenyOom | kCmdNoScript | kCmdBlocking;
  constexpr uint32_t kMultiPopBlocking = kCmdWrite | kCmdBlocking;
  // clang-format off
  table.Add({.name = "blpop", .arity = -3, .flags = kListBlocking, .key_specs = {KeyRange(1, -2, 1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = BlpopCommand, .group = "list", .summary = "Remove and get the first element in a list, or block until one is available", .since = "2.0.0", .complexity = "O(N) where N is the number of provided keys."});
  table.Add({.name = "brpop", .arity = -3, .flags = kListBlocking, .key_specs = {KeyRange(1, -2, 1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = BrpopCommand, .group = "list", .summary = "Remove and get the last element in a list, or block until one is available", .since = "2.0.0", .complexity = "O(N) where N is the number of provided keys."});
  table.Add({.name = "brpoplpush", .arity = 4, .flags = kMoveBlocking, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete), KeyAt(2, kKeyRW | kKeyInsert)}, .handler = BrpoplpushCommand, .group = "list", .summary = "Pop an element from a list, push it to another list and return it; or block until one is available", .since = "2.2.0", .complexity = "O(1)"});
  table.Add({.name = "blmove", .arity = 6, .flags = kMoveBlocking, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete), KeyAt(2, kKeyRW | kKeyInsert)}, .handler = BlmoveCommand, .group = "list", .summary = "Pop an element from a list, push it to another list and return it; or block until one is available", .since = "6.2.0", .complexity = "O(1)"});
  table.Add({.name = "blmpop", .arity = -5, .flags = kMultiPopBlocking, .key_specs = {KeysCounted(2, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = BlmpopCommand, .group = "list", .summary = "Pop elements from a list, or block until one is available", .since = "7.0.0", .complexity = "O(N+M) where N is the number of provided keys and M is the number of elements returned."});
  table.Add({.name = "bzpopmin", .arity = -3, .flags = kListBlocking | kCmdFast, .key_specs = {KeyRange(1, -2, 1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = BzpopminCommand, .group = "sorted-set", .summary = "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", .since = "5.0.0", .complexity = "O(log(N)) with N being the number of elements in the sorted set."});
  table.Add({.name = "bzpopmax", .arity = -3, .flags = kListBlocking | kCmdFast, .key_specs = {KeyRange(1, -2, 1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = BzpopmaxCommand, .group = "sorted-set", .summary = "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", .since = "5.0.0", .complexity = "O(log(N)) with N being the number of elements in the sorted set."});
  table.Add({.name = "bzmpop", .arity = -5, .flags = kMultiPopBlocking, .key_specs = {KeysCounted(2, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = BzmpopCommand, .group = "sorted-set", .summary = "Remove and return members with scores in a sorted set or block until one is available", .since = "7.0.0", .complexity = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."});
  // clang-format on
}

}  // namespace understudy::server

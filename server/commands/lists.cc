// List commands (non-blocking): pushes, pops, ranges, positional access,
// LREM/LTRIM/LINSERT/LPOS and the moves between lists, with Redis 7.0's
// replies and error texts. The data structure is storage/list_value.h.
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "server/commands/families.h"
#include "server/commands/helpers.h"
#include "storage/list_value.h"

namespace understudy::server {

using storage::Entry;
using storage::ListEnd;
using storage::Value;
using storage::ValueType;
namespace list = storage::list;

namespace {

constexpr std::string_view kIndexOutOfRange = "ERR index out of range";
constexpr std::string_view kMustBePositive = "ERR value is out of range, must be positive";
constexpr std::string_view kRankZero =
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "
    "negative to start from the end of the list";
constexpr std::string_view kCountNegative = "ERR COUNT can't be negative";
constexpr std::string_view kMaxlenNegative = "ERR MAXLEN can't be negative";
constexpr std::string_view kNumkeysPositive = "ERR numkeys should be greater than 0";
constexpr std::string_view kCountPositive = "ERR count should be greater than 0";

// The list-max-listpack-size in force.
int64_t ListNodeLimit(CommandContext& ctx) { return ctx.server.config().list_max_listpack_size; }

// Parses LEFT or RIGHT (any case); false otherwise (the caller replies
// "ERR syntax error").
bool ParseListEnd(std::string_view arg, ListEnd* end) {
  if (EqualsIgnoreCase(arg, "left")) {
    *end = ListEnd::kHead;
    return true;
  }
  if (EqualsIgnoreCase(arg, "right")) {
    *end = ListEnd::kTail;
    return true;
  }
  return false;
}

// Pops up to `count` (>= 1) elements from `end` of the non-empty list at
// `key` (its live entry `entry`) and replies with them: as an array, or as
// [key, [elements...]] when `with_key` (LMPOP). Deletes the key when it
// becomes empty and marks it modified.
void PopRangeAndReply(CommandContext& ctx, std::string_view key, Entry* entry, ListEnd end,
                      int64_t count, bool with_key) {
  Value& value = entry->value();
  const int64_t limit = ListNodeLimit(ctx);
  size_t length = list::Length(value);
  size_t n = static_cast<uint64_t>(count) < length ? static_cast<size_t>(count) : length;
  if (with_key) {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(key);
  }
  ctx.reply.ArrayHeader(static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) {
    ctx.reply.Bulk(list::Peek(value, end));
    list::Drop(value, end, limit);
  }
  if (n == length) ctx.db.Delete(key, ctx.now_ms);
  ctx.KeyModified(key);
}

// The LMOVE step once the source list is known to exist: checks the
// destination's type (replying WRONGTYPE, nothing changed), then moves one
// element from `from` of `source` to `to` of `destination` (creating it),
// deletes an emptied source, marks both keys modified, signals the
// destination ready and replies the element.
void MoveAndReply(CommandContext& ctx, std::string_view source, Entry* source_entry,
                  std::string_view destination, ListEnd from, ListEnd to) {
  Entry* target = nullptr;
  if (!LookupWrite(ctx, destination, ValueType::kList, &target)) return;
  const int64_t limit = ListNodeLimit(ctx);
  std::string element(list::Peek(source_entry->value(), from));
  list::Drop(source_entry->value(), from, limit);
  if (target == nullptr) {
    bool created;
    target = ctx.db.FindOrCreate(destination, ctx.now_ms, &created);
    list::Init(target->value());
  }
  // With source == destination, `target` is the source entry: the element
  // goes back in before the emptiness check, so a one-element list rotates.
  list::Push(target->value(), to, element, limit);
  ctx.KeyModified(destination);
  ctx.KeyReady(destination);
  if (list::Length(source_entry->value()) == 0) ctx.db.Delete(source, ctx.now_ms);
  ctx.KeyModified(source);
  ctx.reply.Bulk(element);
}

// Resolves LRANGE/LTRIM bounds (negative from the end, clamped) against
// `length`; false when the range is empty.
bool ResolveRange(int64_t start, int64_t stop, size_t length, size_t* first, size_t* count) {
  const int64_t len = static_cast<int64_t>(length);
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  if (start > stop || start >= len) return false;
  if (stop >= len) stop = len - 1;
  *first = static_cast<size_t>(start);
  *count = static_cast<size_t>(stop - start + 1);
  return true;
}

// Parses a non-negative integer option value, replying `error` (for
// non-integers too, as Redis does) and returning false otherwise.
bool ParseNonNegative(CommandContext& ctx, std::string_view arg, std::string_view error,
                      int64_t* out) {
  if (ParseInt64(arg, out) && *out >= 0) return true;
  ctx.reply.Error(error);
  return false;
}

// LPUSH/RPUSH (create the list) and LPUSHX/RPUSHX (existing lists only).
void PushGeneric(CommandContext& ctx, ListEnd end, bool existing_only) {
  std::string_view key = ctx.args[1];
  Entry* e = nullptr;
  if (existing_only) {
    if (!LookupWrite(ctx, key, ValueType::kList, &e)) return;
    if (e == nullptr) {
      ctx.reply.Integer(0);
      return;
    }
  } else {
    bool created;
    e = ctx.db.FindOrCreate(key, ctx.now_ms, &created);
    if (created) {
      list::Init(e->value());
    } else if (e->value().type() != ValueType::kList) {
      ctx.reply.Error(errors::kWrongType);
      return;
    }
  }
  const int64_t limit = ListNodeLimit(ctx);
  Value& value = e->value();
  for (size_t i = 2; i < ctx.argc(); ++i) list::Push(value, end, ctx.args[i], limit);
  ctx.reply.Integer(static_cast<int64_t>(list::Length(value)));
  ctx.KeyModified(key);
  ctx.KeyReady(key);
}

// LPUSH key element [element ...]
void LPushCommand(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kHead, false); }

// RPUSH key element [element ...]
void RPushCommand(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kTail, false); }

// LPUSHX key element [element ...]
void LPushXCommand(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kHead, true); }

// RPUSHX key element [element ...]
void RPushXCommand(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kTail, true); }

// LPOP/RPOP: one element as a bulk string, or with a count an array.
void PopGeneric(CommandContext& ctx, ListEnd end) {
  if (ctx.argc() > 3) {
    ctx.WrongArity();
    return;
  }
  const bool has_count = ctx.argc() == 3;
  int64_t count = 1;
  if (has_count && !(ParseInt64(ctx.args[2], &count) && count >= 0)) {
    ctx.reply.Error(kMustBePositive);
    return;
  }
  std::string_view key = ctx.args[1];
  Entry* e = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kList, &e)) return;
  if (e == nullptr) {
    has_count ? ctx.reply.NullArray() : ctx.reply.Null();
    return;
  }
  if (has_count) {
    if (count == 0) {
      ctx.reply.EmptyArray();
      return;
    }
    PopRangeAndReply(ctx, key, e, end, count, /*with_key=*/false);
    return;
  }
  Value& value = e->value();
  ctx.reply.Bulk(list::Peek(value, end));
  list::Drop(value, end, ListNodeLimit(ctx));
  if (list::Length(value) == 0) ctx.db.Delete(key, ctx.now_ms);
  ctx.KeyModified(key);
}

// LPOP key [count]
void LPopCommand(CommandContext& ctx) { PopGeneric(ctx, ListEnd::kHead); }

// RPOP key [count]
void RPopCommand(CommandContext& ctx) { PopGeneric(ctx, ListEnd::kTail); }

// LLEN key
void LLenCommand(CommandContext& ctx) {
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kList, &e)) return;
  ctx.reply.Integer(e ? static_cast<int64_t>(list::Length(e->value())) : 0);
}

// LRANGE key start stop
void LRangeCommand(CommandContext& ctx) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &start) || !ParseIntegerArg(ctx, ctx.args[3], &stop)) {
    return;
  }
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kList, &e)) return;
  size_t first = 0;
  size_t count = 0;
  if (e == nullptr || !ResolveRange(start, stop, list::Length(e->value()), &first, &count)) {
    ctx.reply.EmptyArray();
    return;
  }
  ctx.reply.ArrayHeader(static_cast<int64_t>(count));
  // About 8 bytes of framing per element; elements themselves append after.
  std::string* out = ctx.reply.buffer();
  out->reserve(out->size() + count * 12);
  list::Iterator it(e->value(), first, ListEnd::kTail);
  for (size_t i = 0; i < count; ++i, it.Next()) ctx.reply.Bulk(it.Get());
}

// LINDEX key index
void LIndexCommand(CommandContext& ctx) {
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kList, &e)) return;
  if (e == nullptr) {
    ctx.reply.Null();
    return;
  }
  int64_t index = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &index)) return;
  std::string_view element;
  if (list::Index(e->value(), index, &element)) {
    ctx.reply.Bulk(element);
  } else {
    ctx.reply.Null();
  }
}

// LSET key index element
void LSetCommand(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  Entry* e = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kList, &e)) return;
  if (e == nullptr) {
    ctx.reply.Error(errors::kNoSuchKey);
    return;
  }
  int64_t index = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &index)) return;
  if (!list::Set(e->value(), index, ctx.args[3], ListNodeLimit(ctx))) {
    ctx.reply.Error(kIndexOutOfRange);
    return;
  }
  ctx.KeyModified(key);
  ctx.reply.Ok();
}

// LREM key count element
void LRemCommand(CommandContext& ctx) {
  int64_t count = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &count)) return;
  std::string_view key = ctx.args[1];
  Entry* e = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kList, &e)) return;
  if (e == nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  size_t removed = list::Remove(e->value(), count, ctx.args[3], ListNodeLimit(ctx));
  if (removed > 0) {
    if (list::Length(e->value()) == 0) ctx.db.Delete(key, ctx.now_ms);
    ctx.KeyModified(key);
  }
  ctx.reply.Integer(static_cast<int64_t>(removed));
}

// LTRIM key start stop
void LTrimCommand(CommandContext& ctx) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &start) || !ParseIntegerArg(ctx, ctx.args[3], &stop)) {
    return;
  }
  std::string_view key = ctx.args[1];
  Entry* e = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kList, &e)) return;
  if (e != nullptr) {
    Value& value = e->value();
    size_t first = 0;
    size_t keep = 0;
    if (!ResolveRange(start, stop, list::Length(value), &first, &keep)) keep = 0;
    list::Trim(value, first, keep, ListNodeLimit(ctx));
    if (list::Length(value) == 0) ctx.db.Delete(key, ctx.now_ms);
    // Redis signals the key even when nothing was trimmed.
    ctx.KeyModified(key);
  }
  ctx.reply.Ok();
}

// LINSERT key BEFORE|AFTER pivot element
void LInsertCommand(CommandContext& ctx) {
  bool after;
  if (EqualsIgnoreCase(ctx.args[2], "after")) {
    after = true;
  } else if (EqualsIgnoreCase(ctx.args[2], "before")) {
    after = false;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  std::string_view key = ctx.args[1];
  Entry* e = nullptr;
  if (!LookupWrite(ctx, key, ValueType::kList, &e)) return;
  if (e == nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  if (!list::InsertAt(e->value(), ctx.args[3], after, ctx.args[4], ListNodeLimit(ctx))) {
    ctx.reply.Integer(-1);
    return;
  }
  ctx.KeyModified(key);
  ctx.KeyReady(key);
  ctx.reply.Integer(static_cast<int64_t>(list::Length(e->value())));
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
void LPosCommand(CommandContext& ctx) {
  int64_t rank = 1;
  int64_t count = -1;  // -1: no COUNT option (reply a single position)
  int64_t maxlen = 0;
  for (size_t i = 3; i < ctx.argc(); ++i) {
    std::string_view option = ctx.args[i];
    bool has_value = i + 1 < ctx.argc();
    if (has_value && EqualsIgnoreCase(option, "rank")) {
      if (!ParseIntegerArg(ctx, ctx.args[++i], &rank)) return;
      if (rank == 0) {
        ctx.reply.Error(kRankZero);
        return;
      }
    } else if (has_value && EqualsIgnoreCase(option, "count")) {
      if (!ParseNonNegative(ctx, ctx.args[++i], kCountNegative, &count)) return;
    } else if (has_value && EqualsIgnoreCase(option, "maxlen")) {
      if (!ParseNonNegative(ctx, ctx.args[++i], kMaxlenNegative, &maxlen)) return;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  const bool has_count = count != -1;
  Entry* e = nullptr;
  if (!LookupRead(ctx, ctx.args[1], ValueType::kList, &e)) return;
  if (e == nullptr) {
    has_count ? ctx.reply.EmptyArray() : ctx.reply.Null();
    return;
  }
  size_t wanted = has_count ? static_cast<size_t>(count) : 1;
  if (rank == std::numeric_limits<int64_t>::min()) {
    // Redis negates the rank in a C long, which leaves this one negative:
    // the search runs from the tail, skips nothing and ignores COUNT.
    rank = -1;
    if (has_count) wanted = 0;
  }
  std::vector<size_t> positions =
      list::Positions(e->value(), ctx.args[2], rank, wanted, static_cast<size_t>(maxlen));
  if (has_count) {
    ctx.reply.ArrayHeader(static_cast<int64_t>(positions.size()));
    for (size_t position : positions) ctx.reply.Integer(static_cast<int64_t>(position));
  } else if (positions.empty()) {
    ctx.reply.Null();
  } else {
    ctx.reply.Integer(static_cast<int64_t>(positions.front()));
  }
}

// The common part of LMOVE and RPOPLPUSH.
void MoveGeneric(CommandContext& ctx, ListEnd from, ListEnd to) {
  std::string_view source = ctx.args[1];
  Entry* e = nullptr;
  if (!LookupWrite(ctx, source, ValueType::kList, &e)) return;
  if (e == nullptr) {
    ctx.reply.Null();
    return;
  }
  MoveAndReply(ctx, source, e, ctx.args[2], from, to);
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
void LMoveCommand(CommandContext& ctx) {
  ListEnd from;
  ListEnd to;
  if (!ParseListEnd(ctx.args[3], &from) || !ParseListEnd(ctx.args[4], &to)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  MoveGeneric(ctx, from, to);
}

// RPOPLPUSH source destination
void RPopLPushCommand(CommandContext& ctx) { MoveGeneric(ctx, ListEnd::kTail, ListEnd::kHead); }

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
void LMPopCommand(CommandContext& ctx) {
  int64_t numkeys = 0;
  if (!ParseInt64(ctx.args[1], &numkeys) || numkeys < 1) {
    ctx.reply.Error(kNumkeysPositive);
    return;
  }
  // The keys are args[2 .. 2+numkeys), then the direction.
  if (numkeys > static_cast<int64_t>(ctx.argc()) - 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const size_t where_index = 2 + static_cast<size_t>(numkeys);
  ListEnd end;
  if (!ParseListEnd(ctx.args[where_index], &end)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  int64_t count = -1;
  for (size_t i = where_index + 1; i < ctx.argc(); ++i) {
    if (count == -1 && i + 1 < ctx.argc() && EqualsIgnoreCase(ctx.args[i], "count")) {
      if (!ParseInt64(ctx.args[++i], &count) || count < 1) {
        ctx.reply.Error(kCountPositive);
        return;
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (count == -1) count = 1;
  for (size_t i = 2; i < where_index; ++i) {
    Entry* e = nullptr;
    if (!LookupWrite(ctx, ctx.args[i], ValueType::kList, &e)) return;
    if (e == nullptr) continue;
    PopRangeAndReply(ctx, ctx.args[i], e, end, count, /*with_key=*/true);
    return;
  }
  ctx.reply.NullArray();
}

}  // namespace

// clang-format off
void RegisterListCommands(CommandTable& table) {
  constexpr uint32_t kRead = kCmdReadOnly;
  constexpr uint32_t kWrite = kCmdWrite;
  constexpr uint32_t kGrow = kCmdWrite | kCmdDenyOom;
  constexpr const char* kPushComplexity = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";

  table.Add({.name = "lpush", .arity = -3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyInsert)}, .handler = LPushCommand, .group = "list", .summary = "Prepend one or multiple elements to a list", .since = "1.0.0", .complexity = kPushComplexity});
  table.Add({.name = "rpush", .arity = -3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyInsert)}, .handler = RPushCommand, .group = "list", .summary = "Append one or multiple elements to a list", .since = "1.0.0", .complexity = kPushComplexity});
  table.Add({.name = "lpushx", .arity = -3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyInsert)}, .handler = LPushXCommand, .group = "list", .summary = "Prepend an element to a list, only if the list exists", .since = "2.2.0", .complexity = kPushComplexity});
  table.Add({.name = "rpushx", .arity = -3, .flags = kGrow | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyInsert)}, .handler = RPushXCommand, .group = "list", .summary = "Append an element to a list, only if the list exists", .since = "2.2.0", .complexity = kPushComplexity});
  table.Add({.name = "lpop", .arity = -2, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = LPopCommand, .group = "list", .summary = "Remove and get the first elements in a list", .since = "1.0.0", .complexity = "O(N) where N is the number of elements returned"});
  table.Add({.name = "rpop", .arity = -2, .flags = kWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = RPopCommand, .group = "list", .summary = "Remove and get the last elements in a list", .since = "1.0.0", .complexity = "O(N) where N is the number of elements returned"});
  table.Add({.name = "llen", .arity = 2, .flags = kRead | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = LLenCommand, .group = "list", .summary = "Get the length of a list", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "lrange", .arity = 4, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = LRangeCommand, .group = "list", .summary = "Get a range of elements from a list", .since = "1.0.0", .complexity = "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."});
  table.Add({.name = "lindex", .arity = 3, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = LIndexCommand, .group = "list", .summary = "Get an element from a list by its index", .since = "1.0.0", .complexity = "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."});
  table.Add({.name = "lset", .arity = 4, .flags = kGrow, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = LSetCommand, .group = "list", .summary = "Set the value of an element in a list by its index", .since = "1.0.0", .complexity = "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."});
  table.Add({.name = "lrem", .arity = 4, .flags = kWrite, .key_specs = {KeyAt(1, kKeyRW | kKeyDelete)}, .handler = LRemCommand, .group = "list", .summary = "Remove elements from a list", .since = "1.0.0", .complexity = "O(N+M) where N is the length of the list and M is the number of elements removed."});
  table.Add({.name = "ltrim", .arity = 4, .flags = kWrite, .key_specs = {KeyAt(1, kKeyRW | kKeyDelete)}, .handler = LTrimCommand, .group = "list", .summary = "Trim a list to the specified range", .since = "1.0.0", .complexity = "O(N) where N is the number of elements to be removed by the operation."});
  table.Add({.name = "linsert", .arity = 5, .flags = kGrow, .key_specs = {KeyAt(1, kKeyRW | kKeyInsert)}, .handler = LInsertCommand, .group = "list", .summary = "Insert an element before or after another element in a list", .since = "2.2.0", .complexity = "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."});
  table.Add({.name = "lpos", .arity = -3, .flags = kRead, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = LPosCommand, .group = "list", .summary = "Return the index of matching elements on a list", .since = "6.0.6", .complexity = "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."});
  table.Add({.name = "lmove", .arity = 5, .flags = kGrow, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete), KeyAt(2, kKeyRW | kKeyInsert)}, .handler = LMoveCommand, .group = "list", .summary = "Pop an element from a list, push it to another list and return it", .since = "6.2.0", .complexity = "O(1)"});
  table.Add({.name = "rpoplpush", .arity = 3, .flags = kGrow, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete), KeyAt(2, kKeyRW | kKeyInsert)}, .handler = RPopLPushCommand, .group = "list", .summary = "Remove the last element in a list, prepend it to another list and return it", .since = "1.2.0", .complexity = "O(1)"});
  table.Add({.name = "lmpop", .arity = -4, .flags = kWrite, .key_specs = {KeysCounted(1, kKeyRW | kKeyAccess | kKeyDelete)}, .handler = LMPopCommand, .group = "list", .summary = "Pop elements from a list", .since = "7.0.0", .complexity = "O(N+M) where N is the number of provided keys and M is the number of elements returned."});
}
// clang-format on

}  // namespace understudy::server

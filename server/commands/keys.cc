// Generic key commands (DEL, RENAME, KEYS, SCAN, COPY, MOVE, OBJECT ...) and
// the expiry commands (EXPIRE family, TTL family, PERSIST), with the replies
// and error texts of Redis 7.0.
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "common/glob.h"
#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

using storage::Database;
using storage::Entry;
using storage::kNoExpire;
using storage::ValueType;

constexpr std::string_view kSameObject = "ERR source and destination objects are the same";

// Redis compares option words and formats some errors with C string
// functions, so an argument is only "seen" up to its first NUL byte.
std::string_view UpToNul(std::string_view arg) {
  size_t nul = arg.find('\0');
  return nul == std::string_view::npos ? arg : arg.substr(0, nul);
}

// Marks `key` of database `db_index` as modified: COPY and MOVE change keys
// of a database other than the client's.
void TouchKeyInDb(CommandContext& ctx, int db_index, std::string_view key) {
  if (db_index == ctx.db.index()) {
    ctx.KeyModified(key);
  } else {
    ctx.server.TouchWatchedKey(db_index, key);
  }
}

// Parses an int argument the way Redis's getIntFromObjectOrReply does: a
// 64-bit integer first, then the int range with its own error text.
bool ParseIntArg(CommandContext& ctx, std::string_view arg, int* out) {
  int64_t value = 0;
  if (!ParseIntegerArg(ctx, arg, &value)) return false;
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    ctx.reply.Error("ERR value is out of range, value must between -2147483648 and 2147483647");
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

// Parses a database number for COPY ... DB n and MOVE; replies with the
// error and returns false when it is not an int or not a valid index.
bool ParseDbIndexArg(CommandContext& ctx, std::string_view arg, int* out) {
  if (!ParseIntArg(ctx, arg, out)) return false;
  if (*out < 0 || *out >= ctx.server.database_count()) {
    ctx.reply.Error(errors::kDbIndexOutOfRange);
    return false;
  }
  return true;
}

// DEL key [key ...]  and  UNLINK key [key ...]
// Both free synchronously: values are small enough in this store.
void DelCommand(CommandContext& ctx) {
  int64_t deleted = 0;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    if (ctx.db.Delete(ctx.args[i], ctx.now_ms)) {
      ctx.KeyModified(ctx.args[i]);
      ++deleted;
    }
  }
  ctx.reply.Integer(deleted);
}

// EXISTS key [key ...]  (a key named twice counts twice)
void ExistsCommand(CommandContext& ctx) {
  int64_t found = 0;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    if (ctx.db.FindForRead(ctx.args[i], ctx.now_ms) != nullptr) ++found;
  }
  ctx.reply.Integer(found);
}

// TOUCH key [key ...]  (counts the existing keys; access times are not kept)
void TouchCommand(CommandContext& ctx) { ExistsCommand(ctx); }

// TYPE key
void TypeCommand(CommandContext& ctx) {
  Entry* e = ctx.db.FindForRead(ctx.args[1], ctx.now_ms);
  ctx.reply.Status(e == nullptr ? "none" : storage::ValueTypeName(e->value().type()));
}

// Shared body of RENAME and RENAMENX.
void RenameGeneric(CommandContext& ctx, bool only_if_absent) {
  std::string_view source = ctx.args[1];
  std::string_view target = ctx.args[2];
  if (ctx.db.Find(source, ctx.now_ms) == nullptr) {
    ctx.reply.Error(errors::kNoSuchKey);
    return;
  }
  if (source == target) {
    if (only_if_absent) {
      ctx.reply.Integer(0);
    } else {
      ctx.reply.Ok();
    }
    return;
  }
  // Looking the target up first also expires it if its deadline passed.
  if (ctx.db.Find(target, ctx.now_ms) != nullptr && only_if_absent) {
    ctx.reply.Integer(0);
    return;
  }
  Database::Detached item;
  ctx.db.Detach(source, ctx.now_ms, &item);
  ctx.db.Attach(target, std::move(item));  // overwrites value and deadline
  ctx.KeyModified(source);
  ctx.KeyModified(target);
  if (only_if_absent) {
    ctx.reply.Integer(1);
  } else {
    ctx.reply.Ok();
  }
}

// RENAME key newkey
void RenameCommand(CommandContext& ctx) { RenameGeneric(ctx, false); }

// RENAMENX key newkey
void RenameNxCommand(CommandContext& ctx) { RenameGeneric(ctx, true); }

// KEYS pattern
// Walks the whole table; expired keys are skipped but not deleted here (as
// in Redis, KEYS does not expire keys).
void KeysCommand(CommandContext& ctx) {
  std::string_view pattern = ctx.args[1];
  // "*" is special-cased: the glob rules would not match the empty key.
  bool all_keys = pattern == "*";
  const Database& db = ctx.db;
  size_t mark = ctx.reply.BeginDeferred();
  int64_t count = 0;
  uint64_t cursor = 0;
  do {
    cursor = db.dict().Scan(cursor, [&](Entry* e) {
      if ((all_keys || GlobMatch(pattern, e->key())) && db.IsLive(e, ctx.now_ms)) {
        ctx.reply.Bulk(e->key());
        ++count;
      }
    });
  } while (cursor != 0);
  ctx.reply.EndDeferredArray(mark, count);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
// COUNT bounds the keys collected per call (not the keys returned), and at
// most COUNT*10 extra buckets are visited. MATCH, TYPE and expiry filter the
// collected keys afterwards; expired keys are deleted at that point, never
// during the table walk.
void ScanCommand(CommandContext& ctx) {
  uint64_t cursor = 0;
  if (!ParseScanCursor(ctx.args[1], &cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;
  std::string_view type_name;
  bool use_type = false;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    bool has_value = i + 1 < ctx.argc();
    if (IsOption(ctx.args[i], "count") && has_value) {
      if (!ParseIntegerArg(ctx, ctx.args[i + 1], &count)) return;
      if (count < 1) {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
    } else if (IsOption(ctx.args[i], "match") && has_value) {
      pattern = ctx.args[i + 1];
      use_pattern = pattern != "*";
    } else if (IsOption(ctx.args[i], "type") && has_value) {
      type_name = UpToNul(ctx.args[i + 1]);
      use_type = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }

  std::vector<std::string> keys;
  const storage::Dict& dict = ctx.db.dict();
  int64_t max_iterations = count > std::numeric_limits<int64_t>::max() / 10
                               ? std::numeric_limits<int64_t>::max()
                               : count * 10;
  do {
    cursor = dict.Scan(cursor, [&keys](Entry* e) { keys.emplace_back(e->key()); });
  } while (cursor != 0 && max_iterations-- > 0 && keys.size() < static_cast<uint64_t>(count));

  // Keep the survivors at the front of `keys`, in scan order.
  size_t reply_count = 0;
  for (std::string& key : keys) {
    if (use_pattern && !GlobMatch(pattern, key)) continue;
    bool gone = false;
    if (use_type) {
      Entry* e = ctx.db.FindForRead(key, ctx.now_ms);
      gone = e == nullptr;
      std::string_view actual = gone ? "none" : storage::ValueTypeName(e->value().type());
      if (!EqualsIgnoreCase(type_name, actual)) continue;
    }
    // Redis 7.0 quirk kept on purpose: with TYPE none, a key that the type
    // lookup just expired is no longer "expired" for the check below, so
    // it is returned.
    if (!gone && ctx.db.Find(key, ctx.now_ms) == nullptr) continue;
    if (&keys[reply_count] != &key) keys[reply_count] = std::move(key);
    ++reply_count;
  }

  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(cursor));
  ctx.reply.ArrayHeader(static_cast<int64_t>(reply_count));
  for (size_t i = 0; i < reply_count; ++i) ctx.reply.Bulk(keys[i]);
}

// RANDOMKEY
void RandomKeyCommand(CommandContext& ctx) {
  Entry* e = ctx.db.RandomKey(ctx.now_ms);
  if (e == nullptr) {
    ctx.reply.Null();
  } else {
    ctx.reply.Bulk(e->key());
  }
}

// DBSIZE  (counts expired keys not yet removed, as Redis does)
void DbSizeCommand(CommandContext& ctx) { ctx.reply.Integer(static_cast<int64_t>(ctx.db.size())); }

// COPY source destination [DB destination-db] [REPLACE]
void CopyCommand(CommandContext& ctx) {
  int target_db = ctx.db.index();
  bool replace = false;
  for (size_t i = 3; i < ctx.argc(); ++i) {
    if (IsOption(ctx.args[i], "replace")) {
      replace = true;
    } else if (IsOption(ctx.args[i], "db") && i + 1 < ctx.argc()) {
      if (!ParseDbIndexArg(ctx, ctx.args[i + 1], &target_db)) return;
      ++i;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  std::string_view source = ctx.args[1];
  std::string_view target = ctx.args[2];
  if (target_db == ctx.db.index() && source == target) {
    ctx.reply.Error(kSameObject);
    return;
  }
  Entry* src = ctx.db.FindForRead(source, ctx.now_ms);
  if (src == nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  Database& dst = ctx.server.db(target_db);
  if (dst.Find(target, ctx.now_ms) != nullptr && !replace) {
    ctx.reply.Integer(0);
    return;
  }
  Database::Detached copy{src->value().Clone(), src->expire_at_ms()};
  dst.Attach(target, std::move(copy));
  TouchKeyInDb(ctx, target_db, target);
  ctx.reply.Integer(1);
}

// MOVE key db
void MoveCommand(CommandContext& ctx) {
  int target_db = 0;
  if (!ParseDbIndexArg(ctx, ctx.args[2], &target_db)) return;
  if (target_db == ctx.db.index()) {
    ctx.reply.Error(kSameObject);
    return;
  }
  std::string_view key = ctx.args[1];
  Database& dst = ctx.server.db(target_db);
  if (ctx.db.Find(key, ctx.now_ms) == nullptr || dst.Find(key, ctx.now_ms) != nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  Database::Detached item;
  ctx.db.Detach(key, ctx.now_ms, &item);
  dst.Attach(key, std::move(item));
  ctx.KeyModified(key);
  TouchKeyInDb(ctx, target_db, key);
  ctx.reply.Integer(1);
}

// The conditions EXPIRE and friends take after the time.
struct ExpireConditions {
  bool nx = false;  // only if the key has no deadline
  bool xx = false;  // only if it has one
  bool gt = false;  // only if the new deadline is later (none counts as infinite)
  bool lt = false;  // only if it is earlier
};

// Parses the NX/XX/GT/LT words from args[3] on; replies with the error and
// returns false on an unknown word or an incompatible combination.
bool ParseExpireConditions(CommandContext& ctx, ExpireConditions* out) {
  for (size_t i = 3; i < ctx.argc(); ++i) {
    std::string_view word = UpToNul(ctx.args[i]);
    if (EqualsIgnoreCase(word, "nx")) {
      out->nx = true;
    } else if (EqualsIgnoreCase(word, "xx")) {
      out->xx = true;
    } else if (EqualsIgnoreCase(word, "gt")) {
      out->gt = true;
    } else if (EqualsIgnoreCase(word, "lt")) {
      out->lt = true;
    } else {
      ctx.reply.Error("ERR Unsupported option " + std::string(word));
      return false;
    }
  }
  if (out->nx && (out->xx || out->gt || out->lt)) {
    ctx.reply.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return false;
  }
  if (out->gt && out->lt) {
    ctx.reply.Error("ERR GT and LT options at the same time are not compatible");
    return false;
  }
  return true;
}

// True when the conditions allow replacing `current` (kNoExpire or a
// deadline) by `deadline`.
bool ConditionsAllow(const ExpireConditions& when, int64_t current, int64_t deadline) {
  bool has_deadline = current != kNoExpire;
  if (when.nx && has_deadline) return false;
  if (when.xx && !has_deadline) return false;
  if (when.gt && (!has_deadline || deadline <= current)) return false;
  if (when.lt && has_deadline && deadline >= current) return false;
  return true;
}

// Shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: the argument is
// `unit_ms` milliseconds per unit, counted from `base_ms` (now or the epoch).
// A deadline at or before now deletes the key (and still replies 1).
void ExpireGeneric(CommandContext& ctx, int64_t base_ms, int64_t unit_ms) {
  ExpireConditions conditions;
  if (!ParseExpireConditions(ctx, &conditions)) return;
  int64_t deadline = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &deadline)) return;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  bool overflow = false;
  if (unit_ms != 1) {
    overflow = deadline > kMax / unit_ms || deadline < kMin / unit_ms;
    if (!overflow) deadline *= unit_ms;
  }
  if (!overflow) overflow = deadline > kMax - base_ms;
  if (overflow) {
    ctx.reply.Error("ERR invalid expire time in '" + ctx.spec.FullName() + "' command");
    return;
  }
  deadline += base_ms;

  std::string_view key = ctx.args[1];
  Entry* e = ctx.db.Find(key, ctx.now_ms);
  if (e == nullptr || !ConditionsAllow(conditions, e->expire_at_ms(), deadline)) {
    ctx.reply.Integer(0);
    return;
  }
  if (deadline <= ctx.now_ms) {
    ctx.db.Delete(key, ctx.now_ms);
  } else {
    ctx.db.SetExpire(e, deadline);
  }
  ctx.KeyModified(key);
  ctx.reply.Integer(1);
}

// EXPIRE key seconds [NX|XX|GT|LT]
void ExpireCommand(CommandContext& ctx) { ExpireGeneric(ctx, ctx.now_ms, 1000); }

// PEXPIRE key milliseconds [NX|XX|GT|LT]
void PExpireCommand(CommandContext& ctx) { ExpireGeneric(ctx, ctx.now_ms, 1); }

// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
void ExpireAtCommand(CommandContext& ctx) { ExpireGeneric(ctx, 0, 1000); }

// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
void PExpireAtCommand(CommandContext& ctx) { ExpireGeneric(ctx, 0, 1); }

// Shared body of TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing
// key, -1 for no deadline, else the remaining time (or the deadline itself
// when `absolute`), never below 0. Seconds are rounded to nearest, as Redis
// does, for the absolute forms too.
void TtlGeneric(CommandContext& ctx, bool in_ms, bool absolute) {
  Entry* e = ctx.db.FindForRead(ctx.args[1], ctx.now_ms);
  if (e == nullptr) {
    ctx.reply.Integer(-2);
    return;
  }
  if (!e->has_expire()) {
    ctx.reply.Integer(-1);
    return;
  }
  int64_t ttl = absolute ? e->expire_at_ms() : e->expire_at_ms() - ctx.now_ms;
  if (ttl < 0) ttl = 0;
  ctx.reply.Integer(in_ms ? ttl : (ttl + 500) / 1000);
}

// TTL key
void TtlCommand(CommandContext& ctx) { TtlGeneric(ctx, false, false); }

// PTTL key
void PTtlCommand(CommandContext& ctx) { TtlGeneric(ctx, true, false); }

// EXPIRETIME key
void ExpireTimeCommand(CommandContext& ctx) { TtlGeneric(ctx, false, true); }

// PEXPIRETIME key
void PExpireTimeCommand(CommandContext& ctx) { TtlGeneric(ctx, true, true); }

// PERSIST key
void PersistCommand(CommandContext& ctx) {
  Entry* e = ctx.db.Find(ctx.args[1], ctx.now_ms);
  if (e == nullptr || !e->has_expire()) {
    ctx.reply.Integer(0);
    return;
  }
  ctx.db.ClearExpire(e);
  ctx.KeyModified(ctx.args[1]);
  ctx.reply.Integer(1);
}

// True for the maxmemory policies that keep LFU counters instead of
// access times.
bool LfuPolicy(const CommandContext& ctx) {
  const std::string& policy = ctx.server.config().maxmemory_policy;
  return policy == "allkeys-lfu" || policy == "volatile-lfu";
}

// Redis's tryObjectEncoding: a string that is a canonical 64-bit integer of
// at most 20 bytes is stored as "int", other strings of up to 44 bytes as
// "embstr" and longer ones as "raw".
//
// The store keeps no encoding, so this is computed from the content, which
// is what Redis reports for values written by SET, MSET, INCR and friends.
// It differs for strings Redis grew in place (APPEND or SETRANGE on an
// existing key report "raw" there).
std::string_view StringEncoding(std::string_view s, int64_t* as_integer) {
  if (s.size() <= 20 && ParseInt64(s, as_integer)) return "int";
  return s.size() <= 44 ? "embstr" : "raw";
}

// The encoding OBJECT ENCODING reports for a collection. A large one names
// its own representation (Collection::Encoding(): "hashtable", "skiplist"...);
// a compact (listpack) one gets the name Redis 7.0 uses for small values of
// its type (lists are always quicklists in 7.0).
std::string_view CollectionEncoding(const storage::Value& v) {
  if (!v.is_listpack()) return v.collection()->Encoding();
  switch (v.type()) {
    case ValueType::kList:
      return "quicklist";
    case ValueType::kSet:
      return "hashtable";
    default:
      return "listpack";
  }
}

// Finds the key for OBJECT subcommands; replies null when it is missing.
Entry* ObjectLookup(CommandContext& ctx) {
  Entry* e = ctx.db.FindForRead(ctx.args[2], ctx.now_ms);
  if (e == nullptr) ctx.reply.Null();
  return e;
}

// OBJECT ENCODING key
void ObjectEncodingCommand(CommandContext& ctx) {
  Entry* e = ObjectLookup(ctx);
  if (e == nullptr) return;
  int64_t unused = 0;
  const storage::Value& v = e->value();
  ctx.reply.Bulk(v.is_string() ? StringEncoding(v.string(), &unused) : CollectionEncoding(v));
}

// OBJECT REFCOUNT key
// Redis shares the objects of the integers 0..9999 (refcount INT_MAX) unless
// an LRU/LFU maxmemory policy is active; every other value is referenced once.
void ObjectRefcountCommand(CommandContext& ctx) {
  Entry* e = ObjectLookup(ctx);
  if (e == nullptr) return;
  constexpr int64_t kSharedRefcount = std::numeric_limits<int>::max();
  constexpr int64_t kSharedIntegers = 10000;
  const Config& config = ctx.server.config();
  bool sharing =
      config.maxmemory == 0 || (config.maxmemory_policy.find("lru") == std::string::npos &&
                                config.maxmemory_policy.find("lfu") == std::string::npos);
  int64_t number = -1;
  const storage::Value& v = e->value();
  bool shared = sharing && v.is_string() && StringEncoding(v.string(), &number) == "int" &&
                number >= 0 && number < kSharedIntegers;
  ctx.reply.Integer(shared ? kSharedRefcount : 1);
}

// OBJECT IDLETIME key
// Access times are not kept (an Entry has no room for them), so every key
// reports 0 seconds, as a key just used does in Redis.
void ObjectIdletimeCommand(CommandContext& ctx) {
  Entry* e = ObjectLookup(ctx);
  if (e == nullptr) return;
  if (LfuPolicy(ctx)) {
    ctx.reply.Error(
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
        "switching between policies at runtime LRU and LFU data will take some time to adjust.");
    return;
  }
  ctx.reply.Integer(0);
}

// OBJECT FREQ key
// Access counters are not kept: under an LFU policy every key reports
// Redis's initial counter value (5), that of a key just written.
void ObjectFreqCommand(CommandContext& ctx) {
  Entry* e = ObjectLookup(ctx);
  if (e == nullptr) return;
  if (!LfuPolicy(ctx)) {
    ctx.reply.Error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some time "
        "to adjust.");
    return;
  }
  constexpr int64_t kLfuInitialValue = 5;
  ctx.reply.Integer(kLfuInitialValue);
}

// OBJECT HELP
void ObjectHelpCommand(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key.",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
      "HELP",
      "    Prints this help.",
  };
  ctx.reply.ArrayHeader(std::size(kLines));
  for (std::string_view line : kLines) ctx.reply.Status(line);
}

// OBJECT <subcommand>: the server dispatches known subcommands itself, so
// this runs only if a request reaches the container.
void ObjectContainerCommand(CommandContext& ctx) {
  std::string name = "ERR unknown subcommand '";
  if (ctx.argc() > 1) name += std::string(ctx.args[1].substr(0, 128));
  ctx.reply.Error(name + "'. Try OBJECT HELP.");
}

}  // namespace

// clang-format off
void RegisterKeyCommands(CommandTable& table) {
  table.Add({.name = "del", .arity = -2, .flags = kCmdWrite, .key_specs = {KeyRange(1, -1, 1, kKeyRM | kKeyDelete)}, .handler = DelCommand, .group = "generic", .summary = "Delete a key", .since = "1.0.0", .complexity = "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", .tips = "request_policy:multi_shard response_policy:agg_sum"});
  table.Add({.name = "unlink", .arity = -2, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyRange(1, -1, 1, kKeyRM | kKeyDelete)}, .handler = DelCommand, .group = "generic", .summary = "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", .since = "4.0.0", .complexity = "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", .tips = "request_policy:multi_shard response_policy:agg_sum"});
  table.Add({.name = "exists", .arity = -2, .flags = kCmdReadOnly | kCmdFast, .key_specs = {KeyRange(1, -1, 1, kKeyRO)}, .handler = ExistsCommand, .group = "generic", .summary = "Determine if a key exists", .since = "1.0.0", .complexity = "O(N) where N is the number of keys to check.", .tips = "request_policy:multi_shard response_policy:agg_sum"});
  table.Add({.name = "type", .arity = 2, .flags = kCmdReadOnly | kCmdFast, .key_specs = {KeyAt(1, kKeyRO)}, .handler = TypeCommand, .group = "generic", .summary = "Determine the type stored at key", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "rename", .arity = 3, .flags = kCmdWrite, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete), KeyAt(2, kKeyOW | kKeyUpdate)}, .handler = RenameCommand, .group = "generic", .summary = "Rename a key", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "renamenx", .arity = 3, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyDelete), KeyAt(2, kKeyOW | kKeyInsert)}, .handler = RenameNxCommand, .group = "generic", .summary = "Rename a key, only if the new key does not exist", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "keys", .arity = 2, .flags = kCmdReadOnly, .handler = KeysCommand, .group = "generic", .summary = "Find all keys matching the given pattern", .since = "1.0.0", .complexity = "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", .acl_categories = "keyspace dangerous", .tips = "request_policy:all_shards nondeterministic_output_order"});
  table.Add({.name = "scan", .arity = -2, .flags = kCmdReadOnly, .handler = ScanCommand, .group = "generic", .summary = "Incrementally iterate the keys space", .since = "2.8.0", .complexity = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", .tips = "nondeterministic_output request_policy:special"});
  table.Add({.name = "randomkey", .arity = 1, .flags = kCmdReadOnly, .handler = RandomKeyCommand, .group = "generic", .summary = "Return a random key from the keyspace", .since = "1.0.0", .complexity = "O(1)", .tips = "request_policy:all_shards nondeterministic_output"});
  table.Add({.name = "dbsize", .arity = 1, .flags = kCmdReadOnly | kCmdFast, .handler = DbSizeCommand, .group = "server", .summary = "Return the number of keys in the selected database", .since = "1.0.0", .complexity = "O(1)", .acl_categories = "keyspace", .tips = "request_policy:all_shards response_policy:agg_sum"});
  table.Add({.name = "touch", .arity = -2, .flags = kCmdReadOnly | kCmdFast, .key_specs = {KeyRange(1, -1, 1, kKeyRO)}, .handler = TouchCommand, .group = "generic", .summary = "Alters the last access time of a key(s). Returns the number of existing keys specified.", .since = "3.2.1", .complexity = "O(N) where N is the number of keys that will be touched.", .tips = "request_policy:multi_shard response_policy:agg_sum"});
  table.Add({.name = "copy", .arity = -3, .flags = kCmdWrite | kCmdDenyOom, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess), KeyAt(2, kKeyOW | kKeyUpdate)}, .handler = CopyCommand, .group = "generic", .summary = "Copy a key", .since = "6.2.0", .complexity = "O(N) worst case for collections, where N is the number of nested items. O(1) for string values."});
  table.Add({.name = "move", .arity = 3, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = MoveCommand, .group = "generic", .summary = "Move a key to another database", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "expire", .arity = -3, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = ExpireCommand, .group = "generic", .summary = "Set a key's time to live in seconds", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "pexpire", .arity = -3, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = PExpireCommand, .group = "generic", .summary = "Set a key's time to live in milliseconds", .since = "2.6.0", .complexity = "O(1)"});
  table.Add({.name = "expireat", .arity = -3, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = ExpireAtCommand, .group = "generic", .summary = "Set the expiration for a key as a UNIX timestamp", .since = "1.2.0", .complexity = "O(1)"});
  table.Add({.name = "pexpireat", .arity = -3, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = PExpireAtCommand, .group = "generic", .summary = "Set the expiration for a key as a UNIX timestamp specified in milliseconds", .since = "2.6.0", .complexity = "O(1)"});
  table.Add({.name = "ttl", .arity = 2, .flags = kCmdReadOnly | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = TtlCommand, .group = "generic", .summary = "Get the time to live for a key in seconds", .since = "1.0.0", .complexity = "O(1)", .tips = "nondeterministic_output"});
  table.Add({.name = "pttl", .arity = 2, .flags = kCmdReadOnly | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = PTtlCommand, .group = "generic", .summary = "Get the time to live for a key in milliseconds", .since = "2.6.0", .complexity = "O(1)", .tips = "nondeterministic_output"});
  table.Add({.name = "expiretime", .arity = 2, .flags = kCmdReadOnly | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = ExpireTimeCommand, .group = "generic", .summary = "Get the expiration Unix timestamp for a key", .since = "7.0.0", .complexity = "O(1)"});
  table.Add({.name = "pexpiretime", .arity = 2, .flags = kCmdReadOnly | kCmdFast, .key_specs = {KeyAt(1, kKeyRO | kKeyAccess)}, .handler = PExpireTimeCommand, .group = "generic", .summary = "Get the expiration Unix timestamp for a key in milliseconds", .since = "7.0.0", .complexity = "O(1)"});
  table.Add({.name = "persist", .arity = 2, .flags = kCmdWrite | kCmdFast, .key_specs = {KeyAt(1, kKeyRW | kKeyUpdate)}, .handler = PersistCommand, .group = "generic", .summary = "Remove the expiration from a key", .since = "2.2.0", .complexity = "O(1)"});
  table.Add({.name = "object", .arity = -2, .flags = 0, .handler = ObjectContainerCommand, .group = "generic", .summary = "A container for object introspection commands", .since = "2.2.3", .complexity = "Depends on subcommand."});
  table.AddSubcommand("object", {.name = "encoding", .arity = 3, .flags = kCmdReadOnly, .key_specs = {KeyAt(2, kKeyRO)}, .handler = ObjectEncodingCommand, .group = "generic", .summary = "Inspect the internal encoding of a Redis object", .since = "2.2.3", .complexity = "O(1)", .tips = "nondeterministic_output"});
  table.AddSubcommand("object", {.name = "freq", .arity = 3, .flags = kCmdReadOnly, .key_specs = {KeyAt(2, kKeyRO)}, .handler = ObjectFreqCommand, .group = "generic", .summary = "Get the logarithmic access frequency counter of a Redis object", .since = "4.0.0", .complexity = "O(1)", .tips = "nondeterministic_output"});
  table.AddSubcommand("object", {.name = "help", .arity = 2, .flags = kCmdLoading | kCmdStale, .handler = ObjectHelpCommand, .group = "generic", .summary = "Show helpful text about the different subcommands", .since = "6.2.0", .complexity = "O(1)"});
  table.AddSubcommand("object", {.name = "idletime", .arity = 3, .flags = kCmdReadOnly, .key_specs = {KeyAt(2, kKeyRO)}, .handler = ObjectIdletimeCommand, .group = "generic", .summary = "Get the time since a Redis object was last accessed", .since = "2.2.3", .complexity = "O(1)", .tips = "nondeterministic_output"});
  table.AddSubcommand("object", {.name = "refcount", .arity = 3, .flags = kCmdReadOnly, .key_specs = {KeyAt(2, kKeyRO)}, .handler = ObjectRefcountCommand, .group = "generic", .summary = "Get the number of references to the value of the key", .since = "2.2.3", .complexity = "O(1)", .tips = "nondeterministic_output"});
}
// clang-format on

}  // namespace understudy::server

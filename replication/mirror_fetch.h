#pragma once

// Fetching keys from the primary for the mirror (../shared/DESIGN.md,
// "Mirror"; docs/primary-link.md, "Mirror fetch"): the one request that
// reads a batch of keys atomically (type, absolute expiry and whole value of
// each), the parsing of its reply, and the replacement of each key in a
// local storage::Database. No I/O here: the caller sends the request on its
// own connection, feeds the reply back, and decides when to apply.
//
// The request is an EVAL of a small read-only Lua script with the batch's
// keys as KEYS. A script runs atomically on the primary, so every key of a
// batch is read at the same instant; Redis also freezes key expiry for the
// script's duration, so a key's type, expiry and value always agree.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/reply_parser.h"
#include "storage/database.h"
#include "storage/hash_value.h"
#include "storage/set_value.h"
#include "storage/zset_value.h"

namespace understudy::replication {

// The Lua source of the fetch script. It returns one 3-element array per
// key, in KEYS order: {type, expire_at_ms, value}, where
//  - type is what TYPE says ("string", "hash", "set", "zset", "list",
//    "none" for a missing key, anything else - "stream", a module type);
//  - expire_at_ms is the absolute deadline in unix ms, -1 without one, -2
//    for a missing key: PEXPIRETIME on Redis 7.0 and later; on Redis 6, where
//    that command does not exist, TIME + PTTL (exact to about 1 ms);
//  - value is GET's bulk string, or the flat array of HGETALL (field, value,
//    ...), SMEMBERS, ZRANGE 0 -1 WITHSCORES (member, score, ...) or
//    LRANGE 0 -1; an empty string for "none" and other types.
// Scores stay the strings Redis formats ("%.17g", "inf", "-inf"): the script
// never turns them into Lua numbers, which would round some of them.
std::string_view FetchScript();

// SHA1 of FetchScript() in lowercase hex, as SCRIPT LOAD answers it (for
// EVALSHA). Computed on each call: cache it.
std::string FetchScriptSha1();
// The SHA1 of `data` in lower-case hex, as EVALSHA names a script.
std::string Sha1Hex(std::string_view data);

// One request (RESP multibulk bytes, accepted in RESP2 and RESP3) that
// fetches `keys` atomically: EVAL script numkeys key... Its reply is what
// ParseFetchReply takes. An empty batch is allowed (the reply is an empty
// array).
std::string BuildFetchRequest(std::span<const std::string> keys);

// The same request as EVALSHA FetchScriptSha1() numkeys key..., which saves
// sending the script's ~1 KB each time. The primary replies -NOSCRIPT when
// it does not have the script cached (after a restart, SCRIPT FLUSH, or a
// failover to a replica that never ran it): see IsNoScriptError. Sending
// BuildFetchRequest once then caches it again.
std::string BuildFetchRequestSha(std::span<const std::string> keys, std::string_view sha1);

// True when `reply` is EVALSHA's "script not cached" error.
bool IsNoScriptError(const protocol::ReplyValue& reply);

// One key as read from the primary.
struct FetchedKey {
  enum Type : uint8_t { kMissing, kString, kHash, kSet, kZSet, kList, kOther };

  std::string key;
  Type type = kMissing;
  // Absolute deadline in unix ms; -1 (storage::kNoExpire) when the key has
  // none, and for kMissing.
  int64_t expire_at_ms = -1;
  // kOther: what TYPE said ("stream", a module's type name), for logs.
  std::string other_type_name;
  // kString: the value, binary-safe.
  std::string string_value;
  // kHash: field, value, field, value...; kSet: the members; kList: the
  // elements from head to tail. Empty for other types.
  std::vector<std::string> elements;
  // kZSet: the members with their scores, lowest score first.
  std::vector<storage::ScoredMember> scored_members;
};

// Parses the reply of BuildFetchRequest / BuildFetchRequestSha for `keys`
// (the same keys, in the same order) into *out (cleared first), one
// FetchedKey per key. Accepts the reply as a RESP2 or RESP3 connection
// delivers it (the script's tables are arrays in both; RESP3 maps, sets and
// doubles are accepted too, should a primary send them). Returns false with
// *error set when the reply is an error (e.g. NOSCRIPT, BUSY, OOM: the text
// is passed on) or does not have the expected shape; *out is then
// unspecified.
bool ParseFetchReply(const protocol::ReplyValue& reply, std::span<const std::string> keys,
                     std::vector<FetchedKey>* out, std::string* error);

// The configured encoding thresholds the local store builds values with
// (hash-max-listpack-*, set-max-intset-entries, zset-max-listpack-*,
// list-max-listpack-size), as the command handlers use them.
struct EncodingLimits {
  storage::HashLimits hash;
  storage::SetLimits set;
  storage::ZSetLimits zset;
  int64_t list_max_listpack_size = -2;
};

// What ApplyFetchedKey did to the local key.
enum class ApplyOutcome : uint8_t {
  kStored,       // replaced (or created) with the primary's value and expiry
  kDeleted,      // the primary has no such key (or an empty collection)
  kExpired,      // the primary's deadline is already past at now_ms: deleted
  kUnsupported,  // a type the local store does not have (kOther): deleted
};

// Makes `fetched.key` in `db` exactly what the primary holds: the old local
// key, of whatever type, is dropped, and the fetched value is stored with
// its deadline, in the encoding the local store's own commands would pick
// under `limits`. A missing key, a deadline before `now_ms` (a key is still
// live at its deadline's very millisecond, as in Database::IsLive) or a type
// the local store does not implement deletes the key; the outcome says
// which, so the caller can count them. Does not notify WATCH or expiry
// listeners: that is the caller's business.
ApplyOutcome ApplyFetchedKey(const FetchedKey& fetched, storage::Database& db,
                             const EncodingLimits& limits, int64_t now_ms);

}  // namespace understudy::replication

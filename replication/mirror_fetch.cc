#include "replication/mirror_fetch.h"

#include <openssl/evp.h>

#include <utility>

#include "common/numbers.h"
#include "protocol/request_writer.h"
#include "storage/list_value.h"

namespace understudy::replication {
namespace {

using protocol::ReplyValue;

// Why the script is written the way it is:
//  - TYPE replies with a status, which Lua sees as a table {ok = name}.
//  - PEXPIRETIME (Redis 7.0) gives the absolute deadline directly. On an
//    older primary it is an unknown command: redis.pcall then returns an
//    error table instead of raising, the script notes it and uses TIME +
//    PTTL for this and the remaining keys. The deadline (about 1.7e12) is
//    exact as a Lua number, and a Lua number is returned as an integer.
//  - Values are returned exactly as the commands gave them to Lua: strings
//    stay strings (binary-safe), so scores keep Redis's own "%.17g" text.
//  - Every slot of the result tables is filled (a nil would cut a Lua array
//    short): a missing key gets -2 and an empty string.
constexpr std::string_view kFetchScript =
    "local result = {}\n"
    "local has_pexpiretime = true\n"
    "for i, key in ipairs(KEYS) do\n"
    "  local kind = redis.call('TYPE', key)['ok']\n"
    "  local at = -2\n"
    "  local value = ''\n"
    "  if kind ~= 'none' then\n"
    "    if has_pexpiretime then\n"
    "      at = redis.pcall('PEXPIRETIME', key)\n"
    "      if type(at) == 'table' then has_pexpiretime = false end\n"
    "    end\n"
    "    if not has_pexpiretime then\n"
    "      at = redis.call('PTTL', key)\n"
    "      if at >= 0 then\n"
    "        local now = redis.call('TIME')\n"
    "        at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + at\n"
    "      end\n"
    "    end\n"
    "    if kind == 'string' then value = redis.call('GET', key)\n"
    "    elseif kind == 'hash' then value = redis.call('HGETALL', key)\n"
    "    elseif kind == 'set' then value = redis.call('SMEMBERS', key)\n"
    "    elseif kind == 'zset' then value = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')\n"
    "    elseif kind == 'list' then value = redis.call('LRANGE', key, 0, -1)\n"
    "    end\n"
    "  end\n"
    "  result[i] = {kind, at, value}\n"
    "end\n"
    "return result\n";

// EVAL/EVALSHA `script_or_sha` len(keys) keys...
std::string BuildScriptCall(std::string_view command, std::string_view script_or_sha,
                            std::span<const std::string> keys) {
  std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> args;
  args.reserve(keys.size() + 3);
  args.push_back(command);
  args.push_back(script_or_sha);
  args.push_back(key_count);
  for (const std::string& key : keys) args.push_back(key);
  std::string request;
  protocol::AppendCommand(&request, args);
  return request;
}

// Sets *error to a message naming the key's position in the batch.
bool Fail(std::string* error, size_t index, std::string_view what) {
  *error = "mirror fetch reply, key #" + std::to_string(index) + ": " + std::string(what);
  return false;
}

// The text of a string-like reply element: bulk, simple, verbatim, a RESP3
// double's text or an integer's decimal form. False for anything else
// (null, aggregates, errors).
bool TextOf(const ReplyValue& value, std::string* out) {
  switch (value.type) {
    case '$':
    case '+':
    case '=':
    case ',':
      *out = value.str;
      return true;
    case ':':
      *out = Int64ToString(value.integer);
      return true;
    default:
      return false;
  }
}

bool IsArrayLike(const ReplyValue& value) {
  return value.type == '*' || value.type == '~' || value.type == '%';
}

FetchedKey::Type TypeFromName(std::string_view name) {
  if (name == "none") return FetchedKey::kMissing;
  if (name == "string") return FetchedKey::kString;
  if (name == "hash") return FetchedKey::kHash;
  if (name == "set") return FetchedKey::kSet;
  if (name == "zset") return FetchedKey::kZSet;
  if (name == "list") return FetchedKey::kList;
  return FetchedKey::kOther;
}

// The deadline element: an integer (also accepted as decimal text).
bool ParseDeadline(const ReplyValue& value, int64_t* out) {
  if (value.type == ':') {
    *out = value.integer;
    return true;
  }
  return (value.type == '$' || value.type == '+') && ParseInt64(value.str, out);
}

// Flattens a hash, set or list value into strings. A RESP3 map arrives
// with its elements already alternating key, value.
bool ParseElements(const ReplyValue& value, std::vector<std::string>* out) {
  if (!IsArrayLike(value)) return false;
  out->resize(value.elements.size());
  for (size_t i = 0; i < value.elements.size(); ++i) {
    if (!TextOf(value.elements[i], &(*out)[i])) return false;
  }
  return true;
}

// ZRANGE WITHSCORES: either flat (member, score, ...; what the script
// returns) or, as RESP3 replies to ZRANGE itself, an array of
// [member, score] pairs.
bool ParseScored(const ReplyValue& value, std::vector<storage::ScoredMember>* out,
                 std::string* what) {
  if (!IsArrayLike(value)) {
    *what = "sorted set value is not an array";
    return false;
  }
  const std::vector<ReplyValue>& items = value.elements;
  bool nested = !items.empty() && IsArrayLike(items[0]);
  size_t count = nested ? items.size() : items.size() / 2;
  if (!nested && items.size() % 2 != 0) {
    *what = "sorted set value has an odd number of elements";
    return false;
  }
  out->resize(count);
  std::string score_text;
  for (size_t i = 0; i < count; ++i) {
    const ReplyValue* member = nullptr;
    const ReplyValue* score = nullptr;
    if (nested) {
      if (!IsArrayLike(items[i]) || items[i].elements.size() != 2) {
        *what = "sorted set pair is not [member, score]";
        return false;
      }
      member = &items[i].elements[0];
      score = &items[i].elements[1];
    } else {
      member = &items[2 * i];
      score = &items[2 * i + 1];
    }
    if (!TextOf(*member, &(*out)[i].member) || !TextOf(*score, &score_text)) {
      *what = "sorted set member or score is not a string";
      return false;
    }
    // Redis's score text ("%.17g", "inf", "-inf") reads back to the very
    // same double; NaN and garbage are refused.
    if (!ParseDouble(score_text, &(*out)[i].score)) {
      *what = "sorted set score is not a number: " + score_text.substr(0, 64);
      return false;
    }
  }
  return true;
}

// Parses one {type, expire_at_ms, value} triple into *out.
bool ParseOneKey(const ReplyValue& triple, size_t index, FetchedKey* out, std::string* error) {
  if (triple.type != '*' || triple.elements.size() != 3) {
    return Fail(error, index, "not an array of 3 elements");
  }
  std::string type_name;
  if (!TextOf(triple.elements[0], &type_name)) return Fail(error, index, "type is not a string");
  int64_t deadline = 0;
  if (!ParseDeadline(triple.elements[1], &deadline)) {
    return Fail(error, index, "expiry is not an integer");
  }
  out->type = TypeFromName(type_name);
  if (out->type == FetchedKey::kMissing) {
    out->expire_at_ms = storage::kNoExpire;
    return true;
  }
  // -1: no deadline; otherwise an absolute time. -2 (no such key) cannot
  // come with a type, as expiry is frozen while the script runs.
  if (deadline < -1) {
    return Fail(error, index, "expiry " + std::to_string(deadline) + " for a key that exists");
  }
  out->expire_at_ms = deadline;
  const ReplyValue& value = triple.elements[2];
  std::string what;
  switch (out->type) {
    case FetchedKey::kString:
      if (!TextOf(value, &out->string_value)) {
        return Fail(error, index, "string value is not a string");
      }
      return true;
    case FetchedKey::kHash:
      if (!ParseElements(value, &out->elements) || out->elements.size() % 2 != 0) {
        return Fail(error, index, "hash value is not an array of field, value pairs");
      }
      return true;
    case FetchedKey::kSet:
      if (!ParseElements(value, &out->elements)) {
        return Fail(error, index, "set value is not an array of strings");
      }
      return true;
    case FetchedKey::kList:
      if (!ParseElements(value, &out->elements)) {
        return Fail(error, index, "list value is not an array of strings");
      }
      return true;
    case FetchedKey::kZSet:
      if (!ParseScored(value, &out->scored_members, &what)) return Fail(error, index, what);
      return true;
    case FetchedKey::kOther:
      out->other_type_name = std::move(type_name);
      return true;
    case FetchedKey::kMissing:
      break;
  }
  return true;
}

// Builds the local value of a fetched collection or string into `value`.
// False for an empty collection (Redis never has one; treated as missing).
bool BuildValue(const FetchedKey& fetched, const EncodingLimits& limits, storage::Value& value) {
  switch (fetched.type) {
    case FetchedKey::kString:
      value.SetString(fetched.string_value);
      return true;
    case FetchedKey::kHash: {
      if (fetched.elements.empty()) return false;
      storage::HashInit(value);
      // A hash too big for a listpack goes straight to its table, skipping
      // the listpack's linear field lookups (as loading a snapshot does).
      if (fetched.elements.size() / 2 > limits.hash.max_listpack_entries) {
        storage::HashConvertToTable(value);
      }
      for (size_t i = 0; i + 1 < fetched.elements.size(); i += 2) {
        storage::HashSet(value, fetched.elements[i], fetched.elements[i + 1], limits.hash);
      }
      return true;
    }
    case FetchedKey::kSet: {
      if (fetched.elements.empty()) return false;
      storage::SetValue set = storage::SetValue::Create(value, fetched.elements[0], limits.set);
      for (const std::string& member : fetched.elements) set.Add(member, limits.set);
      return true;
    }
    case FetchedKey::kZSet: {
      if (fetched.scored_members.empty()) return false;
      std::vector<storage::ScoredMember> members = fetched.scored_members;
      storage::ZSetAssign(value, std::move(members), limits.zset);
      return true;
    }
    case FetchedKey::kList:
      if (fetched.elements.empty()) return false;
      storage::list::Init(value);
      for (const std::string& element : fetched.elements) {
        storage::list::Push(value, storage::ListEnd::kTail, element, limits.list_max_listpack_size);
      }
      return true;
    case FetchedKey::kMissing:
    case FetchedKey::kOther:
      break;
  }
  return false;
}

}  // namespace

std::string_view FetchScript() { return kFetchScript; }

std::string Sha1Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::string FetchScriptSha1() { return Sha1Hex(kFetchScript); }

std::string BuildFetchRequest(std::span<const std::string> keys) {
  return BuildScriptCall("EVAL", kFetchScript, keys);
}

std::string BuildFetchRequestSha(std::span<const std::string> keys, std::string_view sha1) {
  return BuildScriptCall("EVALSHA", sha1, keys);
}

bool IsNoScriptError(const ReplyValue& reply) {
  return reply.IsError() && reply.ErrorCode() == "NOSCRIPT";
}

bool ParseFetchReply(const ReplyValue& reply, std::span<const std::string> keys,
                     std::vector<FetchedKey>* out, std::string* error) {
  out->clear();
  if (reply.IsError()) {
    *error = "mirror fetch failed: " + reply.str;
    return false;
  }
  if (reply.type != '*') {
    *error = std::string("mirror fetch reply is not an array (type '") + reply.type + "')";
    return false;
  }
  if (reply.elements.size() != keys.size()) {
    *error = "mirror fetch reply has " + std::to_string(reply.elements.size()) + " entries for " +
             std::to_string(keys.size()) + " keys";
    return false;
  }
  out->resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    (*out)[i].key = keys[i];
    if (!ParseOneKey(reply.elements[i], i, &(*out)[i], error)) return false;
  }
  return true;
}

ApplyOutcome ApplyFetchedKey(const FetchedKey& fetched, storage::Database& db,
                             const EncodingLimits& limits, int64_t now_ms) {
  if (fetched.type == FetchedKey::kOther) {
    db.Delete(fetched.key, now_ms);
    return ApplyOutcome::kUnsupported;
  }
  if (fetched.type != FetchedKey::kMissing && fetched.expire_at_ms >= 0 &&
      fetched.expire_at_ms < now_ms) {
    db.Delete(fetched.key, now_ms);
    return ApplyOutcome::kExpired;
  }
  storage::Database::Detached item;
  if (!BuildValue(fetched, limits, item.value)) {
    db.Delete(fetched.key, now_ms);
    return ApplyOutcome::kDeleted;
  }
  item.expire_at_ms = fetched.expire_at_ms >= 0 ? fetched.expire_at_ms : storage::kNoExpire;
  // Attach overwrites whatever the key held, of any type, deadline included.
  db.Attach(fetched.key, std::move(item));
  return ApplyOutcome::kStored;
}

}  // namespace understudy::replication

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "replication/reconcile_plan.h"
#include "storage/hash_value.h"
#include "storage/list_value.h"
#include "storage/set_value.h"
#include "storage/zset_value.h"

// The apply script replay sends, and the encoding of a key's state (type,
// elements, deadline) that lww compares between the mirror's baseline, the
// local store and the primary.

namespace understudy::replication {
namespace {

using storage::JournalOp;
using storage::JournalRecord;

// The one script every union, counter and lww write goes through, as
// EVALSHA sha 1 key mode args... Modes:
//   add     deadline cmd args...   run cmd (SADD, HSET, ZADD, a push...); a
//                                  key it created gets the deadline, an
//                                  existing one has its deadline extended
//   set     value deadline         SET if absent, else extend the deadline
//   extend  deadline               extend the deadline of an existing key
//   incr    deadline cmd args...   run an increment; a key it created gets
//                                  the deadline; deadline -2: create nothing
//   replace type deadline elems... replace the key whole (lww); type "none"
//                                  deletes it
//   merge   type deadline elems... union fallback: create as replace when
//                                  absent, else add the members (set, hash,
//                                  zset) and extend the deadline
// Deadlines are absolute unix ms; -1 means none (and "extend" to none is
// PERSIST: no deadline beats any deadline); -2 means "the local key is
// gone", which leaves an existing key's deadline alone.
// Collections are added in chunks because Lua's unpack has a stack limit.
// The current deadline comes from PEXPIRETIME, or TIME + PTTL before 7.0.
constexpr std::string_view kApplyScript =
    "local key = KEYS[1]\n"
    "local mode = ARGV[1]\n"
    "local function deadline_of()\n"
    "  local at = redis.pcall('PEXPIRETIME', key)\n"
    "  if type(at) ~= 'table' then return at end\n"
    "  local ttl = redis.call('PTTL', key)\n"
    "  if ttl < 0 then return ttl end\n"
    "  local now = redis.call('TIME')\n"
    "  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ttl\n"
    "end\n"
    "local function extend(want)\n"
    "  if want == -1 then redis.call('PERSIST', key) return end\n"
    "  if want < 0 then return end\n"
    "  local current = deadline_of()\n"
    "  if current >= 0 and want > current then redis.call('PEXPIREAT', key, want) end\n"
    "end\n"
    "local function chunks(cmd, first, step)\n"
    "  local i = first\n"
    "  while i <= #ARGV do\n"
    "    local last = math.min(i + 512 * step - 1, #ARGV)\n"
    "    redis.call(cmd, key, unpack(ARGV, i, last))\n"
    "    i = last + 1\n"
    "  end\n"
    "end\n"
    "local function create(kind)\n"
    "  if kind == 'string' then redis.call('SET', key, ARGV[4])\n"
    "  elseif kind == 'hash' then chunks('HSET', 4, 2)\n"
    "  elseif kind == 'set' then chunks('SADD', 4, 1)\n"
    "  elseif kind == 'zset' then chunks('ZADD', 4, 2)\n"
    "  elseif kind == 'list' then chunks('RPUSH', 4, 1)\n"
    "  end\n"
    "end\n"
    "local existed = redis.call('EXISTS', key) == 1\n"
    "if mode == 'add' or mode == 'incr' then\n"
    "  local deadline = tonumber(ARGV[2])\n"
    "  if mode == 'incr' and not existed and deadline == -2 then return 0 end\n"
    "  redis.call(ARGV[3], key, unpack(ARGV, 4))\n"
    "  if existed then\n"
    "    if mode == 'add' then extend(deadline) end\n"
    "  elseif deadline >= 0 and redis.call('EXISTS', key) == 1 then\n"
    "    redis.call('PEXPIREAT', key, deadline)\n"
    "  end\n"
    "  return 1\n"
    "elseif mode == 'set' then\n"
    "  local deadline = tonumber(ARGV[3])\n"
    "  if existed then extend(deadline) return 0 end\n"
    "  redis.call('SET', key, ARGV[2])\n"
    "  if deadline >= 0 then redis.call('PEXPIREAT', key, deadline) end\n"
    "  return 1\n"
    "elseif mode == 'extend' then\n"
    "  if existed then extend(tonumber(ARGV[2])) end\n"
    "  return 1\n"
    "elseif mode == 'replace' or mode == 'merge' then\n"
    "  local kind = ARGV[2]\n"
    "  local deadline = tonumber(ARGV[3])\n"
    "  if mode == 'merge' and existed then\n"
    "    local current = redis.call('TYPE', key)['ok']\n"
    "    if current == kind then\n"
    "      if kind == 'hash' then chunks('HSET', 4, 2)\n"
    "      elseif kind == 'set' then chunks('SADD', 4, 1)\n"
    "      elseif kind == 'zset' then chunks('ZADD', 4, 2)\n"
    "      end\n"
    "    end\n"
    "    extend(deadline)\n"
    "    return 1\n"
    "  end\n"
    "  if existed then redis.call('DEL', key) end\n"
    "  if kind == 'none' then return 1 end\n"
    "  create(kind)\n"
    "  if deadline >= 0 then redis.call('PEXPIREAT', key, deadline) end\n"
    "  return 1\n"
    "end\n"
    "return redis.error_reply('understudy apply script: unknown mode ' .. tostring(mode))\n";

std::string Sha1Raw(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// Length-prefixed, so that no two different element lists encode alike.
void PutField(std::string* out, std::string_view bytes) {
  uint64_t n = bytes.size();
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out->append(bytes);
}

std::string ScoreBits(double score) {
  if (score == 0) score = 0;  // -0 and 0 are the same score to Redis clients
  uint64_t bits;
  std::memcpy(&bits, &score, sizeof(bits));
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  return out;
}

constexpr char kBaselineVersion = '\x01';
// The canonical form of a state, hashed. Both sides go through FetchedKey,
// so the local store and the primary encode identically.
std::string EncodeState(const FetchedKey& state) {
  std::string out(1, kBaselineVersion);
  std::string canonical;
  switch (state.type) {
    case FetchedKey::kMissing:
      out.push_back('n');
      return out;
    case FetchedKey::kOther:
      out.push_back('o');
      return out;
    case FetchedKey::kString:
      out.push_back('s');
      canonical = state.string_value;
      break;
    case FetchedKey::kList:
      out.push_back('l');
      for (const std::string& element : state.elements) PutField(&canonical, element);
      break;
    case FetchedKey::kSet: {
      out.push_back('S');
      std::vector<std::string_view> members(state.elements.begin(), state.elements.end());
      std::sort(members.begin(), members.end());
      for (std::string_view member : members) PutField(&canonical, member);
      break;
    }
    case FetchedKey::kHash: {
      out.push_back('h');
      std::vector<std::pair<std::string_view, std::string_view>> pairs;
      for (size_t i = 0; i + 1 < state.elements.size(); i += 2) {
        pairs.emplace_back(state.elements[i], state.elements[i + 1]);
      }
      std::sort(pairs.begin(), pairs.end());
      for (const auto& [field, value] : pairs) {
        PutField(&canonical, field);
        PutField(&canonical, value);
      }
      break;
    }
    case FetchedKey::kZSet: {
      out.push_back('z');
      std::vector<std::pair<std::string_view, double>> members;
      for (const storage::ScoredMember& m : state.scored_members) {
        members.emplace_back(m.member, m.score);
      }
      std::sort(members.begin(), members.end());
      for (const auto& [member, score] : members) {
        PutField(&canonical, member);
        PutField(&canonical, ScoreBits(score));
      }
      break;
    }
  }
  out.append(Sha1Raw(canonical));
  return out;
}

// Fills *out with the live value of `entry` (nullptr: kMissing).
void StateOfEntry(const storage::Entry* entry, FetchedKey* out) {
  out->type = FetchedKey::kMissing;
  out->expire_at_ms = storage::kNoExpire;
  if (entry == nullptr) return;
  const storage::Value& value = entry->value();
  out->expire_at_ms = entry->expire_at_ms();
  switch (value.type()) {
    case storage::ValueType::kString:
      out->type = FetchedKey::kString;
      out->string_value = std::string(value.string());
      return;
    case storage::ValueType::kList: {
      out->type = FetchedKey::kList;
      if (storage::list::Length(value) == 0) return;
      for (storage::list::Iterator it(value, 0, storage::ListEnd::kTail); it.Valid(); it.Next()) {
        out->elements.emplace_back(it.Get());
      }
      return;
    }
    case storage::ValueType::kHash:
      out->type = FetchedKey::kHash;
      storage::HashForEach(value, [out](std::string_view field, std::string_view field_value) {
        out->elements.emplace_back(field);
        out->elements.emplace_back(field_value);
      });
      return;
    case storage::ValueType::kSet: {
      out->type = FetchedKey::kSet;
      // SetValue is a view that also offers mutations; only ForEach is used.
      storage::SetValue set(const_cast<storage::Value&>(value));
      set.ForEach([out](std::string_view member) {
        out->elements.emplace_back(member);
        return true;
      });
      return;
    }
    case storage::ValueType::kZSet: {
      out->type = FetchedKey::kZSet;
      const size_t n = storage::ZSetSize(value);
      if (n == 0) return;
      std::vector<storage::ZSetItem> items;
      storage::ZSetRangeByRank(value, 0, n - 1, false, &items);
      for (const storage::ZSetItem& item : items) {
        out->scored_members.push_back({std::string(item.member), item.score});
      }
      return;
    }
  }
}

}  // namespace

std::string_view ApplyScript() { return kApplyScript; }

std::string ApplyScriptSha1() { return Sha1Hex(kApplyScript); }

std::string EncodeBaseline(const storage::Entry* entry_or_null) {
  FetchedKey state;
  StateOfEntry(entry_or_null, &state);
  return EncodeState(state);
}

std::string EncodeFetchedState(const FetchedKey& fetched) { return EncodeState(fetched); }

FetchedKey LocalKeyState(storage::Database& db, std::string_view key, int64_t now_ms) {
  FetchedKey state;
  state.key = std::string(key);
  const storage::Entry* entry = db.dict().Find(key);
  if (entry != nullptr && !db.IsLive(entry, now_ms)) entry = nullptr;
  StateOfEntry(entry, &state);
  return state;
}
}  // namespace understudy::replication

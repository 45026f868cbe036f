#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "storage/value.h"

// The sorted-set data type (Redis 7.0 semantics), independent of the server
// and of RESP. A sorted set is a Value of type kZSet in one of two encodings:
//
//  - listpack: (member, score) pairs in one Listpack, ordered by score and
//    then by member bytes. Scores are kept in a compact binary form
//    (EncodeListpackScore), so small sets stay as small as Redis's. Used
//    while the set has at most max_listpack_entries members, none longer
//    than max_listpack_value bytes.
//  - skiplist: a ZSetSkiplist (skiplist with spans for O(log n) rank
//    operations, plus a Dict member -> score for O(1) lookups; ZSCAN walks
//    the Dict, so it keeps SCAN's guarantee).
//
// Every function below takes such a Value (precondition: type() == kZSet,
// non-empty unless stated) and works on both encodings. Member views
// (ZSetItem::member) point into the set and stay valid only until the set
// is next modified. Callers delete the key when a set becomes empty.
namespace understudy::storage {

// zset-max-listpack-entries / zset-max-listpack-value.
struct ZSetLimits {
  size_t max_listpack_entries = 128;
  size_t max_listpack_value = 64;
};

// A member and its score, viewing the set's own bytes.
struct ZSetItem {
  std::string_view member;
  double score;
};

// A member and its score, owning the bytes (popped or computed members).
struct ScoredMember {
  std::string member;
  double score;
};

// A score interval as ZRANGEBYSCORE takes it: "1.5", "(1.5" (exclusive),
// "-inf", "+inf".
struct ScoreRange {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  bool max_exclusive = false;

  bool AboveMin(double score) const { return min_exclusive ? score > min : score >= min; }
  bool BelowMax(double score) const { return max_exclusive ? score < max : score <= max; }
  bool Contains(double score) const { return AboveMin(score) && BelowMax(score); }
  // True when no score can be in the range (min > max, or an exclusive
  // bound at min == max).
  bool Empty() const { return min > max || (min == max && (min_exclusive || max_exclusive)); }
};

// Parses ZRANGEBYSCORE-style bounds with Redis's zslParseRange rules: an
// optional "(" for an exclusive bound, then whatever strtod accepts up to
// the end of the C string (so leading spaces, "inf", "+inf", hex and the
// empty string, which reads as 0, are all accepted), but never NaN.
// Returns false ("min or max is not a float") otherwise.
bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* out);

// One end of a ZRANGEBYLEX interval: "-" (below everything), "+" (above
// everything), "[member" (inclusive) or "(member" (exclusive).
struct LexBound {
  enum class Kind : uint8_t { kMinusInfinity, kPlusInfinity, kInclusive, kExclusive };
  Kind kind = Kind::kMinusInfinity;
  std::string value;
};

struct LexRange {
  LexBound min;
  LexBound max;

  bool AboveMin(std::string_view member) const;
  bool BelowMax(std::string_view member) const;
  bool Contains(std::string_view member) const { return AboveMin(member) && BelowMax(member); }
  // True when no member can be in the range.
  bool Empty() const;
};

// Parses ZRANGEBYLEX-style bounds. Returns false ("min or max not valid
// string range item") when either is not of the forms above.
bool ParseLexRange(std::string_view min, std::string_view max, LexRange* out);

// ZADD's options, as bits.
enum ZAddFlag : uint32_t {
  kZAddNx = 1u << 0,    // only add new members
  kZAddXx = 1u << 1,    // only update existing members
  kZAddGt = 1u << 2,    // only update when the new score is greater
  kZAddLt = 1u << 3,    // only update when the new score is less
  kZAddIncr = 1u << 4,  // add the score to the current one (ZINCRBY)
};

// What ZSetAdd did to one member.
enum class ZAddOutcome : uint8_t {
  kAdded,      // a new member
  kUpdated,    // an existing member's score changed
  kUnchanged,  // an existing member kept its score (same score, or INCR by 0)
  kSkipped,    // NX/XX/GT/LT prevented the operation
  kNaN,        // the resulting score would be NaN (INCR of inf by -inf); nothing done
};

// Makes `value` an empty sorted set in the encoding Redis 7.0's ZADD picks
// for a new key whose first member is `first_member`: listpack unless the
// limits forbid listpacks or that member is too long.
void ZSetInit(Value& value, std::string_view first_member, const ZSetLimits& limits);

// Adds or updates `member` per `flags` (ZAddFlag bits; NaN `score` is a
// precondition violation, parse rejects it). Converts a listpack to a
// skiplist when it outgrows `limits`. *new_score (if given) receives the
// member's score after the call, unless the outcome is kSkipped or kNaN.
ZAddOutcome ZSetAdd(Value& value, std::string_view member, double score, uint32_t flags,
                    const ZSetLimits& limits, double* new_score = nullptr);

// Gives a listpack's spare capacity back (its buffer grows ahead of
// need); call once a command has finished adding members.
void ZSetShrinkToFit(Value& value);

// Removes `member`; false when absent. The set may become empty.
bool ZSetRemove(Value& value, std::string_view member);

size_t ZSetSize(const Value& value);
// The member's score, or nullopt when absent.
std::optional<double> ZSetScore(const Value& value, std::string_view member);
// 0-based rank of `member` counted from the lowest score (or from the
// highest when `reverse`), or nullopt when absent.
std::optional<uint64_t> ZSetRank(const Value& value, std::string_view member, bool reverse);

// Number of members whose score / member is in the range.
uint64_t ZSetCountInScoreRange(const Value& value, const ScoreRange& range);
uint64_t ZSetCountInLexRange(const Value& value, const LexRange& range);

// Appends the members of ranks [start, end] (0-based, 0 <= start <= end <
// size; ranks counted from the highest score when `reverse`) to *out, in
// that order.
void ZSetRangeByRank(const Value& value, uint64_t start, uint64_t end, bool reverse,
                     std::vector<ZSetItem>* out);
// Appends the members in `range`, ascending (descending when `reverse`),
// skipping the first `offset` of them and stopping after `limit` (< 0: no
// limit). A negative offset yields nothing, as in Redis.
void ZSetRangeByScore(const Value& value, const ScoreRange& range, bool reverse, int64_t offset,
                      int64_t limit, std::vector<ZSetItem>* out);
// As ZSetRangeByScore, for a lexicographic range (meaningful when all
// scores are equal, as in Redis).
void ZSetRangeByLex(const Value& value, const LexRange& range, bool reverse, int64_t offset,
                    int64_t limit, std::vector<ZSetItem>* out);
// Appends every member, from the highest score to the lowest: the order in
// which Redis's set-operation iterator walks a sorted set (what ZRANDMEMBER
// replies when asked for at least the whole set).
void ZSetAllDescending(const Value& value, std::vector<ZSetItem>* out);

// Removal by range; each returns how many members it removed. Ranks as in
// ZSetRangeByRank (not reversed).
uint64_t ZSetRemoveRangeByRank(Value& value, uint64_t start, uint64_t end);
uint64_t ZSetRemoveRangeByScore(Value& value, const ScoreRange& range);
uint64_t ZSetRemoveRangeByLex(Value& value, const LexRange& range);

// Removes up to `count` members with the lowest scores (the highest when
// `from_max`) and appends them to *out in removal order. The blocking pops
// (BZPOPMIN, BZPOPMAX, BZMPOP) use this too. The set may become empty.
void ZSetPop(Value& value, bool from_max, size_t count, std::vector<ScoredMember>* out);

// One step of ZSCAN: visits some members and returns the next cursor (0 when
// done). A listpack is visited whole in one call and returns 0, as Redis
// does; a skiplist walks its Dict with the reverse-binary cursor.
uint64_t ZSetScan(const Value& value, uint64_t cursor,
                  const std::function<void(std::string_view member, double score)>& visit);

// ZRANDMEMBER's sampling. `count` members chosen at random: distinct ones
// when `distinct` (at most the set's size; all of them, highest score
// first, when count >= size), or with repetitions otherwise.
void ZSetRandomMembers(const Value& value, uint64_t count, bool distinct, std::mt19937_64& rng,
                       std::vector<ZSetItem>* out);

// Replaces `value` by a sorted set holding `members` (distinct members,
// any order; must not be empty), in the listpack encoding when it fits
// `limits` and as a skiplist otherwise, as Redis does for the results of
// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE and ZRANGESTORE.
void ZSetAssign(Value& value, std::vector<ScoredMember>&& members, const ZSetLimits& limits);

// OBJECT ENCODING's name: "listpack" or "skiplist".
std::string_view ZSetEncoding(const Value& value);

// Converts a listpack sorted set to the skiplist encoding (no-op otherwise).
void ZSetConvertToSkiplist(Value& value);

// Orders members as the set does: by score, then by member bytes.
inline bool ZSetLess(double score_a, std::string_view member_a, double score_b,
                     std::string_view member_b) {
  return score_a < score_b || (score_a == score_b && member_a < member_b);
}

// How a listpack keeps a score, in as few bytes as Redis's listpack does:
// an integral score of magnitude up to 2^53 as its minimal little-endian
// two's complement (0 to 7 bytes; 0 bytes for zero), anything else as the
// 8 raw bytes of the double. Like Redis 7.0, which stores integral scores
// as listpack integers, a listpack thus keeps -0 as 0 (a skiplist keeps the
// sign). Writes at most kScoreBytesMax bytes and returns how many.
inline constexpr size_t kScoreBytesMax = 8;
size_t EncodeListpackScore(double score, char* buf);
// Reads a score written by EncodeListpackScore.
double DecodeListpackScore(std::string_view bytes);

}  // namespace understudy::storage

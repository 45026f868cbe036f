#include "storage/zset_value.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>
#include <utility>

#include "storage/zset_skiplist.h"

namespace understudy::storage {
namespace {

using Node = ZSetSkiplist::Node;

const ZSetSkiplist& Skiplist(const Value& value) { return *value.As<ZSetSkiplist>(); }
ZSetSkiplist& Skiplist(Value& value) { return *value.As<ZSetSkiplist>(); }

// A position in a sorted set of either encoding, moving pair by pair in
// score order. In a listpack `pos` is the offset of a member (its score is
// the next element); in a skiplist `node` is the node. Invalid once it moves
// past either end.
class Walker {
 public:
  static Walker AtListpack(const Listpack& lp, uint32_t pos) { return Walker(&lp, pos, nullptr); }
  static Walker AtNode(const Node* node) { return Walker(nullptr, 0, node); }

  bool valid() const { return lp_ != nullptr ? pos_ < lp_->End() : node_ != nullptr; }
  std::string_view member() const { return lp_ != nullptr ? lp_->Get(pos_) : node_->member(); }
  double score() const {
    return lp_ != nullptr ? DecodeListpackScore(lp_->Get(lp_->Next(pos_))) : node_->score;
  }
  ZSetItem item() const { return ZSetItem{member(), score()}; }
  // Listpack offset of the member (listpack walkers only).
  uint32_t pos() const { return pos_; }
  void Forward() {
    if (lp_ != nullptr) {
      pos_ = lp_->Next(lp_->Next(pos_));
    } else {
      node_ = node_->next();
    }
  }
  void Backward() {
    if (lp_ != nullptr) {
      pos_ = pos_ == lp_->Begin() ? lp_->End() : lp_->Prev(lp_->Prev(pos_));
    } else {
      node_ = node_->prev();
    }
  }
  void Step(bool reverse) {
    if (reverse) {
      Backward();
    } else {
      Forward();
    }
  }

 private:
  Walker(const Listpack* lp, uint32_t pos, const Node* node) : lp_(lp), pos_(pos), node_(node) {}

  const Listpack* lp_;
  uint32_t pos_;
  const Node* node_;
};

// Offset of the member of the last pair of a non-empty listpack.
uint32_t LastPair(const Listpack& lp) { return lp.Prev(lp.Last()); }

// The pair of 0-based ascending rank `rank` (< size).
Walker WalkerAtRank(const Value& value, uint64_t rank) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    return Walker::AtListpack(lp, lp.Seek(static_cast<int64_t>(rank * 2)));
  }
  return Walker::AtNode(Skiplist(value).NodeAtRank(rank + 1));
}

// The first pair (in ascending order) for which `above_min` holds, provided
// `below_max` holds for it too; otherwise an invalid walker.
template <typename AboveMin, typename BelowMax>
Walker ListpackFirstInRange(const Listpack& lp, AboveMin above_min, BelowMax below_max) {
  for (uint32_t pos = lp.Begin(); pos < lp.End(); pos = lp.Next(lp.Next(pos))) {
    Walker w = Walker::AtListpack(lp, pos);
    if (above_min(w)) return below_max(w) ? w : Walker::AtListpack(lp, lp.End());
  }
  return Walker::AtListpack(lp, lp.End());
}

// The last pair for which `below_max` holds, provided `above_min` holds too.
template <typename AboveMin, typename BelowMax>
Walker ListpackLastInRange(const Listpack& lp, AboveMin above_min, BelowMax below_max) {
  if (lp.empty()) return Walker::AtListpack(lp, lp.End());
  for (Walker w = Walker::AtListpack(lp, LastPair(lp)); w.valid(); w.Backward()) {
    if (below_max(w)) return above_min(w) ? w : Walker::AtListpack(lp, lp.End());
  }
  return Walker::AtListpack(lp, lp.End());
}

Walker FirstInRange(const Value& value, const ScoreRange& range) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    if (range.Empty()) return Walker::AtListpack(lp, lp.End());
    return ListpackFirstInRange(
        lp, [&](const Walker& w) { return range.AboveMin(w.score()); },
        [&](const Walker& w) { return range.BelowMax(w.score()); });
  }
  return Walker::AtNode(Skiplist(value).FirstInRange(range));
}

Walker LastInRange(const Value& value, const ScoreRange& range) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    if (range.Empty()) return Walker::AtListpack(lp, lp.End());
    return ListpackLastInRange(
        lp, [&](const Walker& w) { return range.AboveMin(w.score()); },
        [&](const Walker& w) { return range.BelowMax(w.score()); });
  }
  return Walker::AtNode(Skiplist(value).LastInRange(range));
}

Walker FirstInRange(const Value& value, const LexRange& range) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    if (range.Empty()) return Walker::AtListpack(lp, lp.End());
    return ListpackFirstInRange(
        lp, [&](const Walker& w) { return range.AboveMin(w.member()); },
        [&](const Walker& w) { return range.BelowMax(w.member()); });
  }
  return Walker::AtNode(Skiplist(value).FirstInRange(range));
}

Walker LastInRange(const Value& value, const LexRange& range) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    if (range.Empty()) return Walker::AtListpack(lp, lp.End());
    return ListpackLastInRange(
        lp, [&](const Walker& w) { return range.AboveMin(w.member()); },
        [&](const Walker& w) { return range.BelowMax(w.member()); });
  }
  return Walker::AtNode(Skiplist(value).LastInRange(range));
}

// Shared body of ZRANGEBYSCORE / ZRANGEBYLEX: from the first pair in range
// (the last when reversed), skip `offset` pairs, then take up to `limit`
// while `in_far_bound` holds.
template <typename Range, typename InFarBound>
void CollectRange(const Value& value, const Range& range, bool reverse, int64_t offset,
                  int64_t limit, InFarBound in_far_bound, std::vector<ZSetItem>* out) {
  // Redis skips with `while (offset--)`, so a negative offset walks off the end.
  if (offset < 0) return;
  Walker w = reverse ? LastInRange(value, range) : FirstInRange(value, range);
  for (; w.valid() && offset > 0; --offset) w.Step(reverse);
  for (; w.valid() && limit != 0; w.Step(reverse)) {
    if (!in_far_bound(w)) break;
    out->push_back(w.item());
    if (limit > 0) --limit;
  }
}

// Inserts a pair into a listpack at its place in (score, member) order.
void ListpackInsertSorted(Listpack& lp, std::string_view member, double score) {
  uint32_t pos = lp.Begin();
  while (pos < lp.End()) {
    uint32_t score_pos = lp.Next(pos);
    if (ZSetLess(score, member, DecodeListpackScore(lp.Get(score_pos)), lp.Get(pos))) break;
    pos = lp.Next(score_pos);
  }
  char bytes[kScoreBytesMax];
  size_t length = EncodeListpackScore(score, bytes);
  lp.Insert(pos, member);
  lp.Insert(lp.Next(pos), std::string_view(bytes, length));
}

// Compares lex bounds the way Redis's sdscmplex does: "-" below and "+"
// above everything (each equal to itself), values byte-wise.
int CompareLexBounds(const LexBound& a, const LexBound& b) {
  using Kind = LexBound::Kind;
  bool a_infinite = a.kind == Kind::kMinusInfinity || a.kind == Kind::kPlusInfinity;
  bool b_infinite = b.kind == Kind::kMinusInfinity || b.kind == Kind::kPlusInfinity;
  if (a_infinite && a.kind == b.kind) return 0;
  if (a.kind == Kind::kMinusInfinity || b.kind == Kind::kPlusInfinity) return -1;
  if (a.kind == Kind::kPlusInfinity || b.kind == Kind::kMinusInfinity) return 1;
  (void)b_infinite;
  int cmp = a.value.compare(b.value);
  return cmp < 0 ? -1 : (cmp > 0 ? 1 : 0);
}

bool ParseLexBound(std::string_view text, LexBound* out) {
  if (text.empty()) return false;
  // Redis reads the argument as a C string: "+" or "-" must end there.
  bool single = text.size() == 1 || text[1] == '\0';
  switch (text[0]) {
    case '+':
      if (!single) return false;
      out->kind = LexBound::Kind::kPlusInfinity;
      out->value.clear();
      return true;
    case '-':
      if (!single) return false;
      out->kind = LexBound::Kind::kMinusInfinity;
      out->value.clear();
      return true;
    case '(':
      out->kind = LexBound::Kind::kExclusive;
      out->value.assign(text.substr(1));
      return true;
    case '[':
      out->kind = LexBound::Kind::kInclusive;
      out->value.assign(text.substr(1));
      return true;
    default:
      return false;
  }
}

bool ParseScoreBound(std::string_view text, double* value, bool* exclusive) {
  // Redis applies strtod to the argument as a C string, so the number ends
  // at the first NUL byte and an empty remainder reads as 0.
  std::string copy(text);
  const char* start = copy.c_str();
  *exclusive = false;
  if (*start == '(') {
    *exclusive = true;
    ++start;
  }
  char* end = nullptr;
  double parsed = std::strtod(start, &end);
  if (*end != '\0' || std::isnan(parsed)) return false;
  *value = parsed;
  return true;
}

std::unique_ptr<ZSetSkiplist> SkiplistFromListpack(const Listpack& lp) {
  auto skiplist = std::make_unique<ZSetSkiplist>();
  for (Walker w = Walker::AtListpack(lp, lp.Begin()); w.valid(); w.Forward()) {
    skiplist->Insert(w.member(), w.score());
  }
  return skiplist;
}

}  // namespace

size_t EncodeListpackScore(double score, char* buf) {
  constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
  if (score >= -kMaxExactInteger && score <= kMaxExactInteger && score == std::trunc(score)) {
    int64_t value = static_cast<int64_t>(score);  // -0 becomes 0
    size_t length = 0;
    // The fewest bytes whose sign-extension gives `value` back.
    while (length < 7) {
      int shift = 64 - 8 * static_cast<int>(length);
      int64_t truncated =
          length == 0 ? 0 : static_cast<int64_t>(static_cast<uint64_t>(value) << shift) >> shift;
      if (truncated == value) break;
      ++length;
    }
    uint64_t bits = static_cast<uint64_t>(value);
    for (size_t i = 0; i < length; ++i) buf[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
    return length;
  }
  std::memcpy(buf, &score, sizeof(score));
  return sizeof(score);
}

double DecodeListpackScore(std::string_view bytes) {
  if (bytes.size() == sizeof(double)) {
    double score;
    std::memcpy(&score, bytes.data(), sizeof(score));
    return score;
  }
  if (bytes.empty()) return 0;
  uint64_t bits = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    bits |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  int shift = 64 - 8 * static_cast<int>(bytes.size());
  return static_cast<double>(static_cast<int64_t>(bits << shift) >> shift);
}

bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* out) {
  return ParseScoreBound(min, &out->min, &out->min_exclusive) &&
         ParseScoreBound(max, &out->max, &out->max_exclusive);
}

bool LexRange::AboveMin(std::string_view member) const {
  switch (min.kind) {
    case LexBound::Kind::kMinusInfinity:
      return true;
    case LexBound::Kind::kPlusInfinity:
      return false;
    case LexBound::Kind::kInclusive:
      return member >= std::string_view(min.value);
    case LexBound::Kind::kExclusive:
      return member > std::string_view(min.value);
  }
  return false;
}

bool LexRange::BelowMax(std::string_view member) const {
  switch (max.kind) {
    case LexBound::Kind::kMinusInfinity:
      return false;
    case LexBound::Kind::kPlusInfinity:
      return true;
    case LexBound::Kind::kInclusive:
      return member <= std::string_view(max.value);
    case LexBound::Kind::kExclusive:
      return member < std::string_view(max.value);
  }
  return false;
}

bool LexRange::Empty() const {
  int cmp = CompareLexBounds(min, max);
  // Redis marks "-" and "+" as exclusive bounds.
  bool exclusive = min.kind != LexBound::Kind::kInclusive || max.kind != LexBound::Kind::kInclusive;
  return cmp > 0 || (cmp == 0 && exclusive);
}

bool ParseLexRange(std::string_view min, std::string_view max, LexRange* out) {
  return ParseLexBound(min, &out->min) && ParseLexBound(max, &out->max);
}

void ZSetInit(Value& value, std::string_view first_member, const ZSetLimits& limits) {
  if (limits.max_listpack_entries == 0 || first_member.size() > limits.max_listpack_value) {
    value.SetCollection(ValueType::kZSet, std::make_unique<ZSetSkiplist>());
  } else {
    value.SetListpack(ValueType::kZSet);
  }
}

void ZSetConvertToSkiplist(Value& value) {
  if (!value.is_listpack()) return;
  value.ConvertToCollection(SkiplistFromListpack(value.listpack()));
}

ZAddOutcome ZSetAdd(Value& value, std::string_view member, double score, uint32_t flags,
                    const ZSetLimits& limits, double* new_score) {
  const bool nx = flags & kZAddNx, xx = flags & kZAddXx, gt = flags & kZAddGt, lt = flags & kZAddLt,
             incr = flags & kZAddIncr;
  // The checks every existing member goes through, whatever the encoding.
  // Returns the outcome so far, or nullopt to go on and store `score`.
  auto apply_options = [&](double current) -> std::optional<ZAddOutcome> {
    if (nx) return ZAddOutcome::kSkipped;
    if (incr) {
      score += current;
      if (std::isnan(score)) return ZAddOutcome::kNaN;
    }
    if ((lt && score >= current) || (gt && score <= current)) return ZAddOutcome::kSkipped;
    if (new_score != nullptr) *new_score = score;
    if (score == current) return ZAddOutcome::kUnchanged;
    return std::nullopt;
  };

  if (value.is_listpack()) {
    Listpack& lp = value.listpack();
    uint32_t pos = lp.Find(member, lp.Begin(), 1);
    if (pos != lp.End()) {
      double current = DecodeListpackScore(lp.Get(lp.Next(pos)));
      if (auto outcome = apply_options(current)) return *outcome;
      lp.Erase(pos, 2);
      ListpackInsertSorted(lp, member, score);
      return ZAddOutcome::kUpdated;
    }
    if (xx) return ZAddOutcome::kSkipped;
    if (lp.size() / 2 + 1 <= limits.max_listpack_entries &&
        member.size() <= limits.max_listpack_value) {
      ListpackInsertSorted(lp, member, score);
      if (new_score != nullptr) *new_score = score;
      return ZAddOutcome::kAdded;
    }
    ZSetConvertToSkiplist(value);
  }

  ZSetSkiplist& skiplist = Skiplist(value);
  if (Entry* entry = skiplist.FindMember(member)) {
    if (auto outcome = apply_options(ZSetSkiplist::EntryScore(entry))) return *outcome;
    skiplist.UpdateScore(entry, score);
    return ZAddOutcome::kUpdated;
  }
  if (xx) return ZAddOutcome::kSkipped;
  skiplist.Insert(member, score);
  if (new_score != nullptr) *new_score = score;
  return ZAddOutcome::kAdded;
}

void ZSetShrinkToFit(Value& value) {
  if (value.is_listpack()) value.listpack().ShrinkToFit();
}

bool ZSetRemove(Value& value, std::string_view member) {
  if (value.is_listpack()) {
    Listpack& lp = value.listpack();
    uint32_t pos = lp.Find(member, lp.Begin(), 1);
    if (pos == lp.End()) return false;
    lp.Erase(pos, 2);
    return true;
  }
  return Skiplist(value).Remove(member);
}

size_t ZSetSize(const Value& value) {
  if (value.is_listpack()) return value.listpack().size() / 2;
  return Skiplist(value).size();
}

std::optional<double> ZSetScore(const Value& value, std::string_view member) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    uint32_t pos = lp.Find(member, lp.Begin(), 1);
    if (pos == lp.End()) return std::nullopt;
    return DecodeListpackScore(lp.Get(lp.Next(pos)));
  }
  return Skiplist(value).Score(member);
}

std::optional<uint64_t> ZSetRank(const Value& value, std::string_view member, bool reverse) {
  uint64_t size = ZSetSize(value);
  uint64_t rank = 0;
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    uint32_t pos = lp.Begin();
    while (pos < lp.End() && lp.Get(pos) != member) {
      pos = lp.Next(lp.Next(pos));
      ++rank;
    }
    if (pos == lp.End()) return std::nullopt;
  } else {
    const ZSetSkiplist& skiplist = Skiplist(value);
    std::optional<double> score = skiplist.Score(member);
    if (!score) return std::nullopt;
    rank = skiplist.Rank(member, *score) - 1;
  }
  return reverse ? size - 1 - rank : rank;
}

uint64_t ZSetCountInScoreRange(const Value& value, const ScoreRange& range) {
  if (range.Empty()) return 0;
  if (value.is_listpack()) {
    uint64_t count = 0;
    for (Walker w = FirstInRange(value, range); w.valid() && range.BelowMax(w.score());
         w.Forward()) {
      ++count;
    }
    return count;
  }
  const ZSetSkiplist& skiplist = Skiplist(value);
  uint64_t not_above = skiplist.CountNotAbove(range);
  uint64_t below = skiplist.CountBelow(range);
  return not_above > below ? not_above - below : 0;
}

uint64_t ZSetCountInLexRange(const Value& value, const LexRange& range) {
  if (range.Empty()) return 0;
  if (value.is_listpack()) {
    uint64_t count = 0;
    for (Walker w = FirstInRange(value, range); w.valid() && range.BelowMax(w.member());
         w.Forward()) {
      ++count;
    }
    return count;
  }
  const ZSetSkiplist& skiplist = Skiplist(value);
  uint64_t not_above = skiplist.CountNotAbove(range);
  uint64_t below = skiplist.CountBelow(range);
  return not_above > below ? not_above - below : 0;
}

void ZSetRangeByRank(const Value& value, uint64_t start, uint64_t end, bool reverse,
                     std::vector<ZSetItem>* out) {
  uint64_t size = ZSetSize(value);
  uint64_t first = reverse ? size - 1 - start : start;
  out->reserve(out->size() + (end - start + 1));
  Walker w = WalkerAtRank(value, first);
  for (uint64_t i = start; i <= end && w.valid(); ++i, w.Step(reverse)) out->push_back(w.item());
}

void ZSetRangeByScore(const Value& value, const ScoreRange& range, bool reverse, int64_t offset,
                      int64_t limit, std::vector<ZSetItem>* out) {
  CollectRange(
      value, range, reverse, offset, limit,
      [&](const Walker& w) {
        return reverse ? range.AboveMin(w.score()) : range.BelowMax(w.score());
      },
      out);
}

void ZSetRangeByLex(const Value& value, const LexRange& range, bool reverse, int64_t offset,
                    int64_t limit, std::vector<ZSetItem>* out) {
  CollectRange(
      value, range, reverse, offset, limit,
      [&](const Walker& w) {
        return reverse ? range.AboveMin(w.member()) : range.BelowMax(w.member());
      },
      out);
}

void ZSetAllDescending(const Value& value, std::vector<ZSetItem>* out) {
  uint64_t size = ZSetSize(value);
  if (size == 0) return;
  ZSetRangeByRank(value, 0, size - 1, /*reverse=*/true, out);
}

uint64_t ZSetRemoveRangeByRank(Value& value, uint64_t start, uint64_t end) {
  if (value.is_listpack()) {
    Listpack& lp = value.listpack();
    uint32_t pos = lp.Seek(static_cast<int64_t>(start * 2));
    uint64_t count = std::min<uint64_t>(end, lp.size() / 2 - 1) - start + 1;
    lp.Erase(pos, static_cast<uint32_t>(count * 2));
    return count;
  }
  return Skiplist(value).RemoveRangeByRank(start + 1, end + 1);
}

uint64_t ZSetRemoveRangeByScore(Value& value, const ScoreRange& range) {
  if (value.is_listpack()) {
    Listpack& lp = value.listpack();
    Walker first = FirstInRange(value, range);
    if (!first.valid()) return 0;
    uint64_t count = 0;
    for (Walker w = first; w.valid() && range.BelowMax(w.score()); w.Forward()) ++count;
    lp.Erase(first.pos(), static_cast<uint32_t>(count * 2));
    return count;
  }
  return Skiplist(value).RemoveRangeByScore(range);
}

uint64_t ZSetRemoveRangeByLex(Value& value, const LexRange& range) {
  if (value.is_listpack()) {
    Listpack& lp = value.listpack();
    Walker first = FirstInRange(value, range);
    if (!first.valid()) return 0;
    uint64_t count = 0;
    for (Walker w = first; w.valid() && range.BelowMax(w.member()); w.Forward()) ++count;
    lp.Erase(first.pos(), static_cast<uint32_t>(count * 2));
    return count;
  }
  return Skiplist(value).RemoveRangeByLex(range);
}

void ZSetPop(Value& value, bool from_max, size_t count, std::vector<ScoredMember>* out) {
  uint64_t size = ZSetSize(value);
  uint64_t n = std::min<uint64_t>(count, size);
  if (n == 0) return;
  std::vector<ZSetItem> items;
  if (from_max) {
    ZSetRangeByRank(value, 0, n - 1, /*reverse=*/true, &items);
  } else {
    ZSetRangeByRank(value, 0, n - 1, /*reverse=*/false, &items);
  }
  out->reserve(out->size() + n);
  for (const ZSetItem& item : items)
    out->push_back(ScoredMember{std::string(item.member), item.score});
  if (from_max) {
    ZSetRemoveRangeByRank(value, size - n, size - 1);
  } else {
    ZSetRemoveRangeByRank(value, 0, n - 1);
  }
}

uint64_t ZSetScan(const Value& value, uint64_t cursor,
                  const std::function<void(std::string_view member, double score)>& visit) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    for (Walker w = Walker::AtListpack(lp, lp.Begin()); w.valid(); w.Forward()) {
      visit(w.member(), w.score());
    }
    return 0;
  }
  return Skiplist(value).dict().Scan(
      cursor, [&](Entry* entry) { visit(entry->key(), ZSetSkiplist::EntryScore(entry)); });
}

void ZSetRandomMembers(const Value& value, uint64_t count, bool distinct, std::mt19937_64& rng,
                       std::vector<ZSetItem>* out) {
  uint64_t size = ZSetSize(value);
  if (count == 0 || size == 0) return;
  if (distinct && count >= size) {
    ZSetAllDescending(value, out);
    return;
  }
  if (!distinct || count == 1) {
    if (value.is_listpack()) {
      std::vector<ZSetItem> all;
      ZSetRangeByRank(value, 0, size - 1, false, &all);
      std::uniform_int_distribution<size_t> pick(0, all.size() - 1);
      for (uint64_t i = 0; i < count; ++i) out->push_back(all[pick(rng)]);
    } else {
      Dict& dict = Skiplist(value).mutable_dict();
      for (uint64_t i = 0; i < count; ++i) {
        Entry* entry = dict.RandomEntry(rng);
        out->push_back(ZSetItem{entry->key(), ZSetSkiplist::EntryScore(entry)});
      }
    }
    return;
  }
  // Distinct and fewer than the whole set. When a good share of the set is
  // wanted, shuffle a copy of it partially; otherwise sample until enough
  // different members are drawn.
  if (value.is_listpack() || count * 3 > size) {
    std::vector<ZSetItem> all;
    ZSetRangeByRank(value, 0, size - 1, false, &all);
    for (uint64_t i = 0; i < count; ++i) {
      std::uniform_int_distribution<size_t> pick(i, all.size() - 1);
      std::swap(all[i], all[pick(rng)]);
      out->push_back(all[i]);
    }
    return;
  }
  Dict& dict = Skiplist(value).mutable_dict();
  std::unordered_set<const Entry*> chosen;
  while (chosen.size() < count) {
    Entry* entry = dict.RandomEntry(rng);
    if (chosen.insert(entry).second) {
      out->push_back(ZSetItem{entry->key(), ZSetSkiplist::EntryScore(entry)});
    }
  }
}

void ZSetAssign(Value& value, std::vector<ScoredMember>&& members, const ZSetLimits& limits) {
  std::sort(members.begin(), members.end(), [](const ScoredMember& a, const ScoredMember& b) {
    return ZSetLess(a.score, a.member, b.score, b.member);
  });
  bool fits = members.size() <= limits.max_listpack_entries;
  for (size_t i = 0; fits && i < members.size(); ++i) {
    fits = members[i].member.size() <= limits.max_listpack_value;
  }
  if (fits) {
    Listpack lp;
    char bytes[kScoreBytesMax];
    for (const ScoredMember& m : members) {
      lp.PushBack(m.member);
      lp.PushBack(std::string_view(bytes, EncodeListpackScore(m.score, bytes)));
    }
    lp.ShrinkToFit();
    value.SetListpack(ValueType::kZSet);
    value.listpack() = std::move(lp);
    return;
  }
  auto skiplist = std::make_unique<ZSetSkiplist>();
  for (const ScoredMember& m : members) skiplist->Insert(m.member, m.score);
  value.SetCollection(ValueType::kZSet, std::move(skiplist));
}

std::string_view ZSetEncoding(const Value& value) {
  return value.is_listpack() ? "listpack" : "skiplist";
}

}  // namespace understudy::storage

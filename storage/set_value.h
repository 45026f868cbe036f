#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "storage/dict.h"
#include "storage/listpack.h"
#include "storage/value.h"

// The set data type with Redis 7.0's two encodings: an "intset" (a sorted
// array of integers) while every member is a canonical 64-bit integer and
// there are at most set-max-intset-entries of them, and a "hashtable"
// otherwise. A set never goes back from hashtable to intset, as in Redis.
//
// What 7.0 calls a hashtable is held in one of two ways: a small set (at
// most 128 members of at most 64 bytes, the limits Redis 7.2 uses for its
// listpack sets) is a Listpack embedded in the Value, walked linearly; a
// larger one is a Dict. A set of three short strings thus costs one 32-byte
// block instead of a table and an entry per member. Clients cannot tell
// the two apart except through SSCAN, which returns a listpack set in one
// call with cursor 0 (as Redis does for its compact encodings); OBJECT
// ENCODING says "hashtable" for both. A set moves from listpack to Dict
// when it outgrows the limits, never back.
namespace understudy::storage {

// Redis caps the intset size at 2^30 entries whatever the configuration says.
inline constexpr int64_t kIntSetEntriesCap = int64_t{1} << 30;

// The limits that decide the representation.
struct SetLimits {
  int64_t max_intset_entries = 512;  // set-max-intset-entries
  // The internal listpack representation of small "hashtable" sets (not
  // configurable: Redis 7.0 has no such directive).
  size_t max_listpack_entries = 128;
  size_t max_listpack_value = 64;
};

// A sorted array of distinct integers in one allocation: this header and
// the elements right after it. Every element has the same width (2, 4 or 8
// bytes), the narrowest that holds all of them; adding a wider value widens
// them all (never narrowed back, like Redis's intset). Lookups are binary
// searches. A set of a few small integers costs a single 32-byte block.
//
// Objects are created only by Create() and freed with delete (the class's
// operator delete matches the malloc in Create()).
class IntSet final : public Collection {
 public:
  // An empty intset of `width` bytes per element with room for at least
  // `capacity` elements.
  static std::unique_ptr<IntSet> Create(uint8_t width, size_t capacity);
  static void operator delete(void* p) { std::free(p); }

  // The narrowest element width (2, 4 or 8) that can hold `value`.
  static uint8_t WidthFor(int64_t value);

  size_t size() const { return count_; }
  uint8_t width() const { return width_; }
  // Elements that fit in the current allocation.
  size_t capacity() const;
  int64_t At(size_t index) const;
  // Index of `value`, or of the first larger element; *found says which.
  size_t LowerBound(int64_t value, bool* found) const;
  bool Contains(int64_t value) const {
    bool found;
    LowerBound(value, &found);
    return found;
  }
  // True when `value` can be inserted without reallocating.
  bool CanInsertInPlace(int64_t value) const {
    return WidthFor(value) <= width_ && count_ < capacity();
  }
  // Inserts `value` at `index` (from LowerBound). Precondition:
  // CanInsertInPlace(value) and `value` absent.
  void InsertAt(size_t index, int64_t value);
  void EraseAt(size_t index);
  // A copy with the elements widened to hold `value` and room for at least
  // `capacity` elements.
  std::unique_ptr<IntSet> CopyWithRoom(int64_t value, size_t capacity) const;
  // A copy in an allocation sized for the current elements (after many
  // removals); nullptr when the current one is already tight enough.
  std::unique_ptr<IntSet> ShrinkToFit() const;

  size_t MemoryUsage() const override;
  std::unique_ptr<Collection> Clone() const override;
  std::string_view Encoding() const override { return "intset"; }

 private:
  explicit IntSet(uint8_t width) : width_(width) {}
  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  void Store(size_t index, int64_t value);

  uint32_t count_ = 0;
  uint8_t width_;
};

// The large representation: members are the keys of a Dict (their values
// stay empty strings), so SSCAN inherits the Dict's SCAN guarantee.
class HashSet final : public Collection {
 public:
  Dict& dict() { return dict_; }
  const Dict& dict() const { return dict_; }

  size_t MemoryUsage() const override;
  std::unique_ptr<Collection> Clone() const override;
  std::string_view Encoding() const override { return "hashtable"; }

 private:
  Dict dict_;
};

// Operations on a Value holding a set, whatever its representation. A
// lightweight view: it holds a pointer to the Value, which must outlive it.
// Operations that change the representation replace the Value's payload.
class SetValue {
 public:
  // Makes `value` an empty set in the representation Redis 7.0 picks for a
  // set created by adding `first_member`: an intset if it is a canonical
  // 64-bit integer, otherwise a hashtable (a listpack if `first_member`
  // fits its limits).
  static SetValue Create(Value& value, std::string_view first_member,
                         const SetLimits& limits = SetLimits());
  // Makes `value` an empty intset: the starting point of computed sets
  // (SUNION, SINTERSTORE...), which stay intsets only if every member is an
  // integer and they are small enough.
  static SetValue CreateIntSet(Value& value);

  // Precondition: value.type() == ValueType::kSet.
  explicit SetValue(Value& value) : value_(&value) {}

  size_t size() const;
  bool empty() const { return size() == 0; }
  bool is_intset() const { return representation() == Representation::kIntSet; }
  // True for a small non-integer set held as a listpack.
  bool is_listpack() const { return value_->is_listpack(); }
  // "intset" or "hashtable" (OBJECT ENCODING).
  std::string_view Encoding() const { return is_intset() ? "intset" : "hashtable"; }

  bool Contains(std::string_view member) const;
  // Adds `member`; false if it was already there. Converts an intset to a
  // hashtable when `member` is not an integer or the intset would exceed
  // limits.max_intset_entries, and a listpack to a Dict when it would
  // exceed the listpack limits.
  bool Add(std::string_view member, const SetLimits& limits);
  // Removes `member`; false if it was absent. A hashtable shrinks its table
  // when it becomes sparse. The caller deletes the key once the set is empty.
  bool Remove(std::string_view member);

  // Calls `visit` for every member until it returns false: an intset in
  // ascending order, a hashtable in table order. The set must not change
  // during the walk.
  void ForEach(const std::function<bool(std::string_view)>& visit) const;

  // Copies a uniformly chosen member to *out (an intset picks by index, a
  // hashtable by bucket). Precondition: !empty().
  void RandomMember(std::mt19937_64& rng, std::string* out) const;
  // Removes a random member and copies it to *out. Precondition: !empty().
  void PopRandom(std::mt19937_64& rng, std::string* out);

  // One SSCAN step from `cursor`: an intset or listpack returns every
  // member and cursor 0; a Dict visits buckets until at least `count` members were seen,
  // the table is done, or count*10 more buckets were visited, and returns
  // the cursor to continue from (0 when done). Members present for the whole
  // scan are returned at least once.
  uint64_t Scan(uint64_t cursor, int64_t count,
                const std::function<void(std::string_view)>& visit) const;

 private:
  enum class Representation { kIntSet, kListpack, kDict };
  Representation representation() const {
    if (value_->is_listpack()) return Representation::kListpack;
    // Both large representations are Collections; the encoding name tells
    // them apart without RTTI: "intset" vs "hashtable".
    return value_->collection()->Encoding()[0] == 'i' ? Representation::kIntSet
                                                      : Representation::kDict;
  }
  IntSet* intset() const { return value_->As<IntSet>(); }
  // `class` because hash_value.h declares a function named HashSet, which
  // hides this class's name in files that include both headers.
  class HashSet* hashset() const {
    return value_->As<class HashSet>();
  }
  Listpack& listpack() const { return value_->listpack(); }
  // Replaces an intset or listpack by a representation that can take
  // `extra` more members, of which the longest has `longest` bytes: a
  // listpack when the limits allow, otherwise a Dict.
  void ConvertForGrowth(size_t extra, size_t longest, const SetLimits& limits);
  void ConvertToDict();
  bool AddToIntSet(int64_t number, const SetLimits& limits);
  bool AddToListpack(std::string_view member, const SetLimits& limits);

  Value* value_;
};

}  // namespace understudy::storage

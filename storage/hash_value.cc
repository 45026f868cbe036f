#include "storage/hash_value.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "common/numbers.h"

namespace understudy::storage {
namespace {

// Offset of the value that belongs to the field at `field_pos`.
uint32_t ValuePos(const Listpack& lp, uint32_t field_pos) { return lp.Next(field_pos); }

// Offset of the field named `field`, or End(): fields sit at even indexes,
// so Find skips every value.
uint32_t FindField(const Listpack& lp, std::string_view field) { return lp.Find(field, 0, 1); }

size_t ListpackPairs(const Listpack& lp) { return lp.size() / 2; }

bool TooLongForListpack(std::string_view s, const HashLimits& limits) {
  return s.size() > limits.max_listpack_value;
}

// The pair at pair index `index` of a listpack hash (0 <= index < pairs).
HashPair ListpackPairAt(const Listpack& lp, uint64_t index) {
  uint32_t pos = lp.Seek(static_cast<int64_t>(index * 2));
  return {lp.Get(pos), lp.Get(ValuePos(lp, pos))};
}

// Calls `visit` for every pair of a listpack hash, in order.
template <typename Visit>
void ForEachListpackPair(const Listpack& lp, Visit&& visit) {
  for (uint32_t pos = lp.Begin(); pos < lp.End();) {
    uint32_t value_pos = lp.Next(pos);
    visit(HashPair{lp.Get(pos), lp.Get(value_pos)});
    pos = lp.Next(value_pos);
  }
}

// Calls `visit` for every entry of a hashtable (a complete scan: nothing
// changes the table meanwhile, so each entry is seen exactly once).
void ForEachTableEntry(const HashTable& table, const std::function<void(const Entry&)>& visit) {
  uint64_t cursor = 0;
  do {
    cursor = table.Scan(cursor, visit);
  } while (cursor != 0);
}

HashPair PairOf(const Entry& e) { return {e.key(), e.value().string()}; }

}  // namespace

// ---------------------------------------------------------------------------
// HashTable

size_t HashTable::MemoryUsage() const {
  return sizeof(HashTable) + dict_.MemoryUsage() + value_bytes_;
}

std::unique_ptr<Collection> HashTable::Clone() const {
  auto copy = std::make_unique<HashTable>();
  ForEachTableEntry(*this, [&copy](const Entry& e) { copy->Set(e.key(), e.value().string()); });
  return copy;
}

const Value* HashTable::Find(std::string_view field) const {
  Entry* e = dict_.Find(field);
  return e == nullptr ? nullptr : &e->value();
}

bool HashTable::Set(std::string_view field, std::string_view value) {
  bool inserted = false;
  Entry* e = dict_.FindOrInsert(field, &inserted);
  Value& slot = e->value();
  value_bytes_ -= slot.ExternalMemory();
  slot.SetString(value);
  value_bytes_ += slot.ExternalMemory();
  return inserted;
}

bool HashTable::Delete(std::string_view field) {
  Entry* e = dict_.Unlink(field);
  if (e == nullptr) return false;
  value_bytes_ -= e->value().ExternalMemory();
  Dict::FreeEntry(e);
  // Redis resizes a hash's table as soon as deletes leave it sparse.
  dict_.ShrinkIfSparse();
  return true;
}

// ---------------------------------------------------------------------------
// Both encodings

void HashInit(Value& value) { value.SetListpack(ValueType::kHash); }

size_t HashSize(const Value& value) {
  if (value.is_listpack()) return ListpackPairs(value.listpack());
  return value.As<HashTable>()->size();
}

std::string_view HashEncoding(const Value& value) {
  return value.is_listpack() ? std::string_view("listpack") : value.collection()->Encoding();
}

std::optional<std::string_view> HashGet(const Value& value, std::string_view field) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    uint32_t pos = FindField(lp, field);
    if (pos == lp.End()) return std::nullopt;
    return lp.Get(ValuePos(lp, pos));
  }
  const Value* found = value.As<HashTable>()->Find(field);
  if (found == nullptr) return std::nullopt;
  return found->string();
}

void HashConvertToTable(Value& value) {
  if (!value.is_listpack()) return;
  auto table = std::make_unique<HashTable>();
  ForEachListpackPair(value.listpack(),
                      [&table](const HashPair& pair) { table->Set(pair.field, pair.value); });
  value.ConvertToCollection(std::move(table));
}

bool HashSet(Value& value, std::string_view field, std::string_view field_value,
             const HashLimits& limits) {
  if (value.is_listpack() &&
      (TooLongForListpack(field, limits) || TooLongForListpack(field_value, limits))) {
    HashConvertToTable(value);
  }
  if (!value.is_listpack()) return value.As<HashTable>()->Set(field, field_value);

  Listpack& lp = value.listpack();
  uint32_t pos = FindField(lp, field);
  if (pos != lp.End()) {
    lp.Replace(ValuePos(lp, pos), field_value);
    return false;
  }
  lp.PushBack(field);
  lp.PushBack(field_value);
  if (ListpackPairs(lp) > limits.max_listpack_entries) HashConvertToTable(value);
  return true;
}

bool HashDelete(Value& value, std::string_view field) {
  if (!value.is_listpack()) return value.As<HashTable>()->Delete(field);
  Listpack& lp = value.listpack();
  uint32_t pos = FindField(lp, field);
  if (pos == lp.End()) return false;
  lp.Erase(pos, 2);
  return true;
}

HashIncrStatus HashIncrBy(Value& value, std::string_view field, int64_t delta,
                          const HashLimits& limits, int64_t* result) {
  int64_t current = 0;
  if (std::optional<std::string_view> text = HashGet(value, field)) {
    if (!ParseInt64(*text, &current)) return HashIncrStatus::kNotANumber;
  }
  int64_t sum;
  if (__builtin_add_overflow(current, delta, &sum)) return HashIncrStatus::kOverflow;
  char buf[kInt64MaxChars];
  char* end = FormatInt64(sum, buf);
  HashSet(value, field, std::string_view(buf, end - buf), limits);
  *result = sum;
  return HashIncrStatus::kOk;
}

HashIncrStatus HashIncrByFloat(Value& value, std::string_view field, long double delta,
                               const HashLimits& limits, std::string* result) {
  long double current = 0;
  if (std::optional<std::string_view> text = HashGet(value, field)) {
    if (!ParseLongDouble(*text, &current)) return HashIncrStatus::kNotANumber;
  }
  long double sum = current + delta;
  if (std::isnan(sum) || std::isinf(sum)) return HashIncrStatus::kNotFinite;
  *result = FormatLongDoubleHuman(sum);
  HashSet(value, field, *result, limits);
  return HashIncrStatus::kOk;
}

void HashForEach(const Value& value,
                 const std::function<void(std::string_view field, std::string_view value)>& visit) {
  if (value.is_listpack()) {
    ForEachListpackPair(value.listpack(),
                        [&visit](const HashPair& pair) { visit(pair.field, pair.value); });
    return;
  }
  ForEachTableEntry(*value.As<HashTable>(),
                    [&visit](const Entry& e) { visit(e.key(), e.value().string()); });
}

uint64_t HashScan(
    const Value& value, uint64_t cursor,
    const std::function<void(std::string_view field, std::string_view value)>& visit) {
  if (value.is_listpack()) {
    HashForEach(value, visit);
    return 0;
  }
  return value.As<HashTable>()->Scan(
      cursor, [&visit](const Entry& e) { visit(e.key(), e.value().string()); });
}

HashPair HashRandomPair(const Value& value, std::mt19937_64& rng) {
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    return ListpackPairAt(lp, rng() % ListpackPairs(lp));
  }
  return PairOf(value.As<HashTable>()->RandomEntry(rng));
}

void HashRandomPairs(const Value& value, uint64_t count, bool distinct, std::mt19937_64& rng,
                     std::vector<HashPair>* out) {
  const uint64_t size = HashSize(value);
  if (count == 0 || size == 0) return;
  if (distinct && count >= size) {
    out->reserve(out->size() + size);
    HashForEach(value, [out](std::string_view f, std::string_view v) { out->push_back({f, v}); });
    return;
  }

  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    if (!distinct) {
      // Index the pairs once so each draw is O(1) rather than a walk.
      std::vector<HashPair> pairs;
      pairs.reserve(size);
      ForEachListpackPair(lp, [&pairs](const HashPair& pair) { pairs.push_back(pair); });
      out->reserve(out->size() + count);
      for (uint64_t i = 0; i < count; ++i) out->push_back(pairs[rng() % size]);
      return;
    }
    // Selection sampling (Knuth's algorithm S): one pass, every subset of
    // `count` pairs equally likely, chosen pairs kept in hash order.
    uint64_t needed = count;
    uint64_t remaining = size;
    ForEachListpackPair(lp, [&](const HashPair& pair) {
      if (needed > 0 && rng() % remaining < needed) {
        out->push_back(pair);
        --needed;
      }
      --remaining;
    });
    return;
  }

  const HashTable& table = *value.As<HashTable>();
  if (!distinct) {
    out->reserve(out->size() + count);
    for (uint64_t i = 0; i < count; ++i) out->push_back(PairOf(table.RandomEntry(rng)));
    return;
  }
  if (count * 3 > size) {
    // A large share of the hash: shuffle a full list of entries partially
    // rather than drawing until enough distinct ones came up.
    std::vector<const Entry*> entries;
    entries.reserve(size);
    ForEachTableEntry(table, [&entries](const Entry& e) { entries.push_back(&e); });
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t pick = i + rng() % (size - i);
      std::swap(entries[i], entries[pick]);
      out->push_back(PairOf(*entries[i]));
    }
    return;
  }
  // A small share: draw until `count` distinct entries came up (the
  // expected number of draws stays below 1.5 * count).
  std::unordered_set<const Entry*> seen;
  seen.reserve(count);
  while (seen.size() < count) {
    const Entry& e = table.RandomEntry(rng);
    if (seen.insert(&e).second) out->push_back(PairOf(e));
  }
}

}  // namespace understudy::storage

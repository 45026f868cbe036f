#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string_view>

#include "storage/value.h"

namespace understudy::storage {

inline constexpr int64_t kNoExpire = -1;

// One key of the keyspace: header, value and the key's bytes in a single
// allocation (the key follows the header), so a small string key costs one
// malloc. Entries never move once created; only the Dict creates and frees
// them.
class Entry {
 public:
  std::string_view key() const {
    return std::string_view(reinterpret_cast<const char*>(this + 1), key_len_);
  }
  Value& value() { return value_; }
  const Value& value() const { return value_; }

  // Absolute deadline in Unix milliseconds, or kNoExpire. Change it only
  // through Database, which keeps its index of volatile keys in step.
  int64_t expire_at_ms() const { return expire_at_ms_; }
  bool has_expire() const { return expire_at_ms_ != kNoExpire; }

 private:
  friend class Dict;
  friend class Database;

  explicit Entry(uint32_t key_len) : key_len_(key_len) {}

  Entry* next_ = nullptr;  // bucket chain
  int64_t expire_at_ms_ = kNoExpire;
  uint32_t volatile_slot_ = 0;  // index in Database's volatile-key array
  uint32_t key_len_;
  Value value_;
};

static_assert(sizeof(Entry) == 48, "Entry header size is part of the memory budget");

// A chained hash table keyed by byte strings, with Redis's properties that
// matter to clients:
//  - incremental rehashing: growing or shrinking moves a few buckets per
//    operation (and per Rehash() call from the cron), never all at once;
//  - a stateless reverse-binary cursor for Scan(): every key present for
//    the whole scan is returned at least once, however the table resizes.
// Keys are hashed with XXH3 and a per-table random seed.
class Dict {
 public:
  Dict();
  ~Dict();
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;

  size_t size() const { return used_[0] + used_[1]; }
  bool empty() const { return size() == 0; }
  // Number of bucket slots (both tables while rehashing).
  size_t bucket_count() const { return BucketCount(0) + BucketCount(1); }
  bool rehashing() const { return rehash_index_ >= 0; }

  Entry* Find(std::string_view key);
  // Inserts `key`, which must not be present, with an empty string value.
  Entry* Insert(std::string_view key);
  // Returns the existing entry, or inserts one. `*inserted` says which.
  Entry* FindOrInsert(std::string_view key, bool* inserted);
  // Unlinks `key` and returns its entry (still allocated), or nullptr.
  Entry* Unlink(std::string_view key);
  // Frees an entry returned by Unlink().
  static void FreeEntry(Entry* entry);
  bool Erase(std::string_view key);
  void Clear();
  // Exchanges the whole contents with `other` in O(1) (SWAPDB).
  void Swap(Dict& other) noexcept;

  // Visits the buckets at `cursor` and returns the next cursor (0 when the
  // scan is complete). `visit` must not modify the Dict.
  uint64_t Scan(uint64_t cursor, const std::function<void(Entry*)>& visit) const;
  // A random entry, or nullptr when empty.
  Entry* RandomEntry(std::mt19937_64& rng);

  // Moves up to `steps` buckets from the old table to the new one. Returns
  // true while rehashing remains to be done.
  bool Rehash(int steps);
  // Starts shrinking when the table is mostly empty (called from the cron,
  // as Redis does, rather than on every delete).
  void ShrinkIfSparse();

  // Approximate bytes used by the table and its entries (without values).
  size_t MemoryUsage() const;

 private:
  static constexpr int kInitialExponent = 2;

  size_t BucketCount(int table) const { return buckets_[table] ? mask_[table] + 1 : 0; }
  uint64_t Hash(std::string_view key) const;
  Entry* FindWithHash(std::string_view key, uint64_t hash);
  Entry* NewEntryAt(std::string_view key, uint64_t hash);
  void ExpandIfNeeded();
  void ResizeTo(size_t min_size);
  void RehashStepIfNeeded() {
    if (rehash_index_ >= 0) Rehash(1);
  }
  void FinishRehashIfDone();

  Entry** buckets_[2] = {nullptr, nullptr};
  size_t mask_[2] = {0, 0};
  size_t used_[2] = {0, 0};
  int64_t rehash_index_ = -1;  // next bucket of table 0 to move; -1: not rehashing
  uint64_t seed_;
};

}  // namespace understudy::storage

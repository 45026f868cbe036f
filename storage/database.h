#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "storage/dict.h"

namespace understudy::storage {

// Told about keys that disappear without a command naming them (expiry), so
// the server can invalidate WATCHes and, later, journal or mirror it.
class ExpiryListener {
 public:
  virtual ~ExpiryListener() = default;
  virtual void OnKeyExpired(int db_index, std::string_view key) = 0;
};

// Told of every key that enters or leaves a database, whatever the cause
// (command, expiry, eviction, flush), so that counts kept outside the store
// (keys per class) stay exact. Called after the change; `key` is valid only
// during the call.
class KeyspaceObserver {
 public:
  virtual ~KeyspaceObserver() = default;
  virtual void OnKeyAdded(int db_index, std::string_view key) = 0;
  virtual void OnKeyRemoved(int db_index, std::string_view key) = 0;
  // Every key of the database was removed at once (FLUSHDB, FLUSHALL).
  virtual void OnCleared(int db_index) = 0;
  // Two databases exchanged their keys (SWAPDB).
  virtual void OnSwapped(int db_a, int db_b) = 0;
};

struct DatabaseStats {
  uint64_t expired_keys = 0;
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
};

// One numbered database (SELECT n): the keys, their deadlines and expiry.
//
// Expiry is by absolute deadline in Unix milliseconds. An expired key is
// never returned: Find() deletes it on access (lazy expiry), and
// ActiveExpire() samples the keys that have a deadline and deletes the
// expired ones with a bounded amount of work per call.
class Database {
 public:
  explicit Database(int index) : index_(index) {}
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  int index() const { return index_; }
  void set_index(int index) { index_ = index; }
  void set_expiry_listener(ExpiryListener* listener) { listener_ = listener; }
  // Optional; one observer may watch several databases.
  void set_keyspace_observer(KeyspaceObserver* observer) { observer_ = observer; }

  // The live entry for `key`, or nullptr (deleting it first if it expired).
  Entry* Find(std::string_view key, int64_t now_ms);
  // Like Find() but counts a keyspace hit or miss (read commands).
  Entry* FindForRead(std::string_view key, int64_t now_ms) {
    Entry* e = Find(key, now_ms);
    if (e != nullptr) {
      ++stats_.keyspace_hits;
    } else {
      ++stats_.keyspace_misses;
    }
    return e;
  }
  // True if `key` exists and is not past its deadline. Does not delete.
  // As in Redis, a key is still live at the very millisecond of its deadline.
  bool IsLive(const Entry* entry, int64_t now_ms) const {
    return entry->expire_at_ms_ == kNoExpire || entry->expire_at_ms_ >= now_ms;
  }
  // Returns the live entry for `key`, or creates one holding an empty string
  // with no deadline. `*created` says which.
  Entry* FindOrCreate(std::string_view key, int64_t now_ms, bool* created);
  // Deletes `key`; false if it did not exist (or had expired).
  bool Delete(std::string_view key, int64_t now_ms);
  // Removes `key` with its value and deadline and hands them over; used by
  // RENAME and MOVE/SWAP-like operations. nullptr if absent or expired.
  struct Detached {
    Value value;
    int64_t expire_at_ms = kNoExpire;
  };
  bool Detach(std::string_view key, int64_t now_ms, Detached* out);
  // Inserts or overwrites `key` with a detached value and deadline.
  Entry* Attach(std::string_view key, Detached&& item);

  void SetExpire(Entry* entry, int64_t deadline_ms);
  void ClearExpire(Entry* entry);

  size_t size() const { return dict_.size(); }
  size_t volatile_count() const { return volatile_.size(); }
  // Removes every key. Frees synchronously.
  void Clear();
  // Exchanges the contents (keys, deadlines, stats stay with the index).
  void Swap(Database& other);

  // Samples up to `max_samples` keys that have a deadline, deleting the
  // expired ones. Returns how many were deleted; callers repeat while the
  // expired share of samples stays high and their time budget allows.
  size_t ActiveExpire(int64_t now_ms, size_t max_samples);
  // One step of incremental rehashing and the shrink check, for the cron.
  void Housekeep();

  // A random live key, or nullptr.
  Entry* RandomKey(int64_t now_ms);
  // A uniformly random key that has a deadline (expired or not), or nullptr;
  // for eviction's volatile-* policies.
  Entry* RandomVolatile() {
    return volatile_.empty() ? nullptr : volatile_[rng_() % volatile_.size()];
  }
  // The keys that have a deadline, in no particular order (valid until the
  // next change to the database).
  std::span<Entry* const> volatile_entries() const { return volatile_; }
  Dict& dict() { return dict_; }
  const Dict& dict() const { return dict_; }
  DatabaseStats& stats() { return stats_; }
  const DatabaseStats& stats() const { return stats_; }
  // The database's random generator, also for commands that pick random
  // members (SPOP, SRANDMEMBER): seeding a generator per call costs more
  // than the command itself.
  std::mt19937_64& rng() { return rng_; }
  // Average time to live of the volatile keys, in ms, for INFO keyspace.
  int64_t AverageTtlMs(int64_t now_ms) const;

 private:
  void ExpireNow(Entry* entry);
  void TrackVolatile(Entry* entry);
  void UntrackVolatile(Entry* entry);

  int index_;
  Dict dict_;
  // Entries that have a deadline; each knows its slot, so add and remove
  // are O(1) and sampling is uniform.
  std::vector<Entry*> volatile_;
  DatabaseStats stats_;
  ExpiryListener* listener_ = nullptr;
  KeyspaceObserver* observer_ = nullptr;
  std::mt19937_64 rng_{0x5eed};
};

}  // namespace understudy::storage

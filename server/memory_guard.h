#pragma once

// Keeps the local store within `maxmemory` and counts its keys per class
// (docs/memory.md).
//
// Before a command that may grow memory runs, MakeRoom() evicts keys of the
// classes that allow it (`evict yes`, and not near-cached: the near-cache
// answers "no such key" from the local store, so it must never lose one)
// under the configured maxmemory-policy. When that cannot bring memory under
// the limit the command is refused with Redis's -OOM error, and the refusal
// is counted against the class of its first key and logged (at most once
// every few seconds, with a count): a class marked `evict no`, such as a
// token blacklist, makes the daemon refuse new keys rather than drop one.
//
// The mirror's writes are never refused (like a Redis replica's with
// replica-ignore-maxmemory): the primary accepted them and a mirror that
// silently lacks a revocation is worse than one over its limit. They do
// make the cron evict other classes' keys.

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/allocator_stats.h"
#include "replication/key_class.h"
#include "storage/database.h"

namespace understudy::server {

class Server;

// The maxmemory-policy values, as redis.conf spells them.
enum class EvictionPolicy {
  kNoEviction,
  kAllKeysRandom,   // also allkeys-lru, allkeys-lfu (docs/memory.md)
  kVolatileRandom,  // also volatile-lru, volatile-lfu
  kVolatileTtl,
};
EvictionPolicy ParseEvictionPolicy(std::string_view name);

struct ClassMemoryStats {
  uint64_t keys = 0;     // keys of the class in the local store now
  uint64_t evicted = 0;  // evicted under maxmemory
  uint64_t refused = 0;  // writes refused with -OOM
};

class MemoryGuard final : public storage::KeyspaceObserver {
 public:
  // `databases` are the server's; the guard observes them from here on.
  MemoryGuard(Server& server, const replication::KeyClassifier& classifier,
              std::span<storage::Database* const> databases);
  ~MemoryGuard() override;
  MemoryGuard(const MemoryGuard&) = delete;
  MemoryGuard& operator=(const MemoryGuard&) = delete;

  // True when a command may run: maxmemory is off, memory is under it, or
  // eviction is making progress (a bounded amount of work per call, so
  // memory may stay over the limit for a few commands, as in Redis). False
  // when memory is over and no key may be evicted.
  bool MakeRoom(int64_t now_ms);
  // A command was refused for memory; `first_key` names its class (empty
  // for a command without keys). Counts and, rate-limited, logs it.
  void RecordRefusal(std::string_view first_key, int64_t now_ms);
  // Periodic: refreshes the precise memory figure and evicts when the
  // mirror (which is never refused) pushed memory over the limit.
  void Cron(int64_t now_ms);

  // Bytes in use, as maxmemory sees them.
  uint64_t used_memory() const { return gauge_.Estimate(); }
  uint64_t RefreshUsedMemory() { return gauge_.Refresh(); }
  uint64_t evicted_keys() const { return evicted_keys_; }
  uint64_t refused_writes() const { return refused_writes_; }
  // Per class, in the classifier's order. keys is exact when more than one
  // class exists; with the default class alone it is the store's key count.
  std::vector<ClassMemoryStats> class_stats() const;

  // storage::KeyspaceObserver
  void OnKeyAdded(int db_index, std::string_view key) override;
  void OnKeyRemoved(int db_index, std::string_view key) override;
  void OnCleared(int db_index) override;
  void OnSwapped(int db_a, int db_b) override;

 private:
  // Whether keys of class `index` may be evicted.
  bool Evictable(size_t class_index) const { return evictable_[class_index]; }
  enum class Eviction {
    kEvicted,           // one key deleted
    kStillLooking,      // none found within this call's bound; more may exist
    kNothingEvictable,  // the policy allows no key of the store to go
  };
  // Deletes one key chosen by `policy`.
  Eviction EvictOne(EvictionPolicy policy, int64_t now_ms);
  // A random database, weighted by its (volatile) key count; -1 if empty.
  int PickDatabase(bool volatile_only);
  // When random draws keep hitting keys that may not be evicted (a small
  // evictable share): walks the keys from where the last walk stopped and
  // stops at the first evictable one, within a bounded number of steps.
  // kNone once every database was walked to its end (over as many calls as
  // it takes) without finding one.
  enum class Walk { kFound, kStepsSpent, kNone };
  Walk WalkForEvictable(bool volatile_only, storage::Entry** found, int* db_index);

  Server& server_;
  const replication::KeyClassifier& classifier_;
  std::vector<storage::Database*> databases_;
  std::vector<bool> evictable_;
  // Keys per database and class; only kept with more than one class.
  bool counting_ = false;
  std::vector<std::vector<uint64_t>> keys_;
  uint64_t evictable_keys_ = 0;
  std::vector<uint64_t> evicted_;
  std::vector<uint64_t> refused_;
  uint64_t evicted_keys_ = 0;
  uint64_t refused_writes_ = 0;
  AllocatorGauge gauge_;
  std::mt19937_64 rng_{0xe71c7};
  // Where WalkForEvictable continues: a database, and its dict cursor or
  // position in its volatile keys.
  size_t walk_db_ = 0;
  uint64_t walk_position_ = 0;
  bool walk_pass_found_ = false;   // the current database's pass found a key
  size_t walk_fruitless_dbs_ = 0;  // whole passes in a row that found none
  // Refusal log rate limit.
  int64_t last_refusal_log_ms_ = 0;
  uint64_t refusals_since_log_ = 0;
};

}  // namespace understudy::server

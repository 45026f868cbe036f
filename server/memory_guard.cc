#include "server/memory_guard.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "server/server.h"

namespace understudy::server {
namespace {

// Eviction work per MakeRoom() call: Redis bounds it too, so one command
// never stalls the loop for long; the cron finishes the job.
constexpr int kMaxEvictionsPerCall = 256;
constexpr auto kEvictionBudget = std::chrono::microseconds(1000);
// Random draws before walking the keys for an evictable one instead, and
// the bound on that walk (dict buckets or volatile keys) per eviction.
constexpr int kMaxDrawsPerEviction = 16;
constexpr int kMaxWalkSteps = 4096;
// At most one refusal log line per interval; the next one carries a count.
constexpr int64_t kRefusalLogIntervalMs = 10'000;

}  // namespace

EvictionPolicy ParseEvictionPolicy(std::string_view name) {
  if (name == "allkeys-random" || name == "allkeys-lru" || name == "allkeys-lfu") {
    return EvictionPolicy::kAllKeysRandom;
  }
  if (name == "volatile-random" || name == "volatile-lru" || name == "volatile-lfu") {
    return EvictionPolicy::kVolatileRandom;
  }
  if (name == "volatile-ttl") return EvictionPolicy::kVolatileTtl;
  return EvictionPolicy::kNoEviction;
}

MemoryGuard::MemoryGuard(Server& server, const replication::KeyClassifier& classifier,
                         std::span<storage::Database* const> databases)
    : server_(server), classifier_(classifier), databases_(databases.begin(), databases.end()) {
  const auto& classes = classifier_.classes();
  for (const replication::KeyClass& key_class : classes) {
    evictable_.push_back(key_class.evict && !key_class.near_cache);
  }
  evicted_.assign(classes.size(), 0);
  refused_.assign(classes.size(), 0);
  // With one class every key is in it: the databases' sizes say it all,
  // and the hot path stays free of a call per new key.
  counting_ = classes.size() > 1;
  if (counting_) {
    keys_.assign(databases_.size(), std::vector<uint64_t>(classes.size(), 0));
    for (storage::Database* db : databases_) {
      db->set_keyspace_observer(this);
    }
  }
}

MemoryGuard::~MemoryGuard() {
  for (storage::Database* db : databases_) db->set_keyspace_observer(nullptr);
}

void MemoryGuard::OnKeyAdded(int db_index, std::string_view key) {
  const size_t c = classifier_.Classify(key);
  ++keys_[db_index][c];
  if (Evictable(c)) ++evictable_keys_;
}

void MemoryGuard::OnKeyRemoved(int db_index, std::string_view key) {
  const size_t c = classifier_.Classify(key);
  --keys_[db_index][c];
  if (Evictable(c)) --evictable_keys_;
}

void MemoryGuard::OnCleared(int db_index) {
  for (size_t c = 0; c < keys_[db_index].size(); ++c) {
    if (Evictable(c)) evictable_keys_ -= keys_[db_index][c];
    keys_[db_index][c] = 0;
  }
}

void MemoryGuard::OnSwapped(int db_a, int db_b) { std::swap(keys_[db_a], keys_[db_b]); }

std::vector<ClassMemoryStats> MemoryGuard::class_stats() const {
  std::vector<ClassMemoryStats> stats(classifier_.classes().size());
  for (size_t c = 0; c < stats.size(); ++c) {
    stats[c].evicted = evicted_[c];
    stats[c].refused = refused_[c];
    if (counting_) {
      for (const auto& per_db : keys_) stats[c].keys += per_db[c];
    }
  }
  if (!counting_) {
    for (const storage::Database* db : databases_) stats[0].keys += db->size();
  }
  return stats;
}

int MemoryGuard::PickDatabase(bool volatile_only) {
  uint64_t total = 0;
  for (const storage::Database* db : databases_) {
    total += volatile_only ? db->volatile_count() : db->size();
  }
  if (total == 0) return -1;
  uint64_t pick = rng_() % total;
  for (size_t i = 0; i < databases_.size(); ++i) {
    const uint64_t n = volatile_only ? databases_[i]->volatile_count() : databases_[i]->size();
    if (pick < n) return static_cast<int>(i);
    pick -= n;
  }
  return -1;
}

MemoryGuard::Walk MemoryGuard::WalkForEvictable(bool volatile_only, storage::Entry** found,
                                                int* db_index) {
  int steps = 0;
  while (steps < kMaxWalkSteps) {
    const int here = static_cast<int>(walk_db_ % databases_.size());
    storage::Database& db = *databases_[here];
    *found = nullptr;
    if (volatile_only) {
      const auto entries = db.volatile_entries();
      while (walk_position_ < entries.size() && steps < kMaxWalkSteps && *found == nullptr) {
        storage::Entry* e = entries[walk_position_++];
        ++steps;
        if (Evictable(classifier_.Classify(e->key()))) *found = e;
      }
      if (walk_position_ >= entries.size()) walk_position_ = 0;
    } else {
      do {
        walk_position_ = db.dict().Scan(walk_position_, [&](storage::Entry* e) {
          if (*found == nullptr && Evictable(classifier_.Classify(e->key()))) *found = e;
        });
        ++steps;
      } while (*found == nullptr && walk_position_ != 0 && steps < kMaxWalkSteps);
    }
    if (*found != nullptr) {
      *db_index = here;
      walk_pass_found_ = true;
      return Walk::kFound;
    }
    if (walk_position_ != 0) return Walk::kStepsSpent;  // go on from here next time
    // This database was walked to its end. Only a whole pass that found
    // nothing shows it holds no evictable key.
    walk_fruitless_dbs_ = walk_pass_found_ ? 0 : walk_fruitless_dbs_ + 1;
    walk_pass_found_ = false;
    walk_db_ = (walk_db_ + 1) % databases_.size();
    if (walk_fruitless_dbs_ >= databases_.size()) {
      walk_fruitless_dbs_ = 0;
      return Walk::kNone;
    }
  }
  return Walk::kStepsSpent;
}

MemoryGuard::Eviction MemoryGuard::EvictOne(EvictionPolicy policy, int64_t now_ms) {
  if (policy == EvictionPolicy::kNoEviction) return Eviction::kNothingEvictable;
  if (counting_ && evictable_keys_ == 0) return Eviction::kNothingEvictable;
  if (!counting_ && !Evictable(0)) return Eviction::kNothingEvictable;
  const bool volatile_only = policy != EvictionPolicy::kAllKeysRandom;
  // volatile-ttl compares maxmemory-samples candidates, as Redis does; the
  // random policies take the first evictable one.
  const int wanted =
      policy == EvictionPolicy::kVolatileTtl ? std::max(1, server_.config().maxmemory_samples) : 1;
  storage::Entry* victim = nullptr;
  int victim_db = -1;
  int found = 0;
  for (int draw = 0; draw < kMaxDrawsPerEviction && found < wanted; ++draw) {
    const int db_index = PickDatabase(volatile_only);
    if (db_index < 0) break;
    storage::Database& db = *databases_[db_index];
    storage::Entry* candidate =
        volatile_only ? db.RandomVolatile() : db.dict().RandomEntry(db.rng());
    if (candidate == nullptr || !Evictable(classifier_.Classify(candidate->key()))) continue;
    ++found;
    if (victim == nullptr || candidate->expire_at_ms() < victim->expire_at_ms()) {
      victim = candidate;
      victim_db = db_index;
    }
  }
  if (victim == nullptr) {
    switch (WalkForEvictable(volatile_only, &victim, &victim_db)) {
      case Walk::kFound:
        break;
      case Walk::kStepsSpent:
        return Eviction::kStillLooking;
      case Walk::kNone:
        return Eviction::kNothingEvictable;
    }
  }
  storage::Database& db = *databases_[victim_db];
  const std::string key(victim->key());
  const size_t class_index = classifier_.Classify(key);
  db.Delete(key, now_ms);
  ++evicted_[class_index];
  ++evicted_keys_;
  // A WATCHed key that is evicted fails the transaction, as in Redis.
  server_.TouchWatchedKey(victim_db, key);
  return Eviction::kEvicted;
}

bool MemoryGuard::MakeRoom(int64_t now_ms) {
  const uint64_t limit = server_.config().maxmemory;
  if (limit == 0 || gauge_.Estimate() <= limit) return true;
  const EvictionPolicy policy = ParseEvictionPolicy(server_.config().maxmemory_policy);
  const auto deadline = std::chrono::steady_clock::now() + kEvictionBudget;
  for (int n = 0; n < kMaxEvictionsPerCall; ++n) {
    switch (EvictOne(policy, now_ms)) {
      case Eviction::kEvicted:
        break;
      case Eviction::kStillLooking:
        return true;
      case Eviction::kNothingEvictable:
        return gauge_.Estimate() <= limit;
    }
    if (gauge_.Estimate() <= limit) return true;
    if ((n & 15) == 15 && std::chrono::steady_clock::now() >= deadline) break;
  }
  // Still over, but keys are being evicted: as Redis (EVICT_RUNNING), the
  // command runs and the next commands and the cron evict further.
  return true;
}

void MemoryGuard::RecordRefusal(std::string_view first_key, int64_t now_ms) {
  const size_t class_index = classifier_.Classify(first_key);
  ++refused_[class_index];
  ++refused_writes_;
  ++refusals_since_log_;
  if (now_ms - last_refusal_log_ms_ < kRefusalLogIntervalMs) return;
  const replication::KeyClass& key_class = classifier_.classes()[class_index];
  spdlog::warn(
      "maxmemory reached (used_memory {} > maxmemory {}, policy {}): refused {} write(s) since "
      "the last report, the latest to class '{}' (evict {})",
      gauge_.Estimate(), server_.config().maxmemory, server_.config().maxmemory_policy,
      refusals_since_log_, key_class.name, key_class.evict ? "yes" : "no");
  last_refusal_log_ms_ = now_ms;
  refusals_since_log_ = 0;
}

void MemoryGuard::Cron(int64_t now_ms) {
  gauge_.Refresh();
  MakeRoom(now_ms);
}

}  // namespace understudy::server

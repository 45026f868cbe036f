// Micro benchmarks of the keyspace: hash table lookups and inserts, the
// write path with a TTL, and the active expiry cycle.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "storage/database.h"
#include "storage/dict.h"

namespace understudy::storage {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// Keys shaped like typical application keys ("session:000000012345").
std::vector<std::string> MakeKeys(int64_t count, const char* prefix = "session:") {
  std::vector<std::string> keys;
  keys.reserve(count);
  char buffer[32];
  for (int64_t i = 0; i < count; ++i) {
    snprintf(buffer, sizeof(buffer), "%s%012lld", prefix, static_cast<long long>(i));
    keys.emplace_back(buffer);
  }
  return keys;
}

// Lookups in random order so the cache behaviour is that of a real keyspace.
std::vector<uint32_t> RandomOrder(size_t count, size_t range) {
  std::mt19937_64 rng(1);
  std::vector<uint32_t> order(count);
  for (uint32_t& i : order) i = static_cast<uint32_t>(rng() % range);
  return order;
}

void FinishRehash(Dict& dict) {
  while (dict.Rehash(1000)) {
  }
}

void BM_DictFindHit(benchmark::State& state) {
  const std::vector<std::string> keys = MakeKeys(state.range(0));
  Dict dict;
  for (const std::string& key : keys) dict.Insert(key);
  FinishRehash(dict);
  const std::vector<uint32_t> order = RandomOrder(1 << 16, keys.size());
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dict.Find(keys[order[i++ & 0xffff]]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DictFindHit)->Arg(1000)->Arg(100'000)->Arg(1'000'000);

void BM_DictFindMiss(benchmark::State& state) {
  Dict dict;
  for (const std::string& key : MakeKeys(state.range(0))) dict.Insert(key);
  FinishRehash(dict);
  const std::vector<std::string> missing = MakeKeys(1 << 16, "absent:");
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dict.Find(missing[i++ & 0xffff]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DictFindMiss)->Arg(1000)->Arg(100'000)->Arg(1'000'000);

// Filling an empty table with N keys, growth and incremental rehash included.
void BM_DictInsert(benchmark::State& state) {
  const std::vector<std::string> keys = MakeKeys(state.range(0));
  for (auto _ : state) {
    Dict dict;
    for (const std::string& key : keys) dict.Insert(key);
    benchmark::DoNotOptimize(dict.size());
    state.PauseTiming();  // freeing the table is not what is measured
    dict.Clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DictInsert)->Arg(1000)->Arg(100'000);

// SET key value PX ttl over an existing keyspace: lookup, value overwrite and
// deadline update, as the SET command does.
void BM_DatabaseSetWithExpire(benchmark::State& state) {
  const std::vector<std::string> keys = MakeKeys(state.range(0));
  Database db(0);
  const std::vector<uint32_t> order = RandomOrder(1 << 16, keys.size());
  size_t i = 0;
  for (auto _ : state) {
    bool created = false;
    Entry* e = db.FindOrCreate(keys[order[i & 0xffff]], kNow, &created);
    e->value().SetString("value-of-16bytes");
    db.SetExpire(e, kNow + 60'000 + static_cast<int64_t>(i & 0xfff));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DatabaseSetWithExpire)->Arg(100'000);

void BM_DatabaseFindWithExpire(benchmark::State& state) {
  const std::vector<std::string> keys = MakeKeys(state.range(0));
  Database db(0);
  for (const std::string& key : keys) {
    bool created = false;
    db.SetExpire(db.FindOrCreate(key, kNow, &created), kNow + 60'000);
  }
  const std::vector<uint32_t> order = RandomOrder(1 << 16, keys.size());
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(db.FindForRead(keys[order[i++ & 0xffff]], kNow));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DatabaseFindWithExpire)->Arg(100'000);

// One active-expire call of 20 samples (Redis's per-loop sample count) over
// 100k volatile keys of which range(0) percent are expired. The keys it
// removes are put back, expired again, so the share stays the same; that
// re-insert is part of the measured time.
void BM_ActiveExpireCycle(benchmark::State& state) {
  const int64_t expired_percent = state.range(0);
  const std::vector<std::string> keys = MakeKeys(100'000);
  Database db(0);
  std::mt19937_64 rng(2);
  for (const std::string& key : keys) {
    bool created = false;
    Entry* e = db.FindOrCreate(key, kNow, &created);
    bool expired = static_cast<int64_t>(rng() % 100) < expired_percent;
    db.SetExpire(e, expired ? kNow - 1 : kNow + 60'000);
  }
  const std::vector<std::string> refill = MakeKeys(1 << 20, "refill:");
  size_t next_refill = 0;
  int64_t removed = 0;
  for (auto _ : state) {
    size_t n = db.ActiveExpire(kNow, 20);
    removed += static_cast<int64_t>(n);
    for (size_t j = 0; j < n; ++j) {
      bool created = false;
      Entry* e = db.FindOrCreate(refill[next_refill++ & ((1 << 20) - 1)], kNow, &created);
      db.SetExpire(e, kNow - 1);
    }
  }
  state.SetItemsProcessed(state.iterations() * 20);
  state.counters["expired_per_call"] =
      benchmark::Counter(static_cast<double>(removed) / std::max<int64_t>(1, state.iterations()));
}
BENCHMARK(BM_ActiveExpireCycle)->Arg(0)->Arg(25)->Arg(100);

}  // namespace
}  // namespace understudy::storage

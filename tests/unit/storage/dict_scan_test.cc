// Dict::Scan's guarantee: every key present for the whole scan is returned at
// least once, whatever happens to the table between calls (growth, shrinking,
// incremental rehash steps).

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "storage/dict.h"

namespace understudy::storage {
namespace {

std::string Key(const char* prefix, int i) { return prefix + std::to_string(i); }

void FinishRehash(Dict& dict) {
  for (int i = 0; i < 10'000'000 && dict.Rehash(100); ++i) {
  }
  ASSERT_FALSE(dict.rehashing());
}

struct ScanResult {
  std::unordered_map<std::string, int> visits;
  int calls = 0;
  bool finished = false;
};

// Runs a full scan. After each Scan() call (the visitor must not modify the
// dict) `between` may change the dict, as other clients' commands would
// between two SCAN commands. Each visited entry must be in `present`, which
// `between` keeps up to date.
ScanResult ScanWhile(Dict& dict, const std::unordered_set<std::string>& present,
                     const std::function<void(int call)>& between) {
  ScanResult result;
  uint64_t cursor = 0;
  // Far more calls than any table in these tests has buckets.
  constexpr int kMaxCalls = 1 << 22;
  do {
    std::vector<std::string> batch;
    cursor = dict.Scan(cursor, [&](Entry* e) { batch.emplace_back(e->key()); });
    for (std::string& key : batch) {
      EXPECT_EQ(present.count(key), 1u) << "visited a key that is not there: " << key;
      ++result.visits[std::move(key)];
    }
    ++result.calls;
    if (cursor != 0) between(result.calls);
  } while (cursor != 0 && result.calls < kMaxCalls);
  result.finished = cursor == 0;
  return result;
}

void ExpectAllVisited(const ScanResult& result, const std::vector<std::string>& keys) {
  ASSERT_TRUE(result.finished);
  int missing = 0;
  for (const std::string& key : keys) {
    auto it = result.visits.find(key);
    if (it == result.visits.end()) {
      if (++missing <= 5) ADD_FAILURE() << "key present for the whole scan not returned: " << key;
    }
  }
  EXPECT_EQ(missing, 0);
}

TEST(DictScanTest, StableTableReturnsEveryKeyExactlyOnce) {
  for (int keys : {1, 3, 100, 5000, 4097}) {
    Dict dict;
    std::unordered_set<std::string> present;
    for (int i = 0; i < keys; ++i) {
      dict.Insert(Key("k", i));
      present.insert(Key("k", i));
    }
    // 4097 leaves the table in the middle of growing; the others settle.
    if (keys != 4097) FinishRehash(dict);
    ScanResult result = ScanWhile(dict, present, [](int) {});
    ASSERT_TRUE(result.finished);
    EXPECT_EQ(result.visits.size(), present.size());
    for (const auto& [key, count] : result.visits) EXPECT_EQ(count, 1) << key;
  }
}

TEST(DictScanTest, TableGrowingDuringTheScan) {
  for (int round = 0; round < 5; ++round) {  // each Dict has its own hash seed
    Dict dict;
    std::unordered_set<std::string> present;
    std::vector<std::string> stable;
    for (int i = 0; i < 2000; ++i) {
      dict.Insert(Key("s", i));
      present.insert(Key("s", i));
      stable.push_back(Key("s", i));
    }
    FinishRehash(dict);
    const size_t buckets_before = dict.bucket_count();
    int next = 0;
    bool saw_rehashing = false;
    // Growth must stop at some point, or the scan (one bucket per call)
    // would never catch up with a table that keeps doubling.
    ScanResult result = ScanWhile(dict, present, [&](int) {
      for (int i = 0; i < 50 && next < 30000; ++i, ++next) {
        dict.Insert(Key("g", next));
        present.insert(Key("g", next));
      }
      saw_rehashing |= dict.rehashing();
    });
    ExpectAllVisited(result, stable);
    EXPECT_TRUE(saw_rehashing);
    EXPECT_GE(dict.bucket_count(), 4 * buckets_before) << "the table should have grown a lot";
  }
}

TEST(DictScanTest, TableShrinkingDuringTheScan) {
  for (int round = 0; round < 5; ++round) {
    Dict dict;
    std::unordered_set<std::string> present;
    std::vector<std::string> kept;
    std::vector<std::string> doomed;
    for (int i = 0; i < 40000; ++i) {
      std::string key = Key("s", i);
      dict.Insert(key);
      present.insert(key);
      (i % 40 == 0 ? kept : doomed).push_back(key);
    }
    FinishRehash(dict);
    const size_t buckets_before = dict.bucket_count();
    std::mt19937_64 rng(round);
    std::shuffle(doomed.begin(), doomed.end(), rng);
    bool saw_rehashing = false;
    ScanResult result = ScanWhile(dict, present, [&](int call) {
      for (int i = 0; i < 400 && !doomed.empty(); ++i) {
        ASSERT_TRUE(dict.Erase(doomed.back()));
        present.erase(doomed.back());
        doomed.pop_back();
      }
      // What the cron does between commands.
      dict.ShrinkIfSparse();
      dict.Rehash(1 + call % 4);
      saw_rehashing |= dict.rehashing();
    });
    ExpectAllVisited(result, kept);
    EXPECT_TRUE(saw_rehashing);
    EXPECT_LT(dict.bucket_count(), buckets_before) << "the table should have shrunk";
  }
}

TEST(DictScanTest, RehashInProgressWhileScanning) {
  for (bool shrinking : {false, true}) {
    for (int round = 0; round < 3; ++round) {
      Dict dict;
      std::unordered_set<std::string> present;
      std::vector<std::string> keys;
      if (shrinking) {
        for (int i = 0; i < 60000; ++i) dict.Insert(Key("x", i));
        FinishRehash(dict);
        for (int i = 0; i < 60000; ++i) {
          if (i % 16 != 0) dict.Erase(Key("x", i));
        }
        dict.ShrinkIfSparse();
        for (int i = 0; i < 60000; i += 16) keys.push_back(Key("x", i));
      } else {
        // The last insert starts growing from 8192 to 16384 buckets.
        for (int i = 0; i < 8193; ++i) {
          dict.Insert(Key("x", i));
          keys.push_back(Key("x", i));
        }
      }
      ASSERT_TRUE(dict.rehashing());
      present.insert(keys.begin(), keys.end());
      bool rehash_finished_during_scan = false;
      // Slow enough that the scan meets both tables, fast enough that the
      // rehash ends before the scan does.
      const int steps = shrinking ? 4 : 1;
      ScanResult result = ScanWhile(dict, present, [&](int) {
        dict.Rehash(steps);
        rehash_finished_during_scan |= !dict.rehashing();
      });
      ExpectAllVisited(result, keys);
      EXPECT_TRUE(rehash_finished_during_scan) << "shrinking=" << shrinking;
    }
  }
}

// Everything at once: transient keys come and go, the cron rehashes and
// shrinks, and the key count swings up and down during one scan.
TEST(DictScanTest, RandomChurnDuringTheScan) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Dict dict;
    std::mt19937_64 rng(seed);
    std::unordered_set<std::string> present;
    std::vector<std::string> stable;
    std::vector<std::string> transient;
    for (int i = 0; i < 3000; ++i) {
      dict.Insert(Key("s", i));
      present.insert(Key("s", i));
      stable.push_back(Key("s", i));
    }
    int next = 0;
    ScanResult result = ScanWhile(dict, present, [&](int call) {
      // Grow for a while, then shrink, then grow again.
      const bool growing = (call / 200) % 2 == 0;
      const int changes = static_cast<int>(rng() % 100);
      for (int i = 0; i < changes; ++i) {
        if (growing || transient.empty()) {
          std::string key = Key("t", next++);
          dict.Insert(key);
          present.insert(key);
          transient.push_back(std::move(key));
        } else {
          size_t victim = rng() % transient.size();
          std::swap(transient[victim], transient.back());
          ASSERT_TRUE(dict.Erase(transient.back()));
          present.erase(transient.back());
          transient.pop_back();
        }
      }
      if (rng() % 3 == 0) dict.ShrinkIfSparse();
      if (rng() % 2 == 0) dict.Rehash(static_cast<int>(rng() % 5));
    });
    ExpectAllVisited(result, stable);
  }
}

}  // namespace
}  // namespace understudy::storage

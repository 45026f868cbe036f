#include "storage/dict.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace understudy::storage {
namespace {

std::string Key(int i) { return "key:" + std::to_string(i); }

// Drives incremental rehashing to its end.
void FinishRehash(Dict& dict) {
  for (int i = 0; i < 10'000'000 && dict.Rehash(100); ++i) {
  }
  ASSERT_FALSE(dict.rehashing());
}

// Every key of the dict, each visited exactly once by a full scan of a table
// that does not change during the scan.
std::map<std::string, int> ScanCounts(const Dict& dict) {
  std::map<std::string, int> counts;
  uint64_t cursor = 0;
  int calls = 0;
  do {
    cursor = dict.Scan(cursor, [&](Entry* e) { ++counts[std::string(e->key())]; });
  } while (cursor != 0 && ++calls < 10'000'000);
  return counts;
}

TEST(DictTest, EmptyDict) {
  Dict dict;
  EXPECT_TRUE(dict.empty());
  EXPECT_EQ(dict.size(), 0u);
  EXPECT_EQ(dict.Find("a"), nullptr);
  EXPECT_EQ(dict.Unlink("a"), nullptr);
  EXPECT_FALSE(dict.Erase("a"));
  std::mt19937_64 rng(1);
  EXPECT_EQ(dict.RandomEntry(rng), nullptr);
  EXPECT_EQ(dict.Scan(0, [](Entry*) { ADD_FAILURE() << "visited an entry of an empty dict"; }), 0u);
  EXPECT_FALSE(dict.rehashing());
}

TEST(DictTest, InsertFindErase) {
  Dict dict;
  Entry* a = dict.Insert("alpha");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->key(), "alpha");
  EXPECT_TRUE(a->value().is_string());
  EXPECT_EQ(a->value().string(), "");
  EXPECT_EQ(a->expire_at_ms(), kNoExpire);
  EXPECT_FALSE(a->has_expire());
  a->value().SetString("one");
  dict.Insert("beta")->value().SetString("two");
  dict.Insert("")->value().SetString("empty key");
  dict.Insert(std::string("nul\0key", 7))->value().SetString("binary key");
  EXPECT_EQ(dict.size(), 4u);
  EXPECT_EQ(dict.Find("alpha"), a);
  EXPECT_EQ(dict.Find("beta")->value().string(), "two");
  EXPECT_EQ(dict.Find("")->value().string(), "empty key");
  EXPECT_EQ(dict.Find(std::string("nul\0key", 7))->value().string(), "binary key");
  EXPECT_EQ(dict.Find("nul"), nullptr);
  EXPECT_EQ(dict.Find("alphA"), nullptr);
  EXPECT_TRUE(dict.Erase("alpha"));
  EXPECT_FALSE(dict.Erase("alpha"));
  EXPECT_EQ(dict.Find("alpha"), nullptr);
  EXPECT_EQ(dict.size(), 3u);
}

TEST(DictTest, FindOrInsertReportsWhichHappened) {
  Dict dict;
  bool inserted = false;
  Entry* first = dict.FindOrInsert("k", &inserted);
  EXPECT_TRUE(inserted);
  first->value().SetString("v");
  Entry* second = dict.FindOrInsert("k", &inserted);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(second, first);
  EXPECT_EQ(second->value().string(), "v");
  EXPECT_EQ(dict.size(), 1u);
}

TEST(DictTest, UnlinkHandsOverTheEntry) {
  Dict dict;
  for (int i = 0; i < 100; ++i) dict.Insert(Key(i))->value().SetString(std::string(40, 'v'));
  Entry* e = dict.Unlink(Key(42));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(dict.size(), 99u);
  EXPECT_EQ(dict.Find(Key(42)), nullptr);
  // Still allocated and intact until freed.
  EXPECT_EQ(e->key(), Key(42));
  EXPECT_EQ(e->value().string(), std::string(40, 'v'));
  Dict::FreeEntry(e);
  EXPECT_EQ(dict.Unlink(Key(42)), nullptr);
  // The key can come back as a new entry.
  dict.Insert(Key(42));
  EXPECT_EQ(dict.size(), 100u);
}

TEST(DictTest, HundredThousandKeysWithInterleavedRehash) {
  Dict dict;
  constexpr int kKeys = 100'000;
  std::mt19937_64 rng(3);
  int rehashing_seen = 0;
  for (int i = 0; i < kKeys; ++i) {
    Entry* e = dict.Insert(Key(i));
    e->value().SetString(std::to_string(i));
    if (dict.rehashing()) ++rehashing_seen;
    if (i % 97 == 0) {
      // Lookups in the middle of a rehash find old and new keys alike.
      int probe = static_cast<int>(rng() % (i + 1));
      Entry* found = dict.Find(Key(probe));
      ASSERT_NE(found, nullptr) << probe;
      ASSERT_EQ(found->value().string(), std::to_string(probe));
      ASSERT_EQ(dict.Find(Key(kKeys + i)), nullptr);
    }
  }
  EXPECT_GT(rehashing_seen, 0);
  EXPECT_EQ(dict.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    Entry* e = dict.Find(Key(i));
    ASSERT_NE(e, nullptr) << i;
    ASSERT_EQ(e->value().string(), std::to_string(i));
  }
  // Erase the odd keys, checking that the even ones stay.
  for (int i = 1; i < kKeys; i += 2) ASSERT_TRUE(dict.Erase(Key(i))) << i;
  EXPECT_EQ(dict.size(), static_cast<size_t>(kKeys / 2));
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(dict.Find(Key(i)) != nullptr, i % 2 == 0) << i;
  }
  for (int i = 0; i < kKeys; i += 2) ASSERT_TRUE(dict.Erase(Key(i)));
  EXPECT_TRUE(dict.empty());
}

TEST(DictTest, LoadFactorStaysAtMostOneOnceRehashed) {
  Dict dict;
  for (int i = 0; i < 50'000; ++i) dict.Insert(Key(i));
  FinishRehash(dict);
  EXPECT_GE(dict.bucket_count(), dict.size());
  EXPECT_LE(dict.bucket_count(), 4 * dict.size());
}

TEST(DictTest, ShrinksWhenSparse) {
  Dict dict;
  constexpr int kKeys = 100'000;
  for (int i = 0; i < kKeys; ++i) dict.Insert(Key(i));
  FinishRehash(dict);
  const size_t full_buckets = dict.bucket_count();
  for (int i = 0; i < kKeys; ++i) {
    if (i % 100 != 0) {
      ASSERT_TRUE(dict.Erase(Key(i)));
    }
  }
  EXPECT_EQ(dict.bucket_count(), full_buckets);  // deletes alone do not shrink
  dict.ShrinkIfSparse();
  EXPECT_TRUE(dict.rehashing());
  // Lookups, inserts and deletes keep working during the shrinking rehash.
  int steps = 0;
  while (dict.rehashing() && steps < 1'000'000) {
    int i = (steps * 100) % kKeys;
    ASSERT_NE(dict.Find(Key(i)), nullptr) << i;
    ASSERT_EQ(dict.Find(Key(i + 1)), nullptr) << i + 1;
    ++steps;
  }
  ASSERT_FALSE(dict.rehashing());
  EXPECT_LT(dict.bucket_count(), full_buckets / 32);
  EXPECT_GE(dict.bucket_count(), dict.size());
  EXPECT_EQ(dict.size(), static_cast<size_t>(kKeys / 100));
  for (int i = 0; i < kKeys; i += 100) ASSERT_NE(dict.Find(Key(i)), nullptr);
  // A table that is not sparse is left alone.
  dict.ShrinkIfSparse();
  EXPECT_FALSE(dict.rehashing());
}

TEST(DictTest, ShrinkingToEmptyAndGrowingAgain) {
  Dict dict;
  for (int i = 0; i < 1000; ++i) dict.Insert(Key(i));
  for (int i = 0; i < 1000; ++i) dict.Erase(Key(i));
  FinishRehash(dict);
  dict.ShrinkIfSparse();
  FinishRehash(dict);
  EXPECT_LE(dict.bucket_count(), 4u);
  for (int i = 0; i < 1000; ++i) dict.Insert(Key(i));
  for (int i = 0; i < 1000; ++i) ASSERT_NE(dict.Find(Key(i)), nullptr);
}

// Random operations against a std::unordered_map model, with rehash steps
// and shrink checks thrown in as the cron would.
TEST(DictTest, MatchesAModelUnderRandomOperations) {
  Dict dict;
  std::unordered_map<std::string, std::string> model;
  std::mt19937_64 rng(12345);
  for (int op = 0; op < 300'000; ++op) {
    // The key range drifts so the table grows and shrinks repeatedly.
    int range = 1 + static_cast<int>(5000 + 4900 * std::sin(op / 20000.0));
    std::string key = Key(static_cast<int>(rng() % range));
    switch (rng() % 8) {
      case 0:
      case 1:
      case 2: {
        bool inserted = false;
        Entry* e = dict.FindOrInsert(key, &inserted);
        ASSERT_EQ(inserted, model.count(key) == 0) << key;
        std::string value = std::to_string(op);
        e->value().SetString(value);
        model[key] = value;
        break;
      }
      case 3:
      case 4:
        ASSERT_EQ(dict.Erase(key), model.erase(key) == 1) << key;
        break;
      case 5: {
        Entry* e = dict.Find(key);
        auto it = model.find(key);
        ASSERT_EQ(e != nullptr, it != model.end()) << key;
        if (e != nullptr) {
          ASSERT_EQ(e->value().string(), it->second);
        }
        break;
      }
      case 6:
        dict.Rehash(1 + static_cast<int>(rng() % 3));
        break;
      case 7:
        dict.ShrinkIfSparse();
        break;
    }
    ASSERT_EQ(dict.size(), model.size());
  }
  std::map<std::string, int> counts = ScanCounts(dict);
  ASSERT_EQ(counts.size(), model.size());
  for (const auto& [key, count] : counts) {
    EXPECT_EQ(count, 1) << key;
    EXPECT_EQ(model.count(key), 1u) << key;
  }
}

TEST(DictTest, SwapExchangesContents) {
  Dict first;
  Dict second;
  for (int i = 0; i < 5000; ++i) first.Insert("a" + std::to_string(i));
  for (int i = 0; i < 4097; ++i) second.Insert("b" + std::to_string(i));
  ASSERT_TRUE(second.rehashing());  // swap in the middle of a rehash
  first.Swap(second);
  EXPECT_EQ(first.size(), 4097u);
  EXPECT_EQ(second.size(), 5000u);
  EXPECT_TRUE(first.rehashing());
  for (int i = 0; i < 4097; ++i) ASSERT_NE(first.Find("b" + std::to_string(i)), nullptr);
  for (int i = 0; i < 5000; ++i) ASSERT_NE(second.Find("a" + std::to_string(i)), nullptr);
  EXPECT_EQ(first.Find("a1"), nullptr);
  EXPECT_EQ(second.Find("b1"), nullptr);
  // Both keep working afterwards (each hashes with the seed that came along).
  for (int i = 0; i < 3000; ++i) {
    first.Insert("c" + std::to_string(i));
    second.Insert("d" + std::to_string(i));
  }
  FinishRehash(first);
  FinishRehash(second);
  EXPECT_EQ(ScanCounts(first).size(), 7097u);
  EXPECT_EQ(ScanCounts(second).size(), 8000u);
}

TEST(DictTest, ClearEmptiesAndStaysUsable) {
  Dict dict;
  for (int i = 0; i < 10000; ++i) dict.Insert(Key(i))->value().SetString(std::string(50, 'x'));
  const size_t used_memory = dict.MemoryUsage();
  dict.Clear();
  EXPECT_TRUE(dict.empty());
  EXPECT_FALSE(dict.rehashing());
  EXPECT_EQ(dict.bucket_count(), 0u);
  EXPECT_LT(dict.MemoryUsage(), used_memory);
  EXPECT_EQ(dict.Find(Key(5)), nullptr);
  dict.Insert(Key(5));
  EXPECT_NE(dict.Find(Key(5)), nullptr);
}

TEST(DictTest, MemoryUsageGrowsWithKeys) {
  Dict dict;
  size_t previous = dict.MemoryUsage();
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 1000; ++i) dict.Insert(Key(round * 1000 + i));
    size_t now = dict.MemoryUsage();
    EXPECT_GT(now, previous);
    EXPECT_GE(now, dict.size() * sizeof(Entry));
    previous = now;
  }
}

// RandomEntry picks a bucket then a chain element, so it is not perfectly
// uniform (keys in longer chains are picked less often), but every key must
// come up and none may dominate.
TEST(DictTest, RandomEntryDistributionSanity) {
  Dict dict;
  constexpr int kKeys = 100;
  for (int i = 0; i < kKeys; ++i) dict.Insert(Key(i));
  FinishRehash(dict);
  std::unordered_map<std::string, int> counts;
  std::mt19937_64 rng(77);
  constexpr int kDraws = 200'000;
  for (int i = 0; i < kDraws; ++i) {
    Entry* e = dict.RandomEntry(rng);
    ASSERT_NE(e, nullptr);
    ++counts[std::string(e->key())];
  }
  ASSERT_EQ(counts.size(), static_cast<size_t>(kKeys)) << "every key drawn";
  const double expected = static_cast<double>(kDraws) / kKeys;
  for (const auto& [key, count] : counts) {
    EXPECT_GT(count, expected * 0.08) << key;
    EXPECT_LT(count, expected * 3.0) << key;
  }
}

// While a large table is being rehashed, draws come from both tables: keys
// are spread over them independently of their names, so about half of the
// draws must fall on the first half of the names.
TEST(DictTest, RandomEntryDuringRehashCoversTheWholeKeyspace) {
  Dict dict;
  constexpr int kKeys = 65537;  // the last insert starts growing to 131072
  for (int i = 0; i < kKeys; ++i) dict.Insert(Key(i));
  ASSERT_TRUE(dict.rehashing());
  const int total = static_cast<int>(dict.size());
  std::mt19937_64 rng(78);
  int first_half = 0;
  std::unordered_set<std::string> distinct;
  constexpr int kDraws = 10'000;
  for (int i = 0; i < kDraws; ++i) {
    Entry* e = dict.RandomEntry(rng);
    ASSERT_NE(e, nullptr);
    int index = std::stoi(std::string(e->key().substr(4)));
    ASSERT_LT(index, total);
    if (index < total / 2) ++first_half;
    distinct.insert(std::string(e->key()));
  }
  EXPECT_TRUE(dict.rehashing()) << "the test should have sampled during the rehash";
  EXPECT_GT(first_half, kDraws * 45 / 100);
  EXPECT_LT(first_half, kDraws * 55 / 100);
  EXPECT_GT(distinct.size(), static_cast<size_t>(kDraws * 9 / 10));
}

TEST(DictTest, RandomEntryReturnsOnlyPresentKeys) {
  Dict dict;
  std::unordered_set<std::string> present;
  for (int i = 0; i < 20000; ++i) {
    dict.Insert(Key(i));
    present.insert(Key(i));
  }
  for (int i = 0; i < 20000; i += 3) {
    dict.Erase(Key(i));
    present.erase(Key(i));
  }
  dict.ShrinkIfSparse();
  std::mt19937_64 rng(8);
  for (int i = 0; i < 20000; ++i) {
    Entry* e = dict.RandomEntry(rng);
    ASSERT_NE(e, nullptr);
    ASSERT_EQ(present.count(std::string(e->key())), 1u) << e->key();
  }
  Dict single;
  single.Insert("only");
  EXPECT_EQ(single.RandomEntry(rng)->key(), "only");
}

}  // namespace
}  // namespace understudy::storage

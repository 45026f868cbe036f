#include "storage/hash_value.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace understudy::storage {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Small limits make both encodings and the conversions easy to reach.
constexpr HashLimits kSmall{.max_listpack_entries = 4, .max_listpack_value = 8};
constexpr HashLimits kDefault{};

Value NewHash() {
  Value v;
  HashInit(v);
  return v;
}

// Every pair in HashForEach order.
Pairs Contents(const Value& v) {
  Pairs out;
  HashForEach(v, [&out](std::string_view f, std::string_view val) {
    out.emplace_back(std::string(f), std::string(val));
  });
  return out;
}

std::map<std::string, std::string> AsMap(const Value& v) {
  std::map<std::string, std::string> out;
  for (auto& [f, val] : Contents(v)) {
    EXPECT_TRUE(out.emplace(f, val).second) << "field visited twice: " << f;
  }
  return out;
}

// Every pair HashScan yields from cursor 0 until it returns 0.
std::multiset<std::string> ScanAllFields(const Value& v, int* calls = nullptr) {
  std::multiset<std::string> fields;
  uint64_t cursor = 0;
  int n = 0;
  do {
    cursor = HashScan(v, cursor, [&](std::string_view f, std::string_view) { fields.emplace(f); });
    ++n;
  } while (cursor != 0 && n < 1000000);
  if (calls != nullptr) *calls = n;
  return fields;
}

TEST(HashValueTest, NewHashIsAnEmptyListpack) {
  Value v = NewHash();
  EXPECT_EQ(v.type(), ValueType::kHash);
  EXPECT_TRUE(v.is_listpack());
  EXPECT_EQ(HashSize(v), 0u);
  EXPECT_EQ(HashEncoding(v), "listpack");
  EXPECT_FALSE(HashGet(v, "a").has_value());
  EXPECT_FALSE(HashDelete(v, "a"));
  EXPECT_TRUE(Contents(v).empty());
}

TEST(HashValueTest, SetGetAndUpdateInListpack) {
  Value v = NewHash();
  EXPECT_TRUE(HashSet(v, "a", "1", kDefault));
  EXPECT_TRUE(HashSet(v, "b", "2", kDefault));
  EXPECT_TRUE(HashSet(v, "c", "3", kDefault));
  EXPECT_EQ(HashSize(v), 3u);
  EXPECT_EQ(HashGet(v, "b"), "2");
  EXPECT_TRUE(HashExists(v, "c"));
  EXPECT_FALSE(HashExists(v, "d"));

  // An update keeps the field's place and reports an existing field.
  EXPECT_FALSE(HashSet(v, "b", "a much longer value", kDefault));
  EXPECT_FALSE(HashSet(v, "a", "", kDefault));
  EXPECT_EQ(HashSize(v), 3u);
  EXPECT_EQ(Contents(v), (Pairs{{"a", ""}, {"b", "a much longer value"}, {"c", "3"}}));
  EXPECT_EQ(HashEncoding(v), "listpack");
}

TEST(HashValueTest, FieldsAreNotConfusedWithValues) {
  // A value equal to another pair's field name must not be found as a field.
  Value v = NewHash();
  HashSet(v, "x", "y", kDefault);
  HashSet(v, "y", "x", kDefault);
  EXPECT_EQ(HashGet(v, "x"), "y");
  EXPECT_EQ(HashGet(v, "y"), "x");
  HashSet(v, "k", "shadow", kDefault);
  EXPECT_FALSE(HashExists(v, "shadow"));
  EXPECT_TRUE(HashDelete(v, "y"));
  EXPECT_EQ(Contents(v), (Pairs{{"x", "y"}, {"k", "shadow"}}));
}

TEST(HashValueTest, BinarySafeFieldsAndValues) {
  Value v = NewHash();
  std::string nul_field("a\0b", 3);
  std::string nul_value("\0\r\n\xff", 4);
  HashSet(v, nul_field, nul_value, kDefault);
  HashSet(v, "", "", kDefault);
  HashSet(v, "a", "plain", kDefault);
  EXPECT_EQ(HashSize(v), 3u);
  EXPECT_EQ(HashGet(v, nul_field), nul_value);
  EXPECT_EQ(HashGet(v, ""), "");
  EXPECT_FALSE(HashExists(v, std::string_view("a\0", 2)));
}

TEST(HashValueTest, DeleteFromListpack) {
  Value v = NewHash();
  HashSet(v, "a", "1", kDefault);
  HashSet(v, "b", "2", kDefault);
  HashSet(v, "c", "3", kDefault);
  EXPECT_TRUE(HashDelete(v, "b"));
  EXPECT_FALSE(HashDelete(v, "b"));
  EXPECT_EQ(Contents(v), (Pairs{{"a", "1"}, {"c", "3"}}));
  EXPECT_TRUE(HashDelete(v, "a"));
  EXPECT_TRUE(HashDelete(v, "c"));
  EXPECT_EQ(HashSize(v), 0u);
  // Still a usable hash (the caller deletes the key; the value stays valid).
  EXPECT_TRUE(HashSet(v, "z", "26", kDefault));
  EXPECT_EQ(Contents(v), (Pairs{{"z", "26"}}));
}

TEST(HashValueTest, ConvertsWhenAFieldIsTooLong) {
  Value v = NewHash();
  HashSet(v, "a", "1", kSmall);
  HashSet(v, "12345678", "v", kSmall);  // exactly the limit: still a listpack
  EXPECT_EQ(HashEncoding(v), "listpack");
  EXPECT_TRUE(HashSet(v, "123456789", "v", kSmall));
  EXPECT_EQ(HashEncoding(v), "hashtable");
  EXPECT_FALSE(v.is_listpack());
  EXPECT_EQ(AsMap(v), (std::map<std::string, std::string>{
                          {"a", "1"}, {"12345678", "v"}, {"123456789", "v"}}));
}

TEST(HashValueTest, ConvertsWhenAValueIsTooLongEvenOnUpdate) {
  Value v = NewHash();
  HashSet(v, "a", "12345678", kSmall);
  EXPECT_EQ(HashEncoding(v), "listpack");
  EXPECT_FALSE(HashSet(v, "a", "123456789", kSmall));
  EXPECT_EQ(HashEncoding(v), "hashtable");
  EXPECT_EQ(HashGet(v, "a"), "123456789");
  EXPECT_EQ(HashSize(v), 1u);
}

TEST(HashValueTest, ConvertsWhenThereAreTooManyFields) {
  Value v = NewHash();
  for (int i = 0; i < 4; ++i) HashSet(v, "f" + std::to_string(i), "v", kSmall);
  EXPECT_EQ(HashEncoding(v), "listpack");  // exactly max entries
  // Updating an existing field does not count as growing.
  HashSet(v, "f0", "w", kSmall);
  EXPECT_EQ(HashEncoding(v), "listpack");
  HashSet(v, "f4", "v", kSmall);
  EXPECT_EQ(HashEncoding(v), "hashtable");
  EXPECT_EQ(HashSize(v), 5u);
  EXPECT_EQ(HashGet(v, "f0"), "w");
}

TEST(HashValueTest, ZeroLimitsConvertAtOnce) {
  Value v = NewHash();
  HashSet(v, "a", "1", HashLimits{.max_listpack_entries = 0, .max_listpack_value = 64});
  EXPECT_EQ(HashEncoding(v), "hashtable");

  // With value limit 0 only empty fields and values fit a listpack.
  constexpr HashLimits kNoBytes{.max_listpack_entries = 128, .max_listpack_value = 0};
  Value w = NewHash();
  HashSet(w, "", "", kNoBytes);
  EXPECT_EQ(HashEncoding(w), "listpack");
  HashSet(w, "", "x", kNoBytes);
  EXPECT_EQ(HashEncoding(w), "hashtable");
}

TEST(HashValueTest, NeverConvertsBack) {
  Value v = NewHash();
  for (int i = 0; i < 10; ++i) HashSet(v, "f" + std::to_string(i), "v", kSmall);
  ASSERT_EQ(HashEncoding(v), "hashtable");
  for (int i = 1; i < 10; ++i) EXPECT_TRUE(HashDelete(v, "f" + std::to_string(i)));
  EXPECT_EQ(HashSize(v), 1u);
  EXPECT_EQ(HashEncoding(v), "hashtable");
  EXPECT_TRUE(HashDelete(v, "f0"));
  EXPECT_EQ(HashSize(v), 0u);
}

TEST(HashValueTest, ExplicitConversionKeepsEverything) {
  Value v = NewHash();
  HashSet(v, "a", "1", kDefault);
  HashSet(v, "b", std::string(30, 'x'), kDefault);  // a heap-held value
  HashConvertToTable(v);
  EXPECT_EQ(HashEncoding(v), "hashtable");
  HashConvertToTable(v);  // no-op
  EXPECT_EQ(AsMap(v),
            (std::map<std::string, std::string>{{"a", "1"}, {"b", std::string(30, 'x')}}));
}

TEST(HashValueTest, HashtableSetGetDelete) {
  Value v = NewHash();
  HashConvertToTable(v);
  EXPECT_TRUE(HashSet(v, "a", "1", kSmall));
  EXPECT_FALSE(HashSet(v, "a", "2", kSmall));
  EXPECT_EQ(HashGet(v, "a"), "2");
  EXPECT_FALSE(HashGet(v, "b").has_value());
  EXPECT_TRUE(HashDelete(v, "a"));
  EXPECT_FALSE(HashDelete(v, "a"));
  EXPECT_EQ(HashSize(v), 0u);
}

TEST(HashValueTest, IncrByOnMissingAndExistingFields) {
  Value v = NewHash();
  int64_t result = 0;
  EXPECT_EQ(HashIncrBy(v, "n", 5, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, 5);
  EXPECT_EQ(HashIncrBy(v, "n", -7, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, -2);
  EXPECT_EQ(HashGet(v, "n"), "-2");
  EXPECT_EQ(HashIncrBy(v, "n", 0, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, -2);
}

TEST(HashValueTest, IncrByRejectsNonIntegersAndChangesNothing) {
  Value v = NewHash();
  for (const char* bad : {"1.5", " 1", "1 ", "01", "+1", "", "abc", "99999999999999999999"}) {
    HashSet(v, "f", bad, kDefault);
    int64_t result = 42;
    EXPECT_EQ(HashIncrBy(v, "f", 1, kDefault, &result), HashIncrStatus::kNotANumber) << bad;
    EXPECT_EQ(result, 42);
    EXPECT_EQ(HashGet(v, "f"), bad);
  }
}

TEST(HashValueTest, IncrByDetectsOverflowBothWays) {
  Value v = NewHash();
  int64_t result = 0;
  HashSet(v, "max", "9223372036854775807", kDefault);
  EXPECT_EQ(HashIncrBy(v, "max", 1, kDefault, &result), HashIncrStatus::kOverflow);
  EXPECT_EQ(HashGet(v, "max"), "9223372036854775807");
  EXPECT_EQ(HashIncrBy(v, "max", -1, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, INT64_MAX - 1);

  HashSet(v, "min", "-9223372036854775808", kDefault);
  EXPECT_EQ(HashIncrBy(v, "min", -1, kDefault, &result), HashIncrStatus::kOverflow);
  EXPECT_EQ(HashIncrBy(v, "min", INT64_MAX, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, -1);
}

TEST(HashValueTest, IncrByConvertsForALongField) {
  Value v = NewHash();
  int64_t result = 0;
  EXPECT_EQ(HashIncrBy(v, "a-very-long-field", 1, kSmall, &result), HashIncrStatus::kOk);
  EXPECT_EQ(HashEncoding(v), "hashtable");
  EXPECT_EQ(HashGet(v, "a-very-long-field"), "1");
}

TEST(HashValueTest, IncrByFloatFormatsLikeRedis) {
  Value v = NewHash();
  std::string result;
  EXPECT_EQ(HashIncrByFloat(v, "x", 1.5L, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, "1.5");
  EXPECT_EQ(HashIncrByFloat(v, "x", 1.0L, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, "2.5");
  EXPECT_EQ(HashGet(v, "x"), "2.5");
  EXPECT_EQ(HashIncrByFloat(v, "y", 3000.0L, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, "3000");
  // An integer text is a valid float too.
  HashSet(v, "i", "10", kDefault);
  EXPECT_EQ(HashIncrByFloat(v, "i", -0.25L, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_EQ(result, "9.75");
}

TEST(HashValueTest, IncrByFloatErrors) {
  Value v = NewHash();
  std::string result = "untouched";
  HashSet(v, "s", "1.5 ", kDefault);
  EXPECT_EQ(HashIncrByFloat(v, "s", 1.0L, kDefault, &result), HashIncrStatus::kNotANumber);
  HashSet(v, "t", "abc", kDefault);
  EXPECT_EQ(HashIncrByFloat(v, "t", 1.0L, kDefault, &result), HashIncrStatus::kNotANumber);
  HashSet(v, "inf", "inf", kDefault);
  EXPECT_EQ(HashIncrByFloat(v, "inf", 1.0L, kDefault, &result), HashIncrStatus::kNotFinite);
  EXPECT_EQ(result, "untouched");
  EXPECT_EQ(HashGet(v, "inf"), "inf");
  EXPECT_EQ(HashGet(v, "s"), "1.5 ");
}

TEST(HashValueTest, IncrByFloatConvertsForALongResult) {
  Value v = NewHash();
  std::string result;
  EXPECT_EQ(HashIncrByFloat(v, "f", 1e70L, kDefault, &result), HashIncrStatus::kOk);
  EXPECT_GT(result.size(), 64u);
  EXPECT_EQ(HashEncoding(v), "hashtable");
  EXPECT_EQ(HashGet(v, "f"), result);
}

TEST(HashValueTest, ScanOfAListpackReturnsEverythingAtOnce) {
  Value v = NewHash();
  HashSet(v, "a", "1", kDefault);
  HashSet(v, "b", "2", kDefault);
  Pairs seen;
  uint64_t next = HashScan(v, 12345, [&](std::string_view f, std::string_view val) {
    seen.emplace_back(std::string(f), std::string(val));
  });
  EXPECT_EQ(next, 0u);
  EXPECT_EQ(seen, (Pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(HashValueTest, ScanOfAHashtableVisitsEveryFieldOnce) {
  Value v = NewHash();
  std::set<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    std::string f = "field:" + std::to_string(i);
    HashSet(v, f, std::to_string(i), kSmall);
    expected.insert(f);
  }
  ASSERT_EQ(HashEncoding(v), "hashtable");
  int calls = 0;
  std::multiset<std::string> seen = ScanAllFields(v, &calls);
  EXPECT_EQ(seen.size(), expected.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
  EXPECT_GT(calls, 1);  // really incremental
}

TEST(HashValueTest, ScanGuaranteeHoldsWhileTheHashGrowsAndShrinks) {
  Value v = NewHash();
  std::set<std::string> stable;
  for (int i = 0; i < 200; ++i) {
    std::string f = "stable:" + std::to_string(i);
    HashSet(v, f, "v", kSmall);
    stable.insert(f);
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int step = 0;
  do {
    cursor = HashScan(v, cursor, [&](std::string_view f, std::string_view) { seen.emplace(f); });
    // Between calls: grow the table a lot, then remove the extra fields.
    if (step < 40) {
      for (int i = 0; i < 50; ++i) {
        HashSet(v, "extra:" + std::to_string(step) + ":" + std::to_string(i), "v", kSmall);
      }
    } else if (step < 80) {
      for (int i = 0; i < 50; ++i) {
        HashDelete(v, "extra:" + std::to_string(step - 40) + ":" + std::to_string(i));
      }
    }
    ++step;
  } while (cursor != 0 && step < 100000);
  for (const std::string& f : stable) EXPECT_TRUE(seen.count(f)) << f;
}

TEST(HashValueTest, RandomPairComesFromTheHash) {
  for (bool table : {false, true}) {
    Value v = NewHash();
    for (int i = 0; i < 20; ++i)
      HashSet(v, "f" + std::to_string(i), "v" + std::to_string(i), kDefault);
    if (table) HashConvertToTable(v);
    std::mt19937_64 rng(7);
    std::set<std::string> drawn;
    for (int i = 0; i < 2000; ++i) {
      HashPair p = HashRandomPair(v, rng);
      EXPECT_EQ(HashGet(v, p.field), p.value);
      drawn.emplace(p.field);
    }
    // 2000 draws over 20 fields: missing one would be a broken sampler.
    EXPECT_EQ(drawn.size(), 20u) << "table=" << table;
  }
}

TEST(HashValueTest, DistinctCountCoveringTheHashGivesAllInOrder) {
  for (bool table : {false, true}) {
    Value v = NewHash();
    for (int i = 0; i < 6; ++i) HashSet(v, "f" + std::to_string(i), std::to_string(i), kDefault);
    if (table) HashConvertToTable(v);
    std::mt19937_64 rng(1);
    for (uint64_t count : {6u, 7u, 1000u}) {
      std::vector<HashPair> out;
      HashRandomPairs(v, count, true, rng, &out);
      Pairs got;
      for (const HashPair& p : out) got.emplace_back(std::string(p.field), std::string(p.value));
      EXPECT_EQ(got, Contents(v)) << "count=" << count << " table=" << table;
    }
  }
}

TEST(HashValueTest, DistinctCountSmallerThanTheHash) {
  for (bool table : {false, true}) {
    for (int size : {10, 100}) {
      Value v = NewHash();
      for (int i = 0; i < size; ++i) HashSet(v, "f" + std::to_string(i), "v", kDefault);
      if (table) HashConvertToTable(v);
      std::mt19937_64 rng(size);
      std::set<std::string> ever;
      // count*3 > size and count*3 <= size take different paths for tables.
      for (uint64_t count : {1u, 3u, 9u}) {
        for (int round = 0; round < 50; ++round) {
          std::vector<HashPair> out;
          HashRandomPairs(v, count, true, rng, &out);
          ASSERT_EQ(out.size(), count);
          std::set<std::string_view> unique;
          for (const HashPair& p : out) {
            EXPECT_TRUE(HashExists(v, p.field));
            unique.insert(p.field);
            ever.emplace(p.field);
          }
          EXPECT_EQ(unique.size(), count);
        }
      }
      if (size == 10) {
        EXPECT_EQ(ever.size(), 10u) << "table=" << table;
      }
    }
  }
}

TEST(HashValueTest, RepeatingCountGivesExactlyCount) {
  for (bool table : {false, true}) {
    Value v = NewHash();
    HashSet(v, "only", "one", kDefault);
    if (table) HashConvertToTable(v);
    std::mt19937_64 rng(3);
    std::vector<HashPair> out;
    HashRandomPairs(v, 5, false, rng, &out);
    ASSERT_EQ(out.size(), 5u);
    for (const HashPair& p : out) {
      EXPECT_EQ(p.field, "only");
      EXPECT_EQ(p.value, "one");
    }
    out.clear();
    HashRandomPairs(v, 0, false, rng, &out);
    HashRandomPairs(v, 0, true, rng, &out);
    EXPECT_TRUE(out.empty());
  }
}

TEST(HashValueTest, CloneIsDeepForBothEncodings) {
  for (bool table : {false, true}) {
    Value v = NewHash();
    HashSet(v, "a", "1", kDefault);
    HashSet(v, "b", std::string(40, 'y'), kDefault);
    if (table) HashConvertToTable(v);
    Value copy = v.Clone();
    EXPECT_EQ(HashEncoding(copy), HashEncoding(v));
    EXPECT_EQ(AsMap(copy), AsMap(v));
    HashSet(v, "a", "changed", kDefault);
    HashDelete(v, "b");
    EXPECT_EQ(HashGet(copy, "a"), "1");
    EXPECT_EQ(HashGet(copy, "b"), std::string(40, 'y'));
  }
}

TEST(HashValueTest, MemoryUsageFollowsTheValues) {
  Value v = NewHash();
  HashConvertToTable(v);
  size_t empty = v.ExternalMemory();
  HashSet(v, "big", std::string(10000, 'x'), kDefault);
  size_t with_big = v.ExternalMemory();
  EXPECT_GE(with_big, empty + 10000);
  HashSet(v, "big", "small", kDefault);
  EXPECT_LT(v.ExternalMemory(), empty + 1000);
  HashSet(v, "big", std::string(5000, 'x'), kDefault);
  HashDelete(v, "big");
  EXPECT_LT(v.ExternalMemory(), empty + 1000);
}

// Random operations against a std::map model, with limits small enough that
// many hashes convert midway.
TEST(HashValueTest, MatchesAModelUnderRandomOperations) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 30; ++round) {
    Value v = NewHash();
    std::map<std::string, std::string> model;
    Pairs insertion_order;  // the model of a listpack's order
    for (int op = 0; op < 300; ++op) {
      std::string field = "f" + std::to_string(rng() % 12);
      if (rng() % 7 == 0) field += std::string(rng() % 12, 'L');
      switch (rng() % 4) {
        case 0:
        case 1: {
          std::string value(rng() % 11, static_cast<char>('a' + rng() % 26));
          bool fresh = model.find(field) == model.end();
          EXPECT_EQ(HashSet(v, field, value, kSmall), fresh);
          model[field] = value;
          bool placed = false;
          for (auto& [f, val] : insertion_order) {
            if (f == field) {
              val = value;
              placed = true;
            }
          }
          if (!placed) insertion_order.emplace_back(field, value);
          break;
        }
        case 2: {
          bool present = model.erase(field) > 0;
          EXPECT_EQ(HashDelete(v, field), present);
          std::erase_if(insertion_order, [&](const auto& p) { return p.first == field; });
          break;
        }
        case 3: {
          auto it = model.find(field);
          std::optional<std::string_view> got = HashGet(v, field);
          ASSERT_EQ(got.has_value(), it != model.end());
          if (got) {
            EXPECT_EQ(*got, it->second);
          }
          break;
        }
      }
      ASSERT_EQ(HashSize(v), model.size());
    }
    EXPECT_EQ(AsMap(v), model);
    if (v.is_listpack()) {
      EXPECT_EQ(Contents(v), insertion_order);
    }
    std::multiset<std::string> scanned = ScanAllFields(v);
    EXPECT_EQ(scanned.size(), model.size());
  }
}

}  // namespace
}  // namespace understudy::storage

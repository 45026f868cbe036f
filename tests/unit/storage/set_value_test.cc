#include "storage/set_value.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace understudy::storage {
namespace {

std::vector<std::string> Members(const SetValue& set) {
  std::vector<std::string> out;
  set.ForEach([&out](std::string_view m) {
    out.emplace_back(m);
    return true;
  });
  return out;
}

std::vector<std::string> SortedMembers(const SetValue& set) {
  std::vector<std::string> out = Members(set);
  std::sort(out.begin(), out.end());
  return out;
}

// ----------------------------------------------------------------- IntSet

TEST(IntSetTest, WidthIsTheNarrowestThatHoldsTheValue) {
  EXPECT_EQ(IntSet::WidthFor(0), 2);
  EXPECT_EQ(IntSet::WidthFor(32767), 2);
  EXPECT_EQ(IntSet::WidthFor(-32768), 2);
  EXPECT_EQ(IntSet::WidthFor(32768), 4);
  EXPECT_EQ(IntSet::WidthFor(-32769), 4);
  EXPECT_EQ(IntSet::WidthFor(std::numeric_limits<int32_t>::max()), 4);
  EXPECT_EQ(IntSet::WidthFor(std::numeric_limits<int32_t>::min()), 4);
  EXPECT_EQ(IntSet::WidthFor(int64_t{1} << 31), 8);
  EXPECT_EQ(IntSet::WidthFor(std::numeric_limits<int64_t>::min()), 8);
}

TEST(IntSetTest, InsertKeepsOrderAndLowerBoundFindsPositions) {
  auto set = IntSet::Create(2, 8);
  ASSERT_GE(set->capacity(), 8u);
  for (int64_t v : {5, -3, 100, 0, 7}) {
    bool found = true;
    size_t index = set->LowerBound(v, &found);
    ASSERT_FALSE(found);
    set->InsertAt(index, v);
  }
  std::vector<int64_t> got;
  for (size_t i = 0; i < set->size(); ++i) got.push_back(set->At(i));
  EXPECT_EQ(got, (std::vector<int64_t>{-3, 0, 5, 7, 100}));
  bool found = false;
  EXPECT_EQ(set->LowerBound(7, &found), 3u);
  EXPECT_TRUE(found);
  EXPECT_EQ(set->LowerBound(6, &found), 3u);
  EXPECT_FALSE(found);
  EXPECT_EQ(set->LowerBound(1000, &found), 5u);
  EXPECT_FALSE(found);
  // Wider than the current width: absent, and at the matching end.
  EXPECT_EQ(set->LowerBound(int64_t{1} << 40, &found), 5u);
  EXPECT_FALSE(found);
  EXPECT_EQ(set->LowerBound(-(int64_t{1} << 40), &found), 0u);
  EXPECT_FALSE(found);
  set->EraseAt(0);
  EXPECT_EQ(set->At(0), 0);
  EXPECT_EQ(set->size(), 4u);
}

TEST(IntSetTest, CopyWithRoomWidensEveryElement) {
  auto set = IntSet::Create(2, 3);
  set->InsertAt(0, -7);
  set->InsertAt(1, 9);
  int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE(set->CanInsertInPlace(big));
  auto wide = set->CopyWithRoom(big, 3);
  EXPECT_EQ(wide->width(), 8);
  EXPECT_TRUE(wide->CanInsertInPlace(big));
  wide->InsertAt(2, big);
  EXPECT_EQ(wide->At(0), -7);
  EXPECT_EQ(wide->At(1), 9);
  EXPECT_EQ(wide->At(2), big);
}

TEST(IntSetTest, FewSmallIntegersFitInOneSmallBlock) {
  Value v;
  SetValue set = SetValue::Create(v, "1");
  SetLimits limits;
  set.Add("1", limits);
  set.Add("2", limits);
  set.Add("3", limits);
  // Redis: 16-byte object + 8-byte intset header + 3*2 bytes. One malloc
  // block of at most 32 bytes here.
  EXPECT_LE(v.ExternalMemory(), 32u);
}

// --------------------------------------------------------------- SetValue

TEST(SetValueTest, FirstMemberChoosesTheRepresentation) {
  Value a, b, c, d;
  EXPECT_EQ(SetValue::Create(a, "12").Encoding(), "intset");
  EXPECT_EQ(SetValue::Create(b, "-9223372036854775808").Encoding(), "intset");
  // Not canonical integers, as Redis's string2ll sees them.
  EXPECT_EQ(SetValue::Create(c, "012").Encoding(), "hashtable");
  EXPECT_EQ(SetValue::Create(d, "9223372036854775808").Encoding(), "hashtable");
  for (std::string_view text : {"-0", "+1", " 1", "1 ", "1.0", "", "0x1"}) {
    Value v;
    EXPECT_EQ(SetValue::Create(v, text).Encoding(), "hashtable") << text;
  }
  EXPECT_EQ(a.type(), ValueType::kSet);
  EXPECT_TRUE(SetValue(a).empty());
}

TEST(SetValueTest, IntSetAddRemoveContains) {
  Value v;
  SetValue set = SetValue::Create(v, "3");
  SetLimits limits;
  EXPECT_TRUE(set.Add("3", limits));
  EXPECT_FALSE(set.Add("3", limits));
  EXPECT_TRUE(set.Add("-1", limits));
  EXPECT_TRUE(set.Add("70000", limits));                 // widens to 4 bytes
  EXPECT_TRUE(set.Add("-9223372036854775808", limits));  // and to 8
  EXPECT_TRUE(set.Add("9223372036854775807", limits));
  EXPECT_EQ(set.Encoding(), "intset");
  EXPECT_EQ(set.size(), 5u);
  EXPECT_EQ(Members(set), (std::vector<std::string>{"-9223372036854775808", "-1", "3", "70000",
                                                    "9223372036854775807"}));
  EXPECT_TRUE(set.Contains("70000"));
  EXPECT_FALSE(set.Contains("70001"));
  EXPECT_FALSE(set.Contains("abc"));
  EXPECT_FALSE(set.Contains("03"));  // not canonical: not the member 3
  EXPECT_FALSE(set.Remove("03"));
  EXPECT_FALSE(set.Remove("x"));
  EXPECT_FALSE(set.Remove("4"));
  EXPECT_TRUE(set.Remove("3"));
  EXPECT_FALSE(set.Contains("3"));
  EXPECT_EQ(set.size(), 4u);
  EXPECT_EQ(set.Encoding(), "intset");
}

TEST(SetValueTest, NonIntegerMemberConvertsToHashtable) {
  Value v;
  SetValue set = SetValue::Create(v, "1");
  SetLimits limits;
  for (int i = 1; i <= 10; ++i) set.Add(std::to_string(i), limits);
  EXPECT_EQ(set.Encoding(), "intset");
  // Re-adding an existing integer never converts.
  EXPECT_FALSE(set.Add("5", limits));
  EXPECT_EQ(set.Encoding(), "intset");
  EXPECT_TRUE(set.Add("a", limits));
  EXPECT_EQ(set.Encoding(), "hashtable");
  EXPECT_EQ(set.size(), 11u);
  EXPECT_TRUE(set.Contains("7"));
  EXPECT_TRUE(set.Contains("a"));
  EXPECT_FALSE(set.Add("7", limits));
  // Removing the non-integer does not go back to an intset (as Redis).
  EXPECT_TRUE(set.Remove("a"));
  EXPECT_EQ(set.Encoding(), "hashtable");
  EXPECT_TRUE(set.Add("11", limits));
  EXPECT_EQ(set.Encoding(), "hashtable");
  std::vector<std::string> expected;
  for (int i = 1; i <= 11; ++i) expected.push_back(std::to_string(i));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(SortedMembers(set), expected);
}

TEST(SetValueTest, IntSetConvertsOnlyWhenExceedingTheLimit) {
  Value v;
  SetValue set = SetValue::Create(v, "0");
  SetLimits limits{.max_intset_entries = 4};
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(set.Add(std::to_string(i * 1000), limits));
  EXPECT_EQ(set.Encoding(), "intset");
  EXPECT_FALSE(set.Add("3000", limits));  // existing: no conversion at the limit
  EXPECT_EQ(set.Encoding(), "intset");
  EXPECT_TRUE(set.Add("100000", limits));  // the fifth (and wider) one converts
  EXPECT_EQ(set.Encoding(), "hashtable");
  EXPECT_EQ(SortedMembers(set), (std::vector<std::string>{"0", "1000", "100000", "2000", "3000"}));
}

TEST(SetValueTest, DefaultLimitIs512AndZeroMeansNeverIntset) {
  Value v;
  SetValue set = SetValue::Create(v, "1");
  SetLimits limits;
  for (int i = 0; i < 512; ++i) ASSERT_TRUE(set.Add(std::to_string(i), limits));
  EXPECT_EQ(set.Encoding(), "intset");
  EXPECT_TRUE(set.Add("512", limits));
  EXPECT_EQ(set.Encoding(), "hashtable");
  EXPECT_EQ(set.size(), 513u);
  for (int i = 0; i <= 512; ++i) ASSERT_TRUE(set.Contains(std::to_string(i))) << i;

  Value w;
  SetValue tiny = SetValue::Create(w, "1");
  EXPECT_TRUE(tiny.Add("1", SetLimits{.max_intset_entries = 0}));
  EXPECT_EQ(tiny.Encoding(), "hashtable");
  Value n;
  SetValue negative = SetValue::Create(n, "1");
  EXPECT_TRUE(negative.Add("1", SetLimits{.max_intset_entries = -5}));
  EXPECT_EQ(negative.Encoding(), "hashtable");
}

TEST(SetValueTest, SmallStringSetsAreListpacksReportedAsHashtable) {
  Value v;
  SetValue set = SetValue::Create(v, "a");
  SetLimits limits;
  EXPECT_TRUE(set.is_listpack());
  EXPECT_EQ(set.Encoding(), "hashtable");
  EXPECT_TRUE(set.Add("a", limits));
  EXPECT_TRUE(set.Add("b", limits));
  EXPECT_TRUE(set.Add("c", limits));
  EXPECT_FALSE(set.Add("b", limits));
  // Three short strings: one small block, no table, no entries.
  EXPECT_LE(v.ExternalMemory(), 32u);
  EXPECT_EQ(Members(set), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(set.Contains("c"));
  EXPECT_FALSE(set.Contains("d"));
  EXPECT_TRUE(set.Remove("b"));
  EXPECT_FALSE(set.Remove("b"));
  EXPECT_EQ(set.size(), 2u);
  // A listpack scan returns everything at once.
  std::vector<std::string> scanned;
  EXPECT_EQ(set.Scan(0, 1, [&scanned](std::string_view m) { scanned.emplace_back(m); }), 0u);
  EXPECT_EQ(scanned, (std::vector<std::string>{"a", "c"}));
}

TEST(SetValueTest, ListpackMovesToADictBeyondItsLimits) {
  SetLimits limits;  // 128 entries of at most 64 bytes
  Value v;
  SetValue set = SetValue::Create(v, "m0");
  for (int i = 0; i < 128; ++i) ASSERT_TRUE(set.Add("m" + std::to_string(i), limits));
  EXPECT_TRUE(set.is_listpack());
  EXPECT_FALSE(set.Add("m5", limits));  // existing: stays
  EXPECT_TRUE(set.is_listpack());
  EXPECT_TRUE(set.Add("m128", limits));
  EXPECT_FALSE(set.is_listpack());
  EXPECT_EQ(set.Encoding(), "hashtable");
  EXPECT_EQ(set.size(), 129u);
  for (int i = 0; i <= 128; ++i) ASSERT_TRUE(set.Contains("m" + std::to_string(i)));

  Value w;
  SetValue longer = SetValue::Create(w, "short");
  longer.Add("short", limits);
  EXPECT_TRUE(longer.is_listpack());
  EXPECT_TRUE(longer.Add(std::string(65, 'x'), limits));
  EXPECT_FALSE(longer.is_listpack());
  EXPECT_EQ(SortedMembers(longer), (std::vector<std::string>{"short", std::string(65, 'x')}));

  Value x;
  EXPECT_FALSE(SetValue::Create(x, std::string(65, 'y')).is_listpack());
  // Removing members never goes back to a listpack.
  set.Remove("m0");
  for (int i = 1; i < 120; ++i) set.Remove("m" + std::to_string(i));
  EXPECT_FALSE(set.is_listpack());
  EXPECT_EQ(set.size(), 9u);
}

TEST(SetValueTest, IntSetTurnsIntoAListpackOrADict) {
  SetLimits limits;
  Value v;
  SetValue set = SetValue::Create(v, "1");
  for (int i = 0; i < 100; ++i) set.Add(std::to_string(i), limits);
  EXPECT_TRUE(set.Add("x", limits));
  EXPECT_TRUE(set.is_listpack());
  EXPECT_EQ(set.Encoding(), "hashtable");
  EXPECT_EQ(set.size(), 101u);
  EXPECT_TRUE(set.Contains("42"));
  EXPECT_TRUE(set.Contains("x"));
  // Integers added later stay in the listpack: no way back to an intset.
  EXPECT_TRUE(set.Add("1000", limits));
  EXPECT_EQ(set.Encoding(), "hashtable");

  Value w;
  SetValue big = SetValue::Create(w, "1");
  for (int i = 0; i < 200; ++i) big.Add(std::to_string(i), limits);
  EXPECT_TRUE(big.Add("x", limits));
  EXPECT_FALSE(big.is_listpack());
  EXPECT_EQ(big.size(), 201u);

  // An intset over set-max-intset-entries becomes a listpack when small.
  Value z;
  SetValue limited = SetValue::Create(z, "1");
  SetLimits four{.max_intset_entries = 4};
  for (int i = 0; i < 5; ++i) limited.Add(std::to_string(i), four);
  EXPECT_TRUE(limited.is_listpack());
  EXPECT_EQ(limited.Encoding(), "hashtable");
  EXPECT_EQ(SortedMembers(limited), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST(SetValueTest, CreateIntSetStartsEmptyAndTakesAnyMember) {
  Value v;
  SetValue set = SetValue::CreateIntSet(v);
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.Encoding(), "intset");
  SetLimits limits;
  EXPECT_TRUE(set.Add("x", limits));
  EXPECT_EQ(set.Encoding(), "hashtable");
  EXPECT_TRUE(set.Contains("x"));
}

TEST(SetValueTest, RandomMemberReturnsMembersOfBothEncodings) {
  std::mt19937_64 rng(42);
  SetLimits limits;
  for (std::string_view first : {"1", "a", "dict"}) {
    Value v;
    SetValue set = SetValue::Create(v, first);
    std::set<std::string> model;
    if (first == "dict") {
      // Past the listpack limits, then back down to 50 members.
      for (int i = 0; i < 200; ++i) set.Add("x" + std::to_string(i), limits);
      for (int i = 0; i < 200; ++i) set.Remove("x" + std::to_string(i));
      ASSERT_FALSE(set.is_listpack());
    }
    for (int i = 0; i < 50; ++i) {
      std::string m = first == "1" ? std::to_string(i * 3) : "m" + std::to_string(i);
      set.Add(m, limits);
      model.insert(m);
    }
    std::set<std::string> seen;
    std::string out;
    for (int i = 0; i < 2000; ++i) {
      set.RandomMember(rng, &out);
      ASSERT_TRUE(model.count(out)) << out;
      seen.insert(out);
    }
    // 2000 draws from 50 members: all of them show up.
    EXPECT_EQ(seen.size(), model.size()) << first;
    EXPECT_EQ(set.size(), 50u);
  }
}

// Draws from a table-backed set are spread over all members, also when the
// table is sparse (just above the fill that triggers shrinking).
TEST(SetValueTest, RandomMemberOfADictIsRoughlyUniform) {
  std::mt19937_64 rng(99);
  SetLimits limits;
  Value v;
  SetValue set = SetValue::Create(v, "a");
  for (int i = 0; i < 10000; ++i) set.Add("m" + std::to_string(i), limits);
  for (int i = 1000; i < 10000; ++i) set.Remove("m" + std::to_string(i));
  ASSERT_EQ(set.size(), 1000u);
  std::map<std::string, int> counts;
  std::string out;
  constexpr int kDraws = 200000;
  for (int i = 0; i < kDraws; ++i) {
    set.RandomMember(rng, &out);
    ++counts[out];
  }
  ASSERT_EQ(counts.size(), 1000u);
  // Expected 200 each. A draw picks a bucket, then a member of its chain,
  // so members sharing a bucket are drawn less often (as in Redis, whose
  // random pick is not uniform either); but none may be starved or hugely
  // favoured.
  for (const auto& [member, count] : counts) {
    EXPECT_GT(count, 15) << member;
    EXPECT_LT(count, 1000) << member;
  }
}

TEST(SetValueTest, PopRandomDrainsEverythingOnce) {
  std::mt19937_64 rng(7);
  SetLimits limits;
  for (std::string_view first : {"1", "a", "b"}) {
    Value v;
    SetValue set = SetValue::Create(v, first);
    std::set<std::string> model;
    // "b": a listpack all the way; "a": a Dict.
    const int members = first == "b" ? 100 : 300;
    for (int i = 0; i < members; ++i) {
      std::string m = first == "1" ? std::to_string(i - 150) : "m" + std::to_string(i);
      set.Add(m, limits);
      model.insert(m);
    }
    std::string out;
    while (!set.empty()) {
      set.PopRandom(rng, &out);
      ASSERT_EQ(model.erase(out), 1u) << out;
      ASSERT_EQ(set.size(), model.size());
    }
    EXPECT_TRUE(model.empty());
    EXPECT_EQ(set.Encoding(), first == "1" ? "intset" : "hashtable");
    EXPECT_EQ(set.is_listpack(), first == "b");
  }
}

TEST(SetValueTest, ForEachStopsWhenAsked) {
  SetLimits limits;
  for (std::string_view first : {"1", "a", "x"}) {
    Value v;
    SetValue set = SetValue::Create(v, first);
    const int members = first == "x" ? 1000 : 100;
    for (int i = 0; i < members; ++i) set.Add(std::to_string(i), limits);
    int visits = 0;
    set.ForEach([&visits](std::string_view) { return ++visits < 5; });
    EXPECT_EQ(visits, 5);
  }
}

TEST(SetValueTest, ScanOfAnIntSetReturnsAllAtOnce) {
  Value v;
  SetValue set = SetValue::Create(v, "5");
  SetLimits limits;
  for (int i = 0; i < 100; ++i) set.Add(std::to_string(i), limits);
  std::vector<std::string> got;
  uint64_t next = set.Scan(0, 1, [&got](std::string_view m) { got.emplace_back(m); });
  EXPECT_EQ(next, 0u);
  EXPECT_EQ(got.size(), 100u);
  EXPECT_EQ(got.front(), "0");
  EXPECT_EQ(got.back(), "99");
}

TEST(SetValueTest, ScanOfAHashtableReturnsEveryMemberThroughChanges) {
  Value v;
  SetValue set = SetValue::Create(v, "a");
  SetLimits limits;
  std::set<std::string> stable;
  for (int i = 0; i < 1000; ++i) {
    std::string m = "stable:" + std::to_string(i);
    set.Add(m, limits);
    stable.insert(m);
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0;
  int extra = 0;
  do {
    cursor = set.Scan(cursor, 10, [&seen](std::string_view m) { seen.emplace(m); });
    // Grow and shrink the table while the scan runs.
    for (int i = 0; i < 20; ++i) set.Add("extra:" + std::to_string(extra++), limits);
    if (calls % 3 == 0) {
      for (int i = 0; i < 30 && extra - i > 0; ++i) set.Remove("extra:" + std::to_string(i));
    }
    ASSERT_LT(++calls, 100000);
  } while (cursor != 0);
  for (const std::string& m : stable) EXPECT_TRUE(seen.count(m)) << m;
}

TEST(SetValueTest, ScanHonoursCountRoughly) {
  Value v;
  SetValue set = SetValue::Create(v, "a");
  SetLimits limits;
  for (int i = 0; i < 1000; ++i) set.Add("k" + std::to_string(i), limits);
  size_t got = 0;
  uint64_t next = set.Scan(0, 10, [&got](std::string_view) { ++got; });
  EXPECT_NE(next, 0u);
  EXPECT_GE(got, 10u);
  EXPECT_LT(got, 100u);
}

TEST(SetValueTest, RemovingMostMembersShrinksTheTable) {
  Value v;
  SetValue set = SetValue::Create(v, "a");
  SetLimits limits;
  for (int i = 0; i < 4096; ++i) set.Add("k" + std::to_string(i), limits);
  size_t big = v.ExternalMemory();
  for (int i = 0; i < 4090; ++i) ASSERT_TRUE(set.Remove("k" + std::to_string(i)));
  // Let incremental rehashing finish.
  for (int i = 0; i < 10000 && v.As<HashSet>()->dict().rehashing(); ++i) set.Contains("k4095");
  EXPECT_LT(v.ExternalMemory(), big / 10);
  EXPECT_EQ(SortedMembers(set),
            (std::vector<std::string>{"k4090", "k4091", "k4092", "k4093", "k4094", "k4095"}));
}

TEST(SetValueTest, IntSetGivesMemoryBackAfterRemovals) {
  Value v;
  SetValue set = SetValue::Create(v, "1");
  SetLimits limits;
  for (int i = 0; i < 500; ++i) set.Add(std::to_string(i * 100000), limits);  // 4-byte width
  size_t big = v.ExternalMemory();
  EXPECT_GE(big, 2000u);
  for (int i = 0; i < 495; ++i) ASSERT_TRUE(set.Remove(std::to_string(i * 100000)));
  EXPECT_LT(v.ExternalMemory(), big / 4);
  EXPECT_EQ(set.size(), 5u);
  EXPECT_TRUE(set.Contains("49900000"));
}

TEST(SetValueTest, CloneKeepsTheEncodingAndIsIndependent) {
  SetLimits limits;
  for (std::string_view first : {"1", "a", "x"}) {
    Value v;
    SetValue set = SetValue::Create(v, first);
    const int members = first == "x" ? 500 : 20;
    for (int i = 0; i < members; ++i) set.Add(std::to_string(i), limits);
    Value copy = v.Clone();
    SetValue copied(copy);
    EXPECT_EQ(copied.Encoding(), set.Encoding());
    EXPECT_EQ(copied.is_listpack(), set.is_listpack());
    EXPECT_EQ(SortedMembers(copied), SortedMembers(set));
    copied.Remove("3");
    EXPECT_TRUE(set.Contains("3"));
    EXPECT_FALSE(copied.Contains("3"));
  }
}

// Random operations against a std::set model, across both encodings and
// the conversion between them.
TEST(SetValueTest, RandomOperationsMatchAModel) {
  std::mt19937_64 rng(1234);
  for (int round = 0; round < 20; ++round) {
    SetLimits limits{.max_intset_entries = 64,
                     .max_listpack_entries = static_cast<size_t>(round % 4 == 1 ? 0 : 40)};
    Value v;
    SetValue set = SetValue::Create(v, "1");
    std::set<std::string> model;
    for (int step = 0; step < 2000; ++step) {
      uint64_t r = rng();
      std::string m = (r % 50 == 0 && round % 2 == 0)
                          ? "s" + std::to_string(r % 7)
                          : std::to_string(static_cast<int64_t>(r % 200) - 100);
      switch ((r >> 8) % 4) {
        case 0:
        case 1:
          ASSERT_EQ(set.Add(m, limits), model.insert(m).second);
          break;
        case 2:
          ASSERT_EQ(set.Remove(m), model.erase(m) == 1);
          break;
        default:
          ASSERT_EQ(set.Contains(m), model.count(m) == 1);
      }
      ASSERT_EQ(set.size(), model.size());
    }
    std::vector<std::string> expected(model.begin(), model.end());
    EXPECT_EQ(SortedMembers(set), expected);
    if (set.Encoding() == "intset") {
      // Ascending numeric order.
      std::vector<std::string> members = Members(set);
      EXPECT_TRUE(std::is_sorted(members.begin(), members.end(),
                                 [](const std::string& a, const std::string& b) {
                                   return std::stoll(a) < std::stoll(b);
                                 }));
    }
  }
}

}  // namespace
}  // namespace understudy::storage

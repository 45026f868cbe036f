#include "storage/zset_value.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace understudy::storage {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The reference model: members with scores, and their order as a vector.
struct Model {
  std::map<std::string, double> scores;

  std::vector<ScoredMember> Sorted() const {
    std::vector<ScoredMember> out;
    for (const auto& [member, score] : scores) out.push_back({member, score});
    std::sort(out.begin(), out.end(), [](const ScoredMember& a, const ScoredMember& b) {
      return ZSetLess(a.score, a.member, b.score, b.member);
    });
    return out;
  }
};

std::vector<ScoredMember> Own(const std::vector<ZSetItem>& items) {
  std::vector<ScoredMember> out;
  for (const ZSetItem& item : items) out.push_back({std::string(item.member), item.score});
  return out;
}

void ExpectSame(const std::vector<ScoredMember>& expected, const std::vector<ScoredMember>& actual,
                const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].member, actual[i].member) << what << " at " << i;
    EXPECT_EQ(expected[i].score, actual[i].score) << what << " at " << i;
  }
}

Value NewZSet(std::string_view first, const ZSetLimits& limits) {
  Value v;
  ZSetInit(v, first, limits);
  return v;
}

std::vector<ScoredMember> All(const Value& v) {
  std::vector<ZSetItem> items;
  if (ZSetSize(v) > 0) ZSetRangeByRank(v, 0, ZSetSize(v) - 1, false, &items);
  return Own(items);
}

TEST(ZSetListpackScore, CompactAndExact) {
  char buf[kScoreBytesMax];
  auto size = [&](double d) { return EncodeListpackScore(d, buf); };
  auto round_trip = [&](double d) { return DecodeListpackScore(std::string_view(buf, size(d))); };
  EXPECT_EQ(size(0), 0u);
  EXPECT_EQ(size(-0.0), 0u);
  EXPECT_FALSE(std::signbit(round_trip(-0.0)));  // Redis's listpack drops the sign of zero
  EXPECT_EQ(size(1), 1u);
  EXPECT_EQ(size(-128), 1u);
  EXPECT_EQ(size(127), 1u);
  EXPECT_EQ(size(128), 2u);
  EXPECT_EQ(size(99999), 3u);
  EXPECT_EQ(size(9007199254740992.0), 7u);   // 2^53
  EXPECT_EQ(size(18014398509481984.0), 8u);  // 2^54: kept as a double
  EXPECT_EQ(size(0.5), 8u);
  EXPECT_EQ(size(kInf), 8u);
  for (double d : {1.0, -1.0, 127.0, -129.0, 32768.0, -8388609.0, 9007199254740992.0,
                   -9007199254740992.0, 0.1, 1e300, -kInf, kInf, 5e-324, 1e20}) {
    EXPECT_EQ(round_trip(d), d) << d;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (std::isnan(d) || d == 0) continue;
    EXPECT_EQ(round_trip(d), d) << d;
    int64_t n = static_cast<int64_t>(rng()) >> (rng() % 64);
    if (n > -(int64_t{1} << 53) && n < (int64_t{1} << 53)) {
      EXPECT_EQ(round_trip(static_cast<double>(n)), static_cast<double>(n)) << n;
    }
  }
}

TEST(ZSetParse, ScoreRangeFollowsStrtod) {
  ScoreRange r;
  ASSERT_TRUE(ParseScoreRange("(1.5", "+inf", &r));
  EXPECT_EQ(r.min, 1.5);
  EXPECT_TRUE(r.min_exclusive);
  EXPECT_EQ(r.max, kInf);
  EXPECT_FALSE(r.max_exclusive);
  ASSERT_TRUE(ParseScoreRange("-inf", "(5", &r));
  EXPECT_EQ(r.min, -kInf);
  EXPECT_TRUE(r.max_exclusive);
  // strtod accepts leading spaces, hex and an empty string (0).
  ASSERT_TRUE(ParseScoreRange(" 1", "0x10", &r));
  EXPECT_EQ(r.min, 1);
  EXPECT_EQ(r.max, 16);
  ASSERT_TRUE(ParseScoreRange("", "(", &r));
  EXPECT_EQ(r.min, 0);
  EXPECT_EQ(r.max, 0);
  EXPECT_TRUE(r.Empty());
  EXPECT_FALSE(ParseScoreRange("nan", "1", &r));
  EXPECT_FALSE(ParseScoreRange("1", "(nan", &r));
  EXPECT_FALSE(ParseScoreRange("1x", "2", &r));
  EXPECT_FALSE(ParseScoreRange("1", "2 ", &r));
  EXPECT_FALSE(ParseScoreRange("[1", "2", &r));
}

TEST(ZSetParse, ScoreRangeEmptiness) {
  EXPECT_TRUE((ScoreRange{2, 1, false, false}).Empty());
  EXPECT_FALSE((ScoreRange{1, 1, false, false}).Empty());
  EXPECT_TRUE((ScoreRange{1, 1, true, false}).Empty());
  EXPECT_TRUE((ScoreRange{1, 1, false, true}).Empty());
  ScoreRange r{1, 2, true, false};
  EXPECT_FALSE(r.Contains(1));
  EXPECT_TRUE(r.Contains(1.5));
  EXPECT_TRUE(r.Contains(2));
}

TEST(ZSetParse, LexRange) {
  LexRange r;
  ASSERT_TRUE(ParseLexRange("-", "+", &r));
  EXPECT_TRUE(r.Contains(""));
  EXPECT_TRUE(r.Contains("zzz"));
  EXPECT_FALSE(r.Empty());
  ASSERT_TRUE(ParseLexRange("[b", "(d", &r));
  EXPECT_FALSE(r.Contains("a"));
  EXPECT_TRUE(r.Contains("b"));
  EXPECT_TRUE(r.Contains("c"));
  EXPECT_FALSE(r.Contains("d"));
  ASSERT_TRUE(ParseLexRange("(", "[", &r));  // empty values are fine
  EXPECT_TRUE(r.Empty());
  ASSERT_TRUE(ParseLexRange("[a", "[a", &r));
  EXPECT_FALSE(r.Empty());
  ASSERT_TRUE(ParseLexRange("[a", "(a", &r));
  EXPECT_TRUE(r.Empty());
  ASSERT_TRUE(ParseLexRange("-", "-", &r));
  EXPECT_TRUE(r.Empty());
  ASSERT_TRUE(ParseLexRange("+", "[a", &r));
  EXPECT_TRUE(r.Empty());
  EXPECT_FALSE(ParseLexRange("a", "+", &r));
  EXPECT_FALSE(ParseLexRange("-", "", &r));
  EXPECT_FALSE(ParseLexRange("+a", "+", &r));
  EXPECT_FALSE(ParseLexRange("-", "-a", &r));
}

TEST(ZSetAdd, FlagsAndOutcomes) {
  ZSetLimits limits;
  for (bool skiplist : {false, true}) {
    Value v = NewZSet("a", limits);
    if (skiplist) ZSetConvertToSkiplist(v);
    double score = 0;
    EXPECT_EQ(ZSetAdd(v, "a", 1, 0, limits, &score), ZAddOutcome::kAdded);
    EXPECT_EQ(score, 1);
    EXPECT_EQ(ZSetAdd(v, "a", 1, 0, limits), ZAddOutcome::kUnchanged);
    EXPECT_EQ(ZSetAdd(v, "a", 5, kZAddNx, limits), ZAddOutcome::kSkipped);
    EXPECT_EQ(ZSetAdd(v, "b", 5, kZAddXx, limits), ZAddOutcome::kSkipped);
    EXPECT_EQ(ZSetAdd(v, "a", 0, kZAddGt, limits), ZAddOutcome::kSkipped);
    EXPECT_EQ(ZSetAdd(v, "a", 2, kZAddGt, limits), ZAddOutcome::kUpdated);
    EXPECT_EQ(ZSetAdd(v, "a", 3, kZAddLt, limits), ZAddOutcome::kSkipped);
    EXPECT_EQ(ZSetAdd(v, "a", 1, kZAddLt | kZAddXx, limits), ZAddOutcome::kUpdated);
    // GT/LT do not stop new members.
    EXPECT_EQ(ZSetAdd(v, "c", -5, kZAddGt, limits), ZAddOutcome::kAdded);
    EXPECT_EQ(ZSetAdd(v, "a", 2.5, kZAddIncr, limits, &score), ZAddOutcome::kUpdated);
    EXPECT_EQ(score, 3.5);
    EXPECT_EQ(ZSetAdd(v, "a", 0, kZAddIncr, limits, &score), ZAddOutcome::kUnchanged);
    EXPECT_EQ(score, 3.5);
    EXPECT_EQ(ZSetAdd(v, "a", -1, kZAddIncr | kZAddGt, limits), ZAddOutcome::kSkipped);
    EXPECT_EQ(ZSetAdd(v, "d", 2, kZAddIncr, limits, &score), ZAddOutcome::kAdded);
    EXPECT_EQ(score, 2);
    EXPECT_EQ(ZSetAdd(v, "a", kInf, 0, limits), ZAddOutcome::kUpdated);
    EXPECT_EQ(ZSetAdd(v, "a", -kInf, kZAddIncr, limits), ZAddOutcome::kNaN);
    EXPECT_EQ(ZSetScore(v, "a"), kInf);
    EXPECT_EQ(ZSetSize(v), 3u);
    ExpectSame({{"c", -5}, {"d", 2}, {"a", kInf}}, All(v), "final order");
    EXPECT_EQ(ZSetEncoding(v), skiplist ? "skiplist" : "listpack");
  }
}

TEST(ZSetAdd, NegativeZeroEqualsZero) {
  // As in Redis 7.0: a listpack stores -0 as the integer 0, a skiplist
  // keeps the double as given.
  for (size_t entries : {128u, 0u}) {
    ZSetLimits limits{.max_listpack_entries = entries};
    Value v = NewZSet("a", limits);
    double reply = 1;
    EXPECT_EQ(ZSetAdd(v, "a", -0.0, 0, limits, &reply), ZAddOutcome::kAdded);
    EXPECT_TRUE(std::signbit(reply));
    EXPECT_EQ(ZSetAdd(v, "a", 0.0, 0, limits), ZAddOutcome::kUnchanged);
    EXPECT_EQ(std::signbit(*ZSetScore(v, "a")), entries == 0);
  }
}

TEST(ZSetEncoding, ConvertsWhenOutgrowingLimits) {
  ZSetLimits limits{.max_listpack_entries = 4, .max_listpack_value = 8};
  Value v = NewZSet("m0", limits);
  for (int i = 0; i < 4; ++i) ZSetAdd(v, "m" + std::to_string(i), i, 0, limits);
  EXPECT_TRUE(v.is_listpack());
  ZSetAdd(v, "m4", 4, 0, limits);
  EXPECT_FALSE(v.is_listpack());
  EXPECT_EQ(ZSetEncoding(v), "skiplist");
  EXPECT_EQ(ZSetSize(v), 5u);
  EXPECT_EQ(ZSetScore(v, "m3"), 3);

  Value w = NewZSet("a", limits);
  ZSetAdd(w, "a", 1, 0, limits);
  ZSetAdd(w, "123456789", 2, 0, limits);  // 9 bytes > 8
  EXPECT_EQ(ZSetEncoding(w), "skiplist");
  ExpectSame({{"a", 1}, {"123456789", 2}}, All(w), "after conversion");

  // A first member that is too long starts a skiplist, as Redis's ZADD does.
  Value x = NewZSet("123456789", limits);
  EXPECT_EQ(ZSetEncoding(x), "skiplist");
  ZSetLimits none{.max_listpack_entries = 0, .max_listpack_value = 64};
  Value y = NewZSet("a", none);
  EXPECT_EQ(ZSetEncoding(y), "skiplist");
}

TEST(ZSetEncoding, ShrinkToFitKeepsContentAndDropsSlack) {
  ZSetLimits limits;
  Value v = NewZSet("member:0", limits);
  for (int i = 0; i < 10; ++i) ZSetAdd(v, "member:" + std::to_string(i), i * 1000, 0, limits);
  std::vector<ScoredMember> before = All(v);
  size_t used = v.listpack().bytes();
  size_t held = v.ExternalMemory();
  ZSetShrinkToFit(v);
  ExpectSame(before, All(v), "after shrink");
  EXPECT_LE(v.ExternalMemory(), held);
  EXPECT_LT(v.ExternalMemory(), used + 32);
  // Still usable afterwards.
  EXPECT_EQ(ZSetAdd(v, "late", 0.5, 0, limits), ZAddOutcome::kAdded);
  EXPECT_EQ(ZSetRank(v, "late", false), 1u);
}

TEST(ZSetEncoding, AssignPicksEncodingBySize) {
  ZSetLimits limits{.max_listpack_entries = 3, .max_listpack_value = 4};
  Value v;
  ZSetAssign(v, {{"c", 3}, {"a", 1}, {"b", 1}}, limits);
  EXPECT_EQ(ZSetEncoding(v), "listpack");
  ExpectSame({{"a", 1}, {"b", 1}, {"c", 3}}, All(v), "listpack assign");
  ZSetAssign(v, {{"c", 3}, {"a", 1}, {"b", 1}, {"d", 0}}, limits);
  EXPECT_EQ(ZSetEncoding(v), "skiplist");
  ExpectSame({{"d", 0}, {"a", 1}, {"b", 1}, {"c", 3}}, All(v), "skiplist assign");
  ZSetAssign(v, {{"long!", 1}}, limits);
  EXPECT_EQ(ZSetEncoding(v), "skiplist");
}

// Checks every read operation of `v` against the model.
void CheckAgainstModel(const Value& v, const Model& model, std::mt19937_64& rng) {
  std::vector<ScoredMember> sorted = model.Sorted();
  ASSERT_EQ(ZSetSize(v), sorted.size());
  ExpectSame(sorted, All(v), "full range");
  uint64_t n = sorted.size();
  for (uint64_t i = 0; i < n; ++i) {
    ASSERT_EQ(ZSetRank(v, sorted[i].member, false), i) << sorted[i].member;
    ASSERT_EQ(ZSetRank(v, sorted[i].member, true), n - 1 - i);
    ASSERT_EQ(ZSetScore(v, sorted[i].member), sorted[i].score);
  }
  EXPECT_FALSE(ZSetRank(v, "absent", false).has_value());
  EXPECT_FALSE(ZSetScore(v, "absent").has_value());
  if (n == 0) return;
  std::vector<ScoredMember> reversed(sorted.rbegin(), sorted.rend());
  std::vector<ZSetItem> all_desc;
  ZSetAllDescending(v, &all_desc);
  ExpectSame(reversed, Own(all_desc), "all descending");
  for (int round = 0; round < 5; ++round) {
    uint64_t a = rng() % n, b = rng() % n;
    if (a > b) std::swap(a, b);
    std::vector<ZSetItem> got;
    ZSetRangeByRank(v, a, b, false, &got);
    ExpectSame(std::vector<ScoredMember>(sorted.begin() + a, sorted.begin() + b + 1), Own(got),
               "rank range");
    got.clear();
    ZSetRangeByRank(v, a, b, true, &got);
    ExpectSame(std::vector<ScoredMember>(reversed.begin() + a, reversed.begin() + b + 1), Own(got),
               "reverse rank range");

    // Score ranges with bounds at existing scores and in between.
    ScoreRange range{static_cast<double>(static_cast<int>(rng() % 40) - 20) / 2,
                     static_cast<double>(static_cast<int>(rng() % 40) - 20) / 2, rng() % 2 == 0,
                     rng() % 2 == 0};
    if (rng() % 8 == 0) range.min = -kInf;
    if (rng() % 8 == 0) range.max = kInf;
    int64_t offset = static_cast<int64_t>(rng() % 4);
    int64_t limit = static_cast<int64_t>(rng() % 6) - 1;
    std::vector<ScoredMember> expected, expected_rev;
    for (const ScoredMember& m : sorted) {
      if (range.Contains(m.score)) expected.push_back(m);
    }
    expected_rev.assign(expected.rbegin(), expected.rend());
    EXPECT_EQ(ZSetCountInScoreRange(v, range), expected.size());
    auto window = [&](const std::vector<ScoredMember>& all) {
      std::vector<ScoredMember> out;
      for (size_t i = offset; i < all.size() && (limit < 0 || out.size() < size_t(limit)); ++i) {
        out.push_back(all[i]);
      }
      return out;
    };
    got.clear();
    ZSetRangeByScore(v, range, false, offset, limit, &got);
    ExpectSame(window(expected), Own(got), "score range");
    got.clear();
    ZSetRangeByScore(v, range, true, offset, limit, &got);
    ExpectSame(window(expected_rev), Own(got), "reverse score range");
    got.clear();
    ZSetRangeByScore(v, range, false, -1, -1, &got);
    EXPECT_TRUE(got.empty()) << "negative offset";
  }
}

void RandomOpsAgainstModel(const ZSetLimits& limits, uint64_t seed, int ops, int key_space) {
  std::mt19937_64 rng(seed);
  Model model;
  Value v = NewZSet("m0", limits);
  for (int op = 0; op < ops; ++op) {
    std::string member = "m" + std::to_string(rng() % key_space);
    if (rng() % 10 == 0) member += std::string(rng() % 80, 'x');
    double score = static_cast<double>(static_cast<int>(rng() % 21) - 10) / 2;
    switch (rng() % 10) {
      case 0:
      case 1:
      case 2:
      case 3: {
        uint32_t flags = 0;
        int kind = rng() % 6;
        if (kind == 1) flags = kZAddNx;
        if (kind == 2) flags = kZAddXx;
        if (kind == 3) flags = kZAddGt;
        if (kind == 4) flags = kZAddLt;
        if (kind == 5) flags = kZAddIncr;
        auto it = model.scores.find(member);
        bool exists = it != model.scores.end();
        ZAddOutcome outcome = ZSetAdd(v, member, score, flags, limits);
        if (!exists) {
          if (flags == kZAddXx) {
            EXPECT_EQ(outcome, ZAddOutcome::kSkipped);
          } else {
            EXPECT_EQ(outcome, ZAddOutcome::kAdded);
            model.scores[member] = score;
          }
        } else {
          double target = flags == kZAddIncr ? it->second + score : score;
          bool skip = flags == kZAddNx || (flags == kZAddGt && target <= it->second) ||
                      (flags == kZAddLt && target >= it->second);
          if (skip) {
            EXPECT_EQ(outcome, ZAddOutcome::kSkipped);
          } else {
            EXPECT_EQ(outcome,
                      target == it->second ? ZAddOutcome::kUnchanged : ZAddOutcome::kUpdated);
            it->second = target;
          }
        }
        break;
      }
      case 4:
      case 5:
        EXPECT_EQ(ZSetRemove(v, member), model.scores.erase(member) == 1);
        break;
      case 6: {
        size_t count = rng() % 3;
        bool from_max = rng() % 2;
        std::vector<ScoredMember> sorted = model.Sorted();
        std::vector<ScoredMember> popped;
        ZSetPop(v, from_max, count, &popped);
        std::vector<ScoredMember> expected;
        for (size_t i = 0; i < std::min(count, sorted.size()); ++i) {
          expected.push_back(from_max ? sorted[sorted.size() - 1 - i] : sorted[i]);
        }
        ExpectSame(expected, popped, "pop");
        for (const ScoredMember& m : popped) model.scores.erase(m.member);
        break;
      }
      case 7: {
        std::vector<ScoredMember> sorted = model.Sorted();
        if (sorted.empty()) break;
        uint64_t a = rng() % sorted.size(), b = rng() % sorted.size();
        if (a > b) std::swap(a, b);
        EXPECT_EQ(ZSetRemoveRangeByRank(v, a, b), b - a + 1);
        for (uint64_t i = a; i <= b; ++i) model.scores.erase(sorted[i].member);
        break;
      }
      case 8: {
        if (model.scores.empty()) break;
        ScoreRange range{score, score + static_cast<double>(rng() % 3), rng() % 2 == 0,
                         rng() % 2 == 0};
        uint64_t expected = 0;
        for (auto it = model.scores.begin(); it != model.scores.end();) {
          if (range.Contains(it->second)) {
            it = model.scores.erase(it);
            ++expected;
          } else {
            ++it;
          }
        }
        EXPECT_EQ(ZSetRemoveRangeByScore(v, range), expected);
        break;
      }
      default:
        CheckAgainstModel(v, model, rng);
        break;
    }
    if (::testing::Test::HasFailure()) return;
  }
  CheckAgainstModel(v, model, rng);
}

TEST(ZSetModel, ListpackStaysSmall) {
  // Limits wide enough that the set stays a listpack.
  RandomOpsAgainstModel({.max_listpack_entries = 1000, .max_listpack_value = 1000}, 1, 3000, 30);
}

TEST(ZSetModel, SkiplistFromTheStart) {
  RandomOpsAgainstModel({.max_listpack_entries = 0, .max_listpack_value = 64}, 2, 6000, 200);
}

TEST(ZSetModel, ConvertsOnTheWay) {
  for (uint64_t seed = 3; seed < 8; ++seed) {
    RandomOpsAgainstModel({.max_listpack_entries = 16, .max_listpack_value = 64}, seed, 3000, 60);
  }
}

TEST(ZSetModel, LargeSkiplistRanks) {
  ZSetLimits limits{.max_listpack_entries = 0};
  Value v = NewZSet("x", limits);
  Model model;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string member = "k" + std::to_string(rng() % 50000);
    double score = static_cast<double>(rng() % 1000);
    ZSetAdd(v, member, score, 0, limits);
    model.scores[member] = score;
  }
  for (int i = 0; i < 5000; ++i) {
    std::string member = "k" + std::to_string(rng() % 50000);
    ZSetRemove(v, member);
    model.scores.erase(member);
  }
  CheckAgainstModel(v, model, rng);
}

std::vector<std::string> Members(const std::vector<ZSetItem>& items) {
  std::vector<std::string> out;
  for (const ZSetItem& item : items) out.emplace_back(item.member);
  return out;
}

TEST(ZSetLex, RangesCountsAndRemoval) {
  for (size_t entries : {128u, 0u}) {
    ZSetLimits limits{.max_listpack_entries = entries};
    Value v = NewZSet("a", limits);
    for (std::string m : {"a", "b", "c", "d", "e", "f", "g"}) ZSetAdd(v, m, 0, 0, limits);
    LexRange r;
    ASSERT_TRUE(ParseLexRange("[b", "(f", &r));
    EXPECT_EQ(ZSetCountInLexRange(v, r), 4u);
    std::vector<ZSetItem> got;
    ZSetRangeByLex(v, r, false, 0, -1, &got);
    EXPECT_EQ(Members(got), (std::vector<std::string>{"b", "c", "d", "e"}));
    got.clear();
    ZSetRangeByLex(v, r, true, 1, 2, &got);
    EXPECT_EQ(Members(got), (std::vector<std::string>{"d", "c"}));
    ASSERT_TRUE(ParseLexRange("-", "+", &r));
    EXPECT_EQ(ZSetCountInLexRange(v, r), 7u);
    ASSERT_TRUE(ParseLexRange("(g", "+", &r));
    EXPECT_EQ(ZSetCountInLexRange(v, r), 0u);
    ASSERT_TRUE(ParseLexRange("(a", "[c", &r));
    EXPECT_EQ(ZSetRemoveRangeByLex(v, r), 2u);
    ASSERT_TRUE(ParseLexRange("-", "+", &r));
    got.clear();
    ZSetRangeByLex(v, r, false, 0, -1, &got);
    EXPECT_EQ(Members(got), (std::vector<std::string>{"a", "d", "e", "f", "g"}));
  }
}

TEST(ZSetLex, RandomRangesAgainstModel) {
  // All scores equal, so member order is the set's order (the case where
  // Redis defines lex ranges).
  std::mt19937_64 rng(21);
  auto random_bound = [&](LexBound* bound) {
    switch (rng() % 6) {
      case 0:
        bound->kind = LexBound::Kind::kMinusInfinity;
        break;
      case 1:
        bound->kind = LexBound::Kind::kPlusInfinity;
        break;
      default:
        bound->kind = rng() % 2 ? LexBound::Kind::kInclusive : LexBound::Kind::kExclusive;
        bound->value = std::string(1, static_cast<char>('a' + rng() % 8));
        if (rng() % 2) bound->value += static_cast<char>('a' + rng() % 8);
    }
  };
  for (size_t entries : {128u, 0u}) {
    ZSetLimits limits{.max_listpack_entries = entries};
    for (int round = 0; round < 200; ++round) {
      Value v = NewZSet("a", limits);
      std::set<std::string> model;
      for (int i = 0, n = 1 + rng() % 40; i < n; ++i) {
        std::string m(1, static_cast<char>('a' + rng() % 8));
        if (rng() % 2) m += static_cast<char>('a' + rng() % 8);
        ZSetAdd(v, m, 0, 0, limits);
        model.insert(m);
      }
      LexRange range;
      random_bound(&range.min);
      random_bound(&range.max);
      std::vector<std::string> expected;
      for (const std::string& m : model) {
        if (range.Contains(m)) expected.push_back(m);
      }
      if (range.Empty()) {
        EXPECT_TRUE(expected.empty());
      }
      EXPECT_EQ(ZSetCountInLexRange(v, range), expected.size());
      int64_t offset = rng() % 3, limit = static_cast<int64_t>(rng() % 5) - 1;
      std::vector<std::string> window, reverse_window;
      for (size_t i = offset; i < expected.size() && (limit < 0 || window.size() < size_t(limit));
           ++i) {
        window.push_back(expected[i]);
      }
      std::vector<std::string> reversed(expected.rbegin(), expected.rend());
      for (size_t i = offset;
           i < reversed.size() && (limit < 0 || reverse_window.size() < size_t(limit)); ++i) {
        reverse_window.push_back(reversed[i]);
      }
      std::vector<ZSetItem> got;
      ZSetRangeByLex(v, range, false, offset, limit, &got);
      EXPECT_EQ(Members(got), window);
      got.clear();
      ZSetRangeByLex(v, range, true, offset, limit, &got);
      EXPECT_EQ(Members(got), reverse_window);
      EXPECT_EQ(ZSetRemoveRangeByLex(v, range), expected.size());
      EXPECT_EQ(ZSetSize(v), model.size() - expected.size());
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(ZSetScan, ListpackInOneCallSkiplistByCursor) {
  ZSetLimits limits;
  Value v = NewZSet("a", limits);
  for (int i = 0; i < 10; ++i) ZSetAdd(v, "m" + std::to_string(i), i, 0, limits);
  std::map<std::string, double> seen;
  EXPECT_EQ(ZSetScan(v, 0, [&](std::string_view m, double s) { seen[std::string(m)] = s; }), 0u);
  EXPECT_EQ(seen.size(), 10u);
  for (int i = 10; i < 1000; ++i) ZSetAdd(v, "m" + std::to_string(i), i, 0, limits);
  ASSERT_EQ(ZSetEncoding(v), "skiplist");
  seen.clear();
  uint64_t cursor = 0;
  int calls = 0;
  do {
    cursor = ZSetScan(v, cursor, [&](std::string_view m, double s) { seen[std::string(m)] = s; });
    ++calls;
  } while (cursor != 0 && calls < 100000);
  EXPECT_GT(calls, 1);
  ASSERT_EQ(seen.size(), 1000u);
  EXPECT_EQ(seen["m777"], 777);
}

TEST(ZSetRandom, DistinctAndRepeated) {
  for (size_t entries : {128u, 0u}) {
    ZSetLimits limits{.max_listpack_entries = entries};
    Value v = NewZSet("a", limits);
    for (int i = 0; i < 100; ++i) ZSetAdd(v, "m" + std::to_string(i), i, 0, limits);
    std::mt19937_64 rng(5);
    for (uint64_t count : {1u, 5u, 40u, 99u}) {
      std::vector<ZSetItem> got;
      ZSetRandomMembers(v, count, true, rng, &got);
      ASSERT_EQ(got.size(), count);
      std::set<std::string> distinct;
      for (const ZSetItem& item : got) {
        distinct.emplace(item.member);
        EXPECT_EQ(ZSetScore(v, item.member), item.score);
      }
      EXPECT_EQ(distinct.size(), count);
    }
    std::vector<ZSetItem> all;
    ZSetRandomMembers(v, 1000, true, rng, &all);
    ASSERT_EQ(all.size(), 100u);
    EXPECT_EQ(all.front().member, "m99");  // whole set: highest score first
    EXPECT_EQ(all.back().member, "m0");
    std::vector<ZSetItem> repeated;
    ZSetRandomMembers(v, 500, false, rng, &repeated);
    EXPECT_EQ(repeated.size(), 500u);
    std::set<std::string> distinct;
    for (const ZSetItem& item : repeated) distinct.emplace(item.member);
    EXPECT_GT(distinct.size(), 50u);  // uniform over 100 members
  }
}

TEST(ZSetClone, DeepCopiesBothEncodings) {
  for (size_t entries : {128u, 0u}) {
    ZSetLimits limits{.max_listpack_entries = entries};
    Value v = NewZSet("a", limits);
    for (int i = 0; i < 50; ++i) ZSetAdd(v, "m" + std::to_string(i), i % 7, 0, limits);
    Value copy = v.Clone();
    ExpectSame(All(v), All(copy), "clone");
    ZSetRemove(v, "m3");
    EXPECT_EQ(ZSetSize(copy), 50u);
    EXPECT_EQ(ZSetScore(copy, "m3"), 3);
    EXPECT_GT(v.ExternalMemory(), 0u);
  }
}

TEST(ZSetPop, DrainsInOrderAndEmpties) {
  for (size_t entries : {128u, 0u}) {
    ZSetLimits limits{.max_listpack_entries = entries};
    Value v = NewZSet("a", limits);
    for (int i = 0; i < 6; ++i) ZSetAdd(v, "m" + std::to_string(i), i, 0, limits);
    std::vector<ScoredMember> popped;
    ZSetPop(v, false, 2, &popped);
    ZSetPop(v, true, 1, &popped);
    ExpectSame({{"m0", 0}, {"m1", 1}, {"m5", 5}}, popped, "pops");
    popped.clear();
    ZSetPop(v, true, 100, &popped);
    ExpectSame({{"m4", 4}, {"m3", 3}, {"m2", 2}}, popped, "drain");
    EXPECT_EQ(ZSetSize(v), 0u);
  }
}

}  // namespace
}  // namespace understudy::storage

#include "storage/list_value.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace understudy::storage {
namespace {

using list::Iterator;

constexpr int64_t kDefaultFill = -2;  // 8 KiB per node

// Node byte budget of a negative list-max-listpack-size, or the safety
// limit of a positive one.
size_t ByteBudget(int64_t fill) {
  if (fill >= 0) return 8192;
  return size_t{4096} << (std::min<int64_t>(-fill, 5) - 1);
}

// Checks the structure: node budgets respected (a lone element may exceed
// them), no empty nodes, length equal to the nodes' sum.
void ExpectWellFormed(const Value& value, int64_t fill) {
  ASSERT_EQ(value.type(), ValueType::kList);
  if (value.is_listpack()) {
    const Listpack& lp = value.listpack();
    if (lp.size() > 1) EXPECT_LE(lp.bytes(), ByteBudget(fill));
    if (fill > 0 && lp.size() > 1) EXPECT_LE(lp.size(), static_cast<uint32_t>(fill));
    return;
  }
  const auto& quicklist = *value.As<Quicklist>();
  size_t total = 0;
  ASSERT_GE(quicklist.node_count(), 1u);
  for (size_t i = 0; i < quicklist.node_count(); ++i) {
    const Listpack& node = quicklist.node(i);
    EXPECT_FALSE(node.empty()) << "node " << i;
    if (node.size() > 1) {
      EXPECT_LE(node.bytes(), ByteBudget(fill)) << "node " << i;
      if (fill > 0) EXPECT_LE(node.size(), static_cast<uint32_t>(fill)) << "node " << i;
    }
    total += node.size();
  }
  EXPECT_EQ(total, quicklist.length());
}

// Reads the list in both directions and by index and compares with the model.
void ExpectSameAs(const Value& value, const std::deque<std::string>& model) {
  ASSERT_EQ(list::Length(value), model.size());
  if (model.empty()) return;
  size_t i = 0;
  for (Iterator it(value, 0, ListEnd::kTail); it.Valid(); it.Next(), ++i) {
    ASSERT_LT(i, model.size());
    ASSERT_EQ(it.Get(), model[i]) << "forward at " << i;
  }
  EXPECT_EQ(i, model.size());
  i = model.size();
  for (Iterator it(value, model.size() - 1, ListEnd::kHead); it.Valid(); it.Next()) {
    ASSERT_GT(i, 0u);
    --i;
    ASSERT_EQ(it.Get(), model[i]) << "backward at " << i;
  }
  EXPECT_EQ(i, 0u);
  EXPECT_EQ(list::Peek(value, ListEnd::kHead), model.front());
  EXPECT_EQ(list::Peek(value, ListEnd::kTail), model.back());
}

std::string RandomElement(std::mt19937& rng) {
  // Mostly short; sometimes long, sometimes larger than a whole node.
  static const size_t kLengths[] = {0, 1, 2, 3, 5, 10, 40, 130, 700, 3000, 9000};
  size_t length = kLengths[rng() % std::size(kLengths)];
  std::string s(length, 'x');
  // Few distinct short values, so LREM/LINSERT/LPOS find matches.
  if (length <= 3) {
    for (char& c : s) c = static_cast<char>('a' + rng() % 3);
  } else {
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  }
  return s;
}

Value MakeList(const std::vector<std::string>& elements, int64_t fill = kDefaultFill) {
  Value value;
  list::Init(value);
  for (const std::string& e : elements) list::Push(value, ListEnd::kTail, e, fill);
  return value;
}

std::vector<std::string> Numbered(size_t count, size_t width = 1) {
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s = std::to_string(i);
    if (s.size() < width) s.insert(0, width - s.size(), '0');
    out.push_back(s);
  }
  return out;
}

TEST(ListValueTest, NewListIsEmbeddedAndEmpty) {
  Value value;
  list::Init(value);
  EXPECT_EQ(value.type(), ValueType::kList);
  EXPECT_TRUE(value.is_listpack());
  EXPECT_EQ(list::Length(value), 0u);
  std::string_view element;
  EXPECT_FALSE(list::Index(value, 0, &element));
  EXPECT_FALSE(list::Index(value, -1, &element));
  EXPECT_FALSE(Iterator(value, 0, ListEnd::kTail).Valid());
}

TEST(ListValueTest, PushPopBothEnds) {
  Value value;
  list::Init(value);
  list::Push(value, ListEnd::kHead, "b", kDefaultFill);
  list::Push(value, ListEnd::kHead, "a", kDefaultFill);
  list::Push(value, ListEnd::kTail, "c", kDefaultFill);
  ExpectSameAs(value, {"a", "b", "c"});
  EXPECT_EQ(list::Pop(value, ListEnd::kTail, kDefaultFill), "c");
  EXPECT_EQ(list::Pop(value, ListEnd::kHead, kDefaultFill), "a");
  EXPECT_EQ(list::Pop(value, ListEnd::kHead, kDefaultFill), "b");
  EXPECT_EQ(list::Length(value), 0u);
}

TEST(ListValueTest, EmptiedQuicklistTakesPushesAgain) {
  // One element per node: popping to empty leaves a one-node quicklist
  // first, then an empty list that must still accept a push (LMOVE from a
  // one-element list to itself pops before it pushes).
  Value value = MakeList({"a", "b"}, 1);
  ASSERT_FALSE(value.is_listpack());
  EXPECT_EQ(list::Pop(value, ListEnd::kTail, 1), "b");
  EXPECT_EQ(list::Pop(value, ListEnd::kTail, 1), "a");
  EXPECT_EQ(list::Length(value), 0u);
  list::Push(value, ListEnd::kHead, "c", 1);
  ExpectSameAs(value, {"c"});
  Value trimmed = MakeList(Numbered(10), 1);
  list::Trim(trimmed, 0, 0, 1);
  EXPECT_EQ(list::Length(trimmed), 0u);
  list::Push(trimmed, ListEnd::kTail, "x", 1);
  ExpectSameAs(trimmed, {"x"});
}

TEST(ListValueTest, ManySingleElementNodesStayLinear) {
  // With one element per node, popping, trimming and removing must not
  // rescan or shift all nodes for each element (that would be quadratic
  // and take minutes here).
  constexpr size_t kCount = 200000;
  Value value = MakeList(Numbered(kCount), 1);
  ASSERT_EQ(value.As<Quicklist>()->node_count(), kCount);
  for (size_t i = 0; i < kCount / 4; ++i) list::Drop(value, ListEnd::kHead, 1);
  for (size_t i = 0; i < kCount / 4; ++i) list::Drop(value, ListEnd::kTail, 1);
  EXPECT_EQ(list::Length(value), kCount / 2);
  list::Trim(value, 1000, kCount / 2 - 2000, 1);
  EXPECT_EQ(list::Length(value), kCount / 2 - 2000);
  EXPECT_EQ(list::Remove(value, 0, Numbered(kCount / 2).back(), 1), 1u);
  std::string_view first;
  ASSERT_TRUE(list::Index(value, 0, &first));
  EXPECT_EQ(first, std::to_string(kCount / 4 + 1000));
}

TEST(ListValueTest, EmptyAndBinaryElements) {
  std::string binary("a\0b\r\n", 5);
  Value value = MakeList({"", binary, ""});
  ExpectSameAs(value, {"", binary, ""});
  std::string_view element;
  ASSERT_TRUE(list::Index(value, 1, &element));
  EXPECT_EQ(element, binary);
}

TEST(ListValueTest, GrowsIntoNodesWithinTheByteBudget) {
  // 100-byte elements: about 80 fit in an 8 KiB node.
  std::vector<std::string> elements;
  for (int i = 0; i < 1000; ++i)
    elements.push_back(std::string(100, static_cast<char>('a' + i % 26)));
  Value value = MakeList(elements);
  ASSERT_FALSE(value.is_listpack());
  const auto& quicklist = *value.As<Quicklist>();
  EXPECT_GE(quicklist.node_count(), 1000u * 102 / 8192);
  EXPECT_LE(quicklist.node_count(), 1000u * 102 / 8192 + 2);
  ExpectWellFormed(value, kDefaultFill);
  ExpectSameAs(value, std::deque<std::string>(elements.begin(), elements.end()));
}

TEST(ListValueTest, SmallListStaysEmbedded) {
  Value value = MakeList(Numbered(500));
  EXPECT_TRUE(value.is_listpack());
  EXPECT_EQ(list::Length(value), 500u);
}

TEST(ListValueTest, EachByteBudgetLevel) {
  for (int64_t fill = -1; fill >= -6; --fill) {
    Value value = MakeList(std::vector<std::string>(3000, std::string(50, 'q')), fill);
    ExpectWellFormed(value, fill);
    ASSERT_FALSE(value.is_listpack()) << fill;
    // Nodes are reasonably full: no more than twice the minimum count.
    size_t per_node = ByteBudget(fill) / 52;
    EXPECT_LE(value.As<Quicklist>()->node_count(), 2 * (3000 / per_node + 1)) << fill;
  }
}

TEST(ListValueTest, CountLimitedNodes) {
  Value value = MakeList(Numbered(100), 4);
  ExpectWellFormed(value, 4);
  ASSERT_FALSE(value.is_listpack());
  EXPECT_EQ(value.As<Quicklist>()->node_count(), 25u);
  // A count limit still stops at the byte safety limit.
  Value big = MakeList(std::vector<std::string>(10, std::string(3000, 'z')), 100);
  ExpectWellFormed(big, 100);
  EXPECT_GE(big.As<Quicklist>()->node_count(), 4u);
}

TEST(ListValueTest, ZeroAndOneMeanOneElementPerNode) {
  for (int64_t fill : {0, 1}) {
    Value value = MakeList(Numbered(10), fill);
    ASSERT_FALSE(value.is_listpack());
    EXPECT_EQ(value.As<Quicklist>()->node_count(), 10u);
    ExpectSameAs(value, std::deque<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  }
}

TEST(ListValueTest, ElementLargerThanANodeGetsItsOwnNode) {
  Value value = MakeList({"a", std::string(20000, 'L'), "b"});
  ASSERT_FALSE(value.is_listpack());
  EXPECT_EQ(value.As<Quicklist>()->node_count(), 3u);
  std::string_view element;
  ASSERT_TRUE(list::Index(value, 1, &element));
  EXPECT_EQ(element.size(), 20000u);
}

TEST(ListValueTest, ShrinksBackToEmbeddedButNotAtTheBoundary) {
  Value value = MakeList(std::vector<std::string>(400, std::string(100, 'e')));
  ASSERT_FALSE(value.is_listpack());
  // Down to one full node: stays a quicklist (hysteresis).
  while (list::Length(value) > 70) list::Drop(value, ListEnd::kHead, kDefaultFill);
  EXPECT_FALSE(value.is_listpack());
  // Under half a node: embedded again.
  while (list::Length(value) > 30) list::Drop(value, ListEnd::kTail, kDefaultFill);
  EXPECT_TRUE(value.is_listpack());
  ExpectSameAs(value, std::deque<std::string>(30, std::string(100, 'e')));
}

TEST(ListValueTest, IndexFromBothEnds) {
  Value value = MakeList(Numbered(5000, 4));
  ASSERT_FALSE(value.is_listpack());
  std::string_view element;
  for (int64_t i : {0, 1, 999, 2500, 4998, 4999}) {
    ASSERT_TRUE(list::Index(value, i, &element));
    EXPECT_EQ(std::stoi(std::string(element)), i);
    ASSERT_TRUE(list::Index(value, i - 5000, &element));
    EXPECT_EQ(std::stoi(std::string(element)), i);
  }
  EXPECT_FALSE(list::Index(value, 5000, &element));
  EXPECT_FALSE(list::Index(value, -5001, &element));
  EXPECT_FALSE(list::Index(value, std::numeric_limits<int64_t>::min(), &element));
  EXPECT_FALSE(list::Index(value, std::numeric_limits<int64_t>::max(), &element));
}

TEST(ListValueTest, SetReplacesAndSplitsOversizedNodes) {
  Value value = MakeList(Numbered(10));
  EXPECT_TRUE(list::Set(value, -1, "last", kDefaultFill));
  EXPECT_TRUE(list::Set(value, 0, "first", kDefaultFill));
  EXPECT_FALSE(list::Set(value, 10, "x", kDefaultFill));
  EXPECT_FALSE(list::Set(value, -11, "x", kDefaultFill));
  ExpectSameAs(value, {"first", "1", "2", "3", "4", "5", "6", "7", "8", "last"});
  // Growing elements past a node's budget splits the node.
  std::deque<std::string> model(value.is_listpack() ? 10 : 0);
  for (int i = 0; i < 10; ++i) {
    std::string big(3000, static_cast<char>('A' + i));
    ASSERT_TRUE(list::Set(value, i, big, kDefaultFill));
    model[i] = big;
    ExpectWellFormed(value, kDefaultFill);
  }
  EXPECT_FALSE(value.is_listpack());
  ExpectSameAs(value, model);
}

TEST(ListValueTest, InsertBeforeAndAfterFirstPivot) {
  Value value = MakeList({"a", "p", "b", "p"});
  EXPECT_TRUE(list::InsertAt(value, "p", /*after=*/false, "x", kDefaultFill));
  EXPECT_TRUE(list::InsertAt(value, "p", /*after=*/true, "y", kDefaultFill));
  EXPECT_FALSE(list::InsertAt(value, "missing", true, "z", kDefaultFill));
  ExpectSameAs(value, {"a", "x", "p", "y", "b", "p"});
  EXPECT_TRUE(list::InsertAt(value, "a", false, "head", kDefaultFill));
  EXPECT_TRUE(list::InsertAt(value, "b", true, "after-b", kDefaultFill));
  ExpectSameAs(value, {"head", "a", "x", "p", "y", "b", "after-b", "p"});
}

TEST(ListValueTest, InsertIntoFullNodesSplitsThem) {
  std::vector<std::string> start(300, std::string(60, 'n'));
  start[150] = "pivot";
  Value value = MakeList(start);
  std::deque<std::string> model(start.begin(), start.end());
  for (int i = 0; i < 200; ++i) {
    std::string element(60, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(list::InsertAt(value, "pivot", i % 2 == 0, element, kDefaultFill));
    auto it = std::find(model.begin(), model.end(), "pivot");
    model.insert(i % 2 == 0 ? it + 1 : it, element);
  }
  ExpectWellFormed(value, kDefaultFill);
  ExpectSameAs(value, model);
}

TEST(ListValueTest, RemoveFromHeadTailOrAll) {
  Value value = MakeList({"a", "b", "a", "c", "a", "a"});
  EXPECT_EQ(list::Remove(value, 2, "a", kDefaultFill), 2u);
  ExpectSameAs(value, {"b", "c", "a", "a"});
  EXPECT_EQ(list::Remove(value, -1, "a", kDefaultFill), 1u);
  ExpectSameAs(value, {"b", "c", "a"});
  EXPECT_EQ(list::Remove(value, 0, "zz", kDefaultFill), 0u);
  EXPECT_EQ(list::Remove(value, std::numeric_limits<int64_t>::min(), "b", kDefaultFill), 1u);
  ExpectSameAs(value, {"c", "a"});
  EXPECT_EQ(list::Remove(value, 0, "c", kDefaultFill), 1u);
  EXPECT_EQ(list::Remove(value, 0, "a", kDefaultFill), 1u);
  EXPECT_EQ(list::Length(value), 0u);
}

TEST(ListValueTest, RemoveAcrossManyNodes) {
  std::vector<std::string> elements;
  for (int i = 0; i < 3000; ++i) elements.push_back(i % 3 == 0 ? "hit" : std::string(40, 'm'));
  Value value = MakeList(elements);
  ASSERT_FALSE(value.is_listpack());
  EXPECT_EQ(list::Remove(value, -10, "hit", kDefaultFill), 10u);
  EXPECT_EQ(list::Remove(value, 0, "hit", kDefaultFill), 990u);
  EXPECT_EQ(list::Length(value), 2000u);
  ExpectWellFormed(value, kDefaultFill);
  EXPECT_EQ(list::Remove(value, 0, std::string(40, 'm'), kDefaultFill), 2000u);
  EXPECT_EQ(list::Length(value), 0u);
}

TEST(ListValueTest, TrimKeepsTheRange) {
  Value value = MakeList(Numbered(5000, 4));
  list::Trim(value, 1000, 2000, kDefaultFill);
  ExpectWellFormed(value, kDefaultFill);
  std::vector<std::string> all = Numbered(5000, 4);
  std::deque<std::string> model(all.begin() + 1000, all.begin() + 3000);
  ExpectSameAs(value, model);
  list::Trim(value, 5, 3, kDefaultFill);
  ExpectSameAs(value, {"1005", "1006", "1007"});
  EXPECT_TRUE(value.is_listpack());
  list::Trim(value, 0, 0, kDefaultFill);
  EXPECT_EQ(list::Length(value), 0u);
}

TEST(ListValueTest, PositionsWithRankCountMaxlen) {
  Value value = MakeList({"a", "b", "c", "1", "2", "3", "c", "c"});
  using V = std::vector<size_t>;
  EXPECT_EQ(list::Positions(value, "c", 1, 1, 0), V{2});
  EXPECT_EQ(list::Positions(value, "c", 1, 0, 0), (V{2, 6, 7}));
  EXPECT_EQ(list::Positions(value, "c", 2, 0, 0), (V{6, 7}));
  EXPECT_EQ(list::Positions(value, "c", -1, 0, 0), (V{7, 6, 2}));
  EXPECT_EQ(list::Positions(value, "c", -2, 1, 0), V{6});
  EXPECT_EQ(list::Positions(value, "c", 1, 2, 0), (V{2, 6}));
  EXPECT_EQ(list::Positions(value, "c", 1, 0, 3), V{2});
  EXPECT_EQ(list::Positions(value, "c", 1, 0, 2), V{});
  EXPECT_EQ(list::Positions(value, "c", -1, 0, 2), (V{7, 6}));
  EXPECT_EQ(list::Positions(value, "c", 4, 0, 0), V{});
  EXPECT_EQ(list::Positions(value, "x", 1, 0, 0), V{});
  EXPECT_EQ(list::Positions(value, "c", std::numeric_limits<int64_t>::min(), 0, 0), V{});
  EXPECT_EQ(list::Positions(value, "c", std::numeric_limits<int64_t>::max(), 0, 0), V{});
}

TEST(ListValueTest, IteratorFromTheMiddleAcrossNodes) {
  Value value = MakeList(Numbered(3000, 5), 7);
  ASSERT_FALSE(value.is_listpack());
  size_t expected = 1234;
  for (Iterator it(value, 1234, ListEnd::kTail); it.Valid() && expected < 1300; it.Next()) {
    EXPECT_EQ(std::stoul(std::string(it.Get())), expected++);
  }
  expected = 1234;
  size_t seen = 0;
  for (Iterator it(value, 1234, ListEnd::kHead); it.Valid(); it.Next(), ++seen) {
    EXPECT_EQ(std::stoul(std::string(it.Get())), expected--);
  }
  EXPECT_EQ(seen, 1235u);
  EXPECT_FALSE(Iterator(value, 3000, ListEnd::kTail).Valid());
}

TEST(ListValueTest, CloneIsDeepAndMemoryIsCounted) {
  Value value = MakeList(std::vector<std::string>(500, std::string(100, 'c')));
  ASSERT_FALSE(value.is_listpack());
  Value copy = value.Clone();
  list::Push(value, ListEnd::kTail, "only-in-original", kDefaultFill);
  EXPECT_EQ(list::Length(copy), 500u);
  EXPECT_EQ(list::Length(value), 501u);
  EXPECT_EQ(value.collection()->Encoding(), "quicklist");
  EXPECT_GE(copy.ExternalMemory(), 500u * 102);
  EXPECT_LE(copy.ExternalMemory(), 500u * 102 * 3 / 2 + 1024);
}

TEST(ListValueTest, NodeAcceptsFollowsTheSetting) {
  EXPECT_TRUE(list::NodeAccepts(0, 0, 100000, -2));
  EXPECT_TRUE(list::NodeAccepts(8000, 10, 10, -2));
  EXPECT_FALSE(list::NodeAccepts(8180, 10, 20, -2));
  EXPECT_TRUE(list::NodeAccepts(8180, 10, 20, -3));
  EXPECT_FALSE(list::NodeAccepts(4090, 10, 20, -1));
  EXPECT_TRUE(list::NodeAccepts(60000, 10, 20, -5));
  EXPECT_TRUE(list::NodeAccepts(60000, 10, 20, -100));  // clamped to -5
  EXPECT_TRUE(list::NodeAccepts(10, 3, 1, 4));
  EXPECT_FALSE(list::NodeAccepts(10, 4, 1, 4));
  EXPECT_FALSE(list::NodeAccepts(8190, 3, 10, 1000));  // safety limit
  EXPECT_FALSE(list::NodeAccepts(10, 1, 1, 0));
}

// Random operations against a std::deque, with several node settings and
// element sizes, checking contents and structure as it goes.
class ListValueRandomTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(ListValueRandomTest, MatchesDequeModel) {
  const int64_t fill = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(1234 + fill));
  Value value;
  list::Init(value);
  std::deque<std::string> model;
  size_t max_nodes = 0;
  size_t embedded_again = 0;  // quicklists that shrank back into the Value
  for (int step = 0; step < 6000; ++step) {
    bool was_quicklist = !value.is_listpack();
    int op = static_cast<int>(rng() % 100);
    // Alternate growing and shrinking phases so lists reach many nodes and
    // come back down to one.
    bool growing = (step / 1000) % 2 == 0;
    bool removes = (op >= 45 && op < 58) || (op >= 74 && op < 83) || op >= 90;
    if (growing && removes && rng() % 5 != 0) op = static_cast<int>(rng() % 45);
    if (!growing && op < 45 && rng() % 2 == 0) op = 45 + static_cast<int>(rng() % 13);
    if (model.empty() && op >= 45) op = static_cast<int>(rng() % 45);
    if (op < 25) {
      std::string e = RandomElement(rng);
      list::Push(value, ListEnd::kTail, e, fill);
      model.push_back(e);
    } else if (op < 45) {
      std::string e = RandomElement(rng);
      list::Push(value, ListEnd::kHead, e, fill);
      model.push_front(e);
    } else if (op < 58) {
      bool head = rng() % 2 == 0;
      std::string popped = list::Pop(value, head ? ListEnd::kHead : ListEnd::kTail, fill);
      ASSERT_EQ(popped, head ? model.front() : model.back());
      head ? model.pop_front() : model.pop_back();
    } else if (op < 66) {
      int64_t index = static_cast<int64_t>(rng() % (model.size() + 4)) - 2;
      if (rng() % 2) index -= static_cast<int64_t>(model.size());
      std::string_view got;
      bool in_range = index >= -static_cast<int64_t>(model.size()) &&
                      index < static_cast<int64_t>(model.size());
      ASSERT_EQ(list::Index(value, index, &got), in_range);
      size_t at =
          index < 0 ? static_cast<size_t>(index + model.size()) : static_cast<size_t>(index);
      if (in_range) ASSERT_EQ(got, model[at]);
      std::string e = RandomElement(rng);
      ASSERT_EQ(list::Set(value, index, e, fill), in_range);
      if (in_range) model[at] = e;
    } else if (op < 74) {
      std::string pivot = model[rng() % model.size()];
      if (rng() % 4 == 0) pivot = "absent-pivot";
      std::string e = RandomElement(rng);
      bool after = rng() % 2 == 0;
      auto it = std::find(model.begin(), model.end(), pivot);
      ASSERT_EQ(list::InsertAt(value, pivot, after, e, fill), it != model.end());
      if (it != model.end()) model.insert(after ? it + 1 : it, e);
    } else if (op < 80) {
      std::string target = model[rng() % model.size()];
      int64_t count = static_cast<int64_t>(rng() % 5) - 2;
      size_t expected = 0;
      if (count >= 0) {
        for (auto it = model.begin(); it != model.end();) {
          if (*it == target && (count == 0 || expected < static_cast<size_t>(count))) {
            it = model.erase(it);
            ++expected;
          } else {
            ++it;
          }
        }
      } else {
        for (size_t i = model.size(); i-- > 0;) {
          if (model[i] == target && expected < static_cast<size_t>(-count)) {
            model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
            ++expected;
          }
        }
      }
      ASSERT_EQ(list::Remove(value, count, target, fill), expected);
    } else if (op < 83) {
      size_t start = rng() % (model.size() + 1);
      size_t keep = rng() % (model.size() + 3);
      list::Trim(value, start, keep, fill);
      start = std::min(start, model.size());
      keep = std::min(keep, model.size() - start);
      model = std::deque<std::string>(model.begin() + static_cast<std::ptrdiff_t>(start),
                                      model.begin() + static_cast<std::ptrdiff_t>(start + keep));
    } else if (op < 90) {
      std::string target = model[rng() % model.size()];
      int64_t rank = static_cast<int64_t>(rng() % 3) + 1;
      if (rng() % 2) rank = -rank;
      size_t count = rng() % 3;
      size_t maxlen = rng() % 2 ? 0 : rng() % (model.size() + 1);
      std::vector<size_t> expected;
      int64_t matches = 0;
      for (size_t scanned = 0; scanned < model.size() && (maxlen == 0 || scanned < maxlen);
           ++scanned) {
        size_t i = rank > 0 ? scanned : model.size() - 1 - scanned;
        if (model[i] != target) continue;
        if (++matches < std::abs(rank)) continue;
        expected.push_back(i);
        if (count != 0 && expected.size() >= count) break;
      }
      ASSERT_EQ(list::Positions(value, target, rank, count, maxlen), expected);
    } else {
      // Pop a run from one end, as LPOP with a count does.
      size_t n = rng() % 40;
      ListEnd end = rng() % 2 ? ListEnd::kHead : ListEnd::kTail;
      for (size_t i = 0; i < n && !model.empty(); ++i) {
        ASSERT_EQ(list::Peek(value, end), end == ListEnd::kHead ? model.front() : model.back());
        list::Drop(value, end, fill);
        end == ListEnd::kHead ? model.pop_front() : model.pop_back();
      }
    }
    if (model.empty()) {
      // An emptied list is an empty embedded one and takes pushes again.
      ASSERT_EQ(list::Length(value), 0u);
      ASSERT_TRUE(value.is_listpack());
      continue;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectWellFormed(value, fill)) << "step " << step;
    if (!value.is_listpack()) max_nodes = std::max(max_nodes, value.As<Quicklist>()->node_count());
    if (was_quicklist && value.is_listpack()) ++embedded_again;
    if (step % 50 == 0) ASSERT_NO_FATAL_FAILURE(ExpectSameAs(value, model)) << "step " << step;
  }
  ExpectSameAs(value, model);
  // The run must have exercised many nodes and the way back to one.
  EXPECT_GE(max_nodes, 5u);
  if (fill < 0 || fill > 3) EXPECT_GE(embedded_again, 1u);
}

INSTANTIATE_TEST_SUITE_P(NodeSettings, ListValueRandomTest,
                         ::testing::Values(-2, -1, -5, 1, 2, 5, 128));

}  // namespace
}  // namespace understudy::storage

#include "storage/listpack.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>

namespace understudy::storage {
namespace {

// Reads the whole listpack front to back and back to front, checking both
// walks agree with the model.
void ExpectSameAs(const Listpack& lp, const std::deque<std::string>& model) {
  ASSERT_EQ(lp.size(), model.size());
  size_t i = 0;
  for (uint32_t pos = lp.Begin(); pos != lp.End(); pos = lp.Next(pos), ++i) {
    ASSERT_LT(i, model.size());
    EXPECT_EQ(lp.Get(pos), model[i]);
  }
  EXPECT_EQ(i, model.size());
  if (model.empty()) return;
  i = model.size();
  for (uint32_t pos = lp.Last();; pos = lp.Prev(pos)) {
    --i;
    EXPECT_EQ(lp.Get(pos), model[i]);
    if (pos == lp.Begin()) break;
  }
  EXPECT_EQ(i, 0u);
}

std::string RandomValue(std::mt19937& rng) {
  // Mostly small, sometimes long enough for multi-byte length varints.
  static const size_t kLengths[] = {0, 1, 3, 7, 60, 127, 128, 300, 20000};
  size_t length = kLengths[rng() % (sizeof(kLengths) / sizeof(kLengths[0]))];
  std::string s(length, 'a');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(ListpackTest, EmptyHasNoElementsAndNoBuffer) {
  Listpack lp;
  EXPECT_TRUE(lp.empty());
  EXPECT_EQ(lp.Begin(), lp.End());
  EXPECT_EQ(lp.Seek(0), lp.End());
  EXPECT_EQ(lp.Find("x"), lp.End());
  EXPECT_EQ(lp.MemoryUsage(), 0u);
}

TEST(ListpackTest, PushSeekFindEraseReplace) {
  Listpack lp;
  lp.PushBack("b");
  lp.PushFront("a");
  lp.PushBack("c");
  EXPECT_EQ(lp.Get(lp.Seek(0)), "a");
  EXPECT_EQ(lp.Get(lp.Seek(-1)), "c");
  EXPECT_EQ(lp.Get(lp.Seek(1)), "b");
  EXPECT_EQ(lp.Seek(3), lp.End());
  EXPECT_EQ(lp.Seek(-4), lp.End());
  EXPECT_EQ(lp.Get(lp.Find("b")), "b");
  lp.Replace(lp.Find("b"), std::string(200, 'x'));
  EXPECT_EQ(lp.Get(lp.Seek(1)), std::string(200, 'x'));
  lp.Erase(lp.Seek(0), 2);
  ASSERT_EQ(lp.size(), 1u);
  EXPECT_EQ(lp.Get(lp.Begin()), "c");
}

TEST(ListpackTest, FindWithSkipLooksOnlyAtKeysOfPairs) {
  Listpack lp;
  for (const char* s : {"f1", "v1", "f2", "f1", "f3", "v3"}) lp.PushBack(s);
  // "f1" appears as the value of pair 2; only the key of pair 1 matches.
  EXPECT_EQ(lp.Find("f1", 0, 1), lp.Begin());
  EXPECT_EQ(lp.Find("v1", 0, 1), lp.End());
  EXPECT_EQ(lp.Get(lp.Find("f3", 0, 1)), "f3");
}

TEST(ListpackTest, RandomOperationsMatchADeque) {
  std::mt19937 rng(42);
  Listpack lp;
  std::deque<std::string> model;
  for (int step = 0; step < 3000; ++step) {
    int op = static_cast<int>(rng() % 6);
    if (op <= 1 || model.empty()) {
      std::string v = RandomValue(rng);
      size_t index = model.empty() ? 0 : rng() % (model.size() + 1);
      lp.Insert(index == model.size() ? lp.End() : lp.Seek(static_cast<int64_t>(index)), v);
      model.insert(model.begin() + static_cast<long>(index), v);
    } else if (op == 2) {
      size_t index = rng() % model.size();
      uint32_t count = 1 + rng() % 3;
      lp.Erase(lp.Seek(static_cast<int64_t>(index)), count);
      size_t end = std::min(model.size(), index + count);
      model.erase(model.begin() + static_cast<long>(index), model.begin() + static_cast<long>(end));
    } else if (op == 3) {
      size_t index = rng() % model.size();
      std::string v = RandomValue(rng);
      lp.Replace(lp.Seek(static_cast<int64_t>(index)), v);
      model[index] = v;
    } else if (op == 4) {
      int64_t index = -1 - static_cast<int64_t>(rng() % model.size());
      EXPECT_EQ(lp.Get(lp.Seek(index)), model[model.size() + index]);
    } else {
      const std::string& wanted = model[rng() % model.size()];
      uint32_t pos = lp.Find(wanted);
      ASSERT_NE(pos, lp.End());
      EXPECT_EQ(lp.Get(pos), wanted);
    }
    if (step % 100 == 0) ExpectSameAs(lp, model);
  }
  ExpectSameAs(lp, model);
  Listpack copy = lp.Clone();
  ExpectSameAs(copy, model);
  Listpack moved = std::move(lp);
  ExpectSameAs(moved, model);
  EXPECT_TRUE(lp.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
}

// The list type removes matches while scanning (LREM) and relies on these.
TEST(ListpackTest, EraseReturnsTheOffsetOfTheFollowingElement) {
  Listpack lp;
  for (const char* s : {"a", "b", "c", "d"}) lp.PushBack(s);
  uint32_t pos = lp.Erase(lp.Seek(1));
  EXPECT_EQ(lp.Get(pos), "c");
  pos = lp.Erase(lp.Last());
  EXPECT_EQ(pos, lp.End());
  EXPECT_EQ(lp.Get(lp.Prev(lp.End())), "c");
  pos = lp.Erase(lp.Begin(), 5);  // more than there are: stops at the end
  EXPECT_EQ(pos, lp.End());
  EXPECT_TRUE(lp.empty());
  EXPECT_EQ(lp.MemoryUsage(), 0u);
}

TEST(ListpackTest, FindFromAnOffsetSkipsEarlierMatches) {
  Listpack lp;
  for (const char* s : {"x", "", "x", "y", ""}) lp.PushBack(s);
  uint32_t first = lp.Find("x");
  EXPECT_EQ(first, lp.Begin());
  uint32_t second = lp.Find("x", lp.Next(first));
  EXPECT_EQ(second, lp.Seek(2));
  EXPECT_EQ(lp.Find("x", lp.Next(second)), lp.End());
  EXPECT_EQ(lp.Find(""), lp.Seek(1));
  EXPECT_EQ(lp.Find("", lp.Seek(2)), lp.Seek(4));
  EXPECT_EQ(lp.Find("x", lp.End()), lp.End());
}

TEST(ListpackTest, ErasingMostElementsShrinksAndKeepsTheRest) {
  Listpack lp;
  std::deque<std::string> model;
  for (int i = 0; i < 2000; ++i) {
    model.push_back("element-" + std::to_string(i));
    lp.PushBack(model.back());
  }
  size_t full = lp.MemoryUsage();
  while (model.size() > 10) {
    lp.Erase(lp.Begin());
    model.pop_front();
  }
  EXPECT_LT(lp.MemoryUsage(), full / 4);
  ExpectSameAs(lp, model);
  // Inserting after an element (LINSERT AFTER) is Insert at Next(pos).
  lp.Insert(lp.Next(lp.Find(model[3])), "after-3");
  model.insert(model.begin() + 4, "after-3");
  ExpectSameAs(lp, model);
}

// A large listpack keeps a gap in front for head pops and pushes (LPOP,
// LPUSH on a quicklist node). Mixing them with every other edit must keep
// the contents right, and the memory held near the elements' size.
TEST(ListpackTest, HeadPopsAndPushesOnALargeListpackMatchADeque) {
  std::mt19937 rng(7);
  Listpack lp;
  std::deque<std::string> model;
  auto small_value = [&rng] {
    static const size_t kLengths[] = {0, 1, 2, 3, 5, 20, 130};
    std::string s(kLengths[rng() % 7], 'a');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
  };
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    // Drift between filling up (~ a few KiB) and draining to nothing.
    const bool filling = (step / 2000) % 2 == 0;
    if (model.empty() || (filling ? op < 5 : op < 2)) {
      std::string v = small_value();
      lp.PushFront(v);
      model.push_front(v);
    } else if (op < 6 || (!filling && op < 8)) {
      const uint32_t count = op == 0 ? 3 : 1;
      lp.Erase(lp.Begin(), count);
      for (uint32_t i = 0; i < count && !model.empty(); ++i) model.pop_front();
    } else if (op == 6) {
      std::string v = small_value();
      lp.PushBack(v);
      model.push_back(v);
    } else if (op == 7) {
      lp.Erase(lp.Last());
      model.pop_back();
    } else if (op == 8) {
      const size_t index = rng() % model.size();
      std::string v = small_value();
      lp.Replace(lp.Seek(static_cast<int64_t>(index)), v);
      model[index] = v;
    } else {
      const size_t index = rng() % (model.size() + 1);
      std::string v = small_value();
      lp.Insert(index == model.size() ? lp.End() : lp.Seek(static_cast<int64_t>(index)), v);
      model.insert(model.begin() + static_cast<long>(index), v);
    }
    ASSERT_EQ(lp.size(), model.size());
    if (!model.empty()) {
      ASSERT_EQ(lp.Get(lp.Begin()), model.front());
      ASSERT_EQ(lp.Get(lp.Last()), model.back());
    }
    // Spare room (front gap and tail) stays within a small multiple of the
    // elements, as without a gap.
    EXPECT_LE(lp.MemoryUsage(), 3 * static_cast<size_t>(lp.bytes()) + 512) << "step " << step;
    if (step % 500 == 0) ExpectSameAs(lp, model);
  }
  ExpectSameAs(lp, model);
  Listpack copy = lp.Clone();
  ExpectSameAs(copy, model);
  lp.ShrinkToFit();
  ExpectSameAs(lp, model);
  Listpack moved = std::move(lp);
  ExpectSameAs(moved, model);
}

// The point of the front gap: on a large listpack, popping the head leaves
// the other elements where they are (no memmove of the whole node), and so
// does pushing at the head once the gap has room.
TEST(ListpackTest, HeadEditsOfALargeListpackMoveNoElements) {
  Listpack lp;
  for (int i = 0; i < 400; ++i) lp.PushBack("element-" + std::to_string(i));
  const char* second = lp.Get(lp.Next(lp.Begin())).data();
  lp.Erase(lp.Begin());
  EXPECT_EQ(lp.Get(lp.Begin()).data(), second);
  EXPECT_EQ(lp.Get(lp.Begin()), "element-1");
  lp.PushFront("again");  // fits in the gap the erasure left
  EXPECT_EQ(lp.Get(lp.Next(lp.Begin())).data(), second);
  EXPECT_EQ(lp.Get(lp.Begin()), "again");
  // A head push with no gap makes one, so the next ones move nothing.
  lp.PushFront(std::string(300, 'x'));
  const char* first = lp.Get(lp.Begin()).data();
  lp.PushFront("y");
  EXPECT_EQ(lp.Get(lp.Next(lp.Begin())).data(), first);
  EXPECT_EQ(lp.size(), 402u);
  EXPECT_EQ(lp.Get(lp.Last()), "element-399");
}

// The quicklist pattern: a node filled to ~8 KiB, then drained from the
// head one element at a time, gives its memory back as it goes.
TEST(ListpackTest, DrainingAFullNodeFromTheHeadGivesMemoryBack) {
  Listpack lp;
  std::deque<std::string> model;
  while (lp.bytes() < 8000) {
    model.push_front("v" + std::to_string(model.size()));
    lp.PushFront(model.front());
  }
  ExpectSameAs(lp, model);
  const size_t full = lp.MemoryUsage();
  while (model.size() > 20) {
    ASSERT_EQ(lp.Get(lp.Begin()), model.front());
    lp.Erase(lp.Begin());
    model.pop_front();
    ASSERT_LE(lp.MemoryUsage(), 3 * static_cast<size_t>(lp.bytes()) + 512);
  }
  EXPECT_LT(lp.MemoryUsage(), full / 8);
  ExpectSameAs(lp, model);
  while (!model.empty()) {
    lp.Erase(lp.Begin());
    model.pop_front();
  }
  EXPECT_TRUE(lp.empty());
  EXPECT_EQ(lp.MemoryUsage(), 0u);
}

}  // namespace
}  // namespace understudy::storage

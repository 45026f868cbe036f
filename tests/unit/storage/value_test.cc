#include "storage/value.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace understudy::storage {
namespace {

using namespace std::string_literals;

// A collection that reports its copies and destructions to counters owned by
// the test, so ownership mistakes (leaks, double frees) show up as counts.
struct LifeCounters {
  int alive = 0;
  int clones = 0;
};

class CountingCollection : public Collection {
 public:
  CountingCollection(LifeCounters* counters, std::string payload)
      : counters_(counters), payload_(std::move(payload)) {
    ++counters_->alive;
  }
  ~CountingCollection() override { --counters_->alive; }
  size_t MemoryUsage() const override { return 1000 + payload_.size(); }
  std::unique_ptr<Collection> Clone() const override {
    ++counters_->clones;
    return std::make_unique<CountingCollection>(counters_, payload_);
  }
  std::string_view Encoding() const override { return "counting"; }
  const std::string& payload() const { return payload_; }

 private:
  LifeCounters* counters_;
  std::string payload_;
};

TEST(ValueTest, DefaultIsAnEmptyInlineString) {
  Value v;
  EXPECT_TRUE(v.is_string());
  EXPECT_EQ(v.type(), ValueType::kString);
  EXPECT_EQ(v.string(), "");
  EXPECT_EQ(v.ExternalMemory(), 0u);
}

TEST(ValueTest, TwentyTwoBytesStayInlineTwentyThreeGoToTheHeap) {
  const std::string s22(22, 'a');
  const std::string s23(23, 'b');
  Value inline_value(s22);
  EXPECT_EQ(inline_value.string(), s22);
  EXPECT_EQ(inline_value.ExternalMemory(), 0u);
  // An inline string's bytes are inside the object itself.
  const char* begin = reinterpret_cast<const char*>(&inline_value);
  EXPECT_GE(inline_value.string().data(), begin);
  EXPECT_LE(inline_value.string().data() + 22, begin + sizeof(Value));

  Value heap_value(s23);
  EXPECT_EQ(heap_value.string(), s23);
  EXPECT_GT(heap_value.ExternalMemory(), 23u);
  EXPECT_TRUE(heap_value.is_string());
}

TEST(ValueTest, SwitchesBetweenInlineAndHeap) {
  Value v("short");
  v.SetString(std::string(100, 'x'));
  EXPECT_EQ(v.string(), std::string(100, 'x'));
  EXPECT_GT(v.ExternalMemory(), 0u);
  v.SetString(std::string(22, 'y'));
  EXPECT_EQ(v.string(), std::string(22, 'y'));
  EXPECT_EQ(v.ExternalMemory(), 0u);
  v.SetString(std::string(23, 'z'));
  EXPECT_EQ(v.string(), std::string(23, 'z'));
  EXPECT_GT(v.ExternalMemory(), 0u);
  v.SetString("");
  EXPECT_EQ(v.string(), "");
  EXPECT_EQ(v.ExternalMemory(), 0u);
}

TEST(ValueTest, HeapStringReusesItsBufferForAnotherLongString) {
  Value v(std::string(200, 'a'));
  const char* buffer = v.string().data();
  v.SetString(std::string(150, 'b'));
  EXPECT_EQ(v.string(), std::string(150, 'b'));
  EXPECT_EQ(v.string().data(), buffer);
}

TEST(ValueTest, BinarySafe) {
  const std::string short_binary = "a\0b\r\n\xff"s;
  const std::string long_binary = "\0\0\0"s + std::string(40, '\xfe') + "\0"s;
  Value v(short_binary);
  EXPECT_EQ(v.string(), short_binary);
  v.SetString(long_binary);
  EXPECT_EQ(v.string(), long_binary);
}

TEST(ValueTest, SetStringFromItsOwnBytes) {
  // A substring of the value itself (GETRANGE-like rewrites) must survive
  // the old representation being released.
  Value heap_to_inline(std::string("0123456789") + std::string(40, 'x'));
  heap_to_inline.SetString(heap_to_inline.string().substr(2, 8));
  EXPECT_EQ(heap_to_inline.string(), "23456789");

  Value inline_shift("abcdefghij");
  inline_shift.SetString(inline_shift.string().substr(3));
  EXPECT_EQ(inline_shift.string(), "defghij");

  std::string long_text;
  for (int i = 0; i < 60; ++i) long_text.push_back(static_cast<char>('A' + i % 26));
  Value heap_to_heap(long_text);
  heap_to_heap.SetString(heap_to_heap.string().substr(5, 40));
  EXPECT_EQ(heap_to_heap.string(), long_text.substr(5, 40));
}

TEST(ValueTest, MutableStringFromInlineKeepsTheContent) {
  Value v("hello");
  std::string& s = v.MutableString();
  EXPECT_EQ(s, "hello");
  s.append(" world");
  EXPECT_EQ(v.string(), "hello world");
  EXPECT_TRUE(v.is_string());
  // Still the same heap string on the next call.
  EXPECT_EQ(&v.MutableString(), &s);
}

TEST(ValueTest, MutableStringFromHeapIsTheSameString) {
  Value v(std::string(30, 'k'));
  const char* before = v.string().data();
  std::string& s = v.MutableString();
  EXPECT_EQ(s.data(), before);
  s[0] = 'K';
  EXPECT_EQ(v.string()[0], 'K');
}

TEST(ValueTest, MutableStringReplacesACollection) {
  LifeCounters counters;
  Value v;
  v.SetCollection(ValueType::kSet, std::make_unique<CountingCollection>(&counters, "m"));
  ASSERT_EQ(counters.alive, 1);
  std::string& s = v.MutableString();
  EXPECT_EQ(counters.alive, 0);
  EXPECT_EQ(s, "");
  EXPECT_TRUE(v.is_string());
  EXPECT_EQ(v.type(), ValueType::kString);
}

TEST(ValueTest, CollectionTypesAndNames) {
  LifeCounters counters;
  for (ValueType type : {ValueType::kList, ValueType::kHash, ValueType::kSet, ValueType::kZSet}) {
    Value v;
    v.SetCollection(type, std::make_unique<CountingCollection>(&counters, "p"));
    EXPECT_EQ(v.type(), type);
    EXPECT_FALSE(v.is_string());
    EXPECT_EQ(v.As<CountingCollection>()->payload(), "p");
    EXPECT_EQ(v.ExternalMemory(), 1001u);
  }
  EXPECT_EQ(counters.alive, 0);
  EXPECT_EQ(ValueTypeName(ValueType::kString), "string");
  EXPECT_EQ(ValueTypeName(ValueType::kList), "list");
  EXPECT_EQ(ValueTypeName(ValueType::kHash), "hash");
  EXPECT_EQ(ValueTypeName(ValueType::kSet), "set");
  EXPECT_EQ(ValueTypeName(ValueType::kZSet), "zset");
}

TEST(ValueTest, SetStringOverACollectionFreesIt) {
  LifeCounters counters;
  Value v;
  v.SetCollection(ValueType::kHash, std::make_unique<CountingCollection>(&counters, "h"));
  v.SetString(std::string(50, 's'));
  EXPECT_EQ(counters.alive, 0);
  EXPECT_EQ(v.string(), std::string(50, 's'));
  v.SetCollection(ValueType::kList, std::make_unique<CountingCollection>(&counters, "l"));
  v.SetCollection(ValueType::kZSet, std::make_unique<CountingCollection>(&counters, "z"));
  EXPECT_EQ(counters.alive, 1);
  EXPECT_EQ(v.type(), ValueType::kZSet);
}

TEST(ValueTest, MoveConstructionTransfersOwnership) {
  Value inline_source("tiny");
  Value inline_target(std::move(inline_source));
  EXPECT_EQ(inline_target.string(), "tiny");
  EXPECT_EQ(inline_source.string(), "");  // NOLINT(bugprone-use-after-move): documented state

  Value heap_source(std::string(64, 'h'));
  const char* heap_bytes = heap_source.string().data();
  Value heap_target(std::move(heap_source));
  EXPECT_EQ(heap_target.string().data(), heap_bytes);  // no copy
  EXPECT_EQ(heap_source.string(), "");                 // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(heap_source.ExternalMemory(), 0u);         // NOLINT(bugprone-use-after-move)

  LifeCounters counters;
  {
    Value collection_source;
    collection_source.SetCollection(ValueType::kList,
                                    std::make_unique<CountingCollection>(&counters, "c"));
    Value collection_target(std::move(collection_source));
    EXPECT_EQ(counters.alive, 1);
    EXPECT_EQ(collection_target.type(), ValueType::kList);
    EXPECT_TRUE(collection_source.is_string());  // NOLINT(bugprone-use-after-move)
  }
  EXPECT_EQ(counters.alive, 0);  // freed exactly once
}

TEST(ValueTest, MoveAssignmentReleasesTheOldPayload) {
  LifeCounters counters;
  Value target;
  target.SetCollection(ValueType::kSet, std::make_unique<CountingCollection>(&counters, "old"));
  Value source(std::string(40, 'n'));
  target = std::move(source);
  EXPECT_EQ(counters.alive, 0);
  EXPECT_EQ(target.string(), std::string(40, 'n'));

  Value other;
  other.SetCollection(ValueType::kHash, std::make_unique<CountingCollection>(&counters, "new"));
  target = std::move(other);
  EXPECT_EQ(counters.alive, 1);
  EXPECT_EQ(target.As<CountingCollection>()->payload(), "new");

  Value& alias = target;
  target = std::move(alias);  // self-move keeps the value
  EXPECT_EQ(counters.alive, 1);
  EXPECT_EQ(target.type(), ValueType::kHash);
}

TEST(ValueTest, CloneIsDeep) {
  Value heap(std::string(30, 'c'));
  Value heap_copy = heap.Clone();
  EXPECT_EQ(heap_copy.string(), heap.string());
  EXPECT_NE(heap_copy.string().data(), heap.string().data());
  heap.MutableString()[0] = 'X';
  EXPECT_EQ(heap_copy.string()[0], 'c');

  Value small("abc");
  EXPECT_EQ(small.Clone().string(), "abc");

  LifeCounters counters;
  {
    Value collection;
    collection.SetCollection(ValueType::kZSet,
                             std::make_unique<CountingCollection>(&counters, "z"));
    Value copy = collection.Clone();
    EXPECT_EQ(counters.clones, 1);
    EXPECT_EQ(counters.alive, 2);
    EXPECT_EQ(copy.type(), ValueType::kZSet);
    EXPECT_NE(copy.collection(), collection.collection());
  }
  EXPECT_EQ(counters.alive, 0);
}

}  // namespace
}  // namespace understudy::storage

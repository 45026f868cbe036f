#include "storage/snapshot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "storage/disk_io.h"
#include "storage/list_value.h"

namespace understudy::storage {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1800000000000;

// The representation a value is in, as a name covering every internal
// encoding (so a round trip must reproduce it exactly).
std::string EncodingOf(Value& v) {
  switch (v.type()) {
    case ValueType::kString:
      return "string";
    case ValueType::kList:
      return v.is_listpack() ? "list-listpack" : "list-quicklist";
    case ValueType::kHash:
      return "hash-" + std::string(HashEncoding(v));
    case ValueType::kSet: {
      SetValue set(v);
      return set.is_intset() ? "set-intset" : set.is_listpack() ? "set-listpack" : "set-dict";
    }
    case ValueType::kZSet:
      return "zset-" + std::string(ZSetEncoding(v));
  }
  return "?";
}

std::string Framed(std::string_view s) { return std::to_string(s.size()) + ":" + std::string(s); }

// Every detail of a value that a snapshot must keep, in canonical form.
std::string Describe(Value& v) {
  std::string out = EncodingOf(v) + "|";
  switch (v.type()) {
    case ValueType::kString:
      out += Framed(v.string());
      break;
    case ValueType::kList:
      for (list::Iterator it(v, 0, ListEnd::kTail); it.Valid(); it.Next()) out += Framed(it.Get());
      break;
    case ValueType::kHash: {
      std::map<std::string, std::string> fields;
      HashForEach(v,
                  [&](std::string_view f, std::string_view val) { fields[std::string(f)] = val; });
      for (const auto& [f, val] : fields) out += Framed(f) + Framed(val);
      break;
    }
    case ValueType::kSet: {
      std::vector<std::string> members;
      SetValue(v).ForEach([&](std::string_view m) {
        members.emplace_back(m);
        return true;
      });
      std::sort(members.begin(), members.end());
      for (const std::string& m : members) out += Framed(m);
      break;
    }
    case ValueType::kZSet: {
      std::vector<ZSetItem> items;
      ZSetRangeByRank(v, 0, ZSetSize(v) - 1, false, &items);
      for (const ZSetItem& item : items) {
        uint64_t bits;
        std::memcpy(&bits, &item.score, sizeof(bits));
        out += Framed(item.member) + "@" + std::to_string(bits) + ",";
      }
      break;
    }
  }
  return out;
}

// key -> "expiry|encoding|contents" for every key of `db`.
std::map<std::string, std::string> Dump(Database& db) {
  std::map<std::string, std::string> out;
  uint64_t cursor = 0;
  do {
    cursor = db.dict().Scan(cursor, [&](Entry* e) {
      out[std::string(e->key())] = std::to_string(e->expire_at_ms()) + "|" + Describe(e->value());
    });
  } while (cursor != 0);
  return out;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path("/tmp/journal/snap-" + std::to_string(::getpid())) / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "snapshot.bin").string();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_.parent_path(), ignored);
  }

  Value& Put(Database& db, std::string_view key, int64_t expire_at_ms = kNoExpire) {
    Database::Detached item;
    item.expire_at_ms = expire_at_ms;
    return db.Attach(key, std::move(item))->value();
  }
  void PutString(Database& db, std::string_view key, std::string_view s,
                 int64_t expire_at_ms = kNoExpire) {
    Put(db, key, expire_at_ms).SetString(s);
  }
  void PutList(Database& db, std::string_view key, int n) {
    Value& v = Put(db, key);
    list::Init(v);
    for (int i = 0; i < n; ++i) {
      list::Push(v, ListEnd::kTail, "element-" + std::to_string(i), limits_.list_max_listpack_size);
    }
  }
  void PutHash(Database& db, std::string_view key, int n, int64_t expire_at_ms = kNoExpire) {
    Value& v = Put(db, key, expire_at_ms);
    HashInit(v);
    for (int i = 0; i < n; ++i) {
      HashSet(v, "field-" + std::to_string(i), "value-" + std::to_string(i * 7), limits_.hash);
    }
  }
  void PutSet(Database& db, std::string_view key, const std::vector<std::string>& members) {
    Value& v = Put(db, key);
    SetValue set = SetValue::Create(v, members[0], limits_.set);
    for (const std::string& m : members) set.Add(m, limits_.set);
  }
  void PutZSet(Database& db, std::string_view key, const std::vector<ScoredMember>& members,
               int64_t expire_at_ms = kNoExpire) {
    Value& v = Put(db, key, expire_at_ms);
    ZSetInit(v, members[0].member, limits_.zset);
    for (const ScoredMember& m : members) ZSetAdd(v, m.member, m.score, 0, limits_.zset);
  }

  // Fills db0 and db1 with every type in every encoding.
  void FillAllTypes() {
    PutString(db0_, "str:inline", "short");
    PutString(db0_, "str:heap", std::string(300, 'h'), kNow + 60000);
    PutString(db0_, "str:binary", std::string("a\0b\xff\r\n", 6));
    PutString(db0_, "str:empty", "");
    PutList(db0_, "list:small", 5);
    PutList(db0_, "list:large", 3000);
    PutHash(db0_, "hash:small", 10, kNow + 1);
    PutHash(db0_, "hash:large", 1000);
    Value& long_value_hash = Put(db0_, "hash:longvalue");
    HashInit(long_value_hash);
    HashSet(long_value_hash, "f", std::string(100, 'x'), limits_.hash);
    PutSet(db0_, "set:intset", {"1", "-7", "123456789012"});
    PutSet(db0_, "set:listpack", {"a", "b", "c"});
    std::vector<std::string> many;
    for (int i = 0; i < 500; ++i) many.push_back("member-" + std::to_string(i));
    PutSet(db0_, "set:dict", many);
    std::vector<std::string> many_ints;
    for (int i = 0; i < 600; ++i) many_ints.push_back(std::to_string(i * 3));
    PutSet(db0_, "set:ints-over-limit", many_ints);
    const double inf = std::numeric_limits<double>::infinity();
    PutZSet(db0_, "zset:small",
            {{"a", 1.5}, {"b", -inf}, {"c", inf}, {"d", 0.1}, {"e", 5e-324}, {"f", -3}},
            kNow + 3600000);
    std::vector<ScoredMember> big;
    for (int i = 0; i < 300; ++i) big.push_back({"m" + std::to_string(i), i / 3.0 - 17});
    big.push_back({"negzero", -0.0});
    big.push_back({"tiny", std::numeric_limits<double>::denorm_min()});
    PutZSet(db0_, "zset:large", big);
    PutString(db1_, "other-db", "value in db 1", kNow + 5);
    PutHash(db1_, "hash:db1", 3);
  }

  bool Load(std::string* error) {
    Database* targets[] = {&loaded0_, &loaded1_};
    return LoadSnapshot(path_, targets, limits_, kNow, &covers_seq_, &load_stats_, error);
  }

  std::string FileBytes() {
    std::string bytes;
    std::string error;
    EXPECT_TRUE(ReadWholeFile(path_, &bytes, &error)) << error;
    return bytes;
  }

  SnapshotLimits limits_;
  Database db0_{0};
  Database db1_{1};
  Database loaded0_{0};
  Database loaded1_{1};
  uint64_t covers_seq_ = 0;
  SnapshotLoadStats load_stats_;
  fs::path dir_;
  std::string path_;
};

TEST_F(SnapshotTest, AllTypesInBothEncodingsRoundTripWithExpiries) {
  FillAllTypes();
  // Sanity: the fixture really covers each representation.
  std::map<std::string, std::string> before0 = Dump(db0_);
  std::set<std::string> encodings;
  for (const auto& [key, description] : before0) {
    size_t first = description.find('|');
    encodings.insert(description.substr(first + 1, description.find('|', first + 1) - first - 1));
  }
  EXPECT_EQ(encodings,
            (std::set<std::string>{"string", "list-listpack", "list-quicklist", "hash-listpack",
                                   "hash-hashtable", "set-intset", "set-listpack", "set-dict",
                                   "zset-listpack", "zset-skiplist"}));

  const Database* sources[] = {&db0_, &db1_};
  SnapshotWriteStats write_stats;
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 12345, kNow, path_, &error, &write_stats)) << error;
  EXPECT_EQ(write_stats.keys_written, db0_.size() + db1_.size());
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));

  ASSERT_TRUE(Load(&error)) << error;
  EXPECT_EQ(covers_seq_, 12345u);
  EXPECT_EQ(load_stats_.created_ms, kNow);
  EXPECT_EQ(load_stats_.keys_loaded, write_stats.keys_written);
  EXPECT_EQ(load_stats_.file_bytes, FileBytes().size());
  EXPECT_EQ(Dump(loaded0_), before0);
  EXPECT_EQ(Dump(loaded1_), Dump(db1_));
  // Deadlines are indexed, not just stored: the loaded database expires them.
  EXPECT_EQ(loaded0_.volatile_count(), db0_.volatile_count());
  EXPECT_EQ(loaded1_.Find("other-db", kNow + 6), nullptr);
}

TEST_F(SnapshotTest, ScoresKeepEveryBitInTheSkiplist) {
  limits_.zset.max_listpack_entries = 0;  // force the skiplist
  PutZSet(db0_, "z",
          {{"negzero", -0.0}, {"third", 1.0 / 3}, {"max", std::numeric_limits<double>::max()}});
  const Database* sources[] = {&db0_};
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 1, kNow, path_, &error)) << error;
  ASSERT_TRUE(Load(&error)) << error;
  Entry* e = loaded0_.Find("z", kNow);
  ASSERT_NE(e, nullptr);
  std::optional<double> negzero = ZSetScore(e->value(), "negzero");
  ASSERT_TRUE(negzero.has_value());
  EXPECT_TRUE(std::signbit(*negzero));
  EXPECT_EQ(ZSetScore(e->value(), "third"), 1.0 / 3);
  EXPECT_EQ(ZSetScore(e->value(), "max"), std::numeric_limits<double>::max());
}

TEST_F(SnapshotTest, LoadedCollectionsFollowTheGivenLimits) {
  PutHash(db0_, "h", 10);
  const Database* sources[] = {&db0_};
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 1, kNow, path_, &error)) << error;
  limits_.hash.max_listpack_entries = 4;
  ASSERT_TRUE(Load(&error)) << error;
  Entry* e = loaded0_.Find("h", kNow);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(HashEncoding(e->value()), "hashtable");
  EXPECT_EQ(HashSize(e->value()), 10u);
}

TEST_F(SnapshotTest, KeysExpiredAtWriteOrLoadTimeAreSkipped) {
  PutString(db0_, "expired", "x", kNow - 1);
  PutString(db0_, "expires-this-ms", "x", kNow);  // still live at its deadline
  PutString(db0_, "expires-before-load", "x", kNow + 10);
  PutString(db0_, "persistent", "x");
  const Database* sources[] = {&db0_};
  SnapshotWriteStats write_stats;
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 1, kNow, path_, &error, &write_stats)) << error;
  EXPECT_EQ(write_stats.keys_written, 3u);
  EXPECT_EQ(write_stats.keys_expired, 1u);

  Database* targets[] = {&loaded0_};
  ASSERT_TRUE(LoadSnapshot(path_, targets, limits_, kNow + 10, &covers_seq_, &load_stats_, &error))
      << error;
  EXPECT_EQ(load_stats_.keys_loaded, 2u);
  EXPECT_EQ(load_stats_.keys_expired, 1u);
  EXPECT_EQ(loaded0_.size(), 2u);
  EXPECT_NE(loaded0_.Find("persistent", kNow + 10), nullptr);
  EXPECT_NE(loaded0_.Find("expires-before-load", kNow + 10), nullptr);
}

TEST_F(SnapshotTest, KeysOfDatabasesNotGivenAreSkippedAndCounted) {
  FillAllTypes();
  const Database* sources[] = {&db0_, &db1_};
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 1, kNow, path_, &error)) << error;
  Database* targets[] = {&loaded0_};
  ASSERT_TRUE(LoadSnapshot(path_, targets, limits_, kNow, &covers_seq_, &load_stats_, &error))
      << error;
  EXPECT_EQ(load_stats_.keys_outside_dbs, db1_.size());
  EXPECT_EQ(loaded0_.size(), db0_.size());
}

TEST_F(SnapshotTest, AnyCorruptionIsRefusedAndLeavesTheDatabasesEmpty) {
  FillAllTypes();
  const Database* sources[] = {&db0_, &db1_};
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 1, kNow, path_, &error)) << error;
  const std::string good = FileBytes();
  Database* targets[] = {&loaded0_, &loaded1_};
  std::mt19937_64 rng(99);
  // Flipped bytes (in the header, the middle, the trailer), and truncations.
  std::vector<size_t> positions = {0, 9, 20, good.size() / 2, good.size() - 12, good.size() - 1};
  for (int i = 0; i < 30; ++i) positions.push_back(rng() % good.size());
  for (size_t pos : positions) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ (1 + rng() % 255));
    error.clear();
    EXPECT_FALSE(LoadSnapshotBytes(bad, targets, limits_, kNow, &covers_seq_, &load_stats_, &error))
        << "byte " << pos;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(loaded0_.size() + loaded1_.size(), 0u);
  }
  for (size_t length : {size_t{0}, size_t{10}, good.size() / 3, good.size() - 1}) {
    EXPECT_FALSE(LoadSnapshotBytes(std::string_view(good).substr(0, length), targets, limits_, kNow,
                                   &covers_seq_, &load_stats_, &error))
        << "length " << length;
  }
  // A file that is not there at all.
  fs::remove(path_);
  EXPECT_FALSE(Load(&error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

// Replaces the trailer so the checksum matches `bytes` again.
std::string Rechecksum(std::string bytes) {
  bytes.resize(bytes.size() - 4);
  PutU32(&bytes, Crc32c(bytes));
  return bytes;
}

TEST_F(SnapshotTest, NewerVersionAndMalformedContentsAreRefusedEvenWithAGoodChecksum) {
  PutString(db0_, "k", "v");
  PutZSet(db0_, "z", {{"a", 1}, {"b", 2}});
  const Database* sources[] = {&db0_};
  std::string good = SerializeSnapshot(sources, 7, kNow);
  Database* targets[] = {&loaded0_};
  std::string error;

  std::string newer = good;
  StoreU32At(&newer, 8, 2);  // version 2
  EXPECT_FALSE(
      LoadSnapshotBytes(Rechecksum(newer), targets, limits_, kNow, &covers_seq_, nullptr, &error));
  EXPECT_NE(error.find("version 2"), std::string::npos) << error;

  // A zset with a duplicated member ("b" renamed to "a") is refused.
  std::string duplicate = good;
  size_t b =
      duplicate.find(std::string("\x01\x00\x00\x00"
                                 "b",
                                 5));
  ASSERT_NE(b, std::string::npos);
  duplicate[b + 4] = 'a';
  EXPECT_FALSE(LoadSnapshotBytes(Rechecksum(duplicate), targets, limits_, kNow, &covers_seq_,
                                 nullptr, &error));
  EXPECT_EQ(loaded0_.size(), 0u);

  // Random bytes behind a valid header and checksum never crash the loader.
  std::mt19937_64 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = good.substr(0, 28);
    size_t n = rng() % 200;
    for (size_t j = 0; j < n; ++j) {
      bytes.push_back(rng() % 3 == 0 ? static_cast<char>(rng() % 6) : static_cast<char>(rng()));
    }
    bytes += "0000";
    LoadSnapshotBytes(Rechecksum(bytes), targets, limits_, kNow, &covers_seq_, nullptr, &error);
    loaded0_.Clear();
  }
}

TEST_F(SnapshotTest, HundredThousandKeysRoundTrip) {
  constexpr int kKeys = 100000;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "key:" + std::to_string(i);
    if (i % 10 == 0) {
      PutHash(db0_, key, 3, kNow + i);
    } else {
      PutString(db0_, key, "value-" + std::to_string(i * 31),
                i % 3 == 0 ? kNow + 1000 + i : kNoExpire);
    }
  }
  const Database* sources[] = {&db0_};
  SnapshotWriteStats write_stats;
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 99, kNow, path_, &error, &write_stats)) << error;
  EXPECT_EQ(write_stats.keys_written, static_cast<uint64_t>(kKeys));
  ASSERT_TRUE(Load(&error)) << error;
  EXPECT_EQ(load_stats_.keys_loaded, static_cast<uint64_t>(kKeys));
  EXPECT_EQ(loaded0_.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(loaded0_.volatile_count(), db0_.volatile_count());
  EXPECT_EQ(Dump(loaded0_), Dump(db0_));
}

TEST_F(SnapshotTest, RewritingReplacesTheFileWhole) {
  PutString(db0_, "first", "1");
  const Database* sources[] = {&db0_};
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 1, kNow, path_, &error)) << error;
  db0_.Clear();
  PutString(db0_, "second", "2");
  ASSERT_TRUE(WriteSnapshot(sources, 2, kNow, path_, &error)) << error;
  ASSERT_TRUE(Load(&error)) << error;
  EXPECT_EQ(covers_seq_, 2u);
  EXPECT_EQ(loaded0_.Find("first", kNow), nullptr);
  EXPECT_NE(loaded0_.Find("second", kNow), nullptr);
  // Into a directory that does not exist: a clear error, nothing left over.
  EXPECT_FALSE(WriteSnapshot(sources, 3, kNow, (dir_ / "missing" / "s.bin").string(), &error));
  EXPECT_NE(error.find("missing"), std::string::npos) << error;
}

TEST_F(SnapshotTest, EmptyDatabasesMakeAValidSnapshot) {
  const Database* sources[] = {&db0_, &db1_};
  std::string error;
  ASSERT_TRUE(WriteSnapshot(sources, 0, kNow, path_, &error)) << error;
  ASSERT_TRUE(Load(&error)) << error;
  EXPECT_EQ(load_stats_.keys_loaded, 0u);
  EXPECT_EQ(loaded0_.size() + loaded1_.size(), 0u);
}

}  // namespace
}  // namespace understudy::storage

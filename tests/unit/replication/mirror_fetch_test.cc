// The mirror's fetch request, reply parsing and application to a local
// Database, on hand-made replies in RESP2 and RESP3 shapes. The same code
// against a real redis-server is in mirror_fetch_redis_test.cc.
#include "replication/mirror_fetch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "protocol/reply_parser.h"
#include "storage/list_value.h"

namespace understudy::replication {
namespace {

using protocol::ReplyValue;
using protocol::ScanStatus;
using storage::Database;
using storage::Entry;
using storage::ValueType;

// RESP fragments for hand-made replies.
std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string Int(int64_t n) { return ":" + std::to_string(n) + "\r\n"; }
std::string Header(char type, size_t n) { return type + std::to_string(n) + "\r\n"; }
std::string BulkArray(const std::vector<std::string>& items) {
  std::string out = Header('*', items.size());
  for (const std::string& item : items) out += Bulk(item);
  return out;
}
// One key's {type, deadline, value} triple; `value` is already RESP.
std::string Triple(std::string_view type, int64_t deadline, const std::string& value) {
  return Header('*', 3) + Bulk(type) + Int(deadline) + value;
}

ReplyValue Parse(const std::string& bytes) {
  ReplyValue reply;
  size_t consumed = 0;
  std::string error;
  EXPECT_EQ(protocol::ParseReply(bytes, &reply, &consumed, &error), ScanStatus::kComplete) << error;
  EXPECT_EQ(consumed, bytes.size());
  return reply;
}

bool SameDouble(double a, double b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

constexpr int64_t kNow = 1'700'000'000'000;
const EncodingLimits kLimits{};

// ---- the request ----------------------------------------------------------

TEST(MirrorFetchRequestTest, IsOneEvalWithTheKeysAsKEYS) {
  std::vector<std::string> keys = {"a", std::string("b\0\r\nc", 5), ""};
  std::string request = BuildFetchRequest(keys);
  // A request is a RESP array of bulk strings: the reply parser reads it.
  ReplyValue parsed = Parse(request);
  ASSERT_EQ(parsed.type, '*');
  ASSERT_EQ(parsed.elements.size(), 6u);
  EXPECT_EQ(parsed.elements[0].str, "EVAL");
  EXPECT_EQ(parsed.elements[1].str, FetchScript());
  EXPECT_EQ(parsed.elements[2].str, "3");
  EXPECT_EQ(parsed.elements[3].str, "a");
  EXPECT_EQ(parsed.elements[4].str, keys[1]);
  EXPECT_EQ(parsed.elements[5].str, "");
}

TEST(MirrorFetchRequestTest, EmptyBatchIsAValidRequest) {
  ReplyValue parsed = Parse(BuildFetchRequest({}));
  ASSERT_EQ(parsed.elements.size(), 3u);
  EXPECT_EQ(parsed.elements[2].str, "0");
}

TEST(MirrorFetchRequestTest, EvalShaNamesTheScriptByItsSha1) {
  std::string sha = FetchScriptSha1();
  ASSERT_EQ(sha.size(), 40u);
  EXPECT_EQ(sha.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(FetchScriptSha1(), sha);
  std::vector<std::string> keys = {"k1", "k2"};
  ReplyValue parsed = Parse(BuildFetchRequestSha(keys, sha));
  ASSERT_EQ(parsed.elements.size(), 5u);
  EXPECT_EQ(parsed.elements[0].str, "EVALSHA");
  EXPECT_EQ(parsed.elements[1].str, sha);
  EXPECT_EQ(parsed.elements[2].str, "2");
  EXPECT_EQ(parsed.elements[4].str, "k2");
}

TEST(MirrorFetchRequestTest, ScriptKeepsScoresAsStrings) {
  // The script must never turn a score into a Lua number (tonumber would
  // round 17-digit scores); tonumber appears only for TIME's fields.
  std::string_view script = FetchScript();
  size_t first = script.find("tonumber");
  ASSERT_NE(first, std::string_view::npos);
  EXPECT_NE(script.find("tonumber(now[1])"), std::string_view::npos);
  EXPECT_NE(script.find("tonumber(now[2])"), std::string_view::npos);
  size_t count = 0;
  for (size_t at = first; at != std::string_view::npos; at = script.find("tonumber", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 2u);
  EXPECT_NE(script.find("'WITHSCORES'"), std::string_view::npos);
}

TEST(MirrorFetchRequestTest, RecognisesNoScript) {
  EXPECT_TRUE(IsNoScriptError(Parse("-NOSCRIPT No matching script. Please use EVAL.\r\n")));
  EXPECT_FALSE(IsNoScriptError(Parse("-ERR something\r\n")));
  EXPECT_FALSE(IsNoScriptError(Parse("$8\r\nNOSCRIPT\r\n")));
}

// ---- parsing ----------------------------------------------------------------

TEST(MirrorFetchParseTest, Resp2EveryType) {
  const std::string binary("v\0\r\n\xff", 5);
  std::vector<std::string> keys = {"str",  "empty", "hash",   "set", "zset",
                                   "list", "gone",  "stream", "ttl"};
  std::string bytes = Header('*', keys.size());
  bytes += Triple("string", -1, Bulk(binary));
  bytes += Triple("string", -1, Bulk(""));
  bytes += Triple("hash", -1, BulkArray({"f1", "v1", "", binary}));
  bytes += Triple("set", -1, BulkArray({"1", "", "x"}));
  bytes += Triple("zset", -1,
                  BulkArray({"lo", "-inf", "a", "1e-300", "b", "0.10000000000000001", "c",
                             "1.2345678901234567e+300", "hi", "inf"}));
  bytes += Triple("list", -1, BulkArray({"x", "", binary, "x"}));
  bytes += Triple("none", -2, Bulk(""));
  bytes += Triple("stream", -1, Bulk(""));
  bytes += Triple("string", kNow + 5000, Bulk("t"));

  std::vector<FetchedKey> fetched;
  std::string error;
  ASSERT_TRUE(ParseFetchReply(Parse(bytes), keys, &fetched, &error)) << error;
  ASSERT_EQ(fetched.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(fetched[i].key, keys[i]);

  EXPECT_EQ(fetched[0].type, FetchedKey::kString);
  EXPECT_EQ(fetched[0].string_value, binary);
  EXPECT_EQ(fetched[0].expire_at_ms, -1);
  EXPECT_EQ(fetched[1].type, FetchedKey::kString);
  EXPECT_EQ(fetched[1].string_value, "");
  EXPECT_EQ(fetched[2].type, FetchedKey::kHash);
  EXPECT_EQ(fetched[2].elements, (std::vector<std::string>{"f1", "v1", "", binary}));
  EXPECT_EQ(fetched[3].type, FetchedKey::kSet);
  EXPECT_EQ(fetched[3].elements, (std::vector<std::string>{"1", "", "x"}));
  EXPECT_EQ(fetched[4].type, FetchedKey::kZSet);
  ASSERT_EQ(fetched[4].scored_members.size(), 5u);
  EXPECT_EQ(fetched[4].scored_members[0].member, "lo");
  EXPECT_EQ(fetched[4].scored_members[0].score, -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(SameDouble(fetched[4].scored_members[1].score, 1e-300));
  EXPECT_TRUE(SameDouble(fetched[4].scored_members[2].score, 0.1));
  EXPECT_TRUE(SameDouble(fetched[4].scored_members[3].score, 1.2345678901234567e+300));
  EXPECT_EQ(fetched[4].scored_members[4].score, std::numeric_limits<double>::infinity());
  EXPECT_EQ(fetched[5].type, FetchedKey::kList);
  EXPECT_EQ(fetched[5].elements, (std::vector<std::string>{"x", "", binary, "x"}));
  EXPECT_EQ(fetched[6].type, FetchedKey::kMissing);
  EXPECT_EQ(fetched[6].expire_at_ms, -1);
  EXPECT_EQ(fetched[7].type, FetchedKey::kOther);
  EXPECT_EQ(fetched[7].other_type_name, "stream");
  EXPECT_EQ(fetched[8].expire_at_ms, kNow + 5000);
}

TEST(MirrorFetchParseTest, Resp3Shapes) {
  // What a RESP3 reply could look like if the values came as RESP3 types:
  // a map for the hash, a set, [member, score] pairs with doubles, a
  // verbatim string. The script returns plain arrays, but these are accepted.
  std::vector<std::string> keys = {"hash", "set", "zset", "verbatim", "flatdoubles"};
  std::string bytes = Header('*', keys.size());
  bytes += Triple("hash", -1, Header('%', 2) + Bulk("f1") + Bulk("v1") + Bulk("f2") + Bulk(""));
  bytes += Triple("set", kNow, Header('~', 2) + Bulk("a") + Bulk("b"));
  bytes += Triple("zset", -1,
                  Header('*', 2) + Header('*', 2) + Bulk("m1") + ",-inf\r\n" + Header('*', 2) +
                      Bulk("m2") + ",0.30000000000000004\r\n");
  bytes += Triple("string", -1, "=7\r\ntxt:abc\r\n");
  bytes += Triple("zset", -1, Header('*', 2) + Bulk("m") + ",1e-300\r\n");

  std::vector<FetchedKey> fetched;
  std::string error;
  ASSERT_TRUE(ParseFetchReply(Parse(bytes), keys, &fetched, &error)) << error;
  EXPECT_EQ(fetched[0].elements, (std::vector<std::string>{"f1", "v1", "f2", ""}));
  EXPECT_EQ(fetched[1].elements, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fetched[1].expire_at_ms, kNow);
  ASSERT_EQ(fetched[2].scored_members.size(), 2u);
  EXPECT_EQ(fetched[2].scored_members[0].member, "m1");
  EXPECT_EQ(fetched[2].scored_members[0].score, -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(SameDouble(fetched[2].scored_members[1].score, 0.1 + 0.2));
  EXPECT_EQ(fetched[3].string_value, "abc");
  ASSERT_EQ(fetched[4].scored_members.size(), 1u);
  EXPECT_TRUE(SameDouble(fetched[4].scored_members[0].score, 1e-300));
}

TEST(MirrorFetchParseTest, EmptyBatch) {
  std::vector<FetchedKey> fetched(3);
  std::string error;
  EXPECT_TRUE(ParseFetchReply(Parse("*0\r\n"), {}, &fetched, &error));
  EXPECT_TRUE(fetched.empty());
}

// Each malformed reply is refused with a message that says what is wrong.
TEST(MirrorFetchParseTest, RefusesErrorsAndMalformedReplies) {
  std::vector<std::string> one = {"k"};
  struct Case {
    std::string bytes;
    std::string message_part;
  };
  std::vector<Case> cases = {
      {"-BUSY Redis is busy running a script\r\n", "BUSY Redis is busy"},
      {"-NOSCRIPT No matching script\r\n", "NOSCRIPT"},
      {Bulk("x"), "not an array"},
      {"*0\r\n", "0 entries for 1 keys"},
      {Header('*', 2) + Triple("none", -2, Bulk("")) + Triple("none", -2, Bulk("")),
       "2 entries for 1 keys"},
      {Header('*', 1) + Header('*', 2) + Bulk("string") + Int(-1), "not an array of 3"},
      {Header('*', 1) + Bulk("string"), "not an array of 3"},
      {Header('*', 1) + Header('*', 3) + BulkArray({}) + Int(-1) + Bulk("v"),
       "type is not a string"},
      {Header('*', 1) + Header('*', 3) + Bulk("string") + Bulk("soon") + Bulk("v"),
       "expiry is not an integer"},
      {Header('*', 1) + Triple("string", -2, Bulk("v")), "for a key that exists"},
      {Header('*', 1) + Triple("string", -1, BulkArray({"v"})), "string value"},
      {Header('*', 1) + Triple("string", -1, "$-1\r\n"), "string value"},
      {Header('*', 1) + Triple("hash", -1, BulkArray({"f"})), "hash value"},
      {Header('*', 1) + Triple("hash", -1, Bulk("f")), "hash value"},
      {Header('*', 1) + Triple("set", -1, Header('*', 1) + BulkArray({"x"})), "set value"},
      {Header('*', 1) + Triple("list", -1, Int(3)), "list value"},
      {Header('*', 1) + Triple("zset", -1, BulkArray({"m"})), "odd number"},
      {Header('*', 1) + Triple("zset", -1, BulkArray({"m", "nan"})), "not a number: nan"},
      {Header('*', 1) + Triple("zset", -1, BulkArray({"m", "1.5x"})), "not a number"},
      {Header('*', 1) + Triple("zset", -1, BulkArray({"m", ""})), "not a number"},
      {Header('*', 1) + Triple("zset", -1, Bulk("m")), "not an array"},
      {Header('*', 1) + Triple("zset", -1, Header('*', 1) + BulkArray({"m"})), "[member, score]"},
  };
  for (const Case& c : cases) {
    std::vector<FetchedKey> fetched;
    std::string error;
    EXPECT_FALSE(ParseFetchReply(Parse(c.bytes), one, &fetched, &error)) << c.bytes;
    EXPECT_NE(error.find(c.message_part), std::string::npos)
        << "error '" << error << "' lacks '" << c.message_part << "' for " << c.bytes;
  }
}

TEST(MirrorFetchParseTest, ErrorNamesTheKeyPosition) {
  std::vector<std::string> keys = {"a", "b"};
  std::string bytes =
      Header('*', 2) + Triple("string", -1, Bulk("ok")) + Triple("hash", -1, BulkArray({"odd"}));
  std::vector<FetchedKey> fetched;
  std::string error;
  EXPECT_FALSE(ParseFetchReply(Parse(bytes), keys, &fetched, &error));
  EXPECT_NE(error.find("key #1"), std::string::npos) << error;
}

// ---- applying ---------------------------------------------------------------

FetchedKey Fetched(std::string key, FetchedKey::Type type, int64_t deadline = -1) {
  FetchedKey fetched;
  fetched.key = std::move(key);
  fetched.type = type;
  fetched.expire_at_ms = deadline;
  return fetched;
}

std::vector<std::string> ListContents(const storage::Value& value) {
  std::vector<std::string> out;
  if (storage::list::Length(value) == 0) return out;
  for (storage::list::Iterator it(value, 0, storage::ListEnd::kTail); it.Valid(); it.Next()) {
    out.emplace_back(it.Get());
  }
  return out;
}

TEST(MirrorFetchApplyTest, StringWithAndWithoutDeadline) {
  Database db(0);
  FetchedKey plain = Fetched("s", FetchedKey::kString);
  plain.string_value = std::string("a\0b", 3);
  EXPECT_EQ(ApplyFetchedKey(plain, db, kLimits, kNow), ApplyOutcome::kStored);
  Entry* e = db.Find("s", kNow);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value().string(), plain.string_value);
  EXPECT_FALSE(e->has_expire());

  FetchedKey volatile_key = Fetched("s", FetchedKey::kString, kNow + 1234);
  volatile_key.string_value = "";
  EXPECT_EQ(ApplyFetchedKey(volatile_key, db, kLimits, kNow), ApplyOutcome::kStored);
  e = db.Find("s", kNow);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value().string(), "");
  EXPECT_EQ(e->expire_at_ms(), kNow + 1234);
  EXPECT_EQ(db.volatile_count(), 1u);
  // The deadline is absolute: the key goes when the local clock passes it.
  EXPECT_NE(db.Find("s", kNow + 1234), nullptr);
  EXPECT_EQ(db.Find("s", kNow + 1235), nullptr);
}

TEST(MirrorFetchApplyTest, ReplacingClearsAnOldDeadline) {
  Database db(0);
  FetchedKey first = Fetched("k", FetchedKey::kString, kNow + 100);
  ApplyFetchedKey(first, db, kLimits, kNow);
  FetchedKey second = Fetched("k", FetchedKey::kString);
  second.string_value = "persisted";
  EXPECT_EQ(ApplyFetchedKey(second, db, kLimits, kNow), ApplyOutcome::kStored);
  Entry* e = db.Find("k", kNow + 1000);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->has_expire());
  EXPECT_EQ(db.volatile_count(), 0u);
}

TEST(MirrorFetchApplyTest, HashInBothEncodings) {
  Database db(0);
  FetchedKey small = Fetched("h", FetchedKey::kHash);
  small.elements = {"f1", "v1", "", "empty field", "f3", ""};
  EXPECT_EQ(ApplyFetchedKey(small, db, kLimits, kNow), ApplyOutcome::kStored);
  Entry* e = db.Find("h", kNow);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(storage::HashSize(e->value()), 3u);
  EXPECT_EQ(storage::HashEncoding(e->value()), "listpack");
  EXPECT_EQ(storage::HashGet(e->value(), ""), "empty field");
  EXPECT_EQ(storage::HashGet(e->value(), "f3"), "");

  FetchedKey big = Fetched("big", FetchedKey::kHash);
  for (int i = 0; i < 1000; ++i) {
    big.elements.push_back("field:" + std::to_string(i));
    big.elements.push_back("value:" + std::to_string(i * 7));
  }
  EXPECT_EQ(ApplyFetchedKey(big, db, kLimits, kNow), ApplyOutcome::kStored);
  e = db.Find("big", kNow);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(storage::HashEncoding(e->value()), "hashtable");
  EXPECT_EQ(storage::HashSize(e->value()), 1000u);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(storage::HashGet(e->value(), "field:" + std::to_string(i)),
              "value:" + std::to_string(i * 7));
  }

  // A long value needs the table even with few fields, as HSET decides.
  FetchedKey long_value = Fetched("long", FetchedKey::kHash);
  long_value.elements = {"f", std::string(kLimits.hash.max_listpack_value + 1, 'x')};
  ApplyFetchedKey(long_value, db, kLimits, kNow);
  EXPECT_EQ(storage::HashEncoding(db.Find("long", kNow)->value()), "hashtable");
}

TEST(MirrorFetchApplyTest, SetEncodingsFollowTheLimits) {
  Database db(0);
  FetchedKey ints = Fetched("ints", FetchedKey::kSet);
  ints.elements = {"3", "-7", "100000000000"};
  ApplyFetchedKey(ints, db, kLimits, kNow);
  storage::SetValue int_set(db.Find("ints", kNow)->value());
  EXPECT_TRUE(int_set.is_intset());
  EXPECT_EQ(int_set.size(), 3u);
  EXPECT_TRUE(int_set.Contains("-7"));

  FetchedKey mixed = Fetched("mixed", FetchedKey::kSet);
  mixed.elements = {"1", "", std::string("\0", 1)};
  ApplyFetchedKey(mixed, db, kLimits, kNow);
  storage::SetValue mixed_set(db.Find("mixed", kNow)->value());
  EXPECT_FALSE(mixed_set.is_intset());
  EXPECT_EQ(mixed_set.size(), 3u);
  EXPECT_TRUE(mixed_set.Contains(""));
  EXPECT_TRUE(mixed_set.Contains(std::string("\0", 1)));

  FetchedKey many_ints = Fetched("many", FetchedKey::kSet);
  for (int i = 0; i < 600; ++i) many_ints.elements.push_back(std::to_string(i * 3));
  ApplyFetchedKey(many_ints, db, kLimits, kNow);
  storage::SetValue many_set(db.Find("many", kNow)->value());
  EXPECT_FALSE(many_set.is_intset());  // beyond set-max-intset-entries (512)
  EXPECT_EQ(many_set.size(), 600u);
  EXPECT_TRUE(many_set.Contains("1797"));
  EXPECT_FALSE(many_set.Contains("1798"));
}

TEST(MirrorFetchApplyTest, SortedSetKeepsEveryScoreExactly) {
  Database db(0);
  const std::vector<double> scores = {-std::numeric_limits<double>::infinity(),
                                      -1e308,
                                      -0.0,
                                      1e-300,
                                      4.9406564584124654e-324,
                                      0.1,
                                      0.30000000000000004,
                                      9007199254740993.0,
                                      1.2345678901234567e+300,
                                      std::numeric_limits<double>::infinity()};
  for (size_t count : {scores.size(), size_t{300}}) {
    FetchedKey z = Fetched("z" + std::to_string(count), FetchedKey::kZSet);
    for (size_t i = 0; i < count; ++i) {
      double score = i < scores.size() ? scores[i] : static_cast<double>(i) / 7;
      z.scored_members.push_back({"m" + std::to_string(i), score});
    }
    EXPECT_EQ(ApplyFetchedKey(z, db, kLimits, kNow), ApplyOutcome::kStored);
    const storage::Value& value = db.Find(z.key, kNow)->value();
    EXPECT_EQ(storage::ZSetEncoding(value), count > 128 ? "skiplist" : "listpack");
    EXPECT_EQ(storage::ZSetSize(value), count);
    for (const storage::ScoredMember& m : z.scored_members) {
      std::optional<double> got = storage::ZSetScore(value, m.member);
      ASSERT_TRUE(got.has_value()) << m.member;
      if (m.score == 0 && std::signbit(m.score) && count <= 128) {
        // A listpack keeps -0 as 0, as Redis 7.0's listpack does.
        EXPECT_EQ(*got, 0.0);
      } else {
        EXPECT_TRUE(SameDouble(*got, m.score)) << m.member << " " << *got << " vs " << m.score;
      }
    }
  }
}

TEST(MirrorFetchApplyTest, ListKeepsOrderAndDuplicates) {
  Database db(0);
  EncodingLimits limits;
  limits.list_max_listpack_size = 4;  // several quicklist nodes for 50 elements
  for (size_t count : {size_t{3}, size_t{50}}) {
    FetchedKey l = Fetched("l" + std::to_string(count), FetchedKey::kList);
    for (size_t i = 0; i < count; ++i) l.elements.push_back(i % 3 == 0 ? "dup" : std::to_string(i));
    l.elements.push_back("");
    EXPECT_EQ(ApplyFetchedKey(l, db, limits, kNow), ApplyOutcome::kStored);
    EXPECT_EQ(ListContents(db.Find(l.key, kNow)->value()), l.elements);
  }
  EXPECT_TRUE(db.Find("l50", kNow)->value().collection() != nullptr);
}

TEST(MirrorFetchApplyTest, ReplacesAKeyOfAnotherType) {
  Database db(0);
  FetchedKey set = Fetched("k", FetchedKey::kSet, kNow + 60'000);
  set.elements = {"a", "b", "c"};
  ApplyFetchedKey(set, db, kLimits, kNow);
  ASSERT_EQ(db.Find("k", kNow)->value().type(), ValueType::kSet);

  FetchedKey hash = Fetched("k", FetchedKey::kHash);
  hash.elements = {"field", "value"};
  EXPECT_EQ(ApplyFetchedKey(hash, db, kLimits, kNow), ApplyOutcome::kStored);
  Entry* e = db.Find("k", kNow);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value().type(), ValueType::kHash);
  EXPECT_EQ(storage::HashSize(e->value()), 1u);
  EXPECT_EQ(storage::HashGet(e->value(), "field"), "value");
  EXPECT_FALSE(e->has_expire());
  EXPECT_EQ(db.size(), 1u);

  // A hash replaced by a smaller hash holds only the new fields.
  FetchedKey smaller = Fetched("k", FetchedKey::kHash, kNow + 10);
  smaller.elements = {"other", "1"};
  ApplyFetchedKey(smaller, db, kLimits, kNow);
  e = db.Find("k", kNow);
  EXPECT_FALSE(storage::HashExists(e->value(), "field"));
  EXPECT_EQ(e->expire_at_ms(), kNow + 10);

  FetchedKey list = Fetched("k", FetchedKey::kList);
  list.elements = {"x"};
  ApplyFetchedKey(list, db, kLimits, kNow);
  EXPECT_EQ(db.Find("k", kNow)->value().type(), ValueType::kList);
  EXPECT_EQ(db.volatile_count(), 0u);
}

TEST(MirrorFetchApplyTest, MissingExpiredOtherAndEmptyDelete) {
  Database db(0);
  auto seed = [&db](const std::string& key) {
    FetchedKey s = Fetched(key, FetchedKey::kString);
    s.string_value = "old";
    ApplyFetchedKey(s, db, kLimits, kNow);
  };
  for (const char* key : {"missing", "expired", "stream", "empty"}) seed(key);
  ASSERT_EQ(db.size(), 4u);

  EXPECT_EQ(ApplyFetchedKey(Fetched("missing", FetchedKey::kMissing), db, kLimits, kNow),
            ApplyOutcome::kDeleted);
  FetchedKey expired = Fetched("expired", FetchedKey::kString, kNow - 1);
  expired.string_value = "new";
  EXPECT_EQ(ApplyFetchedKey(expired, db, kLimits, kNow), ApplyOutcome::kExpired);
  FetchedKey stream = Fetched("stream", FetchedKey::kOther);
  stream.other_type_name = "stream";
  EXPECT_EQ(ApplyFetchedKey(stream, db, kLimits, kNow), ApplyOutcome::kUnsupported);
  EXPECT_EQ(ApplyFetchedKey(Fetched("empty", FetchedKey::kHash), db, kLimits, kNow),
            ApplyOutcome::kDeleted);
  EXPECT_EQ(db.size(), 0u);

  // Absent locally too: nothing to delete, same outcome.
  EXPECT_EQ(ApplyFetchedKey(Fetched("never", FetchedKey::kMissing), db, kLimits, kNow),
            ApplyOutcome::kDeleted);
  // A deadline at this very millisecond is still live (as Database::IsLive).
  FetchedKey now = Fetched("now", FetchedKey::kString, kNow);
  EXPECT_EQ(ApplyFetchedKey(now, db, kLimits, kNow), ApplyOutcome::kStored);
  EXPECT_NE(db.Find("now", kNow), nullptr);
}

TEST(MirrorFetchApplyTest, ParsedReplyAppliesToTheStore) {
  std::vector<std::string> keys = {"s", "h", "z", "l", "x"};
  std::string bytes = Header('*', keys.size());
  bytes += Triple("string", kNow + 50, Bulk("v"));
  bytes += Triple("hash", -1, BulkArray({"a", "1", "b", "2"}));
  bytes += Triple("zset", -1, BulkArray({"m", "-0", "n", "0.10000000000000001"}));
  bytes += Triple("list", -1, BulkArray({"3", "2", "1"}));
  bytes += Triple("none", -2, Bulk(""));
  std::vector<FetchedKey> fetched;
  std::string error;
  ASSERT_TRUE(ParseFetchReply(Parse(bytes), keys, &fetched, &error)) << error;
  Database db(0);
  FetchedKey stale = Fetched("x", FetchedKey::kString);
  ApplyFetchedKey(stale, db, kLimits, kNow);
  for (const FetchedKey& key : fetched) ApplyFetchedKey(key, db, kLimits, kNow);
  EXPECT_EQ(db.size(), 4u);
  EXPECT_EQ(db.Find("s", kNow)->expire_at_ms(), kNow + 50);
  EXPECT_EQ(storage::HashGet(db.Find("h", kNow)->value(), "b"), "2");
  EXPECT_EQ(storage::ZSetScore(db.Find("z", kNow)->value(), "n"), 0.1);
  EXPECT_EQ(ListContents(db.Find("l", kNow)->value()), (std::vector<std::string>{"3", "2", "1"}));
  EXPECT_EQ(db.Find("x", kNow), nullptr);
}

}  // namespace
}  // namespace understudy::replication

// The mirror's fetch against a real redis-server: keys of every type
// (including ones past the listpack limits, tricky scores, binary values and
// deadlines) are fetched over RESP2 and RESP3, applied to a local Database
// and compared, value by value and deadline by deadline, with what the
// server says. Also: pipelined batches, EVALSHA with its NOSCRIPT fallback,
// keys that vanish before the fetch, and a primary without PEXPIRETIME.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/numbers.h"
#include "protocol/reply_parser.h"
#include "protocol/request_writer.h"
#include "replication/mirror_fetch.h"
#include "storage/list_value.h"
#include "tests/unit/replication/redis_processes.h"

namespace understudy::replication {
namespace {

using protocol::ReplyValue;
using storage::Database;
using storage::Entry;
using understudy::testing::RedisProcess;
using understudy::testing::TempDir;
using Args = std::vector<std::string>;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One blocking connection to 127.0.0.1:port with 10 s socket timeouts:
// requests may be pipelined (Send several, then Read as many replies).
class BlockingClient {
 public:
  ~BlockingClient() {
    if (fd_ >= 0) close(fd_);
  }

  bool Connect(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    return connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t sent = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }
  void Queue(const Args& args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    protocol::AppendCommand(&pending_, views);
  }
  bool Flush() {
    bool ok = Send(pending_);
    pending_.clear();
    return ok;
  }

  // The next reply; nullopt on timeout, disconnection or a malformed reply.
  // The resumable scanner finds the reply's end first, so a large reply
  // read in many pieces is parsed once.
  std::optional<ReplyValue> Read() {
    size_t length = 0;
    while (true) {
      protocol::ScanStatus status = scanner_.Scan(input_, &length);
      if (status == protocol::ScanStatus::kComplete) break;
      if (status == protocol::ScanStatus::kError) return std::nullopt;
      char chunk[65536];
      ssize_t received = recv(fd_, chunk, sizeof(chunk), 0);
      if (received <= 0) return std::nullopt;
      input_.append(chunk, static_cast<size_t>(received));
    }
    ReplyValue reply;
    size_t consumed = 0;
    if (protocol::ParseReply(std::string_view(input_).substr(0, length), &reply, &consumed) !=
        protocol::ScanStatus::kComplete) {
      return std::nullopt;
    }
    input_.erase(0, length);
    return reply;
  }

  ReplyValue Call(const Args& args) {
    Queue(args);
    EXPECT_TRUE(Flush());
    std::optional<ReplyValue> reply = Read();
    EXPECT_TRUE(reply.has_value());
    return reply.value_or(ReplyValue{});
  }
  // Sends every command at once, then reads every reply.
  std::vector<ReplyValue> Pipeline(const std::vector<Args>& commands) {
    for (const Args& args : commands) Queue(args);
    EXPECT_TRUE(Flush());
    std::vector<ReplyValue> replies;
    for (size_t i = 0; i < commands.size(); ++i) {
      std::optional<ReplyValue> reply = Read();
      EXPECT_TRUE(reply.has_value());
      if (!reply) break;
      replies.push_back(std::move(*reply));
    }
    return replies;
  }

 private:
  int fd_ = -1;
  std::string pending_;
  std::string input_;
  protocol::ReplyScanner scanner_;
};

std::vector<std::string> Texts(const ReplyValue& reply) {
  std::vector<std::string> out;
  for (const ReplyValue& e : reply.elements) out.push_back(e.str);
  return out;
}

bool SameDouble(double a, double b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

// Scores that a careless conversion would change: denormals, 17-digit
// values, infinities, -0, integers past 2^53, and then arbitrary finite
// bit patterns.
std::vector<double> TrickyScores(size_t count) {
  std::vector<double> scores = {0.1,
                                1e-300,
                                -std::numeric_limits<double>::infinity(),
                                std::numeric_limits<double>::infinity(),
                                -0.0,
                                4.9406564584124654e-324,
                                0.30000000000000004,
                                1.2345678901234567e+300,
                                -2.2250738585072014e-308,
                                9007199254740993.0,
                                123456789.12345679,
                                1.0 / 3};
  std::mt19937_64 rng(20240501);
  while (scores.size() < count) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (std::isfinite(d)) scores.push_back(d);
  }
  return scores;
}

const std::string kBinary("bin\0ary\r\nvalue\xff", 16);

// What the test wrote, to check the fetched values against the inputs as
// well as against what the server replies now.
struct Dataset {
  std::vector<std::string> keys;
  std::vector<double> big_zset_scores;  // member "m<i>" has score [i]
};

class MirrorFetchRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(server_.StartServer(dir_.path(), "primary"));
    ASSERT_TRUE(admin_.Connect(server_.port()));
  }

  // Writes keys of every type and shape on the server.
  Dataset Populate() {
    Dataset data;
    std::vector<Args> commands;
    auto add = [&](const std::string& key, Args args) {
      data.keys.push_back(key);
      commands.push_back(std::move(args));
    };
    add("s:plain", {"SET", "s:plain", "hello"});
    add("s:empty", {"SET", "s:empty", ""});
    add("s:binary", {"SET", "s:binary", kBinary});
    add("s:int", {"SET", "s:int", "-12345"});
    std::string big_string(1 << 20, '\0');
    for (size_t i = 0; i < big_string.size(); ++i) big_string[i] = static_cast<char>(i * 31);
    add("s:big", {"SET", "s:big", big_string});
    add("s:ttl", {"SET", "s:ttl", "expiring", "PX", "100000"});
    add(kBinary, {"SET", kBinary, "binary key"});

    add("h:small", {"HSET", "h:small", "f1", "v1", "", "empty field", "f3", "", "bin", kBinary});
    Args big_hash = {"HSET", "h:big"};
    for (int i = 0; i < 1000; ++i) {
      big_hash.push_back("field:" + std::to_string(i));
      big_hash.push_back("value:" + std::to_string(i * i));
    }
    add("h:big", big_hash);
    add("h:longvalue", {"HSET", "h:longvalue", "f", std::string(100, 'v')});
    commands.push_back({"PEXPIRE", "h:big", "200000"});

    add("set:ints", {"SADD", "set:ints", "1", "-5", "9223372036854775807", "0"});
    add("set:strings", {"SADD", "set:strings", "a", "", kBinary});
    Args big_set = {"SADD", "set:big"};
    for (int i = 0; i < 600; ++i)
      big_set.push_back(i % 2 ? "member" + std::to_string(i) : std::to_string(i));
    add("set:big", big_set);

    add("z:small", {"ZADD", "z:small", "0.1", "a", "1e-300", "b", "-inf", "c", "3", ""});
    data.big_zset_scores = TrickyScores(300);
    Args big_zset = {"ZADD", "z:big"};
    for (size_t i = 0; i < data.big_zset_scores.size(); ++i) {
      big_zset.push_back(FormatDouble(data.big_zset_scores[i]));
      big_zset.push_back("m" + std::to_string(i));
    }
    add("z:big", big_zset);
    // Added once z:big is a skiplist, this zero keeps its sign on the server.
    commands.push_back({"ZADD", "z:big", "-0", "negative-zero"});
    commands.push_back({"PEXPIREAT", "z:big", std::to_string(NowMs() + 300000)});

    add("l:small", {"RPUSH", "l:small", "x", "", kBinary, "x"});
    Args big_list = {"RPUSH", "l:big"};
    for (int i = 0; i < 5000; ++i) big_list.push_back("element-" + std::to_string(i % 700));
    add("l:big", big_list);

    add("stream", {"XADD", "stream", "*", "field", "value"});
    data.keys.push_back("never-existed");

    for (const ReplyValue& reply : admin_.Pipeline(commands)) {
      EXPECT_FALSE(reply.IsError()) << reply.str;
    }
    return data;
  }

  // Fetches `keys` in one request over a new connection speaking `resp`.
  std::vector<FetchedKey> Fetch(const std::vector<std::string>& keys, int resp) {
    BlockingClient client;
    EXPECT_TRUE(client.Connect(server_.port()));
    if (resp == 3) {
      ReplyValue hello = client.Call({"HELLO", "3"});
      EXPECT_EQ(hello.type, '%');
    }
    EXPECT_TRUE(client.Send(BuildFetchRequest(keys)));
    std::optional<ReplyValue> reply = client.Read();
    EXPECT_TRUE(reply.has_value());
    std::vector<FetchedKey> fetched;
    std::string error;
    EXPECT_TRUE(reply && ParseFetchReply(*reply, keys, &fetched, &error)) << error;
    return fetched;
  }

  // Checks the local `key` against the server's, for every type.
  void ExpectSameAsServer(Database& db, const std::string& key, int64_t now_ms) {
    SCOPED_TRACE("key " + key);
    std::vector<ReplyValue> head = admin_.Pipeline({{"TYPE", key}, {"PEXPIRETIME", key}});
    ASSERT_EQ(head.size(), 2u);
    const std::string& type = head[0].str;
    Entry* entry = db.Find(key, now_ms);
    if (type == "none" || type == "stream") {
      EXPECT_EQ(entry, nullptr);
      return;
    }
    ASSERT_NE(entry, nullptr);
    storage::Value& value = entry->value();
    EXPECT_EQ(storage::ValueTypeName(value.type()), type);
    EXPECT_EQ(entry->expire_at_ms(), head[1].integer);  // both -1 without a deadline

    if (type == "string") {
      EXPECT_EQ(value.string(), admin_.Call({"GET", key}).str);
    } else if (type == "hash") {
      std::vector<std::string> all = Texts(admin_.Call({"HGETALL", key}));
      EXPECT_EQ(storage::HashSize(value), all.size() / 2);
      std::vector<Args> gets;
      for (size_t i = 0; i < all.size(); i += 2) gets.push_back({"HGET", key, all[i]});
      std::vector<ReplyValue> values = admin_.Pipeline(gets);
      ASSERT_EQ(values.size(), gets.size());
      for (size_t i = 0; i < gets.size(); ++i) {
        EXPECT_EQ(storage::HashGet(value, gets[i][2]), values[i].str) << gets[i][2];
      }
      EXPECT_EQ(storage::HashEncoding(value), admin_.Call({"OBJECT", "ENCODING", key}).str);
    } else if (type == "set") {
      std::vector<std::string> members = Texts(admin_.Call({"SMEMBERS", key}));
      storage::SetValue set(value);
      EXPECT_EQ(set.size(), members.size());
      EXPECT_EQ(static_cast<int64_t>(set.size()), admin_.Call({"SCARD", key}).integer);
      for (const std::string& member : members) EXPECT_TRUE(set.Contains(member)) << member;
      EXPECT_EQ(set.Encoding(), admin_.Call({"OBJECT", "ENCODING", key}).str);
    } else if (type == "zset") {
      std::vector<std::string> ranked = Texts(admin_.Call({"ZRANGE", key, "0", "-1"}));
      ASSERT_EQ(storage::ZSetSize(value), ranked.size());
      std::vector<storage::ZSetItem> local;
      storage::ZSetRangeByRank(value, 0, ranked.size() - 1, false, &local);
      std::vector<Args> scores;
      for (size_t i = 0; i < ranked.size(); ++i) {
        EXPECT_EQ(local[i].member, ranked[i]) << "rank " << i;
        scores.push_back({"ZSCORE", key, ranked[i]});
      }
      std::vector<ReplyValue> server_scores = admin_.Pipeline(scores);
      ASSERT_EQ(server_scores.size(), ranked.size());
      for (size_t i = 0; i < ranked.size(); ++i) {
        // The text a local ZSCORE would reply with is the server's own.
        EXPECT_EQ(FormatDouble(*storage::ZSetScore(value, ranked[i])), server_scores[i].str)
            << ranked[i];
      }
      EXPECT_EQ(storage::ZSetEncoding(value), admin_.Call({"OBJECT", "ENCODING", key}).str);
    } else if (type == "list") {
      std::vector<std::string> server_list = Texts(admin_.Call({"LRANGE", key, "0", "-1"}));
      std::vector<std::string> local;
      for (storage::list::Iterator it(value, 0, storage::ListEnd::kTail); it.Valid(); it.Next()) {
        local.emplace_back(it.Get());
      }
      EXPECT_EQ(local, server_list);
    } else {
      ADD_FAILURE() << "unexpected type " << type;
    }
  }

  TempDir dir_;
  RedisProcess server_;
  BlockingClient admin_;
};

TEST_F(MirrorFetchRedisTest, EveryTypeOverResp2AndResp3) {
  Dataset data = Populate();
  for (int resp : {2, 3}) {
    SCOPED_TRACE("RESP" + std::to_string(resp));
    Database db(0);
    // Stale local keys of other types, replaced (or removed) by the fetch.
    for (const std::string& key : {std::string("h:small"), std::string("z:big"),
                                   std::string("never-existed"), std::string("stream")}) {
      bool created = false;
      Entry* entry = db.FindOrCreate(key, NowMs(), &created);
      storage::list::Init(entry->value());
      storage::list::Push(entry->value(), storage::ListEnd::kTail, "stale", -2);
      db.SetExpire(entry, NowMs() + 999'999);
    }

    std::vector<FetchedKey> fetched = Fetch(data.keys, resp);
    ASSERT_EQ(fetched.size(), data.keys.size());
    int64_t now_ms = NowMs();
    int stored = 0, deleted = 0, unsupported = 0;
    for (const FetchedKey& key : fetched) {
      switch (ApplyFetchedKey(key, db, EncodingLimits{}, now_ms)) {
        case ApplyOutcome::kStored:
          ++stored;
          break;
        case ApplyOutcome::kDeleted:
          ++deleted;
          break;
        case ApplyOutcome::kUnsupported:
          ++unsupported;
          break;
        case ApplyOutcome::kExpired:
          ADD_FAILURE() << "nothing should have expired yet: " << key.key;
          break;
      }
    }
    EXPECT_EQ(deleted, 1);      // never-existed
    EXPECT_EQ(unsupported, 1);  // stream
    EXPECT_EQ(stored, static_cast<int>(data.keys.size()) - 2);
    EXPECT_EQ(db.size(), data.keys.size() - 2);
    for (const std::string& key : data.keys) ExpectSameAsServer(db, key, now_ms);

    // Against the inputs, too: every score bit for bit, except the sign of
    // a zero (the server's own listpack, which the ZADD started with before
    // the set outgrew it, kept -0 as 0; the ZSCORE comparison above checks
    // that the mirror holds what the server holds).
    const storage::Value& zset = db.Find("z:big", now_ms)->value();
    for (size_t i = 0; i < data.big_zset_scores.size(); ++i) {
      std::optional<double> score = storage::ZSetScore(zset, "m" + std::to_string(i));
      ASSERT_TRUE(score.has_value());
      double input = data.big_zset_scores[i];
      EXPECT_TRUE(input == 0 ? *score == 0 : SameDouble(*score, input))
          << "m" << i << ": " << *score << " != " << data.big_zset_scores[i];
    }
    EXPECT_EQ(admin_.Call({"ZSCORE", "z:big", "negative-zero"}).str, "-0");
    std::optional<double> negative_zero = storage::ZSetScore(zset, "negative-zero");
    ASSERT_TRUE(negative_zero.has_value());
    EXPECT_TRUE(*negative_zero == 0 && std::signbit(*negative_zero));
    EXPECT_EQ(db.Find(kBinary, now_ms)->value().string(), "binary key");
    EXPECT_EQ(db.Find("s:binary", now_ms)->value().string(), kBinary);
    EXPECT_EQ(db.Find("s:big", now_ms)->value().string().size(), size_t{1} << 20);
    EXPECT_EQ(storage::HashGet(db.Find("h:small", now_ms)->value(), "bin"), kBinary);
    int64_t ttl_deadline = db.Find("s:ttl", now_ms)->expire_at_ms();
    EXPECT_GT(ttl_deadline, now_ms + 90'000);
    EXPECT_LE(ttl_deadline, now_ms + 100'000);
  }
}

TEST_F(MirrorFetchRedisTest, PipelinedBatches) {
  constexpr int kKeys = 2000;
  constexpr int kBatch = 100;
  std::vector<Args> writes;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back("key:" + std::to_string(i));
    if (i % 5 == 0) {
      writes.push_back({"SET", keys.back(), "v" + std::to_string(i), "PX", "500000"});
    } else {
      writes.push_back({"SET", keys.back(), "v" + std::to_string(i)});
    }
  }
  admin_.Pipeline(writes);

  BlockingClient client;
  ASSERT_TRUE(client.Connect(server_.port()));
  std::string requests;
  for (int start = 0; start < kKeys; start += kBatch) {
    requests += BuildFetchRequest(std::span<const std::string>(keys).subspan(start, kBatch));
  }
  ASSERT_TRUE(client.Send(requests));
  Database db(0);
  int64_t now_ms = NowMs();
  for (int start = 0; start < kKeys; start += kBatch) {
    std::optional<ReplyValue> reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    std::vector<FetchedKey> fetched;
    std::string error;
    ASSERT_TRUE(ParseFetchReply(*reply, std::span<const std::string>(keys).subspan(start, kBatch),
                                &fetched, &error))
        << error;
    for (const FetchedKey& key : fetched) {
      EXPECT_EQ(ApplyFetchedKey(key, db, EncodingLimits{}, now_ms), ApplyOutcome::kStored);
    }
  }
  EXPECT_EQ(db.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(db.volatile_count(), static_cast<size_t>(kKeys / 5));
  for (int i = 0; i < kKeys; i += 37) ExpectSameAsServer(db, keys[i], now_ms);
}

TEST_F(MirrorFetchRedisTest, EvalShaWithNoScriptFallback) {
  admin_.Pipeline({{"HSET", "h", "a", "1"}, {"ZADD", "z", "0.1", "m"}});
  std::vector<std::string> keys = {"h", "z", "absent"};
  const std::string sha = FetchScriptSha1();
  ASSERT_EQ(admin_.Call({"SCRIPT", "FLUSH"}).str, "OK");

  ASSERT_TRUE(admin_.Send(BuildFetchRequestSha(keys, sha)));
  std::optional<ReplyValue> reply = admin_.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(IsNoScriptError(*reply)) << reply->str;

  // Our SHA1 is the server's: after SCRIPT LOAD (or one EVAL) EVALSHA works.
  EXPECT_EQ(admin_.Call({"SCRIPT", "LOAD", std::string(FetchScript())}).str, sha);
  ASSERT_TRUE(admin_.Send(BuildFetchRequestSha(keys, sha)));
  reply = admin_.Read();
  ASSERT_TRUE(reply.has_value());
  std::vector<FetchedKey> by_sha;
  std::string error;
  ASSERT_TRUE(ParseFetchReply(*reply, keys, &by_sha, &error)) << error;

  std::vector<FetchedKey> by_eval = Fetch(keys, 2);
  ASSERT_EQ(by_sha.size(), 3u);
  ASSERT_EQ(by_eval.size(), 3u);
  EXPECT_EQ(by_sha[0].elements, by_eval[0].elements);
  EXPECT_EQ(by_sha[0].elements, (std::vector<std::string>{"a", "1"}));
  ASSERT_EQ(by_sha[1].scored_members.size(), 1u);
  EXPECT_EQ(by_sha[1].scored_members[0].score, 0.1);
  EXPECT_EQ(by_sha[2].type, FetchedKey::kMissing);
}

TEST_F(MirrorFetchRedisTest, KeysGoneBeforeTheFetchAreDeleted) {
  admin_.Pipeline({{"SET", "gone", "v", "PX", "1"}, {"SET", "kept", "v"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  admin_.Call({"DEL", "kept"});
  std::vector<std::string> keys = {"gone", "kept"};
  Database db(0);
  for (const std::string& key : keys) {
    bool created = false;
    db.FindOrCreate(key, NowMs(), &created)->value().SetString("local");
  }
  std::vector<FetchedKey> fetched = Fetch(keys, 2);
  ASSERT_EQ(fetched.size(), 2u);
  for (const FetchedKey& key : fetched) {
    EXPECT_EQ(key.type, FetchedKey::kMissing) << key.key;
    EXPECT_EQ(ApplyFetchedKey(key, db, EncodingLimits{}, NowMs()), ApplyOutcome::kDeleted);
  }
  EXPECT_EQ(db.size(), 0u);
}

// A primary without PEXPIRETIME (Redis 6, here simulated by renaming the
// command away): the script falls back to TIME + PTTL.
TEST(MirrorFetchRedisFallbackTest, DeadlinesWithoutPexpiretime) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  RedisProcess server;
  const std::string hidden = "pexpiretime-" + std::to_string(getpid());
  ASSERT_TRUE(
      server.StartServer(dir.path(), "old-primary", {"--rename-command", "PEXPIRETIME", hidden}));
  BlockingClient admin;
  ASSERT_TRUE(admin.Connect(server.port()));
  EXPECT_TRUE(admin.Call({"PEXPIRETIME", "x"}).IsError());
  admin.Pipeline({{"SET", "a", "1", "PX", "60000"},
                  {"SET", "b", "2"},
                  {"ZADD", "z", "1.5", "m"},
                  {"PEXPIRE", "z", "120000"}});
  std::vector<std::string> keys = {"a", "b", "z", "none"};
  BlockingClient client;
  ASSERT_TRUE(client.Connect(server.port()));
  ASSERT_TRUE(client.Send(BuildFetchRequest(keys)));
  std::optional<ReplyValue> reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  std::vector<FetchedKey> fetched;
  std::string error;
  ASSERT_TRUE(ParseFetchReply(*reply, keys, &fetched, &error)) << error;
  int64_t a_deadline = admin.Call({hidden, "a"}).integer;
  int64_t z_deadline = admin.Call({hidden, "z"}).integer;
  ASSERT_GT(a_deadline, 0);
  // TIME and PTTL are read a moment apart: exact to about a millisecond.
  EXPECT_NEAR(fetched[0].expire_at_ms, a_deadline, 2);
  EXPECT_EQ(fetched[1].expire_at_ms, -1);
  EXPECT_NEAR(fetched[2].expire_at_ms, z_deadline, 2);
  EXPECT_EQ(fetched[2].type, FetchedKey::kZSet);
  EXPECT_EQ(fetched[3].type, FetchedKey::kMissing);
}

}  // namespace
}  // namespace understudy::replication

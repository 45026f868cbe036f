// MemoryGuard: per-class key counts that follow every way a key comes and
// goes, and eviction under maxmemory that spares the classes marked
// `evict no` (and near-cached ones) and refuses writes with -OOM instead.
// maxmemory 1 keeps the store over its limit whatever it holds, so these
// tests do not depend on the allocator's figures.
#include "server/memory_guard.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "replication/key_class.h"
#include "server/server.h"

namespace understudy::server {
namespace {

constexpr std::string_view kOom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

replication::KeyClass Class(std::string name, std::string pattern, bool evict) {
  replication::KeyClass c;
  c.name = std::move(name);
  c.pattern = std::move(pattern);
  c.evict = evict;
  return c;
}

Config ClassesConfig() {
  Config config;
  config.classes.push_back(Class("blacklist", "bl:*", /*evict=*/false));
  config.classes.push_back(Class("cache", "cache:*", /*evict=*/true));
  replication::KeyClass near = Class("near", "near:*", /*evict=*/true);
  near.mirror = true;
  near.near_cache = true;
  config.classes.push_back(near);
  return config;
}

class MemoryGuardTest : public ::testing::Test {
 protected:
  MemoryGuardTest() : server_(ClassesConfig(), &clock_), client_(server_.AddClient()) {}

  std::string Run(std::initializer_list<std::string_view> args) {
    std::vector<std::string_view> argv(args);
    client_.reply.clear();
    server_.Execute(client_, argv);
    std::string out = std::move(client_.reply);
    client_.reply.clear();
    return out;
  }
  // Keys of each class: blacklist, cache, near, default.
  std::vector<uint64_t> Keys() {
    std::vector<uint64_t> keys;
    for (const ClassMemoryStats& stats : server_.memory_guard().class_stats()) {
      keys.push_back(stats.keys);
    }
    return keys;
  }
  // Eviction goes on over several commands (a bounded amount per command);
  // until nothing evictable is left, commands run. SETs `key` until one is
  // not answered +OK (at most 100 times) and returns that reply.
  std::string SetUntilRefused(std::string_view key) {
    std::string reply;
    for (int i = 0; i < 100; ++i) {
      reply = Run({"SET", key, "v"});
      if (reply != "+OK\r\n") break;
    }
    return reply;
  }
  const ClassMemoryStats& Stats(size_t index) {
    stats_ = server_.memory_guard().class_stats();
    return stats_[index];
  }

  ManualClock clock_;
  Server server_;
  ClientSession& client_;
  std::vector<ClassMemoryStats> stats_;
};

using Counts = std::vector<uint64_t>;

TEST_F(MemoryGuardTest, ClassKeyCountsFollowEveryWayAKeyComesAndGoes) {
  EXPECT_EQ(Keys(), (Counts{0, 0, 0, 0}));
  Run({"SET", "bl:1", "x"});
  Run({"SET", "bl:1", "y"});  // an overwrite adds nothing
  Run({"SADD", "bl:2", "a", "b"});
  Run({"SET", "cache:1", "x"});
  Run({"SET", "other", "x"});
  EXPECT_EQ(Keys(), (Counts{2, 1, 0, 1}));

  Run({"DEL", "bl:2", "missing"});
  EXPECT_EQ(Keys(), (Counts{1, 1, 0, 1}));
  Run({"SREM", "bl:9", "a"});
  Run({"SADD", "bl:9", "a"});
  Run({"SREM", "bl:9", "a"});  // the last member gone: the key goes too
  EXPECT_EQ(Keys(), (Counts{1, 1, 0, 1}));

  // RENAME moves a key between classes; MOVE between databases.
  Run({"RENAME", "cache:1", "bl:3"});
  EXPECT_EQ(Keys(), (Counts{2, 0, 0, 1}));
  EXPECT_EQ(Run({"MOVE", "bl:3", "1"}), ":1\r\n");
  EXPECT_EQ(Keys(), (Counts{2, 0, 0, 1}));

  // Expiry, lazy (on access) and active (the cron).
  Run({"SET", "cache:2", "x", "PX", "100"});
  Run({"SET", "cache:3", "x", "PX", "100"});
  EXPECT_EQ(Keys(), (Counts{2, 2, 0, 1}));
  clock_.AdvanceMs(200);
  EXPECT_EQ(Run({"GET", "cache:2"}), "$-1\r\n");
  EXPECT_EQ(Keys(), (Counts{2, 1, 0, 1}));
  server_.Cron();
  EXPECT_EQ(Keys(), (Counts{2, 0, 0, 1}));
  // An expired key written again counts once.
  Run({"SET", "cache:4", "x", "PX", "100"});
  clock_.AdvanceMs(200);
  Run({"SET", "cache:4", "y"});
  EXPECT_EQ(Keys(), (Counts{2, 1, 0, 1}));

  // SWAPDB keeps the totals; FLUSHDB and FLUSHALL empty them.
  EXPECT_EQ(Run({"SWAPDB", "0", "1"}), "+OK\r\n");
  EXPECT_EQ(Keys(), (Counts{2, 1, 0, 1}));
  EXPECT_EQ(Run({"FLUSHDB"}), "+OK\r\n");  // database 0 now holds only bl:3
  EXPECT_EQ(Keys(), (Counts{1, 1, 0, 1}));
  EXPECT_EQ(Run({"FLUSHALL"}), "+OK\r\n");
  EXPECT_EQ(Keys(), (Counts{0, 0, 0, 0}));
}

TEST_F(MemoryGuardTest, EvictsOnlyEvictableClassesThenRefusesWithOom) {
  for (int i = 0; i < 5; ++i) Run({"SET", "bl:" + std::to_string(i), "revoked"});
  for (int i = 0; i < 300; ++i) Run({"SET", "cache:" + std::to_string(i), "v"});
  for (int i = 0; i < 3; ++i) Run({"SET", "near:" + std::to_string(i), "v"});
  Run({"SET", "volatile-default", "v", "EX", "100"});
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory-policy", "allkeys-random"}), "+OK\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "1"}), "+OK\r\n");

  EXPECT_EQ(SetUntilRefused("cache:new"), kOom);
  EXPECT_EQ(Keys(), (Counts{5, 0, 3, 0}));
  EXPECT_EQ(server_.memory_guard().evicted_keys(), Stats(1).evicted + Stats(3).evicted);
  EXPECT_GE(Stats(1).evicted, 300u);
  EXPECT_EQ(Stats(3).evicted, 1u);
  EXPECT_EQ(Stats(0).evicted, 0u);
  EXPECT_EQ(Stats(2).evicted, 0u);
  EXPECT_EQ(Stats(1).refused, 1u);

  // A new revocation is refused, not stored at the expense of another.
  EXPECT_EQ(Run({"SET", "bl:new", "revoked"}), kOom);
  EXPECT_EQ(Stats(0).refused, 1u);
  EXPECT_EQ(server_.memory_guard().refused_writes(), 2u);
  // Reads and deletions still run.
  EXPECT_EQ(Run({"GET", "bl:0"}), "$7\r\nrevoked\r\n");
  EXPECT_EQ(Run({"EXISTS", "bl:0", "bl:1", "bl:2", "bl:3", "bl:4"}), ":5\r\n");
  EXPECT_EQ(Run({"DEL", "bl:4"}), ":1\r\n");
  // With the limit lifted, writes run again.
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "0"}), "+OK\r\n");
  EXPECT_EQ(Run({"SET", "bl:new", "revoked"}), "+OK\r\n");
}

TEST_F(MemoryGuardTest, NoevictionRefusesWithoutEvicting) {
  Run({"SET", "cache:1", "v"});
  Run({"CONFIG", "SET", "maxmemory", "1"});
  EXPECT_EQ(Run({"SET", "cache:2", "v"}), kOom);
  EXPECT_EQ(Keys(), (Counts{0, 1, 0, 0}));
  EXPECT_EQ(server_.memory_guard().evicted_keys(), 0u);
}

TEST_F(MemoryGuardTest, VolatilePoliciesEvictOnlyKeysWithADeadline) {
  for (const char* policy : {"volatile-ttl", "volatile-random", "volatile-lru"}) {
    SCOPED_TRACE(policy);
    Run({"CONFIG", "SET", "maxmemory", "0"});
    Run({"FLUSHALL"});
    for (int i = 0; i < 50; ++i) {
      Run({"SET", "cache:keep" + std::to_string(i), "v"});
      Run({"SET", "cache:ttl" + std::to_string(i), "v", "EX", std::to_string(100 + i)});
      Run({"SET", "bl:ttl" + std::to_string(i), "v", "EX", "100"});
    }
    Run({"CONFIG", "SET", "maxmemory-policy", policy});
    Run({"CONFIG", "SET", "maxmemory", "1"});
    EXPECT_EQ(SetUntilRefused("x"), kOom);
    EXPECT_EQ(Keys(), (Counts{50, 50, 0, 0}));
    EXPECT_EQ(Run({"EXISTS", "cache:keep0", "cache:keep49", "bl:ttl0"}), ":3\r\n");
  }
}

TEST(EvictionPolicyTest, RedisPolicyNamesMapToWhatUnderstudyDoes) {
  EXPECT_EQ(ParseEvictionPolicy("noeviction"), EvictionPolicy::kNoEviction);
  EXPECT_EQ(ParseEvictionPolicy("allkeys-random"), EvictionPolicy::kAllKeysRandom);
  EXPECT_EQ(ParseEvictionPolicy("allkeys-lru"), EvictionPolicy::kAllKeysRandom);
  EXPECT_EQ(ParseEvictionPolicy("allkeys-lfu"), EvictionPolicy::kAllKeysRandom);
  EXPECT_EQ(ParseEvictionPolicy("volatile-random"), EvictionPolicy::kVolatileRandom);
  EXPECT_EQ(ParseEvictionPolicy("volatile-lru"), EvictionPolicy::kVolatileRandom);
  EXPECT_EQ(ParseEvictionPolicy("volatile-lfu"), EvictionPolicy::kVolatileRandom);
  EXPECT_EQ(ParseEvictionPolicy("volatile-ttl"), EvictionPolicy::kVolatileTtl);
}

}  // namespace
}  // namespace understudy::server

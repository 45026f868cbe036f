// The reconciler against a real redis-server: the end states each merge
// rule leaves on the primary, lww conflicts under both policies, writes fed
// during the run, and exactly once: a run stopped after some batches, or a
// primary killed and restarted from its append-only file between batches,
// followed by a new run on the same records, leaves every counter at the
// exact sum; a checkpoint already on the primary skips what it covers.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/numbers.h"
#include "replication/reconciler.h"
#include "storage/hash_value.h"
#include "storage/set_value.h"
#include "tests/unit/replication/reconcile_test_support.h"
#include "tests/unit/replication/redis_processes.h"

namespace understudy::replication {
namespace {

using storage::Database;
using storage::JournalOp;
using storage::JournalRecord;
using understudy::testing::RedisCommand;
using understudy::testing::RedisProcess;
using understudy::testing::TempDir;
using Args = std::vector<std::string>;

using reconcile_test::ExtractKeys;

class ReconcilerRedisTest : public ::testing::Test {
 protected:
  ReconcilerRedisTest() : classifier_(reconcile_test::TestClasses()), db0_(0), db1_(1) {}

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(redis_.StartServer(dir_.path(), "primary"));
  }

  int64_t Now() const { return clock_.NowMs(); }

  JournalRecord Command(Args args, uint32_t db = 0) {
    JournalRecord record;
    record.op = JournalOp::kCommand;
    record.seq = ++seq_;
    record.time_ms = Now();
    record.db = db;
    record.args = std::move(args);
    return record;
  }
  JournalRecord Baseline(std::string key, std::string state) {
    JournalRecord record;
    record.op = JournalOp::kBaseline;
    record.seq = ++seq_;
    record.time_ms = Now();
    record.key = std::move(key);
    record.state = std::move(state);
    return record;
  }
  void PutString(Database& db, const std::string& key, const std::string& value,
                 int64_t deadline = storage::kNoExpire) {
    Database::Detached item;
    item.value.SetString(value);
    item.expire_at_ms = deadline;
    db.Attach(key, std::move(item));
  }

  std::optional<protocol::ReplyValue> Primary(const Args& args, int port = 0) {
    return RedisCommand(port == 0 ? redis_.port() : port, args, "", 5000);
  }
  std::string PrimaryText(const Args& args) {
    std::optional<protocol::ReplyValue> reply = Primary(args);
    if (!reply) return "<no reply>";
    if (reply->IsNull()) return "<nil>";
    if (reply->type == ':') return std::to_string(reply->integer);
    return reply->str;
  }
  int64_t PrimaryInt(const Args& args) {
    std::optional<protocol::ReplyValue> reply = Primary(args);
    if (!reply) return -1000;
    if (reply->type == ':') return reply->integer;
    int64_t n = 0;
    return ParseInt64(reply->str, &n) ? n : -1000;
  }

  // Runs a reconciler until `done` or until it is stopped after
  // `stop_after_batches` committed batches (then nullopt).
  std::optional<ReconcileResult> Run(std::vector<JournalRecord> records, PlanLimits limits = {},
                                     int stop_after_batches = -1,
                                     std::function<void(Reconciler&, int)> on_batch = nullptr) {
    boost::asio::io_context io;
    ReconcilerOptions options;
    options.connection.host = "127.0.0.1";
    options.connection.port = redis_.port();
    options.limits = limits;
    Reconciler reconciler(
        io, options, classifier_,
        [this](uint32_t db) -> Database* {
          if (db == 0) return &db0_;
          return db == 1 ? &db1_ : nullptr;
        },
        ExtractKeys, "test-journal", clock_);
    int batches = 0;
    bool stopped = false;
    reconciler.set_batch_listener([&](const ReconcileBatch&) {
      ++batches;
      if (on_batch) on_batch(reconciler, batches);
      if (batches == stop_after_batches) {
        reconciler.Stop();
        stopped = true;
      }
    });
    std::optional<ReconcileResult> result;
    reconciler.Start(std::move(records), [&](const ReconcileResult& r) { result = r; });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!result && !stopped && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(20));
    }
    last_progress_ = reconciler.progress();
    EXPECT_TRUE(result || stopped) << "the reconciler neither finished nor stopped in 30 s";
    return result;
  }

  TempDir dir_;
  RedisProcess redis_;
  SystemClock clock_;
  KeyClassifier classifier_;
  Database db0_;
  Database db1_;
  uint64_t seq_ = 0;
  ReconcileProgress last_progress_;
};

TEST_F(ReconcilerRedisTest, EachMergeRuleLeavesTheExpectedPrimaryState) {
  const int64_t now = Now();
  // The primary as it came back.
  Primary({"SADD", "bl:set", "x"});
  Primary({"PEXPIRE", "bl:set", "100000"});
  Primary({"SET", "bl:kept", "primary-value", "PX", "10000"});
  Primary({"SET", "bl:forever", "p"});
  Primary({"SET", "rl:a", "100"});
  Primary({"HSET", "rl:h", "f", "1"});
  Primary({"SET", "sess:1", "before"});
  Primary({"SET", "sess:gone", "before"});
  // The local store after the outage (final states, deadlines).
  {
    Database::Detached item;
    storage::SetValue set = storage::SetValue::Create(item.value, "a");
    set.Add("a", storage::SetLimits());
    set.Add("b", storage::SetLimits());
    item.expire_at_ms = now + 500'000;
    db0_.Attach("bl:set", std::move(item));
  }
  PutString(db0_, "rl:a", "13", now + 60'000);
  PutString(db0_, "rl:new", "3", now + 60'000);
  PutString(db0_, "rl:f", "1.5");
  PutString(db0_, "sess:1", "after", now + 3'600'000);
  FetchedKey before;
  before.type = FetchedKey::kString;
  before.string_value = "before";

  std::vector<JournalRecord> records;
  records.push_back(Baseline("sess:1", EncodeFetchedState(before)));
  records.push_back(Baseline("sess:gone", EncodeFetchedState(before)));
  records.push_back(Command({"SADD", "bl:set", "a", "b"}));
  records.push_back(Command({"SREM", "bl:set", "x"}));  // never replayed
  records.push_back(Command({"SET", "bl:tok", "1", "EX", "1000"}));
  records.push_back(Command({"SET", "bl:kept", "local-value", "EX", "5000"}));
  records.push_back(Command({"SET", "bl:forever", "l", "EX", "5"}));
  records.push_back(Command({"DEL", "bl:kept"}));
  for (int i = 0; i < 3; ++i) records.push_back(Command({"INCR", "rl:a"}));
  records.push_back(Command({"INCRBY", "rl:a", "10"}));
  records.push_back(Command({"INCR", "rl:new"}));
  records.push_back(Command({"INCRBY", "rl:new", "2"}));
  records.push_back(Command({"INCR", "rl:expired"}));  // gone locally: its window ended
  records.push_back(Command({"HINCRBY", "rl:h", "f", "2"}));
  records.push_back(Command({"HINCRBY", "rl:h", "f", "2"}));
  for (int i = 0; i < 3; ++i) records.push_back(Command({"INCRBYFLOAT", "rl:f", "0.5"}));
  records.push_back(Command({"SET", "sess:1", "during"}));
  records.push_back(Command({"SET", "sess:1", "after", "EX", "3600"}));
  records.push_back(Command({"DEL", "sess:gone"}));
  const uint64_t last_seq = seq_;

  std::optional<ReconcileResult> result = Run(std::move(records));
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->ok) << result->error;
  EXPECT_EQ(result->records_replayed, last_seq - 2);  // the baselines are not writes
  EXPECT_EQ(result->conflicts, 0u);
  EXPECT_EQ(result->apply_errors, 0u);
  EXPECT_EQ(result->applied_up_to, last_seq);
  EXPECT_EQ(PrimaryText({"GET", "understudy:reconciled:test-journal"}), std::to_string(last_seq));
  EXPECT_EQ(last_progress_.pending, 0u);

  // union: members added, none removed, the later deadline kept.
  EXPECT_EQ(PrimaryInt({"SCARD", "bl:set"}), 3);
  EXPECT_EQ(PrimaryInt({"SISMEMBER", "bl:set", "x"}), 1);
  EXPECT_GT(PrimaryInt({"PTTL", "bl:set"}), 400'000);
  EXPECT_EQ(PrimaryText({"GET", "bl:tok"}), "1");
  EXPECT_GT(PrimaryInt({"PTTL", "bl:tok"}), 990'000);
  EXPECT_EQ(PrimaryText({"GET", "bl:kept"}), "primary-value");  // present: value kept
  EXPECT_GT(PrimaryInt({"PTTL", "bl:kept"}), 4'990'000);        // deadline extended
  EXPECT_EQ(PrimaryInt({"PTTL", "bl:forever"}), -1);            // no deadline beats any deadline
  // counter: sums added, absent keys created with the local remaining TTL.
  EXPECT_EQ(PrimaryText({"GET", "rl:a"}), "113");
  EXPECT_EQ(PrimaryInt({"PTTL", "rl:a"}), -1);  // existing: its own deadline (none) stays
  EXPECT_EQ(PrimaryText({"GET", "rl:new"}), "3");
  int64_t new_ttl = PrimaryInt({"PTTL", "rl:new"});
  EXPECT_GT(new_ttl, 50'000);
  EXPECT_LE(new_ttl, 60'000);
  EXPECT_EQ(PrimaryInt({"EXISTS", "rl:expired"}), 0);
  EXPECT_EQ(PrimaryText({"HGET", "rl:h", "f"}), "5");
  EXPECT_EQ(PrimaryText({"GET", "rl:f"}), "1.5");
  // lww: the final local state written (value and deadline), the deletion
  // applied as a tombstone.
  EXPECT_EQ(PrimaryText({"GET", "sess:1"}), "after");
  EXPECT_GT(PrimaryInt({"PTTL", "sess:1"}), 3'590'000);
  EXPECT_EQ(PrimaryInt({"EXISTS", "sess:gone"}), 0);
}

TEST_F(ReconcilerRedisTest, CommandsOfOtherDatabasesGoToThem) {
  PutString(db1_, "rl:db1", "2");
  Primary({"SET", "rl:db1", "500"});  // db 0: must stay untouched
  std::optional<ReconcileResult> result =
      Run({Command({"INCRBY", "rl:db1", "2"}, 1), Command({"INCR", "rl:db0"})});
  ASSERT_TRUE(result && result->ok);
  EXPECT_EQ(PrimaryText({"GET", "rl:db1"}), "500");
  // RedisCommand opens one connection per command, so read db 1 with a
  // script that selects it.
  EXPECT_EQ(PrimaryText({"EVAL", "redis.call('SELECT', 1) return redis.call('GET', KEYS[1])", "1",
                         "rl:db1"}),
            "2");
  // The checkpoint is in db 0.
  EXPECT_EQ(PrimaryText({"GET", "understudy:reconciled:test-journal"}), std::to_string(seq_));
}

TEST_F(ReconcilerRedisTest, LwwConflictsFollowTheClassPolicy) {
  FetchedKey v0;
  v0.type = FetchedKey::kString;
  v0.string_value = "v0";
  Primary({"SET", "sess:c", "changed-on-primary"});
  Primary({"SET", "psess:c", "changed-on-primary"});
  Primary({"SET", "sess:ok", "v0"});
  PutString(db0_, "sess:c", "local");
  PutString(db0_, "psess:c", "local");
  PutString(db0_, "sess:ok", "local");
  std::optional<ReconcileResult> result =
      Run({Baseline("sess:c", EncodeFetchedState(v0)), Baseline("psess:c", EncodeFetchedState(v0)),
           Baseline("sess:ok", EncodeFetchedState(v0)), Command({"SET", "sess:c", "local"}),
           Command({"SET", "psess:c", "local"}), Command({"SET", "sess:ok", "local"})});
  ASSERT_TRUE(result && result->ok) << (result ? result->error : "");
  EXPECT_EQ(result->conflicts, 2u);
  ASSERT_EQ(result->conflict_list.size(), 2u);
  EXPECT_EQ(result->conflict_list[0].key, "sess:c");
  EXPECT_TRUE(result->conflict_list[0].local_won);
  EXPECT_EQ(result->conflict_list[1].key, "psess:c");
  EXPECT_FALSE(result->conflict_list[1].local_won);
  EXPECT_EQ(PrimaryText({"GET", "sess:c"}), "local");                // conflict local
  EXPECT_EQ(PrimaryText({"GET", "psess:c"}), "changed-on-primary");  // conflict primary
  EXPECT_EQ(PrimaryText({"GET", "sess:ok"}), "local");               // no conflict
}

TEST_F(ReconcilerRedisTest, PrimaryChangedDuringTheRunIsAConflict) {
  // Another client of the primary changes an lww key after the run began
  // (here: after the first batch): the key's batch sees it and counts it.
  FetchedKey v0;
  v0.type = FetchedKey::kString;
  v0.string_value = "v0";
  Primary({"SET", "sess:w", "v0"});
  PutString(db0_, "sess:w", "local");
  PlanLimits limits;
  limits.max_records = 1;
  std::optional<ReconcileResult> result =
      Run({Baseline("sess:w", EncodeFetchedState(v0)), Command({"INCR", "rl:first"}),
           Command({"SET", "sess:w", "local"})},
          limits, -1, [this](Reconciler&, int batch) {
            if (batch == 1) Primary({"SET", "sess:w", "someone-else"});
          });
  ASSERT_TRUE(result && result->ok);
  EXPECT_EQ(result->conflicts, 1u);
  EXPECT_EQ(PrimaryText({"GET", "sess:w"}), "local");
}

TEST_F(ReconcilerRedisTest, StoppedRunResumesWithoutRepeatingIncrements) {
  std::vector<JournalRecord> records;
  for (int i = 0; i < 1000; ++i) {
    records.push_back(Command({"INCRBY", "rl:" + std::to_string(i % 3), "2"}));
  }
  for (int i = 0; i < 3; ++i) PutString(db0_, "rl:" + std::to_string(i), "0");
  PlanLimits limits;
  limits.max_records = 100;
  std::optional<ReconcileResult> partial = Run(records, limits, 3);
  EXPECT_FALSE(partial);
  EXPECT_EQ(PrimaryText({"GET", "understudy:reconciled:test-journal"}), "300");
  EXPECT_EQ(PrimaryInt({"GET", "rl:0"}) + PrimaryInt({"GET", "rl:1"}) + PrimaryInt({"GET", "rl:2"}),
            600);
  std::optional<ReconcileResult> rest = Run(records, limits);
  ASSERT_TRUE(rest && rest->ok) << (rest ? rest->error : "");
  EXPECT_EQ(rest->records_replayed, 700u);
  EXPECT_EQ(rest->batches, 7u);
  EXPECT_EQ(PrimaryInt({"GET", "rl:0"}), 334 * 2);
  EXPECT_EQ(PrimaryInt({"GET", "rl:1"}), 333 * 2);
  EXPECT_EQ(PrimaryInt({"GET", "rl:2"}), 333 * 2);
  // A third run finds everything done.
  std::optional<ReconcileResult> again = Run(records, limits);
  ASSERT_TRUE(again && again->ok);
  EXPECT_EQ(again->records_replayed, 0u);
  EXPECT_EQ(PrimaryInt({"GET", "rl:0"}), 334 * 2);
}

TEST_F(ReconcilerRedisTest, PrimaryKilledBetweenBatchesLosesAndRepeatsNothing) {
  // A primary that persists every write (appendfsync always), SIGKILLed
  // after two committed batches and started again from its files.
  redis_.process().Kill();
  TempDir data;
  ASSERT_TRUE(
      redis_.StartServer(data.path(), "aof", {"--appendonly", "yes", "--appendfsync", "always"}));
  std::vector<JournalRecord> records;
  for (int i = 0; i < 500; ++i) records.push_back(Command({"HINCRBY", "rl:h", "f", "3"}));
  {
    // The local hash exists (else the increments of an expired window
    // would not create the key on the primary).
    Database::Detached item;
    storage::HashInit(item.value);
    storage::HashSet(item.value, "f", "1500", storage::HashLimits());
    db0_.Attach("rl:h", std::move(item));
  }
  PlanLimits limits;
  limits.max_records = 50;
  bool killed = false;
  std::optional<ReconcileResult> first = Run(records, limits, -1, [&](Reconciler&, int batch) {
    if (batch == 2) {
      redis_.process().Kill();
      killed = true;
    }
  });
  ASSERT_TRUE(killed);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->ok);  // the connection went away mid-run
  EXPECT_GE(first->batches, 2u);
  ASSERT_TRUE(redis_.StartServer(data.path(), "aof-again",
                                 {"--appendonly", "yes", "--appendfsync", "always"}));
  // It answers -LOADING until its append-only file is read.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        std::optional<protocol::ReplyValue> pong = Primary({"PING"});
        return pong && !pong->IsError();
      },
      std::chrono::seconds(10)));
  const int64_t checkpoint = PrimaryInt({"GET", "understudy:reconciled:test-journal"});
  // The kill came right after batch 2 committed, before batch 3 was sent.
  EXPECT_EQ(checkpoint, 100);
  EXPECT_EQ(PrimaryInt({"HGET", "rl:h", "f"}), checkpoint * 3);
  std::optional<ReconcileResult> second = Run(records, limits);
  ASSERT_TRUE(second && second->ok) << (second ? second->error : "");
  EXPECT_EQ(second->records_replayed, static_cast<uint64_t>(500 - checkpoint));
  EXPECT_EQ(PrimaryInt({"HGET", "rl:h", "f"}), 1500);
}

TEST_F(ReconcilerRedisTest, CheckpointAlreadyOnThePrimarySkipsRecords) {
  std::vector<JournalRecord> records;
  for (int i = 0; i < 100; ++i) records.push_back(Command({"INCR", "rl:s"}));
  PutString(db0_, "rl:s", "100");
  Primary({"SET", "understudy:reconciled:test-journal", "60"});
  std::optional<ReconcileResult> result = Run(records);
  ASSERT_TRUE(result && result->ok);
  EXPECT_EQ(result->records_replayed, 40u);
  EXPECT_EQ(PrimaryInt({"GET", "rl:s"}), 40);
  EXPECT_EQ(PrimaryText({"GET", "understudy:reconciled:test-journal"}), "100");
}

TEST_F(ReconcilerRedisTest, WritesAppendedDuringTheRunAreReplayedAfterTheOthers) {
  std::vector<JournalRecord> records;
  for (int i = 0; i < 20; ++i) records.push_back(Command({"INCR", "rl:live"}));
  PutString(db0_, "rl:live", "0");
  PlanLimits limits;
  limits.max_records = 5;
  std::optional<ReconcileResult> result = Run(records, limits, -1, [&](Reconciler& r, int batch) {
    if (batch <= 3) {
      r.Append(Command({"INCRBY", "rl:live", "100"}));
      EXPECT_GT(r.progress().pending, 0u);
    }
  });
  ASSERT_TRUE(result && result->ok);
  EXPECT_EQ(result->records_replayed, 23u);
  EXPECT_EQ(PrimaryInt({"GET", "rl:live"}), 320);
  EXPECT_EQ(PrimaryText({"GET", "understudy:reconciled:test-journal"}), std::to_string(seq_));
}

TEST_F(ReconcilerRedisTest, RefusedCommandIsCountedAndTheRestApplied) {
  Primary({"SET", "rl:text", "not-a-number"});
  std::optional<ReconcileResult> result =
      Run({Command({"INCR", "rl:text"}), Command({"INCR", "rl:fine"})});
  ASSERT_TRUE(result && result->ok);
  EXPECT_EQ(result->apply_errors, 1u);
  EXPECT_EQ(PrimaryText({"GET", "rl:text"}), "not-a-number");
  EXPECT_EQ(PrimaryInt({"EXISTS", "rl:fine"}), 0);  // absent locally: not created
}

TEST_F(ReconcilerRedisTest, UnreachablePrimaryFailsTheRun) {
  redis_.process().Kill();
  std::optional<ReconcileResult> result = Run({Command({"INCR", "rl:a"})});
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_FALSE(result->error.empty());
}

}  // namespace
}  // namespace understudy::replication

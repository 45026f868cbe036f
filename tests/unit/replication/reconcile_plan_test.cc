// The reconciliation planner without a primary: what each merge rule turns
// journal records into (union additions and deadline extensions, counter
// sums, lww final states and conflicts), relative TTLs made absolute with
// the record's time, batch cutting and the checkpoint.
#include "replication/reconcile_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/hash_value.h"
#include "storage/set_value.h"
#include "storage/zset_value.h"
#include "tests/unit/replication/reconcile_test_support.h"

namespace understudy::replication {
namespace {

using storage::Database;
using storage::JournalOp;
using storage::JournalRecord;
using Args = std::vector<std::string>;

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kRecordTime = kNow - 60'000;  // the outage was a minute ago

using reconcile_test::ExtractKeys;

class PlanTest : public ::testing::Test {
 protected:
  PlanTest() : classifier_(reconcile_test::TestClasses()), db_(0) {}

  ReconcilePlanner MakePlanner(PlanLimits limits = {}) {
    return ReconcilePlanner(
        classifier_, [this](uint32_t db) { return db == 0 ? &db_ : nullptr; }, ExtractKeys, limits);
  }

  JournalRecord Command(Args args, int64_t time_ms = kRecordTime) {
    JournalRecord record;
    record.op = JournalOp::kCommand;
    record.seq = ++seq_;
    record.time_ms = time_ms;
    record.args = std::move(args);
    return record;
  }
  JournalRecord Baseline(std::string key, std::string state) {
    JournalRecord record;
    record.op = JournalOp::kBaseline;
    record.seq = ++seq_;
    record.key = std::move(key);
    record.state = std::move(state);
    return record;
  }

  void PutString(const std::string& key, const std::string& value,
                 int64_t deadline = storage::kNoExpire) {
    Database::Detached item;
    item.value.SetString(value);
    item.expire_at_ms = deadline;
    db_.Attach(key, std::move(item));
  }
  void PutSet(const std::string& key, const Args& members, int64_t deadline = storage::kNoExpire) {
    Database::Detached item;
    storage::SetValue set = storage::SetValue::Create(item.value, members[0]);
    for (const std::string& m : members) set.Add(m, storage::SetLimits());
    item.expire_at_ms = deadline;
    db_.Attach(key, std::move(item));
  }
  void PutHash(const std::string& key, const Args& pairs) {
    Database::Detached item;
    storage::HashInit(item.value);
    for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
      storage::HashSet(item.value, pairs[i], pairs[i + 1], storage::HashLimits());
    }
    db_.Attach(key, std::move(item));
  }
  std::string StateOf(const std::string& key) {
    storage::Entry* entry = db_.Find(key, kNow);
    return EncodeBaseline(entry);
  }

  // The batch's commands, those through the apply script without their
  // "EVALSHA sha 1" prefix, plain ones as they are.
  static std::vector<Args> Ops(const ReconcileBatch& batch) {
    std::vector<Args> ops;
    for (const PlannedCommand& command : batch.commands) {
      if (command.argv[0] != "EVALSHA") {
        ops.push_back(command.argv);
        continue;
      }
      EXPECT_EQ(command.argv[1], ApplyScriptSha1());
      EXPECT_EQ(command.argv[2], "1");
      ops.emplace_back(command.argv.begin() + 3, command.argv.end());
    }
    return ops;
  }

  ReconcileBatch PlanAll(ReconcilePlanner& planner, std::vector<JournalRecord> records) {
    for (JournalRecord& record : records) planner.Add(std::move(record));
    EXPECT_TRUE(planner.HasPending());
    ReconcileBatch batch = planner.NextBatch(kNow);
    EXPECT_FALSE(planner.HasPending());
    return batch;
  }

  KeyClassifier classifier_;
  Database db_;
  uint64_t seq_ = 0;
};

TEST_F(PlanTest, UnionAdditionsCarryTheLocalDeadline) {
  PutSet("bl:set", {"a", "b", "old"}, kNow + 5000);
  PutHash("bl:hash", {"f", "v"});
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch = PlanAll(
      planner,
      {Command({"SADD", "bl:set", "a", "b"}), Command({"hset", "bl:hash", "f", "v"}),
       Command({"ZADD", "bl:z", "NX", "1", "m", "2", "n"}), Command({"RPUSH", "bl:gone", "x"})});
  EXPECT_EQ(Ops(batch),
            (std::vector<Args>{{"bl:set", "add", std::to_string(kNow + 5000), "SADD", "a", "b"},
                               // No local deadline: the command, then PERSIST
                               // (no deadline beats any), without the script.
                               {"HSET", "bl:hash", "f", "v"},
                               {"PERSIST", "bl:hash"},
                               // bl:z and bl:gone are not in the local store: -2
                               // leaves an existing key's deadline alone.
                               {"bl:z", "add", "-2", "ZADD", "NX", "1", "m", "2", "n"},
                               {"bl:gone", "add", "-2", "RPUSH", "x"}}));
  EXPECT_TRUE(batch.uses_apply_script);
  EXPECT_TRUE(batch.lww.empty());
  EXPECT_EQ(batch.first_seq, 1u);
  EXPECT_EQ(batch.last_seq, 4u);
  EXPECT_EQ(batch.command_records, 4u);
}

TEST_F(PlanTest, UnionLongMemberListsAreSplitIntoWholeElements) {
  PlanLimits limits;
  limits.max_args_per_op = 4;
  ReconcilePlanner planner = MakePlanner(limits);
  ReconcileBatch batch =
      PlanAll(planner, {Command({"SADD", "bl:s", "1", "2", "3", "4", "5"}),
                        Command({"HSET", "bl:h", "f1", "v1", "f2", "v2", "f3", "v3"}),
                        Command({"ZADD", "bl:z", "GT", "1", "a", "2", "b", "3", "c"})});
  EXPECT_EQ(Ops(batch), (std::vector<Args>{{"bl:s", "add", "-2", "SADD", "1", "2", "3", "4"},
                                           {"bl:s", "add", "-2", "SADD", "5"},
                                           {"bl:h", "add", "-2", "HSET", "f1", "v1", "f2", "v2"},
                                           {"bl:h", "add", "-2", "HSET", "f3", "v3"},
                                           {"bl:z", "add", "-2", "ZADD", "GT", "1", "a", "2", "b"},
                                           {"bl:z", "add", "-2", "ZADD", "GT", "3", "c"}}));
}

TEST_F(PlanTest, UnionSetMakesRelativeDeadlinesAbsoluteWithTheRecordTime) {
  ReconcilePlanner planner = MakePlanner();
  const int64_t t = kRecordTime;
  ReconcileBatch batch = PlanAll(
      planner,
      {Command({"SET", "bl:a", "1", "EX", "10"}), Command({"SET", "bl:b", "2", "px", "1500", "NX"}),
       Command({"SET", "bl:c", "3", "EXAT", "1900000000"}),
       Command({"SET", "bl:d", "4", "PXAT", "1900000000123"}), Command({"SET", "bl:e", "5"}),
       Command({"SETEX", "bl:f", "20", "6"}), Command({"PSETEX", "bl:g", "250", "7"}),
       Command({"SETNX", "bl:h", "8"}), Command({"MSET", "bl:i", "9", "bl:j", "10"}),
       Command({"SET", "bl:k", "11", "EX", "5"}, t + 1000)});
  EXPECT_EQ(Ops(batch), (std::vector<Args>{{"bl:a", "set", "1", std::to_string(t + 10'000)},
                                           {"bl:b", "set", "2", std::to_string(t + 1500)},
                                           {"bl:c", "set", "3", "1900000000000"},
                                           {"bl:d", "set", "4", "1900000000123"},
                                           {"bl:e", "set", "5", "-1"},
                                           {"bl:f", "set", "6", std::to_string(t + 20'000)},
                                           {"bl:g", "set", "7", std::to_string(t + 250)},
                                           {"bl:h", "set", "8", "-1"},
                                           {"bl:i", "set", "9", "-1"},
                                           {"bl:j", "set", "10", "-1"},
                                           {"bl:k", "set", "11", std::to_string(t + 6000)}}));
}

TEST_F(PlanTest, UnionDeadlineChangesOnlyExtend) {
  ReconcilePlanner planner = MakePlanner();
  const int64_t t = kRecordTime;
  ReconcileBatch batch = PlanAll(
      planner,
      {Command({"EXPIRE", "bl:a", "30"}), Command({"PEXPIRE", "bl:a", "100", "GT"}),
       Command({"EXPIREAT", "bl:a", "1900000000"}), Command({"PEXPIREAT", "bl:a", "1900000000001"}),
       Command({"PERSIST", "bl:b"}), Command({"GETEX", "bl:c", "EX", "7"}),
       Command({"GETEX", "bl:c", "PERSIST"}), Command({"GETEX", "bl:c"})});
  EXPECT_EQ(Ops(batch), (std::vector<Args>{{"bl:a", "extend", std::to_string(t + 30'000)},
                                           {"bl:a", "extend", std::to_string(t + 100)},
                                           {"bl:a", "extend", "1900000000000"},
                                           {"bl:a", "extend", "1900000000001"},
                                           {"bl:b", "extend", "-1"},
                                           {"bl:c", "extend", std::to_string(t + 7000)},
                                           {"bl:c", "extend", "-1"}}));
}

TEST_F(PlanTest, UnionNeverReplaysRemovals) {
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch = PlanAll(
      planner,
      {Command({"DEL", "bl:a", "bl:b"}), Command({"UNLINK", "bl:a"}),
       Command({"SREM", "bl:s", "x"}), Command({"HDEL", "bl:h", "f"}),
       Command({"ZREM", "bl:z", "m"}), Command({"LPOP", "bl:l"}), Command({"RPOP", "bl:l"}),
       Command({"SPOP", "bl:s"}), Command({"GETDEL", "bl:a"}),
       Command({"ZREMRANGEBYSCORE", "bl:z", "0", "1"}), Command({"LTRIM", "bl:l", "0", "1"})});
  EXPECT_TRUE(batch.commands.empty());
  EXPECT_FALSE(batch.uses_apply_script);
  // The records are still covered: the checkpoint moves past them.
  EXPECT_EQ(batch.command_records, 11u);
  EXPECT_EQ(batch.last_seq, 11u);
}

TEST_F(PlanTest, UnionMovesAddToTheDestinationOnly) {
  PutString("bl:renamed", "payload", kNow + 9000);
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch = PlanAll(planner, {Command({"SMOVE", "bl:from", "bl:to", "tok"}),
                                           Command({"RENAME", "bl:old", "bl:renamed"}),
                                           Command({"APPEND", "bl:renamed", "x"})});
  // RENAME and APPEND are not additions the script knows: the destination's
  // final local state is merged, once per batch.
  EXPECT_EQ(Ops(batch), (std::vector<Args>{{"bl:to", "add", "-2", "SADD", "tok"},
                                           {"bl:renamed", "merge", "string",
                                            std::to_string(kNow + 9000), "payload"}}));
}

TEST_F(PlanTest, CounterIncrementsAreSummedPerKeyAndField) {
  PutString("rl:a", "7", kNow + 30'000);
  PutString("rl:f", "1.75");
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch = PlanAll(
      planner,
      {Command({"INCR", "rl:a"}), Command({"INCRBY", "rl:a", "10"}), Command({"DECR", "rl:a"}),
       Command({"DECRBY", "rl:a", "3"}), Command({"incr", "rl:a"}),
       Command({"INCRBYFLOAT", "rl:f", "0.5"}), Command({"INCRBYFLOAT", "rl:f", "1.25"}),
       Command({"HINCRBY", "rl:h", "x", "2"}), Command({"HINCRBY", "rl:h", "y", "5"}),
       Command({"HINCRBY", "rl:h", "x", "3"}), Command({"HINCRBYFLOAT", "rl:h", "z", "0.25"}),
       Command({"ZINCRBY", "rl:z", "1.5", "m"}), Command({"ZINCRBY", "rl:z", "2", "m"}),
       Command({"INCRBY", "rl:mixed", "2"}), Command({"INCRBYFLOAT", "rl:mixed", "0.5"}),
       Command({"INCR", "rl:zero"}), Command({"DECR", "rl:zero"})});
  // String counters with a local deadline well ahead, or none, go as plain
  // commands (SET NX PXAT creates an absent key with the local deadline).
  // rl:h, rl:z, rl:mixed are absent locally (their window expired): -2
  // adds to an existing primary key but creates nothing (the script).
  EXPECT_EQ(Ops(batch),
            (std::vector<Args>{{"SET", "rl:a", "0", "NX", "PXAT", std::to_string(kNow + 30'000)},
                               {"INCRBY", "rl:a", "8"},
                               {"INCRBYFLOAT", "rl:f", "1.75"},
                               {"rl:h", "incr", "-2", "HINCRBY", "x", "5"},
                               {"rl:h", "incr", "-2", "HINCRBY", "y", "5"},
                               {"rl:h", "incr", "-2", "HINCRBYFLOAT", "z", "0.25"},
                               {"rl:z", "incr", "-2", "ZINCRBY", "3.5", "m"},
                               {"rl:mixed", "incr", "-2", "INCRBYFLOAT", "2.5"}}));
  EXPECT_TRUE(batch.lww.empty());
}

TEST_F(PlanTest, CounterIntegerSumBeyondInt64IsSplit) {
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch = PlanAll(planner, {Command({"INCRBY", "rl:big", "9223372036854775807"}),
                                           Command({"INCRBY", "rl:big", "9223372036854775807"})});
  ASSERT_EQ(batch.commands.size(), 2u);
  EXPECT_EQ(Ops(batch)[0].back(), "9223372036854775807");
  EXPECT_EQ(Ops(batch)[1].back(), "9223372036854775807");
}

TEST_F(PlanTest, CounterKeyWrittenOtherwiseIsWrittenWhole) {
  PutString("rl:c", "11", kNow + 1000);
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch =
      PlanAll(planner, {Command({"INCR", "rl:c"}), Command({"SET", "rl:c", "10"}),
                        Command({"INCR", "rl:c"}), Command({"INCR", "rl:d"})});
  // rl:c: no sum (its final state includes every increment); rl:d summed.
  EXPECT_EQ(Ops(batch), (std::vector<Args>{{"rl:d", "incr", "-2", "INCRBY", "1"}}));
  ASSERT_EQ(batch.lww.size(), 1u);
  EXPECT_EQ(batch.lww[0].key, "rl:c");
  EXPECT_FALSE(batch.lww[0].check_baseline);
  EXPECT_EQ(batch.lww[0].local.string_value, "11");
  EXPECT_EQ(batch.lww[0].local.expire_at_ms, kNow + 1000);
}

TEST_F(PlanTest, CounterWindowDeadlineGoesWithTheIncrement) {
  // A rate limiter's INCR then PEXPIRE on the first hit of a window (and a
  // sliding window's INCRBY then PEXPIRE): still a counter, summed; the
  // deadline reaches the primary with the increment that creates the key.
  PutString("rl:w", "3", kNow + 50'000);
  PutString("rl:v", "2", kNow + 20'000);
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch =
      PlanAll(planner, {Command({"INCR", "rl:w"}), Command({"PEXPIRE", "rl:w", "60000"}),
                        Command({"INCR", "rl:w"}), Command({"INCR", "rl:w"}),
                        Command({"INCRBY", "rl:v", "2"}), Command({"EXPIRE", "rl:v", "80", "NX"}),
                        Command({"PEXPIREAT", "rl:v", std::to_string(kRecordTime + 80'000)}),
                        Command({"EXPIREAT", "rl:v", std::to_string(kRecordTime / 1000 + 80)})});
  // After the sums, once per key: the primary key's deadline follows the
  // local one.
  EXPECT_EQ(Ops(batch),
            (std::vector<Args>{{"SET", "rl:w", "0", "NX", "PXAT", std::to_string(kNow + 50'000)},
                               {"INCRBY", "rl:w", "3"},
                               {"SET", "rl:v", "0", "NX", "PXAT", std::to_string(kNow + 20'000)},
                               {"INCRBY", "rl:v", "2"},
                               {"PEXPIREAT", "rl:w", std::to_string(kNow + 50'000)},
                               {"PEXPIREAT", "rl:v", std::to_string(kNow + 20'000)}}));
  EXPECT_TRUE(batch.lww.empty());
}

TEST_F(PlanTest, CounterWindowSetAfterItsIncrementWasReplayed) {
  // The INCR went in an earlier batch (the key had no deadline then); the
  // EXPIRE alone now: the primary key gets the local deadline; nothing for
  // a key gone locally.
  PutString("rl:late", "1", kNow + 70'000);
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch = PlanAll(
      planner, {Command({"EXPIRE", "rl:late", "70"}), Command({"EXPIRE", "rl:gone", "70"})});
  EXPECT_EQ(Ops(batch),
            (std::vector<Args>{{"PEXPIREAT", "rl:late", std::to_string(kNow + 70'000)}}));
  EXPECT_TRUE(batch.lww.empty());
}

TEST_F(PlanTest, CounterExpiryThatDeletesIsWrittenWhole) {
  // EXPIRE 0 or a time already past deletes the key: lww, a tombstone.
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch =
      PlanAll(planner, {Command({"INCR", "rl:a"}), Command({"EXPIRE", "rl:a", "0"}),
                        Command({"INCR", "rl:b"}),
                        Command({"PEXPIREAT", "rl:b", std::to_string(kRecordTime - 1)})});
  EXPECT_TRUE(batch.commands.empty());
  ASSERT_EQ(batch.lww.size(), 2u);
  EXPECT_EQ(batch.lww[0].local.type, FetchedKey::kMissing);
}

TEST_F(PlanTest, CounterLwwMarkSurvivesTheCheckpoint) {
  // The SET was replayed by an earlier run; the INCR after it must still
  // not be added to the state that run wrote.
  PutString("rl:c", "11");
  ReconcilePlanner planner = MakePlanner();
  planner.SetCheckpoint(1);
  ReconcileBatch batch =
      PlanAll(planner, {Command({"SET", "rl:c", "10"}), Command({"INCR", "rl:c"})});
  EXPECT_TRUE(batch.commands.empty());
  ASSERT_EQ(batch.lww.size(), 1u);
  EXPECT_EQ(batch.first_seq, 2u);
}

TEST_F(PlanTest, LwwWritesTheFinalLocalStateOrATombstone) {
  PutString("sess:1", "v2", kNow + 3600'000);
  ReconcilePlanner planner = MakePlanner();
  std::vector<JournalRecord> records = {
      Baseline("sess:1", EncodeBaseline(nullptr)), Command({"SET", "sess:1", "v1"}),
      Command({"SET", "sess:1", "v2", "EX", "3600"}), Command({"DEL", "sess:gone"}),
      Command({"SET", "other", "x"})};  // default class: lww
  ReconcileBatch batch = PlanAll(planner, std::move(records));
  EXPECT_TRUE(batch.commands.empty());
  ASSERT_EQ(batch.lww.size(), 3u);
  EXPECT_EQ(batch.lww[0].key, "sess:1");
  EXPECT_EQ(batch.lww[0].local.type, FetchedKey::kString);
  EXPECT_EQ(batch.lww[0].baseline, EncodeBaseline(nullptr));
  EXPECT_EQ(batch.lww[1].key, "sess:gone");
  EXPECT_EQ(batch.lww[1].local.type, FetchedKey::kMissing);
  EXPECT_FALSE(batch.lww[1].baseline.has_value());
  EXPECT_EQ(batch.lww[2].key, "other");

  std::vector<FetchedKey> primary(3);  // all missing on the primary
  std::vector<ReconcileConflict> conflicts;
  planner.ResolveLww(batch, primary, &conflicts);
  EXPECT_TRUE(conflicts.empty());
  // Strings and deletions are written with plain SET (with the local
  // deadline) and DEL; other types go through the apply script.
  EXPECT_EQ(Ops(batch),
            (std::vector<Args>{{"SET", "sess:1", "v2", "PXAT", std::to_string(kNow + 3600'000)},
                               {"DEL", "sess:gone"},
                               {"DEL", "other"}}));
}

TEST_F(PlanTest, LwwConflictFollowsTheClassPolicy) {
  PutString("sess:a", "local");
  PutString("psess:a", "local");
  PutString("sess:same", "local");
  PutString("sess:unchanged", "local");
  FetchedKey old_value;
  old_value.type = FetchedKey::kString;
  old_value.string_value = "old";
  const std::string baseline = EncodeFetchedState(old_value);
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch =
      PlanAll(planner, {Baseline("sess:a", baseline), Baseline("psess:a", baseline),
                        Baseline("sess:same", baseline), Baseline("sess:unchanged", baseline),
                        Command({"SET", "sess:a", "local"}), Command({"SET", "psess:a", "local"}),
                        Command({"SET", "sess:same", "local"}),
                        Command({"SET", "sess:unchanged", "local"})});
  ASSERT_EQ(batch.lww.size(), 4u);
  std::vector<FetchedKey> primary(4);
  for (FetchedKey& key : primary) key.type = FetchedKey::kString;
  primary[0].string_value = "theirs";
  primary[1].string_value = "theirs";
  primary[2].string_value = "local";   // both sides made the same change
  primary[3].string_value = "old";     // untouched on the primary
  primary[3].expire_at_ms = kNow + 5;  // a deadline difference is no conflict
  std::vector<ReconcileConflict> conflicts;
  planner.ResolveLww(batch, primary, &conflicts);
  ASSERT_EQ(conflicts.size(), 2u);
  EXPECT_EQ(conflicts[0].key, "sess:a");
  EXPECT_EQ(conflicts[0].class_name, "sessions");
  EXPECT_TRUE(conflicts[0].local_won);
  EXPECT_EQ(conflicts[1].key, "psess:a");
  EXPECT_FALSE(conflicts[1].local_won);
  std::vector<Args> ops = Ops(batch);
  ASSERT_EQ(ops.size(), 3u);  // psess:a is left as the primary has it
  EXPECT_EQ(ops[0], (Args{"SET", "sess:a", "local"}));
  EXPECT_EQ(ops[1], (Args{"SET", "sess:same", "local"}));
  EXPECT_EQ(ops[2], (Args{"SET", "sess:unchanged", "local"}));
}

TEST_F(PlanTest, LwwLaterBatchComparesWithWhatThisRunWrote) {
  PutString("sess:k", "v2");
  FetchedKey old_value;
  old_value.type = FetchedKey::kString;
  old_value.string_value = "old";
  PlanLimits limits;
  limits.max_records = 2;
  ReconcilePlanner planner = MakePlanner(limits);
  planner.Add(Baseline("sess:k", EncodeFetchedState(old_value)));
  planner.Add(Command({"SET", "sess:k", "v1"}));
  planner.Add(Command({"SET", "other:x", "1"}));
  planner.Add(Command({"SET", "sess:k", "v2"}));
  ReconcileBatch first = planner.NextBatch(kNow);
  std::vector<ReconcileConflict> conflicts;
  planner.ResolveLww(first, std::vector<FetchedKey>{old_value, FetchedKey{}}, &conflicts);
  planner.Committed(first);
  // Meanwhile a local write changed it again (its record is the next one).
  PutString("sess:k", "v3");
  ReconcileBatch second = planner.NextBatch(kNow);
  FetchedKey written;
  written.type = FetchedKey::kString;
  written.string_value = "v2";
  planner.ResolveLww(second, std::vector<FetchedKey>{written}, &conflicts);
  EXPECT_TRUE(conflicts.empty());
  EXPECT_EQ(Ops(second), (std::vector<Args>{{"SET", "sess:k", "v3"}}));
}

TEST_F(PlanTest, BaselineEncodingMatchesThePrimarysView) {
  PutString("s", "value", kNow + 10);
  PutSet("set", {"b", "a", "c"});
  PutHash("hash", {"f1", "v1", "f2", "v2"});
  {
    Database::Detached item;
    storage::ZSetAssign(item.value, {{"m1", 1.5}, {"m2", -2}}, storage::ZSetLimits());
    db_.Attach("zset", std::move(item));
  }
  FetchedKey s;
  s.type = FetchedKey::kString;
  s.string_value = "value";  // no deadline: TTLs are not compared
  EXPECT_EQ(StateOf("s"), EncodeFetchedState(s));
  FetchedKey set;
  set.type = FetchedKey::kSet;
  set.elements = {"c", "a", "b"};
  EXPECT_EQ(StateOf("set"), EncodeFetchedState(set));
  set.elements = {"c", "a"};
  EXPECT_NE(StateOf("set"), EncodeFetchedState(set));
  FetchedKey hash;
  hash.type = FetchedKey::kHash;
  hash.elements = {"f2", "v2", "f1", "v1"};
  EXPECT_EQ(StateOf("hash"), EncodeFetchedState(hash));
  hash.elements = {"f2", "v1", "f1", "v2"};
  EXPECT_NE(StateOf("hash"), EncodeFetchedState(hash));
  FetchedKey zset;
  zset.type = FetchedKey::kZSet;
  zset.scored_members = {{"m2", -2}, {"m1", 1.5}};
  EXPECT_EQ(StateOf("zset"), EncodeFetchedState(zset));
  zset.scored_members[1].score = 1.25;
  EXPECT_NE(StateOf("zset"), EncodeFetchedState(zset));
  EXPECT_EQ(StateOf("missing"), EncodeFetchedState(FetchedKey{}));
  EXPECT_NE(StateOf("missing"), StateOf("s"));
  // A string and a one-member set with the same bytes differ.
  PutSet("one", {"value"});
  EXPECT_NE(StateOf("one"), StateOf("s"));
  FetchedKey stream;
  stream.type = FetchedKey::kOther;
  EXPECT_NE(EncodeFetchedState(stream), StateOf("missing"));
}

TEST_F(PlanTest, BatchesAreCutByRecordsAndBytes) {
  PlanLimits limits;
  limits.max_records = 256;
  limits.max_bytes = 1 << 20;
  ReconcilePlanner planner = MakePlanner(limits);
  for (int i = 0; i < 600; ++i) planner.Add(Command({"INCR", "rl:" + std::to_string(i % 7)}));
  EXPECT_EQ(planner.pending_records(), 600u);
  std::vector<ReconcileBatch> batches;
  while (planner.HasPending()) batches.push_back(planner.NextBatch(kNow));
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].command_records, 256u);
  EXPECT_EQ(batches[0].first_seq, 1u);
  EXPECT_EQ(batches[0].last_seq, 256u);
  EXPECT_EQ(batches[1].first_seq, 257u);
  EXPECT_EQ(batches[2].command_records, 88u);
  EXPECT_EQ(batches[2].last_seq, 600u);
  EXPECT_EQ(batches[0].commands.size(), 7u);  // one sum per key

  limits.max_bytes = 3000;
  ReconcilePlanner by_bytes = MakePlanner(limits);
  const std::string big(1000, 'x');
  for (int i = 0; i < 5; ++i) by_bytes.Add(Command({"SADD", "bl:s", big}));
  std::vector<size_t> sizes;
  while (by_bytes.HasPending()) sizes.push_back(by_bytes.NextBatch(kNow).command_records);
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
  // A record larger than the budget still gets a batch of its own.
  limits.max_bytes = 10;
  ReconcilePlanner tiny = MakePlanner(limits);
  tiny.Add(Command({"SADD", "bl:s", big}));
  tiny.Add(Command({"SADD", "bl:s", big}));
  EXPECT_EQ(tiny.NextBatch(kNow).command_records, 1u);
  EXPECT_EQ(tiny.NextBatch(kNow).command_records, 1u);
}

TEST_F(PlanTest, RecordsAtOrBelowTheCheckpointAreSkipped) {
  ReconcilePlanner planner = MakePlanner();
  planner.SetCheckpoint(5);
  for (int i = 0; i < 10; ++i) planner.Add(Command({"INCR", "rl:a"}));
  EXPECT_EQ(planner.pending_records(), 5u);
  ReconcileBatch batch = planner.NextBatch(kNow);
  EXPECT_EQ(batch.first_seq, 6u);
  EXPECT_EQ(batch.last_seq, 10u);
  EXPECT_EQ(Ops(batch), (std::vector<Args>{{"rl:a", "incr", "-2", "INCRBY", "5"}}));

  // A kReplayed record in the journal raises the checkpoint too, and a
  // checkpoint raised after records were added drops them at planning.
  ReconcilePlanner second = MakePlanner();
  second.Add(Command({"INCR", "rl:b"}));  // seq 11
  JournalRecord replayed;
  replayed.op = JournalOp::kReplayed;
  replayed.seq = ++seq_;  // 12
  replayed.applied_up_to = 11;
  second.Add(replayed);
  second.Add(Command({"INCR", "rl:b"}));  // seq 13
  second.Add(Command({"INCR", "rl:b"}));  // seq 14
  second.SetCheckpoint(13);
  ReconcileBatch rest = second.NextBatch(kNow);
  EXPECT_EQ(rest.first_seq, 14u);
  EXPECT_EQ(rest.command_records, 1u);
}

TEST_F(PlanTest, RequeuedBatchIsPlannedAgainAlike) {
  ReconcilePlanner planner = MakePlanner();
  planner.Add(Command({"INCR", "rl:a"}));
  planner.Add(Command({"SET", "sess:x", "1"}));
  ReconcileBatch first = planner.NextBatch(kNow);
  const std::vector<PlannedCommand> commands = first.commands;
  planner.Requeue(std::move(first));
  EXPECT_EQ(planner.pending_records(), 2u);
  ReconcileBatch again = planner.NextBatch(kNow);
  ASSERT_EQ(again.commands.size(), commands.size());
  EXPECT_EQ(again.commands[0].argv, commands[0].argv);
  EXPECT_EQ(again.lww.size(), 1u);
  EXPECT_EQ(again.first_seq, 1u);
}

TEST_F(PlanTest, MultiKeyCommandsAreSplitPerKeyAndClass) {
  PutString("sess:b", "2");
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch =
      PlanAll(planner, {Command({"MSET", "bl:a", "1", "sess:b", "2", "rl:c", "3"}),
                        Command({"DEL", "bl:a", "sess:d"}), Command({"RENAME", "sess:e", "sess:f"}),
                        Command({"FLUSHALL"})});
  EXPECT_EQ(Ops(batch), (std::vector<Args>{{"bl:a", "set", "1", "-1"}}));
  std::vector<std::string> lww_keys;
  for (const LwwWrite& write : batch.lww) lww_keys.push_back(write.key);
  EXPECT_EQ(lww_keys, (std::vector<std::string>{"sess:b", "rl:c", "sess:d", "sess:e", "sess:f"}));
  EXPECT_EQ(batch.skipped, 1u);  // FLUSHALL
}

TEST_F(PlanTest, UnparsableArgumentsAreSkippedAndCounted) {
  ReconcilePlanner planner = MakePlanner();
  ReconcileBatch batch =
      PlanAll(planner, {Command({"INCRBY", "rl:a", "x"}), Command({"SET", "bl:a", "1", "EX", "y"}),
                        Command({"EXPIRE", "bl:a", "z"})});
  EXPECT_TRUE(batch.commands.empty());
  EXPECT_EQ(batch.skipped, 3u);
}

TEST(ApplyScriptTest, ShaMatchesAndCheckpointKey) {
  EXPECT_EQ(ApplyScriptSha1().size(), 40u);
  EXPECT_NE(ApplyScript().find("PEXPIREAT"), std::string_view::npos);
  EXPECT_EQ(CheckpointKey("host-a"), "understudy:reconciled:host-a");
}

}  // namespace
}  // namespace understudy::replication

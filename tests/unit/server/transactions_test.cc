// MULTI/EXEC/DISCARD/WATCH/UNWATCH driven through Server::Execute, without
// sockets: each test reads the exact RESP bytes a client would receive.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "server/server.h"
#include "tests/unit/server/server_test_support.h"

namespace understudy::server {
namespace {

constexpr std::string_view kExecAbort =
    "-EXECABORT Transaction discarded because of previous errors.\r\n";

class TransactionsTest : public ::testing::Test {
 protected:
  TransactionsTest() : server_(Config{}, &clock_) {}

  // Runs one request and returns exactly the bytes it appended to the reply.
  std::string Run(ClientSession& client, std::initializer_list<std::string_view> args) {
    std::vector<std::string_view> argv(args);
    return RunArgs(client, argv);
  }
  std::string RunArgs(ClientSession& client, const std::vector<std::string_view>& argv) {
    return testing_support::RunRequest(server_, client, argv);
  }

  // Gives `key` of database `db_index` a deadline `ttl_ms` from now.
  void ExpireIn(int db_index, std::string_view key, int64_t ttl_ms) {
    storage::Entry* entry = server_.db(db_index).Find(key, clock_.NowMs());
    ASSERT_NE(entry, nullptr) << key;
    server_.db(db_index).SetExpire(entry, clock_.NowMs() + ttl_ms);
  }

  // True when `key` is still stored, expired or not (nothing reclaimed it).
  bool PhysicallyPresent(int db_index, std::string_view key) {
    return server_.db(db_index).dict().Find(key) != nullptr;
  }

  ManualClock clock_;
  Server server_;
};

TEST_F(TransactionsTest, QueuesUntilExecThenRepliesWithEachResult) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  EXPECT_EQ(Run(c, {"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"SET", "k", "v"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"GET", "k"}), "+QUEUED\r\n");
  // Nothing ran yet.
  EXPECT_EQ(Run(other, {"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(Run(c, {"EXEC"}), "*2\r\n+OK\r\n$1\r\nv\r\n");
  EXPECT_EQ(Run(other, {"GET", "k"}), "$1\r\nv\r\n");
  EXPECT_FALSE(c.in_multi);
  EXPECT_TRUE(c.queued.empty());
}

TEST_F(TransactionsTest, EmptyTransactionIsEmptyArray) {
  ClientSession& c = server_.AddClient();
  EXPECT_EQ(Run(c, {"multi"}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"exec"}), "*0\r\n");
}

TEST_F(TransactionsTest, ExecAndDiscardOutsideMultiAreErrors) {
  ClientSession& c = server_.AddClient();
  EXPECT_EQ(Run(c, {"EXEC"}), "-ERR EXEC without MULTI\r\n");
  EXPECT_EQ(Run(c, {"DISCARD"}), "-ERR DISCARD without MULTI\r\n");
}

TEST_F(TransactionsTest, NestedMultiIsRejectedButTransactionSurvives) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"SET", "k", "v"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"MULTI"}), "-ERR MULTI calls can not be nested\r\n");
  EXPECT_EQ(Run(c, {"SET", "j", "w"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"EXEC"}), "*2\r\n+OK\r\n+OK\r\n");
}

TEST_F(TransactionsTest, UnknownCommandWhileQueueingAbortsExec) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"SET", "k", "v"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"NOSUCHCOMMAND", "a"}),
            "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' \r\n");
  EXPECT_EQ(Run(c, {"EXEC"}), kExecAbort);
  EXPECT_EQ(Run(c, {"GET", "k"}), "$-1\r\n");
  // The transaction is over: a second EXEC has no MULTI.
  EXPECT_EQ(Run(c, {"EXEC"}), "-ERR EXEC without MULTI\r\n");
}

TEST_F(TransactionsTest, DoomedTransactionStopsStoringCommands) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"MULTI"});
  Run(c, {"SET", "a", "1"});
  Run(c, {"NOSUCHCOMMAND"});
  EXPECT_EQ(Run(c, {"SET", "b", "2"}), "+QUEUED\r\n");
  EXPECT_EQ(c.queued.size(), 1u);
  EXPECT_EQ(Run(c, {"EXEC"}), kExecAbort);

  Run(c, {"WATCH", "k"});
  Run(other, {"SET", "k", "changed"});
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"SET", "b", "2"}), "+QUEUED\r\n");
  EXPECT_TRUE(c.queued.empty());
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionsTest, WrongArityWhileQueueingAbortsExec) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(Run(c, {"SET", "k", "v"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"EXEC"}), kExecAbort);
  EXPECT_EQ(Run(c, {"GET", "k"}), "$-1\r\n");
}

TEST_F(TransactionsTest, RefusedExecAbortsTheTransactionSayingWhy) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  Run(c, {"SET", "k", "v"});
  EXPECT_EQ(Run(c, {"EXEC", "extra"}),
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
            "command\r\n");
  EXPECT_FALSE(c.in_multi);
  EXPECT_TRUE(c.queued.empty());
  EXPECT_EQ(Run(c, {"EXEC"}), "-ERR EXEC without MULTI\r\n");
  EXPECT_EQ(Run(c, {"GET", "k"}), "$-1\r\n");
  // Even without a transaction, as Redis words it.
  EXPECT_EQ(Run(c, {"EXEC", "extra"}),
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
            "command\r\n");
}

TEST_F(TransactionsTest, UnauthenticatedExecAbortsWithNoAuthReason) {
  ClientSession& c = server_.AddClient();
  c.authenticated = false;
  EXPECT_EQ(Run(c, {"EXEC"}),
            "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n");
}

TEST_F(TransactionsTest, NoAuthWhileQueueingAbortsExec) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  // As if the session lost its authentication mid-transaction (e.g. the
  // password changed): queueing must refuse the command and poison EXEC.
  c.authenticated = false;
  EXPECT_EQ(Run(c, {"GET", "k"}), "-NOAUTH Authentication required.\r\n");
  c.authenticated = true;
  EXPECT_EQ(Run(c, {"EXEC"}), kExecAbort);
}

TEST_F(TransactionsTest, RuntimeErrorsAreRepliesInsideExecNotAborts) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  Run(c, {"SET", "k", "abc"});
  Run(c, {"PEXPIRE", "k", "notanumber"});
  Run(c, {"SET", "j", "v"});
  EXPECT_EQ(Run(c, {"EXEC"}),
            "*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n");
  EXPECT_EQ(Run(c, {"GET", "j"}), "$1\r\nv\r\n");
}

TEST_F(TransactionsTest, QueuedArgumentsAreCopiedAtQueueTime) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  std::string name = "SET", key = "k", value = "original";
  RunArgs(c, {name, key, value});
  // The network layer reuses its read buffer: overwrite what was queued.
  name.assign("DEL");
  key.assign("x");
  value.assign("clobbered");
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n+OK\r\n");
  EXPECT_EQ(Run(c, {"GET", "k"}), "$8\r\noriginal\r\n");
}

TEST_F(TransactionsTest, SelectInsideTransactionAppliesToLaterCommands) {
  if (server_.commands().Find("select") == nullptr) GTEST_SKIP() << "SELECT not registered yet";
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  Run(c, {"SET", "k", "zero"});
  Run(c, {"SELECT", "1"});
  Run(c, {"SET", "k", "one"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*3\r\n+OK\r\n+OK\r\n+OK\r\n");
  EXPECT_EQ(c.db_index, 1);
  EXPECT_EQ(Run(c, {"GET", "k"}), "$3\r\none\r\n");
  EXPECT_EQ(server_.db(0).dict().Find("k")->value().string(), "zero");
}

TEST_F(TransactionsTest, DiscardDropsQueueAndWatches) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  EXPECT_EQ(Run(c, {"WATCH", "k"}), "+OK\r\n");
  Run(c, {"MULTI"});
  Run(c, {"SET", "k", "v"});
  EXPECT_EQ(Run(c, {"DISCARD"}), "+OK\r\n");
  EXPECT_FALSE(c.in_multi);
  EXPECT_EQ(Run(c, {"GET", "k"}), "$-1\r\n");
  // DISCARD also unwatched: a later change no longer matters.
  Run(other, {"SET", "k", "changed"});
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*0\r\n");
}

TEST_F(TransactionsTest, DiscardClearsQueueingError) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  Run(c, {"NOSUCHCOMMAND"});
  EXPECT_EQ(Run(c, {"DISCARD"}), "+OK\r\n");
  Run(c, {"MULTI"});
  Run(c, {"SET", "k", "v"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n+OK\r\n");
}

TEST_F(TransactionsTest, WatchInsideMultiIsRejectedWithoutAbort) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"WATCH", "k"}), "-ERR WATCH inside MULTI is not allowed\r\n");
  EXPECT_TRUE(c.watched.empty());
  Run(c, {"SET", "k", "v"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n+OK\r\n");
}

TEST_F(TransactionsTest, UnwatchIsQueuedInsideMulti) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"UNWATCH"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n+OK\r\n");
}

TEST_F(TransactionsTest, WatchedKeyChangedByAnotherClientFailsExec) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  Run(c, {"WATCH", "k"});
  Run(other, {"SET", "k", "changed"});
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"SET", "k", "mine"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
  EXPECT_EQ(Run(c, {"GET", "k"}), "$7\r\nchanged\r\n");
  EXPECT_FALSE(c.in_multi);
  EXPECT_TRUE(c.watched.empty());
}

TEST_F(TransactionsTest, FailedExecIsNullInResp3) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  c.resp = protocol::RespVersion::kResp3;
  Run(c, {"WATCH", "k"});
  Run(other, {"SET", "k", "created"});
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "_\r\n");
}

TEST_F(TransactionsTest, WatchedKeyChangedByTheWatcherItselfFailsExec) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  Run(c, {"WATCH", "k"});
  Run(c, {"SET", "k", "v"});  // same value still counts as a modification
  Run(c, {"MULTI"});
  Run(c, {"GET", "k"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionsTest, ChangeAfterMultiBeforeExecFailsExec) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"WATCH", "k"});
  Run(c, {"MULTI"});
  Run(c, {"SET", "k", "mine"});
  Run(other, {"DEL", "k"});  // deleting an absent key is no change
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n+OK\r\n");

  Run(c, {"WATCH", "k"});
  Run(c, {"MULTI"});
  Run(c, {"SET", "k", "mine again"});
  Run(other, {"DEL", "k"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
  EXPECT_EQ(Run(c, {"GET", "k"}), "$-1\r\n");
}

TEST_F(TransactionsTest, ReadsAndOtherDatabasesDoNotInvalidate) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  Run(c, {"WATCH", "k", "absent"});
  Run(other, {"GET", "k"});
  Run(other, {"EXISTS", "k", "absent"});
  other.db_index = 1;
  Run(other, {"SET", "k", "other-db"});
  Run(other, {"SET", "absent", "other-db"});
  Run(c, {"MULTI"});
  Run(c, {"GET", "k"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n$1\r\nv\r\n");
}

TEST_F(TransactionsTest, ExecAbortWinsOverTouchedWatch) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"WATCH", "k"});
  Run(other, {"SET", "k", "changed"});
  Run(c, {"MULTI"});
  Run(c, {"NOSUCHCOMMAND"});
  EXPECT_EQ(Run(c, {"EXEC"}), kExecAbort);
}

TEST_F(TransactionsTest, UnwatchForgetsChanges) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"WATCH", "k"});
  Run(other, {"SET", "k", "changed"});
  EXPECT_EQ(Run(c, {"UNWATCH"}), "+OK\r\n");
  EXPECT_FALSE(c.watch_dirty);
  Run(c, {"MULTI"});
  Run(c, {"GET", "k"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n$7\r\nchanged\r\n");
}

TEST_F(TransactionsTest, ExecEndsWatchingSoOwnWritesDoNotCarryOver) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"WATCH", "k"});
  Run(c, {"MULTI"});
  Run(c, {"SET", "k", "mine"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n+OK\r\n");
  EXPECT_TRUE(c.watched.empty());
  Run(other, {"SET", "k", "changed"});
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*0\r\n");
}

TEST_F(TransactionsTest, WatchAfterTouchStaysDirty) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"WATCH", "k"});
  Run(other, {"SET", "k", "changed"});
  EXPECT_EQ(Run(c, {"WATCH", "j"}), "+OK\r\n");
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionsTest, EveryWatcherOfAKeyIsInvalidated) {
  ClientSession& a = server_.AddClient();
  ClientSession& b = server_.AddClient();
  ClientSession& c = server_.AddClient();
  ClientSession& writer = server_.AddClient();
  Run(a, {"WATCH", "k"});
  Run(b, {"WATCH", "x", "k", "k"});  // a repeated key is watched once
  EXPECT_EQ(b.watched.size(), 2u);
  Run(c, {"WATCH", "k"});
  Run(c, {"UNWATCH"});
  Run(writer, {"SET", "k", "v"});
  EXPECT_TRUE(a.watch_dirty);
  EXPECT_TRUE(b.watch_dirty);
  EXPECT_FALSE(c.watch_dirty);
}

TEST_F(TransactionsTest, RemovedWatcherIsForgotten) {
  ClientSession& a = server_.AddClient();
  ClientSession& b = server_.AddClient();
  ClientSession& writer = server_.AddClient();
  Run(a, {"WATCH", "k"});
  Run(b, {"WATCH", "k"});
  server_.RemoveClient(a);
  Run(writer, {"SET", "k", "v"});  // must not touch the removed session
  EXPECT_TRUE(b.watch_dirty);
}

// --- Expiry (Redis 7.0.15 semantics) ---

TEST_F(TransactionsTest, WatchedKeyThatExpiresFailsExecEvenIfNotYetReclaimed) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 100);
  Run(c, {"WATCH", "k"});
  clock_.AdvanceMs(200);
  Run(c, {"MULTI"});
  Run(c, {"GET", "k"});
  ASSERT_TRUE(PhysicallyPresent(0, "k"));
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionsTest, WatchedKeyNotYetExpiredAtExecRuns) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 100);
  Run(c, {"WATCH", "k"});
  clock_.AdvanceMs(99);
  Run(c, {"MULTI"});
  Run(c, {"GET", "k"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n$1\r\nv\r\n");
}

TEST_F(TransactionsTest, LazyExpiryByAnotherClientInvalidates) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 100);
  Run(c, {"WATCH", "k"});
  clock_.AdvanceMs(200);
  EXPECT_EQ(Run(other, {"EXISTS", "k"}), ":0\r\n");
  ASSERT_FALSE(PhysicallyPresent(0, "k"));
  EXPECT_TRUE(c.watch_dirty);
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionsTest, ActiveExpiryInvalidates) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 100);
  Run(c, {"WATCH", "k"});
  clock_.AdvanceMs(200);
  server_.Cron();
  ASSERT_FALSE(PhysicallyPresent(0, "k"));
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionsTest, KeyAlreadyExpiredWhenWatchedIsTreatedAsAbsent) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 50);
  clock_.AdvanceMs(100);
  Run(c, {"WATCH", "k"});
  ASSERT_TRUE(c.watched.at(0).expired_when_watched);
  Run(c, {"MULTI"});
  Run(c, {"GET", "k"});
  // Still expired at EXEC, still present: no logical change.
  ASSERT_TRUE(PhysicallyPresent(0, "k"));
  EXPECT_EQ(Run(c, {"EXEC"}), "*1\r\n$-1\r\n");
}

TEST_F(TransactionsTest, ReclaimingAKeyExpiredAtWatchIsNoChange) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 50);
  clock_.AdvanceMs(100);
  Run(c, {"WATCH", "k"});
  EXPECT_EQ(Run(other, {"GET", "k"}), "$-1\r\n");  // lazily deleted
  ASSERT_FALSE(PhysicallyPresent(0, "k"));
  EXPECT_FALSE(c.watch_dirty);
  // From now on it is an ordinary absent key: creating it is a change.
  EXPECT_FALSE(c.watched.at(0).expired_when_watched);
  Run(other, {"SET", "k", "new"});
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionsTest, OverwritingAKeyExpiredAtWatchIsAChange) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 50);
  clock_.AdvanceMs(100);
  Run(c, {"WATCH", "k"});
  // SET reuses the expired entry in place; it must still count.
  Run(other, {"SET", "k", "new"});
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionsTest, ActiveExpiryOfKeyExpiredAtWatchIsNoChange) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 50);
  clock_.AdvanceMs(100);
  Run(c, {"WATCH", "k"});
  server_.Cron();
  ASSERT_FALSE(PhysicallyPresent(0, "k"));
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*0\r\n");
}

// A clock that moves forward 1 ms every time it is read.
class TickingClock final : public Clock {
 public:
  int64_t NowMs() const override { return now_ms_++; }
  int64_t NowUs() const override { return now_ms_++ * 1000; }

 private:
  mutable int64_t now_ms_ = 1'700'000'000'000;
};

TEST(TransactionTimeTest, ExecRunsItsQueueAtOneInstant) {
  TickingClock clock;
  Server server(Config{}, &clock);
  ClientSession& c = server.AddClient();
  auto run = [&](std::vector<std::string_view> argv) {
    c.reply.clear();
    server.Execute(c, argv);
    return c.reply;
  };
  // Outside a transaction time moves between commands: the key is gone.
  // (A key lives through the millisecond of its deadline, as in Redis.)
  run({"SET", "k", "v", "PX", "1"});
  EXPECT_EQ(run({"PTTL", "k"}), ":0\r\n");
  EXPECT_EQ(run({"PTTL", "k"}), ":-2\r\n");
  // Inside EXEC every command sees the instant EXEC started.
  run({"MULTI"});
  run({"SET", "k", "v", "PX", "1"});
  run({"PTTL", "k"});
  run({"PTTL", "k"});
  run({"GET", "k"});
  EXPECT_EQ(run({"EXEC"}), "*4\r\n+OK\r\n:1\r\n:1\r\n$1\r\nv\r\n");
}

// --- FLUSHDB / FLUSHALL / SWAPDB (the Server API their handlers call) ---

TEST_F(TransactionsTest, FlushInvalidatesOnlyExistingWatchedKeys) {
  ClientSession& present = server_.AddClient();
  ClientSession& absent = server_.AddClient();
  Run(present, {"SET", "k", "v"});
  Run(present, {"WATCH", "k"});
  Run(absent, {"WATCH", "missing"});
  server_.TouchAllWatchedKeys(0);
  server_.db(0).Clear();
  EXPECT_TRUE(present.watch_dirty);
  EXPECT_FALSE(absent.watch_dirty);
}

TEST_F(TransactionsTest, FlushOfKeyExpiredAtWatchIsNoChange) {
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 50);
  clock_.AdvanceMs(100);
  Run(c, {"WATCH", "k"});
  server_.TouchAllWatchedKeys(0);
  server_.db(0).Clear();
  EXPECT_FALSE(c.watch_dirty);
  EXPECT_FALSE(c.watched.at(0).expired_when_watched);
  Run(other, {"SET", "k", "new"});
  EXPECT_TRUE(c.watch_dirty);
}

TEST_F(TransactionsTest, FlushOfKeyThatExpiredAfterWatchIsAChange) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  ExpireIn(0, "k", 50);
  Run(c, {"WATCH", "k"});
  clock_.AdvanceMs(100);
  server_.TouchAllWatchedKeys(0);
  EXPECT_TRUE(c.watch_dirty);
}

TEST_F(TransactionsTest, FlushOfOtherDatabaseIsNoChange) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "k", "v"});
  Run(c, {"WATCH", "k"});
  bool created = false;
  server_.db(1).FindOrCreate("k", clock_.NowMs(), &created);
  server_.TouchAllWatchedKeys(1);
  EXPECT_FALSE(c.watch_dirty);
}

TEST_F(TransactionsTest, SwapInvalidatesWhenKeyExistsOnEitherSide) {
  ClientSession& in_db0 = server_.AddClient();
  ClientSession& in_db1 = server_.AddClient();
  ClientSession& neither = server_.AddClient();
  in_db1.db_index = 1;
  Run(in_db0, {"SET", "k", "v"});  // only db 0 holds k
  Run(in_db0, {"WATCH", "k"});
  Run(in_db1, {"WATCH", "k"});
  Run(neither, {"WATCH", "nowhere"});
  server_.TouchAllWatchedKeys(0, 1);
  server_.TouchAllWatchedKeys(1, 0);
  server_.db(0).Swap(server_.db(1));
  EXPECT_TRUE(in_db0.watch_dirty);
  EXPECT_TRUE(in_db1.watch_dirty);
  EXPECT_FALSE(neither.watch_dirty);
}

TEST_F(TransactionsTest, SwapBringingInAnExpiredKeyIsNoChange) {
  ClientSession& c = server_.AddClient();
  ClientSession& setup = server_.AddClient();
  setup.db_index = 1;
  Run(setup, {"SET", "k", "v"});
  ExpireIn(1, "k", 50);
  clock_.AdvanceMs(100);
  Run(c, {"WATCH", "k"});  // absent in db 0
  server_.TouchAllWatchedKeys(0, 1);
  server_.TouchAllWatchedKeys(1, 0);
  server_.db(0).Swap(server_.db(1));
  EXPECT_FALSE(c.watch_dirty);
  // The watcher now sees an expired key, like one watched after expiring:
  // its being expired at EXEC is no change.
  EXPECT_TRUE(c.watched.at(0).expired_when_watched);
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*0\r\n");
}

TEST_F(TransactionsTest, FlushAndSwapCommandsInvalidate) {
  for (std::string_view name : {"flushdb", "flushall", "swapdb"}) {
    if (server_.commands().Find(name) == nullptr) GTEST_SKIP() << name << " not registered yet";
  }
  ClientSession& c = server_.AddClient();
  ClientSession& other = server_.AddClient();
  struct Step {
    std::vector<std::string_view> command;
    bool key_exists;
    std::string_view expected_exec;
  };
  const std::vector<Step> steps = {
      {{"FLUSHDB"}, true, "*-1\r\n"},          {{"FLUSHDB"}, false, "*0\r\n"},
      {{"FLUSHALL"}, true, "*-1\r\n"},         {{"FLUSHALL"}, false, "*0\r\n"},
      {{"SWAPDB", "0", "1"}, true, "*-1\r\n"}, {{"SWAPDB", "0", "0"}, true, "*0\r\n"},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(std::string(step.command[0]));
    Run(other, {"FLUSHALL"});
    if (step.key_exists) Run(other, {"SET", "k", "v"});
    Run(c, {"WATCH", "k"});
    RunArgs(other, step.command);
    Run(c, {"MULTI"});
    EXPECT_EQ(Run(c, {"EXEC"}), step.expected_exec);
  }
}

TEST_F(TransactionsTest, TransactionCommandsAreFlaggedToSkipTheQueue) {
  for (std::string_view name : {"multi", "exec", "discard", "watch"}) {
    const CommandSpec* spec = server_.commands().Find(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_TRUE(spec->has(kCmdSkipQueue)) << name;
  }
  EXPECT_FALSE(server_.commands().Find("unwatch")->has(kCmdSkipQueue));
}

}  // namespace
}  // namespace understudy::server

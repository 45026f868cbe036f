// The blocking commands driven through Server::Execute without sockets: a
// blocked client's reply appears in its session once another client's
// command (or EXEC) gives its key elements, or once its deadline passes on
// a manual clock.
#include "server/blocking.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "server/server.h"

namespace understudy::server {
namespace {

constexpr std::string_view kWrongType =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

class BlockingTest : public ::testing::Test {
 protected:
  BlockingTest() : server_(Config{}, &clock_) {}

  // Runs one request and returns the bytes it appended to the client's reply.
  std::string Run(ClientSession& client, std::initializer_list<std::string_view> args) {
    std::vector<std::string_view> argv(args);
    client.reply.clear();
    server_.Execute(client, argv);
    return TakeReply(client);
  }

  // What was written to `client` since last taken (a blocked client's reply
  // arrives while another client's command runs).
  static std::string TakeReply(ClientSession& client) {
    std::string out = std::move(client.reply);
    client.reply.clear();
    return out;
  }

  // A client whose connection wake-ups are counted.
  ClientSession& CountingClient(int* wakeups) {
    ClientSession& client = server_.AddClient();
    client.notify_output = [wakeups] { ++*wakeups; };
    return client;
  }

  BlockingRegistry& registry() { return server_.blocking(); }

  ManualClock clock_;
  Server server_;
};

TEST_F(BlockingTest, PopsAtOnceWhenAKeyHasElements) {
  ClientSession& c = server_.AddClient();
  Run(c, {"RPUSH", "k2", "a", "b"});
  // The first key with elements is used; missing keys before it are skipped.
  EXPECT_EQ(Run(c, {"BLPOP", "missing", "k2", "0"}), "*2\r\n$2\r\nk2\r\n$1\r\na\r\n");
  EXPECT_EQ(Run(c, {"BRPOP", "k2", "0"}), "*2\r\n$2\r\nk2\r\n$1\r\nb\r\n");
  EXPECT_FALSE(c.blocked);
  // The emptied list is gone.
  EXPECT_EQ(Run(c, {"EXISTS", "k2"}), ":0\r\n");
}

TEST_F(BlockingTest, WrongTypeBeforeTheFirstNonEmptyKeyIsAnError) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SET", "s", "v"});
  Run(c, {"RPUSH", "l", "x"});
  EXPECT_EQ(Run(c, {"BLPOP", "s", "l", "0"}), kWrongType);
  EXPECT_EQ(Run(c, {"BLPOP", "l", "s", "0"}), "*2\r\n$1\r\nl\r\n$1\r\nx\r\n");
  EXPECT_EQ(Run(c, {"BZPOPMIN", "s", "0"}), kWrongType);
  EXPECT_FALSE(c.blocked);
}

TEST_F(BlockingTest, BlocksOnMissingKeysAndIsServedByAPush) {
  int wakeups = 0;
  ClientSession& waiter = CountingClient(&wakeups);
  ClientSession& pusher = server_.AddClient();
  EXPECT_EQ(Run(waiter, {"BLPOP", "k", "0"}), "");
  EXPECT_TRUE(waiter.blocked);
  EXPECT_EQ(registry().blocked_count(), 1u);
  EXPECT_EQ(registry().timeout_count(), 0u);  // 0 = no deadline

  EXPECT_EQ(Run(pusher, {"RPUSH", "k", "x"}), ":1\r\n");
  EXPECT_EQ(TakeReply(waiter), "*2\r\n$1\r\nk\r\n$1\r\nx\r\n");
  EXPECT_FALSE(waiter.blocked);
  EXPECT_EQ(wakeups, 1);
  EXPECT_EQ(registry().blocked_count(), 0u);
  // The element went to the waiter: the list is empty, hence deleted.
  EXPECT_EQ(Run(pusher, {"EXISTS", "k"}), ":0\r\n");
}

TEST_F(BlockingTest, ClientsAreServedInArrivalOrderOneElementEach) {
  ClientSession& first = server_.AddClient();
  ClientSession& second = server_.AddClient();
  ClientSession& third = server_.AddClient();
  ClientSession& pusher = server_.AddClient();
  Run(first, {"BRPOP", "k", "0"});
  Run(second, {"BRPOP", "k", "0"});
  Run(third, {"BRPOP", "k", "0"});
  EXPECT_EQ(registry().WaitersOf(0, "k"),
            (std::vector<uint64_t>{first.id(), second.id(), third.id()}));

  // Two elements serve two clients, oldest first, each popping the tail.
  Run(pusher, {"RPUSH", "k", "a", "b"});
  EXPECT_EQ(TakeReply(first), "*2\r\n$1\r\nk\r\n$1\r\nb\r\n");
  EXPECT_EQ(TakeReply(second), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
  EXPECT_EQ(TakeReply(third), "");
  EXPECT_TRUE(third.blocked);
  EXPECT_EQ(registry().WaitersOf(0, "k"), std::vector<uint64_t>{third.id()});

  Run(pusher, {"LPUSH", "k", "c"});
  EXPECT_EQ(TakeReply(third), "*2\r\n$1\r\nk\r\n$1\r\nc\r\n");
  EXPECT_EQ(registry().blocked_count(), 0u);
}

TEST_F(BlockingTest, ReadyKeysAreHandledInSignalOrderAfterExec) {
  ClientSession& both = server_.AddClient();
  ClientSession& second_only = server_.AddClient();
  ClientSession& writer = server_.AddClient();
  Run(both, {"BLPOP", "k1", "k2", "0"});
  Run(second_only, {"BLPOP", "k2", "0"});

  Run(writer, {"MULTI"});
  Run(writer, {"RPUSH", "k2", "x"});
  Run(writer, {"RPUSH", "k1", "y"});
  // Nothing is served while the transaction runs: only once EXEC returns,
  // k2 first (signalled first), where `both` is the oldest waiter.
  EXPECT_EQ(Run(writer, {"EXEC"}), "*2\r\n:1\r\n:1\r\n");
  EXPECT_EQ(TakeReply(both), "*2\r\n$2\r\nk2\r\n$1\r\nx\r\n");
  EXPECT_EQ(TakeReply(second_only), "");
  EXPECT_TRUE(second_only.blocked);
  // `both` no longer waits on k1, so y stays.
  EXPECT_EQ(Run(writer, {"LRANGE", "k1", "0", "-1"}), "*1\r\n$1\r\ny\r\n");
}

TEST_F(BlockingTest, PushAndPopInOneTransactionLeavesNothingToServe) {
  ClientSession& waiter = server_.AddClient();
  ClientSession& writer = server_.AddClient();
  Run(waiter, {"BLPOP", "k", "0"});
  Run(writer, {"MULTI"});
  Run(writer, {"RPUSH", "k", "x"});
  Run(writer, {"DEL", "k"});
  Run(writer, {"EXEC"});
  EXPECT_TRUE(waiter.blocked);
  EXPECT_EQ(TakeReply(waiter), "");
}

TEST_F(BlockingTest, InsideMultiTheCommandsDoNotBlock) {
  ClientSession& c = server_.AddClient();
  Run(c, {"MULTI"});
  EXPECT_EQ(Run(c, {"BLPOP", "k", "0"}), "+QUEUED\r\n");
  Run(c, {"BRPOPLPUSH", "k", "d", "0"});
  Run(c, {"BLMOVE", "k", "d", "LEFT", "RIGHT", "0"});
  Run(c, {"BZPOPMIN", "z", "0"});
  Run(c, {"BLMPOP", "0", "1", "k", "LEFT"});
  Run(c, {"BZMPOP", "0", "1", "z", "MAX", "COUNT", "3"});
  Run(c, {"BLPOP", "k", "-1"});
  // BLMOVE/BRPOPLPUSH answer a null bulk, the others a null array; the
  // timeout is still checked.
  EXPECT_EQ(Run(c, {"EXEC"}),
            "*7\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n*-1\r\n*-1\r\n-ERR timeout is negative\r\n");
  EXPECT_FALSE(c.blocked);
  EXPECT_EQ(registry().blocked_count(), 0u);

  c.resp = protocol::RespVersion::kResp3;
  Run(c, {"MULTI"});
  Run(c, {"BLPOP", "k", "0"});
  Run(c, {"BLMOVE", "k", "d", "LEFT", "RIGHT", "0"});
  EXPECT_EQ(Run(c, {"EXEC"}), "*2\r\n_\r\n_\r\n");
}

TEST_F(BlockingTest, TimesOutAtTheDeadlineWithANullArray) {
  int wakeups = 0;
  ClientSession& c = CountingClient(&wakeups);
  const int64_t start = clock_.NowMs();
  Run(c, {"BLPOP", "k", "1.5"});
  ASSERT_TRUE(c.blocked);
  EXPECT_EQ(registry().NextDeadline(), start + 1500);
  EXPECT_EQ(registry().timeout_count(), 1u);

  clock_.AdvanceMs(1499);
  EXPECT_EQ(registry().ExpireTimedOut(clock_.NowMs()), 0u);
  EXPECT_TRUE(c.blocked);
  EXPECT_EQ(wakeups, 0);

  clock_.AdvanceMs(1);
  EXPECT_EQ(registry().ExpireTimedOut(clock_.NowMs()), 1u);
  EXPECT_FALSE(c.blocked);
  EXPECT_EQ(TakeReply(c), "*-1\r\n");
  EXPECT_EQ(wakeups, 1);
  EXPECT_FALSE(registry().NextDeadline().has_value());
  EXPECT_EQ(registry().timeout_count(), 0u);
}

TEST_F(BlockingTest, TimeoutRepliesANullArrayForEveryCommand) {
  // BLMOVE and BRPOPLPUSH included (Redis 7.0), and "_" under RESP3.
  for (auto resp : {protocol::RespVersion::kResp2, protocol::RespVersion::kResp3}) {
    std::vector<ClientSession*> clients;
    for (int i = 0; i < 5; ++i) {
      clients.push_back(&server_.AddClient());
      clients.back()->resp = resp;
    }
    Run(*clients[0], {"BRPOPLPUSH", "a", "b", "0.01"});
    Run(*clients[1], {"BLMOVE", "a", "b", "LEFT", "LEFT", "0.01"});
    Run(*clients[2], {"BZPOPMAX", "z", "0.01"});
    Run(*clients[3], {"BLMPOP", "0.01", "1", "a", "RIGHT", "COUNT", "2"});
    Run(*clients[4], {"BZMPOP", "0.01", "2", "z", "y", "MIN"});
    clock_.AdvanceMs(10);
    EXPECT_EQ(registry().ExpireTimedOut(clock_.NowMs()), 5u);
    for (ClientSession* c : clients) {
      EXPECT_EQ(TakeReply(*c), resp == protocol::RespVersion::kResp2 ? "*-1\r\n" : "_\r\n");
    }
  }
}

TEST_F(BlockingTest, FractionsOfAMillisecondRoundUpAndNegativeZeroWaitsForever) {
  ClientSession& tiny = server_.AddClient();
  ClientSession& forever = server_.AddClient();
  const int64_t start = clock_.NowMs();
  Run(tiny, {"BLPOP", "k", "0.0001"});
  Run(forever, {"BLPOP", "k", "-0.0001"});
  EXPECT_EQ(registry().NextDeadline(), start + 1);
  EXPECT_EQ(registry().timeout_count(), 1u);
  clock_.AdvanceMs(100000);
  EXPECT_EQ(registry().ExpireTimedOut(clock_.NowMs()), 1u);
  EXPECT_FALSE(tiny.blocked);
  EXPECT_TRUE(forever.blocked);
}

TEST_F(BlockingTest, TimeoutArgumentErrors) {
  ClientSession& c = server_.AddClient();
  const std::string not_float = "-ERR timeout is not a float or out of range\r\n";
  const std::string negative = "-ERR timeout is negative\r\n";
  EXPECT_EQ(Run(c, {"BLPOP", "k", "abc"}), not_float);
  EXPECT_EQ(Run(c, {"BLPOP", "k", ""}), not_float);
  EXPECT_EQ(Run(c, {"BLPOP", "k", "nan"}), not_float);
  EXPECT_EQ(Run(c, {"BLPOP", "k", " 1"}), not_float);
  EXPECT_EQ(Run(c, {"BLPOP", "k", "-1"}), negative);
  // Out of the int64 millisecond range reads as negative, as in Redis.
  EXPECT_EQ(Run(c, {"BLPOP", "k", "inf"}), negative);
  EXPECT_EQ(Run(c, {"BLPOP", "k", "1e400"}), negative);
  EXPECT_EQ(Run(c, {"BZPOPMIN", "k", "9223372036854775807"}), negative);
  EXPECT_EQ(Run(c, {"BRPOPLPUSH", "a", "b", "x"}), not_float);
  // BLMOVE checks its directions before the timeout.
  EXPECT_EQ(Run(c, {"BLMOVE", "a", "b", "UP", "LEFT", "x"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run(c, {"BLMOVE", "a", "b", "LEFT", "RIGHT", "x"}), not_float);
  // BLMPOP/BZMPOP: numkeys, direction and COUNT before the timeout.
  EXPECT_EQ(Run(c, {"BLMPOP", "x", "0", "k", "LEFT"}), "-ERR numkeys should be greater than 0\r\n");
  EXPECT_EQ(Run(c, {"BLMPOP", "x", "2", "k", "LEFT"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run(c, {"BLMPOP", "x", "1", "k", "MIDDLE"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run(c, {"BLMPOP", "x", "1", "k", "LEFT", "COUNT", "0"}),
            "-ERR count should be greater than 0\r\n");
  EXPECT_EQ(Run(c, {"BLMPOP", "x", "1", "k", "LEFT", "COUNT", "1", "COUNT", "1"}),
            "-ERR syntax error\r\n");
  EXPECT_EQ(Run(c, {"BLMPOP", "x", "1", "k", "LEFT"}), not_float);
  EXPECT_EQ(Run(c, {"BZMPOP", "0", "1", "z", "LEFT"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run(c, {"BZMPOP", "0", "9223372036854775807", "z", "MIN"}), "-ERR syntax error\r\n");
  EXPECT_FALSE(c.blocked);
}

TEST_F(BlockingTest, DisconnectWhileBlockedLeavesNoTrace) {
  ClientSession& waiter = server_.AddClient();
  ClientSession& pusher = server_.AddClient();
  Run(waiter, {"BLPOP", "k", "other", "5"});
  ASSERT_EQ(registry().blocked_count(), 1u);
  server_.RemoveClient(waiter);
  EXPECT_EQ(registry().blocked_count(), 0u);
  EXPECT_EQ(registry().timeout_count(), 0u);
  EXPECT_TRUE(registry().WaitersOf(0, "k").empty());
  EXPECT_TRUE(registry().WaitersOf(0, "other").empty());
  // A later push keeps its element.
  Run(pusher, {"RPUSH", "k", "x"});
  EXPECT_EQ(Run(pusher, {"LLEN", "k"}), ":1\r\n");
}

TEST_F(BlockingTest, BlmoveChainsIntoClientsBlockedOnTheDestination) {
  ClientSession& mover = server_.AddClient();
  ClientSession& reader = server_.AddClient();
  ClientSession& pusher = server_.AddClient();
  Run(mover, {"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"});
  Run(reader, {"BLPOP", "dst", "0"});
  Run(pusher, {"RPUSH", "src", "v"});
  EXPECT_EQ(TakeReply(mover), "$1\r\nv\r\n");
  EXPECT_EQ(TakeReply(reader), "*2\r\n$3\r\ndst\r\n$1\r\nv\r\n");
  EXPECT_EQ(Run(pusher, {"EXISTS", "src", "dst"}), ":0\r\n");
}

TEST_F(BlockingTest, BrpoplpushServedPushesOntoTheDestinationHead) {
  ClientSession& mover = server_.AddClient();
  ClientSession& pusher = server_.AddClient();
  Run(pusher, {"RPUSH", "dst", "old"});
  Run(mover, {"BRPOPLPUSH", "src", "dst", "0"});
  Run(pusher, {"RPUSH", "src", "a", "b"});
  EXPECT_EQ(TakeReply(mover), "$1\r\nb\r\n");
  EXPECT_EQ(Run(pusher, {"LRANGE", "dst", "0", "-1"}), "*2\r\n$1\r\nb\r\n$3\r\nold\r\n");
  EXPECT_EQ(Run(pusher, {"LRANGE", "src", "0", "-1"}), "*1\r\n$1\r\na\r\n");
}

TEST_F(BlockingTest, BlmoveOntoAWrongTypeDestinationFailsWhenServed) {
  ClientSession& mover = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(mover, {"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"});
  Run(other, {"SET", "dst", "string"});
  Run(other, {"RPUSH", "src", "v"});
  // Redis 7.0 unblocks the client with the error and pops nothing.
  EXPECT_EQ(TakeReply(mover), kWrongType);
  EXPECT_FALSE(mover.blocked);
  EXPECT_EQ(Run(other, {"LRANGE", "src", "0", "-1"}), "*1\r\n$1\r\nv\r\n");
}

TEST_F(BlockingTest, AKeyOfAnotherTypeKeepsTheClientBlocked) {
  ClientSession& waiter = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(waiter, {"BLPOP", "k", "0"});
  Run(other, {"SET", "k", "string"});
  EXPECT_TRUE(waiter.blocked);
  Run(other, {"DEL", "k"});
  Run(other, {"RPUSH", "k", "x"});
  EXPECT_EQ(TakeReply(waiter), "*2\r\n$1\r\nk\r\n$1\r\nx\r\n");
}

TEST_F(BlockingTest, ListAndSortedSetWaitersOnOneKeyOnlyTakeTheirType) {
  ClientSession& zwaiter = server_.AddClient();
  ClientSession& lwaiter = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(zwaiter, {"BZPOPMIN", "k", "0"});
  Run(lwaiter, {"BLPOP", "k", "0"});
  Run(other, {"RPUSH", "k", "x"});
  EXPECT_TRUE(zwaiter.blocked);
  EXPECT_EQ(TakeReply(lwaiter), "*2\r\n$1\r\nk\r\n$1\r\nx\r\n");
  Run(other, {"ZADD", "k", "2", "m"});
  EXPECT_EQ(TakeReply(zwaiter), "*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n2\r\n");
}

TEST_F(BlockingTest, BlmpopTakesUpToCountAndLeavesTheRestToTheNextClient) {
  ClientSession& left = server_.AddClient();
  ClientSession& right = server_.AddClient();
  ClientSession& pusher = server_.AddClient();
  Run(left, {"BLMPOP", "0", "2", "none", "k", "LEFT", "COUNT", "2"});
  Run(right, {"BLMPOP", "0", "1", "k", "RIGHT", "COUNT", "2"});
  Run(pusher, {"RPUSH", "k", "1", "2", "3"});
  EXPECT_EQ(TakeReply(left), "*2\r\n$1\r\nk\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
  EXPECT_EQ(TakeReply(right), "*2\r\n$1\r\nk\r\n*1\r\n$1\r\n3\r\n");
  EXPECT_EQ(Run(pusher, {"EXISTS", "k"}), ":0\r\n");
}

TEST_F(BlockingTest, SortedSetPopsWithScores) {
  ClientSession& min = server_.AddClient();
  ClientSession& max = server_.AddClient();
  ClientSession& multi = server_.AddClient();
  ClientSession& other = server_.AddClient();
  multi.resp = protocol::RespVersion::kResp3;
  Run(min, {"BZPOPMIN", "z", "0"});
  Run(max, {"BZPOPMAX", "z", "0"});
  Run(multi, {"BZMPOP", "0", "1", "z", "MIN", "COUNT", "5"});
  Run(other, {"ZADD", "z", "1.5", "a", "2", "b", "3", "c", "4", "d"});
  EXPECT_EQ(TakeReply(min), "*3\r\n$1\r\nz\r\n$1\r\na\r\n$3\r\n1.5\r\n");
  EXPECT_EQ(TakeReply(max), "*3\r\n$1\r\nz\r\n$1\r\nd\r\n$1\r\n4\r\n");
  EXPECT_EQ(TakeReply(multi),
            "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n");
  EXPECT_EQ(Run(other, {"EXISTS", "z"}), ":0\r\n");
}

TEST_F(BlockingTest, ClientUnblockRepliesAsTimeoutOrError) {
  ClientSession& waiter = server_.AddClient();
  ClientSession& admin = server_.AddClient();
  const std::string id = std::to_string(waiter.id());
  EXPECT_EQ(Run(admin, {"CLIENT", "UNBLOCK", id}), ":0\r\n");  // not blocked
  Run(waiter, {"BLPOP", "k", "0"});
  EXPECT_EQ(Run(admin, {"CLIENT", "UNBLOCK", id}), ":1\r\n");
  EXPECT_EQ(TakeReply(waiter), "*-1\r\n");
  Run(waiter, {"BLMOVE", "a", "b", "LEFT", "LEFT", "0"});
  EXPECT_EQ(Run(admin, {"CLIENT", "UNBLOCK", id, "error"}), ":1\r\n");
  EXPECT_EQ(TakeReply(waiter), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
  EXPECT_FALSE(waiter.blocked);
  EXPECT_EQ(Run(admin, {"CLIENT", "UNBLOCK", id, "TIMEOUT"}), ":0\r\n");
  EXPECT_EQ(Run(admin, {"CLIENT", "UNBLOCK", id, "maybe"}),
            "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
}

TEST_F(BlockingTest, RenameMoveAndSwapdbWakeWaiters) {
  ClientSession& renamed = server_.AddClient();
  ClientSession& moved = server_.AddClient();
  ClientSession& swapped = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(renamed, {"BLPOP", "r", "0"});
  Run(moved, {"BLPOP", "m", "0"});
  Run(swapped, {"BLPOP", "s", "0"});

  Run(other, {"RPUSH", "tmp", "1"});
  Run(other, {"RENAME", "tmp", "r"});
  EXPECT_EQ(TakeReply(renamed), "*2\r\n$1\r\nr\r\n$1\r\n1\r\n");

  Run(other, {"SELECT", "1"});
  Run(other, {"RPUSH", "m", "2"});
  EXPECT_TRUE(moved.blocked);  // another database
  Run(other, {"MOVE", "m", "0"});
  EXPECT_EQ(TakeReply(moved), "*2\r\n$1\r\nm\r\n$1\r\n2\r\n");

  Run(other, {"RPUSH", "s", "3"});
  Run(other, {"SWAPDB", "0", "1"});
  EXPECT_EQ(TakeReply(swapped), "*2\r\n$1\r\ns\r\n$1\r\n3\r\n");
}

TEST_F(BlockingTest, AKeyNamedTwiceIsWaitedOnOnce) {
  ClientSession& waiter = server_.AddClient();
  ClientSession& other = server_.AddClient();
  Run(waiter, {"BLPOP", "k", "k", "0"});
  EXPECT_EQ(registry().WaitersOf(0, "k").size(), 1u);
  Run(other, {"RPUSH", "k", "a", "b"});
  EXPECT_EQ(TakeReply(waiter), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
  EXPECT_EQ(Run(other, {"LLEN", "k"}), ":1\r\n");
}

TEST_F(BlockingTest, InfoAndClientListShowBlockedClients) {
  ClientSession& waiter = server_.AddClient();
  ClientSession& admin = server_.AddClient();
  Run(waiter, {"BZPOPMIN", "z", "30"});
  const std::string info = Run(admin, {"INFO", "clients"});
  EXPECT_NE(info.find("blocked_clients:1\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("clients_in_timeout_table:1\r\n"), std::string::npos) << info;
  const std::string list = Run(admin, {"CLIENT", "LIST", "ID", std::to_string(waiter.id())});
  EXPECT_NE(list.find(" flags=b "), std::string::npos) << list;
  EXPECT_NE(list.find(" cmd=bzpopmin "), std::string::npos) << list;
}

}  // namespace
}  // namespace understudy::server

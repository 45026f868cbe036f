// Publish/subscribe driven through Server::Execute, without sockets: the
// exact RESP bytes of confirmations and messages, the RESP2 subscribed-mode
// rule, the registry's bookkeeping and client-output-buffer-limit.
#include "server/pubsub.h"

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

constexpr std::string_view kSubscribedModeGetError =
    "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
    "allowed in this context\r\n";

// "*3\r\n$<n>\r\n<kind>\r\n$<n>\r\n<name>\r\n:<count>\r\n" (or '>' for RESP3).
std::string Confirmation(std::string_view kind, std::string_view name, int count, char type = '*') {
  std::string out(1, type);
  out += "3\r\n$" + std::to_string(kind.size()) + "\r\n" + std::string(kind) + "\r\n";
  out += "$" + std::to_string(name.size()) + "\r\n" + std::string(name) + "\r\n";
  out += ":" + std::to_string(count) + "\r\n";
  return out;
}

std::string Bulk(std::string_view text) {
  return "$" + std::to_string(text.size()) + "\r\n" + std::string(text) + "\r\n";
}

std::string Message(std::string_view channel, std::string_view payload, char type = '*') {
  return std::string(1, type) + "3\r\n" + Bulk("message") + Bulk(channel) + Bulk(payload);
}

std::string PatternMessage(std::string_view pattern, std::string_view channel,
                           std::string_view payload, char type = '*') {
  return std::string(1, type) + "4\r\n" + Bulk("pmessage") + Bulk(pattern) + Bulk(channel) +
         Bulk(payload);
}

class PubSubTest : public ::testing::Test {
 protected:
  PubSubTest() : server_(Config{}, &clock_) {}

  // Runs one request and returns exactly the bytes it appended to the reply.
  std::string Run(ClientSession& client, std::initializer_list<std::string_view> args) {
    return testing_support::RunRequest(server_, client, args);
  }

  // Takes what was delivered to `client` from outside its own commands.
  static std::string Take(ClientSession& client) {
    std::string out = std::move(client.reply);
    client.reply.clear();
    return out;
  }

  ManualClock clock_;
  Server server_;
};

TEST(SubscriptionSetTest, KeepsSubscriptionOrderAndRejectsDuplicates) {
  SubscriptionSet set;
  EXPECT_TRUE(set.Add("b"));
  EXPECT_TRUE(set.Add("a"));
  EXPECT_TRUE(set.Add("c"));
  EXPECT_FALSE(set.Add("a"));
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(set.Remove("a"));
  EXPECT_FALSE(set.Remove("a"));
  EXPECT_TRUE(set.Add("a"));  // re-subscribing moves it to the end
  EXPECT_EQ(set.InOrder(), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_TRUE(set.Contains("c"));
  EXPECT_FALSE(set.Contains("z"));
}

TEST_F(PubSubTest, SubscribeConfirmsEachChannelWithRunningCount) {
  ClientSession& c = server_.AddClient();
  EXPECT_EQ(Run(c, {"SUBSCRIBE", "c1", "c2", "c1"}), Confirmation("subscribe", "c1", 1) +
                                                         Confirmation("subscribe", "c2", 2) +
                                                         Confirmation("subscribe", "c1", 2));
  // Patterns add to the same count.
  EXPECT_EQ(Run(c, {"PSUBSCRIBE", "p*", "p*"}),
            Confirmation("psubscribe", "p*", 3) + Confirmation("psubscribe", "p*", 3));
  EXPECT_TRUE(c.pubsub_mode());
}

TEST_F(PubSubTest, UnsubscribeWithNothingSubscribedRepliesNullName) {
  ClientSession& c = server_.AddClient();
  EXPECT_EQ(Run(c, {"UNSUBSCRIBE"}), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(Run(c, {"PUNSUBSCRIBE"}), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(Run(c, {"SUNSUBSCRIBE"}), "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
  // Naming channels one is not subscribed to confirms each anyway.
  EXPECT_EQ(Run(c, {"UNSUBSCRIBE", "x", "y"}),
            Confirmation("unsubscribe", "x", 0) + Confirmation("unsubscribe", "y", 0));
  EXPECT_FALSE(c.pubsub_mode());
  Run(c, {"HELLO", "3"});
  EXPECT_EQ(Run(c, {"UNSUBSCRIBE"}), ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
}

TEST_F(PubSubTest, UnsubscribeAllGoesInSubscriptionOrderAndLeavesSubscribedMode) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SUBSCRIBE", "c3", "c1", "c2"});
  Run(c, {"PSUBSCRIBE", "z*", "a*"});
  EXPECT_EQ(Run(c, {"GET", "k"}), kSubscribedModeGetError);
  EXPECT_EQ(Run(c, {"PUNSUBSCRIBE"}),
            Confirmation("punsubscribe", "z*", 4) + Confirmation("punsubscribe", "a*", 3));
  EXPECT_EQ(Run(c, {"UNSUBSCRIBE"}), Confirmation("unsubscribe", "c3", 2) +
                                         Confirmation("unsubscribe", "c1", 1) +
                                         Confirmation("unsubscribe", "c2", 0));
  EXPECT_FALSE(c.pubsub_mode());
  EXPECT_EQ(Run(c, {"GET", "k"}), "$-1\r\n");
}

TEST_F(PubSubTest, Resp2SubscribedModeAllowsOnlyPubSubPingQuitReset) {
  ClientSession& c = server_.AddClient();
  Run(c, {"SUBSCRIBE", "ch"});
  EXPECT_EQ(Run(c, {"GET", "k"}), kSubscribedModeGetError);
  EXPECT_EQ(Run(c, {"client", "list"}),
            "-ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
            "QUIT / RESET are allowed in this context\r\n");
  EXPECT_EQ(Run(c, {"MULTI"}).substr(0, 25), "-ERR Can't execute 'multi");
  // Unknown commands and arity errors are reported as such first.
  EXPECT_EQ(Run(c, {"nosuch"}), "-ERR unknown command 'nosuch', with args beginning with: \r\n");
  EXPECT_EQ(Run(c, {"subscribe"}), "-ERR wrong number of arguments for 'subscribe' command\r\n");
  // PING answers in the shape of a message.
  EXPECT_EQ(Run(c, {"PING"}), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  EXPECT_EQ(Run(c, {"PING", "hi"}), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
  EXPECT_EQ(Run(c, {"SSUBSCRIBE", "s"}), Confirmation("ssubscribe", "s", 1));
  EXPECT_EQ(Run(c, {"PUBLISH", "ch", "m"}).substr(0, 27), "-ERR Can't execute 'publish");
}

TEST_F(PubSubTest, Resp3SubscriberRunsAnyCommandAndGetsPushes) {
  ClientSession& c = server_.AddClient();
  ClientSession& publisher = server_.AddClient();
  Run(c, {"HELLO", "3"});
  EXPECT_EQ(Run(c, {"SUBSCRIBE", "ch"}), Confirmation("subscribe", "ch", 1, '>'));
  EXPECT_EQ(Run(c, {"PING"}), "+PONG\r\n");
  EXPECT_EQ(Run(c, {"GET", "k"}), "_\r\n");
  EXPECT_EQ(Run(publisher, {"PUBLISH", "ch", "hello"}), ":1\r\n");
  EXPECT_EQ(Take(c), Message("ch", "hello", '>'));
  // Publishing to itself: the push comes before PUBLISH's own reply.
  EXPECT_EQ(Run(c, {"PUBLISH", "ch", "me"}), Message("ch", "me", '>') + ":1\r\n");
  // Back on RESP2 the restriction applies again.
  Run(c, {"HELLO", "2"});
  EXPECT_EQ(Run(c, {"GET", "k"}), kSubscribedModeGetError);
}

TEST_F(PubSubTest, PublishReachesChannelAndPatternSubscribers) {
  ClientSession& exact = server_.AddClient();
  ClientSession& by_pattern = server_.AddClient();
  ClientSession& both = server_.AddClient();
  ClientSession& publisher = server_.AddClient();
  Run(exact, {"SUBSCRIBE", "news.tech"});
  Run(by_pattern, {"PSUBSCRIBE", "news.*", "other.*"});
  Run(both, {"SUBSCRIBE", "news.tech"});
  Run(both, {"PSUBSCRIBE", "n?ws.[st]ech"});
  // Each way of matching counts once.
  EXPECT_EQ(Run(publisher, {"PUBLISH", "news.tech", "payload"}), ":4\r\n");
  EXPECT_EQ(Take(exact), Message("news.tech", "payload"));
  EXPECT_EQ(Take(by_pattern), PatternMessage("news.*", "news.tech", "payload"));
  EXPECT_EQ(Take(both), Message("news.tech", "payload") +
                            PatternMessage("n?ws.[st]ech", "news.tech", "payload"));
  EXPECT_EQ(Run(publisher, {"PUBLISH", "sports", "x"}), ":0\r\n");
  EXPECT_EQ(Take(exact), "");
  EXPECT_EQ(Take(by_pattern), "");
  // Binary-safe payloads.
  const std::string binary("a\r\n\0b", 5);
  EXPECT_EQ(Run(publisher, {"PUBLISH", "news.tech", binary}), ":4\r\n");
  EXPECT_EQ(Take(exact), Message("news.tech", binary));
}

TEST_F(PubSubTest, EmptyChannelMatchesNoStarPatternAsInRedis) {
  ClientSession& sub = server_.AddClient();
  ClientSession& publisher = server_.AddClient();
  Run(sub, {"PSUBSCRIBE", "*"});
  Run(sub, {"SUBSCRIBE", ""});
  EXPECT_EQ(Run(publisher, {"PUBLISH", "", "m"}), ":1\r\n");
  EXPECT_EQ(Take(sub), Message("", "m"));
  EXPECT_EQ(Run(publisher, {"PUBSUB", "CHANNELS"}), "*1\r\n$0\r\n\r\n");
  EXPECT_EQ(Run(publisher, {"PUBSUB", "CHANNELS", "*"}), "*0\r\n");
}

TEST_F(PubSubTest, PubSubIntrospection) {
  ClientSession& a = server_.AddClient();
  ClientSession& b = server_.AddClient();
  ClientSession& observer = server_.AddClient();
  Run(a, {"SUBSCRIBE", "foo", "bar"});
  Run(b, {"SUBSCRIBE", "foo"});
  Run(a, {"PSUBSCRIBE", "x*"});
  Run(b, {"PSUBSCRIBE", "x*", "y*"});
  EXPECT_EQ(Run(observer, {"PUBSUB", "NUMSUB", "foo", "bar", "none"}),
            "*6\r\n" + Bulk("foo") + ":2\r\n" + Bulk("bar") + ":1\r\n" + Bulk("none") + ":0\r\n");
  EXPECT_EQ(Run(observer, {"PUBSUB", "NUMSUB"}), "*0\r\n");
  // Distinct patterns, not subscriptions (Redis 7.0).
  EXPECT_EQ(Run(observer, {"PUBSUB", "NUMPAT"}), ":2\r\n");
  EXPECT_EQ(Run(observer, {"PUBSUB", "CHANNELS", "f*"}), "*1\r\n" + Bulk("foo"));
  std::string all = Run(observer, {"PUBSUB", "CHANNELS"});
  EXPECT_EQ(all.substr(0, 4), "*2\r\n");
  EXPECT_NE(all.find(Bulk("foo")), std::string::npos);
  EXPECT_NE(all.find(Bulk("bar")), std::string::npos);
  EXPECT_EQ(Run(observer, {"PUBSUB", "CHANNELS", "a", "b"}),
            "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB "
            "HELP.\r\n");
  EXPECT_EQ(Run(observer, {"PUBSUB", "NUMPAT", "x"}),
            "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n");
  EXPECT_EQ(Run(observer, {"PUBSUB", "foo"}),
            "-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n");
  EXPECT_EQ(Run(observer, {"PUBSUB", "HELP"}).substr(0, 5), "*14\r\n");
  const std::string info = Run(observer, {"INFO", "stats"});
  EXPECT_NE(info.find("pubsub_channels:2\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("pubsub_patterns:2\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("pubsubshard_channels:0\r\n"), std::string::npos) << info;
}

TEST_F(PubSubTest, ShardChannelsAreASeparateNameSpace) {
  ClientSession& shard = server_.AddClient();
  ClientSession& global = server_.AddClient();
  ClientSession& publisher = server_.AddClient();
  EXPECT_EQ(Run(shard, {"SSUBSCRIBE", "s1", "s2"}),
            Confirmation("ssubscribe", "s1", 1) + Confirmation("ssubscribe", "s2", 2));
  Run(global, {"PSUBSCRIBE", "*"});
  EXPECT_EQ(Run(publisher, {"SPUBLISH", "s1", "m"}), ":1\r\n");
  EXPECT_EQ(Take(shard), "*3\r\n" + Bulk("smessage") + Bulk("s1") + Bulk("m"));
  EXPECT_EQ(Take(global), "");                                  // patterns never see shard messages
  EXPECT_EQ(Run(publisher, {"PUBLISH", "s1", "m"}), ":1\r\n");  // only the pattern
  EXPECT_EQ(Take(shard), "");
  EXPECT_EQ(Take(global), PatternMessage("*", "s1", "m"));
  EXPECT_EQ(Run(publisher, {"PUBSUB", "SHARDNUMSUB", "s1", "zz"}),
            "*4\r\n" + Bulk("s1") + ":1\r\n" + Bulk("zz") + ":0\r\n");
  EXPECT_EQ(Run(publisher, {"PUBSUB", "SHARDCHANNELS", "s1"}), "*1\r\n" + Bulk("s1"));
  EXPECT_EQ(Run(publisher, {"PUBSUB", "CHANNELS"}), "*0\r\n");
  // The shard count stands alone in confirmations.
  EXPECT_EQ(Run(shard, {"SUBSCRIBE", "c"}), Confirmation("subscribe", "c", 1));
  EXPECT_EQ(Run(shard, {"SUNSUBSCRIBE"}),
            Confirmation("sunsubscribe", "s1", 1) + Confirmation("sunsubscribe", "s2", 0));
  EXPECT_TRUE(shard.pubsub_mode());  // still subscribed to "c"
}

TEST_F(PubSubTest, SubscribeInsideMultiRunsAtExecButSsubscribeIsRefused) {
  ClientSession& c = server_.AddClient();
  EXPECT_EQ(Run(c, {"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"SUBSCRIBE", "m1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"SSUBSCRIBE", "m2"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"GET", "k"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(c, {"EXEC"}), "*3\r\n" + Confirmation("subscribe", "m1", 1) +
                                  "-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n" +
                                  "$-1\r\n");
  EXPECT_EQ(Run(c, {"GET", "k"}), kSubscribedModeGetError);
}

TEST_F(PubSubTest, ResetAndDisconnectDropSubscriptionsSilently) {
  ClientSession& c = server_.AddClient();
  ClientSession& observer = server_.AddClient();
  Run(c, {"SUBSCRIBE", "a", "b"});
  Run(c, {"PSUBSCRIBE", "p*"});
  Run(c, {"SSUBSCRIBE", "s"});
  EXPECT_EQ(Run(c, {"RESET"}), "+RESET\r\n");
  EXPECT_FALSE(c.pubsub_mode());
  EXPECT_EQ(Run(observer, {"PUBSUB", "NUMSUB", "a"}), "*2\r\n" + Bulk("a") + ":0\r\n");
  EXPECT_EQ(Run(observer, {"PUBSUB", "NUMPAT"}), ":0\r\n");
  EXPECT_EQ(Run(observer, {"PUBLISH", "a", "m"}), ":0\r\n");
  EXPECT_EQ(Take(c), "");

  ClientSession& gone = server_.AddClient();
  Run(gone, {"SUBSCRIBE", "a"});
  Run(gone, {"PSUBSCRIBE", "p*"});
  server_.RemoveClient(gone);
  EXPECT_EQ(server_.pubsub().channel_count(ChannelScope::kGlobal), 0u);
  EXPECT_EQ(server_.pubsub().pattern_count(), 0u);
  EXPECT_EQ(Run(observer, {"PUBLISH", "a", "m"}), ":0\r\n");
}

TEST_F(PubSubTest, ClientListShowsSubscriptionsAndPubSubFlag) {
  ClientSession& c = server_.AddClient();
  ClientSession& observer = server_.AddClient();
  Run(c, {"SUBSCRIBE", "a", "b"});
  Run(c, {"PSUBSCRIBE", "p*"});
  Run(c, {"SSUBSCRIBE", "s"});
  const std::string list = Run(observer, {"CLIENT", "LIST"});
  const std::string id = "id=" + std::to_string(c.id()) + " ";
  const size_t line = list.find(id);
  ASSERT_NE(line, std::string::npos) << list;
  const std::string mine = list.substr(line, list.find('\n', line) - line);
  EXPECT_NE(mine.find(" flags=P "), std::string::npos) << mine;
  EXPECT_NE(mine.find(" sub=2 psub=1 ssub=1 "), std::string::npos) << mine;
  EXPECT_NE(list.find(" flags=N db=0 sub=0 psub=0 ssub=0 "), std::string::npos) << list;
}

TEST_F(PubSubTest, DeliveryWakesTheConnectionOncePerBurst) {
  ClientSession& sub = server_.AddClient();
  ClientSession& publisher = server_.AddClient();
  int wakeups = 0;
  sub.notify_output = [&wakeups] { ++wakeups; };
  Run(sub, {"SUBSCRIBE", "ch"});
  for (int i = 0; i < 5; ++i) Run(publisher, {"PUBLISH", "ch", "m"});
  EXPECT_EQ(wakeups, 1);
  std::string delivered = Take(sub);
  EXPECT_EQ(delivered.size(), 5 * Message("ch", "m").size());
  Run(publisher, {"PUBLISH", "ch", "m"});
  EXPECT_EQ(wakeups, 2);
}

TEST_F(PubSubTest, SubscriberOverHardLimitIsDroppedAndClosed) {
  ClientSession& sub = server_.AddClient();
  ClientSession& publisher = server_.AddClient();
  EXPECT_EQ(Run(publisher, {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 4kb 0 0"}),
            "+OK\r\n");
  int closes = 0;
  sub.close_now = [&closes] { ++closes; };
  Run(sub, {"SUBSCRIBE", "ch"});
  const std::string payload(1000, 'x');
  int published = 0;
  while (!sub.close_after_reply && published < 100) {
    EXPECT_EQ(Run(publisher, {"PUBLISH", "ch", payload}), ":1\r\n");
    ++published;
  }
  EXPECT_TRUE(sub.close_after_reply);
  EXPECT_EQ(published, 4);  // 1034 bytes each: three fit under 4096, the 4th does not
  EXPECT_EQ(closes, 1);
  EXPECT_TRUE(sub.reply.empty());
  EXPECT_EQ(sub.reply.capacity(), std::string().capacity());  // memory given back
  // Still counted as a receiver until the connection is gone, but nothing
  // more is queued for it.
  EXPECT_EQ(Run(publisher, {"PUBLISH", "ch", payload}), ":1\r\n");
  EXPECT_TRUE(sub.reply.empty());
  EXPECT_EQ(closes, 1);
}

TEST_F(PubSubTest, BytesStillBeingWrittenCountTowardsTheLimit) {
  ClientSession& sub = server_.AddClient();
  ClientSession& publisher = server_.AddClient();
  Run(publisher, {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 4kb 0 0"});
  Run(sub, {"SUBSCRIBE", "ch"});
  sub.output_in_flight = 4090;  // plus a ~30-byte message reaches 4kb
  Run(publisher, {"PUBLISH", "ch", "small"});
  EXPECT_TRUE(sub.close_after_reply);
}

TEST_F(PubSubTest, SoftLimitClosesOnlyAfterItsSeconds) {
  ClientSession& sub = server_.AddClient();
  ClientSession& publisher = server_.AddClient();
  Run(publisher, {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 2kb 10"});
  Run(sub, {"SUBSCRIBE", "ch"});
  const std::string payload(3000, 'x');
  Run(publisher, {"PUBLISH", "ch", payload});  // over the soft limit: timer starts
  EXPECT_FALSE(sub.close_after_reply);
  clock_.AdvanceMs(10'000);
  Run(publisher, {"PUBLISH", "ch", "m"});  // exactly 10 s: not yet
  EXPECT_FALSE(sub.close_after_reply);
  // Catching up resets the timer.
  Take(sub);
  Run(publisher, {"PUBLISH", "ch", "m"});
  clock_.AdvanceMs(5'000);
  Run(publisher, {"PUBLISH", "ch", payload});  // over again: a new timer
  clock_.AdvanceMs(9'000);
  Run(publisher, {"PUBLISH", "ch", "m"});
  EXPECT_FALSE(sub.close_after_reply);
  clock_.AdvanceMs(1'001);
  Run(publisher, {"PUBLISH", "ch", "m"});
  EXPECT_TRUE(sub.close_after_reply);
}

TEST_F(PubSubTest, NormalClientsHaveNoLimitByDefaultButObeyOneWhenSet) {
  ClientSession& c = server_.AddClient();
  const std::string big(100'000, 'v');
  Run(c, {"SET", "k", big});
  c.reply.clear();
  for (int i = 0; i < 50; ++i) server_.Execute(c, std::vector<std::string_view>{"GET", "k"});
  EXPECT_FALSE(c.close_after_reply);
  c.reply.clear();
  Run(c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"});
  for (int i = 0; i < 50 && !c.close_after_reply; ++i) {
    server_.Execute(c, std::vector<std::string_view>{"GET", "k"});
  }
  EXPECT_TRUE(c.close_after_reply);
  EXPECT_TRUE(c.reply.empty());
}

TEST_F(PubSubTest, HandlersCanStopEarlyWithoutLosingTheirReplyMidway) {
  ClientSession& c = server_.AddClient();
  int closes = 0;
  c.close_now = [&closes] { ++closes; };
  const CommandSpec& spec = *server_.commands().Find("get");
  const std::vector<std::string_view> args{"get", "k"};
  CommandContext ctx{server_, c, server_.db(0), c.writer(), args, spec, clock_.NowMs()};
  c.reply.assign(10'000, 'x');
  EXPECT_FALSE(ctx.OutputLimitReached());  // normal clients: no limit by default
  server_.config().client_output_buffer_limit[kClientNormal].hard_bytes = 8'192;
  EXPECT_TRUE(ctx.OutputLimitReached());
  // The reply a handler is building stays intact (deferred headers may
  // point into it); the connection is asked to close once.
  EXPECT_EQ(c.reply.size(), 10'000u);
  EXPECT_TRUE(c.close_asap);
  EXPECT_TRUE(ctx.OutputLimitReached());
  EXPECT_EQ(closes, 1);
  // Once the command is over, the output goes.
  EXPECT_FALSE(server_.EnforceOutputBufferLimit(c));
  EXPECT_TRUE(c.reply.empty());
  EXPECT_EQ(closes, 1);
}

TEST_F(PubSubTest, ClientOutputBufferLimitDirective) {
  ClientSession& c = server_.AddClient();
  const std::string defaults =
      "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
  EXPECT_EQ(Run(c, {"CONFIG", "GET", "client-output-buffer-limit"}),
            "*2\r\n" + Bulk("client-output-buffer-limit") + Bulk(defaults));
  EXPECT_EQ(
      Run(c, {"CONFIG", "SET", "client-output-buffer-limit", "PUBSUB 1mb 512kb 10 replica 1 2 3"}),
      "+OK\r\n");
  EXPECT_EQ(Run(c, {"CONFIG", "GET", "client-output-buffer-limit"}),
            "*2\r\n" + Bulk("client-output-buffer-limit") +
                Bulk("normal 0 0 0 slave 1 2 3 pubsub 1048576 524288 10"));
  const std::string prefix =
      "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ";
  EXPECT_EQ(Run(c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 1 1"}),
            prefix + "Wrong number of arguments in buffer limit configuration.\r\n");
  EXPECT_EQ(Run(c, {"CONFIG", "SET", "client-output-buffer-limit", "master 1 1 1"}),
            prefix + "Invalid client class specified in buffer limit configuration.\r\n");
  for (std::string_view bad : {"normal -1 1 1", "normal 1 1 -1", "normal 1.5mb 1 1",
                               "normal 1 1 1.5", "normal 1 1 2147483648"}) {
    EXPECT_EQ(Run(c, {"CONFIG", "SET", "client-output-buffer-limit", bad}),
              prefix +
                  "Error in hard, soft or soft_seconds setting in buffer limit "
                  "configuration.\r\n")
        << bad;
  }
  // All or nothing: a bad second class leaves the first unchanged.
  Run(c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 1 1 1 bogus 2 2 2"});
  EXPECT_EQ(server_.config().client_output_buffer_limit[kClientNormal].hard_bytes, 0u);
  // strtoll into an int, as Redis: a leading '+' passes, 2^32+1 wraps to 1.
  EXPECT_EQ(Run(c, {"CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 4294967297"}),
            "+OK\r\n");
  EXPECT_EQ(server_.config().client_output_buffer_limit[kClientNormal].soft_seconds, 1);
}

}  // namespace
}  // namespace understudy::server

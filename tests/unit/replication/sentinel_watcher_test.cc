// SentinelWatcher against real redis-server and redis-sentinel processes on
// loopback ports: discovery, a forced Sentinel failover, sentinels that
// refuse, hang (SIGSTOP), restart or do not know the name, and a change only
// the periodic re-query can see.
#include "replication/sentinel_watcher.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/replication/redis_processes.h"

namespace understudy::replication {
namespace {

using std::chrono::milliseconds;
using understudy::testing::RedisCommand;
using understudy::testing::RedisProcess;
using understudy::testing::TempDir;
using understudy::testing::WaitFor;

HostPort Loopback(int port) { return HostPort{"127.0.0.1", port}; }

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - since).count();
}

// Routes spdlog's default logger into a string while alive, to count how
// often something was logged.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }

  // Lines containing `text`.
  int Count(const std::string& text) const {
    std::istringstream lines(stream_.str());
    int count = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.find(text) != std::string::npos) ++count;
    }
    return count;
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

class SentinelWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(master_.StartServer(dir_.path(), "master"));
  }

  void StartSentinel(RedisProcess& sentinel, const std::string& name) {
    ASSERT_TRUE(sentinel.StartSentinel(dir_.path(), name, master_.port()));
  }

  // Short timings so that each case takes well under a few seconds.
  SentinelWatcher::Options MakeOptions(const std::vector<int>& sentinel_ports,
                                       const std::string& name = "mymaster") {
    SentinelWatcher::Options options;
    for (int port : sentinel_ports) options.sentinels.push_back(Loopback(port));
    options.master_name = name;
    options.timeout_ms = 300;
    options.retry_min_ms = 50;
    options.retry_max_ms = 200;
    options.refresh_ms = 5000;
    return options;
  }

  // The callback for Start(): records every address it is given.
  std::function<void(const HostPort&)> Record() {
    return [this](const HostPort& address) { seen_.push_back(address); };
  }

  // Runs the io_context until `condition` holds or `timeout` passes.
  bool RunUntil(const std::function<bool()>& condition, milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.restart();
      io_.run_for(milliseconds(10));
    }
    return true;
  }
  void RunFor(milliseconds duration) {
    RunUntil([] { return false; }, duration);
  }

  static bool Following(const SentinelWatcher& watcher, int sentinel_port) {
    std::optional<HostPort> sentinel = watcher.stats().sentinel;
    return sentinel && sentinel->port == sentinel_port;
  }

  static std::string Role(int port) {
    auto reply = RedisCommand(port, {"ROLE"});
    if (!reply || reply->elements.empty()) return "";
    return reply->elements[0].str;
  }

  // Declared first: destroyed after every watcher's pending handlers.
  boost::asio::io_context io_;
  TempDir dir_;
  RedisProcess master_;
  std::vector<HostPort> seen_;
};

TEST_F(SentinelWatcherTest, DiscoversMasterAndSubscribes) {
  RedisProcess sentinel;
  StartSentinel(sentinel, "sentinel");
  SentinelWatcher watcher(io_, MakeOptions({sentinel.port()}));
  watcher.Start(Record());

  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(3000)));
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0], Loopback(master_.port()));
  EXPECT_EQ(watcher.master(), Loopback(master_.port()));
  EXPECT_EQ(Role(seen_[0].port), "master");
  SentinelWatcher::Stats stats = watcher.stats();
  EXPECT_EQ(stats.master_changes, 1u);
  EXPECT_EQ(stats.sentinel_failures, 0u);
  EXPECT_EQ(stats.last_error, "");

  // Re-asking on request gives the same answer, which is not reported again.
  watcher.RefreshNow();
  RunFor(milliseconds(200));
  EXPECT_EQ(seen_.size(), 1u);
  EXPECT_TRUE(Following(watcher, sentinel.port()));
}

TEST_F(SentinelWatcherTest, MayBeDestroyedFromItsCallback) {
  RedisProcess sentinel;
  StartSentinel(sentinel, "sentinel");
  SentinelWatcher::Options options = MakeOptions({sentinel.port()});
  options.refresh_ms = 50;
  auto watcher = std::make_unique<SentinelWatcher>(io_, options);
  int calls = 0;
  watcher->Start([&](const HostPort&) {
    ++calls;
    watcher.reset();
  });
  ASSERT_TRUE(RunUntil([&] { return calls > 0; }, milliseconds(3000)));
  // Nothing of the destroyed watcher runs any more, and its pending
  // operations drain without touching freed memory.
  RunFor(milliseconds(300));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(watcher, nullptr);
}

TEST_F(SentinelWatcherTest, FollowsSentinelFailover) {
  RedisProcess replica;
  ASSERT_TRUE(replica.StartServer(dir_.path(), "replica",
                                  {"--replicaof", "127.0.0.1 " + std::to_string(master_.port())}));
  ASSERT_TRUE(WaitFor(
      [&] {
        return understudy::testing::InfoField(replica.port(), "replication",
                                              "master_link_status") == "up";
      },
      milliseconds(5000)))
      << "the replica did not sync";
  RedisProcess sentinel;
  StartSentinel(sentinel, "sentinel");
  SentinelWatcher watcher(io_, MakeOptions({sentinel.port()}));
  watcher.Start(Record());
  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(3000)));
  ASSERT_EQ(watcher.master(), Loopback(master_.port()));

  // The sentinel learns of the replica from the master's INFO; until it
  // has, FAILOVER answers -NOGOODSLAVE.
  bool failover_started = false;
  ASSERT_TRUE(RunUntil(
      [&] {
        auto reply = RedisCommand(sentinel.port(), {"SENTINEL", "FAILOVER", "mymaster"});
        failover_started = reply && reply->type == '+';
        if (!failover_started) std::this_thread::sleep_for(milliseconds(50));
        return failover_started;
      },
      milliseconds(10000)))
      << "SENTINEL FAILOVER was never accepted";
  auto failover_at = std::chrono::steady_clock::now();

  ASSERT_TRUE(
      RunUntil([&] { return watcher.master() == Loopback(replica.port()); }, milliseconds(10000)))
      << "still on " << watcher.master()->ToString();
  std::printf("[ INFO     ] failover followed %lld ms after SENTINEL FAILOVER\n",
              static_cast<long long>(ElapsedMs(failover_at)));
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[1], Loopback(replica.port()));
  EXPECT_GE(watcher.stats().switch_events, 1u);  // learned from the event, not a re-query
  EXPECT_EQ(watcher.stats().master_changes, 2u);
  EXPECT_TRUE(WaitFor([&] { return Role(replica.port()) == "master"; }, milliseconds(3000)));
}

TEST_F(SentinelWatcherTest, SkipsRefusingSentinel) {
  RedisProcess sentinel;
  StartSentinel(sentinel, "sentinel");
  int dead_port = understudy::testing::FreeLoopbackPort();
  SentinelWatcher watcher(io_, MakeOptions({dead_port, sentinel.port()}));
  auto started = std::chrono::steady_clock::now();
  watcher.Start(Record());

  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(3000)));
  EXPECT_LT(ElapsedMs(started), 1000);  // a refusal costs no timeout
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0], Loopback(master_.port()));
  SentinelWatcher::Stats stats = watcher.stats();
  EXPECT_EQ(stats.sentinel_failures, 1u);
  EXPECT_NE(stats.last_error.find(Loopback(dead_port).ToString()), std::string::npos)
      << stats.last_error;
  EXPECT_NE(stats.last_error.find("cannot connect"), std::string::npos) << stats.last_error;
}

TEST_F(SentinelWatcherTest, SkipsStoppedSentinelAfterTimeout) {
  RedisProcess stopped;
  RedisProcess sentinel;
  StartSentinel(stopped, "stopped");
  StartSentinel(sentinel, "sentinel");
  stopped.process().Signal(SIGSTOP);  // accepts connections (the kernel does), never answers

  SentinelWatcher::Options options = MakeOptions({stopped.port(), sentinel.port()});
  SentinelWatcher watcher(io_, options);
  auto started = std::chrono::steady_clock::now();
  watcher.Start(Record());
  ASSERT_TRUE(RunUntil([&] { return !seen_.empty(); }, milliseconds(3000)));
  int64_t elapsed = ElapsedMs(started);
  EXPECT_GE(elapsed, options.timeout_ms - 20);
  EXPECT_LT(elapsed, options.timeout_ms + 700);
  EXPECT_EQ(seen_[0], Loopback(master_.port()));
  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(2000)));
  EXPECT_NE(watcher.stats().last_error.find("no answer within 300 ms"), std::string::npos)
      << watcher.stats().last_error;
  stopped.process().Signal(SIGCONT);
}

TEST_F(SentinelWatcherTest, LeavesFollowedSentinelThatHangs) {
  RedisProcess first;
  RedisProcess second;
  StartSentinel(first, "first");
  StartSentinel(second, "second");
  SentinelWatcher::Options options = MakeOptions({first.port(), second.port()});
  options.refresh_ms = 300;
  SentinelWatcher watcher(io_, options);
  watcher.Start(Record());
  ASSERT_TRUE(RunUntil([&] { return Following(watcher, first.port()); }, milliseconds(3000)));

  first.process().Signal(SIGSTOP);
  auto stopped_at = std::chrono::steady_clock::now();
  // The next re-query times out and the watcher moves on.
  ASSERT_TRUE(RunUntil([&] { return Following(watcher, second.port()); }, milliseconds(3000)));
  EXPECT_LT(ElapsedMs(stopped_at), options.refresh_ms + options.timeout_ms + 700);
  EXPECT_EQ(seen_.size(), 1u);  // same master all along
  EXPECT_EQ(watcher.master(), Loopback(master_.port()));
  EXPECT_EQ(watcher.stats().sentinel_failures, 1u);
  first.process().Signal(SIGCONT);
}

TEST_F(SentinelWatcherTest, ReportsAndRetriesUnknownMasterName) {
  RedisProcess sentinel;
  StartSentinel(sentinel, "sentinel");
  LogCapture log;
  SentinelWatcher watcher(io_, MakeOptions({sentinel.port()}, "othermaster"));
  watcher.Start(Record());
  RunFor(milliseconds(800));

  EXPECT_TRUE(seen_.empty());
  EXPECT_FALSE(watcher.master().has_value());
  SentinelWatcher::Stats stats = watcher.stats();
  EXPECT_GE(stats.sentinel_failures, 3u);  // retried, with backoff
  EXPECT_NE(stats.last_error.find("does not know master name 'othermaster'"), std::string::npos)
      << stats.last_error;
  EXPECT_EQ(log.Count("does not know master name"), 1);  // reported once, not per retry

  // Once the sentinel monitors that name, the next retry finds it.
  auto reply = RedisCommand(sentinel.port(), {"SENTINEL", "MONITOR", "othermaster", "127.0.0.1",
                                              std::to_string(master_.port()), "1"});
  ASSERT_TRUE(reply && reply->type == '+') << (reply ? reply->str : "no reply");
  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(2000)));
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0], Loopback(master_.port()));
  EXPECT_EQ(log.Count("answers again"), 1);
}

TEST_F(SentinelWatcherTest, RefreshCatchesChangeWithoutEvent) {
  RedisProcess other;
  ASSERT_TRUE(other.StartServer(dir_.path(), "other"));
  RedisProcess sentinel;
  StartSentinel(sentinel, "sentinel");
  SentinelWatcher::Options options = MakeOptions({sentinel.port()});
  options.refresh_ms = 200;
  SentinelWatcher watcher(io_, options);
  watcher.Start(Record());
  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(3000)));

  // Re-pointing the name publishes -monitor/+monitor but no +switch-master:
  // only the periodic re-query can notice.
  auto removed = RedisCommand(sentinel.port(), {"SENTINEL", "REMOVE", "mymaster"});
  ASSERT_TRUE(removed && removed->type == '+');
  auto added = RedisCommand(sentinel.port(), {"SENTINEL", "MONITOR", "mymaster", "127.0.0.1",
                                              std::to_string(other.port()), "1"});
  ASSERT_TRUE(added && added->type == '+');
  ASSERT_TRUE(
      RunUntil([&] { return watcher.master() == Loopback(other.port()); }, milliseconds(2000)));
  EXPECT_EQ(watcher.stats().switch_events, 0u);
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[1], Loopback(other.port()));
}

TEST_F(SentinelWatcherTest, ReconnectsAfterSentinelRestart) {
  RedisProcess sentinel;
  StartSentinel(sentinel, "sentinel");
  LogCapture log;
  SentinelWatcher watcher(io_, MakeOptions({sentinel.port()}));
  watcher.Start(Record());
  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(3000)));

  sentinel.process().Kill();
  // The subscription's EOF reveals the loss at once.
  ASSERT_TRUE(RunUntil([&] { return !watcher.stats().sentinel; }, milliseconds(1000)));
  RunFor(milliseconds(600));
  uint64_t failures = watcher.stats().sentinel_failures;
  EXPECT_GE(failures, 3u);                    // kept retrying...
  EXPECT_LE(failures, 15u);                   // ...with backoff, not in a tight loop
  EXPECT_EQ(log.Count("cannot connect"), 1);  // one line for the repeated refusal
  EXPECT_EQ(log.Count("no sentinel could tell"), 1);
  EXPECT_EQ(watcher.master(), Loopback(master_.port()));  // the last known master is kept

  ASSERT_TRUE(sentinel.RestartSentinel(dir_.path() + "/sentinel-restarted.log"));
  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(2000)));
  EXPECT_EQ(seen_.size(), 1u);
  EXPECT_EQ(watcher.stats().master_changes, 1u);
}

TEST_F(SentinelWatcherTest, AuthenticatesToSentinel) {
  RedisProcess sentinel;
  ASSERT_TRUE(
      sentinel.StartSentinel(dir_.path(), "sentinel", master_.port(), "mymaster", "s3cret"));
  SentinelWatcher::Options wrong = MakeOptions({sentinel.port()});
  wrong.sentinel_password = "wrong";
  SentinelWatcher refused(io_, wrong);
  refused.Start(Record());
  SentinelWatcher::Options right = MakeOptions({sentinel.port()});
  right.sentinel_password = "s3cret";
  SentinelWatcher watcher(io_, right);
  watcher.Start(Record());

  ASSERT_TRUE(RunUntil([&] { return Following(watcher, sentinel.port()); }, milliseconds(3000)));
  EXPECT_FALSE(refused.stats().sentinel.has_value());
  EXPECT_FALSE(refused.master().has_value());
  EXPECT_NE(refused.stats().last_error.find("AUTH failed"), std::string::npos)
      << refused.stats().last_error;
  ASSERT_EQ(seen_.size(), 1u);  // from `watcher` only
  EXPECT_EQ(seen_[0], Loopback(master_.port()));
}

TEST(SentinelWatcherOptionsTest, ValidateOptions) {
  SentinelWatcher::Options options;
  EXPECT_NE(SentinelWatcher::ValidateOptions(options), "");  // no sentinel
  options.sentinels = {Loopback(26379)};
  EXPECT_NE(SentinelWatcher::ValidateOptions(options), "");  // no name
  options.master_name = "mymaster";
  EXPECT_EQ(SentinelWatcher::ValidateOptions(options), "");
  options.master_name = "my master";
  EXPECT_NE(SentinelWatcher::ValidateOptions(options), "");
  options.master_name = "mymaster";
  options.sentinels.push_back(Loopback(0));
  EXPECT_NE(SentinelWatcher::ValidateOptions(options), "");
  options.sentinels.pop_back();
  options.retry_max_ms = options.retry_min_ms - 1;
  EXPECT_NE(SentinelWatcher::ValidateOptions(options), "");
}

TEST(SentinelWatcherOptionsTest, InvalidOptionsStartNothing) {
  boost::asio::io_context io;
  SentinelWatcher watcher(io, SentinelWatcher::Options{});
  bool called = false;
  watcher.Start([&](const HostPort&) { called = true; });
  EXPECT_EQ(io.run_for(milliseconds(50)), 0u);  // no operation was started
  EXPECT_FALSE(called);
}

TEST(HostPortTest, ToString) {
  EXPECT_EQ((HostPort{"127.0.0.1", 6379}).ToString(), "127.0.0.1:6379");
  EXPECT_EQ((HostPort{"::1", 26379}).ToString(), "[::1]:26379");
  EXPECT_EQ((HostPort{"redis.example", 1}).ToString(), "redis.example:1");
}

}  // namespace
}  // namespace understudy::replication

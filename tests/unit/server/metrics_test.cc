// The Prometheus text writer (names, escaping, values, histograms), the
// latency histogram's buckets, the per-command figures of a real Server,
// and that /metrics, /ready and INFO understudy show the same figures.
#include "server/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/latency_histogram.h"
#include "replication/key_class.h"
#include "server/server.h"

namespace understudy::server {
namespace {

TEST(MetricNames, ValidAndInvalid) {
  EXPECT_TRUE(IsValidMetricName("understudy_degraded"));
  EXPECT_TRUE(IsValidMetricName("a:b_c9"));
  EXPECT_TRUE(IsValidMetricName(":x"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName("a b"));
  EXPECT_TRUE(IsValidLabelName("family"));
  EXPECT_TRUE(IsValidLabelName("_x1"));
  EXPECT_FALSE(IsValidLabelName("__reserved"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1a"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(MetricEscaping, LabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  // HELP escapes backslash and newline but not quotes.
  EXPECT_EQ(EscapeHelp("say \"x\"\\\nnext"), "say \"x\"\\\\\\nnext");
}

TEST(MetricValues, Formatting) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(-3), "-3");
  EXPECT_EQ(FormatSampleValue(0.25), "0.25");
  EXPECT_EQ(FormatSampleValue(1e-06), "1e-06");
  EXPECT_EQ(FormatSampleValue(1e-04), "0.0001");
  EXPECT_EQ(FormatSampleValue(2.5e-05), "2.5e-05");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  // Reads back as the same double.
  const double third = 1.0 / 3.0;
  EXPECT_EQ(std::stod(FormatSampleValue(third)), third);
}

TEST(ExpositionWriter, FamiliesAndSamples) {
  ExpositionWriter out;
  out.Family("x_total", ExpositionWriter::Type::kCounter, "Things.\nCounted.");
  out.Sample({{"a", "1"}, {"b", "q\"uote"}}, 7);
  out.Sample({}, 8);
  out.Single("y", ExpositionWriter::Type::kGauge, "Y.", 0.5);
  EXPECT_EQ(out.text(),
            "# HELP x_total Things.\\nCounted.\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"1\",b=\"q\\\"uote\"} 7\n"
            "x_total 8\n"
            "# HELP y Y.\n"
            "# TYPE y gauge\n"
            "y 0.5\n");
}

TEST(ExpositionWriter, InvalidNamesAreDropped) {
  ExpositionWriter out;
  out.Family("bad-name", ExpositionWriter::Type::kGauge, "dropped");
  out.Sample({}, 1);
  out.Family("good", ExpositionWriter::Type::kGauge, "kept");
  out.Sample({{"bad label", "x"}}, 1);
  out.Sample({{"le", "x"}}, 1);  // reserved for histogram buckets
  out.Sample({{"ok", "x"}}, 2);
  EXPECT_EQ(out.text(), "# HELP good kept\n# TYPE good gauge\ngood{ok=\"x\"} 2\n");
}

TEST(ExpositionWriter, HistogramIsCumulativeWithInfEqualToCount) {
  ExpositionWriter out;
  out.Family("lat_seconds", ExpositionWriter::Type::kHistogram, "Latency.");
  // Per bucket: 2 in <=0.001, 0 in <=0.01, 3 in <=0.1, 4 above.
  out.Histogram({{"op", "get"}}, {0.001, 0.01, 0.1}, {2, 0, 3, 4}, 1.5);
  EXPECT_EQ(out.text(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{op=\"get\",le=\"0.001\"} 2\n"
            "lat_seconds_bucket{op=\"get\",le=\"0.01\"} 2\n"
            "lat_seconds_bucket{op=\"get\",le=\"0.1\"} 5\n"
            "lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 9\n"
            "lat_seconds_sum{op=\"get\"} 1.5\n"
            "lat_seconds_count{op=\"get\"} 9\n");
}

TEST(LatencyHistogram, BucketEdges) {
  LatencyHistogram histogram;  // bounds 5, 10, 25 ... 1000000 us
  histogram.Observe(0);
  histogram.Observe(5);  // on the bound: that bucket
  histogram.Observe(6);  // next one
  histogram.Observe(1000000);
  histogram.Observe(1000001);  // above every bound: +Inf
  EXPECT_EQ(histogram.counts()[0], 2u);
  EXPECT_EQ(histogram.counts()[1], 1u);
  EXPECT_EQ(histogram.counts()[LatencyHistogram::kBounds - 1], 1u);
  EXPECT_EQ(histogram.counts()[LatencyHistogram::kBounds], 1u);
  EXPECT_EQ(histogram.count(), 5u);
  EXPECT_EQ(histogram.sum(), 0u + 5 + 6 + 1000000 + 1000001);
  const HistogramSnapshot snapshot = Snapshot(histogram, 1.0);
  EXPECT_DOUBLE_EQ(snapshot.bounds_seconds.front(), 5e-6);
  EXPECT_DOUBLE_EQ(snapshot.bounds_seconds.back(), 1.0);
  EXPECT_DOUBLE_EQ(snapshot.sum_seconds, 2000012e-6);
  EXPECT_EQ(CumulativeBucketsText(histogram).substr(0, 12), "5=2,10=3,25=");
  EXPECT_TRUE(CumulativeBucketsText(histogram).ends_with(",1000000=4,+Inf=5"));
}

// Runs `args` as a client of `server`; returns the reply bytes.
std::string RunCommand(Server& server, ClientSession& client, std::vector<std::string_view> args) {
  client.reply.clear();
  server.Execute(client, args);
  return client.reply;
}

TEST(CommandMetrics, CountsByFamilyAndTimesEachCommand) {
  ManualClock clock(1'000'000);
  Server server(Config{}, &clock);
  ClientSession& client = server.AddClient();
  RunCommand(server, client, {"SET", "k", "v"});  // before: not counted
  EXPECT_EQ(server.command_metrics(), nullptr);
  server.EnableCommandMetrics();
  CommandMetrics& metrics = *server.command_metrics();
  RunCommand(server, client, {"SET", "k", "v"});
  RunCommand(server, client, {"GET", "k"});
  RunCommand(server, client, {"HSET", "h", "f", "v"});
  RunCommand(server, client, {"CLIENT", "ID"});   // a subcommand: its own row
  RunCommand(server, client, {"NOSUCHCOMMAND"});  // refused before running: not a command run
  auto family = [&](std::string_view name) {
    const auto& families = metrics.families();
    for (size_t i = 0; i < families.size(); ++i) {
      if (families[i] == name) return i;
    }
    ADD_FAILURE() << "no family " << name;
    return size_t{0};
  };
  EXPECT_EQ(metrics.count(family("string"), CommandRoute::kLocal), 2u);
  EXPECT_EQ(metrics.count(family("hash"), CommandRoute::kLocal), 1u);
  EXPECT_EQ(metrics.count(family("connection"), CommandRoute::kLocal), 1u);
  EXPECT_EQ(metrics.count(family("unknown"), CommandRoute::kLocal), 0u);
  // The first command is timed; then about one in kTimeEvery.
  EXPECT_GE(metrics.execution().count(), 1u);
  EXPECT_LE(metrics.execution().count(), 4u);
  metrics.Count(nullptr, CommandRoute::kRejected);
  EXPECT_EQ(metrics.count(family("unknown"), CommandRoute::kRejected), 1u);
  EXPECT_GT(metrics.ticks_per_us(), 0.0);
}

TEST(CommandMetrics, TimesAboutOneCommandInEight) {
  ManualClock clock(1'000'000);
  Server server(Config{}, &clock);
  server.EnableCommandMetrics();
  ClientSession& client = server.AddClient();
  constexpr int kCommands = 16000;
  for (int i = 0; i < kCommands; ++i) RunCommand(server, client, {"GET", "k"});
  const CommandMetrics& metrics = *server.command_metrics();
  const uint64_t timed = metrics.execution().count();
  EXPECT_GT(timed, kCommands / CommandMetrics::kTimeEvery / 2);
  EXPECT_LT(timed, kCommands / CommandMetrics::kTimeEvery * 2);
  // Counted, every one.
  const auto& families = metrics.families();
  const size_t string_family =
      std::find(families.begin(), families.end(), "string") - families.begin();
  ASSERT_LT(string_family, families.size());
  EXPECT_EQ(metrics.count(string_family, CommandRoute::kLocal), static_cast<uint64_t>(kCommands));
}

Config WithClasses() {
  Config config;
  replication::KeyClass sessions;
  sessions.name = "sessions";
  sessions.pattern = "session:*";
  config.classes.push_back(sessions);
  return config;
}

TEST(WriteMetrics, StandaloneFiguresMatchInfo) {
  ManualClock clock(1'000'000);
  Server server(WithClasses(), &clock);
  server.EnableCommandMetrics();
  ClientSession& client = server.AddClient();
  RunCommand(server, client, {"SET", "session:1", "a"});
  RunCommand(server, client, {"SET", "other", "b"});
  const std::string text = WriteMetrics(server, /*ready=*/true);
  EXPECT_NE(text.find("\nunderstudy_degraded 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nunderstudy_ready 1\n"), std::string::npos);
  EXPECT_NE(text.find("understudy_commands_total{family=\"string\",route=\"local\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("understudy_class_keys{class=\"sessions\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("understudy_command_duration_seconds_count "), std::string::npos);
  // No primary: no primary state families.
  EXPECT_EQ(text.find("understudy_primary_state"), std::string::npos);
  // Every family is declared once, before its samples.
  EXPECT_EQ(text.find("# TYPE understudy_class_keys gauge"),
            text.rfind("# TYPE understudy_class_keys gauge"));

  const std::string info = RunCommand(server, client, {"INFO", "understudy"});
  EXPECT_NE(info.find("degraded:0\r\n"), std::string::npos) << info;
  // The INFO call itself ran before its own figures were read: 2 SETs.
  EXPECT_NE(info.find("commands_family_string:local=2,proxied=0,rejected=0\r\n"), std::string::npos)
      << info;
  EXPECT_NE(info.find("command_latency_buckets_us:5="), std::string::npos);
}

TEST(ReadinessJson, StandaloneBody) {
  ManualClock clock(1'000'000);
  Server server(WithClasses(), &clock);
  EXPECT_EQ(ReadinessJson(server, false),
            "{\"ready\":false,\"mode\":\"standalone\",\"primary_state\":\"none\","
            "\"degraded\":false,\"classes\":[{\"name\":\"sessions\",\"mirror\":false,"
            "\"staleness_ms\":null,\"max_staleness_ms\":0,\"over_max_staleness\":false},"
            "{\"name\":\"default\",\"mirror\":false,\"staleness_ms\":null,"
            "\"max_staleness_ms\":0,\"over_max_staleness\":false}]}");
}

}  // namespace
}  // namespace understudy::server

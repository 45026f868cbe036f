#include "common/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/repeat_limited_log.h"

namespace understudy {
namespace {

// A real spdlog logger writing message text only into a string stream.
struct CapturedLogger {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> logger;
  CapturedLogger() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::debug);
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

TEST(RepeatLimitedLogTest, FirstOccurrenceLoggedRepeatsCountedAndSummarisedPerInterval) {
  CapturedLogger captured;
  RepeatLimitedLog log(10'000, captured.logger);
  // One failure a second for 35 s: the full line, then one summary every 10 s.
  for (int64_t s = 0; s < 35; ++s) log.Log(spdlog::level::warn, "primary refused", s * 1000);
  EXPECT_EQ(captured.Lines(), (std::vector<std::string>{
                                  "warning primary refused",
                                  "warning primary refused (repeated 10 times in the last 10 s)",
                                  "warning primary refused (repeated 10 times in the last 10 s)",
                                  "warning primary refused (repeated 10 times in the last 10 s)",
                              }));
  EXPECT_EQ(log.pending_repeats(), 4u);
  log.Flush(35'000);
  EXPECT_EQ(captured.Lines().back(), "warning primary refused (repeated 4 times in the last 5 s)");
  EXPECT_EQ(log.pending_repeats(), 0u);
  // After a flush (the problem went away) the next occurrence is logged whole.
  log.Log(spdlog::level::warn, "primary refused", 90'000);
  EXPECT_EQ(captured.Lines().back(), "warning primary refused");
  EXPECT_EQ(captured.Lines().size(), 6u);
}

TEST(RepeatLimitedLogTest, ANewMessageSummarisesTheOldOneAndIsLoggedAtOnce) {
  CapturedLogger captured;
  RepeatLimitedLog log(60'000, captured.logger);
  log.Log(spdlog::level::warn, "refused", 0);
  log.Log(spdlog::level::warn, "refused", 100);
  log.Log(spdlog::level::warn, "refused", 200);
  log.Log(spdlog::level::err, "wrong password", 1500);
  log.Log(spdlog::level::err, "wrong password", 1600);
  EXPECT_EQ(captured.Lines(), (std::vector<std::string>{
                                  "warning refused",
                                  "warning refused (repeated 2 times in the last 2 s)",
                                  "error wrong password",
                              }));
  // Flushing with nothing repeated logs nothing more than the pending count.
  log.Flush(1700);
  log.Flush(1800);
  EXPECT_EQ(captured.Lines().size(), 4u);
}

TEST(RepeatLimitedLogTest, FlushWithoutRepeatsLogsNothing) {
  CapturedLogger captured;
  RepeatLimitedLog log(1000, captured.logger);
  log.Log(spdlog::level::info, "once", 0);
  log.Flush(5000);
  EXPECT_EQ(captured.Lines(), std::vector<std::string>{"info once"});
}

std::string Escaped(std::string_view text) {
  std::string out;
  AppendJsonEscaped(text, &out);
  return out;
}

TEST(JsonLogTest, EscapesQuotesControlBytesAndInvalidUtf8) {
  EXPECT_EQ(Escaped("plain"), "plain");
  EXPECT_EQ(Escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(Escaped("l1\nl2\r\t"), "l1\\nl2\\r\\t");
  EXPECT_EQ(Escaped(std::string_view("\x00\x01\x1f\x7f", 4)), "\\u0000\\u0001\\u001f\\u007f");
  EXPECT_EQ(Escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate.
  EXPECT_EQ(Escaped("\x80"), "\\ufffd");
  EXPECT_EQ(Escaped("x\xe2\x82"), "x\\ufffd\\ufffd");
  EXPECT_EQ(Escaped("\xc0\xaf"), "\\ufffd\\ufffd");
  EXPECT_EQ(Escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");
}

TEST(JsonLogTest, OneObjectPerLineWithTimeLevelPidAndMessage) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "json", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  ApplyLogFormat(*logger, LogFormat::kJson);
  logger->warn("say \"hi\"\nto {}", "you");
  const std::string line = out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  EXPECT_EQ(line.rfind("{\"time\":\"", 0), 0u);
  EXPECT_NE(line.find("\",\"level\":\"warning\",\"pid\":" + std::to_string(::getpid()) +
                      ",\"message\":\"say \\\"hi\\\"\\nto you\"}\n"),
            std::string::npos)
      << line;
  // ISO 8601 UTC with milliseconds: 2026-11-22T21:24:34.123Z
  EXPECT_EQ(line.find("\",\"level\""), 9u + 24u);
  EXPECT_EQ(line[9 + 23], 'Z');
}

TEST(JsonLogTest, FormatNamesAndLevels) {
  LogFormat format = LogFormat::kHuman;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("human", &format));
  EXPECT_EQ(format, LogFormat::kHuman);
  EXPECT_FALSE(ParseLogFormat("xml", &format));
  EXPECT_EQ(LogLevelFromName("verbose"), spdlog::level::debug);
  EXPECT_EQ(LogLevelFromName("warning"), spdlog::level::warn);
  EXPECT_EQ(LogLevelFromName("notice"), spdlog::level::info);
}

}  // namespace
}  // namespace understudy

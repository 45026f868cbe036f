// Protocol errors of RequestParser. The expected texts were checked against
// redis-server 7.0.15 by sending the same bytes over a raw socket.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "protocol/reply_writer.h"
#include "protocol/request_parser.h"
#include "tests/unit/protocol/parser_harness.h"

namespace understudy::protocol {
namespace {

using namespace std::string_literals;
using testing::FeedRandomChunks;
using testing::FeedWhole;
using testing::FeedWithCuts;
using testing::ParseEvent;

constexpr char kInvalidMultibulk[] = "ERR Protocol error: invalid multibulk length";
constexpr char kInvalidBulk[] = "ERR Protocol error: invalid bulk length";
constexpr char kUnbalanced[] = "ERR Protocol error: unbalanced quotes in request";

struct ErrorCase {
  std::string bytes;
  bool authenticated;
  std::string error;
};

std::vector<ErrorCase> ErrorCases() {
  return {
      {"*abc\r\n", true, kInvalidMultibulk},
      {"*\r\n", true, kInvalidMultibulk},
      {"*+1\r\n", true, kInvalidMultibulk},
      {"*01\r\n", true, kInvalidMultibulk},
      {"*-0\r\n", true, kInvalidMultibulk},
      {"*1 \r\n", true, kInvalidMultibulk},
      {"* 1\r\n", true, kInvalidMultibulk},
      {"*2147483648\r\n", true, kInvalidMultibulk},
      {"*3000000000\r\n", true, kInvalidMultibulk},
      {"*9223372036854775808\r\n", true, kInvalidMultibulk},
      {"*-9223372036854775809\r\n", true, kInvalidMultibulk},
      {"*18446744073709551616\r\n", true, kInvalidMultibulk},
      {"*1\r\n$-1\r\n", true, kInvalidBulk},
      {"*1\r\n$abc\r\n", true, kInvalidBulk},
      {"*1\r\n$\r\n", true, kInvalidBulk},
      {"*1\r\n$+1\r\n", true, kInvalidBulk},
      {"*1\r\n$01\r\n", true, kInvalidBulk},
      {"*1\r\n$-0\r\n", true, kInvalidBulk},
      {"*1\r\n$1x\r\n", true, kInvalidBulk},
      {"*1\r\n$536870913\r\n", true, kInvalidBulk},
      {"*1\r\n$99999999999999999999\r\n", true, kInvalidBulk},
      {"*2\r\n$3\r\nGET\r\n$-5\r\n", true, kInvalidBulk},
      {"*1\r\nx3\r\n", true, "ERR Protocol error: expected '$', got 'x'"},
      {"*2\r\n$3\r\nGET\r\n:1\r\n", true, "ERR Protocol error: expected '$', got ':'"},
      {"*1\r\n*1\r\n", true, "ERR Protocol error: expected '$', got '*'"},
      // The byte is reported raw; the reply writer turns the CR into a space.
      {"*1\r\n\r\n", true, "ERR Protocol error: expected '$', got '\r'"},
      {"ECHO \"abc\r\n", true, kUnbalanced},
      {"ECHO 'abc\r\n", true, kUnbalanced},
      {"ECHO \"a\"b\r\n", true, kUnbalanced},
      {"ECHO 'a'b\r\n", true, kUnbalanced},
      {"ECHO \"a\\\"\r\n", true, kUnbalanced},
      {"*11\r\n", false, "ERR Protocol error: unauthenticated multibulk length"},
      {"*1\r\n$16385\r\n", false, "ERR Protocol error: unauthenticated bulk length"},
      {"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$20000\r\n", false,
       "ERR Protocol error: unauthenticated bulk length"},
  };
}

TEST(RequestParserErrorsTest, ErrorTextsMatchRedis) {
  for (const ErrorCase& c : ErrorCases()) {
    EXPECT_EQ(FeedWhole(c.bytes, c.authenticated),
              std::vector<ParseEvent>{ParseEvent::Error(c.error)})
        << ::testing::PrintToString(c.bytes);
  }
}

TEST(RequestParserErrorsTest, ErrorsDoNotDependOnHowBytesArrive) {
  for (const ErrorCase& c : ErrorCases()) {
    for (size_t cut = 1; cut < c.bytes.size(); ++cut) {
      EXPECT_EQ(FeedWithCuts(c.bytes, {cut}, c.authenticated),
                std::vector<ParseEvent>{ParseEvent::Error(c.error)})
          << ::testing::PrintToString(c.bytes) << " cut at " << cut;
    }
  }
}

TEST(RequestParserErrorsTest, RequestsBeforeTheBadOneAreStillParsed) {
  std::string stream = "*1\r\n$4\r\nPING\r\nECHO x\r\n*1\r\n$-3\r\n*1\r\n$4\r\nPING\r\n";
  std::vector<ParseEvent> expected = {ParseEvent::Command({"PING"}),
                                      ParseEvent::Command({"ECHO", "x"}),
                                      ParseEvent::Error(kInvalidBulk)};
  EXPECT_EQ(FeedWhole(stream), expected);
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    EXPECT_EQ(FeedWithCuts(stream, {cut}), expected) << "cut at " << cut;
  }
}

TEST(RequestParserErrorsTest, ErrorReplyBytesMatchRedis) {
  RequestParser parser;
  ASSERT_EQ(parser.Parse("*1\r\n\r\n", true), ParseStatus::kError);
  std::string out;
  ReplyWriter(&out, RespVersion::kResp2).Error(parser.error());
  EXPECT_EQ(out, "-ERR Protocol error: expected '$', got ' '\r\n");
  ASSERT_EQ(parser.Parse("*x\r\n", true), ParseStatus::kError);
  out.clear();
  ReplyWriter(&out, RespVersion::kResp3).Error(parser.error());
  EXPECT_EQ(out, "-ERR Protocol error: invalid multibulk length\r\n");
}

TEST(RequestParserErrorsTest, TooBigInlineRequest) {
  const std::string at_limit(64 * 1024, 'a');
  RequestParser parser;
  EXPECT_EQ(parser.Parse(at_limit, true), ParseStatus::kNeedMore);
  ASSERT_EQ(parser.Parse(at_limit + "a", true), ParseStatus::kError);
  EXPECT_EQ(parser.error(), "ERR Protocol error: too big inline request");
  // A newline within reach makes it a (long) request instead.
  EXPECT_EQ(parser.Parse(at_limit + "\n", true), ParseStatus::kCommand);

  std::mt19937_64 rng(5);
  const std::string too_long(100000, 'b');
  const std::vector<ParseEvent> expected = {
      ParseEvent::Error("ERR Protocol error: too big inline request")};
  for (size_t max_chunk : {1000, 16384, 65536}) {
    EXPECT_EQ(FeedRandomChunks(too_long, rng, max_chunk), expected) << max_chunk;
  }
}

TEST(RequestParserErrorsTest, TooBigMultibulkCountString) {
  const std::string at_limit = "*" + std::string(64 * 1024 - 1, '1');
  RequestParser parser;
  EXPECT_EQ(parser.Parse(at_limit, true), ParseStatus::kNeedMore);
  ASSERT_EQ(parser.Parse(at_limit + "1", true), ParseStatus::kError);
  EXPECT_EQ(parser.error(), "ERR Protocol error: too big mbulk count string");
  std::mt19937_64 rng(6);
  EXPECT_EQ(
      FeedRandomChunks("*" + std::string(80000, '2'), rng, 5000),
      std::vector<ParseEvent>{ParseEvent::Error("ERR Protocol error: too big mbulk count string")});
}

TEST(RequestParserErrorsTest, TooBigBulkCountString) {
  const std::string header = "*2\r\n$3\r\nGET\r\n";
  // From the '$' on, 64 KiB without a CR is still acceptable, one more is not.
  const std::string at_limit = header + "$" + std::string(64 * 1024 - 1, '1');
  RequestParser parser;
  EXPECT_EQ(parser.Parse(at_limit, true), ParseStatus::kNeedMore);
  ASSERT_EQ(parser.Parse(at_limit + "1", true), ParseStatus::kError);
  EXPECT_EQ(parser.error(), "ERR Protocol error: too big bulk count string");
  std::mt19937_64 rng(7);
  EXPECT_EQ(
      FeedRandomChunks(header + "$" + std::string(80000, '3'), rng, 5000),
      std::vector<ParseEvent>{ParseEvent::Error("ERR Protocol error: too big bulk count string")});
}

TEST(RequestParserErrorsTest, AuthenticatedClientsHaveNoSmallLimits) {
  RequestParser parser;
  EXPECT_EQ(parser.Parse("*11\r\n", true), ParseStatus::kNeedMore);
  parser.Reset();
  EXPECT_EQ(parser.Parse("*1\r\n$16385\r\n", true), ParseStatus::kNeedMore);
}

TEST(RequestParserErrorsTest, ConfiguredLimitsApply) {
  ParserLimits limits;
  limits.max_bulk_len = 10;
  limits.max_multibulk_len = 3;
  limits.max_inline_len = 16;
  EXPECT_EQ(FeedWhole("*1\r\n$10\r\n0123456789\r\n", true, limits),
            std::vector<ParseEvent>{ParseEvent::Command({"0123456789"})});
  EXPECT_EQ(FeedWhole("*1\r\n$11\r\n", true, limits),
            std::vector<ParseEvent>{ParseEvent::Error(kInvalidBulk)});
  EXPECT_EQ(FeedWhole("*4\r\n", true, limits),
            std::vector<ParseEvent>{ParseEvent::Error(kInvalidMultibulk)});
  EXPECT_EQ(
      FeedWhole(std::string(17, 'x'), true, limits),
      std::vector<ParseEvent>{ParseEvent::Error("ERR Protocol error: too big inline request")});

  ParserLimits unauth;
  unauth.unauth_max_multibulk_len = 2;
  unauth.unauth_max_bulk_len = 3;
  RequestParser parser(unauth);
  EXPECT_EQ(parser.Parse("*3\r\n", false), ParseStatus::kError);
  EXPECT_EQ(parser.error(), "ERR Protocol error: unauthenticated multibulk length");
  EXPECT_EQ(parser.Parse("*2\r\n$4\r\n", false), ParseStatus::kError);
  EXPECT_EQ(parser.error(), "ERR Protocol error: unauthenticated bulk length");
  parser.set_limits({});
  EXPECT_EQ(parser.Parse("*3\r\n", false), ParseStatus::kNeedMore);
}

TEST(RequestParserErrorsTest, ParserIsUsableAfterAnError) {
  RequestParser parser;
  ASSERT_EQ(parser.Parse("*2\r\n$3\r\nGET\r\n$x\r\n", true), ParseStatus::kError);
  ASSERT_EQ(parser.Parse("*1\r\n$4\r\nPING\r\n", true), ParseStatus::kCommand);
  EXPECT_EQ(parser.args()[0], "PING");
}

// SplitInlineArgs against what redis-server 7.0.15 stored for the same
// inline "RPUSH l <line>" requests.
TEST(SplitInlineArgsTest, MatchesRedisTokenizing) {
  struct Case {
    std::string line;
    std::vector<std::string> args;
  };
  const std::vector<Case> cases = {
      {"a  b\tc", {"a", "b", "c"}},
      {"\"a b\" c", {"a b", "c"}},
      {"'a b' c", {"a b", "c"}},
      {"\"\\x41\\x4a\\x7a\"", {"AJz"}},
      {"\"\\xZZ\"", {"xZZ"}},
      {"\"a\\x4\"", {"ax4"}},
      {"\"\\x4g\"", {"x4g"}},
      {"\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"", {"\n\r\t\b\a\\\"q"}},
      {"'it\\'s' 'a\\nb' 'x\\\\y'", {"it's", "a\\nb", "x\\\\y"}},
      {"\"\" x", {"", "x"}},
      {"'' x", {"", "x"}},
      {"ab\"cd\"", {"abcd"}},
      {"ab'cd'", {"abcd"}},
      {"x\"y z\"", {"xy z"}},
      {"\"a\"\t\"b\"", {"a", "b"}},
      {"a\vb\fc", {"a\vb\fc"}},  // only space, tab, CR, LF end a bare word
      {"\"a\\\\\"", {"a\\"}},
      {"\v\f a \v", {"a"}},  // but any isspace() byte is skipped between words
      {"", {}},
      {"   ", {}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"stale"};
    ASSERT_TRUE(SplitInlineArgs(c.line, &args)) << ::testing::PrintToString(c.line);
    EXPECT_EQ(args, c.args) << ::testing::PrintToString(c.line);
  }
  for (std::string bad : {"\"a\"b", "'a'b", "\"abc", "'abc", "\"a\\\"", "x \"", "'"}) {
    std::vector<std::string> args;
    EXPECT_FALSE(SplitInlineArgs(bad, &args)) << ::testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace understudy::protocol

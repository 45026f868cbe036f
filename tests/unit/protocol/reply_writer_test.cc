#include "protocol/reply_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace understudy::protocol {
namespace {

using namespace std::string_literals;

// The bytes `write` produces under RESP2 and under RESP3.
struct Encoded {
  std::string resp2;
  std::string resp3;
};

Encoded Encode(const std::function<void(ReplyWriter&)>& write) {
  Encoded out;
  ReplyWriter writer2(&out.resp2, RespVersion::kResp2);
  write(writer2);
  ReplyWriter writer3(&out.resp3, RespVersion::kResp3);
  write(writer3);
  return out;
}

void ExpectEncoding(const std::function<void(ReplyWriter&)>& write, const std::string& resp2,
                    const std::string& resp3) {
  Encoded out = Encode(write);
  EXPECT_EQ(out.resp2, resp2);
  EXPECT_EQ(out.resp3, resp3);
}

TEST(ReplyWriterTest, VersionAccessors) {
  std::string buffer;
  ReplyWriter writer2(&buffer, RespVersion::kResp2);
  ReplyWriter writer3(&buffer, RespVersion::kResp3);
  EXPECT_FALSE(writer2.resp3());
  EXPECT_TRUE(writer3.resp3());
  EXPECT_EQ(writer2.version(), RespVersion::kResp2);
  EXPECT_EQ(writer3.buffer(), &buffer);
}

TEST(ReplyWriterTest, StatusAndOk) {
  ExpectEncoding([](ReplyWriter& w) { w.Status("QUEUED"); }, "+QUEUED\r\n", "+QUEUED\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Ok(); }, "+OK\r\n", "+OK\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Status(""); }, "+\r\n", "+\r\n");
}

TEST(ReplyWriterTest, ErrorsStayOnOneLine) {
  ExpectEncoding([](ReplyWriter& w) { w.Error("ERR syntax error"); }, "-ERR syntax error\r\n",
                 "-ERR syntax error\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Error("ERR a\r\nb\nc\rd"); }, "-ERR a  b c d\r\n",
                 "-ERR a  b c d\r\n");
}

TEST(ReplyWriterTest, ErrorSanitizingLeavesEarlierRepliesAlone) {
  std::string out;
  ReplyWriter writer(&out, RespVersion::kResp2);
  writer.Bulk("x\r\ny");
  writer.Error("ERR\nz");
  EXPECT_EQ(out, "$4\r\nx\r\ny\r\n-ERR z\r\n");
}

TEST(ReplyWriterTest, Integers) {
  ExpectEncoding([](ReplyWriter& w) { w.Integer(0); }, ":0\r\n", ":0\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Integer(-1); }, ":-1\r\n", ":-1\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Integer(std::numeric_limits<int64_t>::max()); },
                 ":9223372036854775807\r\n", ":9223372036854775807\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Integer(std::numeric_limits<int64_t>::min()); },
                 ":-9223372036854775808\r\n", ":-9223372036854775808\r\n");
}

TEST(ReplyWriterTest, BulkStrings) {
  ExpectEncoding([](ReplyWriter& w) { w.Bulk("hello"); }, "$5\r\nhello\r\n", "$5\r\nhello\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Bulk(""); }, "$0\r\n\r\n", "$0\r\n\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Bulk("a\r\n\0b"s); }, "$5\r\na\r\n\0b\r\n"s,
                 "$5\r\na\r\n\0b\r\n"s);
  const std::string big(100000, 'q');
  ExpectEncoding([&](ReplyWriter& w) { w.Bulk(big); }, "$100000\r\n" + big + "\r\n",
                 "$100000\r\n" + big + "\r\n");
}

// Short bulks are written in one piece; the length digits must be right on
// both sides of each boundary (one digit, two digits, the long path).
TEST(ReplyWriterTest, BulkLengthsAroundTheShortPathLimits) {
  for (size_t length : {1u, 9u, 10u, 11u, 98u, 99u, 100u, 101u}) {
    const std::string data(length, 'z');
    const std::string expected = "$" + std::to_string(length) + "\r\n" + data + "\r\n";
    ExpectEncoding([&](ReplyWriter& w) { w.Bulk(data); }, expected, expected);
  }
}

TEST(ReplyWriterTest, Nulls) {
  ExpectEncoding([](ReplyWriter& w) { w.Null(); }, "$-1\r\n", "_\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.NullArray(); }, "*-1\r\n", "_\r\n");
}

TEST(ReplyWriterTest, AggregateHeaders) {
  ExpectEncoding([](ReplyWriter& w) { w.ArrayHeader(3); }, "*3\r\n", "*3\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.EmptyArray(); }, "*0\r\n", "*0\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.MapHeader(2); }, "*4\r\n", "%2\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.MapHeader(0); }, "*0\r\n", "%0\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.SetHeader(5); }, "*5\r\n", "~5\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.PushHeader(3); }, "*3\r\n", ">3\r\n");
}

TEST(ReplyWriterTest, MapWithItems) {
  ExpectEncoding(
      [](ReplyWriter& w) {
        w.MapHeader(2);
        w.Bulk("a");
        w.Integer(1);
        w.Bulk("b");
        w.Null();
      },
      "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$-1\r\n", "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n");
}

TEST(ReplyWriterTest, DoublesUseRedis70Text) {
  ExpectEncoding([](ReplyWriter& w) { w.Double(1.5); }, "$3\r\n1.5\r\n", ",1.5\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Double(0.1); }, "$19\r\n0.10000000000000001\r\n",
                 ",0.10000000000000001\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Double(3); }, "$1\r\n3\r\n", ",3\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Double(1e20); }, "$5\r\n1e+20\r\n", ",1e+20\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Double(-2.25); }, "$5\r\n-2.25\r\n", ",-2.25\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Double(std::numeric_limits<double>::infinity()); },
                 "$3\r\ninf\r\n", ",inf\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Double(-std::numeric_limits<double>::infinity()); },
                 "$4\r\n-inf\r\n", ",-inf\r\n");
}

TEST(ReplyWriterTest, Booleans) {
  ExpectEncoding([](ReplyWriter& w) { w.Bool(true); }, ":1\r\n", "#t\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Bool(false); }, ":0\r\n", "#f\r\n");
}

TEST(ReplyWriterTest, Verbatim) {
  ExpectEncoding([](ReplyWriter& w) { w.Verbatim("# Server\r\nx:1\r\n"); },
                 "$15\r\n# Server\r\nx:1\r\n\r\n", "=19\r\ntxt:# Server\r\nx:1\r\n\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Verbatim("**hi**", "mkd"); }, "$6\r\n**hi**\r\n",
                 "=10\r\nmkd:**hi**\r\n");
  ExpectEncoding([](ReplyWriter& w) { w.Verbatim(""); }, "$0\r\n\r\n", "=4\r\ntxt:\r\n");
}

TEST(ReplyWriterTest, RawIsCopiedVerbatim) {
  ExpectEncoding([](ReplyWriter& w) { w.Raw("+PONG\r\n"); }, "+PONG\r\n", "+PONG\r\n");
}

TEST(ReplyWriterTest, DeferredArrayGetsItsHeaderInFront) {
  ExpectEncoding(
      [](ReplyWriter& w) {
        w.Integer(7);  // an earlier reply stays in front
        size_t mark = w.BeginDeferred();
        for (int i = 0; i < 12; ++i) w.Bulk(std::to_string(i));
        w.EndDeferredArray(mark, 12);
      },
      ":7\r\n*12\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n"
      "$1\r\n7\r\n$1\r\n8\r\n$1\r\n9\r\n$2\r\n10\r\n$2\r\n11\r\n",
      ":7\r\n*12\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n"
      "$1\r\n7\r\n$1\r\n8\r\n$1\r\n9\r\n$2\r\n10\r\n$2\r\n11\r\n");
}

TEST(ReplyWriterTest, EmptyDeferredArray) {
  ExpectEncoding(
      [](ReplyWriter& w) {
        size_t mark = w.BeginDeferred();
        w.EndDeferredArray(mark, 0);
      },
      "*0\r\n", "*0\r\n");
}

TEST(ReplyWriterTest, DeferredMapAndSet) {
  ExpectEncoding(
      [](ReplyWriter& w) {
        size_t mark = w.BeginDeferred();
        w.Bulk("k");
        w.Bulk("v");
        w.EndDeferredMap(mark, 1);
      },
      "*2\r\n$1\r\nk\r\n$1\r\nv\r\n", "%1\r\n$1\r\nk\r\n$1\r\nv\r\n");
  ExpectEncoding(
      [](ReplyWriter& w) {
        size_t mark = w.BeginDeferred();
        w.Bulk("m");
        w.EndDeferredSet(mark, 1);
      },
      "*1\r\n$1\r\nm\r\n", "~1\r\n$1\r\nm\r\n");
}

TEST(ReplyWriterTest, NestedDeferredHeaders) {
  // SCAN-like: [cursor, [keys...]] with the outer and inner sizes deferred.
  ExpectEncoding(
      [](ReplyWriter& w) {
        size_t outer = w.BeginDeferred();
        w.Bulk("0");
        size_t inner = w.BeginDeferred();
        w.Bulk("a");
        w.Bulk("b");
        w.EndDeferredSet(inner, 2);
        w.EndDeferredArray(outer, 2);
      },
      "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n",
      "*2\r\n$1\r\n0\r\n~2\r\n$1\r\na\r\n$1\r\nb\r\n");
}

TEST(ReplyWriterTest, AppendsToExistingBuffer) {
  std::string out = "previous";
  ReplyWriter writer(&out, RespVersion::kResp3);
  writer.Null();
  writer.Integer(5);
  EXPECT_EQ(out, "previous_\r\n:5\r\n");
}

}  // namespace
}  // namespace understudy::protocol

#include "protocol/reply_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/protocol/reply_test_support.h"

namespace understudy::protocol {
namespace {

// ---------------------------------------------------------------------------
// Helpers

struct Sample {
  std::string name;
  std::string bytes;
  char top_type;  // what ReplyScanner::type() must report
};

// One reply of every kind, including nesting and attributes.
std::vector<Sample> Samples() {
  return {
      {"simple", "+OK\r\n", '+'},
      {"empty simple", "+\r\n", '+'},
      {"error", "-ERR unknown command 'x'\r\n", '-'},
      {"integer", ":1\r\n", ':'},
      {"negative integer", ":-9223372036854775808\r\n", ':'},
      {"bulk", "$3\r\nfoo\r\n", '$'},
      {"empty bulk", "$0\r\n\r\n", '$'},
      {"binary bulk", std::string("$6\r\n\r\n\0\r\n\n\r\n", 12), '$'},
      {"null bulk", "$-1\r\n", '$'},
      {"null array", "*-1\r\n", '*'},
      {"empty array", "*0\r\n", '*'},
      {"array", "*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n", '*'},
      {"null", "_\r\n", '_'},
      {"double", ",3.25\r\n", ','},
      {"double inf", ",-inf\r\n", ','},
      {"double exp", ",1e+20\r\n", ','},
      {"true", "#t\r\n", '#'},
      {"false", "#f\r\n", '#'},
      {"blob error", "!21\r\nSYNTAX invalid syntax\r\n", '!'},
      {"verbatim", "=15\r\ntxt:Some string\r\n", '='},
      {"big number", "(3492890328409238509324850943850943825024385\r\n", '('},
      {"map", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", '%'},
      {"empty map", "%0\r\n", '%'},
      {"set", "~3\r\n+a\r\n+b\r\n:3\r\n", '~'},
      {"push", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\ndata\r\n", '>'},
      {"nested", "*3\r\n*2\r\n:1\r\n*0\r\n%1\r\n+k\r\n~1\r\n$1\r\nv\r\n*1\r\n*1\r\n_\r\n", '*'},
      {"attribute", "|1\r\n+ttl\r\n:3600\r\n$3\r\nfoo\r\n", '$'},
      {"attribute on aggregate",
       "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
       "*2\r\n:2039123\r\n:9543892\r\n",
       '*'},
      {"attributes in a row", "|1\r\n+a\r\n:1\r\n|0\r\n|1\r\n+b\r\n:2\r\n+OK\r\n", '+'},
      {"nested attribute", "*2\r\n|1\r\n+a\r\n|1\r\n+x\r\n:0\r\n:1\r\n:10\r\n:20\r\n", '*'},
  };
}

// Scans `bytes` in one call with a fresh scanner.
ScanStatus ScanOnce(std::string_view bytes, size_t* length, std::string* error = nullptr,
                    char* type = nullptr) {
  ReplyScanner scanner;
  ScanStatus status = scanner.Scan(bytes, length);
  if (error != nullptr) *error = scanner.error();
  if (type != nullptr) *type = scanner.type();
  return status;
}

using reply_test::Parse;
using reply_test::Str;
ReplyValue Int(int64_t number) {
  ReplyValue value;
  value.type = ':';
  value.integer = number;
  return value;
}
ReplyValue Aggregate(char type, std::vector<ReplyValue> elements) {
  ReplyValue value;
  value.type = type;
  value.elements = std::move(elements);
  return value;
}

// Serializes a value (RESP3, attributes included) for round-trip tests.
std::string Nested(size_t depth, std::string_view open, std::string_view leaf) {
  std::string out;
  for (size_t i = 0; i < depth; ++i) out += open;
  out += leaf;
  return out;
}

// ---------------------------------------------------------------------------
// Every type, whole

TEST(ReplyScannerTest, EveryTypeEndsExactlyWhereItShould) {
  for (const Sample& sample : Samples()) {
    SCOPED_TRACE(sample.name);
    // Bytes of the next reply follow; they must not be counted.
    const std::string stream = sample.bytes + "+NEXT\r\n";
    size_t length = 0;
    char type = 0;
    ASSERT_EQ(ScanOnce(stream, &length, nullptr, &type), ScanStatus::kComplete);
    EXPECT_EQ(length, sample.bytes.size());
    EXPECT_EQ(type, sample.top_type);
  }
}

TEST(ReplyScannerTest, ScansConsecutiveRepliesWithOneScanner) {
  std::vector<Sample> samples = Samples();
  std::string stream;
  std::vector<const Sample*> expected;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const Sample& sample = samples[rng() % samples.size()];
    stream += sample.bytes;
    expected.push_back(&sample);
  }
  ReplyScanner scanner;
  std::string_view rest(stream);
  for (const Sample* sample : expected) {
    size_t length = 0;
    ASSERT_EQ(scanner.Scan(rest, &length), ScanStatus::kComplete) << sample->name;
    ASSERT_EQ(length, sample->bytes.size()) << sample->name;
    ASSERT_EQ(scanner.type(), sample->top_type) << sample->name;
    rest.remove_prefix(length);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(ParseReplyTest, Scalars) {
  EXPECT_EQ(Parse("+OK\r\n"), Str('+', "OK"));
  EXPECT_EQ(Parse("+\r\n"), Str('+', ""));
  EXPECT_EQ(Parse(":-9223372036854775808\r\n"), Int(INT64_MIN));
  EXPECT_EQ(Parse(":9223372036854775807\r\n"), Int(INT64_MAX));
  EXPECT_EQ(Parse(":0\r\n"), Int(0));
  EXPECT_EQ(Parse("$3\r\nfoo\r\n"), Str('$', "foo"));
  EXPECT_EQ(Parse("$0\r\n\r\n"), Str('$', ""));
  EXPECT_EQ(Parse(std::string("$6\r\n\r\n\0\r\n\n\r\n", 12)),
            Str('$', std::string("\r\n\0\r\n\n", 6)));
  EXPECT_EQ(Parse("(-12345678901234567890123\r\n"), Str('(', "-12345678901234567890123"));

  ReplyValue truth = Parse("#t\r\n");
  EXPECT_EQ(truth.type, '#');
  EXPECT_EQ(truth.integer, 1);
  ReplyValue falsity = Parse("#f\r\n");
  EXPECT_EQ(falsity.type, '#');
  EXPECT_EQ(falsity.integer, 0);
}

TEST(ParseReplyTest, Doubles) {
  ReplyValue value = Parse(",3.25\r\n");
  EXPECT_EQ(value.type, ',');
  EXPECT_EQ(value.number, 3.25);
  EXPECT_EQ(value.str, "3.25");
  EXPECT_EQ(Parse(",1e+20\r\n").number, 1e20);
  EXPECT_EQ(Parse(",-0.10000000000000001\r\n").number, -0.1);
  EXPECT_EQ(Parse(",inf\r\n").number, HUGE_VAL);
  EXPECT_EQ(Parse(",-inf\r\n").number, -HUGE_VAL);
  EXPECT_TRUE(std::isnan(Parse(",nan\r\n").number));
  EXPECT_TRUE(std::isnan(Parse(",-nan\r\n").number));
}

TEST(ParseReplyTest, ErrorsAndTheirCodes) {
  ReplyValue error = Parse("-LOADING Redis is loading the dataset in memory\r\n");
  EXPECT_TRUE(error.IsError());
  EXPECT_EQ(error.type, '-');
  EXPECT_EQ(error.str, "LOADING Redis is loading the dataset in memory");
  EXPECT_EQ(error.ErrorCode(), "LOADING");
  EXPECT_EQ(Parse("-NOAUTH\r\n").ErrorCode(), "NOAUTH");
  EXPECT_EQ(Parse("-\r\n").ErrorCode(), "");

  ReplyValue blob = Parse("!21\r\nSYNTAX invalid syntax\r\n");
  EXPECT_TRUE(blob.IsError());
  EXPECT_EQ(blob.type, '!');
  EXPECT_EQ(blob.str, "SYNTAX invalid syntax");
  EXPECT_EQ(blob.ErrorCode(), "SYNTAX");

  EXPECT_FALSE(Parse("+OK\r\n").IsError());
  EXPECT_EQ(Parse("+OK\r\n").ErrorCode(), "");
  EXPECT_EQ(Parse("$3\r\nERR\r\n").ErrorCode(), "");
}

TEST(ParseReplyTest, NullsOfBothProtocols) {
  ReplyValue resp3 = Parse("_\r\n");
  EXPECT_TRUE(resp3.IsNull());
  EXPECT_FALSE(resp3.resp2_null_array);

  ReplyValue null_bulk = Parse("$-1\r\n");
  EXPECT_EQ(null_bulk.type, '_');
  EXPECT_TRUE(null_bulk.IsNull());
  EXPECT_FALSE(null_bulk.resp2_null_array);

  ReplyValue null_array = Parse("*-1\r\n");
  EXPECT_EQ(null_array.type, '_');
  EXPECT_TRUE(null_array.resp2_null_array);
  EXPECT_TRUE(null_array.elements.empty());

  // An empty array is not null.
  ReplyValue empty = Parse("*0\r\n");
  EXPECT_EQ(empty.type, '*');
  EXPECT_FALSE(empty.IsNull());
}

TEST(ParseReplyTest, VerbatimKeepsTheFormatApart) {
  ReplyValue value = Parse("=15\r\ntxt:Some string\r\n");
  EXPECT_EQ(value.type, '=');
  EXPECT_EQ(value.format, "txt");
  EXPECT_EQ(value.str, "Some string");
  ReplyValue markdown = Parse("=6\r\nmkd:# \r\n");
  EXPECT_EQ(markdown.format, "mkd");
  EXPECT_EQ(markdown.str, "# ");
  EXPECT_EQ(Parse("=4\r\ntxt:\r\n").str, "");
}

TEST(ParseReplyTest, Aggregates) {
  EXPECT_EQ(Parse("*2\r\n$3\r\nfoo\r\n:7\r\n"), Aggregate('*', {Str('$', "foo"), Int(7)}));
  EXPECT_EQ(Parse("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n"),
            Aggregate('%', {Str('+', "first"), Int(1), Str('+', "second"), Int(2)}));
  EXPECT_EQ(Parse("~2\r\n+a\r\n:3\r\n"), Aggregate('~', {Str('+', "a"), Int(3)}));
  ReplyValue push = Parse(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\ndata\r\n");
  EXPECT_EQ(push, Aggregate('>', {Str('$', "message"), Str('$', "ch"), Str('$', "data")}));
  EXPECT_TRUE(push.IsAggregate());

  ReplyValue null_element;
  null_element.type = '_';
  ReplyValue null_array = null_element;
  null_array.resp2_null_array = true;
  EXPECT_EQ(Parse("*3\r\n*2\r\n:1\r\n*0\r\n%1\r\n+k\r\n~1\r\n$1\r\nv\r\n*2\r\n*-1\r\n$-1\r\n"),
            Aggregate('*', {Aggregate('*', {Int(1), Aggregate('*', {})}),
                            Aggregate('%', {Str('+', "k"), Aggregate('~', {Str('$', "v")})}),
                            Aggregate('*', {null_array, null_element})}));
}

TEST(ParseReplyTest, AttributesAttachToTheValueTheyPrecede) {
  ReplyValue top = Parse("|1\r\n+ttl\r\n:3600\r\n$3\r\nfoo\r\n");
  ReplyValue expected = Str('$', "foo");
  expected.attributes = {Str('+', "ttl"), Int(3600)};
  EXPECT_EQ(top, expected);

  // Several attributes in a row merge, in order; an empty one adds nothing.
  ReplyValue merged = Parse("|1\r\n+a\r\n:1\r\n|0\r\n|1\r\n+b\r\n:2\r\n+OK\r\n");
  EXPECT_EQ(merged.type, '+');
  EXPECT_EQ(merged.attributes,
            (std::vector<ReplyValue>{Str('+', "a"), Int(1), Str('+', "b"), Int(2)}));

  // Inside an aggregate, an attribute annotates one element and is not
  // counted as one; an attribute may itself hold annotated values.
  ReplyValue nested = Parse("*2\r\n|1\r\n+a\r\n|1\r\n+x\r\n:0\r\n:1\r\n:10\r\n:20\r\n");
  ReplyValue inner_value = Int(1);
  inner_value.attributes = {Str('+', "x"), Int(0)};
  ReplyValue first = Int(10);
  first.attributes = {Str('+', "a"), inner_value};
  EXPECT_EQ(nested, Aggregate('*', {first, Int(20)}));

  ReplyValue on_map = Parse("|1\r\n+k\r\n*1\r\n:1\r\n%1\r\n+a\r\n:1\r\n");
  EXPECT_EQ(on_map.type, '%');
  ASSERT_EQ(on_map.attributes.size(), 2u);
  EXPECT_EQ(on_map.attributes[1], Aggregate('*', {Int(1)}));
  EXPECT_EQ(on_map.elements.size(), 2u);
}

TEST(ParseReplyTest, ConsumesOnlyTheFirstReply) {
  ReplyValue value;
  size_t consumed = 0;
  ASSERT_EQ(ParseReply("*1\r\n:1\r\n+OK\r\n", &value, &consumed), ScanStatus::kComplete);
  EXPECT_EQ(consumed, 8u);
  EXPECT_EQ(value, Aggregate('*', {Int(1)}));
}

// ---------------------------------------------------------------------------
// Split at every byte boundary

TEST(ReplyScannerTest, EveryPrefixNeedsMoreAndTheWholeCompletes) {
  for (const Sample& sample : Samples()) {
    SCOPED_TRACE(sample.name);
    const std::string& bytes = sample.bytes;
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      // One cut: a fresh scanner sees the prefix, then everything.
      ReplyScanner scanner;
      size_t length = 0;
      ASSERT_EQ(scanner.Scan(std::string_view(bytes).substr(0, cut), &length),
                ScanStatus::kNeedMore)
          << "cut " << cut;
      std::string moved = bytes + "+NEXT\r\n";  // a new buffer holding more
      ASSERT_EQ(scanner.Scan(moved, &length), ScanStatus::kComplete) << "cut " << cut;
      EXPECT_EQ(length, bytes.size());
      EXPECT_EQ(scanner.type(), sample.top_type);

      // Two cuts: resuming after a resume.
      for (size_t second = cut + 1; second < bytes.size(); ++second) {
        ReplyScanner twice;
        ASSERT_EQ(twice.Scan(std::string_view(bytes).substr(0, cut), &length),
                  ScanStatus::kNeedMore);
        const std::string middle = bytes.substr(0, second);
        ASSERT_EQ(twice.Scan(middle, &length), ScanStatus::kNeedMore)
            << "cuts " << cut << "," << second;
        ASSERT_EQ(twice.Scan(bytes, &length), ScanStatus::kComplete)
            << "cuts " << cut << "," << second;
        ASSERT_EQ(length, bytes.size());
      }
    }
  }
}

TEST(ReplyScannerTest, ByteByByteInMovingBuffers) {
  // A reused scanner receives each reply one byte at a time; every call sees
  // a fresh copy, so offsets (not pointers) must carry the state.
  ReplyScanner scanner;
  for (const Sample& sample : Samples()) {
    SCOPED_TRACE(sample.name);
    size_t length = 0;
    for (size_t size = 1; size < sample.bytes.size(); ++size) {
      auto copy = std::make_unique<std::string>(sample.bytes.substr(0, size));
      ASSERT_EQ(scanner.Scan(*copy, &length), ScanStatus::kNeedMore) << "size " << size;
      copy->assign(copy->size(), '#');  // scribble over what the scanner saw
    }
    auto whole = std::make_unique<std::string>(sample.bytes);
    ASSERT_EQ(scanner.Scan(*whole, &length), ScanStatus::kComplete);
    EXPECT_EQ(length, sample.bytes.size());
    EXPECT_EQ(scanner.type(), sample.top_type);
  }
}

TEST(ParseReplyTest, EveryPrefixNeedsMore) {
  for (const Sample& sample : Samples()) {
    SCOPED_TRACE(sample.name);
    for (size_t size = 0; size < sample.bytes.size(); ++size) {
      ReplyValue value;
      value.type = 'X';
      size_t consumed = 12345;
      ASSERT_EQ(ParseReply(std::string_view(sample.bytes).substr(0, size), &value, &consumed),
                ScanStatus::kNeedMore)
          << "size " << size;
      EXPECT_EQ(consumed, 12345u);  // untouched
      EXPECT_EQ(value.type, 'X');
    }
    Parse(sample.bytes);
  }
}

TEST(ReplyScannerTest, ReportsTheBytesABulkStillNeeds) {
  ReplyScanner scanner;
  size_t length = 0;
  const std::string header = "*2\r\n:1\r\n$100000\r\n";
  ASSERT_EQ(scanner.Scan(header, &length), ScanStatus::kNeedMore);
  EXPECT_EQ(scanner.bytes_wanted(), header.size() + 100000 + 2);
  ReplyScanner line_scanner;
  ASSERT_EQ(line_scanner.Scan("+OK", &length), ScanStatus::kNeedMore);
  EXPECT_EQ(line_scanner.bytes_wanted(), 0u);
}

TEST(ReplyScannerTest, ResetForgetsAPartialReply) {
  ReplyScanner scanner;
  size_t length = 0;
  ASSERT_EQ(scanner.Scan("*3\r\n:1\r\n$5\r\nab", &length), ScanStatus::kNeedMore);
  scanner.Reset();
  ASSERT_EQ(scanner.Scan("+OK\r\n", &length), ScanStatus::kComplete);
  EXPECT_EQ(length, 5u);
  EXPECT_EQ(scanner.type(), '+');
}

// ---------------------------------------------------------------------------
// Malformed input

struct Malformed {
  std::string bytes;
  std::string error;  // a substring of the expected error()
};

std::vector<Malformed> MalformedReplies() {
  return {
      {"X\r\n", "unexpected type byte 0x58 'X'"},
      {std::string("\0\r\n", 3), "unexpected type byte 0x00"},
      {"*1\r\n@\r\n", "unexpected type byte"},
      {";3\r\nabc\r\n", "unexpected type byte"},
      {".\r\n", "unexpected type byte"},
      {"OK\r\n", "unexpected type byte"},
      {"+OK\rX", "CR not followed by LF"},
      {"+OK\n+OK\r\r", "CR not followed by LF"},
      {"$3\r\nfooXY", "not followed by CRLF"},
      {"$3\r\nfoo\n\r", "not followed by CRLF"},
      {"$3\r\nfoobar\r\n", "not followed by CRLF"},
      {"$-2\r\n", "invalid bulk length"},
      {"$-0\r\n", "invalid bulk length"},
      {"$03\r\nfoo\r\n", "invalid bulk length"},
      {"$+3\r\nfoo\r\n", "invalid bulk length"},
      {"$3a\r\nfoo\r\n", "invalid bulk length"},
      {"$ 3\r\nfoo\r\n", "invalid bulk length"},
      {"$\r\n", "invalid bulk length"},
      {"$99999999999999999999\r\n", "invalid bulk length"},
      {"$536870913\r\n", "exceeds 512 MB"},
      {"$9223372036854775807\r\n", "exceeds 512 MB"},
      {"$?\r\n;3\r\nabc\r\n;0\r\n", "streamed strings are not supported"},
      {"*?\r\n:1\r\n.\r\n", "streamed aggregates are not supported"},
      {"!-1\r\n", "invalid bulk length"},
      {"=-1\r\n", "invalid bulk length"},
      {"=3\r\ntxt\r\n", "without a format prefix"},
      {"=5\r\ntxt-x\r\n", "without a format prefix"},
      {"*-2\r\n", "invalid aggregate length"},
      {"%-1\r\n", "invalid aggregate length"},
      {"~-1\r\n", "invalid aggregate length"},
      {">-1\r\n", "invalid aggregate length"},
      {"|-1\r\n", "invalid aggregate length"},
      {"*x\r\n", "invalid aggregate length"},
      {"*1 \r\n:1\r\n", "invalid aggregate length"},
      {"*99999999999999999999\r\n", "invalid aggregate length"},
      {":\r\n", "invalid integer"},
      {":1.5\r\n", "invalid integer"},
      {":+1\r\n", "invalid integer"},
      {":9223372036854775808\r\n", "invalid integer"},
      {":-\r\n", "invalid integer"},
      {"#x\r\n", "invalid boolean"},
      {"#\r\n", "invalid boolean"},
      {"#tt\r\n", "invalid boolean"},
      {"_x\r\n", "null with content"},
      {",\r\n", "invalid double"},
      {",abc\r\n", "invalid double"},
      {",1.5x\r\n", "invalid double"},
      {", 1\r\n", "invalid double"},
      {"(\r\n", "invalid big number"},
      {"(-\r\n", "invalid big number"},
      {"(12a\r\n", "invalid big number"},
      {"*2\r\n:1\r\n:x\r\n", "invalid integer"},
      {"|1\r\n+a\r\n:1\r\nZ\r\n", "unexpected type byte"},
      {":1234567890123456789012345", "header line too long"},
      {"$" + std::string(40, '1'), "header line too long"},
      {"," + std::string(200, '1'), "header line too long"},
  };
}

TEST(ReplyScannerTest, RejectsMalformedReplies) {
  for (const Malformed& bad : MalformedReplies()) {
    SCOPED_TRACE(::testing::PrintToString(bad.bytes));
    size_t length = 0;
    std::string error;
    ASSERT_EQ(ScanOnce(bad.bytes, &length, &error), ScanStatus::kError);
    EXPECT_NE(error.find(bad.error), std::string::npos) << error;

    ReplyValue value;
    std::string parse_error;
    EXPECT_EQ(ParseReply(bad.bytes, &value, &length, &parse_error), ScanStatus::kError);
    EXPECT_EQ(parse_error, error);
  }
}

TEST(ReplyScannerTest, MalformedRepliesFailWhenFedByteByByte) {
  // Arriving in pieces, a malformed reply must still end in kError and never
  // be taken for a complete one.
  for (const Malformed& bad : MalformedReplies()) {
    SCOPED_TRACE(::testing::PrintToString(bad.bytes));
    ReplyScanner scanner;
    size_t length = 0;
    ScanStatus status = ScanStatus::kNeedMore;
    for (size_t size = 1; size <= bad.bytes.size() && status == ScanStatus::kNeedMore; ++size) {
      status = scanner.Scan(std::string_view(bad.bytes).substr(0, size), &length);
    }
    EXPECT_EQ(status, ScanStatus::kError);
  }
}

TEST(ReplyScannerTest, ErrorResetsTheScannerForANewStream) {
  ReplyScanner scanner;
  size_t length = 0;
  ASSERT_EQ(scanner.Scan("*2\r\n:1\r\n?", &length), ScanStatus::kError);
  EXPECT_FALSE(scanner.error().empty());
  ASSERT_EQ(scanner.Scan(":5\r\n", &length), ScanStatus::kComplete);
  EXPECT_EQ(length, 4u);
}

TEST(ReplyScannerTest, RejectsDataThatShrankBetweenCalls) {
  ReplyScanner scanner;
  size_t length = 0;
  ASSERT_EQ(scanner.Scan("*2\r\n:1\r\n", &length), ScanStatus::kNeedMore);
  EXPECT_EQ(scanner.Scan("*2\r\n", &length), ScanStatus::kError);
}

// ---------------------------------------------------------------------------
// Limits

TEST(ReplyScannerTest, BulkLengthLimitIsInclusive) {
  size_t length = 0;
  ReplyScanner scanner;
  EXPECT_EQ(scanner.Scan("$536870912\r\n", &length), ScanStatus::kNeedMore);
  EXPECT_EQ(scanner.bytes_wanted(), 12u + 536870912u + 2u);
  EXPECT_EQ(ScanOnce("!536870913\r\n", &length), ScanStatus::kError);
}

TEST(ReplyScannerTest, HugeAggregateCountsAreNotAnError) {
  // A count is only a promise of more bytes; nothing is allocated for it.
  size_t length = 0;
  EXPECT_EQ(ScanOnce("*9223372036854775807\r\n:1\r\n", &length), ScanStatus::kNeedMore);
  EXPECT_EQ(ScanOnce("%9223372036854775807\r\n:1\r\n", &length), ScanStatus::kNeedMore);
  ReplyValue value;
  EXPECT_EQ(ParseReply("|9223372036854775807\r\n:1\r\n", &value, &length), ScanStatus::kNeedMore);
}

TEST(ReplyScannerTest, NestingLimit) {
  const std::string leaf = ":1\r\n";
  size_t length = 0;
  std::string error;
  for (std::string_view open : {"*1\r\n", "%1\r\n+k\r\n", "~1\r\n", ">1\r\n", "|1\r\n"}) {
    SCOPED_TRACE(std::string(open));
    // An attribute's value follows it: close each level with one more leaf.
    const bool attribute = open[0] == '|';
    std::string deepest = Nested(kMaxReplyNesting, open, leaf);
    if (attribute) {
      deepest = Nested(kMaxReplyNesting, "|1\r\n+k\r\n", leaf);
      for (size_t i = 0; i < kMaxReplyNesting; ++i) deepest += leaf;
    }
    ASSERT_EQ(ScanOnce(deepest, &length, &error), ScanStatus::kComplete) << error;
    EXPECT_EQ(length, deepest.size());

    const std::string too_deep =
        Nested(kMaxReplyNesting + 1, attribute ? "|1\r\n+k\r\n" : open, leaf);
    ASSERT_EQ(ScanOnce(too_deep, &length, &error), ScanStatus::kError);
    EXPECT_NE(error.find("nested too deeply"), std::string::npos);
  }
}

TEST(ReplyScannerTest, HostileDepthDoesNotRecurse) {
  const std::string hostile = Nested(1'000'000, "*1\r\n", ":1\r\n");
  size_t length = 0;
  EXPECT_EQ(ScanOnce(hostile, &length), ScanStatus::kError);
  ReplyValue value;
  EXPECT_EQ(ParseReply(hostile, &value, &length), ScanStatus::kError);
}

TEST(ParseReplyTest, BuildsTheDeepestAllowedTree) {
  const std::string deepest = Nested(kMaxReplyNesting, "*1\r\n", ":42\r\n");
  ReplyValue value = Parse(deepest);
  const ReplyValue* level = &value;
  size_t depth = 0;
  while (level->type == '*') {
    ASSERT_EQ(level->elements.size(), 1u);
    level = &level->elements[0];
    ++depth;
  }
  EXPECT_EQ(depth, kMaxReplyNesting);
  EXPECT_EQ(*level, Int(42));
}

}  // namespace
}  // namespace understudy::protocol

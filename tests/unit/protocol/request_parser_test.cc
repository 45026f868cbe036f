#include "protocol/request_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/unit/protocol/parser_harness.h"

namespace understudy::protocol {
namespace {

using namespace std::string_literals;
using testing::FeedBytewise;
using testing::FeedRandomChunks;
using testing::FeedWhole;
using testing::FeedWithCuts;
using testing::ParseEvent;
using testing::SimulatedConnection;

// "*N\r\n$len\r\narg\r\n..." for the given arguments.
std::string Multibulk(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args)
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  return out;
}

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  // Mostly CR, LF, '$' and '*' so the data looks like protocol framing.
  const char kTricky[] = {'\r', '\n', '$', '*', '\0', '1'};
  for (char& c : out) {
    uint64_t r = rng();
    c = (r & 1) ? kTricky[(r >> 1) % sizeof(kTricky)] : static_cast<char>(r >> 8);
  }
  return out;
}

struct CorpusItem {
  std::string name;
  std::string bytes;
  std::vector<ParseEvent> expected;
};

std::vector<CorpusItem> SmallCorpus() {
  std::vector<std::string> hundred_args;
  for (int i = 0; i < 100; ++i) hundred_args.push_back(std::string(i % 7, 'a' + i % 26));
  const std::string tricky_data = "a\r\nb\r\n\0c"s;
  const std::string looks_like_request = "*1\r\n$4\r\nPING\r\n";
  std::vector<CorpusItem> corpus = {
      {"ping", "*1\r\n$4\r\nPING\r\n", {ParseEvent::Command({"PING"})}},
      {"empty bulk",
       "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n",
       {ParseEvent::Command({"SET", "key", ""})}},
      {"only empty bulks", "*2\r\n$0\r\n\r\n$0\r\n\r\n", {ParseEvent::Command({"", ""})}},
      {"crlf and nul inside bulk",
       "*2\r\n$4\r\nECHO\r\n$8\r\n" + tricky_data + "\r\n",
       {ParseEvent::Command({"ECHO", tricky_data})}},
      {"bulk of only crlf", "*1\r\n$4\r\n\r\n\r\n\r\n", {ParseEvent::Command({"\r\n\r\n"})}},
      {"bulk that looks like a request",
       "*2\r\n$4\r\nECHO\r\n$" + std::to_string(looks_like_request.size()) + "\r\n" +
           looks_like_request + "\r\n",
       {ParseEvent::Command({"ECHO", looks_like_request})}},
      {"two-digit lengths",
       "*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n",
       {ParseEvent::Command({"GET", "0123456789"})}},
      {"hundred args", Multibulk(hundred_args), {ParseEvent::Command(hundred_args)}},
      // Redis skips the two bytes after a bulk's data without checking them.
      {"bytes after bulk are skipped",
       "*2\r\n$4\r\nECHO\r\n$1\r\naXY*1\r\n$4\r\nPING\r\n",
       {ParseEvent::Command({"ECHO", "a"}), ParseEvent::Command({"PING"})}},
      {"inline crlf", "PING\r\n", {ParseEvent::Command({"PING"})}},
      {"inline lf only", "PING\n", {ParseEvent::Command({"PING"})}},
      {"inline spaces", "  SET \t a   b  \r\n", {ParseEvent::Command({"SET", "a", "b"})}},
      {"inline double quotes",
       "ECHO \"a b\\r\\n\"\r\n",
       {ParseEvent::Command({"ECHO", "a b\r\n"})}},
      {"inline single quotes and hex",
       "SET 'k v' \"\\x00\\xff\"\r\n",
       {ParseEvent::Command({"SET", "k v", "\0\xff"s})}},
      {"inline escaped quote",
       "ECHO 'it\\'s' \"say \\\"hi\\\"\"\n",
       {ParseEvent::Command({"ECHO", "it's", "say \"hi\""})}},
      {"inline empty quotes", "SET k \"\"\r\n", {ParseEvent::Command({"SET", "k", ""})}},
      {"star zero", "*0\r\n", {ParseEvent::Empty()}},
      {"star minus one", "*-1\r\n", {ParseEvent::Empty()}},
      {"star minus five", "*-5\r\n", {ParseEvent::Empty()}},
      {"blank crlf line", "\r\n", {ParseEvent::Empty()}},
      {"blank lf line", "\n", {ParseEvent::Empty()}},
      {"line of spaces", "   \t \r\n", {ParseEvent::Empty()}},
      {"pipeline of mixed forms",
       "*1\r\n$4\r\nPING\r\nPING\r\n\r\n*0\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\nECHO 'y'\r\n*-1\r\n",
       {ParseEvent::Command({"PING"}), ParseEvent::Command({"PING"}), ParseEvent::Empty(),
        ParseEvent::Empty(), ParseEvent::Command({"ECHO", "x"}), ParseEvent::Command({"ECHO", "y"}),
        ParseEvent::Empty()}},
      {"inline then multibulk without gap",
       "GET a\n*1\r\n$1\r\nb\r\n",
       {ParseEvent::Command({"GET", "a"}), ParseEvent::Command({"b"})}},
  };
  std::string binary = RandomBytes(3000, 7);
  corpus.push_back({"3000 tricky bytes",
                    Multibulk({"SET", "bin", binary}),
                    {ParseEvent::Command({"SET", "bin", binary})}});
  return corpus;
}

TEST(RequestParserTest, WholeRequestsGiveTheExpectedArgs) {
  for (const CorpusItem& item : SmallCorpus()) {
    EXPECT_EQ(FeedWhole(item.bytes), item.expected) << item.name;
  }
}

TEST(RequestParserTest, SplittingAtEveryByteBoundaryGivesTheSameArgs) {
  for (const CorpusItem& item : SmallCorpus()) {
    for (size_t cut = 1; cut < item.bytes.size(); ++cut) {
      ASSERT_EQ(FeedWithCuts(item.bytes, {cut}), item.expected) << item.name << " cut at " << cut;
    }
  }
}

TEST(RequestParserTest, FeedingOneByteAtATimeGivesTheSameArgs) {
  for (const CorpusItem& item : SmallCorpus()) {
    EXPECT_EQ(FeedBytewise(item.bytes), item.expected) << item.name;
  }
}

TEST(RequestParserTest, WholeCorpusPipelinedInRandomChunks) {
  std::string stream;
  std::vector<ParseEvent> expected;
  for (const CorpusItem& item : SmallCorpus()) {
    stream += item.bytes;
    expected.insert(expected.end(), item.expected.begin(), item.expected.end());
  }
  ASSERT_EQ(FeedWhole(stream), expected);
  ASSERT_EQ(FeedBytewise(stream), expected);
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    size_t max_chunk = 1 + round % 50;
    ASSERT_EQ(FeedRandomChunks(stream, rng, max_chunk), expected) << "round " << round;
  }
}

TEST(RequestParserTest, LargeBulksInRandomChunks) {
  const std::string big = RandomBytes(1 << 20, 11);
  const std::string medium = RandomBytes(70000, 12);  // above the inline limit
  std::string stream = Multibulk({"SET", "big", big}) + "PING\r\n" +
                       Multibulk({"APPEND", medium, medium}) + Multibulk({"GET", "big"});
  std::vector<ParseEvent> expected = {
      ParseEvent::Command({"SET", "big", big}), ParseEvent::Command({"PING"}),
      ParseEvent::Command({"APPEND", medium, medium}), ParseEvent::Command({"GET", "big"})};
  ASSERT_EQ(FeedWhole(stream), expected);
  std::mt19937_64 rng(99);
  for (size_t max_chunk : {1000, 4096, 16384, 100000, 300000}) {
    const int rounds = max_chunk < 10000 ? 1 : 3;  // small chunks cost many copies
    for (int round = 0; round < rounds; ++round) {
      ASSERT_EQ(FeedRandomChunks(stream, rng, max_chunk), expected) << max_chunk;
    }
  }
  // Cuts right around every framing byte of the big request's header and
  // trailer, where off-by-one mistakes would show.
  const size_t header = std::string("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1048576\r\n").size();
  const size_t big_end = header + big.size();
  for (size_t cut : {header - 2, header - 1, header, header + 1, big_end - 1, big_end, big_end + 1,
                     big_end + 2, big_end + 3}) {
    ASSERT_EQ(FeedWithCuts(stream, {cut}), expected) << "cut at " << cut;
  }
}

TEST(RequestParserTest, IncompleteRequestsStayPending) {
  for (std::string partial : {"*", "*2", "*2\r", "*2\r\n", "*2\r\n$", "*2\r\n$3\r\nGET\r\n$1\r\nk",
                              "*2\r\n$3\r\nGET\r\n$1\r\nk\r", "PING", "PING\r", "ECHO \"a b"}) {
    SimulatedConnection connection;
    connection.Receive(partial);
    EXPECT_TRUE(connection.events().empty()) << partial;
    EXPECT_EQ(connection.pending_bytes(), partial.size()) << partial;
  }
}

TEST(RequestParserTest, ResumesWithTheBufferMovedInMemory) {
  const std::string request = Multibulk({"SET", "key", std::string(100, 'v')});
  RequestParser parser;
  const size_t split = request.size() - 30;  // inside the third bulk
  std::string first(request.substr(0, split));
  ASSERT_EQ(parser.Parse(first, true), ParseStatus::kNeedMore);
  // The caller moves the bytes and adds the rest; the old copy is destroyed.
  std::string second = first + request.substr(split);
  first.assign(first.size(), 'X');
  first.clear();
  first.shrink_to_fit();
  ASSERT_EQ(parser.Parse(second, true), ParseStatus::kCommand);
  ASSERT_EQ(parser.args().size(), 3u);
  EXPECT_EQ(parser.args()[0], "SET");
  EXPECT_EQ(parser.args()[1], "key");
  EXPECT_EQ(parser.args()[2], std::string(100, 'v'));
  EXPECT_EQ(parser.consumed(), request.size());
  for (std::string_view arg : parser.args()) {
    EXPECT_GE(arg.data(), second.data());
    EXPECT_LE(arg.data() + arg.size(), second.data() + second.size());
  }
}

TEST(RequestParserTest, ConsumedCoversOnlyTheFirstPipelinedRequest) {
  const std::string first = Multibulk({"ECHO", "one"});
  const std::string stream = first + "ECHO two\r\n";
  RequestParser parser;
  ASSERT_EQ(parser.Parse(stream, true), ParseStatus::kCommand);
  EXPECT_EQ(parser.consumed(), first.size());
  ASSERT_EQ(parser.Parse(std::string_view(stream).substr(first.size()), true),
            ParseStatus::kCommand);
  EXPECT_EQ(parser.consumed(), stream.size() - first.size());
  ASSERT_EQ(parser.args().size(), 2u);
  EXPECT_EQ(parser.args()[1], "two");
}

TEST(RequestParserTest, BytesWantedTellsTheSizeOfARequestWithALargeBulk) {
  const std::string request = Multibulk({"SET", "k", std::string(200000, 'z'), "tail"});
  const size_t third_bulk_end = request.size() - std::string("$4\r\ntail\r\n").size();
  RequestParser parser;
  ASSERT_EQ(parser.Parse(std::string_view(request).substr(0, 6), true), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.bytes_wanted(), 0u);  // inside a length line: unknown
  // Inside the first bulk's data ("*4\r\n$3\r\nSE"): its end is known.
  ASSERT_EQ(parser.Parse(std::string_view(request).substr(0, 10), true), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.bytes_wanted(), 13u);
  ASSERT_EQ(parser.Parse(std::string_view(request).substr(0, 1000), true), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.bytes_wanted(), third_bulk_end);
  // The big bulk is complete but the next header is not: nothing is known.
  ASSERT_EQ(parser.Parse(std::string_view(request).substr(0, third_bulk_end + 2), true),
            ParseStatus::kNeedMore);
  EXPECT_EQ(parser.bytes_wanted(), 0u);
  ASSERT_EQ(parser.Parse(request, true), ParseStatus::kCommand);
  EXPECT_EQ(parser.bytes_wanted(), 0u);
  EXPECT_EQ(parser.args()[3], "tail");
}

TEST(RequestParserTest, ResetForgetsAPartialRequest) {
  RequestParser parser;
  ASSERT_EQ(parser.Parse("*3\r\n$3\r\nSET\r\n$1\r\n", true), ParseStatus::kNeedMore);
  parser.Reset();
  ASSERT_EQ(parser.Parse("*1\r\n$4\r\nPING\r\n", true), ParseStatus::kCommand);
  ASSERT_EQ(parser.args().size(), 1u);
  EXPECT_EQ(parser.args()[0], "PING");
  // And inline parsing works after a reset that followed a multibulk start.
  ASSERT_EQ(parser.Parse("*2\r\n$4\r\n", true), ParseStatus::kNeedMore);
  parser.Reset();
  ASSERT_EQ(parser.Parse("ECHO hi\r\n", true), ParseStatus::kCommand);
  EXPECT_EQ(parser.args()[1], "hi");
}

TEST(RequestParserTest, EmptyInputNeedsMore) {
  RequestParser parser;
  EXPECT_EQ(parser.Parse("", true), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.Parse("", false), ParseStatus::kNeedMore);
}

TEST(RequestParserTest, InlineArgsOutliveTheInputBuffer) {
  // Inline arguments are unescaped copies owned by the parser.
  RequestParser parser;
  std::string line = "SET \"a\\x41\" b\r\n";
  ASSERT_EQ(parser.Parse(line, true), ParseStatus::kCommand);
  line.assign(line.size(), '#');
  ASSERT_EQ(parser.args().size(), 3u);
  EXPECT_EQ(parser.args()[1], "aA");
  EXPECT_EQ(parser.args()[2], "b");
}

TEST(RequestParserTest, LargestAllowedLengthsWaitForData) {
  RequestParser parser;
  EXPECT_EQ(parser.Parse("*2147483647\r\n", true), ParseStatus::kNeedMore);
  parser.Reset();
  EXPECT_EQ(parser.Parse("*1\r\n$536870912\r\n", true), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.bytes_wanted(), std::string("*1\r\n$536870912\r\n").size() + 536870912 + 2);
  parser.Reset();
  // The smallest 64-bit count is a valid (negative, so empty) request.
  EXPECT_EQ(parser.Parse("*-9223372036854775808\r\n", true), ParseStatus::kEmpty);
}

TEST(RequestParserTest, UnauthenticatedLimitsAllowUpToTheirValue) {
  RequestParser parser;
  EXPECT_EQ(parser.Parse("*10\r\n", false), ParseStatus::kNeedMore);
  parser.Reset();
  EXPECT_EQ(parser.Parse("*1\r\n$16384\r\n", false), ParseStatus::kNeedMore);
  parser.Reset();
  EXPECT_EQ(parser.Parse("*-1\r\n", false), ParseStatus::kEmpty);
  EXPECT_EQ(FeedWhole(Multibulk({"AUTH", std::string(16384, 'p')}), false),
            std::vector<ParseEvent>{ParseEvent::Command({"AUTH", std::string(16384, 'p')})});
}

}  // namespace
}  // namespace understudy::protocol

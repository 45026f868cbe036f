// ReplyScanner and ParseReply on whole streams: random values round-tripped
// through an encoder, the cost of huge replies arriving in small reads, and
// replies captured from a real redis-server 7.0 (testdata/make_replies.py).

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/reply_parser.h"
#include "tests/unit/protocol/reply_test_support.h"

namespace understudy::protocol {
namespace {

using reply_test::Parse;
using reply_test::Str;

void Encode(const ReplyValue& value, std::string* out) {
  if (!value.attributes.empty()) {
    *out += "|" + std::to_string(value.attributes.size() / 2) + "\r\n";
    for (const ReplyValue& entry : value.attributes) Encode(entry, out);
  }
  switch (value.type) {
    case '+':
    case '-':
    case ',':
    case '(':
      *out += value.type + value.str + "\r\n";
      break;
    case ':':
      *out += ":" + std::to_string(value.integer) + "\r\n";
      break;
    case '#':
      *out += value.integer ? "#t\r\n" : "#f\r\n";
      break;
    case '_':
      *out += value.resp2_null_array ? "*-1\r\n" : "_\r\n";
      break;
    case '$':
    case '!':
      *out += value.type + std::to_string(value.str.size()) + "\r\n" + value.str + "\r\n";
      break;
    case '=':
      *out += "=" + std::to_string(value.str.size() + 4) + "\r\n" + value.format + ":" + value.str +
              "\r\n";
      break;
    default: {
      const size_t count = value.type == '%' ? value.elements.size() / 2 : value.elements.size();
      *out += value.type + std::to_string(count) + "\r\n";
      for (const ReplyValue& element : value.elements) Encode(element, out);
    }
  }
}

std::string Encode(const ReplyValue& value) {
  std::string out;
  Encode(value, &out);
  return out;
}

// ---------------------------------------------------------------------------
// Large replies cost O(n) however they arrive

// Anonymous memory whose pages between `readable_head` and `readable_tail`
// bytes from either end are made unreadable, so that touching them crashes.
class GuardedBuffer {
 public:
  GuardedBuffer(size_t size, size_t readable_head, size_t readable_tail) : size_(size) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    mapped_ = (size + page - 1) / page * page;
    void* memory =
        mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(memory, MAP_FAILED);
    data_ = static_cast<char*>(memory);
    const size_t guard_begin = (readable_head + page - 1) / page * page;
    const size_t guard_end = (size - readable_tail) / page * page;
    if (guard_end > guard_begin) {
      EXPECT_EQ(mprotect(data_ + guard_begin, guard_end - guard_begin, PROT_NONE), 0);
    }
  }
  ~GuardedBuffer() { munmap(data_, mapped_); }
  char* data() { return data_; }
  std::string_view view(size_t length) const { return {data_, std::min(length, size_)}; }

 private:
  char* data_ = nullptr;
  size_t size_;
  size_t mapped_ = 0;
};

TEST(ReplyScannerTest, HundredMegabyteBulkInSixteenKibReadsIsSkippedUnread) {
  // The payload's pages are unreadable: the scanner must skip the payload by
  // its length, never looking at it, and resume each read in O(1).
  constexpr size_t kPayload = 100 * 1024 * 1024;
  const std::string header = "$" + std::to_string(kPayload) + "\r\n";
  const size_t total = header.size() + kPayload + 2;
  GuardedBuffer buffer(total, header.size(), 2);
  header.copy(buffer.data(), header.size());
  buffer.data()[total - 2] = '\r';
  buffer.data()[total - 1] = '\n';

  ReplyScanner scanner;
  size_t length = 0;
  size_t calls = 0;
  ScanStatus status = ScanStatus::kNeedMore;
  for (size_t available = 16 * 1024; status == ScanStatus::kNeedMore; available += 16 * 1024) {
    status = scanner.Scan(buffer.view(available), &length);
    if (status == ScanStatus::kNeedMore) {
      ASSERT_EQ(scanner.bytes_wanted(), total);
    }
    ++calls;
  }
  ASSERT_EQ(status, ScanStatus::kComplete);
  EXPECT_EQ(length, total);
  EXPECT_EQ(scanner.type(), '$');
  EXPECT_EQ(calls, (total + 16 * 1024 - 1) / (16 * 1024));
}

TEST(ReplyScannerTest, HugeSimpleStringInSmallReadsIsNotRescanned) {
  // A line has no length, so the scanner must search it for CR; resuming must
  // not search again what it already searched (8 MiB in 1 KiB reads would be
  // ~32 GB of searching otherwise). After each read, the pages already
  // searched are made unreadable: searching them again would crash.
  const std::string reply = "-ERR " + std::string(8 * 1024 * 1024, 'e') + "\r\n";
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t mapped = (reply.size() + page - 1) / page * page;
  void* memory = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  char* data = static_cast<char*>(memory);
  reply.copy(data, reply.size());
  ReplyScanner scanner;
  size_t length = 0;
  size_t protected_end = page;  // the first page (the type byte) stays readable
  ScanStatus status = ScanStatus::kNeedMore;
  for (size_t available = 1024; status == ScanStatus::kNeedMore; available += 1024) {
    status = scanner.Scan(std::string_view(data, std::min(available, reply.size())), &length);
    // Everything before the last full page of what was searched is done with.
    const size_t done = available > 2 * page ? (available - page) / page * page : 0;
    if (done > protected_end) {
      ASSERT_EQ(mprotect(data + protected_end, done - protected_end, PROT_NONE), 0);
      protected_end = done;
    }
  }
  EXPECT_EQ(status, ScanStatus::kComplete);
  EXPECT_EQ(length, reply.size());
  EXPECT_EQ(scanner.type(), '-');
  munmap(memory, mapped);
}

// ---------------------------------------------------------------------------
// Random values: encode, then parse and scan however the bytes are cut

ReplyValue RandomValue(std::mt19937_64& rng, int depth) {
  static constexpr char kScalars[] = "+-:$_,#!=(";
  static constexpr char kAggregates[] = "*%~>";
  const bool aggregate = depth < 5 && rng() % 3 == 0;
  ReplyValue value;
  auto text = [&rng](size_t max) {
    std::string out(rng() % (max + 1), 'a');
    for (char& c : out) c = static_cast<char>(rng() % 256);
    return out;
  };
  if (aggregate) {
    value.type = kAggregates[rng() % 4];
    const size_t count = rng() % 4;
    for (size_t i = 0; i < count * (value.type == '%' ? 2 : 1); ++i) {
      value.elements.push_back(RandomValue(rng, depth + 1));
    }
  } else {
    value.type = kScalars[rng() % 10];
    switch (value.type) {
      case '+':
      case '-':
        value.str = "word" + std::to_string(rng() % 1000) + " more text";
        break;
      case ':':
        value.integer = static_cast<int64_t>(rng());
        break;
      case '$':
      case '!':
        value.str = text(40);  // binary, CRLF included
        break;
      case '=':
        value.format = rng() % 2 ? "txt" : "mkd";
        value.str = text(20);
        break;
      case '_':
        value.resp2_null_array = rng() % 2;
        break;
      case ',': {
        const double number = std::ldexp(static_cast<double>(rng() % 100000) - 50000,
                                         static_cast<int>(rng() % 80) - 40);
        char buffer[40];
        snprintf(buffer, sizeof(buffer), "%.17g", number);
        value.str = buffer;
        value.number = number;
        break;
      }
      case '#':
        value.integer = rng() % 2;
        break;
      case '(':
        value.str = (rng() % 2 ? "-" : "") + std::to_string(rng()) + std::to_string(rng());
        break;
    }
  }
  if (rng() % 8 == 0) {
    value.attributes = {Str('+', "attr"), RandomValue(rng, depth + 1)};
  }
  return value;
}

TEST(ParseReplyTest, RandomValuesRoundTripInRandomPieces) {
  std::mt19937_64 rng(20240611);
  for (int round = 0; round < 400; ++round) {
    const ReplyValue expected = RandomValue(rng, 0);
    const std::string bytes = Encode(expected);
    SCOPED_TRACE(::testing::PrintToString(bytes));
    EXPECT_EQ(Parse(bytes), expected);

    // The scanner, fed in random pieces, agrees on the length.
    ReplyScanner scanner;
    size_t length = 0;
    size_t available = 0;
    ScanStatus status = ScanStatus::kNeedMore;
    while (status == ScanStatus::kNeedMore && available < bytes.size()) {
      available = std::min(bytes.size(), available + 1 + rng() % 8);
      status = scanner.Scan(std::string_view(bytes).substr(0, available), &length);
      if (available < bytes.size()) {
        ASSERT_EQ(status, ScanStatus::kNeedMore);
      }
    }
    ASSERT_EQ(status, ScanStatus::kComplete);
    EXPECT_EQ(length, bytes.size());
  }
}

// ---------------------------------------------------------------------------
// Replies captured from a real redis-server 7.0 (testdata/make_replies.py)

struct Capture {
  std::string stream;
  struct Entry {
    size_t length;
    char type;
    std::string command;
  };
  std::vector<Entry> entries;
};

Capture LoadCapture(const std::string& name) {
  const std::string dir = UNDERSTUDY_REPLY_TESTDATA_DIR;
  Capture capture;
  std::ifstream bin(dir + "/" + name + ".bin", std::ios::binary);
  EXPECT_TRUE(bin.good()) << dir << "/" << name << ".bin";
  capture.stream.assign(std::istreambuf_iterator<char>(bin), std::istreambuf_iterator<char>());
  std::ifstream index(dir + "/" + name + ".txt");
  std::string word;
  size_t count = 0;
  index >> word >> count;
  EXPECT_EQ(word, "replies");
  std::string line;
  std::getline(index, line);
  while (std::getline(index, line)) {
    std::istringstream fields(line);
    Capture::Entry entry;
    fields >> entry.length >> entry.type;
    std::getline(fields, entry.command);
    capture.entries.push_back(entry);
  }
  EXPECT_EQ(capture.entries.size(), count);
  EXPECT_GT(count, 90u);
  return capture;
}

const ReplyValue* FindMapValue(const ReplyValue& map, std::string_view key) {
  for (size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].str == key) return &map.elements[i + 1];
  }
  return nullptr;
}

class CapturedRepliesTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    capture_ = LoadCapture("redis_replies_resp" + std::to_string(GetParam()));
  }
  Capture capture_;
};

TEST_P(CapturedRepliesTest, ScannerFramesEveryReplyAsRedisSentIt) {
  ReplyScanner scanner;
  std::string_view rest(capture_.stream);
  for (const Capture::Entry& entry : capture_.entries) {
    SCOPED_TRACE(entry.command);
    size_t length = 0;
    ASSERT_EQ(scanner.Scan(rest, &length), ScanStatus::kComplete) << scanner.error();
    EXPECT_EQ(length, entry.length);
    EXPECT_EQ(scanner.type(), entry.type);

    ReplyValue value;
    size_t consumed = 0;
    ASSERT_EQ(ParseReply(rest, &value, &consumed), ScanStatus::kComplete);
    EXPECT_EQ(consumed, length);
    rest.remove_prefix(length);
  }
  EXPECT_TRUE(rest.empty());
}

TEST_P(CapturedRepliesTest, ScannerFramesTheStreamArrivingInSmallReads) {
  // As the proxy would: bytes arrive in reads of 1..97 bytes; complete replies
  // are cut off the front of the buffer.
  std::mt19937_64 rng(GetParam());
  ReplyScanner scanner;
  std::string buffer;
  size_t fed = 0;
  size_t next_entry = 0;
  while (fed < capture_.stream.size()) {
    const size_t read = std::min<size_t>(1 + rng() % 97, capture_.stream.size() - fed);
    buffer.append(capture_.stream, fed, read);
    fed += read;
    size_t length = 0;
    ScanStatus status;
    while ((status = scanner.Scan(buffer, &length)) == ScanStatus::kComplete) {
      ASSERT_LT(next_entry, capture_.entries.size());
      ASSERT_EQ(length, capture_.entries[next_entry].length)
          << capture_.entries[next_entry].command;
      buffer.erase(0, length);
      ++next_entry;
    }
    ASSERT_EQ(status, ScanStatus::kNeedMore) << scanner.error();
  }
  EXPECT_EQ(next_entry, capture_.entries.size());
  EXPECT_TRUE(buffer.empty());
}

TEST_P(CapturedRepliesTest, ParsedContentMatchesTheCommands) {
  const bool resp3 = GetParam() == 3;
  std::string_view rest(capture_.stream);
  bool saw_hello = false, saw_big = false, saw_aborted_exec = false, saw_attribute = false;
  for (const Capture::Entry& entry : capture_.entries) {
    ReplyValue value;
    size_t consumed = 0;
    ASSERT_EQ(ParseReply(rest, &value, &consumed), ScanStatus::kComplete);
    rest.remove_prefix(consumed);
    const std::string& command = entry.command;
    if (command == " HELLO 2" || command == " HELLO 3") {
      saw_hello = true;
      if (resp3) {
        ASSERT_EQ(value.type, '%');
        const ReplyValue* proto = FindMapValue(value, "proto");
        ASSERT_NE(proto, nullptr);
        EXPECT_EQ(proto->integer, 3);
      } else {
        ASSERT_EQ(value.type, '*');  // a map degrades to a flat array
        const ReplyValue* proto = FindMapValue(value, "proto");
        ASSERT_NE(proto, nullptr);
        EXPECT_EQ(proto->integer, 2);
      }
    } else if (command == " GET big") {
      saw_big = true;
      EXPECT_EQ(value.str, std::string(70000, 'x'));
    } else if (command == " GET crlf") {
      EXPECT_EQ(value.str, "a\r\nb\r\n");
    } else if (command == " DECR n") {
      EXPECT_EQ(value.type, ':');
      EXPECT_EQ(value.integer, INT64_MIN);
    } else if (command == " NOSUCHCOMMAND x") {
      EXPECT_EQ(value.ErrorCode(), "ERR");
    } else if (command == " LPUSH k x") {
      EXPECT_EQ(value.ErrorCode(), "WRONGTYPE");
    } else if (command == " LRANGE list 0 -1") {
      ASSERT_EQ(value.elements.size(), 300u);
      EXPECT_EQ(value.elements[299].str, "item299");
    } else if (command == " EXEC" && value.IsNull()) {
      saw_aborted_exec = true;
      EXPECT_EQ(value.resp2_null_array, !resp3);
    } else if (command == " ZSCORE z c") {
      EXPECT_EQ(value.type, resp3 ? ',' : '$');
      EXPECT_EQ(value.str, "inf");
      if (resp3) {
        EXPECT_EQ(value.number, HUGE_VAL);
      }
    } else if (command == " INFO server") {
      EXPECT_EQ(value.type, resp3 ? '=' : '$');
      EXPECT_EQ(value.format, resp3 ? "txt" : "");
      EXPECT_EQ(value.str.rfind("# Server\r\n", 0), 0u);
    } else if (command == " DEBUG PROTOCOL attrib") {
      if (resp3) {
        saw_attribute = true;
        EXPECT_EQ(value.attributes.size(), 2u);
      }
    } else if (command == " DEBUG PROTOCOL bignum" && resp3) {
      EXPECT_EQ(value.type, '(');
      EXPECT_GT(value.str.size(), 20u);  // beyond int64
    }
  }
  EXPECT_TRUE(saw_hello);
  EXPECT_TRUE(saw_big);
  EXPECT_TRUE(saw_aborted_exec);
  EXPECT_EQ(saw_attribute, resp3);
}

INSTANTIATE_TEST_SUITE_P(Resp, CapturedRepliesTest, ::testing::Values(2, 3),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "Resp" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace understudy::protocol

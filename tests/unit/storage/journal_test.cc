#include "storage/journal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/disk_io.h"

namespace understudy::storage {
namespace {

namespace fs = std::filesystem;

// The records whose encoding is pinned below, one per opcode.
JournalRecord PinnedCommand() {
  JournalRecord r;
  r.op = JournalOp::kCommand;
  r.seq = 7;
  r.time_ms = 1700000000000;
  r.db = 2;
  r.class_name = "bl";
  r.args = {"SADD", "bl", "tok"};
  return r;
}

JournalRecord PinnedBaseline() {
  JournalRecord r;
  r.op = JournalOp::kBaseline;
  r.seq = 8;
  r.time_ms = 1700000000001;
  r.db = 0;
  r.class_name = "sess";
  r.key = "s:1";
  r.state = std::string(
      "\x01"
      "ab");
  return r;
}

JournalRecord PinnedReplayed() {
  JournalRecord r;
  r.op = JournalOp::kReplayed;
  r.seq = 9;
  r.time_ms = 1700000000002;
  r.applied_up_to = 8;
  return r;
}

// The expected bytes were computed outside this code base (a bitwise
// CRC32C in Python), so they also check the CRC implementation.
const std::string kPinnedCommandBytes(
    "\x33\x00\x00\x00\x8d\x98\x3a\xef\x01\x07\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x68\xe5\xcf\x8b\x01\x00\x00\x02\x00\x00\x00\x02\x00\x00"
    "\x00\x62\x6c\x03\x00\x00\x00\x04\x00\x00\x00\x53\x41\x44\x44\x02"
    "\x00\x00\x00\x62\x6c\x03\x00\x00\x00\x74\x6f\x6b",
    60);
const std::string kPinnedBaselineBytes(
    "\x2a\x00\x00\x00\x2c\xef\x99\x4f\x02\x08\x00\x00\x00\x00\x00\x00"
    "\x00\x01\x68\xe5\xcf\x8b\x01\x00\x00\x00\x00\x00\x00\x04\x00\x00"
    "\x00\x73\x65\x73\x73\x03\x00\x00\x00\x73\x3a\x31\x03\x00\x00\x00"
    "\x01\x61\x62",
    51);
const std::string kPinnedReplayedBytes(
    "\x18\x00\x00\x00\x01\x8f\xe9\x2e\x03\x09\x00\x00\x00\x00\x00\x00"
    "\x00\x02\x68\xe5\xcf\x8b\x01\x00\x00\x08\x00\x00\x00\x00\x00\x00"
    "\x00",
    33);
const std::string kPinnedOutageBeginBytes(
    "\x10\x00\x00\x00\xd4\xb5\x5e\x87\x04\x0a\x00\x00\x00\x00\x00\x00"
    "\x00\x03\x68\xe5\xcf\x8b\x01\x00\x00",
    25);
const std::string kPinnedHeaderBytes(
    "\x55\x53\x4a\x4f\x55\x52\x4e\x4c\x01\x00\x00\x00\x2a\x00\x00\x00"
    "\x00\x00\x00\x00\xbd\xf7\xb0\xe1",
    24);

JournalRecord Command(uint64_t seq, std::vector<std::string> args) {
  JournalRecord r;
  r.op = JournalOp::kCommand;
  r.seq = seq;
  r.time_ms = 1700000000000 + static_cast<int64_t>(seq);
  r.db = static_cast<uint32_t>(seq % 3);
  r.class_name = "class" + std::to_string(seq % 2);
  r.args = std::move(args);
  return r;
}

JournalRecord Checkpoint(uint64_t seq, uint64_t applied_up_to) {
  JournalRecord r;
  r.op = JournalOp::kReplayed;
  r.seq = seq;
  r.applied_up_to = applied_up_to;
  return r;
}

std::string Encoded(const JournalRecord& r) {
  std::string out;
  EXPECT_TRUE(EncodeJournalRecord(r, &out));
  return out;
}

// A bit-at-a-time CRC32C, the textbook definition, to check the fast one.
uint32_t ReferenceCrc32c(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
  }
  return ~crc;
}

TEST(JournalFormatTest, OpCodeValuesArePinned) {
  // Append-only: changing any of these makes old journals unreadable.
  EXPECT_EQ(static_cast<int>(JournalOp::kCommand), 1);
  EXPECT_EQ(static_cast<int>(JournalOp::kBaseline), 2);
  EXPECT_EQ(static_cast<int>(JournalOp::kReplayed), 3);
  EXPECT_EQ(static_cast<int>(JournalOp::kOutageBegin), 4);
  EXPECT_EQ(kJournalVersion, 1);
  EXPECT_EQ(kJournalMagic, "USJOURNL");
}

TEST(JournalFormatTest, EncodedBytesOfEachOpArePinned) {
  EXPECT_EQ(Encoded(PinnedCommand()), kPinnedCommandBytes);
  EXPECT_EQ(Encoded(PinnedBaseline()), kPinnedBaselineBytes);
  EXPECT_EQ(Encoded(PinnedReplayed()), kPinnedReplayedBytes);
  JournalRecord outage_begin;
  outage_begin.op = JournalOp::kOutageBegin;
  outage_begin.seq = 10;
  outage_begin.time_ms = 1700000000003;
  EXPECT_EQ(Encoded(outage_begin), kPinnedOutageBeginBytes);
  std::string header;
  EncodeJournalHeader(42, &header);
  EXPECT_EQ(header, kPinnedHeaderBytes);
  EXPECT_EQ(header.size(), kJournalHeaderSize);
}

TEST(JournalFormatTest, PinnedBytesDecodeToTheirRecords) {
  const std::pair<std::string, JournalRecord> cases[] = {
      {kPinnedCommandBytes, PinnedCommand()},
      {kPinnedBaselineBytes, PinnedBaseline()},
      {kPinnedReplayedBytes, PinnedReplayed()},
  };
  for (const auto& [bytes, expected] : cases) {
    JournalRecord decoded;
    size_t consumed = 0;
    ASSERT_EQ(DecodeJournalRecord(bytes, &decoded, &consumed), JournalDecodeStatus::kOk);
    EXPECT_EQ(consumed, bytes.size());
    EXPECT_EQ(decoded, expected);
  }
  uint64_t base_seq = 0;
  std::string error;
  ASSERT_TRUE(DecodeJournalHeader(kPinnedHeaderBytes, &base_seq, &error)) << error;
  EXPECT_EQ(base_seq, 42u);
}

TEST(JournalFormatTest, Crc32cMatchesKnownVectorsAndTheBitwiseDefinition) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32cPortable("123456789"), 0xE3069283u);
  std::mt19937_64 rng(1);
  for (int len = 0; len < 200; ++len) {
    std::string data(static_cast<size_t>(len), '\0');
    for (char& c : data) c = static_cast<char>(rng());
    ASSERT_EQ(Crc32c(data), ReferenceCrc32c(data)) << "length " << len;
    ASSERT_EQ(Crc32cPortable(data), ReferenceCrc32c(data)) << "length " << len;
    // Continuation over a split gives the CRC of the whole.
    size_t cut = len == 0 ? 0 : rng() % data.size();
    EXPECT_EQ(Crc32c(std::string_view(data).substr(cut), Crc32c(data.substr(0, cut))),
              Crc32c(data));
  }
}

TEST(JournalFormatTest, EveryOpRoundTripsWithAwkwardContents) {
  JournalRecord command = Command(1ull << 60, {"SET", std::string("k\0ey", 4), "", "\xff\x00"});
  command.time_ms = -5;
  command.db = UINT32_MAX;
  JournalRecord empty_args = Command(3, {});
  JournalRecord baseline = PinnedBaseline();
  baseline.state = std::string(100000, 'x');
  JournalRecord replayed = Checkpoint(UINT64_MAX, UINT64_MAX - 1);
  std::string stream;
  for (const JournalRecord* r : {&command, &empty_args, &baseline, &replayed}) {
    ASSERT_TRUE(EncodeJournalRecord(*r, &stream));
  }
  std::string_view rest = stream;
  JournalRecord decoded;
  for (const JournalRecord* r : {&command, &empty_args, &baseline, &replayed}) {
    size_t consumed = 0;
    ASSERT_EQ(DecodeJournalRecord(rest, &decoded, &consumed), JournalDecodeStatus::kOk);
    EXPECT_EQ(decoded, *r);
    rest.remove_prefix(consumed);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(JournalFormatTest, EveryProperPrefixIsIncompleteAndEveryFlippedByteIsCaught) {
  const std::string bytes = kPinnedCommandBytes;
  JournalRecord decoded;
  size_t consumed = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_EQ(DecodeJournalRecord(std::string_view(bytes).substr(0, len), &decoded, &consumed),
              JournalDecodeStatus::kIncomplete)
        << "prefix " << len;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      EXPECT_NE(DecodeJournalRecord(damaged, &decoded, &consumed), JournalDecodeStatus::kOk)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(JournalFormatTest, OversizedLengthIsCorruptWithoutAllocating) {
  std::string bytes = kPinnedReplayedBytes;
  StoreU32At(&bytes, 0, kJournalMaxPayload + 1);
  JournalRecord decoded;
  size_t consumed = 0;
  EXPECT_EQ(DecodeJournalRecord(bytes, &decoded, &consumed), JournalDecodeStatus::kCorrupt);
  StoreU32At(&bytes, 0, UINT32_MAX);
  EXPECT_EQ(DecodeJournalRecord(bytes, &decoded, &consumed), JournalDecodeStatus::kCorrupt);
}

// Frames `body` (opcode + payload) with a correct length and checksum, so
// the payload parser itself sees the bytes.
std::string FrameWithGoodChecksum(std::string_view body) {
  std::string out;
  PutU32(&out, static_cast<uint32_t>(body.size() - 1));
  PutU32(&out, Crc32c(body));
  out.append(body);
  return out;
}

TEST(JournalFormatTest, UnknownOpWithGoodChecksumIsReportedAsSuch) {
  JournalRecord decoded;
  size_t consumed = 0;
  for (int op : {0, 5, 99, 255}) {
    std::string body(1, static_cast<char>(op));
    body += std::string(16, '\0');
    EXPECT_EQ(DecodeJournalRecord(FrameWithGoodChecksum(body), &decoded, &consumed),
              JournalDecodeStatus::kUnknownOp);
  }
}

TEST(JournalFormatTest, RandomInputsNeverCrashTheDecoder) {
  std::mt19937_64 rng(20261122);
  JournalRecord decoded;
  int ok = 0;
  for (int iteration = 0; iteration < 6000; ++iteration) {
    std::string bytes(rng() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    switch (iteration % 3) {
      case 0:  // raw garbage: almost always a bad checksum or length
        break;
      case 1: {  // garbage behind a correct frame: exercises the payload parser
        std::string body(1, static_cast<char>(1 + rng() % 3));
        // Small length prefixes so strings and counts sometimes fit.
        for (size_t i = 0; i < bytes.size(); ++i) {
          body.push_back(rng() % 4 == 0 ? static_cast<char>(rng() % 8) : bytes[i]);
        }
        bytes = FrameWithGoodChecksum(body);
        break;
      }
      case 2: {  // a valid record with a few bytes changed and the checksum redone
        std::string body = Encoded(Command(rng(), {"HSET", "h", "f", "v"})).substr(8);
        for (int n = 0; n < 3; ++n) body[rng() % body.size()] = static_cast<char>(rng());
        bytes = FrameWithGoodChecksum(body);
        break;
      }
    }
    size_t consumed = 0;
    std::string why;
    JournalDecodeStatus status = DecodeJournalRecord(bytes, &decoded, &consumed, &why);
    if (status == JournalDecodeStatus::kOk) {
      ++ok;
      ASSERT_LE(consumed, bytes.size());
      // Whatever decoded must encode back to the same bytes.
      EXPECT_EQ(Encoded(decoded), bytes.substr(0, consumed));
    } else {
      EXPECT_FALSE(why.empty());
    }
  }
  // Some mutated records still parse; the loop must have exercised both paths.
  EXPECT_GT(ok, 0);
}

// A fresh directory under /tmp/journal, removed after each test.
class JournalFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path("/tmp/journal/test-" + std::to_string(::getpid())) / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "journal.bin").string();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_.parent_path(), ignored);
  }

  std::string FileBytes(const std::string& path) const {
    std::string bytes;
    std::string error;
    EXPECT_TRUE(ReadWholeFile(path, &bytes, &error)) << error;
    return bytes;
  }
  void WriteFileBytes(const std::string& path, std::string_view bytes) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // Opens `path_` expecting success.
  void OpenWriter(JournalWriter& writer, JournalOpenResult* result,
                  FsyncPolicy policy = FsyncPolicy::kNo, uint64_t max_bytes = 0) {
    std::string error;
    ASSERT_TRUE(writer.Open(path_, policy, max_bytes, result, &error)) << error;
  }

  // Writes `records` to a new journal and closes it.
  void WriteJournal(const std::vector<JournalRecord>& records) {
    JournalWriter writer;
    JournalOpenResult opened;
    OpenWriter(writer, &opened);
    for (const JournalRecord& r : records) {
      ASSERT_EQ(writer.Append(r), JournalWriter::AppendStatus::kOk);
    }
    std::string error;
    ASSERT_TRUE(writer.Close(&error)) << error;
  }

  std::vector<JournalRecord> ReadAll(JournalReadResult* result) {
    std::vector<JournalRecord> records;
    std::string error;
    EXPECT_TRUE(ReadJournal(
        path_,
        [&records](const JournalRecord& r) {
          records.push_back(r);
          return true;
        },
        result, &error))
        << error;
    return records;
  }

  std::vector<JournalRecord> SampleRecords(uint64_t first_seq, int count) {
    std::vector<JournalRecord> records;
    for (int i = 0; i < count; ++i) {
      uint64_t seq = first_seq + static_cast<uint64_t>(i);
      records.push_back(Command(seq, {"SADD", "bl", "token-" + std::to_string(seq)}));
    }
    return records;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(JournalFileTest, NewJournalIsJustAHeaderAndRecordsReadBackInOrder) {
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened);
  EXPECT_TRUE(opened.created);
  EXPECT_EQ(FileBytes(path_).size(), kJournalHeaderSize);
  EXPECT_EQ(writer.bytes(), kJournalHeaderSize);
  std::vector<JournalRecord> records = SampleRecords(1, 3);
  records.push_back(PinnedBaseline());
  records.back().seq = 4;
  for (const JournalRecord& r : records) {
    ASSERT_EQ(writer.Append(r), JournalWriter::AppendStatus::kOk);
  }
  // Buffered until Flush().
  EXPECT_EQ(FileBytes(path_).size(), kJournalHeaderSize);
  std::string error;
  ASSERT_TRUE(writer.Flush(&error)) << error;
  EXPECT_EQ(FileBytes(path_).size(), writer.bytes());
  EXPECT_EQ(writer.last_seq(), 4u);
  EXPECT_EQ(writer.pending_records(), 4u);
  ASSERT_TRUE(writer.Close(&error)) << error;

  JournalReadResult result;
  EXPECT_EQ(ReadAll(&result), records);
  EXPECT_EQ(result.end, JournalReadResult::End::kClean);
  EXPECT_EQ(result.records, 4u);
  EXPECT_EQ(result.last_seq, 4u);
  EXPECT_EQ(result.valid_bytes, result.file_bytes);
}

TEST_F(JournalFileTest, TornTailAtEveryByteOfTheLastRecordIsCutAndReported) {
  const std::vector<JournalRecord> records = SampleRecords(1, 4);
  WriteJournal(records);
  const std::string full = FileBytes(path_);
  const size_t last_size = Encoded(records.back()).size();
  const size_t last_start = full.size() - last_size;
  for (size_t length = last_start + 1; length < full.size(); ++length) {
    WriteFileBytes(path_, std::string_view(full).substr(0, length));
    JournalReadResult read;
    ASSERT_EQ(ReadAll(&read).size(), 3u) << "length " << length;
    EXPECT_EQ(read.end, JournalReadResult::End::kTorn);
    EXPECT_EQ(read.valid_bytes, last_start);

    JournalWriter writer;
    JournalOpenResult opened;
    OpenWriter(writer, &opened);
    EXPECT_TRUE(opened.tail_cut);
    EXPECT_TRUE(opened.tail_was_torn);
    EXPECT_EQ(opened.cut_offset, last_start);
    EXPECT_EQ(opened.bytes_dropped, length - last_start);
    EXPECT_EQ(opened.records_kept, 3u);
    EXPECT_EQ(opened.last_seq, 3u);
    EXPECT_NE(opened.cut_detail.find("offset " + std::to_string(last_start)), std::string::npos)
        << opened.cut_detail;
    EXPECT_EQ(FileBytes(path_), full.substr(0, last_start));
    // New records follow the last good one.
    ASSERT_EQ(writer.Append(Command(4, {"DEL", "k"})), JournalWriter::AppendStatus::kOk);
    std::string error;
    ASSERT_TRUE(writer.Close(&error)) << error;
    std::vector<JournalRecord> after = ReadAll(&read);
    ASSERT_EQ(after.size(), 4u);
    EXPECT_EQ(after[3].args, (std::vector<std::string>{"DEL", "k"}));
    EXPECT_EQ(read.end, JournalReadResult::End::kClean);
  }
}

TEST_F(JournalFileTest, CorruptByteInTheMiddleStopsThereAndTheRestIsCut) {
  const std::vector<JournalRecord> records = SampleRecords(1, 5);
  WriteJournal(records);
  std::string bytes = FileBytes(path_);
  const size_t record_size = Encoded(records[0]).size();  // all the same size
  const size_t third_start = kJournalHeaderSize + 2 * record_size;
  bytes[third_start + 20] ^= 0x40;
  WriteFileBytes(path_, bytes);

  JournalReadResult read;
  std::vector<JournalRecord> good = ReadAll(&read);
  ASSERT_EQ(good.size(), 2u);
  EXPECT_EQ(good[1], records[1]);
  EXPECT_EQ(read.end, JournalReadResult::End::kCorrupt);
  EXPECT_EQ(read.valid_bytes, third_start);
  EXPECT_NE(read.end_detail.find("checksum"), std::string::npos) << read.end_detail;

  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened);
  EXPECT_TRUE(opened.tail_cut);
  EXPECT_FALSE(opened.tail_was_torn);
  EXPECT_EQ(opened.cut_offset, third_start);
  EXPECT_EQ(opened.bytes_dropped, bytes.size() - third_start);
  EXPECT_EQ(FileBytes(path_).size(), third_start);
  EXPECT_EQ(writer.last_seq(), 2u);
}

TEST_F(JournalFileTest, RecordFromANewerVersionIsRefusedNotCut) {
  WriteJournal(SampleRecords(1, 2));
  std::string bytes = FileBytes(path_);
  bytes += FrameWithGoodChecksum(std::string("\x63payload", 8));
  WriteFileBytes(path_, bytes);
  JournalWriter writer;
  JournalOpenResult opened;
  std::string error;
  EXPECT_FALSE(writer.Open(path_, FsyncPolicy::kNo, 0, &opened, &error));
  EXPECT_NE(error.find("unknown opcode 99"), std::string::npos) << error;
  EXPECT_EQ(FileBytes(path_), bytes);
}

TEST_F(JournalFileTest, FileThatIsNotAJournalIsRefusedAndLeftAlone) {
  const std::string not_ours = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n and more bytes";
  WriteFileBytes(path_, not_ours);
  JournalWriter writer;
  JournalOpenResult opened;
  std::string error;
  EXPECT_FALSE(writer.Open(path_, FsyncPolicy::kNo, 0, &opened, &error));
  EXPECT_NE(error.find("bad magic"), std::string::npos) << error;
  EXPECT_EQ(FileBytes(path_), not_ours);

  std::string header;
  EncodeJournalHeader(0, &header);
  StoreU32At(&header, 8, 2);  // version 2, checksum no longer matches
  WriteFileBytes(path_, header);
  EXPECT_FALSE(writer.Open(path_, FsyncPolicy::kNo, 0, &opened, &error));
  EXPECT_NE(error.find("checksum"), std::string::npos) << error;
}

TEST_F(JournalFileTest, SecondWriterOnTheSameFileIsRefused) {
  JournalWriter first;
  JournalOpenResult opened;
  OpenWriter(first, &opened);
  JournalWriter second;
  std::string error;
  EXPECT_FALSE(second.Open(path_, FsyncPolicy::kNo, 0, &opened, &error));
  EXPECT_NE(error.find("in use"), std::string::npos) << error;
  // Still locked after Truncate() replaced the file.
  ASSERT_TRUE(first.Truncate(&error)) << error;
  EXPECT_FALSE(second.Open(path_, FsyncPolicy::kNo, 0, &opened, &error));
  ASSERT_TRUE(first.Close(&error)) << error;
  EXPECT_TRUE(second.Open(path_, FsyncPolicy::kNo, 0, &opened, &error)) << error;
}

TEST(JournalFormatTest, FsyncPolicyNamesParseBothWays) {
  for (FsyncPolicy p : {FsyncPolicy::kAlways, FsyncPolicy::kEverySec, FsyncPolicy::kNo}) {
    FsyncPolicy parsed = FsyncPolicy::kAlways;
    ASSERT_TRUE(ParseFsyncPolicy(FsyncPolicyName(p), &parsed));
    EXPECT_EQ(parsed, p);
  }
  FsyncPolicy parsed = FsyncPolicy::kNo;
  EXPECT_TRUE(ParseFsyncPolicy("EverySec", &parsed));
  EXPECT_EQ(parsed, FsyncPolicy::kEverySec);
  EXPECT_FALSE(ParseFsyncPolicy("sometimes", &parsed));
  EXPECT_FALSE(ParseFsyncPolicy("", &parsed));
  EXPECT_FALSE(ParseFsyncPolicy("alwayss", &parsed));
}

TEST_F(JournalFileTest, MaxBytesRefusesWithFullAndWritesNothing) {
  const std::vector<JournalRecord> records = SampleRecords(1, 3);
  const uint64_t limit = kJournalHeaderSize + Encoded(records[0]).size() * 2;
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened, FsyncPolicy::kNo, limit);
  ASSERT_EQ(writer.Append(records[0]), JournalWriter::AppendStatus::kOk);
  std::string error;
  ASSERT_TRUE(writer.Flush(&error)) << error;
  ASSERT_EQ(writer.Append(records[1]), JournalWriter::AppendStatus::kOk);
  EXPECT_EQ(writer.bytes(), limit);
  // Counts buffered bytes too, and leaves no trace.
  EXPECT_EQ(writer.Append(records[2]), JournalWriter::AppendStatus::kFull);
  EXPECT_EQ(writer.bytes(), limit);
  EXPECT_EQ(writer.last_seq(), 2u);
  EXPECT_EQ(writer.pending_records(), 2u);
  ASSERT_TRUE(writer.Close(&error)) << error;
  JournalReadResult read;
  EXPECT_EQ(ReadAll(&read).size(), 2u);
  EXPECT_EQ(read.file_bytes, limit);

  // Reopened, the same limit still holds.
  JournalWriter again;
  OpenWriter(again, &opened, FsyncPolicy::kNo, limit);
  EXPECT_EQ(again.Append(records[2]), JournalWriter::AppendStatus::kFull);
}

TEST_F(JournalFileTest, SequenceMustIncrease) {
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened);
  ASSERT_EQ(writer.Append(Command(5, {"DEL", "a"})), JournalWriter::AppendStatus::kOk);
  EXPECT_EQ(writer.Append(Command(5, {"DEL", "b"})), JournalWriter::AppendStatus::kOutOfOrder);
  EXPECT_EQ(writer.Append(Command(4, {"DEL", "c"})), JournalWriter::AppendStatus::kOutOfOrder);
  EXPECT_EQ(writer.Append(Command(6, {"DEL", "d"})), JournalWriter::AppendStatus::kOk);
  JournalWriter closed;
  EXPECT_EQ(closed.Append(Command(1, {"DEL", "e"})), JournalWriter::AppendStatus::kNotOpen);
}

TEST_F(JournalFileTest, ReopenKeepsRecordsAndContinuesTheSequence) {
  WriteJournal(SampleRecords(1, 3));
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened);
  EXPECT_FALSE(opened.created);
  EXPECT_FALSE(opened.tail_cut);
  EXPECT_EQ(opened.records_kept, 3u);
  EXPECT_EQ(writer.last_seq(), 3u);
  EXPECT_EQ(writer.pending_records(), 3u);
  EXPECT_EQ(writer.Append(Command(3, {"DEL", "x"})), JournalWriter::AppendStatus::kOutOfOrder);
  for (const JournalRecord& r : SampleRecords(writer.last_seq() + 1, 2)) {
    ASSERT_EQ(writer.Append(r), JournalWriter::AppendStatus::kOk);
  }
  std::string error;
  ASSERT_TRUE(writer.Close(&error)) << error;
  JournalReadResult read;
  std::vector<JournalRecord> all = ReadAll(&read);
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].seq, i + 1);
}

TEST_F(JournalFileTest, CheckpointsCountPendingRecordsAcrossReopen) {
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened);
  for (const JournalRecord& r : SampleRecords(1, 5)) writer.Append(r);
  EXPECT_EQ(writer.pending_records(), 5u);
  // Replayed 1..3; meanwhile record 6 arrived (after the batch, not in it).
  ASSERT_EQ(writer.Append(Command(6, {"INCR", "c"})), JournalWriter::AppendStatus::kOk);
  ASSERT_EQ(writer.Append(Checkpoint(7, 3)), JournalWriter::AppendStatus::kOk);
  EXPECT_EQ(writer.applied_up_to(), 3u);
  EXPECT_EQ(writer.pending_records(), 3u);  // 4, 5, 6
  std::string error;
  ASSERT_TRUE(writer.Close(&error)) << error;

  JournalWriter again;
  OpenWriter(again, &opened);
  EXPECT_EQ(opened.applied_up_to, 3u);
  EXPECT_EQ(again.applied_up_to(), 3u);
  EXPECT_EQ(again.pending_records(), 3u);
  EXPECT_EQ(again.last_seq(), 7u);
}

TEST_F(JournalFileTest, TruncateEmptiesToAHeaderThatKeepsTheSequence) {
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened, FsyncPolicy::kEverySec);
  for (const JournalRecord& r : SampleRecords(1, 10)) writer.Append(r);
  std::string error;
  ASSERT_TRUE(writer.Flush(&error)) << error;
  ASSERT_EQ(writer.Append(Command(11, {"DEL", "unflushed"})), JournalWriter::AppendStatus::kOk);
  ASSERT_TRUE(writer.Truncate(&error)) << error;
  EXPECT_EQ(FileBytes(path_).size(), kJournalHeaderSize);
  EXPECT_EQ(writer.bytes(), kJournalHeaderSize);
  EXPECT_EQ(writer.pending_records(), 0u);
  EXPECT_EQ(writer.last_seq(), 11u);
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  // Appends go to the new file.
  ASSERT_EQ(writer.Append(Command(12, {"DEL", "after"})), JournalWriter::AppendStatus::kOk);
  ASSERT_TRUE(writer.Close(&error)) << error;

  JournalReadResult read;
  std::vector<JournalRecord> all = ReadAll(&read);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].seq, 12u);
  EXPECT_EQ(read.base_seq, 11u);

  // Truncated and reopened: the sequence still continues from the base.
  JournalWriter again;
  OpenWriter(again, &opened);
  ASSERT_TRUE(again.Truncate(&error)) << error;
  ASSERT_TRUE(again.Close(&error)) << error;
  JournalWriter third;
  OpenWriter(third, &opened);
  EXPECT_EQ(third.last_seq(), 12u);
  EXPECT_EQ(third.applied_up_to(), 12u);
  EXPECT_EQ(third.pending_records(), 0u);
  EXPECT_EQ(third.Append(Command(12, {"DEL", "x"})), JournalWriter::AppendStatus::kOutOfOrder);
  EXPECT_EQ(third.Append(Command(13, {"DEL", "x"})), JournalWriter::AppendStatus::kOk);
}

TEST_F(JournalFileTest, FsyncAlwaysHasTheDataInTheFileWhenFlushReturns) {
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened, FsyncPolicy::kAlways);
  std::string error;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ASSERT_EQ(writer.Append(Command(seq, {"INCR", "n"})), JournalWriter::AppendStatus::kOk);
    ASSERT_TRUE(writer.Flush(&error)) << error;
    // Read through a separate descriptor while the writer stays open.
    JournalReadResult read;
    EXPECT_EQ(ReadAll(&read).size(), seq);
    EXPECT_EQ(read.end, JournalReadResult::End::kClean);
  }
  ASSERT_TRUE(writer.Close(&error)) << error;
}

TEST_F(JournalFileTest, EverySecThreadSyncsAndStopsPromptly) {
  std::string error;
  for (int round = 0; round < 3; ++round) {
    JournalWriter writer;
    JournalOpenResult opened;
    OpenWriter(writer, &opened, FsyncPolicy::kEverySec);
    ASSERT_EQ(writer.Append(Command(writer.last_seq() + 1, {"SADD", "s", "m"})),
              JournalWriter::AppendStatus::kOk);
    ASSERT_TRUE(writer.Flush(&error)) << error;
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(writer.Close(&error)) << error;
    // Close wakes the thread instead of waiting out its second.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  }
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened, FsyncPolicy::kEverySec);
  ASSERT_EQ(writer.Append(Command(writer.last_seq() + 1, {"SADD", "s", "m"})),
            JournalWriter::AppendStatus::kOk);
  ASSERT_TRUE(writer.Flush(&error)) << error;
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  EXPECT_EQ(writer.background_fsync_errno(), 0);
  JournalReadResult read;
  EXPECT_EQ(ReadAll(&read).size(), 4u);
  // The destructor closes (and joins the thread) on its own.
}

TEST_F(JournalFileTest, NoFsyncPolicyStillWritesOnFlush) {
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened, FsyncPolicy::kNo);
  ASSERT_EQ(writer.Append(Command(1, {"SET", "k", "v"})), JournalWriter::AppendStatus::kOk);
  std::string error;
  ASSERT_TRUE(writer.Flush(&error)) << error;
  JournalReadResult read;
  EXPECT_EQ(ReadAll(&read).size(), 1u);
}

TEST_F(JournalFileTest, LargeJournalReadsBackThroughTheChunkedReader) {
  // Enough records that the reader refills its 1 MiB buffer many times,
  // with records straddling every refill.
  JournalWriter writer;
  JournalOpenResult opened;
  OpenWriter(writer, &opened);
  std::mt19937_64 rng(7);
  std::vector<size_t> sizes;
  std::string error;
  for (uint64_t seq = 1; seq <= 20000; ++seq) {
    size_t size = rng() % 700;
    sizes.push_back(size);
    ASSERT_EQ(
        writer.Append(Command(seq, {"SET", "k" + std::to_string(seq), std::string(size, 'v')})),
        JournalWriter::AppendStatus::kOk);
    if (seq % 1000 == 0) {
      ASSERT_TRUE(writer.Flush(&error)) << error;
    }
  }
  ASSERT_TRUE(writer.Close(&error)) << error;
  uint64_t expected_seq = 1;
  JournalReadResult read;
  ASSERT_TRUE(ReadJournal(
      path_,
      [&](const JournalRecord& r) {
        EXPECT_EQ(r.seq, expected_seq);
        EXPECT_EQ(r.args[2].size(), sizes[expected_seq - 1]);
        ++expected_seq;
        return true;
      },
      &read, &error))
      << error;
  EXPECT_EQ(read.records, 20000u);
  EXPECT_EQ(read.end, JournalReadResult::End::kClean);
}

}  // namespace
}  // namespace understudy::storage

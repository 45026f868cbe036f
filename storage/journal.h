#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// The outage journal: an append-only file of checksummed records holding
// every write accepted locally while the primary is not healthy, replayed
// onto the primary by the reconciler.
//
// File layout (all integers little-endian):
//
//   header (24 bytes):  magic "USJOURNL" | u16 version | u16 reserved (0)
//                       | u64 base_seq | u32 CRC32C of the 20 bytes before
//   then records:       u32 payload length | u32 CRC32C of opcode+payload
//                       | u8 opcode | payload
//
// base_seq is the sequence number the journal had reached when it was last
// truncated, so sequence numbers keep increasing across truncations and
// restarts (the primary remembers the highest one replayed; a journal that
// started again from 1 would have its new records skipped as already done).
//
// Payloads, by opcode (string = u32 length | bytes):
//   kCommand  (1): u64 seq | i64 time_ms | u32 db | string class
//                  | u32 argc | argc x string
//   kBaseline (2): u64 seq | i64 time_ms | u32 db | string class
//                  | string key | string state
//   kReplayed (3): u64 seq | i64 time_ms | u64 applied_up_to
namespace understudy::storage {

// Operation codes. Append-only: a code is never renumbered or reused, since
// journals written by older versions must stay readable. journal_test pins
// every value.
enum class JournalOp : uint8_t {
  // A write effect applied to the local store, as a command to replay
  // (e.g. {"SADD","bl","tok"}, {"PEXPIREAT","k","123"}, {"DEL","k"}).
  kCommand = 1,
  // What the mirror knew of a key when the outage began (the lww merge
  // compares it with the primary's state); `state` is opaque here.
  kBaseline = 2,
  // Checkpoint: every record with seq <= applied_up_to is on the primary.
  kReplayed = 3,
  // An outage began (the snapshot written then covers the records before
  // it). A journal holding any record is an outage not yet reconciled, even
  // when no write came yet: a restart must restore the store, not start
  // empty.
  kOutageBegin = 4,
};

inline constexpr std::string_view kJournalMagic = "USJOURNL";
inline constexpr uint16_t kJournalVersion = 1;
inline constexpr size_t kJournalHeaderSize = 24;
// u32 length + u32 checksum + u8 opcode.
inline constexpr size_t kJournalRecordOverhead = 9;
// Largest payload written or accepted: bigger lengths in a file are
// corruption, and refusing them bounds what a reader allocates.
inline constexpr uint32_t kJournalMaxPayload = 512u << 20;

// One journal record. Which fields are meaningful depends on `op` (see the
// payload table above); the others stay empty and are not written.
struct JournalRecord {
  JournalOp op = JournalOp::kCommand;
  uint64_t seq = 0;
  int64_t time_ms = 0;
  uint32_t db = 0;                // kCommand, kBaseline
  std::string class_name;         // kCommand, kBaseline
  std::vector<std::string> args;  // kCommand: the command's argv
  std::string key;                // kBaseline
  std::string state;              // kBaseline: defined by the reconciler
  uint64_t applied_up_to = 0;     // kReplayed

  bool operator==(const JournalRecord&) const = default;
};

// Appends the framed record (length, checksum, opcode, payload) to *out.
// Returns false, leaving *out unchanged, when the payload would exceed
// kJournalMaxPayload or a string would exceed 4 GiB.
bool EncodeJournalRecord(const JournalRecord& record, std::string* out);

enum class JournalDecodeStatus : uint8_t {
  kOk,
  kIncomplete,  // `in` ends before the record does (a torn tail at end of file)
  kCorrupt,     // bad length, checksum mismatch or malformed payload
  kUnknownOp,   // checksum good but an opcode this version does not know
};

// Decodes the record framed at the start of `in` into *record and sets
// *consumed to its size. Safe for any input: never reads outside `in`,
// and allocates at most about in.size() bytes. *why (optional) gets a
// description when the status is not kOk.
JournalDecodeStatus DecodeJournalRecord(std::string_view in, JournalRecord* record,
                                        size_t* consumed, std::string* why = nullptr);

// Appends a journal file header to *out.
void EncodeJournalHeader(uint64_t base_seq, std::string* out);
// Checks a header (magic, checksum, version not newer than ours) and reads
// its base_seq. False with a description otherwise.
bool DecodeJournalHeader(std::string_view in, uint64_t* base_seq, std::string* error);

// How a read of a journal ended, and what it found.
struct JournalReadResult {
  enum class End : uint8_t {
    kClean,      // every byte of the file is a good record
    kTorn,       // the last record is incomplete (crash during a write)
    kCorrupt,    // a record fails its checksum or does not parse
    kUnknownOp,  // a record from a newer version: stop, do not cut
  };
  End end = End::kClean;
  std::string end_detail;      // why the read stopped early, for the log
  uint64_t base_seq = 0;       // from the header
  uint64_t records = 0;        // good records read
  uint64_t valid_bytes = 0;    // offset just past the last good record
  uint64_t file_bytes = 0;     // size of the file when it was opened
  uint64_t last_seq = 0;       // max(base_seq, highest record seq)
  uint64_t applied_up_to = 0;  // max(base_seq, latest kReplayed checkpoint)
};

// Reads a journal file record by record with bounded memory (a buffer of
// about one record or 1 MiB). Stops at the first torn, corrupt or unknown
// record; result() says where and why.
class JournalReader {
 public:
  JournalReader() = default;
  ~JournalReader();
  JournalReader(const JournalReader&) = delete;
  JournalReader& operator=(const JournalReader&) = delete;

  // Opens `path` and checks its header. False with an error when the file
  // cannot be read or is not a journal this version can read.
  bool Open(const std::string& path, std::string* error);
  // The next good record, or false at the end (clean or not: see result())
  // or on a read error (then *error is set).
  bool Next(JournalRecord* record, std::string* error);
  const JournalReadResult& result() const { return result_; }

 private:
  // Makes at least `needed` bytes available at buffer_[pos_], reading more
  // of the file. Precondition: the file holds them (checked against size).
  bool Fill(size_t needed, std::string* error);
  void Stop(JournalReadResult::End end, std::string detail);

  int fd_ = -1;
  std::string path_;
  std::string buffer_;
  size_t pos_ = 0;       // next unread byte of buffer_
  uint64_t offset_ = 0;  // file offset of buffer_[pos_]
  bool done_ = false;
  JournalReadResult result_;
};

// Reads every good record of `path` in order, calling `visit` for each
// (visit returns false to stop early). True when the file was read to the
// end or to its first bad record (see *result); false with *error when it
// cannot be opened or read or its header is not valid.
bool ReadJournal(const std::string& path, const std::function<bool(const JournalRecord&)>& visit,
                 JournalReadResult* result, std::string* error);

// When written records reach the disk, as Redis's appendfsync.
enum class FsyncPolicy : uint8_t {
  kAlways,    // Flush() returns after fdatasync
  kEverySec,  // a background thread fdatasyncs once a second if needed
  kNo,        // the OS decides
};

// The journal-fsync directive's names: "always", "everysec", "no".
std::string_view FsyncPolicyName(FsyncPolicy policy);
// Parses one of those names (case-insensitive); false for anything else.
bool ParseFsyncPolicy(std::string_view name, FsyncPolicy* policy);

// What JournalWriter::Open found in an existing file.
struct JournalOpenResult {
  bool created = false;        // no file existed: a new one was made
  uint64_t records_kept = 0;   // good records already in the file
  uint64_t last_seq = 0;       // see JournalReadResult
  uint64_t applied_up_to = 0;  // see JournalReadResult
  bool tail_cut = false;       // a torn or corrupt tail was removed
  bool tail_was_torn = false;  // torn (crash) rather than corrupt (bad bytes)
  uint64_t cut_offset = 0;     // where the file now ends
  uint64_t bytes_dropped = 0;  // how much was removed
  std::string cut_detail;      // the reader's description of the bad record
};

// Appends records to the journal. Owned and used by one thread (the event
// loop); under kEverySec it runs one background thread of its own that
// only fsyncs. Records are buffered by Append() and written by Flush(), so
// the caller writes once per loop turn (or before replying, under kAlways).
class JournalWriter {
 public:
  enum class AppendStatus : uint8_t {
    kOk,
    kFull,        // the file would exceed max_bytes; nothing was written
    kTooLarge,    // the record exceeds kJournalMaxPayload; nothing was written
    kOutOfOrder,  // record.seq <= last_seq(); nothing was written
    kNotOpen,
  };

  JournalWriter() = default;
  // Calls Close(); its errors are lost then, so call Close() explicitly.
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Opens `path` for appending, creating it (header only) when absent. An
  // existing file is read through: a torn or corrupt tail is cut off with
  // ftruncate and reported in *result (the caller logs it). Refuses (false
  // with *error) a file that is not a journal, is of a newer version, or
  // holds a record with an unknown opcode (cutting it would lose data a
  // newer version wrote), and a file another JournalWriter (in this or
  // another process) holds open: the writer takes an exclusive flock.
  // max_bytes 0 means no limit.
  bool Open(const std::string& path, FsyncPolicy policy, uint64_t max_bytes,
            JournalOpenResult* result, std::string* error);

  // Buffers `record` for the next Flush(). Precondition for kOk: record.seq
  // > last_seq(). A kReplayed record also advances applied_up_to().
  AppendStatus Append(const JournalRecord& record);

  // Writes the buffered records with one write(2), then under kAlways
  // fdatasyncs. On failure the partial write is cut off again and the
  // records stay buffered, so a later Flush() can retry.
  bool Flush(std::string* error);

  // Empties the journal to a header (after a completed reconciliation):
  // drops every record, flushed or buffered, keeps last_seq() as the new
  // base_seq. Replaces the file atomically (rename), so a crash leaves
  // either the old journal or the empty one.
  bool Truncate(std::string* error);

  // Flushes, fdatasyncs, stops the background thread and closes the file.
  // True when everything reached the disk. Idempotent.
  bool Close(std::string* error);

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  FsyncPolicy policy() const { return policy_; }
  uint64_t max_bytes() const { return max_bytes_; }
  // Size of the journal including buffered records (for INFO).
  uint64_t bytes() const { return disk_bytes_ + buffer_.size(); }
  uint64_t buffered_bytes() const { return buffer_.size(); }
  // Highest seq appended (or read back, or the base after a truncation).
  uint64_t last_seq() const { return last_seq_; }
  // Highest seq known to be on the primary (kReplayed, or truncation).
  uint64_t applied_up_to() const { return applied_up_to_; }
  // kCommand and kBaseline records with seq > applied_up_to().
  uint64_t pending_records() const { return pending_seqs_.size(); }
  // errno of the last failed background fdatasync (kEverySec), 0 if none.
  // Cleared by the next successful one.
  int background_fsync_errno() const { return background_fsync_errno_.load(); }

 private:
  void NoteAppended(const JournalRecord& record);
  void StartSyncThread();
  void StopSyncThread();
  void SyncLoop();

  std::string path_;
  FsyncPolicy policy_ = FsyncPolicy::kEverySec;
  uint64_t max_bytes_ = 0;
  int fd_ = -1;
  uint64_t disk_bytes_ = 0;  // bytes in the file (header included)
  std::string buffer_;       // encoded records not yet written
  uint64_t last_seq_ = 0;
  uint64_t applied_up_to_ = 0;
  // Seqs of the records not yet covered by a checkpoint, ascending.
  std::deque<uint64_t> pending_seqs_;

  // Background fsync (kEverySec). The mutex guards fd_ against Truncate()
  // swapping it while the thread syncs, and stop_.
  std::thread sync_thread_;
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  bool stop_ = false;
  std::atomic<bool> dirty_{false};  // written since the last fdatasync
  std::atomic<int> background_fsync_errno_{0};
};

}  // namespace understudy::storage

#include "storage/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "storage/disk_io.h"

namespace understudy::storage {
namespace {

// Bytes of the header covered by its checksum.
constexpr size_t kHeaderChecksummed = kJournalHeaderSize - 4;
// Read-ahead of JournalReader: large enough to amortise read(2) over many
// small records.
constexpr size_t kReadChunk = 1 << 20;
// A buffer that grew past this for one big flush is given back afterwards.
constexpr size_t kMaxIdleBufferCapacity = 1 << 20;

uint32_t LoadU32(std::string_view bytes, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[pos + i])) << (8 * i);
  }
  return v;
}

bool FitsInU32(std::string_view s) { return s.size() <= UINT32_MAX; }

bool IsKnownOp(uint8_t op) {
  return op >= static_cast<uint8_t>(JournalOp::kCommand) &&
         op <= static_cast<uint8_t>(JournalOp::kOutageBegin);
}

std::string_view OpName(uint8_t op) {
  switch (static_cast<JournalOp>(op)) {
    case JournalOp::kCommand:
      return "command";
    case JournalOp::kBaseline:
      return "baseline";
    case JournalOp::kReplayed:
      return "replayed";
    case JournalOp::kOutageBegin:
      return "outage-begin";
  }
  return "unknown";
}

// Parses the payload of a known opcode; false when it is malformed or has
// bytes left over.
bool DecodePayload(JournalOp op, std::string_view payload, JournalRecord* r) {
  ByteReader in(payload);
  if (!in.ReadU64(&r->seq) || !in.ReadI64(&r->time_ms)) return false;
  switch (op) {
    case JournalOp::kCommand: {
      uint32_t argc;
      if (!in.ReadU32(&r->db) || !in.ReadString(&r->class_name) || !in.ReadU32(&argc)) {
        return false;
      }
      // Each argument takes at least its 4-byte length: a count that cannot
      // fit in what is left is corruption, refused before reserving memory.
      if (argc > in.remaining() / 4) return false;
      r->args.resize(argc);
      for (std::string& arg : r->args) {
        if (!in.ReadString(&arg)) return false;
      }
      break;
    }
    case JournalOp::kBaseline:
      if (!in.ReadU32(&r->db) || !in.ReadString(&r->class_name) || !in.ReadString(&r->key) ||
          !in.ReadString(&r->state)) {
        return false;
      }
      break;
    case JournalOp::kReplayed:
      if (!in.ReadU64(&r->applied_up_to)) return false;
      break;
    case JournalOp::kOutageBegin:
      break;
  }
  return in.at_end();
}

void ResetRecord(JournalRecord* r) {
  // Keeps the strings' and vector's capacity: a reader decoding a million
  // records into one JournalRecord allocates only for the longest ones.
  r->seq = 0;
  r->time_ms = 0;
  r->db = 0;
  r->class_name.clear();
  r->args.clear();
  r->key.clear();
  r->state.clear();
  r->applied_up_to = 0;
}

// Opens the journal for appending and takes an exclusive advisory lock,
// so that two daemons pointed at the same directory cannot interleave
// records. Returns the descriptor, or -1 with *error.
int OpenForAppending(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    *error = ErrnoMessage("cannot open journal for appending", path, errno);
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    *error = errno == EWOULDBLOCK ? "journal " + path + " is in use by another process"
                                  : ErrnoMessage("cannot lock journal", path, errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string_view FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kEverySec:
      return "everysec";
    case FsyncPolicy::kNo:
      return "no";
  }
  return "everysec";
}

bool ParseFsyncPolicy(std::string_view name, FsyncPolicy* policy) {
  for (FsyncPolicy p : {FsyncPolicy::kAlways, FsyncPolicy::kEverySec, FsyncPolicy::kNo}) {
    if (name.size() == FsyncPolicyName(p).size() &&
        std::equal(name.begin(), name.end(), FsyncPolicyName(p).begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      *policy = p;
      return true;
    }
  }
  return false;
}

bool EncodeJournalRecord(const JournalRecord& record, std::string* out) {
  const size_t start = out->size();
  PutU32(out, 0);  // length, filled in below
  PutU32(out, 0);  // checksum, filled in below
  PutU8(out, static_cast<uint8_t>(record.op));
  PutU64(out, record.seq);
  PutI64(out, record.time_ms);
  bool fits = true;
  switch (record.op) {
    case JournalOp::kCommand:
      PutU32(out, record.db);
      fits = FitsInU32(record.class_name) && record.args.size() <= UINT32_MAX;
      for (const std::string& arg : record.args) fits = fits && FitsInU32(arg);
      if (!fits) break;
      PutString(out, record.class_name);
      PutU32(out, static_cast<uint32_t>(record.args.size()));
      for (const std::string& arg : record.args) PutString(out, arg);
      break;
    case JournalOp::kBaseline:
      PutU32(out, record.db);
      fits = FitsInU32(record.class_name) && FitsInU32(record.key) && FitsInU32(record.state);
      if (!fits) break;
      PutString(out, record.class_name);
      PutString(out, record.key);
      PutString(out, record.state);
      break;
    case JournalOp::kReplayed:
      PutU64(out, record.applied_up_to);
      break;
    case JournalOp::kOutageBegin:
      break;
  }
  const size_t payload = out->size() - start - kJournalRecordOverhead;
  if (!fits || payload > kJournalMaxPayload) {
    out->resize(start);
    return false;
  }
  StoreU32At(out, start, static_cast<uint32_t>(payload));
  std::string_view body(out->data() + start + 8, payload + 1);
  StoreU32At(out, start + 4, Crc32c(body));
  return true;
}

JournalDecodeStatus DecodeJournalRecord(std::string_view in, JournalRecord* record,
                                        size_t* consumed, std::string* why) {
  auto fail = [why](JournalDecodeStatus status, std::string text) {
    if (why != nullptr) *why = std::move(text);
    return status;
  };
  if (in.size() < kJournalRecordOverhead) {
    return fail(JournalDecodeStatus::kIncomplete, "record header incomplete");
  }
  const uint32_t length = LoadU32(in, 0);
  const uint32_t checksum = LoadU32(in, 4);
  if (length > kJournalMaxPayload) {
    return fail(JournalDecodeStatus::kCorrupt,
                "record length " + std::to_string(length) + " exceeds the limit");
  }
  if (in.size() - kJournalRecordOverhead < length) {
    return fail(JournalDecodeStatus::kIncomplete,
                "record of " + std::to_string(length) + " payload bytes incomplete");
  }
  std::string_view body = in.substr(8, 1 + static_cast<size_t>(length));
  if (Crc32c(body) != checksum) return fail(JournalDecodeStatus::kCorrupt, "checksum mismatch");
  const auto op = static_cast<uint8_t>(body[0]);
  if (!IsKnownOp(op)) {
    return fail(JournalDecodeStatus::kUnknownOp, "unknown opcode " + std::to_string(op));
  }
  ResetRecord(record);
  record->op = static_cast<JournalOp>(op);
  if (!DecodePayload(record->op, body.substr(1), record)) {
    return fail(JournalDecodeStatus::kCorrupt,
                "malformed " + std::string(OpName(op)) + " record payload");
  }
  *consumed = kJournalRecordOverhead + length;
  return JournalDecodeStatus::kOk;
}

void EncodeJournalHeader(uint64_t base_seq, std::string* out) {
  const size_t start = out->size();
  out->append(kJournalMagic);
  PutU16(out, kJournalVersion);
  PutU16(out, 0);
  PutU64(out, base_seq);
  PutU32(out, Crc32c(std::string_view(out->data() + start, kHeaderChecksummed)));
}

bool DecodeJournalHeader(std::string_view in, uint64_t* base_seq, std::string* error) {
  if (in.size() < kJournalHeaderSize) {
    *error = "journal header truncated (" + std::to_string(in.size()) + " bytes)";
    return false;
  }
  if (in.substr(0, kJournalMagic.size()) != kJournalMagic) {
    *error = "not an understudy journal (bad magic)";
    return false;
  }
  if (Crc32c(in.substr(0, kHeaderChecksummed)) != LoadU32(in, kHeaderChecksummed)) {
    *error = "journal header checksum mismatch";
    return false;
  }
  ByteReader reader(in.substr(kJournalMagic.size(), kHeaderChecksummed - kJournalMagic.size()));
  uint16_t version = 0;
  uint16_t reserved = 0;
  reader.ReadU16(&version);
  reader.ReadU16(&reserved);
  reader.ReadU64(base_seq);
  if (version == 0 || version > kJournalVersion) {
    *error = "journal format version " + std::to_string(version) + " not supported (this is " +
             std::to_string(kJournalVersion) + ")";
    return false;
  }
  return true;
}

JournalReader::~JournalReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool JournalReader::Open(const std::string& path, std::string* error) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    *error = ErrnoMessage("cannot open journal", path, errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    *error = ErrnoMessage("cannot stat journal", path, errno);
    return false;
  }
  result_.file_bytes = static_cast<uint64_t>(st.st_size);
  if (result_.file_bytes < kJournalHeaderSize) {
    *error =
        "journal " + path + ": header truncated (" + std::to_string(result_.file_bytes) + " bytes)";
    return false;
  }
  if (!Fill(kJournalHeaderSize, error)) return false;
  std::string header_error;
  if (!DecodeJournalHeader(std::string_view(buffer_).substr(pos_, kJournalHeaderSize),
                           &result_.base_seq, &header_error)) {
    *error = "journal " + path + ": " + header_error;
    return false;
  }
  pos_ += kJournalHeaderSize;
  offset_ = kJournalHeaderSize;
  result_.valid_bytes = offset_;
  result_.last_seq = result_.base_seq;
  result_.applied_up_to = result_.base_seq;
  return true;
}

bool JournalReader::Fill(size_t needed, std::string* error) {
  if (buffer_.size() - pos_ >= needed) return true;
  buffer_.erase(0, pos_);
  pos_ = 0;
  const uint64_t file_offset = offset_ + buffer_.size();
  // Never read past the size seen at Open(): a writer appending meanwhile
  // must not make the result depend on timing.
  const uint64_t left_in_file = result_.file_bytes - file_offset;
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(std::max(needed, kReadChunk), left_in_file));
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + want);
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd_, buffer_.data() + old_size + got, want - got,
                        static_cast<off_t>(file_offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = n < 0 ? ErrnoMessage("cannot read journal", path_, errno)
                     : "journal " + path_ + " shrank while being read";
      buffer_.resize(old_size + got);
      return false;
    }
    got += static_cast<size_t>(n);
  }
  return buffer_.size() - pos_ >= needed;
}

void JournalReader::Stop(JournalReadResult::End end, std::string detail) {
  done_ = true;
  result_.end = end;
  if (end != JournalReadResult::End::kClean) {
    result_.end_detail = std::move(detail) + " at offset " + std::to_string(offset_);
  }
}

bool JournalReader::Next(JournalRecord* record, std::string* error) {
  if (done_ || fd_ < 0) return false;
  const uint64_t left = result_.file_bytes - offset_;
  if (left == 0) {
    Stop(JournalReadResult::End::kClean, "");
    return false;
  }
  if (left < kJournalRecordOverhead) {
    Stop(JournalReadResult::End::kTorn, "record header incomplete");
    return false;
  }
  if (!Fill(kJournalRecordOverhead, error)) return false;
  const uint32_t length = LoadU32(buffer_, pos_);
  // A length beyond the file is a torn write; one beyond the cap cannot be
  // ours. Both are decided before reading (or allocating) that much.
  if (length <= kJournalMaxPayload && kJournalRecordOverhead + length > left) {
    Stop(JournalReadResult::End::kTorn,
         "record of " + std::to_string(length) + " payload bytes incomplete");
    return false;
  }
  const size_t framed = kJournalRecordOverhead + std::min(length, kJournalMaxPayload);
  if (length <= kJournalMaxPayload && !Fill(framed, error)) return false;
  size_t consumed = 0;
  std::string why;
  std::string_view view = std::string_view(buffer_).substr(pos_);
  switch (DecodeJournalRecord(view, record, &consumed, &why)) {
    case JournalDecodeStatus::kOk:
      break;
    case JournalDecodeStatus::kIncomplete:
      Stop(JournalReadResult::End::kTorn, why);
      return false;
    case JournalDecodeStatus::kCorrupt:
      Stop(JournalReadResult::End::kCorrupt, why);
      return false;
    case JournalDecodeStatus::kUnknownOp:
      Stop(JournalReadResult::End::kUnknownOp, why);
      return false;
  }
  pos_ += consumed;
  offset_ += consumed;
  result_.valid_bytes = offset_;
  ++result_.records;
  result_.last_seq = std::max(result_.last_seq, record->seq);
  if (record->op == JournalOp::kReplayed) {
    result_.applied_up_to = std::max(result_.applied_up_to, record->applied_up_to);
  }
  return true;
}

bool ReadJournal(const std::string& path, const std::function<bool(const JournalRecord&)>& visit,
                 JournalReadResult* result, std::string* error) {
  JournalReader reader;
  if (!reader.Open(path, error)) return false;
  JournalRecord record;
  error->clear();
  while (reader.Next(&record, error)) {
    if (!visit(record)) break;
  }
  *result = reader.result();
  return error->empty();
}

JournalWriter::~JournalWriter() {
  std::string ignored;
  Close(&ignored);
}

bool JournalWriter::Open(const std::string& path, FsyncPolicy policy, uint64_t max_bytes,
                         JournalOpenResult* result, std::string* error) {
  if (is_open()) {
    *error = "journal already open: " + path_;
    return false;
  }
  *result = JournalOpenResult{};
  path_ = path;
  policy_ = policy;
  max_bytes_ = max_bytes;
  buffer_.clear();
  pending_seqs_.clear();
  last_seq_ = 0;
  applied_up_to_ = 0;

  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      *error = ErrnoMessage("cannot stat journal", path, errno);
      return false;
    }
    std::string header;
    EncodeJournalHeader(0, &header);
    if (!WriteFileAtomically(path, header, error)) return false;
    result->created = true;
  }

  JournalReader reader;
  if (!reader.Open(path, error)) return false;
  // Records at or below the base were replayed before the last truncation.
  last_seq_ = reader.result().base_seq;
  applied_up_to_ = reader.result().base_seq;
  JournalRecord record;
  error->clear();
  while (reader.Next(&record, error)) NoteAppended(record);
  if (!error->empty()) return false;
  const JournalReadResult& read = reader.result();
  if (read.end == JournalReadResult::End::kUnknownOp) {
    *error = "journal " + path + ": " + read.end_detail +
             " (written by a newer version?); refusing to cut it";
    return false;
  }
  result->records_kept = read.records;
  result->last_seq = read.last_seq;
  result->applied_up_to = read.applied_up_to;

  fd_ = OpenForAppending(path, error);
  if (fd_ < 0) return false;
  disk_bytes_ = read.file_bytes;
  if (read.end != JournalReadResult::End::kClean) {
    // Cut the bad tail so new records follow the last good one; a reader
    // would otherwise stop at the bad record and never see them.
    if (::ftruncate(fd_, static_cast<off_t>(read.valid_bytes)) != 0 || ::fsync(fd_) != 0) {
      *error = ErrnoMessage("cannot cut the bad tail of journal", path, errno);
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    result->tail_cut = true;
    result->tail_was_torn = read.end == JournalReadResult::End::kTorn;
    result->cut_offset = read.valid_bytes;
    result->bytes_dropped = read.file_bytes - read.valid_bytes;
    result->cut_detail = read.end_detail;
    disk_bytes_ = read.valid_bytes;
  }
  stop_ = false;
  dirty_.store(false);
  background_fsync_errno_.store(0);
  if (policy_ == FsyncPolicy::kEverySec) StartSyncThread();
  return true;
}

void JournalWriter::NoteAppended(const JournalRecord& record) {
  last_seq_ = std::max(last_seq_, record.seq);
  if (record.op == JournalOp::kReplayed) {
    applied_up_to_ = std::max(applied_up_to_, record.applied_up_to);
    while (!pending_seqs_.empty() && pending_seqs_.front() <= applied_up_to_) {
      pending_seqs_.pop_front();
    }
  } else if (record.seq > applied_up_to_) {
    pending_seqs_.push_back(record.seq);
  }
}

JournalWriter::AppendStatus JournalWriter::Append(const JournalRecord& record) {
  if (!is_open()) return AppendStatus::kNotOpen;
  if (record.seq <= last_seq_) return AppendStatus::kOutOfOrder;
  const size_t before = buffer_.size();
  if (!EncodeJournalRecord(record, &buffer_)) return AppendStatus::kTooLarge;
  if (max_bytes_ != 0 && disk_bytes_ + buffer_.size() > max_bytes_) {
    buffer_.resize(before);
    return AppendStatus::kFull;
  }
  NoteAppended(record);
  return AppendStatus::kOk;
}

bool JournalWriter::Flush(std::string* error) {
  if (!is_open()) {
    *error = "journal not open";
    return false;
  }
  if (buffer_.empty()) return true;
  int err = 0;
  if (!WriteAll(fd_, buffer_, &err)) {
    *error = ErrnoMessage("cannot write journal", path_, err);
    // Remove whatever part reached the file so the retry does not leave a
    // corrupt record in the middle; if even that fails, the next Open()
    // cuts it as a torn tail.
    if (::ftruncate(fd_, static_cast<off_t>(disk_bytes_)) != 0) {
      *error += "; and cannot cut the partial write: ";
      *error += std::strerror(errno);
    }
    return false;
  }
  disk_bytes_ += buffer_.size();
  buffer_.clear();
  if (buffer_.capacity() > kMaxIdleBufferCapacity) buffer_.shrink_to_fit();
  if (policy_ == FsyncPolicy::kAlways) {
    if (::fdatasync(fd_) != 0) {
      *error = ErrnoMessage("cannot fdatasync journal", path_, errno);
      return false;
    }
  } else if (policy_ == FsyncPolicy::kEverySec) {
    dirty_.store(true, std::memory_order_release);
  }
  return true;
}

bool JournalWriter::Truncate(std::string* error) {
  if (!is_open()) {
    *error = "journal not open";
    return false;
  }
  std::string header;
  EncodeJournalHeader(last_seq_, &header);
  if (!WriteFileAtomically(path_, header, error)) return false;
  // The file on disk is already the empty journal: if it cannot be
  // reopened, appending to the old descriptor would write into the
  // replaced file, so this fails loudly instead.
  int fd = OpenForAppending(path_, error);
  if (fd < 0) return false;
  {
    std::lock_guard<std::mutex> lock(sync_mutex_);
    ::close(fd_);
    fd_ = fd;
    dirty_.store(false);
  }
  buffer_.clear();
  disk_bytes_ = kJournalHeaderSize;
  applied_up_to_ = last_seq_;
  pending_seqs_.clear();
  return true;
}

bool JournalWriter::Close(std::string* error) {
  if (!is_open()) return true;
  bool ok = Flush(error);
  StopSyncThread();
  if (::fsync(fd_) != 0 && ok) {
    *error = ErrnoMessage("cannot fsync journal", path_, errno);
    ok = false;
  }
  if (::close(fd_) != 0 && ok) {
    *error = ErrnoMessage("cannot close journal", path_, errno);
    ok = false;
  }
  fd_ = -1;
  buffer_.clear();
  return ok;
}

void JournalWriter::StartSyncThread() {
  sync_thread_ = std::thread([this] { SyncLoop(); });
}

void JournalWriter::StopSyncThread() {
  if (!sync_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(sync_mutex_);
    stop_ = true;
  }
  sync_cv_.notify_all();
  sync_thread_.join();
}

void JournalWriter::SyncLoop() {
  std::unique_lock<std::mutex> lock(sync_mutex_);
  while (!stop_) {
    sync_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    if (stop_) break;
    if (!dirty_.exchange(false, std::memory_order_acq_rel)) continue;
    // Held across the fdatasync so Truncate() cannot close this fd under
    // it; the loop thread's Flush() only writes and never waits here.
    if (::fdatasync(fd_) != 0) {
      background_fsync_errno_.store(errno);
      dirty_.store(true);  // retry next second
    } else {
      background_fsync_errno_.store(0);
    }
  }
}

}  // namespace understudy::storage

#include "server/outage_journal.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "server/proxy.h"
#include "server/server.h"
#include "storage/disk_io.h"
#include "storage/snapshot.h"

namespace understudy::server {
namespace {

// At most one "journal full" log line per interval.
constexpr int64_t kFullLogIntervalMs = 10'000;

storage::SnapshotLimits LimitsOf(const Config& config) {
  storage::SnapshotLimits limits;
  limits.hash.max_listpack_entries = static_cast<size_t>(config.hash_max_listpack_entries);
  limits.hash.max_listpack_value = static_cast<size_t>(config.hash_max_listpack_value);
  limits.set.max_intset_entries = config.set_max_intset_entries;
  limits.zset.max_listpack_entries = static_cast<size_t>(config.zset_max_listpack_entries);
  limits.zset.max_listpack_value = static_cast<size_t>(config.zset_max_listpack_value);
  limits.list_max_listpack_size = config.list_max_listpack_size;
  return limits;
}

// An upper bound of the bytes a command record of `args` takes.
uint64_t RecordBound(std::span<const std::string_view> args, size_t class_name_size) {
  uint64_t bytes = storage::kJournalRecordOverhead + 8 + 8 + 4 + 4 + class_name_size + 4;
  for (std::string_view arg : args) bytes += 4 + arg.size();
  return bytes;
}

std::string BaselineId(int db, std::string_view key) {
  std::string id = std::to_string(db);
  id += '\n';
  id += key;
  return id;
}

}  // namespace

OutageJournal::OutageJournal(Server& server, Options options)
    : server_(server), options_(std::move(options)) {}

OutageJournal::~OutageJournal() { Close(); }

void OutageJournal::Close() {
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
  std::string error;
  if (!writer_.Close(&error)) spdlog::error("journal {}: close: {}", options_.journal_path, error);
}

bool OutageJournal::Open(std::string* error) {
  storage::JournalOpenResult opened;
  if (!writer_.Open(options_.journal_path, options_.fsync, options_.max_bytes, &opened, error)) {
    *error = "journal " + options_.journal_path + ": " + *error;
    return false;
  }
  if (opened.tail_cut) {
    spdlog::warn(
        "journal {}: {} tail cut off at offset {} ({} bytes dropped): {}; the {} records before "
        "it are kept",
        options_.journal_path, opened.tail_was_torn ? "torn" : "corrupt", opened.cut_offset,
        opened.bytes_dropped, opened.cut_detail, opened.records_kept);
  }
  // The journal is emptied when an outage is reconciled: any record left
  // (an outage marker at least) is an outage still going on.
  if (opened.records_kept == 0) {
    spdlog::info("journal {}: open, nothing pending (last seq {})", options_.journal_path,
                 writer_.last_seq());
    return true;
  }
  spdlog::warn(
      "journal {}: an outage not yet reconciled ({} writes pending, seq up to {}): "
      "restoring the local store from snapshot and journal",
      options_.journal_path, writer_.pending_records(), writer_.last_seq());
  if (!RestoreLocalStore(error)) return false;
  in_outage_ = true;
  return true;
}

bool OutageJournal::RestoreLocalStore(std::string* error) {
  const int64_t now_ms = server_.clock().NowMs();
  std::vector<storage::Database*> dbs;
  for (int i = 0; i < server_.database_count(); ++i) dbs.push_back(&server_.db(i));
  uint64_t covers_seq = 0;
  storage::SnapshotLoadStats loaded;
  std::string snapshot_error;
  if (storage::LoadSnapshot(options_.snapshot_path, dbs, LimitsOf(server_.config()), now_ms,
                            &covers_seq, &loaded, &snapshot_error)) {
    spdlog::info("snapshot {}: {} keys loaded ({} expired since), covering journal seq {}",
                 options_.snapshot_path, loaded.keys_loaded, loaded.keys_expired, covers_seq);
  } else {
    covers_seq = 0;
    spdlog::warn("snapshot {}: not loaded ({}); the local store starts from the journal alone",
                 options_.snapshot_path, snapshot_error);
  }
  // Re-apply what clients wrote after the snapshot, each at its own time,
  // through the command table like any write (but not journaled again).
  ClientSession session(0, now_ms);
  uint64_t restored = 0;
  storage::JournalReadResult result;
  const bool read = storage::ReadJournal(
      options_.journal_path,
      [&](const storage::JournalRecord& record) {
        if (record.op == storage::JournalOp::kBaseline) {
          baselined_.insert(BaselineId(static_cast<int>(record.db), record.key));
          return true;
        }
        if (record.op != storage::JournalOp::kCommand || record.seq <= covers_seq) return true;
        if (record.db >= static_cast<uint32_t>(server_.database_count())) return true;
        std::vector<std::string_view> args(record.args.begin(), record.args.end());
        const CommandLookup lookup = server_.commands().Lookup(args);
        if (lookup.spec == nullptr || !lookup.spec->ArityOk(args.size())) return true;
        session.db_index = static_cast<int>(record.db);
        session.reply.clear();
        server_.Call(session, *lookup.spec, args, record.time_ms);
        ++restored;
        return true;
      },
      &result, error);
  if (!read) return false;
  stats_.restored = restored;
  spdlog::info("journal {}: {} records re-applied to the local store", options_.journal_path,
               restored);
  return true;
}

void OutageJournal::BeginOutage() {
  if (in_outage_) return;
  in_outage_ = true;
  baselined_.clear();
  // Marked first, so that a crash even before the first write restores the
  // store from this outage's snapshot instead of starting empty.
  storage::JournalRecord marker;
  marker.op = storage::JournalOp::kOutageBegin;
  marker.time_ms = server_.clock().NowMs();
  Append(marker);
  Flush();
  WriteSnapshot();
}

void OutageJournal::EndOutage() {
  std::string error;
  if (!writer_.Truncate(&error)) {
    spdlog::error("journal {}: truncate after reconciliation: {}", options_.journal_path, error);
  }
  in_outage_ = false;
  full_ = false;
  baselined_.clear();
}

void OutageJournal::WriteSnapshot() {
  const auto start = std::chrono::steady_clock::now();
  std::vector<const storage::Database*> dbs;
  for (int i = 0; i < server_.database_count(); ++i) dbs.push_back(&server_.db(i));
  storage::SnapshotWriteStats written;
  std::string bytes =
      storage::SerializeSnapshot(dbs, writer_.last_seq(), server_.clock().NowMs(), &written);
  stats_.last_snapshot_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
  ++stats_.snapshots;
  // The file is written and fsynced off the loop; a previous write still
  // running is waited for, so the newer snapshot lands last.
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
  snapshot_writer_ = std::thread(
      [path = options_.snapshot_path, bytes = std::move(bytes), keys = written.keys_written] {
        std::string error;
        if (storage::WriteFileAtomically(path, bytes, &error)) {
          spdlog::info("snapshot {}: {} keys written ({} bytes)", path, keys, bytes.size());
        } else {
          spdlog::error("snapshot {}: {}", path, error);
        }
      });
}

bool OutageJournal::Append(storage::JournalRecord& record) {
  record.seq = writer_.last_seq() + 1;
  const storage::JournalWriter::AppendStatus status = writer_.Append(record);
  if (status != storage::JournalWriter::AppendStatus::kOk) {
    if (status == storage::JournalWriter::AppendStatus::kFull) full_ = true;
    spdlog::error(
        "journal {}: record seq {} not written (status {}): the write is served but "
        "will not be reconciled",
        options_.journal_path, record.seq, static_cast<int>(status));
    return false;
  }
  if (record_listener_) record_listener_(record);
  return true;
}

void OutageJournal::Flush() {
  if (writer_.buffered_bytes() == 0) return;
  std::string error;
  if (!writer_.Flush(&error)) spdlog::error("journal {}: {}", options_.journal_path, error);
}

bool OutageJournal::BeforeWrite(const ClientSession& client, const CommandSpec& spec,
                                std::span<const std::string_view> args, int64_t now_ms) {
  const replication::KeyClassifier& classifier = server_.classifier();
  key_indexes_.clear();
  spec.KeyIndexes(args, &key_indexes_);
  const std::string_view first_class =
      key_indexes_.empty() ? std::string_view()
                           : std::string_view(classifier.ClassOf(args[key_indexes_[0]]).name);
  uint64_t needed = RecordBound(args, first_class.size());
  std::vector<std::pair<std::string, const replication::KeyClass*>> new_baselines;
  for (int index : key_indexes_) {
    const replication::KeyClass& key_class = classifier.ClassOf(args[index]);
    // Only a mirrored class knows what the primary held; for the others
    // there is nothing to compare with (the reconciler writes them as is).
    if (key_class.merge != replication::MergeRule::kLww || !key_class.mirror ||
        !baseline_encoder_) {
      continue;
    }
    std::string id = BaselineId(client.db_index, args[index]);
    if (baselined_.count(id) != 0) continue;
    needed += storage::kJournalRecordOverhead + 64 + args[index].size();
    new_baselines.emplace_back(std::move(id), &key_class);
  }
  if (options_.max_bytes != 0 && writer_.bytes() + needed > options_.max_bytes) {
    full_ = true;
    ++stats_.refused_full;
    if (now_ms - full_logged_ms_ >= kFullLogIntervalMs) {
      spdlog::error(
          "journal {} is full ({} of journal-max-bytes {}): writes during the outage are refused "
          "(-TRYAGAIN) until the primary is back and the journal is reconciled; {} refused so far",
          options_.journal_path, writer_.bytes(), options_.max_bytes, stats_.refused_full);
      full_logged_ms_ = now_ms;
    }
    return false;
  }
  for (auto& [id, key_class] : new_baselines) {
    const std::string_view key = std::string_view(id).substr(id.find('\n') + 1);
    storage::JournalRecord baseline;
    baseline.op = storage::JournalOp::kBaseline;
    baseline.time_ms = now_ms;
    baseline.db = static_cast<uint32_t>(client.db_index);
    baseline.class_name = key_class->name;
    baseline.key = std::string(key);
    baseline.state = baseline_encoder_(server_.db(client.db_index).Find(key, now_ms));
    if (Append(baseline)) ++stats_.baselines;
    baselined_.insert(std::move(id));
  }
  return true;
}

void OutageJournal::AfterWrite(const ClientSession& client, const CommandSpec& spec,
                               std::span<const std::string_view> args, int64_t now_ms) {
  storage::JournalRecord record;
  record.op = storage::JournalOp::kCommand;
  record.time_ms = now_ms;
  record.db = static_cast<uint32_t>(client.db_index);
  // key_indexes_ still holds this command's keys: BeforeWrite found them.
  if (!key_indexes_.empty()) {
    record.class_name = server_.classifier().ClassOf(args[key_indexes_[0]]).name;
  }
  record.args.assign(args.begin(), args.end());
  if (Append(record)) ++stats_.records;
}

void OutageJournal::AppendWriteBack(int db, std::string_view key, std::string_view class_name,
                                    int64_t now_ms) {
  // TOUCH names the key without changing it: the reconciler's union rule
  // then merges the key's local state (members, value, later deadline)
  // into the primary, as for any write it has no specific rule for.
  storage::JournalRecord record;
  record.op = storage::JournalOp::kCommand;
  record.time_ms = now_ms;
  record.db = static_cast<uint32_t>(db);
  record.class_name = std::string(class_name);
  record.args = {"TOUCH", std::string(key)};
  if (Append(record)) ++stats_.write_backs;
}

std::vector<storage::JournalRecord> OutageJournal::PendingRecords(std::string* error) {
  Flush();
  std::vector<storage::JournalRecord> records;
  storage::JournalReadResult result;
  const uint64_t after = writer_.applied_up_to();
  storage::ReadJournal(
      options_.journal_path,
      [&](const storage::JournalRecord& record) {
        const bool replayable =
            record.op == storage::JournalOp::kCommand || record.op == storage::JournalOp::kBaseline;
        if (replayable && record.seq > after) {
          records.push_back(record);
        }
        return true;
      },
      &result, error);
  return records;
}

}  // namespace understudy::server

#pragma once

// The outage journal's server side (docs/journal.md): while the primary is
// not healthy, every write command the local store runs is appended to the
// journal (storage/journal.h) before its reply leaves, the state an lww key
// had when the outage began is recorded before its first local write, and
// the local store is snapshotted when an outage begins so that a daemon
// killed mid-outage restarts with what it served (snapshot + journal).

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "replication/key_class.h"
#include "storage/journal.h"

namespace understudy::storage {
class Entry;
}

namespace understudy::server {

class Server;
class ClientSession;
struct CommandSpec;

struct OutageJournalStats {
  uint64_t records = 0;          // command records appended since start
  uint64_t baselines = 0;        // baseline records appended since start
  uint64_t refused_full = 0;     // writes refused because the journal is full
  uint64_t restored = 0;         // records re-applied to the store at start
  uint64_t write_backs = 0;      // union keys queued for write-back
  uint64_t snapshots = 0;        // snapshots written
  int64_t last_snapshot_ms = 0;  // how long the last one took to serialize
};

class OutageJournal {
 public:
  struct Options {
    std::string journal_path;
    std::string snapshot_path;
    storage::FsyncPolicy fsync = storage::FsyncPolicy::kEverySec;
    uint64_t max_bytes = 0;  // 0: no limit
  };
  // What an lww key held when the outage began, in the reconciler's
  // encoding (nullptr: the key did not exist).
  using BaselineEncoder = std::function<std::string(const storage::Entry* entry)>;

  OutageJournal(Server& server, Options options);
  ~OutageJournal();
  OutageJournal(const OutageJournal&) = delete;
  OutageJournal& operator=(const OutageJournal&) = delete;

  // Opens the journal file (creating it), cutting a torn tail (logged).
  // When it holds records not yet reconciled, loads the snapshot into the
  // local store and re-applies the records after it, and the outage is
  // taken as still going on. False (with *error) when the file cannot be
  // used: the daemon must not start and silently lose what it holds.
  bool Open(std::string* error);
  // Flushes and closes (the snapshot writer is joined).
  void Close();

  void set_baseline_encoder(BaselineEncoder encoder) { baseline_encoder_ = std::move(encoder); }
  // Called with every record appended (the reconciler takes the writes
  // made while it runs).
  void set_record_listener(std::function<void(const storage::JournalRecord&)> listener) {
    record_listener_ = std::move(listener);
  }

  // The primary left healthy: from now on local writes are journaled, and
  // the local store as it stands (the mirror) is snapshotted.
  void BeginOutage();
  // Reconciliation committed every record: empties the journal and ends
  // the outage (local writes are no longer journaled).
  void EndOutage();
  bool in_outage() const { return in_outage_; }

  // Server::Call's hooks for a write command while in an outage.
  // Before it runs: records baselines of its lww keys; false when it must
  // be refused because the journal is full (the reply is for the caller).
  bool BeforeWrite(const ClientSession& client, const CommandSpec& spec,
                   std::span<const std::string_view> args, int64_t now_ms);
  // After it ran without an error reply: appends its record. Precondition:
  // BeforeWrite ran last, for the same command (its key positions are kept).
  void AfterWrite(const ClientSession& client, const CommandSpec& spec,
                  std::span<const std::string_view> args, int64_t now_ms);

  // Records that the key's local state must be merged into the primary
  // (union write-back after the primary lost data; docs/journal.md).
  void AppendWriteBack(int db, std::string_view key, std::string_view class_name, int64_t now_ms);

  // Every record not yet reconciled (seq > the last checkpoint), in order.
  std::vector<storage::JournalRecord> PendingRecords(std::string* error);

  // Writes the records appended since the last call (one write(2); under
  // journal-fsync always also fdatasync). The network layer calls it before
  // any reply leaves, so a write is journaled before it is acknowledged,
  // and a pipeline's records cost one system call, as Redis writes its AOF
  // buffer once per event-loop turn.
  void Flush();

  const OutageJournalStats& stats() const { return stats_; }
  uint64_t bytes() const { return writer_.bytes(); }
  uint64_t pending_records() const { return writer_.pending_records(); }
  uint64_t last_seq() const { return writer_.last_seq(); }
  uint64_t applied_up_to() const { return writer_.applied_up_to(); }
  bool full() const { return full_; }

 private:
  // Appends `record` with the next sequence number (buffered until Flush).
  bool Append(storage::JournalRecord& record);
  // Loads the snapshot and re-applies records after it (Open's recovery).
  bool RestoreLocalStore(std::string* error);
  void WriteSnapshot();

  Server& server_;
  Options options_;
  storage::JournalWriter writer_;
  BaselineEncoder baseline_encoder_;
  std::function<void(const storage::JournalRecord&)> record_listener_;
  bool in_outage_ = false;
  bool full_ = false;
  int64_t full_logged_ms_ = 0;
  // lww keys ("<db>\n<key>") whose baseline this outage has recorded.
  std::unordered_set<std::string> baselined_;
  std::thread snapshot_writer_;
  std::vector<int> key_indexes_;
  OutageJournalStats stats_;
};

}  // namespace understudy::server

#pragma once

// Replays the outage journal onto the primary once it is back
// (../shared/DESIGN.md, "Key classes" and "Durability";
// docs/reconciliation.md). The merge rules are planned by ReconcilePlanner;
// this is the driver: its own connection to the primary, the checkpoint,
// WATCH + fetch for lww keys, and one MULTI/EXEC per batch that also moves
// the checkpoint, so that a crash of either side neither loses nor repeats
// a batch.

#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "replication/key_class.h"
#include "replication/reconcile_plan.h"
#include "replication/upstream_connection.h"
#include "storage/journal.h"

namespace understudy::replication {

struct ReconcilerOptions {
  // The primary and how to talk to it (credentials, TLS), as
  // PrimaryLink::ConnectionOptions makes them. RESP2 and db 0 are forced.
  UpstreamOptions connection;
  PlanLimits limits;
  // Conflicts kept by name in the result (all are counted and logged).
  size_t max_conflicts_listed = 100;
  // A batch whose EXEC a WATCHed lww key keeps aborting is planned again at
  // most this many times, then the run fails (it can be started again).
  int max_watch_retries = 100;
};

struct ReconcileResult {
  bool ok = false;
  std::string error;              // when !ok
  uint64_t records_replayed = 0;  // kCommand records committed by this run
  uint64_t batches = 0;
  uint64_t conflicts = 0;
  std::vector<ReconcileConflict> conflict_list;  // the first max_conflicts_listed
  uint64_t applied_up_to = 0;                    // the checkpoint on the primary at the end
  uint64_t skipped = 0;  // records with arguments that could not be replayed
  // Commands the primary refused inside a committed EXEC (e.g. INCRBY on a
  // value that is not an integer there); logged with the key.
  uint64_t apply_errors = 0;
  uint64_t watch_retries = 0;
  int64_t duration_ms = 0;
};

// Figures for INFO understudy while a run is going (and after it).
struct ReconcileProgress {
  bool running = false;
  uint64_t replayed = 0;  // kCommand records committed
  uint64_t pending = 0;   // kCommand records fed and not yet committed
  uint64_t batches = 0;
  uint64_t conflicts = 0;
  uint64_t applied_up_to = 0;
  double records_per_second = 0;
  int64_t last_duration_ms = 0;  // of the last run that completed
  // Since the process started, over every run (the figures above are the
  // current or last run's).
  uint64_t replayed_total = 0;
  uint64_t conflicts_total = 0;
};

// Runs on one io_context thread (the event loop that owns the local
// databases); every call comes from that thread.
class Reconciler {
 public:
  using DoneCallback = std::function<void(const ReconcileResult&)>;

  // `journal_id` names the checkpoint key on the primary
  // (CheckpointKey(journal_id)): one per journal, so that two daemons
  // sharing a primary keep separate checkpoints.
  Reconciler(boost::asio::io_context& io, ReconcilerOptions options,
             const KeyClassifier& classifier, DatabaseLookup databases, KeyExtractor key_extractor,
             std::string journal_id, const Clock& clock);
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Replays `records` (seq order, any ops; those at or below the primary's
  // checkpoint are skipped) and calls `done` once, when every record fed
  // (these and Append()ed ones) is committed, or when the run fails
  // (connection lost, EXEC refused...). A failed run can be started again
  // with the same records: the checkpoint makes it resume. Precondition:
  // not running().
  void Start(std::vector<storage::JournalRecord> records, DoneCallback done);
  // Start() with the good records of the journal file at `path`. False
  // (and `done` not called) when it cannot be read.
  bool StartFromJournal(const std::string& path, DoneCallback done, std::string* error);
  // A write made during the run: replayed after every record fed before it.
  // Ignored when not running().
  void Append(storage::JournalRecord record);
  // Drops the connection; `done` is not called. A batch whose EXEC was
  // sent may or may not be committed: the checkpoint tells the next run.
  void Stop();

  // Where to connect from the next Start() on (the primary moves under
  // Sentinel). Precondition: not running().
  void set_connection(UpstreamOptions connection);

  bool running() const { return running_; }
  ReconcileProgress progress() const;
  // Called after each committed batch (progress logs, tests).
  void set_batch_listener(std::function<void(const ReconcileBatch&)> listener) {
    batch_listener_ = std::move(listener);
  }

 private:
  class Target;
  enum class Kind : uint8_t { kCheckpoint, kIgnore, kFetch, kQueued, kExec };
  struct FetchGroup {
    uint32_t db = 0;
    std::vector<size_t> lww_indexes;  // into current_.lww
    std::vector<std::string> keys;
    std::vector<FetchedKey> states;
    bool done = false;
  };

  void Send(const std::vector<std::string_view>& args, Kind kind, uint64_t group = 0);
  void SendFetch(size_t group, bool with_script);
  void OnReply(uint64_t token, std::string_view bytes);
  void OnCheckpoint(const protocol::ReplyValue& value);
  void OnFetch(size_t group, const protocol::ReplyValue& value);
  void OnExec(const protocol::ReplyValue& value);
  void NextBatch();
  void SendTransaction();
  // Queues a SELECT when the connection is not in `db` yet.
  void SelectDb(uint32_t db);
  void Fail(std::string error);
  void Finish();
  void LogProgress(bool force);

  boost::asio::io_context& io_;
  ReconcilerOptions options_;
  const KeyClassifier& classifier_;
  DatabaseLookup databases_;
  KeyExtractor key_extractor_;
  std::string checkpoint_key_;
  const Clock& clock_;
  std::string fetch_sha_;

  std::unique_ptr<ReconcilePlanner> planner_;
  std::shared_ptr<UpstreamConnection> connection_;
  std::shared_ptr<Target> target_;
  uint64_t generation_ = 0;
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, std::pair<Kind, size_t>> kinds_;  // token -> kind, group
  bool running_ = false;
  bool checkpoint_known_ = false;
  std::vector<storage::JournalRecord> early_;  // fed before the checkpoint was read
  DoneCallback done_;
  std::function<void(const ReconcileBatch&)> batch_listener_;

  // The batch in flight.
  bool batch_in_flight_ = false;
  ReconcileBatch current_;
  std::vector<FetchGroup> groups_;
  size_t groups_waiting_ = 0;
  std::vector<ReconcileConflict> batch_conflicts_;
  std::string queue_error_;             // first error reply to a queued command
  std::vector<std::string> exec_keys_;  // key of each EXEC reply element ("" if none)
  int watch_attempts_ = 0;
  uint32_t connection_db_ = 0;

  ReconcileResult result_;
  // Replayed records and conflicts of the runs before the current one.
  uint64_t replayed_before_ = 0;
  uint64_t conflicts_before_ = 0;
  uint64_t fed_ = 0;
  int64_t started_ms_ = 0;
  int64_t last_duration_ms_ = 0;
  int64_t last_log_ms_ = 0;
};

}  // namespace understudy::replication

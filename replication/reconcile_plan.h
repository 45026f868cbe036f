#pragma once

// Planning the replay of the outage journal onto the primary
// (../shared/DESIGN.md, "Key classes", merge rules; docs/reconciliation.md):
// journal records in, batches of primary commands out, each batch covering a
// run of records and carrying the highest sequence number it covers. Pure
// logic, no I/O: the Reconciler sends the batches, feeds back what the
// primary holds for the batch's lww keys, and reports commits.
//
// Per key of each record, by the key's class merge rule:
//  - union: additions only (SADD, HSET, ZADD, pushes, set-if-absent SET),
//    deadlines only ever extended; removals and expiry are not replayed;
//  - lww: the key's final local state is written whole if the primary still
//    holds the baseline (the state the mirror knew when the outage began);
//    otherwise the class's conflict policy decides;
//  - counter: increments are summed per key (and field) and added with one
//    INCRBY/INCRBYFLOAT/HINCRBY/HINCRBYFLOAT/ZINCRBY; any other write makes
//    the key lww for the rest of the reconciliation.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "replication/key_class.h"
#include "replication/mirror_fetch.h"
#include "storage/database.h"
#include "storage/journal.h"

namespace understudy::replication {

// The positions in `argv` of the keys the command touches (the server's
// command table supplies it). Appends to *key_indexes.
using KeyExtractor =
    std::function<void(std::span<const std::string> argv, std::vector<size_t>* key_indexes)>;
// The local database `db`, or nullptr when there is no such database.
using DatabaseLookup = std::function<storage::Database*(uint32_t db)>;

// The checkpoint key on the primary for journal `journal_id`.
std::string CheckpointKey(std::string_view journal_id);

// The Lua source of the apply script (union, counter and lww writes, one
// mode per call; see reconcile_plan.cc for the modes) and its SHA1.
std::string_view ApplyScript();
std::string ApplyScriptSha1();

// A key's state for the lww comparison: "\x01" | type byte | SHA-1 of a
// canonical encoding of the value (collections sorted; scores as their
// IEEE bits), or "\x01n" for a missing key. Deadlines are left out: a TTL
// difference is not a conflict. Kept as the kBaseline record's `state`.
std::string EncodeBaseline(const storage::Entry* entry_or_null);
// The same encoding of a key as read from the primary. A type the local
// store does not have encodes as "\x01o": never equal to a local state.
std::string EncodeFetchedState(const FetchedKey& fetched);

// The local state of `key` in `db` at `now_ms` as a FetchedKey (kMissing
// when absent or expired). Reads without expiring anything.
FetchedKey LocalKeyState(storage::Database& db, std::string_view key, int64_t now_ms);

// One command for the primary, in database `db`.
struct PlannedCommand {
  uint32_t db = 0;
  std::vector<std::string> argv;
  std::string key;  // the key it writes (for the log of a refused command)
};

// An lww key of a batch: what to write, and against what to compare.
struct LwwWrite {
  uint32_t db = 0;
  std::string key;
  size_t class_index = 0;
  // False for a counter key in lww mode (its class can only let the local
  // state win) and when the primary is compared with nothing.
  bool check_baseline = true;
  // kBaseline state for the key; nullopt: no baseline record ("the primary
  // is taken as unchanged").
  std::optional<std::string> baseline;
  FetchedKey local;  // the final local state; kMissing is a tombstone
};

// An lww key whose primary state differed from its baseline.
struct ReconcileConflict {
  uint32_t db = 0;
  std::string key;
  std::string class_name;
  bool local_won = true;
};

struct ReconcileBatch {
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;         // the checkpoint value once committed
  uint64_t command_records = 0;  // kCommand records covered
  // Union and counter commands, ready to send (in record order, counter
  // sums last). lww writes are added by ResolveLww.
  std::vector<PlannedCommand> commands;
  std::vector<LwwWrite> lww;
  // True when some command uses the apply script (SCRIPT LOAD it first).
  bool uses_apply_script = false;
  // Records of the batch, kept so that it can be planned again.
  std::vector<storage::JournalRecord> records;
  // Records skipped with a reason (unparsable arguments).
  uint64_t skipped = 0;
};

struct PlanLimits {
  size_t max_records = 4096;
  size_t max_bytes = 8 << 20;    // argv bytes of the records of one batch
  size_t max_args_per_op = 512;  // longer member lists are split
};

// Turns journal records into batches. Feed records in seq order with Add;
// take batches with NextBatch; for a batch with lww keys call ResolveLww
// with the primary's states, then send; report Committed, or Requeue when
// the batch must be planned again (its EXEC was aborted by a WATCH).
class ReconcilePlanner {
 public:
  ReconcilePlanner(const KeyClassifier& classifier, DatabaseLookup databases,
                   KeyExtractor key_extractor, PlanLimits limits = {});

  // Records with seq <= checkpoint are skipped (their baselines and the
  // lww marks they give counter keys still count). Only raises it.
  void SetCheckpoint(uint64_t checkpoint);
  uint64_t checkpoint() const { return checkpoint_; }
  // Takes a record (any op) in seq order; a kReplayed record raises the
  // checkpoint. Records not after the last one added are ignored.
  void Add(storage::JournalRecord record);

  // kCommand records waiting for a batch.
  uint64_t pending_records() const { return pending_commands_; }
  bool HasPending() const { return !pending_.empty(); }
  // Highest seq added.
  uint64_t last_seq() const { return last_seq_; }

  // Plans the next batch from the front of the pending records at `now_ms`
  // (local deadlines and states are read then). Precondition: HasPending().
  ReconcileBatch NextBatch(int64_t now_ms);

  // Adds the lww writes of `batch` to its commands, given the primary's
  // current states of batch.lww (same order). Conflicts are appended to
  // *conflicts.
  void ResolveLww(ReconcileBatch& batch, std::span<const FetchedKey> primary,
                  std::vector<ReconcileConflict>* conflicts) const;

  // The batch is on the primary: its lww writes become what later batches
  // of this run compare with.
  void Committed(const ReconcileBatch& batch);
  // Puts the batch's records back at the front, to be planned again.
  void Requeue(ReconcileBatch&& batch);

 private:
  struct CounterSum;
  struct PlanState;

  void NoteRecord(const storage::JournalRecord& record);
  void PlanRecord(const storage::JournalRecord& record, PlanState& state);
  void PlanUnion(const storage::JournalRecord& record, size_t key_index, PlanState& state);
  bool PlanCounterIncrement(const storage::JournalRecord& record, PlanState& state);
  void AddLww(uint32_t db, const std::string& key, size_t class_index, bool counter,
              PlanState& state);
  // The key's local final deadline for the apply script: -1 none, -2 the
  // key is absent locally.
  int64_t LocalDeadline(uint32_t db, std::string_view key, int64_t now_ms) const;
  // Adds a plain command (no script) writing `key`.
  void AddNative(uint32_t db, const std::string& key, std::vector<std::string> argv,
                 PlanState& state);
  void AddApply(uint32_t db, const std::string& key, std::vector<std::string> argv_tail,
                PlanState& state);

  const KeyClassifier& classifier_;
  DatabaseLookup databases_;
  KeyExtractor key_extractor_;
  PlanLimits limits_;
  std::string apply_sha_;  // ApplyScriptSha1(), computed once
  uint64_t checkpoint_ = 0;
  uint64_t last_seq_ = 0;
  std::deque<storage::JournalRecord> pending_;
  uint64_t pending_commands_ = 0;
  // "db\0key" -> baseline state.
  std::unordered_map<std::string, std::string> baselines_;
  // "db\0key" of counter keys written by something other than an increment.
  std::unordered_set<std::string> counter_lww_;
};

}  // namespace understudy::replication

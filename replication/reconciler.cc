#include "replication/reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/numbers.h"
#include "protocol/request_writer.h"

namespace understudy::replication {
namespace asio = boost::asio;

namespace {

// A batch of big values can take a while on the primary; the proxy's
// primary-timeout (200 ms by default) is meant for single commands.
constexpr int64_t kMinReconcileTimeoutMs = 5000;
// lww conflicts logged by key name per run; the rest are only counted.
constexpr uint64_t kConflictsLogged = 20;
constexpr int64_t kProgressLogIntervalMs = 5000;

}  // namespace

// Hands replies to the reconciler run that sent them; replies for an older
// run (before a Stop or restart) are dropped.
class Reconciler::Target : public ReplyTarget {
 public:
  Target(Reconciler* owner, uint64_t generation) : owner_(owner), generation_(generation) {}
  void OnUpstreamReply(uint64_t token, std::string_view reply, char) override {
    if (owner_ != nullptr && owner_->generation_ == generation_) owner_->OnReply(token, reply);
  }
  // The connection's failure handler reports the failure once; nothing to
  // do per request.
  void OnUpstreamFailed(uint64_t) override {}
  void Detach() { owner_ = nullptr; }

 private:
  Reconciler* owner_;
  uint64_t generation_;
};

Reconciler::Reconciler(asio::io_context& io, ReconcilerOptions options,
                       const KeyClassifier& classifier, DatabaseLookup databases,
                       KeyExtractor key_extractor, std::string journal_id, const Clock& clock)
    : io_(io),
      options_(std::move(options)),
      classifier_(classifier),
      databases_(std::move(databases)),
      key_extractor_(std::move(key_extractor)),
      checkpoint_key_(CheckpointKey(journal_id)),
      clock_(clock),
      fetch_sha_(FetchScriptSha1()) {
  set_connection(options_.connection);
}

void Reconciler::set_connection(UpstreamOptions connection) {
  options_.connection = std::move(connection);
  options_.connection.resp3 = false;
  options_.connection.db = 0;  // the checkpoint key lives in db 0
  options_.connection.client_name = "understudy-reconciler";
  options_.connection.timeout_ms = std::max(options_.connection.timeout_ms, kMinReconcileTimeoutMs);
}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Start(std::vector<storage::JournalRecord> records, DoneCallback done) {
  Stop();
  ++generation_;
  running_ = true;
  checkpoint_known_ = false;
  done_ = std::move(done);
  planner_ =
      std::make_unique<ReconcilePlanner>(classifier_, databases_, key_extractor_, options_.limits);
  early_ = std::move(records);
  fed_ = 0;
  for (const storage::JournalRecord& record : early_) {
    if (record.op == storage::JournalOp::kCommand) ++fed_;
  }
  replayed_before_ += result_.records_replayed;
  conflicts_before_ += result_.conflicts;
  result_ = ReconcileResult{};
  batch_in_flight_ = false;
  watch_attempts_ = 0;
  kinds_.clear();
  started_ms_ = clock_.NowMs();
  last_log_ms_ = started_ms_;
  connection_db_ = 0;

  target_ = std::make_shared<Target>(this, generation_);
  const uint64_t generation = generation_;
  connection_ = std::make_shared<UpstreamConnection>(
      io_, options_.connection, nullptr,
      [this, generation](UpstreamConnection&, FailureKind kind, std::string_view detail) {
        std::string what = "connection to the primary failed (" +
                           std::string(FailureKindName(kind)) + "): " + std::string(detail);
        // Not from inside the connection's own call stack.
        asio::post(io_, [this, generation, what] {
          if (generation == generation_ && running_) Fail(what);
        });
      });
  connection_->Connect();
  spdlog::info("reconciliation: starting with {} journaled writes onto {}:{}", fed_,
               options_.connection.host, options_.connection.port);
  Send({"GET", checkpoint_key_}, Kind::kCheckpoint);
}

bool Reconciler::StartFromJournal(const std::string& path, DoneCallback done, std::string* error) {
  std::vector<storage::JournalRecord> records;
  storage::JournalReadResult read;
  bool ok = storage::ReadJournal(
      path,
      [&records](const storage::JournalRecord& record) {
        records.push_back(record);
        return true;
      },
      &read, error);
  if (!ok) return false;
  Start(std::move(records), std::move(done));
  return true;
}

void Reconciler::Append(storage::JournalRecord record) {
  if (!running_) return;
  if (record.op == storage::JournalOp::kCommand) ++fed_;
  if (!checkpoint_known_) {
    early_.push_back(std::move(record));
    return;
  }
  planner_->Add(std::move(record));
  if (!batch_in_flight_) NextBatch();
}

void Reconciler::Stop() {
  ++generation_;
  running_ = false;
  if (target_) target_->Detach();
  target_.reset();
  if (connection_) connection_->Close();
  connection_.reset();
  batch_in_flight_ = false;
}

ReconcileProgress Reconciler::progress() const {
  ReconcileProgress progress;
  progress.running = running_;
  progress.replayed = result_.records_replayed;
  progress.pending = fed_ > result_.records_replayed ? fed_ - result_.records_replayed : 0;
  progress.batches = result_.batches;
  progress.conflicts = result_.conflicts;
  progress.applied_up_to = result_.applied_up_to;
  progress.last_duration_ms = last_duration_ms_;
  progress.replayed_total = replayed_before_ + result_.records_replayed;
  progress.conflicts_total = conflicts_before_ + result_.conflicts;
  int64_t elapsed = clock_.NowMs() - started_ms_;
  if (elapsed > 0) progress.records_per_second = result_.records_replayed * 1000.0 / elapsed;
  return progress;
}

void Reconciler::Send(const std::vector<std::string_view>& args, Kind kind, uint64_t group) {
  std::string bytes;
  protocol::AppendCommand(&bytes, std::span<const std::string_view>(args));
  const uint64_t token = next_token_++;
  kinds_.emplace(token, std::make_pair(kind, group));
  connection_->Send(bytes, target_, token);
}

void Reconciler::OnReply(uint64_t token, std::string_view bytes) {
  auto it = kinds_.find(token);
  if (it == kinds_.end()) return;
  const auto [kind, group] = it->second;
  kinds_.erase(it);
  protocol::ReplyValue value;
  size_t consumed = 0;
  std::string parse_error;
  if (protocol::ParseReply(bytes, &value, &consumed, &parse_error) !=
      protocol::ScanStatus::kComplete) {
    return Fail("unparsable reply from the primary: " + parse_error);
  }
  switch (kind) {
    case Kind::kCheckpoint:
      return OnCheckpoint(value);
    case Kind::kIgnore:
      if (value.IsError()) return Fail("the primary refused a command: " + value.str);
      return;
    case Kind::kFetch:
      return OnFetch(group, value);
    case Kind::kQueued:
      if (value.IsError() && queue_error_.empty()) queue_error_ = value.str;
      return;
    case Kind::kExec:
      return OnExec(value);
  }
}

void Reconciler::OnCheckpoint(const protocol::ReplyValue& value) {
  int64_t checkpoint = 0;
  if (value.IsError()) return Fail("GET " + checkpoint_key_ + " failed: " + value.str);
  if (!value.IsNull() && (!ParseInt64(value.str, &checkpoint) || checkpoint < 0)) {
    return Fail("checkpoint key " + checkpoint_key_ + " holds no sequence number");
  }
  checkpoint_known_ = true;
  result_.applied_up_to = static_cast<uint64_t>(checkpoint);
  planner_->SetCheckpoint(static_cast<uint64_t>(checkpoint));
  // Records already on the primary are not pending for this run.
  std::vector<storage::JournalRecord> records = std::move(early_);
  early_.clear();
  for (storage::JournalRecord& record : records) {
    if (record.op == storage::JournalOp::kCommand && record.seq <= planner_->checkpoint() &&
        fed_ > 0) {
      --fed_;
    }
    planner_->Add(std::move(record));
  }
  if (planner_->checkpoint() > 0) {
    spdlog::info("reconciliation: the primary has every write up to seq {} already",
                 planner_->checkpoint());
  }
  NextBatch();
}

void Reconciler::NextBatch() {
  if (!running_ || batch_in_flight_) return;
  if (!planner_->HasPending()) return Finish();
  current_ = planner_->NextBatch(clock_.NowMs());
  batch_in_flight_ = true;
  batch_conflicts_.clear();
  queue_error_.clear();
  if (current_.lww.empty()) return SendTransaction();

  // lww keys: WATCH them, then read their state on the primary. The EXEC
  // fails if one changes in between, and the batch is planned again.
  groups_.clear();
  for (size_t i = 0; i < current_.lww.size(); ++i) {
    const LwwWrite& write = current_.lww[i];
    auto group = std::find_if(groups_.begin(), groups_.end(),
                              [&](const FetchGroup& g) { return g.db == write.db; });
    if (group == groups_.end()) {
      groups_.push_back(FetchGroup{write.db});
      group = groups_.end() - 1;
    }
    group->lww_indexes.push_back(i);
    group->keys.push_back(write.key);
  }
  groups_waiting_ = groups_.size();
  for (size_t g = 0; g < groups_.size(); ++g) {
    std::string select = std::to_string(groups_[g].db);
    if (groups_[g].db != connection_db_) Send({"SELECT", select}, Kind::kIgnore);
    connection_db_ = groups_[g].db;
    std::vector<std::string_view> watch = {"WATCH"};
    for (const std::string& key : groups_[g].keys) watch.push_back(key);
    Send(watch, Kind::kIgnore);
    SendFetch(g, /*with_script=*/false);
  }
  if (connection_db_ != 0) Send({"SELECT", "0"}, Kind::kIgnore);
  connection_db_ = 0;
}

void Reconciler::SendFetch(size_t group, bool with_script) {
  const FetchGroup& g = groups_[group];
  // After a NOSCRIPT the connection is back in db 0: select again.
  if (with_script && g.db != 0) Send({"SELECT", std::to_string(g.db)}, Kind::kIgnore);
  std::string bytes =
      with_script ? BuildFetchRequest(g.keys) : BuildFetchRequestSha(g.keys, fetch_sha_);
  const uint64_t token = next_token_++;
  kinds_.emplace(token, std::make_pair(Kind::kFetch, group));
  connection_->Send(bytes, target_, token);
  if (with_script && g.db != 0) Send({"SELECT", "0"}, Kind::kIgnore);
}

void Reconciler::OnFetch(size_t group, const protocol::ReplyValue& value) {
  if (group >= groups_.size() || groups_[group].done) return;
  FetchGroup& g = groups_[group];
  if (IsNoScriptError(value)) return SendFetch(group, /*with_script=*/true);
  std::string error;
  if (!ParseFetchReply(value, g.keys, &g.states, &error)) return Fail(error);
  g.done = true;
  if (--groups_waiting_ > 0) return;
  std::vector<FetchedKey> primary(current_.lww.size());
  for (FetchGroup& done_group : groups_) {
    for (size_t i = 0; i < done_group.lww_indexes.size(); ++i) {
      primary[done_group.lww_indexes[i]] = std::move(done_group.states[i]);
    }
  }
  planner_->ResolveLww(current_, primary, &batch_conflicts_);
  SendTransaction();
}

void Reconciler::SelectDb(uint32_t db) {
  if (db == connection_db_) return;
  Send({"SELECT", std::to_string(db)}, Kind::kQueued);
  exec_keys_.emplace_back();
  connection_db_ = db;
}

void Reconciler::SendTransaction() {
  // The commands and the checkpoint go in one MULTI/EXEC: the primary
  // applies both or neither, which is the exactly-once guarantee. The
  // apply script is loaded inside the transaction, so an EVALSHA in it can
  // never meet NOSCRIPT (which would fail that command alone and still
  // commit the rest, checkpoint included).
  exec_keys_.clear();
  Send({"MULTI"}, Kind::kQueued);
  if (current_.uses_apply_script) {
    Send({"SCRIPT", "LOAD", ApplyScript()}, Kind::kQueued);
    exec_keys_.emplace_back();
  }
  for (const PlannedCommand& command : current_.commands) {
    SelectDb(command.db);
    std::vector<std::string_view> args(command.argv.begin(), command.argv.end());
    Send(args, Kind::kQueued);
    exec_keys_.push_back(command.key);
  }
  SelectDb(0);
  std::string seq = std::to_string(current_.last_seq);
  Send({"SET", checkpoint_key_, seq}, Kind::kQueued);
  exec_keys_.push_back(checkpoint_key_);
  Send({"EXEC"}, Kind::kExec);
}

void Reconciler::OnExec(const protocol::ReplyValue& value) {
  // Whatever happened, EXEC leaves the connection in the db of the last
  // SELECT it queued, which is db 0 (SendTransaction ends with it).
  connection_db_ = 0;
  if (value.IsNull()) {
    // A WATCHed lww key changed between the fetch and the EXEC: nothing of
    // the batch was applied; plan it again with fresh states.
    ++result_.watch_retries;
    if (++watch_attempts_ > options_.max_watch_retries) {
      return Fail("an lww key kept changing on the primary; gave up after " +
                  std::to_string(watch_attempts_ - 1) + " attempts");
    }
    batch_in_flight_ = false;
    planner_->Requeue(std::move(current_));
    return NextBatch();
  }
  if (value.IsError()) {
    return Fail("EXEC refused (" + value.str + ")" +
                (queue_error_.empty() ? "" : ", first queued error: " + queue_error_));
  }
  watch_attempts_ = 0;
  // Errors of single commands inside a committed EXEC (a counter that is
  // not a number on the primary, a WRONGTYPE): the rest is applied and the
  // checkpoint moved; report them.
  for (size_t i = 0; i < value.elements.size(); ++i) {
    if (!value.elements[i].IsError()) continue;
    ++result_.apply_errors;
    if (result_.apply_errors <= 20) {
      std::string_view key = i < exec_keys_.size() ? std::string_view(exec_keys_[i]) : "?";
      spdlog::warn("reconciliation: the primary refused a replayed write on key '{}': {}", key,
                   value.elements[i].str);
    }
  }
  for (ReconcileConflict& conflict : batch_conflicts_) {
    ++result_.conflicts;
    // The first conflicts by name; the total is in the closing line and
    // INFO, so that a large conflicting replay does not flood the log.
    if (result_.conflicts > kConflictsLogged) continue;
    if (result_.conflicts == kConflictsLogged) {
      spdlog::warn("reconciliation: more lww conflicts follow; only their count is reported");
    }
    spdlog::warn("reconciliation: lww conflict on key '{}' (class {}, db {}): the {} state wins",
                 conflict.key, conflict.class_name, conflict.db,
                 conflict.local_won ? "local" : "primary");
    if (result_.conflict_list.size() < options_.max_conflicts_listed) {
      result_.conflict_list.push_back(std::move(conflict));
    }
  }
  batch_conflicts_.clear();
  planner_->Committed(current_);
  result_.records_replayed += current_.command_records;
  result_.skipped += current_.skipped;
  ++result_.batches;
  result_.applied_up_to = std::max(result_.applied_up_to, current_.last_seq);
  batch_in_flight_ = false;
  if (batch_listener_) {
    const uint64_t generation = generation_;
    batch_listener_(current_);
    if (generation != generation_ || !running_) return;  // the listener stopped us
  }
  LogProgress(false);
  NextBatch();
}

void Reconciler::LogProgress(bool force) {
  const int64_t now = clock_.NowMs();
  if (!force && now - last_log_ms_ < kProgressLogIntervalMs) return;
  last_log_ms_ = now;
  ReconcileProgress p = progress();
  spdlog::info("reconciliation: {} writes replayed, {} pending, {} conflicts ({:.0f} writes/s)",
               p.replayed, p.pending, p.conflicts, p.records_per_second);
}

void Reconciler::Fail(std::string error) {
  if (!running_) return;
  spdlog::error("reconciliation failed after {} writes replayed: {}", result_.records_replayed,
                error);
  result_.ok = false;
  result_.error = std::move(error);
  result_.duration_ms = clock_.NowMs() - started_ms_;
  DoneCallback done = std::move(done_);
  ReconcileResult result = result_;
  Stop();
  if (done) done(result);
}

void Reconciler::Finish() {
  result_.ok = true;
  result_.duration_ms = clock_.NowMs() - started_ms_;
  last_duration_ms_ = result_.duration_ms;
  spdlog::info(
      "reconciliation done: {} writes replayed in {} batches, {} conflicts, {} refused, "
      "checkpoint {} ({} ms)",
      result_.records_replayed, result_.batches, result_.conflicts, result_.apply_errors,
      result_.applied_up_to, result_.duration_ms);
  DoneCallback done = std::move(done_);
  ReconcileResult result = result_;
  Stop();
  if (done) done(result);
}

}  // namespace understudy::replication

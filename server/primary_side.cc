#include "server/primary_side.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <utility>
#include <vector>

#include "replication/mirror.h"
#include "replication/primary_link.h"
#include "replication/reconcile_plan.h"
#include "replication/reconciler.h"
#include "server/network.h"
#include "server/outage_journal.h"
#include "server/proxy.h"
#include "server/server.h"
#include "server/version.h"
#include "storage/disk_io.h"

namespace understudy::server {
namespace {

using replication::PrimaryState;

// In `dir` (the process's working directory).
constexpr const char* kJournalFile = "understudy-journal.ujl";
constexpr const char* kSnapshotFile = "understudy-snapshot.uss";
constexpr const char* kJournalIdFile = "understudy-journal.id";

replication::PrimaryLinkOptions LinkOptionsFrom(const Config& config) {
  replication::PrimaryLinkOptions options;
  options.host = config.primary_host;
  options.port = config.primary_port;
  for (const auto& sentinel : config.primary_sentinels) {
    options.sentinels.emplace_back(sentinel.host, sentinel.port);
  }
  options.sentinel_master_name = config.primary_name;
  options.user = config.primary_user;
  options.password = config.primary_password;
  options.tls = config.primary_tls;
  options.tls_ca_cert_file = config.primary_tls_ca_cert_file;
  options.tls_cert_file = config.primary_tls_cert_file;
  options.tls_key_file = config.primary_tls_key_file;
  options.tls_server_name = config.primary_tls_server_name;
  options.timeout_ms = config.primary_timeout_ms;
  options.probe_interval_ms = config.primary_probe_interval_ms;
  options.probe_max_interval_ms = config.primary_probe_max_interval_ms;
  options.connections = config.primary_connections;
  options.pinned_max = config.primary_pinned_max;
  return options;
}

replication::Mirror::Options MirrorOptionsFrom(const Config& config,
                                               const replication::PrimaryLink& link) {
  replication::Mirror::Options options;
  options.connection = link.ConnectionOptions(false, 0);
  auto count = [](int64_t value) { return static_cast<size_t>(std::max<int64_t>(0, value)); };
  options.limits.hash = {count(config.hash_max_listpack_entries),
                         count(config.hash_max_listpack_value)};
  options.limits.set.max_intset_entries = config.set_max_intset_entries;
  options.limits.zset = {count(config.zset_max_listpack_entries),
                         count(config.zset_max_listpack_value)};
  options.limits.list_max_listpack_size = config.list_max_listpack_size;
  return options;
}

// The journal's id: journal-id when configured; otherwise the one kept in
// `dir` beside the journal, made once from the host name and random bytes.
// It must not change while a journal is pending (the checkpoint on the
// primary is found by it), so it is not derived from the port.
bool JournalId(const Config& config, std::string* id, std::string* error) {
  if (!config.journal_id.empty()) {
    *id = config.journal_id;
    return true;
  }
  if (std::ifstream in(kJournalIdFile); in && std::getline(in, *id) && !id->empty()) return true;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "host");
  std::random_device random;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x%08x", random(), random());
  *id = std::string(host) + "-" + suffix;
  if (!storage::WriteFileAtomically(kJournalIdFile, *id + "\n", error)) {
    *error = std::string(kJournalIdFile) + ": " + *error;
    return false;
  }
  return true;
}

}  // namespace

PrimarySide::PrimarySide(boost::asio::io_context& io, Server& server, Network& network,
                         const Clock& clock)
    : io_(io), server_(server), network_(network), clock_(clock) {}

PrimarySide::~PrimarySide() = default;

bool PrimarySide::Start(std::string* error) {
  const Config& config = server_.config();
  if (!JournalId(config, &journal_id_, error)) return false;
  try {
    link_ = std::make_unique<replication::PrimaryLink>(io_, LinkOptionsFrom(config), clock_);
  } catch (const std::exception& e) {
    *error = std::string("cannot set up the primary link: ") + e.what();
    return false;
  }
  proxy_ = std::make_unique<Proxy>(server_, *link_);
  network_.set_proxy(proxy_.get());

  // The journal first: a pending outage restores the local store before
  // any client is served from it.
  OutageJournal::Options journal_options;
  journal_options.journal_path = kJournalFile;
  journal_options.snapshot_path = kSnapshotFile;
  storage::ParseFsyncPolicy(config.journal_fsync, &journal_options.fsync);
  journal_options.max_bytes = config.journal_max_bytes;
  journal_ = std::make_unique<OutageJournal>(server_, journal_options);
  journal_->set_baseline_encoder(
      [](const storage::Entry* entry) { return replication::EncodeBaseline(entry); });
  if (!journal_->Open(error)) return false;
  server_.set_journal(journal_.get());

  replication::ReconcilerOptions reconciler_options;
  reconciler_options.connection = link_->ConnectionOptions(false, 0);
  reconciler_ = std::make_unique<replication::Reconciler>(
      io_, reconciler_options, server_.classifier(),
      [this](uint32_t db) -> storage::Database* {
        return db < static_cast<uint32_t>(server_.database_count()) ? &server_.db(db) : nullptr;
      },
      [this](std::span<const std::string> argv, std::vector<size_t>* key_indexes) {
        std::vector<std::string_view> views(argv.begin(), argv.end());
        const CommandSpec* spec = server_.commands().Lookup(views).spec;
        if (spec == nullptr) return;
        std::vector<int> indexes;
        spec->KeyIndexes(views, &indexes);
        for (int index : indexes) key_indexes->push_back(static_cast<size_t>(index));
      },
      journal_id_, clock_);
  proxy_->set_reconciler(reconciler_.get());
  // Writes made while the journal is being replayed follow the replay.
  journal_->set_record_listener([this](const storage::JournalRecord& record) {
    const bool replayable =
        record.op == storage::JournalOp::kCommand || record.op == storage::JournalOp::kBaseline;
    if (replayable && reconciler_->running()) reconciler_->Append(record);
  });

  mirror_ = std::make_unique<replication::Mirror>(io_, MirrorOptionsFrom(config, *link_),
                                                  server_.classifier(), server_.db(0), clock_);
  if (mirror_->enabled()) {
    proxy_->set_mirror(mirror_.get());
    mirror_->set_failure_listener([this](replication::FailureKind kind, std::string_view detail) {
      link_->ReportFailure(kind, detail);
    });
  }
  link_->set_state_listener(
      [this](PrimaryState from, PrimaryState to, std::string_view) { OnStateChange(from, to); });
  link_->set_recovery_handler([this] { Reconcile(); });

  // The link starts down: until the primary has answered (and anything
  // journaled has been replayed onto it) local writes are journaled.
  journal_->BeginOutage();
  spdlog::info("understudy {} started, proxy mode for primary {}, journal id {}, pid={}", kVersion,
               link_->address().empty() ? "(from Sentinel)" : link_->address(), journal_id_,
               ::getpid());
  link_->Start();
  return true;
}

void PrimarySide::WhenLinkReady(std::function<void()> start, int64_t fallback_ms) {
  auto once = std::make_shared<std::function<void()>>(std::move(start));
  auto fire = [once] {
    if (!*once) return;
    auto run = std::exchange(*once, nullptr);
    run();
  };
  link_->set_first_probe_listener(fire);
  ready_timer_ = std::make_unique<boost::asio::steady_timer>(io_);
  ready_timer_->expires_after(std::chrono::milliseconds(fallback_ms));
  ready_timer_->async_wait([fire](const boost::system::error_code& ec) {
    if (!ec) fire();
  });
}

void PrimarySide::Stop() {
  if (ready_timer_) ready_timer_->cancel();
  if (reconciler_) reconciler_->Stop();
  if (mirror_) mirror_->Stop();
  if (link_) {
    // Let the closed connections' handlers run and let go of them before
    // the io_context they belong to goes away.
    link_->Stop();
    io_.restart();
    io_.poll();
  }
  if (journal_) journal_->Close();
}

void PrimarySide::OnStateChange(PrimaryState from, PrimaryState to) {
  if (to == PrimaryState::kHealthy) {
    healthy_replication_id_ = link_->replication_id();
    // The mirror reloads from the primary, which now holds the outage's
    // writes too; it is stale from the moment the primary is not healthy.
    if (mirror_->enabled()) mirror_->Start(link_->options().host, link_->options().port);
    return;
  }
  if (from == PrimaryState::kHealthy) {
    if (mirror_->enabled()) mirror_->Stop();
    journal_->BeginOutage();
  }
  // Failed while replaying: the next recovery resumes from the checkpoint.
  if (to != PrimaryState::kRecovering && reconciler_->running()) reconciler_->Stop();
}

void PrimarySide::QueueUnionWriteBack() {
  const std::string& now_id = link_->replication_id();
  if (healthy_replication_id_.empty() || now_id.empty() || now_id == healthy_replication_id_) {
    return;
  }
  // The mirror holds what the primary held before (db 0 only). Keys of
  // union classes go back whole; anything the primary kept is unchanged.
  const replication::KeyClassifier& classifier = server_.classifier();
  const int64_t now_ms = clock_.NowMs();
  std::vector<std::pair<std::string, size_t>> keys;
  uint64_t cursor = 0;
  do {
    cursor = server_.db(0).dict().Scan(cursor, [&](storage::Entry* entry) {
      const size_t index = classifier.Classify(entry->key());
      if (classifier.classes()[index].merge == replication::MergeRule::kUnion &&
          server_.db(0).IsLive(entry, now_ms)) {
        keys.emplace_back(std::string(entry->key()), index);
      }
    });
  } while (cursor != 0);
  spdlog::warn(
      "primary {} came back with another replication ID ({}, was {}): it may have lost writes; "
      "writing back {} keys of union classes from the mirror",
      link_->address(), now_id, healthy_replication_id_, keys.size());
  for (const auto& [key, index] : keys) {
    journal_->AppendWriteBack(0, key, classifier.classes()[index].name, now_ms);
  }
}

void PrimarySide::Reconcile() {
  QueueUnionWriteBack();
  std::string error;
  std::vector<storage::JournalRecord> records = journal_->PendingRecords(&error);
  if (!error.empty()) {
    spdlog::error("journal: cannot read the records to reconcile: {}", error);
    link_->ReportFailure(replication::FailureKind::kProtocol, "outage journal unreadable");
    return;
  }
  const bool any_command = std::any_of(
      records.begin(), records.end(),
      [](const storage::JournalRecord& r) { return r.op == storage::JournalOp::kCommand; });
  if (!any_command) {
    journal_->EndOutage();
    link_->RecoveryComplete();
    return;
  }
  spdlog::info("reconciling {} journal records onto the primary", records.size());
  reconciler_->set_connection(link_->ConnectionOptions(false, 0));
  reconciler_->Start(std::move(records), [this](const replication::ReconcileResult& result) {
    if (!result.ok) {
      spdlog::warn(
          "reconciliation stopped after {} records ({}); it resumes when the primary "
          "answers again",
          result.records_replayed, result.error);
      link_->ReportFailure(replication::FailureKind::kReset, "reconciliation: " + result.error);
      return;
    }
    spdlog::info(
        "reconciliation done: {} records in {} batches, {} conflicts, {} apply errors, {} ms",
        result.records_replayed, result.batches, result.conflicts, result.apply_errors,
        result.duration_ms);
    journal_->EndOutage();
    link_->RecoveryComplete();
  });
}

}  // namespace understudy::server

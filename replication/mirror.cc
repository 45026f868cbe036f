#include "replication/mirror.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/glob.h"
#include "protocol/request_writer.h"

namespace understudy::replication {

namespace asio = boost::asio;

namespace {

// Fetch batches may be large; the primary's ordinary timeout is for
// single commands.
constexpr int64_t kMinMirrorTimeoutMs = 5000;
constexpr int64_t kRetryDelayMs = 200;
constexpr int64_t kProgressLogIntervalMs = 1000;

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The prefixes CLIENT TRACKING BCAST needs: one per class, none covering
// another (Redis refuses overlapping prefixes). An empty prefix means
// every key.
std::vector<std::string> TrackingPrefixes(const std::vector<std::string>& literal_prefixes) {
  std::vector<std::string> sorted = literal_prefixes;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<std::string> kept;
  for (const std::string& prefix : sorted) {
    // Sorted order puts "a" before "ab": keep only the shortest of a chain.
    if (!kept.empty() && prefix.starts_with(kept.back())) continue;
    kept.push_back(prefix);
  }
  return kept;
}

}  // namespace

// Hands the connections' replies to the mirror that is current; replies for
// an older session (before a restart) are ignored.
class Mirror::Target : public ReplyTarget {
 public:
  Target(Mirror* mirror, uint64_t generation) : mirror_(mirror), generation_(generation) {}
  void OnUpstreamReply(uint64_t token, std::string_view reply, char) override {
    if (mirror_ != nullptr && mirror_->generation_ == generation_) mirror_->OnReply(token, reply);
  }
  void OnUpstreamFailed(uint64_t) override {}
  void Detach() { mirror_ = nullptr; }

 private:
  Mirror* mirror_;
  uint64_t generation_;
};

Mirror::Mirror(asio::io_context& io, Options options, const KeyClassifier& classifier,
               storage::Database& db, const Clock& clock)
    : io_(io),
      options_(std::move(options)),
      classifier_(classifier),
      db_(db),
      clock_(clock),
      stats_(classifier.classes().size()),
      retry_timer_(io),
      stale_since_ms_(clock.NowMs()) {
  std::vector<std::string> literal_prefixes;
  for (size_t i = 0; i < classifier_.classes().size(); ++i) {
    const KeyClass& key_class = classifier_.classes()[i];
    if (!key_class.mirror) continue;
    mirrored_.push_back(i);
    literal_prefixes.emplace_back(GlobLiteralPrefix(key_class.pattern));
  }
  prefixes_ = TrackingPrefixes(literal_prefixes);
  options_.connection.timeout_ms = std::max(options_.connection.timeout_ms, kMinMirrorTimeoutMs);
  options_.connection.client_name = "understudy-mirror";
}

Mirror::~Mirror() { Stop(); }

std::string_view Mirror::state_name() const {
  if (live_) return "live";
  return loading_ ? "loading" : "stale";
}

bool Mirror::IsMirrored(std::string_view key, size_t* class_index) const {
  size_t index = classifier_.Classify(key);
  *class_index = index;
  return classifier_.classes()[index].mirror;
}

std::shared_ptr<UpstreamConnection> Mirror::Connect(bool resp3) {
  UpstreamOptions options = options_.connection;
  options.host = host_;
  options.port = port_;
  options.resp3 = resp3;
  const uint64_t generation = generation_;
  auto connection = std::make_shared<UpstreamConnection>(
      io_, options, nullptr,
      [this, generation](UpstreamConnection&, FailureKind kind, std::string_view detail) {
        if (generation != generation_) return;
        std::string what = std::string(FailureKindName(kind)) + ": " + std::string(detail);
        asio::post(io_, [this, generation, kind, what] {
          if (generation == generation_) OnFailure(kind, what, /*connection_lost=*/true);
        });
      });
  connection->Connect();
  return connection;
}

void Mirror::Start(const std::string& host, int port) {
  if (!enabled()) return;
  retry_timer_.cancel();
  Drop();
  host_ = host;
  port_ = port;
  running_ = true;
  ++generation_;
  target_ = std::make_shared<Target>(this, generation_);
  tracking_ = Connect(true);
  tracking_->set_push_handler([this, generation = generation_](std::string_view push) {
    if (generation == generation_) OnPush(push);
  });
  fetcher_ = Connect(false);
  // Tracking first: every change from here on is announced, so a key the
  // load reads before it changes is fetched again afterwards.
  std::vector<std::string_view> request = {"CLIENT", "TRACKING", "ON", "BCAST"};
  for (const std::string& prefix : prefixes_) {
    if (prefix.empty()) continue;  // an empty prefix: no PREFIX at all (every key)
    request.push_back("PREFIX");
    request.push_back(prefix);
  }
  if (std::any_of(prefixes_.begin(), prefixes_.end(), [](auto& p) { return p.empty(); })) {
    request.resize(4);
  }
  std::string bytes;
  protocol::AppendCommand(&bytes, request);
  const uint64_t token = next_token_++;
  pending_kinds_[token] = Pending::kTracking;
  tracking_->Send(bytes, target_, token);
}

void Mirror::Stop() {
  running_ = false;
  retry_timer_.cancel();
  Drop();
}

void Mirror::Drop() {
  ++generation_;
  if (target_) target_->Detach();
  target_.reset();
  if (tracking_) tracking_->Close();
  if (fetcher_) fetcher_->Close();
  tracking_.reset();
  fetcher_.reset();
  pending_kinds_.clear();
  fetches_.clear();
  refetch_queue_.clear();
  pending_keys_.clear();
  written_since_token_.clear();
  own_writes_.clear();
  loading_ = false;
  scan_in_flight_ = false;
  if (live_) {
    live_ = false;
    stale_since_ms_ = clock_.NowMs();
    spdlog::warn("mirror is stale: the connection to the primary is gone");
  }
}

void Mirror::OnFailure(FailureKind kind, std::string_view what, bool connection_lost) {
  failure_log_.Log(spdlog::level::warn,
                   fmt::format("mirror connection to {}:{} failed: {}", host_, port_, what),
                   clock_.NowMs());
  Drop();
  // A lost connection says something about the primary; a refusal of the
  // mirror's own commands (CLIENT TRACKING on an old server) does not.
  if (connection_lost && failure_listener_) failure_listener_(kind, what);
  ScheduleRetry();
}

void Mirror::ScheduleRetry() {
  if (!running_) return;
  retry_timer_.expires_after(std::chrono::milliseconds(kRetryDelayMs));
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    Start(host_, port_);
  });
}

void Mirror::BeginLoad() {
  loading_ = true;
  unseen_.clear();
  for (std::string& key : LocalMirroredKeys()) unseen_.insert(std::move(key));
  load_class_ = 0;
  scan_cursor_ = "0";
  load_started_ms_ = clock_.NowMs();
  last_progress_log_ms_ = load_started_ms_;
  load_keys_ = 0;
  scanned_keys_ = 0;
  std::string bytes;
  protocol::AppendCommand(&bytes, {"DBSIZE"});
  const uint64_t token = next_token_++;
  pending_kinds_[token] = Pending::kDbSize;
  fetcher_->Send(bytes, target_, token);
  SendScan();
}

void Mirror::SendScan() {
  const KeyClass& key_class = classifier_.classes()[mirrored_[load_class_]];
  std::string count = std::to_string(options_.scan_count);
  std::string bytes;
  protocol::AppendCommand(&bytes,
                          {"SCAN", scan_cursor_, "MATCH", key_class.pattern, "COUNT", count});
  const uint64_t token = next_token_++;
  pending_kinds_[token] = Pending::kScan;
  scan_in_flight_ = true;
  fetcher_->Send(bytes, target_, token);
}

void Mirror::SendFetch(std::vector<std::string> keys, bool refetch) {
  for (size_t start = 0; start < keys.size(); start += options_.batch_keys) {
    size_t end = std::min(keys.size(), start + options_.batch_keys);
    FetchBatch batch;
    batch.keys.assign(std::make_move_iterator(keys.begin() + start),
                      std::make_move_iterator(keys.begin() + end));
    batch.refetch = refetch;
    batch.started_us = refetch ? refetch_queued_us_ : SteadyUs();
    batch.flush_epoch = flush_epoch_;
    const uint64_t token = next_token_++;
    pending_kinds_[token] = Pending::kFetch;
    std::string bytes = BuildFetchRequest(batch.keys);
    fetches_.emplace(token, std::move(batch));
    fetcher_->Send(bytes, target_, token);
  }
}

void Mirror::OnReply(uint64_t token, std::string_view reply) {
  auto kind = pending_kinds_.find(token);
  if (kind == pending_kinds_.end()) return;
  const Pending pending = kind->second;
  pending_kinds_.erase(kind);
  protocol::ReplyValue value;
  size_t consumed = 0;
  std::string error;
  if (protocol::ParseReply(reply, &value, &consumed, &error) != protocol::ScanStatus::kComplete) {
    OnFailure(FailureKind::kProtocol, "unparsable reply: " + error, false);
    return;
  }
  switch (pending) {
    case Pending::kTracking:
      if (value.IsError()) {
        spdlog::error("mirror: CLIENT TRACKING refused by the primary: {}", value.str);
        OnFailure(FailureKind::kProtocol, "CLIENT TRACKING refused", false);
        return;
      }
      BeginLoad();
      break;
    case Pending::kDbSize:
      primary_keys_ = value.integer;
      break;
    case Pending::kScan:
      OnScanReply(value);
      break;
    case Pending::kFetch:
      OnFetchReply(token, value);
      break;
  }
}

void Mirror::OnScanReply(const protocol::ReplyValue& value) {
  scan_in_flight_ = false;
  if (value.IsError() || value.elements.size() != 2) {
    OnFailure(FailureKind::kProtocol, "bad SCAN reply: " + value.str, false);
    return;
  }
  scan_cursor_ = value.elements[0].str;
  const size_t current_class = mirrored_[load_class_];
  std::vector<std::string> keys;
  for (const protocol::ReplyValue& key : value.elements[1].elements) {
    ++scanned_keys_;
    // First match wins: a key the pattern matches may belong to an earlier class.
    size_t class_index = 0;
    if (IsMirrored(key.str, &class_index) && class_index == current_class) keys.push_back(key.str);
  }
  if (!keys.empty()) SendFetch(std::move(keys), false);
  if (scan_cursor_ == "0") {
    if (++load_class_ >= mirrored_.size()) {
      MaybeFinishLoad();
      return;
    }
  }
  SendScan();  // pipelined behind the fetch
}

void Mirror::OnFetchReply(uint64_t token, const protocol::ReplyValue& value) {
  auto it = fetches_.find(token);
  if (it == fetches_.end()) return;
  FetchBatch batch = std::move(it->second);
  fetches_.erase(it);
  std::vector<FetchedKey> fetched;
  std::string error;
  if (!ParseFetchReply(value, batch.keys, &fetched, &error)) {
    OnFailure(FailureKind::kProtocol, "bad fetch reply: " + error, false);
    return;
  }
  const int64_t now_ms = clock_.NowMs();
  // Fetched before the primary was flushed (the reply crossed the flush
  // invalidation, which comes on the other connection): stale. Keys written
  // since are invalidated again and fetched anew.
  const bool stale = batch.flush_epoch != flush_epoch_;
  for (const FetchedKey& key : fetched) {
    if (batch.refetch) {
      auto pending = pending_keys_.find(key.key);
      if (pending != pending_keys_.end() && --pending->second <= 0) pending_keys_.erase(pending);
    }
    if (stale) continue;
    // A re-fetch racing this host's own write to the key is held back (a
    // load's fetch is not: it is the key's base state).
    if (batch.refetch && !own_writes_.empty() && own_writes_.count(key.key) > 0) {
      continue;  // this host's write to it is in flight: applied when answered
    }
    if (batch.refetch && !written_since_token_.empty()) {
      auto written = written_since_token_.find(key.key);
      if (written != written_since_token_.end()) {
        if (token < written->second) {
          if (!unseen_.empty()) unseen_.erase(key.key);
          continue;  // sent before this host's own write was applied here
        }
        written_since_token_.erase(written);
      }
    }
    ApplyOutcome outcome = ApplyFetchedKey(key, db_, options_.limits, now_ms);
    if (!unseen_.empty()) unseen_.erase(key.key);
    size_t class_index = classifier_.Classify(key.key);
    MirrorClassStats& stats = stats_[class_index];
    if (batch.refetch) ++stats.refetches;
    if (outcome == ApplyOutcome::kStored && !batch.refetch) {
      ++stats.loaded;
      ++load_keys_;
    }
    if (outcome != ApplyOutcome::kStored) ++stats.removed;
  }
  if (batch.refetch) {
    ++refetch_batches_;
    refetch_latency_us_total_ +=
        static_cast<uint64_t>(std::max<int64_t>(0, SteadyUs() - batch.started_us));
  }
  if (loading_ && now_ms - last_progress_log_ms_ >= kProgressLogIntervalMs) {
    last_progress_log_ms_ = now_ms;
    const double seconds = std::max<int64_t>(1, now_ms - load_started_ms_) / 1000.0;
    spdlog::info("mirror loading: {} keys loaded ({:.0f} keys/s), {} keys scanned of {} ({:.0f}%)",
                 load_keys_, load_keys_ / seconds, scanned_keys_, primary_keys_,
                 primary_keys_ > 0 ? 100.0 * scanned_keys_ / primary_keys_ : 100.0);
  }
  MaybeFinishLoad();
}

void Mirror::MaybeFinishLoad() {
  if (!loading_ || scan_in_flight_ || load_class_ < mirrored_.size()) return;
  for (const auto& [token, batch] : fetches_) {
    if (!batch.refetch) return;  // load batches still coming
  }
  loading_ = false;
  // What the primary no longer has (deleted while we were away, or a
  // restart with another dataset) goes here too.
  const int64_t now_ms = clock_.NowMs();
  for (const std::string& key : unseen_) {
    if (db_.Delete(key, now_ms)) ++stats_[classifier_.Classify(key)].removed;
  }
  unseen_.clear();
  live_ = true;
  failure_log_.Flush(now_ms);
  ++loads_completed_;
  last_load_duration_ms_ = now_ms - load_started_ms_;
  spdlog::info("mirror loaded {} keys of {} mirrored classes from {}:{} in {} ms", load_keys_,
               mirrored_.size(), host_, port_, last_load_duration_ms_);
}

void Mirror::OnPush(std::string_view push) {
  protocol::ReplyValue value;
  size_t consumed = 0;
  if (protocol::ParseReply(push, &value, &consumed) != protocol::ScanStatus::kComplete) return;
  if (value.elements.size() != 2 || value.elements[0].str != "invalidate") return;
  const protocol::ReplyValue& keys = value.elements[1];
  if (keys.IsNull()) {
    // FLUSHALL/FLUSHDB on the primary: start over from what it holds now.
    spdlog::info("mirror: the primary was flushed; reloading");
    ++flush_epoch_;
    RemoveAllMirroredKeys();
    if (!loading_) BeginLoad();
    return;
  }
  for (const protocol::ReplyValue& key : keys.elements) {
    size_t class_index = 0;
    // Keys that match a tracked prefix but not a mirrored class's pattern
    // are none of the mirror's business.
    if (!IsMirrored(key.str, &class_index)) continue;
    ++stats_[class_index].invalidations;
    QueueRefetch(key.str);
  }
}

void Mirror::Refetch(std::string_view key) {
  size_t class_index = 0;
  if (!live_ || !fetcher_ || !IsMirrored(key, &class_index)) return;
  written_since_token_[std::string(key)] = next_token_;
  QueueRefetch(key);
}

void Mirror::OwnWriteSent(std::string_view key) {
  size_t class_index = 0;
  if (!IsMirrored(key, &class_index)) return;
  ++own_writes_[std::string(key)];
}

void Mirror::OwnWriteDone(std::string_view key) {
  if (own_writes_.empty()) return;
  auto it = own_writes_.find(std::string(key));
  if (it != own_writes_.end() && --it->second <= 0) own_writes_.erase(it);
}

void Mirror::QueueRefetch(std::string_view key) {
  if (refetch_queue_.empty()) refetch_queued_us_ = SteadyUs();
  refetch_queue_.emplace_back(key);
  ++pending_keys_[std::string(key)];
  unseen_.erase(std::string(key));
  if (refetch_posted_) return;
  refetch_posted_ = true;
  // One fetch for every key queued in this turn of the loop.
  asio::post(io_, [this, generation = generation_] {
    refetch_posted_ = false;
    if (generation == generation_) FlushRefetches();
  });
}

void Mirror::FlushRefetches() {
  if (refetch_queue_.empty() || !fetcher_) return;
  std::vector<std::string> keys;
  keys.swap(refetch_queue_);
  // Duplicates stay: each invalidation is paid back by one applied fetch
  // (pending_keys_ counts them).
  SendFetch(std::move(keys), true);
}

std::vector<std::string> Mirror::LocalMirroredKeys() {
  std::vector<std::string> keys;
  uint64_t cursor = 0;
  do {
    cursor = db_.dict().Scan(cursor, [&](storage::Entry* entry) {
      size_t class_index = 0;
      if (IsMirrored(entry->key(), &class_index)) keys.emplace_back(entry->key());
    });
  } while (cursor != 0);
  return keys;
}

void Mirror::RemoveAllMirroredKeys() {
  const int64_t now_ms = clock_.NowMs();
  for (const std::string& key : LocalMirroredKeys()) db_.Delete(key, now_ms);
}

}  // namespace understudy::replication

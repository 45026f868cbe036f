#pragma once

#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/repeat_limited_log.h"
#include "replication/key_class.h"
#include "replication/mirror_fetch.h"
#include "replication/upstream_connection.h"
#include "storage/database.h"

namespace understudy::replication {

// Counters of one mirrored class, for INFO understudy.
struct MirrorClassStats {
  uint64_t loaded = 0;         // keys stored by initial loads
  uint64_t invalidations = 0;  // keys the primary said changed
  uint64_t refetches = 0;      // keys fetched again after an invalidation
  uint64_t removed = 0;        // keys deleted locally because the primary has them no more
};

// Keeps database 0 of the local store in step with the primary for every
// class with `mirror yes`, without SYNC/PSYNC (see DESIGN.md, "Mirror"):
//
//  1. a RESP3 connection turns on `CLIENT TRACKING ON BCAST PREFIX ...` (the
//     classes' literal prefixes), so no change is missed from then on;
//  2. the initial load SCANs the primary with each class's pattern and
//     fetches each batch of keys (type, value, absolute expiry) in one
//     atomic EVAL (mirror_fetch.h), pipelined;
//  3. each invalidation re-fetches its keys (or deletes them when gone); a
//     flush invalidation reloads everything.
//
// When either connection drops, the local keys are kept and the mirror is
// stale from that instant; Start() resyncs once the primary is back.
class Mirror {
 public:
  struct Options {
    UpstreamOptions connection;  // host/port are given to Start()
    size_t scan_count = 1000;    // SCAN's COUNT hint
    size_t batch_keys = 200;     // keys per fetch
    EncodingLimits limits;
  };

  Mirror(boost::asio::io_context& io, Options options, const KeyClassifier& classifier,
         storage::Database& db, const Clock& clock);
  ~Mirror();
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // True when some class is mirrored; otherwise the mirror does nothing.
  bool enabled() const { return !mirrored_.empty(); }
  // (Re)synchronises from the primary at host:port: tracking first, then a
  // full load. Safe to call again at any time (the old session is dropped).
  void Start(const std::string& host, int port);
  // Drops the connections and stops retrying; the mirror is stale from now
  // (if it was live) until the next Start().
  void Stop();
  // Told when a mirror connection fails (the primary link uses it as a
  // health signal: an idle link learns of a dead primary this way).
  void set_failure_listener(std::function<void(FailureKind, std::string_view)> listener) {
    failure_listener_ = std::move(listener);
  }

  bool live() const { return live_; }
  // When the mirror stopped being live (or the process started, before the
  // first load); 0 while live.
  int64_t stale_since_ms() const { return live_ ? 0 : stale_since_ms_; }
  // "live", "loading" or "stale".
  std::string_view state_name() const;
  uint64_t loads_completed() const { return loads_completed_; }
  int64_t last_load_duration_ms() const { return last_load_duration_ms_; }
  // Average time from an invalidation's arrival to its re-fetched value
  // being in the local store, in microseconds.
  uint64_t average_refetch_latency_us() const {
    return refetch_batches_ == 0 ? 0 : refetch_latency_us_total_ / refetch_batches_;
  }
  // Fetches `key` again (if it is of a mirrored class and the mirror is
  // live): after this host applied its own acknowledged write locally, the
  // primary's value then replaces it, so a write applied twice (the
  // invalidation's re-fetch came first) cannot leave the mirror off.
  void Refetch(std::string_view key);
  // This host sent a write to `key` to the primary (OwnWriteSent) and got
  // its answer or gave it up (OwnWriteDone; calls pair up). Meanwhile
  // re-fetched values of the key are not applied: they may or may not
  // include the write, which is applied here when acknowledged (then
  // Refetch). A load's fetch is applied: it is the key's base state.
  void OwnWriteSent(std::string_view key);
  void OwnWriteDone(std::string_view key);
  // True while an invalidation of `key` has arrived and its new value has
  // not yet been applied, or a write of this host to it is in flight (its
  // fetches are held back meanwhile): a near-cache read must then ask the
  // primary.
  bool IsPending(std::string_view key) const {
    if (pending_keys_.empty() && own_writes_.empty()) return false;
    const std::string name(key);
    return pending_keys_.count(name) > 0 || own_writes_.count(name) > 0;
  }
  // Indexed like classifier.classes().
  const std::vector<MirrorClassStats>& class_stats() const { return stats_; }

 private:
  class Target;
  enum class Pending : uint8_t { kTracking, kDbSize, kScan, kFetch };

  std::shared_ptr<UpstreamConnection> Connect(bool resp3);
  void OnFailure(FailureKind kind, std::string_view what, bool connection_lost);
  // Closes the session's connections (Stop() without ending the retries).
  void Drop();
  void BeginLoad();
  void SendScan();
  void SendFetch(std::vector<std::string> keys, bool refetch);
  void OnReply(uint64_t token, std::string_view reply);
  void OnScanReply(const protocol::ReplyValue& value);
  void OnFetchReply(uint64_t token, const protocol::ReplyValue& value);
  void OnPush(std::string_view push);
  void FlushRefetches();
  void QueueRefetch(std::string_view key);
  void RemoveAllMirroredKeys();
  std::vector<std::string> LocalMirroredKeys();
  void MaybeFinishLoad();
  bool IsMirrored(std::string_view key, size_t* class_index) const;
  void ScheduleRetry();

  boost::asio::io_context& io_;
  Options options_;
  const KeyClassifier& classifier_;
  storage::Database& db_;
  const Clock& clock_;
  std::vector<size_t> mirrored_;  // indexes of the mirrored classes
  std::vector<std::string> prefixes_;
  std::vector<MirrorClassStats> stats_;

  std::string host_;
  int port_ = 0;
  bool running_ = false;
  uint64_t generation_ = 0;
  std::shared_ptr<Target> target_;
  std::shared_ptr<UpstreamConnection> tracking_;
  std::shared_ptr<UpstreamConnection> fetcher_;
  boost::asio::steady_timer retry_timer_;
  std::function<void(FailureKind, std::string_view)> failure_listener_;
  // Connection failures: logged once, then a repeat count per minute until
  // a load succeeds.
  RepeatLimitedLog failure_log_;

  // The load in progress.
  bool loading_ = false;
  size_t load_class_ = 0;  // index into mirrored_
  std::string scan_cursor_;
  bool scan_in_flight_ = false;
  int64_t load_started_ms_ = 0;
  uint64_t load_keys_ = 0;
  int64_t primary_keys_ = 0;  // DBSIZE when the load began
  uint64_t scanned_keys_ = 0;
  int64_t last_progress_log_ms_ = 0;
  // Local keys of mirrored classes from before this load that the primary
  // has not shown yet; whatever is left when the load ends is gone from the
  // primary and is deleted here too.
  std::unordered_set<std::string> unseen_;

  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, Pending> pending_kinds_;
  struct FetchBatch {
    std::vector<std::string> keys;
    bool refetch = false;
    int64_t started_us = 0;
    uint64_t flush_epoch = 0;  // flush_epoch_ when it was sent
  };
  // Counts flushes of the primary seen: a fetch sent before one carries
  // values that no longer exist there, and is not applied.
  uint64_t flush_epoch_ = 0;
  std::unordered_map<uint64_t, FetchBatch> fetches_;
  std::vector<std::string> refetch_queue_;
  // Keys invalidated and not yet re-fetched (counted per invalidation, so a
  // key invalidated twice stays pending until both fetches are applied).
  std::unordered_map<std::string, int> pending_keys_;
  // Keys this host wrote locally (Refetch after applying its own
  // acknowledged write), each with the first fetch token issued after that
  // write: a re-fetch sent earlier may carry the value from before the
  // write and is not applied to the key; the fetch Refetch queued settles it. So
  // a primary that dies before that fetch leaves the write applied, not
  // undone by an older value (docs/scripting.md: rate limits at the kill).
  std::unordered_map<std::string, uint64_t> written_since_token_;
  // Mirrored keys with writes of this host in flight to the primary, and
  // how many (OwnWriteSent).
  std::unordered_map<std::string, int> own_writes_;
  int64_t refetch_queued_us_ = 0;
  bool refetch_posted_ = false;

  bool live_ = false;
  int64_t stale_since_ms_;
  uint64_t loads_completed_ = 0;
  int64_t last_load_duration_ms_ = 0;
  uint64_t refetch_batches_ = 0;
  uint64_t refetch_latency_us_total_ = 0;
};

}  // namespace understudy::replication

#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/repeat_limited_log.h"
#include "replication/primary_health.h"
#include "replication/upstream_connection.h"

namespace understudy::replication {

class SentinelWatcher;

// Everything understudy knows about how to reach the primary.
struct PrimaryLinkOptions {
  std::string host;  // the primary; or, with sentinels, learned from them
  int port = 0;
  std::vector<std::pair<std::string, int>> sentinels;
  std::string sentinel_master_name;
  std::string user;
  std::string password;
  bool tls = false;
  std::string tls_ca_cert_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  int64_t timeout_ms = 200;
  int64_t probe_interval_ms = 100;
  int64_t probe_max_interval_ms = 1000;
  int connections = 2;   // shared pipelined connections per protocol version
  int pinned_max = 256;  // connections pinned to one client (WATCH, blocking, SUBSCRIBE, SELECT)
};

// The link to the primary: its health, the shared pipelined connections
// that carry ordinary commands, the pinned connections of clients in a
// stateful mode, and the probe that brings the link back. One per process,
// on the event loop's thread.
class PrimaryLink {
 public:
  using StateListener =
      std::function<void(PrimaryState from, PrimaryState to, std::string_view reason)>;

  // Throws std::runtime_error when the TLS files cannot be loaded.
  PrimaryLink(boost::asio::io_context& io, PrimaryLinkOptions options, const Clock& clock);
  ~PrimaryLink();
  PrimaryLink(const PrimaryLink&) = delete;
  PrimaryLink& operator=(const PrimaryLink&) = delete;

  // Starts discovery (Sentinel) and the first probe.
  void Start();
  void Stop();

  void set_state_listener(StateListener listener) { state_listener_ = std::move(listener); }
  // Called when the primary answers again (state recovering). The handler
  // reconciles the outage and calls RecoveryComplete() (healthy), or
  // ReportFailure() if the primary fails meanwhile (down, probing again).
  void set_recovery_handler(std::function<void()> handler) {
    recovery_handler_ = std::move(handler);
  }
  void RecoveryComplete();
  // Called once (posted to the loop) when the first probe's outcome is
  // known, success or failure, after the state it leads to is taken.
  void set_first_probe_listener(std::function<void()> listener) {
    first_probe_listener_ = std::move(listener);
  }
  // The primary's replication ID (INFO replication master_replid) as the
  // last successful probe saw it; empty when INFO is not available. A new
  // one means a restarted primary or a promoted replica: it may have lost
  // writes.
  const std::string& replication_id() const { return probe_replication_id_; }

  PrimaryState state() const { return health_.state(); }
  bool healthy() const { return health_.healthy(); }
  const PrimaryHealth& health() const { return health_; }
  std::string address() const;
  // With Sentinel: the watcher (INFO shows its figures); else nullptr.
  const SentinelWatcher* sentinel() const { return sentinel_.get(); }
  const PrimaryLinkOptions& options() const { return options_; }

  // The shared connection a client's ordinary commands go through; the same
  // one for the same client while it stays open, so that its commands reach
  // the primary in order. Only while healthy.
  UpstreamConnection& SharedConnection(uint64_t client_id, bool resp3);
  // A connection for one client alone, or nullptr when primary-pinned-max
  // are open. Give it back with ReleasePinned.
  std::shared_ptr<UpstreamConnection> OpenPinned(bool resp3, int db);
  void ReleasePinned(const std::shared_ptr<UpstreamConnection>& connection);
  int pinned_open() const { return pinned_open_; }

  // A failure seen by someone else talking to the primary (the mirror):
  // counts as if one of the link's own connections had failed.
  void ReportFailure(FailureKind kind, std::string_view detail) {
    OnConnectionFailure(kind, detail);
  }

  // Options for a connection to the primary as the link makes them
  // (address, credentials, TLS, timeout), for others that talk to it.
  UpstreamOptions ConnectionOptions(bool resp3, int db) const;

  const UpstreamStats& stats() const { return stats_; }
  uint64_t average_latency_us() const {
    return stats_.replies == 0 ? 0 : stats_.latency_us_total / stats_.replies;
  }

 private:
  class ProbeTarget;
  std::shared_ptr<UpstreamConnection> NewConnection(bool resp3, int db);
  void OnConnectionFailure(FailureKind kind, std::string_view detail);
  void DropSharedConnections();
  void ScheduleProbe(int64_t delay_ms);
  void RunProbe();
  void OnProbeResult(bool ok, FailureKind kind, std::string_view detail);
  void OnAddressChanged(const std::string& host, int port);

  boost::asio::io_context& io_;
  PrimaryLinkOptions options_;
  const Clock& clock_;
  PrimaryHealth health_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  UpstreamStats stats_;
  std::vector<std::shared_ptr<UpstreamConnection>> shared_[2];  // [resp3]
  int pinned_open_ = 0;
  // Counts recoveries; connections opened before the latest one no longer
  // report failures to the health state machine.
  uint64_t epoch_ = 0;
  boost::asio::steady_timer probe_timer_;
  std::shared_ptr<UpstreamConnection> probe_;
  bool probe_running_ = false;
  uint64_t probe_generation_ = 0;
  // Probe failures: logged once, then a repeat count per minute until a
  // probe succeeds or the reason changes.
  RepeatLimitedLog probe_failure_log_;
  std::unique_ptr<SentinelWatcher> sentinel_;
  StateListener state_listener_;
  std::function<void()> recovery_handler_;
  std::function<void()> first_probe_listener_;
  std::string probe_replication_id_;
  bool stopped_ = false;
};

}  // namespace understudy::replication

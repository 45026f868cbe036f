#include "replication/primary_link.h"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <utility>

#include "protocol/request_writer.h"
#include "replication/sentinel_watcher.h"

namespace understudy::replication {

namespace asio = boost::asio;

// Receives the probe's PING and ROLE replies. The probe passes when PING
// answers PONG and ROLE names a master (a writable primary, not a replica
// that a failover left behind).
class PrimaryLink::ProbeTarget : public ReplyTarget {
 public:
  ProbeTarget(PrimaryLink* link, uint64_t generation) : link_(link), generation_(generation) {}

  void OnUpstreamReply(uint64_t token, std::string_view reply, char type) override {
    if (done_ || link_ == nullptr || generation_ != link_->probe_generation_) return;
    protocol::ReplyValue value;
    size_t consumed = 0;
    if (protocol::ParseReply(reply, &value, &consumed) != protocol::ScanStatus::kComplete) {
      Finish(false, FailureKind::kProtocol, "unparsable probe reply");
      return;
    }
    if (token == kInfoToken) {
      // INFO may be renamed or refused on a managed service: then the
      // replication ID is unknown, which is no reason to distrust the
      // primary.
      link_->probe_replication_id_.clear();
      if (!value.IsError()) {
        std::string_view text = value.str;
        constexpr std::string_view kField = "master_replid:";
        if (size_t at = text.find(kField); at != std::string_view::npos) {
          text.remove_prefix(at + kField.size());
          link_->probe_replication_id_ = std::string(text.substr(0, text.find_first_of("\r\n")));
        }
      }
      Finish(true, FailureKind::kProtocol, "");
      return;
    }
    if (value.IsError()) {
      FailureKind kind = FailureKind::kProtocol;
      std::string_view code = value.ErrorCode();
      if (code == "LOADING") kind = FailureKind::kLoading;
      if (code == "NOAUTH" || code == "WRONGPASS") kind = FailureKind::kNoAuth;
      if (code == "MASTERDOWN") kind = FailureKind::kMasterDown;
      Finish(false, kind, value.str);
      return;
    }
    if (token == kRoleToken) {
      bool master = !value.elements.empty() && value.elements[0].str == "master";
      if (!master) {
        Finish(false, FailureKind::kNotMaster,
               "ROLE is " + (value.elements.empty() ? std::string("?") : value.elements[0].str));
      }
      // A master: the INFO reply that follows completes the probe.
    }
  }
  void OnUpstreamFailed(uint64_t) override {
    // The connection reported the reason to the link already.
    done_ = true;
  }
  void Detach() { link_ = nullptr; }

  static constexpr uint64_t kPingToken = 1;
  static constexpr uint64_t kRoleToken = 2;
  static constexpr uint64_t kInfoToken = 3;

 private:
  void Finish(bool ok, FailureKind kind, std::string detail) {
    done_ = true;
    PrimaryLink* link = link_;
    // Deferred: the probe connection is in the middle of delivering.
    asio::post(link->io_, [link, generation = generation_, ok, kind, detail = std::move(detail)] {
      if (generation != link->probe_generation_) return;
      link->OnProbeResult(ok, kind, detail);
    });
  }

  PrimaryLink* link_;
  uint64_t generation_;
  bool done_ = false;
};

PrimaryLink::PrimaryLink(asio::io_context& io, PrimaryLinkOptions options, const Clock& clock)
    : io_(io),
      options_(std::move(options)),
      clock_(clock),
      health_({options_.probe_interval_ms, options_.probe_max_interval_ms}, clock.NowMs()),
      probe_timer_(io) {
  if (options_.tls) {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls_->set_verify_mode(asio::ssl::verify_peer);
    if (options_.tls_ca_cert_file.empty()) {
      tls_->set_default_verify_paths();
    } else {
      tls_->load_verify_file(options_.tls_ca_cert_file);
    }
    if (!options_.tls_cert_file.empty()) {
      tls_->use_certificate_chain_file(options_.tls_cert_file);
      tls_->use_private_key_file(
          options_.tls_key_file.empty() ? options_.tls_cert_file : options_.tls_key_file,
          asio::ssl::context::pem);
    }
  }
  health_.set_listener([this](PrimaryState from, PrimaryState to, std::string_view reason) {
    if (to == PrimaryState::kHealthy || to == PrimaryState::kRecovering) {
      spdlog::info("primary {} is {} (was {}): {}", address(), PrimaryStateName(to),
                   PrimaryStateName(from), reason);
    } else {
      spdlog::warn("primary {} is {} (was {}): {}", address(), PrimaryStateName(to),
                   PrimaryStateName(from), reason);
    }
    if (state_listener_) state_listener_(from, to, reason);
  });
}

PrimaryLink::~PrimaryLink() { Stop(); }

std::string PrimaryLink::address() const {
  if (options_.host.empty()) return "";
  return options_.host + ":" + std::to_string(options_.port);
}

void PrimaryLink::Start() {
  stopped_ = false;
  if (!options_.sentinels.empty()) {
    SentinelWatcher::Options watcher_options;
    for (const auto& [host, port] : options_.sentinels) {
      watcher_options.sentinels.push_back(HostPort{host, port});
    }
    watcher_options.master_name = options_.sentinel_master_name;
    watcher_options.retry_max_ms = std::max<int64_t>(options_.probe_max_interval_ms, 100);
    sentinel_ = std::make_unique<SentinelWatcher>(io_, std::move(watcher_options));
    sentinel_->Start(
        [this](const HostPort& master) { OnAddressChanged(master.host, master.port); });
  }
  if (!options_.host.empty()) ScheduleProbe(0);
}

void PrimaryLink::Stop() {
  if (stopped_) return;
  stopped_ = true;
  probe_timer_.cancel();
  if (sentinel_) sentinel_->Stop();
  ++probe_generation_;
  if (probe_) probe_->Close();
  probe_.reset();
  DropSharedConnections();
}

UpstreamOptions PrimaryLink::ConnectionOptions(bool resp3, int db) const {
  UpstreamOptions options;
  options.host = options_.host;
  options.port = options_.port;
  options.user = options_.user;
  options.password = options_.password;
  options.resp3 = resp3;
  options.db = db;
  options.timeout_ms = options_.timeout_ms;
  options.tls = tls_.get();
  options.tls_server_name = options_.tls_server_name;
  return options;
}

std::shared_ptr<UpstreamConnection> PrimaryLink::NewConnection(bool resp3, int db) {
  auto connection = std::make_shared<UpstreamConnection>(
      io_, ConnectionOptions(resp3, db), &stats_,
      [this, epoch = epoch_](UpstreamConnection&, FailureKind kind, std::string_view detail) {
        // A connection from before the last recovery (a pinned one that
        // outlived the outage) says nothing about the primary now.
        if (epoch != epoch_) return;
        OnConnectionFailure(kind, detail);
      });
  connection->Connect();
  return connection;
}

UpstreamConnection& PrimaryLink::SharedConnection(uint64_t client_id, bool resp3) {
  auto& pool = shared_[resp3 ? 1 : 0];
  const size_t size = static_cast<size_t>(std::max(1, options_.connections));
  if (pool.size() != size) pool.resize(size);
  auto& slot = pool[client_id % size];
  if (!slot || slot->closed()) slot = NewConnection(resp3, 0);
  return *slot;
}

std::shared_ptr<UpstreamConnection> PrimaryLink::OpenPinned(bool resp3, int db) {
  if (pinned_open_ >= options_.pinned_max) return nullptr;
  ++pinned_open_;
  return NewConnection(resp3, db);
}

void PrimaryLink::ReleasePinned(const std::shared_ptr<UpstreamConnection>& connection) {
  if (!connection) return;
  --pinned_open_;
  connection->Close();
}

void PrimaryLink::OnConnectionFailure(FailureKind kind, std::string_view detail) {
  if (stopped_) return;
  const PrimaryState before = health_.state();
  health_.OnFailure(kind, detail, clock_.NowMs());
  if (before == PrimaryState::kHealthy || before == PrimaryState::kRecovering) {
    // Whatever the other connections still wait for will not come either
    // (or come too late): fail it all over now, not one timeout at a time.
    asio::post(io_, [this] { DropSharedConnections(); });
    ScheduleProbe(0);
  }
}

void PrimaryLink::DropSharedConnections() {
  for (auto& pool : shared_) {
    std::vector<std::shared_ptr<UpstreamConnection>> old;
    old.swap(pool);
    for (auto& connection : old) {
      if (connection) connection->Close();
    }
  }
}

void PrimaryLink::ScheduleProbe(int64_t delay_ms) {
  if (stopped_ || probe_running_) return;
  probe_running_ = true;
  probe_timer_.expires_after(std::chrono::milliseconds(delay_ms));
  probe_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    RunProbe();
  });
}

void PrimaryLink::RunProbe() {
  const uint64_t generation = ++probe_generation_;
  if (probe_) probe_->Close();
  auto target = std::make_shared<ProbeTarget>(this, generation);
  probe_ = std::make_shared<UpstreamConnection>(
      io_, ConnectionOptions(false, 0), nullptr,
      [this, generation](UpstreamConnection&, FailureKind kind, std::string_view detail) {
        if (generation != probe_generation_) return;
        std::string reason(detail);
        asio::post(io_, [this, generation, kind, reason] {
          if (generation != probe_generation_) return;
          OnProbeResult(false, kind, reason);
        });
      });
  probe_->Connect();
  std::string request;
  protocol::AppendCommand(&request, {"PING"});
  probe_->Send(request, target, ProbeTarget::kPingToken);
  request.clear();
  protocol::AppendCommand(&request, {"ROLE"});
  probe_->Send(request, target, ProbeTarget::kRoleToken);
  request.clear();
  protocol::AppendCommand(&request, {"INFO", "replication"});
  probe_->Send(request, target, ProbeTarget::kInfoToken);
}

void PrimaryLink::OnProbeResult(bool ok, FailureKind kind, std::string_view detail) {
  ++probe_generation_;  // later results of this probe are stale
  probe_running_ = false;
  if (probe_) {
    probe_->Close();
    probe_.reset();
  }
  if (stopped_) return;
  if (first_probe_listener_) asio::post(io_, std::exchange(first_probe_listener_, nullptr));
  const int64_t now_ms = clock_.NowMs();
  if (ok) {
    probe_failure_log_.Flush(now_ms);
    health_.OnProbeSuccess(now_ms);
    ++epoch_;
    // Recovering: the owner reconciles what was written during the outage
    // and then calls RecoveryComplete(); without one it completes at once.
    if (recovery_handler_) {
      recovery_handler_();
    } else {
      health_.OnRecovered(now_ms);
    }
    return;
  }
  // A probe that keeps failing for the same reason is logged once and then
  // summarised with a count; a new reason (refused, then a wrong
  // password...) is logged when it appears, so an operator sees why the
  // link does not come up without a line per probe.
  probe_failure_log_.Log(
      spdlog::level::warn,
      fmt::format("primary {} probe failed: {}: {}", address(), FailureKindName(kind), detail),
      now_ms);
  health_.OnFailure(kind, detail, now_ms);
  // The address Sentinel gave is not (or no longer) a master: ask again.
  if (sentinel_ && kind == FailureKind::kNotMaster) sentinel_->RefreshNow();
  if (!health_.healthy()) ScheduleProbe(health_.NextProbeDelayMs());
}

void PrimaryLink::RecoveryComplete() {
  if (health_.state() == PrimaryState::kRecovering) health_.OnRecovered(clock_.NowMs());
}

void PrimaryLink::OnAddressChanged(const std::string& host, int port) {
  if (host == options_.host && port == options_.port) return;
  spdlog::info("primary address is now {}:{} (was {})", host, port,
               options_.host.empty() ? "unknown" : address());
  options_.host = host;
  options_.port = port;
  DropSharedConnections();
  if (health_.healthy()) health_.OnFailure(FailureKind::kReset, "primary moved", clock_.NowMs());
  // Whatever probe was under way asked the old address.
  ++probe_generation_;
  if (probe_) {
    probe_->Close();
    probe_.reset();
  }
  probe_running_ = false;
  probe_timer_.cancel();
  ScheduleProbe(0);
}

}  // namespace understudy::replication

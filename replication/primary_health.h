#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>

namespace understudy::replication {

// The primary's health as the design names it. Only kHealthy routes to the
// primary; every other state serves from the local store.
enum class PrimaryState { kHealthy, kSuspect, kDown, kRecovering };

std::string_view PrimaryStateName(PrimaryState state);

// Why the primary was found wanting. Hard failures go straight to down;
// a timeout goes through suspect first.
enum class FailureKind {
  kRefused,     // connect refused or unreachable
  kReset,       // connection reset or closed by the primary
  kTimeout,     // a reply slower than primary-timeout
  kLoading,     // -LOADING
  kReadOnly,    // -READONLY: it is a replica now
  kMasterDown,  // -MASTERDOWN
  kNoAuth,      // -NOAUTH / -WRONGPASS: authentication lost or refused
  kNotMaster,   // the probe's ROLE says it is not a writable master
  kTls,         // TLS handshake or session failure
  kProtocol,    // unparsable reply
};

std::string_view FailureKindName(FailureKind kind);
bool IsHardFailure(FailureKind kind);

// The health state machine of the primary link, free of I/O so it can be
// tested with any clock:
//
//   healthy --timeout--> suspect --timeout or failed probe--> down
//   healthy|suspect --hard failure--> down
//   suspect|down --probe succeeds--> recovering --Recovered()--> healthy
//   recovering --any failure--> down
//
// While not healthy a probe is due every `probe_interval_ms`, doubling after
// each failed probe up to `probe_max_interval_ms`, with +-20% jitter so that
// a fleet of hosts does not probe in lockstep. No state is final.
class PrimaryHealth {
 public:
  struct Options {
    int64_t probe_interval_ms = 100;
    int64_t probe_max_interval_ms = 1000;
  };
  using TransitionListener =
      std::function<void(PrimaryState from, PrimaryState to, std::string_view reason)>;

  // Starts `down` (nothing is known yet) without counting a transition.
  PrimaryHealth(Options options, int64_t now_ms, uint64_t seed = std::random_device{}());

  void set_listener(TransitionListener listener) { listener_ = std::move(listener); }
  void set_options(Options options) { options_ = options; }

  // A request or the probe failed. Returns the new state.
  PrimaryState OnFailure(FailureKind kind, std::string_view detail, int64_t now_ms);
  // The probe confirmed a writable master: down/suspect -> recovering.
  PrimaryState OnProbeSuccess(int64_t now_ms);
  // Recovery (reconciliation, once it exists) is complete: -> healthy.
  PrimaryState OnRecovered(int64_t now_ms);

  // Milliseconds to wait before the next probe, with backoff and jitter.
  // Each call after a failed probe grows the interval.
  int64_t NextProbeDelayMs();

  PrimaryState state() const { return state_; }
  bool healthy() const { return state_ == PrimaryState::kHealthy; }
  int64_t since_ms() const { return since_ms_; }
  uint64_t transitions() const { return transitions_; }
  // Transitions into `state` (they add up to transitions()).
  uint64_t transitions_to(PrimaryState state) const {
    return transitions_to_[static_cast<size_t>(state)];
  }
  const std::string& last_failure() const { return last_failure_; }

 private:
  void MoveTo(PrimaryState next, std::string_view reason, int64_t now_ms);

  Options options_;
  PrimaryState state_ = PrimaryState::kDown;
  int64_t since_ms_;
  uint64_t transitions_ = 0;
  std::array<uint64_t, 4> transitions_to_{};  // by PrimaryState
  int failed_probes_ = 0;
  std::string last_failure_;
  std::mt19937_64 rng_;
  TransitionListener listener_;
};

}  // namespace understudy::replication

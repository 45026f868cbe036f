#include "replication/primary_health.h"

#include <algorithm>

namespace understudy::replication {

std::string_view PrimaryStateName(PrimaryState state) {
  switch (state) {
    case PrimaryState::kHealthy:
      return "healthy";
    case PrimaryState::kSuspect:
      return "suspect";
    case PrimaryState::kDown:
      return "down";
    case PrimaryState::kRecovering:
      return "recovering";
  }
  return "down";
}

std::string_view FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kRefused:
      return "refused";
    case FailureKind::kReset:
      return "reset";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kLoading:
      return "loading";
    case FailureKind::kReadOnly:
      return "readonly";
    case FailureKind::kMasterDown:
      return "masterdown";
    case FailureKind::kNoAuth:
      return "noauth";
    case FailureKind::kNotMaster:
      return "not-master";
    case FailureKind::kTls:
      return "tls";
    case FailureKind::kProtocol:
      return "protocol";
  }
  return "unknown";
}

bool IsHardFailure(FailureKind kind) { return kind != FailureKind::kTimeout; }

PrimaryHealth::PrimaryHealth(Options options, int64_t now_ms, uint64_t seed)
    : options_(options), since_ms_(now_ms), rng_(seed) {}

PrimaryState PrimaryHealth::OnFailure(FailureKind kind, std::string_view detail, int64_t now_ms) {
  last_failure_ = std::string(FailureKindName(kind));
  if (!detail.empty()) last_failure_ += ": " + std::string(detail);
  switch (state_) {
    case PrimaryState::kHealthy:
      MoveTo(IsHardFailure(kind) ? PrimaryState::kDown : PrimaryState::kSuspect, last_failure_,
             now_ms);
      failed_probes_ = 0;
      break;
    case PrimaryState::kSuspect:
    case PrimaryState::kRecovering:
      MoveTo(PrimaryState::kDown, last_failure_, now_ms);
      break;
    case PrimaryState::kDown:
      ++failed_probes_;
      break;
  }
  return state_;
}

PrimaryState PrimaryHealth::OnProbeSuccess(int64_t now_ms) {
  if (state_ == PrimaryState::kSuspect || state_ == PrimaryState::kDown) {
    MoveTo(PrimaryState::kRecovering, "probe succeeded", now_ms);
  }
  failed_probes_ = 0;
  return state_;
}

PrimaryState PrimaryHealth::OnRecovered(int64_t now_ms) {
  if (state_ == PrimaryState::kRecovering) MoveTo(PrimaryState::kHealthy, "recovered", now_ms);
  return state_;
}

int64_t PrimaryHealth::NextProbeDelayMs() {
  const int64_t base = std::max<int64_t>(1, options_.probe_interval_ms);
  const int64_t cap = std::max(base, options_.probe_max_interval_ms);
  int64_t delay = base;
  for (int i = 0; i < failed_probes_ && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  // +-20% jitter, but never beyond the cap: the cap is what operators and
  // tests rely on for "back within one probe interval".
  std::uniform_int_distribution<int64_t> jitter(-delay / 5, delay / 5);
  return std::clamp<int64_t>(delay + jitter(rng_), 1, cap);
}

void PrimaryHealth::MoveTo(PrimaryState next, std::string_view reason, int64_t now_ms) {
  if (next == state_) return;
  PrimaryState from = state_;
  state_ = next;
  since_ms_ = now_ms;
  ++transitions_;
  ++transitions_to_[static_cast<size_t>(next)];
  if (listener_) listener_(from, next, reason);
}

}  // namespace understudy::replication

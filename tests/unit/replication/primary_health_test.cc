// The primary's health state machine, driven by hand: which failures go
// straight to down, which go through suspect, how probes bring it back,
// and that the probe backoff grows, is jittered and stays under its cap.
#include "replication/primary_health.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace understudy::replication {
namespace {

struct Transition {
  PrimaryState from;
  PrimaryState to;
};

class PrimaryHealthTest : public ::testing::Test {
 protected:
  PrimaryHealthTest() : health_({100, 1000}, 1000, /*seed=*/42) {
    health_.set_listener([this](PrimaryState from, PrimaryState to, std::string_view) {
      transitions_.push_back({from, to});
    });
  }
  void BringUp(int64_t now_ms) {
    health_.OnProbeSuccess(now_ms);
    health_.OnRecovered(now_ms);
  }

  PrimaryHealth health_;
  std::vector<Transition> transitions_;
};

TEST_F(PrimaryHealthTest, StartsDownWithoutCountingATransition) {
  EXPECT_EQ(health_.state(), PrimaryState::kDown);
  EXPECT_FALSE(health_.healthy());
  EXPECT_EQ(health_.transitions(), 0u);
  EXPECT_EQ(health_.since_ms(), 1000);
}

TEST_F(PrimaryHealthTest, ProbeSuccessGoesThroughRecoveringToHealthy) {
  EXPECT_EQ(health_.OnProbeSuccess(1100), PrimaryState::kRecovering);
  EXPECT_FALSE(health_.healthy());
  EXPECT_EQ(health_.OnRecovered(1200), PrimaryState::kHealthy);
  EXPECT_TRUE(health_.healthy());
  EXPECT_EQ(health_.since_ms(), 1200);
  ASSERT_EQ(transitions_.size(), 2u);
  EXPECT_EQ(transitions_[0].from, PrimaryState::kDown);
  EXPECT_EQ(transitions_[0].to, PrimaryState::kRecovering);
  EXPECT_EQ(transitions_[1].to, PrimaryState::kHealthy);
  EXPECT_EQ(health_.transitions(), 2u);
}

TEST_F(PrimaryHealthTest, HardFailuresGoStraightToDown) {
  for (FailureKind kind : {FailureKind::kRefused, FailureKind::kReset, FailureKind::kLoading,
                           FailureKind::kReadOnly, FailureKind::kMasterDown, FailureKind::kNoAuth,
                           FailureKind::kTls, FailureKind::kNotMaster}) {
    BringUp(2000);
    ASSERT_TRUE(health_.healthy());
    EXPECT_EQ(health_.OnFailure(kind, "x", 2100), PrimaryState::kDown) << FailureKindName(kind);
    EXPECT_NE(health_.last_failure().find(FailureKindName(kind)), std::string::npos);
  }
}

TEST_F(PrimaryHealthTest, TimeoutMakesSuspectAndASecondMakesDown) {
  BringUp(2000);
  EXPECT_EQ(health_.OnFailure(FailureKind::kTimeout, "slow", 2100), PrimaryState::kSuspect);
  EXPECT_EQ(health_.OnFailure(FailureKind::kTimeout, "slow", 2300), PrimaryState::kDown);
}

TEST_F(PrimaryHealthTest, SuspectRecoversThroughAProbe) {
  BringUp(2000);
  health_.OnFailure(FailureKind::kTimeout, "slow", 2100);
  EXPECT_EQ(health_.OnProbeSuccess(2150), PrimaryState::kRecovering);
  EXPECT_EQ(health_.OnRecovered(2150), PrimaryState::kHealthy);
}

TEST_F(PrimaryHealthTest, FailureWhileRecoveringGoesBackDown) {
  health_.OnProbeSuccess(1100);
  EXPECT_EQ(health_.OnFailure(FailureKind::kReset, "again", 1150), PrimaryState::kDown);
  EXPECT_EQ(health_.OnRecovered(1200), PrimaryState::kDown);  // nothing to complete
}

TEST_F(PrimaryHealthTest, RepeatedFailuresWhileDownAreNotTransitions) {
  const uint64_t before = health_.transitions();
  for (int i = 0; i < 10; ++i) health_.OnFailure(FailureKind::kRefused, "refused", 1000 + i);
  EXPECT_EQ(health_.transitions(), before);
  EXPECT_TRUE(transitions_.empty());
}

TEST_F(PrimaryHealthTest, ProbeDelayBacksOffWithJitterUpToTheCap) {
  // First delay: the interval, +-20%.
  int64_t first = health_.NextProbeDelayMs();
  EXPECT_GE(first, 80);
  EXPECT_LE(first, 120);
  std::vector<int64_t> delays;
  for (int i = 0; i < 8; ++i) {
    health_.OnFailure(FailureKind::kRefused, "refused", 1000);
    delays.push_back(health_.NextProbeDelayMs());
  }
  // 200, 400, 800, then capped at 1000 (jitter never exceeds the cap).
  EXPECT_GE(delays[0], 160);
  EXPECT_LE(delays[0], 240);
  EXPECT_GE(delays[2], 640);
  for (int64_t delay : delays) EXPECT_LE(delay, 1000);
  EXPECT_GE(delays.back(), 800);
  // A successful probe resets the backoff.
  BringUp(5000);
  health_.OnFailure(FailureKind::kReset, "x", 5100);
  EXPECT_LE(health_.NextProbeDelayMs(), 120);
}

TEST_F(PrimaryHealthTest, JitterSpreadsDelays) {
  std::vector<int64_t> seen;
  for (int i = 0; i < 50; ++i) seen.push_back(health_.NextProbeDelayMs());
  std::sort(seen.begin(), seen.end());
  EXPECT_LT(seen.front(), seen.back());
}

}  // namespace
}  // namespace understudy::replication

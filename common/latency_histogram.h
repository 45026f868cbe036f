#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace understudy {

// Upper bounds, in microseconds, of the buckets every latency histogram of
// the daemon uses (5 us to 1 s): wide enough for a local GET and for a
// primary at its timeout, few enough that a scrape stays small.
inline constexpr std::array<uint64_t, 17> kLatencyBoundsUs = {
    5,    10,    25,    50,    100,    250,    500,    1000,   2500,
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};

// Counts of durations per bucket, for a Prometheus histogram. Bucket i
// counts values in (bound[i-1], bound[i]]; the last one, index
// kBuckets - 1, those above every bound (+Inf). Not cumulative: the writer
// adds them up. Observe is a few compares from the smallest bound, so a
// fast operation costs least. Single-threaded, like the event loop.
class LatencyHistogram {
 public:
  static constexpr size_t kBounds = kLatencyBoundsUs.size();
  static constexpr size_t kBuckets = kBounds + 1;

  // Bounds in microseconds; Observe takes microseconds.
  LatencyHistogram() : bounds_(kLatencyBoundsUs) {}
  // Bounds in another unit (CPU ticks, say), ascending; Observe takes that
  // unit and sum() is in it too.
  explicit LatencyHistogram(const std::array<uint64_t, kBounds>& bounds) : bounds_(bounds) {}

  void Observe(uint64_t value) {
    size_t i = 0;
    while (i < kBounds && value > bounds_[i]) ++i;
    ++counts_[i];
    sum_ += value;
  }

  const std::array<uint64_t, kBounds>& bounds() const { return bounds_; }
  const std::array<uint64_t, kBuckets>& counts() const { return counts_; }
  uint64_t sum() const { return sum_; }
  uint64_t count() const {
    uint64_t total = 0;
    for (uint64_t c : counts_) total += c;
    return total;
  }

 private:
  std::array<uint64_t, kBounds> bounds_;
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t sum_ = 0;
};

}  // namespace understudy

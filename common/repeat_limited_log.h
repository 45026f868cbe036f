#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace understudy {

// A log for an error that may repeat many times (a primary refusing every
// probe, a sentinel that keeps timing out): the first occurrence of a
// message is logged in full; identical messages after it are only counted,
// and the count is logged as "<message> (repeated N times in the last M s)"
// once per `summary_interval_ms`, when a different message arrives, or when
// the owner calls Flush() (the problem went away). So an outage of any
// length yields a few lines per interval, never one per attempt.
//
// One instance per repeating problem; owned and used by one thread.
class RepeatLimitedLog {
 public:
  // `logger` null: spdlog's default logger at the time of each call (so a
  // reconfigured process logger is followed).
  explicit RepeatLimitedLog(int64_t summary_interval_ms = 60'000,
                            std::shared_ptr<spdlog::logger> logger = nullptr);

  // Logs `message` at `level` unless it repeats the last one, which is
  // counted instead. `now_ms` is any monotonic millisecond clock.
  void Log(spdlog::level::level_enum level, std::string_view message, int64_t now_ms);
  // Logs the pending repeat count, if any, and forgets the last message, so
  // that its next occurrence is logged in full again.
  void Flush(int64_t now_ms);

  // Repeats counted and not yet summarised (for tests).
  uint64_t pending_repeats() const { return repeats_; }

 private:
  void Summarise(int64_t now_ms);
  spdlog::logger& logger() const;

  int64_t summary_interval_ms_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string last_message_;
  spdlog::level::level_enum last_level_ = spdlog::level::info;
  bool has_last_ = false;
  uint64_t repeats_ = 0;         // since window_start_ms_
  int64_t window_start_ms_ = 0;  // the full line or the last summary
};

}  // namespace understudy

#include "common/repeat_limited_log.h"

#include <utility>

namespace understudy {

RepeatLimitedLog::RepeatLimitedLog(int64_t summary_interval_ms,
                                   std::shared_ptr<spdlog::logger> logger)
    : summary_interval_ms_(summary_interval_ms), logger_(std::move(logger)) {}

spdlog::logger& RepeatLimitedLog::logger() const {
  return logger_ ? *logger_ : *spdlog::default_logger_raw();
}

void RepeatLimitedLog::Log(spdlog::level::level_enum level, std::string_view message,
                           int64_t now_ms) {
  if (has_last_ && message == last_message_) {
    ++repeats_;
    if (now_ms - window_start_ms_ >= summary_interval_ms_) Summarise(now_ms);
    return;
  }
  Flush(now_ms);
  logger().log(level, "{}", message);
  last_message_.assign(message);
  last_level_ = level;
  has_last_ = true;
  window_start_ms_ = now_ms;
}

void RepeatLimitedLog::Flush(int64_t now_ms) {
  if (has_last_ && repeats_ > 0) Summarise(now_ms);
  has_last_ = false;
  last_message_.clear();
}

void RepeatLimitedLog::Summarise(int64_t now_ms) {
  // Whole seconds, rounded up, so a burst within one second says "1 s".
  const int64_t seconds = (now_ms - window_start_ms_ + 999) / 1000;
  logger().log(last_level_, "{} (repeated {} times in the last {} s)", last_message_, repeats_,
               seconds);
  repeats_ = 0;
  window_start_ms_ = now_ms;
}

}  // namespace understudy

#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace understudy {

// How log lines are written: the redis-server-like human line, or one JSON
// object per line for log shippers (`log-format human|json`).
enum class LogFormat { kHuman, kJson };

// "human" or "json"; false for anything else.
bool ParseLogFormat(std::string_view name, LogFormat* format);

// The spdlog level for a `loglevel` name (debug, verbose, notice, warning),
// notice for anything else.
spdlog::level::level_enum LogLevelFromName(std::string_view name);

// Writes each message as one line holding one JSON object:
// {"time":"2026-11-22T21:24:34.123Z","level":"info","pid":123,"message":"..."}.
// The message is escaped so that every line parses whatever a log call
// printed (quotes, backslashes, control bytes, invalid UTF-8 becomes U+FFFD).
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// Appends `text` to `out` as the inside of a JSON string (no quotes).
void AppendJsonEscaped(std::string_view text, std::string* out);

// Gives `logger` the line format of `format` (human: Redis's
// "pid:M date level message").
void ApplyLogFormat(spdlog::logger& logger, LogFormat format);

// Creates the process's logger (stderr, or `logfile` when not empty) with
// the given level and format and makes it spdlog's default logger.
std::shared_ptr<spdlog::logger> SetUpProcessLogger(const std::string& logfile,
                                                   std::string_view level_name, LogFormat format);

}  // namespace understudy

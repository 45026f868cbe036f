#include "common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace understudy {

namespace {

constexpr const char* kHumanPattern = "%P:M %d %b %Y %H:%M:%S.%e %^%l%$ %v";

// Length of the valid UTF-8 sequence starting at text[i], 0 when the bytes
// there are not one (overlong forms and surrogates included).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  uint32_t min = 0;
  uint32_t code = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min = 0x80, code = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min = 0x800, code = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min = 0x10000, code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

}  // namespace

bool ParseLogFormat(std::string_view name, LogFormat* format) {
  if (name == "human") {
    *format = LogFormat::kHuman;
  } else if (name == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

spdlog::level::level_enum LogLevelFromName(std::string_view name) {
  if (name == "debug" || name == "verbose") return spdlog::level::debug;
  if (name == "warning") return spdlog::level::warn;
  return spdlog::level::info;  // notice
}

void AppendJsonEscaped(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, i);
      if (length == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto since_epoch = msg.time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char time_text[64];
  std::snprintf(time_text, sizeof(time_text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<int>(millis));
  const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
  std::string line;
  line.reserve(96 + msg.payload.size());
  line.append("{\"time\":\"").append(time_text).append("\",\"level\":\"");
  line.append(level.data(), level.size());
  line.append("\",\"pid\":").append(std::to_string(::getpid())).append(",\"message\":\"");
  AppendJsonEscaped(std::string_view(msg.payload.data(), msg.payload.size()), &line);
  line.append("\"}\n");
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

void ApplyLogFormat(spdlog::logger& logger, LogFormat format) {
  if (format == LogFormat::kJson) {
    logger.set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    logger.set_pattern(kHumanPattern);
  }
}

std::shared_ptr<spdlog::logger> SetUpProcessLogger(const std::string& logfile,
                                                   std::string_view level_name, LogFormat format) {
  std::shared_ptr<spdlog::logger> logger;
  if (logfile.empty()) {
    logger = spdlog::stderr_color_mt("understudy");
  } else {
    logger = spdlog::basic_logger_mt("understudy", logfile);
  }
  ApplyLogFormat(*logger, format);
  logger->set_level(LogLevelFromName(level_name));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return logger;
}

}  // namespace understudy

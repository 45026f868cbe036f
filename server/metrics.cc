#include "server/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

#include "replication/key_class.h"
#include "replication/mirror.h"
#include "replication/primary_health.h"
#include "replication/primary_link.h"
#include "replication/reconciler.h"
#include "server/command_table.h"
#include "server/memory_guard.h"
#include "server/outage_journal.h"
#include "server/proxy.h"
#include "server/server.h"
#include "server/version.h"

namespace understudy::server {

// ---------------------------------------------------------------------------
// The text format.

namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

const char* TypeName(ExpositionWriter::Type type) {
  switch (type) {
    case ExpositionWriter::Type::kCounter:
      return "counter";
    case ExpositionWriter::Type::kGauge:
      return "gauge";
    case ExpositionWriter::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsNameStart(c) || IsDigit(c) || c == ':'; });
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameStart(c) || IsDigit(c); });
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Counters are whole numbers: print them as such (up to 2^53, exact).
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(value));
  }
  // Shortest round-trip text, fixed notation for exponents down to -4 as
  // Go's client writes them (le="0.0001", le="5e-06").
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::general);
  return std::string(buf, result.ptr);
}

void ExpositionWriter::Family(std::string_view name, Type type, std::string_view help) {
  family_.clear();
  if (!IsValidMetricName(name)) return;
  family_.assign(name);
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += EscapeHelp(help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += TypeName(type);
  text_ += '\n';
}

void ExpositionWriter::Sample(const std::vector<Label>& labels, double value) {
  WriteSample("", labels, nullptr, FormatSampleValue(value));
}

void ExpositionWriter::Histogram(const std::vector<Label>& labels,
                                 const std::vector<double>& bounds_seconds,
                                 const std::vector<uint64_t>& counts, double sum_seconds) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_seconds.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = FormatSampleValue(bounds_seconds[i]);
    const Label bucket{"le", le};
    WriteSample("_bucket", labels, &bucket, std::to_string(cumulative));
  }
  // Everything else, including counts beyond the bounds, is in +Inf.
  for (size_t i = bounds_seconds.size(); i < counts.size(); ++i) cumulative += counts[i];
  const Label inf{"le", "+Inf"};
  WriteSample("_bucket", labels, &inf, std::to_string(cumulative));
  WriteSample("_sum", labels, nullptr, FormatSampleValue(sum_seconds));
  WriteSample("_count", labels, nullptr, std::to_string(cumulative));
}

void ExpositionWriter::WriteSample(std::string_view suffix, const std::vector<Label>& labels,
                                   const Label* extra, std::string_view value) {
  if (family_.empty()) return;
  for (const Label& label : labels) {
    if (!IsValidLabelName(label.first) || label.first == "le") return;
  }
  text_ += family_;
  text_ += suffix;
  if (!labels.empty() || extra != nullptr) {
    text_ += '{';
    bool first = true;
    auto add = [&](const Label& label) {
      if (!first) text_ += ',';
      first = false;
      text_ += label.first;
      text_ += "=\"";
      text_ += EscapeLabelValue(label.second);
      text_ += '"';
    };
    for (const Label& label : labels) add(label);
    if (extra != nullptr) add(*extra);
    text_ += '}';
  }
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

HistogramSnapshot Snapshot(const LatencyHistogram& histogram, double units_per_us) {
  HistogramSnapshot snapshot;
  const double units_per_second = units_per_us * 1e6;
  for (uint64_t bound_us : kLatencyBoundsUs) {
    snapshot.bounds_seconds.push_back(static_cast<double>(bound_us) / 1e6);
  }
  snapshot.counts.assign(histogram.counts().begin(), histogram.counts().end());
  snapshot.sum_seconds = static_cast<double>(histogram.sum()) / units_per_second;
  snapshot.count = histogram.count();
  return snapshot;
}

std::string CumulativeBucketsText(const LatencyHistogram& histogram) {
  std::string text;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    cumulative += histogram.counts()[i];
    if (!text.empty()) text += ',';
    text += i < LatencyHistogram::kBounds ? std::to_string(kLatencyBoundsUs[i]) : "+Inf";
    text += '=';
    text += std::to_string(cumulative);
  }
  return text;
}

// ---------------------------------------------------------------------------
// Per-command figures.

namespace {

// True when the CPU's time-stamp counter ticks at a constant rate whatever
// the frequency and sleep states, so differences of it measure time.
bool HasInvariantTsc() {
#if defined(__x86_64__) || defined(__i386__)
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("flags")) {
      return line.find(" constant_tsc") != std::string::npos &&
             line.find(" nonstop_tsc") != std::string::npos;
    }
  }
#endif
  return false;
}

}  // namespace

uint64_t CommandMetrics::SteadyNanos() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

namespace {

uint64_t ReadTsc() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return CommandMetrics::SteadyNanos();
#endif
}

}  // namespace

CommandMetrics::CommandMetrics(const CommandTable& table) {
  std::vector<const CommandSpec*> specs;
  for (const CommandSpec* spec : table.all()) {
    specs.push_back(spec);
    for (const auto& sub : spec->subcommands) specs.push_back(sub.get());
  }
  for (const CommandSpec* spec : specs) {
    const std::string& group = spec->group.empty() ? std::string("other") : spec->group;
    if (std::find(families_.begin(), families_.end(), group) == families_.end()) {
      families_.push_back(group);
    }
  }
  std::sort(families_.begin(), families_.end());
  families_.push_back("unknown");
  unknown_family_ = families_.size() - 1;
  counts_.assign(families_.size(), {});

  size_t capacity = 64;
  int bits = 6;
  while (capacity < specs.size() * 4) {
    capacity *= 2;
    ++bits;
  }
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  shift_ = 64 - bits;
  for (const CommandSpec* spec : specs) Index(spec);

  // The cycle counter's rate, measured against the steady clock over 2 ms
  // (a few tens of ns of clock jitter make it off by well under 0.01%).
  use_tsc_ = HasInvariantTsc();
  std::array<uint64_t, LatencyHistogram::kBounds> bounds = kLatencyBoundsUs;
  if (use_tsc_) {
    const uint64_t ns0 = SteadyNanos();
    const uint64_t tsc0 = ReadTsc();
    uint64_t ns1 = ns0;
    while (ns1 - ns0 < 2'000'000) ns1 = SteadyNanos();
    const uint64_t tsc1 = ReadTsc();
    ticks_per_us_ = static_cast<double>(tsc1 - tsc0) * 1000.0 / static_cast<double>(ns1 - ns0);
    if (!(ticks_per_us_ > 1.0)) {
      use_tsc_ = false;
      ticks_per_us_ = 1000.0;
    }
  }
  for (uint64_t& bound : bounds) bound = static_cast<uint64_t>(bound * ticks_per_us_);
  execution_ = LatencyHistogram(bounds);
}

void CommandMetrics::Index(const CommandSpec* spec) {
  const std::string& group = spec->group.empty() ? std::string("other") : spec->group;
  const size_t family = std::find(families_.begin(), families_.end(), group) - families_.begin();
  size_t slot = Hash(spec);
  while (slots_[slot].spec != nullptr && slots_[slot].spec != spec) slot = (slot + 1) & mask_;
  slots_[slot] = Slot{spec, family};
}

}  // namespace understudy::server

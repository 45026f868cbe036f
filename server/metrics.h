#pragma once

// /metrics: the Prometheus text exposition format (version 0.0.4) and the
// daemon's figures written in it. The figures are read from the same
// objects INFO understudy reads (server/commands/info.cc), at scrape time,
// so the two never disagree; the only thing collected for /metrics alone is
// CommandMetrics, on the per-command path, and only while the admin port is
// on (docs/operations.md lists every metric).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "common/latency_histogram.h"

namespace understudy::server {

class Server;
class CommandTable;
struct CommandSpec;

// True for a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsValidMetricName(std::string_view name);
// True for a valid label name: [a-zA-Z_][a-zA-Z0-9_]*, not starting "__".
bool IsValidLabelName(std::string_view name);
// A label value as the format quotes it: \ " and newline escaped.
std::string EscapeLabelValue(std::string_view value);
// HELP text: \ and newline escaped.
std::string EscapeHelp(std::string_view text);
// A sample value: integers without a fraction, +Inf, -Inf, NaN, otherwise
// the shortest text that reads back as the same double.
std::string FormatSampleValue(double value);

using Label = std::pair<std::string_view, std::string_view>;

// Writes metric families in the text format. Each family is declared once
// (HELP and TYPE), then its samples follow. Names and label names are the
// caller's constants; an invalid one is a programming error and is dropped
// (with the family) rather than written, so a scrape always parses.
class ExpositionWriter {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Starts a family: "# HELP name help" and "# TYPE name type".
  void Family(std::string_view name, Type type, std::string_view help);
  // One sample of the current family (a counter or gauge).
  void Sample(const std::vector<Label>& labels, double value);
  // One histogram of the current family: cumulative name_bucket{le=...}
  // lines, the +Inf bucket equal to name_count, then name_sum. `counts`
  // are per bucket (LatencyHistogram's), `bounds_seconds` their upper
  // bounds; `sum_seconds` the sum of observations.
  void Histogram(const std::vector<Label>& labels, const std::vector<double>& bounds_seconds,
                 const std::vector<uint64_t>& counts, double sum_seconds);
  // A whole family with one sample.
  void Single(std::string_view name, Type type, std::string_view help, double value) {
    Family(name, type, help);
    Sample({}, value);
  }

  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  void WriteSample(std::string_view suffix, const std::vector<Label>& labels, const Label* extra,
                   std::string_view value);

  std::string text_;
  std::string family_;  // the current family's name; empty: none or invalid
};

// A LatencyHistogram as the writer wants it: bounds in seconds (from
// microseconds per `units_per_us`), counts per bucket, sum in seconds.
struct HistogramSnapshot {
  std::vector<double> bounds_seconds;
  std::vector<uint64_t> counts;
  double sum_seconds = 0;
  uint64_t count = 0;
};
HistogramSnapshot Snapshot(const LatencyHistogram& histogram, double units_per_us);
// The same histogram for INFO: "5=12,10=40,...,1000000=97,+Inf=97", bounds
// in microseconds, counts cumulative as in /metrics.
std::string CumulativeBucketsText(const LatencyHistogram& histogram);

// Where a request went, for understudy_commands_total.
enum class CommandRoute : uint8_t { kLocal, kProxied, kRejected };
inline constexpr size_t kCommandRoutes = 3;

// The per-command figures: commands by family (the command table's group)
// and route, and the time commands take to run here. Built only when the
// admin port is on. Every command is counted (a small hash probe and an
// increment); about one in kTimeEvery is timed, at random intervals so that
// a periodic pattern of commands cannot bias the sample: reading the cycle
// counter costs ~15 ns in a VM, twice per timed command, which is a few
// percent of a pipelined GET if paid by every command (bench/micro/
// metrics_bench, docs/operations.md).
class CommandMetrics {
 public:
  explicit CommandMetrics(const CommandTable& table);

  // A cheap timestamp in ticks (the CPU's invariant cycle counter when it
  // has one, else the steady clock in nanoseconds).
  uint64_t Now() const {
#if defined(__x86_64__) || defined(__i386__)
    if (use_tsc_) return __rdtsc();
#endif
    return SteadyNanos();
  }
  static uint64_t SteadyNanos();
  static constexpr uint32_t kTimeEvery = 8;
  // Call before a command runs: its start in ticks when this command is to
  // be timed, 0 when not.
  uint64_t Start() {
    if (--until_timed_ != 0) return 0;
    // xorshift32: the next gap, uniform in 1 .. 2 * kTimeEvery - 1.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    until_timed_ = 1 + rng_ % (2 * kTimeEvery - 1);
    const uint64_t now = Now();
    return now != 0 ? now : 1;
  }
  // A command ran here; `start_ticks` is what Start() returned for it.
  void Finish(const CommandSpec& spec, uint64_t start_ticks) {
    if (start_ticks != 0) {
      const uint64_t end = Now();
      execution_.Observe(end > start_ticks ? end - start_ticks : 0);
    }
    ++counts_[FamilyOf(&spec)][static_cast<size_t>(CommandRoute::kLocal)];
  }
  // A request was sent to the primary, or refused while it is not healthy
  // (spec nullptr: a command understudy does not know).
  void Count(const CommandSpec* spec, CommandRoute route) {
    ++counts_[FamilyOf(spec)][static_cast<size_t>(route)];
  }

  const std::vector<std::string>& families() const { return families_; }
  uint64_t count(size_t family, CommandRoute route) const {
    return counts_[family][static_cast<size_t>(route)];
  }
  // Local execution times of the timed commands (ticks; ticks_per_us()).
  const LatencyHistogram& execution() const { return execution_; }
  double ticks_per_us() const { return ticks_per_us_; }

 private:
  // The family index of `spec`: an open-addressing table keyed by the
  // spec's address, built once (the table does not change at run time).
  size_t FamilyOf(const CommandSpec* spec) const {
    if (spec == nullptr) return unknown_family_;
    size_t slot = Hash(spec);
    while (true) {
      const Slot& s = slots_[slot];
      if (s.spec == spec) return s.family;
      if (s.spec == nullptr) return unknown_family_;
      slot = (slot + 1) & mask_;
    }
  }
  size_t Hash(const CommandSpec* spec) const {
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(spec) >> 4) * 0x9E3779B97F4A7C15ULL >>
                               shift_) &
           mask_;
  }
  void Index(const CommandSpec* spec);

  struct Slot {
    const CommandSpec* spec = nullptr;
    size_t family = 0;
  };
  std::vector<std::string> families_;  // sorted; the last is "unknown"
  size_t unknown_family_ = 0;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 0;
  std::vector<std::array<uint64_t, kCommandRoutes>> counts_;  // by family
  bool use_tsc_ = false;
  double ticks_per_us_ = 1000.0;
  LatencyHistogram execution_;  // of the timed commands only
  uint32_t until_timed_ = 1;    // the first command is timed
  uint32_t rng_ = 0x9E3779B9;
};

// Counts a request that did not run here (proxied or rejected) by family,
// when the admin port is on; the routing code calls it beside ProxyStats.
void CountRoute(Server& server, const CommandSpec* spec, CommandRoute route);

// The whole /metrics body. `ready`: whether clients are admitted (the
// admin server's view, see AdminHttpServer::set_ready).
std::string WriteMetrics(Server& server, bool ready);

// The /ready body: {"ready":..,"mode":..,"primary_state":..,"degraded":..,
// "classes":[{"name":..,"mirror":..,"staleness_ms":..,...}]}.
std::string ReadinessJson(Server& server, bool ready);

// The figures both INFO understudy and /metrics show that are derived
// rather than read off one counter, computed in one place.
struct ClassStaleness {
  bool mirrored = false;
  int64_t staleness_ms = 0;  // mirrored: how long the mirror has not been live; else 0
  bool over_limit = false;   // mirrored, max-staleness set and exceeded (fail-closed)
};
// Per class, in the classifier's order.
std::vector<ClassStaleness> ClassStalenessOf(Server& server, int64_t now_ms);
// 1 while a primary is configured and not healthy.
bool Degraded(Server& server);

}  // namespace understudy::server

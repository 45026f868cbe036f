// What /metrics and /ready show, read at request time from the objects INFO
// understudy reads (server/commands/info.cc). Every metric is listed, with
// its meaning, in docs/operations.md; keep the two in step.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "replication/key_class.h"
#include "replication/mirror.h"
#include "replication/primary_health.h"
#include "replication/primary_link.h"
#include "replication/reconciler.h"
#include "server/memory_guard.h"
#include "server/metrics.h"
#include "server/outage_journal.h"
#include "server/proxy.h"
#include "server/server.h"
#include "server/version.h"

namespace understudy::server {

using Type = ExpositionWriter::Type;
using replication::PrimaryState;

namespace {

constexpr PrimaryState kStates[] = {PrimaryState::kHealthy, PrimaryState::kSuspect,
                                    PrimaryState::kDown, PrimaryState::kRecovering};

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

void WriteHistogram(ExpositionWriter& out, const std::vector<Label>& labels,
                    const HistogramSnapshot& snapshot) {
  out.Histogram(labels, snapshot.bounds_seconds, snapshot.counts, snapshot.sum_seconds);
}

void ProcessMetrics(Server& server, int64_t now_ms, bool ready, ExpositionWriter& out) {
  out.Family("understudy_build_info", Type::kGauge, "Always 1; labels name the build and mode.");
  out.Sample({{"version", kVersion}, {"mode", server.proxy() ? "proxy" : "standalone"}}, 1);
  out.Single("understudy_ready", Type::kGauge,
             "1 when clients are admitted (what /ready answers 200 for).", ready ? 1 : 0);
  out.Single("understudy_uptime_seconds", Type::kGauge, "Seconds since the process started.",
             Seconds(now_ms - server.start_time_ms()));
  out.Single("understudy_connected_clients", Type::kGauge,
             "Client connections on the RESP port (INFO connected_clients).",
             static_cast<double>(server.clients().size()));
  const ServerStats& stats = server.stats();
  out.Single("understudy_connections_received_total", Type::kCounter,
             "Client connections accepted (INFO total_connections_received).",
             static_cast<double>(stats.total_connections_received));
  out.Single("understudy_connections_rejected_total", Type::kCounter,
             "Client connections refused at maxclients (INFO rejected_connections).",
             static_cast<double>(stats.rejected_connections));
  out.Single("understudy_commands_processed_total", Type::kCounter,
             "Commands run by the local engine (INFO total_commands_processed).",
             static_cast<double>(stats.total_commands_processed));
  out.Single("understudy_error_replies_total", Type::kCounter,
             "Error replies sent (INFO total_error_replies).",
             static_cast<double>(stats.total_error_replies));
  out.Single("understudy_memory_used_bytes", Type::kGauge,
             "Memory in use as maxmemory counts it (INFO used_memory).",
             static_cast<double>(server.memory_guard().RefreshUsedMemory()));
  out.Single("understudy_memory_rss_bytes", Type::kGauge,
             "Resident set size of the process (INFO used_memory_rss).",
             static_cast<double>(ResidentBytes()));
  out.Single("understudy_memory_max_bytes", Type::kGauge,
             "The maxmemory limit, 0 for none (INFO maxmemory).",
             static_cast<double>(server.config().maxmemory));
  out.Single("understudy_evicted_keys_total", Type::kCounter,
             "Keys evicted under maxmemory (INFO evicted_keys).",
             static_cast<double>(server.memory_guard().evicted_keys()));

  if (const CommandMetrics* commands = server.command_metrics()) {
    static constexpr const char* kRouteNames[] = {"local", "proxied", "rejected"};
    out.Family("understudy_commands_total", Type::kCounter,
               "Commands by family (command table group) and by who answered: local, proxied "
               "(sent to the primary) or rejected (-TRYAGAIN during an outage).");
    const auto& families = commands->families();
    for (size_t f = 0; f < families.size(); ++f) {
      for (size_t r = 0; r < kCommandRoutes; ++r) {
        const uint64_t value = commands->count(f, static_cast<CommandRoute>(r));
        if (value == 0) continue;
        out.Sample({{"family", families[f]}, {"route", kRouteNames[r]}},
                   static_cast<double>(value));
      }
    }
    out.Family("understudy_command_duration_seconds", Type::kHistogram,
               "Time each command took to run in the local engine (not network time).");
    WriteHistogram(out, {}, Snapshot(commands->execution(), commands->ticks_per_us()));
  }
}

void PrimaryMetrics(Server& server, int64_t now_ms, ExpositionWriter& out) {
  Proxy* proxy = server.proxy();
  const bool configured = proxy != nullptr;
  out.Single("understudy_degraded", Type::kGauge,
             "1 while a primary is configured and not healthy: requests are answered locally "
             "or rejected. The gauge to alert on.",
             Degraded(server) ? 1 : 0);
  if (!configured) return;
  const replication::PrimaryLink& link = proxy->link();
  const replication::PrimaryHealth& health = link.health();
  out.Family("understudy_primary_state", Type::kGauge,
             "1 for the primary's current state, 0 for the others (INFO primary_state).");
  for (PrimaryState state : kStates) {
    out.Sample({{"state", replication::PrimaryStateName(state)}}, health.state() == state ? 1 : 0);
  }
  out.Single("understudy_primary_state_seconds", Type::kGauge,
             "Seconds in the current primary state (INFO primary_state_age_ms).",
             Seconds(std::max<int64_t>(0, now_ms - health.since_ms())));
  out.Family("understudy_primary_transitions_total", Type::kCounter,
             "Primary state transitions, by the state entered (INFO primary_transitions_to).");
  for (PrimaryState state : kStates) {
    out.Sample({{"to", replication::PrimaryStateName(state)}},
               static_cast<double>(health.transitions_to(state)));
  }
  const ProxyStats& stats = proxy->stats();
  out.Family("understudy_requests_total", Type::kCounter,
             "Client requests by route (INFO requests_*); failed_over ones were in flight to "
             "the primary when it failed and were then answered locally (also counted local).");
  out.Sample({{"route", "proxied"}}, static_cast<double>(stats.proxied));
  out.Sample({{"route", "local"}}, static_cast<double>(stats.local));
  out.Sample({{"route", "rejected"}}, static_cast<double>(stats.rejected));
  out.Sample({{"route", "failed_over"}}, static_cast<double>(stats.failed_over));
  out.Single("understudy_writes_applied_locally_total", Type::kCounter,
             "Acknowledged writes to mirrored keys applied to the local store too.",
             static_cast<double>(stats.write_through));
  out.Family("understudy_upstream_latency_seconds", Type::kHistogram,
             "Time from sending a request to the primary to its reply (INFO "
             "upstream_latency_buckets_us).");
  WriteHistogram(out, {}, Snapshot(link.stats().latency_us, 1.0));
  out.Single("understudy_upstream_pinned_connections", Type::kGauge,
             "Upstream connections pinned to stateful clients.",
             static_cast<double>(link.pinned_open()));

  if (const replication::Mirror* mirror = proxy->mirror()) {
    out.Single("understudy_mirror_live", Type::kGauge,
               "1 while the mirror is in sync with the primary (INFO mirror_state live).",
               mirror->live() ? 1 : 0);
    const int64_t stale_since = mirror->stale_since_ms();
    out.Single("understudy_mirror_stale_seconds", Type::kGauge,
               "Seconds since the mirror stopped being live, 0 while live (INFO mirror_stale_ms).",
               stale_since == 0 ? 0 : Seconds(std::max<int64_t>(0, now_ms - stale_since)));
    out.Single("understudy_mirror_lag_seconds", Type::kGauge,
               "Mirror lag: average time from an invalidation to the re-fetched value (INFO "
               "mirror_refetch_latency_avg_us).",
               static_cast<double>(mirror->average_refetch_latency_us()) / 1e6);
    out.Single("understudy_mirror_loads_total", Type::kCounter,
               "Initial loads of the mirror completed (INFO mirror_loads).",
               static_cast<double>(mirror->loads_completed()));
  }

  if (const OutageJournal* journal = server.journal()) {
    out.Single("understudy_journal_outage", Type::kGauge,
               "1 while local writes are journaled (INFO journal_outage).",
               journal->in_outage() ? 1 : 0);
    out.Single("understudy_journal_records_pending", Type::kGauge,
               "Journal records not yet replayed onto the primary (INFO journal_records_pending).",
               static_cast<double>(journal->pending_records()));
    out.Single("understudy_journal_bytes", Type::kGauge,
               "Size of the outage journal file (INFO journal_bytes).",
               static_cast<double>(journal->bytes()));
    out.Single("understudy_journal_max_bytes", Type::kGauge, "journal-max-bytes, 0 for no limit.",
               static_cast<double>(server.config().journal_max_bytes));
    out.Single("understudy_journal_full", Type::kGauge,
               "1 when the journal reached journal-max-bytes: writes are refused (INFO "
               "journal_full).",
               journal->full() ? 1 : 0);
    out.Single("understudy_journal_records_written_total", Type::kCounter,
               "Write commands journaled (INFO journal_records_written).",
               static_cast<double>(journal->stats().records));
    out.Single("understudy_journal_refused_full_total", Type::kCounter,
               "Writes refused because the journal was full (INFO journal_refused_full).",
               static_cast<double>(journal->stats().refused_full));
  }

  if (const replication::Reconciler* reconciler = proxy->reconciler()) {
    const replication::ReconcileProgress progress = reconciler->progress();
    out.Single("understudy_reconcile_running", Type::kGauge,
               "1 while the journal is being replayed onto the primary (INFO reconcile_running).",
               progress.running ? 1 : 0);
    out.Single("understudy_reconcile_pending", Type::kGauge,
               "Journal writes fed to the current replay and not yet committed (INFO "
               "reconcile_pending).",
               static_cast<double>(progress.pending));
    out.Single("understudy_reconcile_records_per_second", Type::kGauge,
               "Replay rate of the current or last replay, averaged since it started (INFO "
               "reconcile_records_per_sec).",
               progress.records_per_second);
    out.Single("understudy_reconcile_replayed_total", Type::kCounter,
               "Journal writes replayed onto the primary (INFO reconcile_replayed_total).",
               static_cast<double>(progress.replayed_total));
    out.Single("understudy_reconcile_conflicts_total", Type::kCounter,
               "lww keys the primary changed during an outage (INFO reconcile_conflicts_total).",
               static_cast<double>(progress.conflicts_total));
  }
}

void ClassMetrics(Server& server, int64_t now_ms, ExpositionWriter& out) {
  const auto& classes = server.classifier().classes();
  const std::vector<ClassMemoryStats> memory = server.memory_guard().class_stats();
  const std::vector<ClassStaleness> staleness = ClassStalenessOf(server, now_ms);
  out.Family("understudy_class_keys", Type::kGauge,
             "Keys of each class in the local store (INFO class_<name> keys=).");
  for (size_t i = 0; i < classes.size(); ++i) {
    out.Sample({{"class", classes[i].name}}, static_cast<double>(memory[i].keys));
  }
  out.Family("understudy_class_staleness_seconds", Type::kGauge,
             "Mirrored classes: seconds their local copy has not been in sync with the primary "
             "(INFO class_<name> staleness_ms=).");
  for (size_t i = 0; i < classes.size(); ++i) {
    if (!staleness[i].mirrored) continue;
    out.Sample({{"class", classes[i].name}}, Seconds(staleness[i].staleness_ms));
  }
  out.Family("understudy_class_max_staleness_seconds", Type::kGauge,
             "Mirrored classes with max-staleness set: the limit past which the class is "
             "rejected during an outage.");
  for (size_t i = 0; i < classes.size(); ++i) {
    if (!staleness[i].mirrored || classes[i].max_staleness_ms <= 0) continue;
    out.Sample({{"class", classes[i].name}}, Seconds(classes[i].max_staleness_ms));
  }
  out.Family("understudy_class_over_max_staleness", Type::kGauge,
             "1 when a mirrored class is staler than its max-staleness: it fails closed "
             "(INFO class_<name> over_max_staleness=).");
  for (size_t i = 0; i < classes.size(); ++i) {
    if (!staleness[i].mirrored) continue;
    out.Sample({{"class", classes[i].name}}, staleness[i].over_limit ? 1 : 0);
  }
  const replication::Mirror* mirror = server.proxy() ? server.proxy()->mirror() : nullptr;
  if (mirror != nullptr) {
    out.Family("understudy_class_mirror_invalidations_total", Type::kCounter,
               "Mirrored keys the primary said changed (INFO class_<name> invalidations=).");
    for (size_t i = 0; i < classes.size(); ++i) {
      if (!classes[i].mirror) continue;
      out.Sample({{"class", classes[i].name}},
                 static_cast<double>(mirror->class_stats()[i].invalidations));
    }
  }
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", byte);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

void CountRoute(Server& server, const CommandSpec* spec, CommandRoute route) {
  if (CommandMetrics* metrics = server.command_metrics()) metrics->Count(spec, route);
}

bool Degraded(Server& server) {
  Proxy* proxy = server.proxy();
  return proxy != nullptr && !proxy->link().health().healthy();
}

std::vector<ClassStaleness> ClassStalenessOf(Server& server, int64_t now_ms) {
  const auto& classes = server.classifier().classes();
  const replication::Mirror* mirror = server.proxy() ? server.proxy()->mirror() : nullptr;
  std::vector<ClassStaleness> out(classes.size());
  for (size_t i = 0; i < classes.size(); ++i) {
    if (mirror == nullptr || !classes[i].mirror) continue;
    ClassStaleness& entry = out[i];
    entry.mirrored = true;
    const int64_t stale_since = mirror->stale_since_ms();
    entry.staleness_ms = stale_since == 0 ? 0 : std::max<int64_t>(0, now_ms - stale_since);
    // As Proxy::ClassRejects decides it.
    entry.over_limit = stale_since != 0 && classes[i].max_staleness_ms > 0 &&
                       now_ms - stale_since > classes[i].max_staleness_ms;
  }
  return out;
}

std::string WriteMetrics(Server& server, bool ready) {
  const int64_t now_ms = server.clock().NowMs();
  ExpositionWriter out;
  ProcessMetrics(server, now_ms, ready, out);
  PrimaryMetrics(server, now_ms, out);
  ClassMetrics(server, now_ms, out);
  return out.Take();
}

std::string ReadinessJson(Server& server, bool ready) {
  const int64_t now_ms = server.clock().NowMs();
  Proxy* proxy = server.proxy();
  std::string json = "{\"ready\":";
  json += ready ? "true" : "false";
  json += ",\"mode\":";
  json += proxy ? "\"proxy\"" : "\"standalone\"";
  json += ",\"primary_state\":";
  json += JsonString(proxy ? replication::PrimaryStateName(proxy->link().health().state())
                           : std::string_view("none"));
  json += ",\"degraded\":";
  json += Degraded(server) ? "true" : "false";
  if (const OutageJournal* journal = server.journal()) {
    json += ",\"journal_records_pending\":" + std::to_string(journal->pending_records());
  }
  json += ",\"classes\":[";
  const auto& classes = server.classifier().classes();
  const std::vector<ClassStaleness> staleness = ClassStalenessOf(server, now_ms);
  for (size_t i = 0; i < classes.size(); ++i) {
    if (i > 0) json += ',';
    json += "{\"name\":" + JsonString(classes[i].name);
    json += ",\"mirror\":";
    json += classes[i].mirror ? "true" : "false";
    json += ",\"staleness_ms\":";
    json += staleness[i].mirrored ? std::to_string(staleness[i].staleness_ms) : "null";
    json += ",\"max_staleness_ms\":" + std::to_string(classes[i].max_staleness_ms);
    json += ",\"over_max_staleness\":";
    json += staleness[i].over_limit ? "true" : "false";
    json += '}';
  }
  json += "]}";
  return json;
}

}  // namespace understudy::server

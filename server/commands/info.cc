// INFO [section [section ...]]: Redis 7.0's field names for what understudy
// tracks, plus an "understudy" section. Fields Redis has but understudy
// does not track are left out rather than shown with made-up values.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <fstream>
#include <set>

#include "common/allocator_stats.h"
#include "server/blocking.h"
#include "server/commands/admin_support.h"
#include "server/commands/helpers.h"
#include "server/memory_guard.h"
#include "server/metrics.h"
#include "server/outage_journal.h"
#include "server/proxy.h"
#include "server/version.h"

namespace understudy::server {
namespace {

// Sections in the order INFO prints them; `in_default` marks those that
// INFO with no argument (or "default") shows.
struct Section {
  const char* name;
  bool in_default;
};
constexpr Section kSections[] = {
    {"server", true},  {"clients", true},     {"memory", true},     {"persistence", true},
    {"stats", true},   {"replication", true}, {"cpu", true},        {"modules", true},
    {"cluster", true}, {"keyspace", true},    {"understudy", true},
};

// Appends "name:value\r\n".
class InfoText {
 public:
  void Header(std::string_view title) {
    if (!text_.empty()) text_ += "\r\n";
    text_ += "# ";
    text_ += title;
    text_ += "\r\n";
  }
  void Field(std::string_view name, std::string_view value) {
    text_ += name;
    text_ += ':';
    text_ += value;
    text_ += "\r\n";
  }
  void Field(std::string_view name, int64_t value) { Field(name, std::to_string(value)); }
  void Field(std::string_view name, uint64_t value) { Field(name, std::to_string(value)); }
  void Field(std::string_view name, int value) { Field(name, std::to_string(value)); }
  void Field(std::string_view name, const char* value) { Field(name, std::string_view(value)); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::string Fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

// A stable 40-hex-digit id for this process (Redis's run_id is random per
// start; this one is derived from the pid and start time).
std::string RunId(const Server& server) {
  uint64_t state = static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ULL ^
                   static_cast<uint64_t>(server.start_time_ms());
  std::string out;
  while (out.size() < 40) {
    // splitmix64
    state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016" PRIx64, z);
    out += buf;
  }
  out.resize(40);
  return out;
}

uint64_t ResidentSetBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

void ServerSection(Server& server, int64_t now_ms, InfoText& out) {
  out.Header("Server");
  out.Field("redis_version", kRedisCompatVersion);
  out.Field("understudy_version", kVersion);
  out.Field("redis_mode", "standalone");
  struct utsname name;
  if (::uname(&name) == 0) {
    out.Field("os", std::string(name.sysname) + " " + name.release + " " + name.machine);
  }
  out.Field("arch_bits", static_cast<int>(sizeof(void*) * 8));
  out.Field("multiplexing_api", "epoll");
#ifdef __GNUC__
  out.Field("gcc_version", std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
                               std::to_string(__GNUC_PATCHLEVEL__));
#endif
  out.Field("process_id", static_cast<int64_t>(::getpid()));
  out.Field("process_supervised", "no");
  out.Field("run_id", RunId(server));
  out.Field("tcp_port", server.config().port);
  out.Field("server_time_usec", server.clock().NowUs());
  int64_t uptime_s = (now_ms - server.start_time_ms()) / 1000;
  out.Field("uptime_in_seconds", uptime_s);
  out.Field("uptime_in_days", uptime_s / 86400);
  out.Field("hz", server.config().hz);
  out.Field("configured_hz", server.config().hz);
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  out.Field("executable", n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string());
  out.Field("config_file", server.config().config_file);
  out.Field("io_threads_active", 0);
}

void ClientsSection(Server& server, InfoText& out) {
  size_t max_input = 0, max_output = 0;
  for (const auto& [id, session] : server.clients()) {
    max_input = std::max(max_input, session->query_buffer_size);
    max_output = std::max(max_output, session->reply.size() + session->output_in_flight);
  }
  out.Header("Clients");
  out.Field("connected_clients", static_cast<uint64_t>(server.clients().size()));
  out.Field("cluster_connections", 0);
  out.Field("maxclients", server.config().maxclients);
  out.Field("client_recent_max_input_buffer", static_cast<uint64_t>(max_input));
  out.Field("client_recent_max_output_buffer", static_cast<uint64_t>(max_output));
  out.Field("blocked_clients", static_cast<uint64_t>(server.blocking().blocked_count()));
  out.Field("tracking_clients", 0);
  out.Field("clients_in_timeout_table", static_cast<uint64_t>(server.blocking().timeout_count()));
}

void MemorySection(Server& server, InfoText& out) {
  const uint64_t used = server.memory_guard().RefreshUsedMemory();
  const uint64_t rss = ResidentSetBytes();
  const uint64_t system = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                          static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const Config& config = server.config();
  out.Header("Memory");
  out.Field("used_memory", used);
  out.Field("used_memory_human", BytesToHuman(used));
  out.Field("used_memory_rss", rss);
  out.Field("used_memory_rss_human", BytesToHuman(rss));
  out.Field("total_system_memory", system);
  out.Field("total_system_memory_human", BytesToHuman(system));
  // Scripting memory, with Redis 7.0's names (used_memory_lua is the older
  // name of used_memory_vm_eval).
  const uint64_t lua_bytes = server.lua_memory_bytes();
  const uint64_t script_bytes = server.scripts().body_bytes();
  out.Field("used_memory_lua", lua_bytes);
  out.Field("used_memory_vm_eval", lua_bytes);
  out.Field("used_memory_lua_human", BytesToHuman(lua_bytes));
  out.Field("used_memory_scripts_eval", script_bytes);
  out.Field("number_of_cached_scripts", static_cast<uint64_t>(server.scripts().size()));
  out.Field("used_memory_scripts", script_bytes);
  out.Field("used_memory_scripts_human", BytesToHuman(script_bytes));
  out.Field("maxmemory", config.maxmemory);
  out.Field("maxmemory_human", BytesToHuman(config.maxmemory));
  out.Field("maxmemory_policy", config.maxmemory_policy);
  out.Field("mem_fragmentation_ratio", Fixed(used ? static_cast<double>(rss) / used : 0, 2));
  out.Field("mem_allocator", UsingJemalloc() ? "jemalloc" : "libc");
}

void PersistenceSection(Server& server, InfoText& out) {
  out.Header("Persistence");
  out.Field("loading", 0);
  out.Field("async_loading", 0);
  out.Field("rdb_bgsave_in_progress", 0);
  out.Field("rdb_last_save_time", server.start_time_ms() / 1000);
  out.Field("rdb_saves", 0);
  out.Field("aof_enabled", 0);
  out.Field("aof_rewrite_in_progress", 0);
}

// Per-second rates since the previous sample; the sample moves on once it
// is at least a second old, so that close INFO calls still average over a
// meaningful interval. The first call averages since the start.
struct Rates {
  double ops_per_sec = 0;
  double input_kbps = 0;
  double output_kbps = 0;
};

Rates SampleRates(Server& server, int64_t now_ms) {
  ServerStats& stats = server.stats();
  const int64_t since_ms =
      stats.rate_sample_ms != 0 ? stats.rate_sample_ms : server.start_time_ms();
  const double seconds = std::max<int64_t>(now_ms - since_ms, 1) / 1000.0;
  Rates rates;
  rates.ops_per_sec = (stats.total_commands_processed - stats.rate_sample_commands) / seconds;
  rates.input_kbps = (stats.total_net_input_bytes - stats.rate_sample_input_bytes) / seconds / 1024;
  rates.output_kbps =
      (stats.total_net_output_bytes - stats.rate_sample_output_bytes) / seconds / 1024;
  if (now_ms - since_ms >= 1000) {
    stats.rate_sample_ms = now_ms;
    stats.rate_sample_commands = stats.total_commands_processed;
    stats.rate_sample_input_bytes = stats.total_net_input_bytes;
    stats.rate_sample_output_bytes = stats.total_net_output_bytes;
  }
  return rates;
}

void StatsSection(Server& server, int64_t now_ms, InfoText& out) {
  uint64_t expired = 0, hits = 0, misses = 0;
  for (int i = 0; i < server.database_count(); ++i) {
    const storage::DatabaseStats& db = server.db(i).stats();
    expired += db.expired_keys;
    hits += db.keyspace_hits;
    misses += db.keyspace_misses;
  }
  const Rates rates = SampleRates(server, now_ms);
  const ServerStats& stats = server.stats();
  out.Header("Stats");
  out.Field("total_connections_received", stats.total_connections_received);
  out.Field("total_commands_processed", stats.total_commands_processed);
  out.Field("instantaneous_ops_per_sec", static_cast<int64_t>(rates.ops_per_sec + 0.5));
  out.Field("total_net_input_bytes", stats.total_net_input_bytes);
  out.Field("total_net_output_bytes", stats.total_net_output_bytes);
  out.Field("instantaneous_input_kbps", Fixed(rates.input_kbps, 2));
  out.Field("instantaneous_output_kbps", Fixed(rates.output_kbps, 2));
  out.Field("rejected_connections", stats.rejected_connections);
  out.Field("expired_keys", expired);
  out.Field("evicted_keys", server.memory_guard().evicted_keys());
  out.Field("keyspace_hits", hits);
  out.Field("keyspace_misses", misses);
  out.Field("pubsub_channels", server.pubsub().channel_count(ChannelScope::kGlobal));
  out.Field("pubsub_patterns", server.pubsub().pattern_count());
  out.Field("pubsubshard_channels", server.pubsub().channel_count(ChannelScope::kShard));
  out.Field("total_error_replies", stats.total_error_replies);
}

void ReplicationSection(Server& server, InfoText& out) {
  out.Header("Replication");
  out.Field("role", "master");
  out.Field("connected_slaves", 0);
  out.Field("master_failover_state", "no-failover");
  out.Field("master_replid", RunId(server));
  out.Field("master_replid2", std::string(40, '0'));
  out.Field("master_repl_offset", 0);
  out.Field("second_repl_offset", -1);
  out.Field("repl_backlog_active", 0);
}

std::string CpuSeconds(const struct timeval& tv) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(tv.tv_sec),
                static_cast<long>(tv.tv_usec));
  return buf;
}

void CpuSection(InfoText& out) {
  struct rusage self, children;
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  out.Header("CPU");
  out.Field("used_cpu_sys", CpuSeconds(self.ru_stime));
  out.Field("used_cpu_user", CpuSeconds(self.ru_utime));
  out.Field("used_cpu_sys_children", CpuSeconds(children.ru_stime));
  out.Field("used_cpu_user_children", CpuSeconds(children.ru_utime));
}

void KeyspaceSection(Server& server, int64_t now_ms, InfoText& out) {
  out.Header("Keyspace");
  for (int i = 0; i < server.database_count(); ++i) {
    storage::Database& db = server.db(i);
    if (db.size() == 0 && db.volatile_count() == 0) continue;
    out.Field("db" + std::to_string(i), "keys=" + std::to_string(db.size()) +
                                            ",expires=" + std::to_string(db.volatile_count()) +
                                            ",avg_ttl=" + std::to_string(db.AverageTtlMs(now_ms)));
  }
}

// One class's INFO line: "pattern=session:*,mirror=yes,merge=lww,outage=serve,..."
std::string ClassInfo(const replication::KeyClass& key_class) {
  auto yes_no = [](bool value) { return value ? "yes" : "no"; };
  std::string merge = key_class.merge == replication::MergeRule::kUnion     ? "union"
                      : key_class.merge == replication::MergeRule::kCounter ? "counter"
                                                                            : "lww";
  return "pattern=" + key_class.pattern + ",mirror=" + yes_no(key_class.mirror) +
         ",merge=" + merge + ",outage=" +
         (key_class.outage == replication::OutagePolicy::kReject ? "reject" : "serve") +
         ",max_staleness_ms=" + std::to_string(key_class.max_staleness_ms) +
         ",near_cache=" + yes_no(key_class.near_cache) + ",evict=" + yes_no(key_class.evict);
}

// "classes:N" then one class_<name> line per class: its rules, then its keys
// in the local store with eviction figures, then the mirror's counters.
void ClassLines(Server& server, const replication::Mirror* mirror, InfoText& out) {
  const auto& classes = server.classifier().classes();
  const std::vector<ClassMemoryStats> memory = server.memory_guard().class_stats();
  const std::vector<ClassStaleness> staleness = ClassStalenessOf(server, server.clock().NowMs());
  out.Field("classes", std::to_string(classes.size()));
  for (size_t i = 0; i < classes.size(); ++i) {
    std::string line = ClassInfo(classes[i]);
    line += ",keys=" + std::to_string(memory[i].keys) +
            ",evicted=" + std::to_string(memory[i].evicted) +
            ",oom_refused=" + std::to_string(memory[i].refused);
    if (mirror != nullptr && classes[i].mirror) {
      const replication::MirrorClassStats& stats = mirror->class_stats()[i];
      line += ",loaded=" + std::to_string(stats.loaded) +
              ",invalidations=" + std::to_string(stats.invalidations) +
              ",refetches=" + std::to_string(stats.refetches) +
              ",removed=" + std::to_string(stats.removed);
    }
    // Also in /metrics (understudy_class_staleness_seconds...).
    if (staleness[i].mirrored) {
      line += ",staleness_ms=" + std::to_string(staleness[i].staleness_ms) +
              ",over_max_staleness=" + (staleness[i].over_limit ? "1" : "0");
    }
    out.Field("class_" + classes[i].name, line);
  }
}

// With the admin port on (Server::EnableCommandMetrics): the local
// execution time histogram and one commands_family_<group> line per
// command family used, as understudy_command_duration_seconds and
// understudy_commands_total show them.
void CommandLines(Server& server, InfoText& out) {
  const CommandMetrics* metrics = server.command_metrics();
  if (metrics == nullptr) return;
  const LatencyHistogram& execution = metrics->execution();
  out.Field("command_latency_sum_us",
            static_cast<uint64_t>(static_cast<double>(execution.sum()) / metrics->ticks_per_us()));
  // The tick bounds stand for kLatencyBoundsUs, so the text names those.
  out.Field("command_latency_buckets_us", CumulativeBucketsText(execution));
  for (size_t f = 0; f < metrics->families().size(); ++f) {
    const uint64_t local = metrics->count(f, CommandRoute::kLocal);
    const uint64_t proxied = metrics->count(f, CommandRoute::kProxied);
    const uint64_t rejected = metrics->count(f, CommandRoute::kRejected);
    if (local + proxied + rejected == 0) continue;
    out.Field("commands_family_" + metrics->families()[f],
              "local=" + std::to_string(local) + ",proxied=" + std::to_string(proxied) +
                  ",rejected=" + std::to_string(rejected));
  }
}

// The daemon's own state: its mode and, with a primary configured, the
// primary's health and where requests went (docs/primary-link.md).
void UnderstudySection(Server& server, int64_t now_ms, InfoText& out) {
  out.Header("Understudy");
  out.Field("understudy_version", kVersion);
  Proxy* proxy = server.proxy();
  if (proxy == nullptr) {
    out.Field("mode", "standalone");
    out.Field("primary_state", "none");
    out.Field("degraded", 0);
    CommandLines(server, out);
    ClassLines(server, nullptr, out);
    return;
  }
  const replication::PrimaryLink& link = proxy->link();
  const replication::PrimaryHealth& health = link.health();
  out.Field("mode", "proxy");
  out.Field("primary_state", replication::PrimaryStateName(health.state()));
  out.Field("primary_state_since_ms", std::to_string(health.since_ms()));
  out.Field("primary_state_age_ms",
            std::to_string(std::max<int64_t>(0, now_ms - health.since_ms())));
  out.Field("primary_transitions", std::to_string(health.transitions()));
  // The figures below marked (metrics) are what /metrics shows too.
  out.Field("degraded", Degraded(server) ? 1 : 0);
  out.Field(
      "primary_transitions_to",
      "healthy=" + std::to_string(health.transitions_to(replication::PrimaryState::kHealthy)) +
          ",suspect=" + std::to_string(health.transitions_to(replication::PrimaryState::kSuspect)) +
          ",down=" + std::to_string(health.transitions_to(replication::PrimaryState::kDown)) +
          ",recovering=" +
          std::to_string(health.transitions_to(replication::PrimaryState::kRecovering)));
  out.Field("primary_address", link.address());
  out.Field("primary_last_failure", health.last_failure());
  const ProxyStats& stats = proxy->stats();
  out.Field("requests_proxied", std::to_string(stats.proxied));
  out.Field("requests_local", std::to_string(stats.local));
  out.Field("requests_rejected", std::to_string(stats.rejected));
  out.Field("requests_failed_over", std::to_string(stats.failed_over));
  out.Field("writes_applied_locally", std::to_string(stats.write_through));
  out.Field("scripts_reloaded_on_primary", std::to_string(stats.script_reloads));
  out.Field("upstream_replies", std::to_string(link.stats().replies));
  out.Field("upstream_latency_avg_us", std::to_string(link.average_latency_us()));
  out.Field("upstream_pinned_connections", std::to_string(link.pinned_open()));
  out.Field("upstream_latency_sum_us", link.stats().latency_us.sum());
  out.Field("upstream_latency_buckets_us", CumulativeBucketsText(link.stats().latency_us));
  const replication::Mirror* mirror = proxy->mirror();
  if (mirror != nullptr) {
    out.Field("mirror_state", mirror->state_name());
    const int64_t stale_since = mirror->stale_since_ms();
    out.Field("mirror_stale_ms",
              stale_since == 0 ? int64_t{0} : std::max<int64_t>(0, now_ms - stale_since));
    out.Field("mirror_loads", mirror->loads_completed());
    out.Field("mirror_last_load_ms", mirror->last_load_duration_ms());
    out.Field("mirror_refetch_latency_avg_us", mirror->average_refetch_latency_us());
  }
  if (const OutageJournal* journal = server.journal()) {
    const OutageJournalStats& stats = journal->stats();
    out.Field("journal_outage", journal->in_outage() ? 1 : 0);
    out.Field("journal_records_pending", journal->pending_records());
    out.Field("journal_bytes", journal->bytes());
    out.Field("journal_last_seq", journal->last_seq());
    out.Field("journal_full", journal->full() ? 1 : 0);
    out.Field("journal_refused_full", stats.refused_full);
    out.Field("journal_records_written", stats.records);
    out.Field("journal_baselines_written", stats.baselines);
    out.Field("journal_records_restored", stats.restored);
    out.Field("journal_max_bytes", server.config().journal_max_bytes);
  }
  if (const replication::Reconciler* reconciler = proxy->reconciler()) {
    const replication::ReconcileProgress progress = reconciler->progress();
    out.Field("reconcile_running", progress.running ? 1 : 0);
    out.Field("reconcile_replayed", progress.replayed);
    out.Field("reconcile_pending", progress.pending);
    out.Field("reconcile_batches", progress.batches);
    out.Field("reconcile_conflicts", progress.conflicts);
    out.Field("reconcile_applied_up_to", progress.applied_up_to);
    out.Field("reconcile_records_per_sec", static_cast<uint64_t>(progress.records_per_second));
    out.Field("reconcile_last_duration_ms", progress.last_duration_ms);
    out.Field("reconcile_replayed_total", progress.replayed_total);
    out.Field("reconcile_conflicts_total", progress.conflicts_total);
  }
  CommandLines(server, out);
  ClassLines(server, mirror, out);
}

// INFO [section [section ...]]
void InfoCommand(CommandContext& ctx) {
  std::set<std::string> wanted;
  bool everything = false;
  if (ctx.argc() == 1) wanted.insert("default");
  for (size_t i = 1; i < ctx.argc(); ++i) {
    std::string name(ctx.args[i]);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "all" || name == "everything") everything = true;
    wanted.insert(name);
  }
  const bool defaults = wanted.count("default") > 0;
  InfoText out;
  for (const Section& section : kSections) {
    std::string_view name = section.name;
    if (!everything && !(defaults && section.in_default) && !wanted.count(section.name)) continue;
    if (name == "server") {
      ServerSection(ctx.server, ctx.now_ms, out);
    } else if (name == "clients") {
      ClientsSection(ctx.server, out);
    } else if (name == "memory") {
      MemorySection(ctx.server, out);
    } else if (name == "persistence") {
      PersistenceSection(ctx.server, out);
    } else if (name == "stats") {
      StatsSection(ctx.server, ctx.now_ms, out);
    } else if (name == "replication") {
      ReplicationSection(ctx.server, out);
    } else if (name == "cpu") {
      CpuSection(out);
    } else if (name == "modules") {
      out.Header("Modules");
    } else if (name == "cluster") {
      out.Header("Cluster");
      out.Field("cluster_enabled", 0);
    } else if (name == "keyspace") {
      KeyspaceSection(ctx.server, ctx.now_ms, out);
    } else if (name == "understudy") {
      UnderstudySection(ctx.server, ctx.now_ms, out);
    }
  }
  ctx.reply.Verbatim(out.text());
}

}  // namespace

void RegisterInfoCommands(CommandTable& table) {
  // clang-format off
  table.Add({.name = "info", .arity = -1, .flags = kCmdLoading | kCmdStale, .handler = InfoCommand, .group = "server", .summary = "Get information and statistics about the server", .since = "1.0.0", .complexity = "O(1)", .acl_categories = "dangerous", .tips = "nondeterministic_output request_policy:all_shards response_policy:special"});
  // clang-format on
}

}  // namespace understudy::server

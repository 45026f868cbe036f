#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replication/key_class.h"

namespace understudy::server {

// A host and a TCP port, e.g. one Sentinel of primary-sentinel.
struct HostPort {
  std::string host;
  int port = 0;

  bool operator==(const HostPort&) const = default;
};

// One client class's client-output-buffer-limit: a client whose pending
// output reaches `hard_bytes`, or stays at or above `soft_bytes` for more
// than `soft_seconds`, is disconnected. 0 bytes means no such limit.
struct OutputBufferLimit {
  uint64_t hard_bytes = 0;
  uint64_t soft_bytes = 0;
  int64_t soft_seconds = 0;
};

// The client classes of client-output-buffer-limit, in CONFIG GET order.
enum ClientClass : size_t { kClientNormal = 0, kClientReplica = 1, kClientPubSub = 2 };

// The effective configuration: redis.conf-style directives from a file, then
// `--directive value` overrides from the command line, then CONFIG SET.
// Names and defaults follow redis.conf where a directive exists there; the
// directive table in config.cc maps each name to its field here.
struct Config {
  // Network.
  std::vector<std::string> bind = {"127.0.0.1"};
  int port = 6380;
  std::string unixsocket;
  int unixsocketperm = 0;
  int tcp_backlog = 511;
  int timeout = 0;          // idle client timeout, seconds; 0 = never
  int tcp_keepalive = 300;  // seconds
  bool protected_mode = true;
  int64_t maxclients = 10000;

  // Security.
  std::string requirepass;

  // Keyspace.
  int databases = 16;
  int hz = 10;
  uint64_t maxmemory = 0;  // bytes; 0 = no limit
  std::string maxmemory_policy = "noeviction";
  int maxmemory_samples = 5;

  // Protocol limits.
  int64_t proto_max_bulk_len = 512LL * 1024 * 1024;
  int64_t client_query_buffer_limit = 1024LL * 1024 * 1024;
  // Pending output above which the server stops reading a client's requests
  // until it catches up (backpressure).
  int64_t client_output_soft_limit = 1024 * 1024;
  // client-output-buffer-limit, indexed by ClientClass (Redis's defaults).
  std::array<OutputBufferLimit, 3> client_output_buffer_limit = {{
      {0, 0, 0},
      {256ULL * 1024 * 1024, 64ULL * 1024 * 1024, 60},
      {32ULL * 1024 * 1024, 8ULL * 1024 * 1024, 60},
  }};

  // Process.
  std::string loglevel = "notice";
  std::string logfile;  // empty: stderr
  // "human" (redis-server-like lines) or "json" (one object per line);
  // CONFIG SET switches it at once (common/logging.h).
  std::string log_format = "human";
  // Seconds SIGTERM waits for requests already running to be answered
  // before closing the remaining connections (Redis's name; 0: at once).
  int shutdown_timeout = 10;
  std::string dir = ".";
  std::string pidfile;
  bool daemonize = false;

  // Accepted so that redis.conf files and tools that read them keep working;
  // understudy does not act on them (yet). deploy/understudy.conf says which.
  std::string save;  // "" = no RDB snapshots, which is what understudy does
  bool appendonly = false;
  std::string appendfsync = "everysec";
  std::string dbfilename = "dump.rdb";
  int notify_keyspace_events = 0;  // bit set, see config.cc
  int64_t slowlog_log_slower_than = 10000;
  int64_t slowlog_max_len = 128;
  int64_t latency_monitor_threshold = 0;
  // Scripting: how long (ms) a script runs before other clients are served
  // -BUSY and SCRIPT KILL may stop it (alias lua-time-limit).
  int64_t busy_reply_threshold = 5000;
  bool activerehashing = true;
  bool lazyfree_lazy_eviction = false;
  bool lazyfree_lazy_expire = false;
  bool lazyfree_lazy_server_del = false;
  bool lazyfree_lazy_user_del = false;
  bool lazyfree_lazy_user_flush = false;
  int io_threads = 1;
  bool cluster_enabled = false;
  std::string supervised = "no";

  // Compact-encoding limits of the collection types (redis.conf names).
  int64_t hash_max_listpack_entries = 512;  // Redis 7.0's built-in default
  int64_t hash_max_listpack_value = 64;
  int64_t set_max_intset_entries = 512;
  int64_t zset_max_listpack_entries = 128;
  int64_t zset_max_listpack_value = 64;
  int64_t list_max_listpack_size = -2;  // >0: entries per node; -1..-5: 4..64 KiB
  int64_t list_compress_depth = 0;      // accepted; nodes are never compressed

  // Key classes: one `class NAME PATTERN [attribute value]...` line each, in
  // file order (first match wins). The implicit default class is not in the
  // list unless configured; replication::KeyClassifier appends it.
  std::vector<replication::KeyClass> classes;

  // The primary link. No primary_host and no primary_sentinels means
  // standalone. primary and primary-sentinel exclude each other, and
  // primary-sentinel needs primary-name (ConfigStore::Validate).
  std::string primary_host;  // `primary HOST PORT`
  int primary_port = 0;
  std::string primary_user;      // AUTH user; empty: the default user
  std::string primary_password;  // empty: no AUTH
  bool primary_tls = false;
  std::string primary_tls_ca_cert_file;  // empty: the system's trust store
  std::string primary_tls_cert_file;     // client certificate, with the key file
  std::string primary_tls_key_file;
  std::string primary_tls_server_name;          // SNI and name check; empty: the primary's host
  int64_t primary_timeout_ms = 200;             // a slower reply makes the primary suspect
  int64_t primary_probe_interval_ms = 100;      // first probe delay while not healthy
  int64_t primary_probe_max_interval_ms = 500;  // cap of the probe backoff
  int primary_connections = 2;                  // shared pipelined upstream connections
  int primary_pinned_max = 256;                 // pinned upstream connections for stateful clients
  std::vector<HostPort> primary_sentinels;      // `primary-sentinel HOST PORT` lines
  std::string primary_name;                     // the master's name at the Sentinels

  // The outage journal (docs/journal.md), in `dir`. Startup only.
  std::string journal_fsync = "everysec";              // always | everysec | no
  uint64_t journal_max_bytes = 1024ULL * 1024 * 1024;  // 0: no limit
  // Names this daemon's journal on the primary (its replay checkpoint key);
  // empty: an id made once and kept in `dir` (understudy-journal.id).
  std::string journal_id;

  // The admin HTTP port (docs/operations.md): 0 = off. Startup only.
  int admin_port = 0;
  std::string admin_bind = "127.0.0.1";

  bool has_primary() const { return !primary_host.empty() || !primary_sentinels.empty(); }

  // Where the configuration came from (CONFIG REWRITE target), absolute.
  std::string config_file;
};

// Applies configuration directives by name. Holds the directive table (name,
// parser, printer, whether CONFIG SET may change it).
class ConfigStore {
 public:
  explicit ConfigStore(Config* config) : config_(config) {}

  // Parses redis.conf syntax from `text`. On error returns false and sets
  // *error to a redis-server-style message naming the line:
  //   Reading the configuration file, at line 2
  //   >>> 'foo bar'
  //   Bad directive or wrong number of arguments
  // When the whole text is read, Validate runs; a failure names the line of
  // the directive involved that came last.
  bool LoadText(std::string_view text, std::string* error);
  bool LoadFile(const std::string& path, std::string* error);
  // Applies `argv` as redis-server does: an optional config file first,
  // then `--name value...` pairs, parsed as lines appended to the file.
  bool LoadCommandLine(int argc, const char* const* argv, std::string* error);

  // Sets one directive. `startup` allows directives that cannot change at
  // runtime. On failure *error holds the reason (without the "ERR " prefix).
  bool Set(std::string_view name, std::span<const std::string_view> values, bool startup,
           std::string* error);
  // CONFIG SET name value [name value ...]: all or nothing. Checks every
  // name first (unknown, immutable, given twice), then sets the values in
  // order, restoring the previous configuration if one fails. On failure
  // *error holds the complete Redis 7.0 error text without "ERR ".
  bool SetFromCommand(std::span<const std::string_view> name_value_pairs, std::string* error);
  // Checks the rules that span several directives (primary and
  // primary-sentinel exclude each other, primary-sentinel needs
  // primary-name, the probe backoff cap is not below the first interval,
  // a TLS client certificate comes with its key). Runs after loading and
  // after CONFIG SET. On failure *error holds the reason.
  bool Validate(std::string* error) const;
  // (name, value) pairs of the directives matching the glob `pattern`
  // (case-insensitive), in table order.
  std::vector<std::pair<std::string, std::string>> Get(std::string_view pattern) const;
  // CONFIG GET pattern [pattern ...]: the union of the matches, each
  // directive once. A pattern without glob characters is a plain lookup
  // answered under the spelling given ("MAXMEMORY"), as in Redis 7.0.
  std::vector<std::pair<std::string, std::string>> GetMatching(
      std::span<const std::string_view> patterns) const;

  // CONFIG REWRITE: rewrites config_file so that it reproduces the current
  // configuration. Lines of directives the file already has are replaced
  // in place (comments and order kept, repeats dropped); directives that
  // differ from their defaults and are not in the file are appended. The
  // new file replaces the old one atomically. On failure *error holds the
  // reason without "ERR ".
  bool Rewrite(std::string* error) const;
  // The lines CONFIG REWRITE would write, given the current file text.
  std::string RewriteText(std::string_view old_text) const;

 private:
  Config* config_;
};

}  // namespace understudy::server

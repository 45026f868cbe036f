#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "protocol/reply_writer.h"
#include "replication/key_class.h"
#include "server/client_session.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/pubsub.h"
#include "server/scripting/script_cache.h"
#include "storage/database.h"

namespace understudy::server {

class Server;
class BlockingRegistry;  // server/blocking.h
class Proxy;             // server/proxy.h
class MemoryGuard;       // server/memory_guard.h
class OutageJournal;     // server/outage_journal.h
class LuaEngine;         // server/scripting/lua_engine.h
class CommandMetrics;    // server/metrics.h

// What a command handler gets: the request, the client, its database, a
// reply writer and the server. Handlers are plain functions of this.
struct CommandContext {
  Server& server;
  ClientSession& client;
  storage::Database& db;
  protocol::ReplyWriter reply;
  std::span<const std::string_view> args;  // args[0] is the command name
  const CommandSpec& spec;
  int64_t now_ms;

  size_t argc() const { return args.size(); }
  // Marks `key` of the current database as modified (invalidates WATCH).
  void KeyModified(std::string_view key);
  // Says that `key` of the current database may now satisfy clients blocked
  // on it (called by list pushes and sorted-set adds, like Redis's
  // signalKeyAsReady); they are served once the current command returns.
  void KeyReady(std::string_view key);
  // "-ERR wrong number of arguments for '<name>' command"
  void WrongArity();
  // True once the client's pending output has passed its
  // client-output-buffer-limit; its connection is then being closed and the
  // reply will be dropped. Handlers whose reply can grow without bound
  // (SRANDMEMBER with a negative count) check it as they go and stop early,
  // as Redis does. Cheap when no limit applies.
  bool OutputLimitReached();
};

// Server-wide counters shown by INFO stats.
struct ServerStats {
  uint64_t total_connections_received = 0;
  uint64_t total_commands_processed = 0;
  uint64_t rejected_connections = 0;
  uint64_t total_net_input_bytes = 0;
  uint64_t total_net_output_bytes = 0;
  uint64_t unexpected_error_replies = 0;
  uint64_t total_error_replies = 0;
  // The counters as INFO last saw them, for its instantaneous_* rates
  // (averaged since that sample, which is kept for at least a second).
  int64_t rate_sample_ms = 0;
  uint64_t rate_sample_commands = 0;
  uint64_t rate_sample_input_bytes = 0;
  uint64_t rate_sample_output_bytes = 0;
};

// The command engine: databases, the command table, clients and the rules
// that apply to every command (authentication, arity, MULTI queueing). It
// does no I/O; the network layer feeds it parsed requests and drains each
// session's reply buffer.
class Server {
 public:
  Server(Config config, const Clock* clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs one request for `client`, appending the reply to client.reply.
  void Execute(ClientSession& client, std::span<const std::string_view> args) {
    Execute(client, args, commands_.Lookup(args));
  }
  // The same, for a caller that has looked the command up already.
  void Execute(ClientSession& client, std::span<const std::string_view> args,
               const CommandLookup& lookup);
  // Runs a command that passed the checks (also used by EXEC). `now_ms`
  // fixes the command's time (EXEC runs its queue at one instant, as Redis
  // does); by default the clock is read.
  void Call(ClientSession& client, const CommandSpec& spec, std::span<const std::string_view> args,
            std::optional<int64_t> now_ms = std::nullopt);

  // Client registry.
  ClientSession& AddClient();
  void RemoveClient(ClientSession& client);
  const std::unordered_map<uint64_t, std::unique_ptr<ClientSession>>& clients() const {
    return clients_;
  }
  ClientSession* FindClient(uint64_t id);

  // MULTI/WATCH support (server/watch.cc).
  //
  // Adds `key` of the client's current database to its watched keys,
  // remembering whether the key was already expired at that moment.
  void Watch(ClientSession& client, std::string_view key, int64_t now_ms);
  // Forgets all keys the client watches and clears its dirty flag.
  void Unwatch(ClientSession& client);
  // Leaves MULTI: drops the queued commands, the queueing-error flag and
  // the watched keys (EXEC, DISCARD, RESET).
  void DiscardTransaction(ClientSession& client);
  // A command modified `key` (via CommandContext::KeyModified, or directly
  // for a database other than the client's, e.g. MOVE/COPY ... DB n).
  void TouchWatchedKey(int db_index, std::string_view key);
  // Expiry (lazy or active) deleted `key`; called by the storage listener.
  void TouchExpiredWatchedKey(int db_index, std::string_view key);
  // FLUSHDB/FLUSHALL (per database) and SWAPDB (called once per side with
  // the other side as `replaced_with_db`). Call BEFORE clearing or swapping:
  // only watched keys that exist in either database are invalidated.
  void TouchAllWatchedKeys(int emptied_db, int replaced_with_db = -1);
  // True when a key the client watched while it was live has expired since.
  bool WatchedKeyExpired(const ClientSession& client, int64_t now_ms);

  // Blocking commands (server/blocking.cc).
  void SignalKeyAsReady(int db_index, std::string_view key);
  // Blocked clients: who waits on which keys, deadlines, ready keys.
  BlockingRegistry& blocking() { return *blocking_; }

  // Publish/subscribe (server/pubsub.cc).
  PubSubRegistry& pubsub() { return pubsub_; }
  // Scripts seen by EVAL and SCRIPT LOAD, here or on their way to the primary.
  ScriptCache& scripts() { return scripts_; }
  // The Lua interpreter of EVAL and SCRIPT (server/scripting/), created on
  // first use.
  LuaEngine& lua();
  // Bytes the Lua interpreter holds; 0 before the first script creates it.
  size_t lua_memory_bytes() const;
  // True while a script has run past busy-reply-threshold: Execute answers
  // -BUSY to every command not flagged allow-busy.
  bool script_busy() const;
  // Set by the network layer: serves other clients' pending requests
  // without re-entering the event loop, skipping client `running_client`
  // (the one whose script runs). Unset in tests that have no network.
  void set_busy_handler(std::function<void(uint64_t running_client)> handler) {
    busy_handler_ = std::move(handler);
  }
  // Called by the engine's hook while a script is past the threshold.
  void ServeWhileBusy(uint64_t running_client);
  // PUBLISH/SPUBLISH: appends the message to every receiving client's reply
  // (in that client's protocol) and wakes its connection; returns the number
  // of receivers. `publisher` runs the command (its output is checked
  // against its limit once the command returns, not here).
  size_t Publish(ClientSession& publisher, std::string_view channel, std::string_view message,
                 ChannelScope scope);
  // Checks `client`'s pending output against its client-output-buffer-limit
  // class. Past the hard limit, or past the soft limit for too long, it
  // logs, marks the client close_asap, asks the connection to close at once
  // and returns false (also for a client already marked). Leaves the reply
  // as it is, so it is safe in the middle of a handler.
  bool CheckOutputBufferLimit(ClientSession& client);
  // As CheckOutputBufferLimit, and drops the pending output of a client over
  // its limit. Not for ctx.client from inside a handler.
  bool EnforceOutputBufferLimit(ClientSession& client);

  // Periodic work (active expiry, rehashing, timeouts); call hz times a second.
  void Cron();
  // True once SHUTDOWN asked the process to exit.
  bool shutdown_requested() const { return shutdown_requested_; }
  void RequestShutdown() { shutdown_requested_ = true; }

  storage::Database& db(int index) { return *databases_[index]; }
  int database_count() const { return static_cast<int>(databases_.size()); }
  const CommandTable& commands() const { return commands_; }
  Config& config() { return config_; }
  ConfigStore& config_store() { return config_store_; }
  const Clock& clock() const { return *clock_; }
  ServerStats& stats() { return stats_; }
  int64_t start_time_ms() const { return start_time_ms_; }
  uint64_t next_client_id() const { return next_client_id_; }
  // The primary link's routing side, when a primary is configured (INFO
  // understudy reads it); nullptr when standalone.
  Proxy* proxy() const { return proxy_; }
  // The key classes (`class` directives plus the default class): routing,
  // the mirror and eviction all classify keys with this one.
  const replication::KeyClassifier& classifier() const { return classifier_; }
  MemoryGuard& memory_guard() { return *memory_guard_; }
  // The outage journal, with a primary configured: while it is in an
  // outage, every write command Call() runs is journaled.
  void set_journal(OutageJournal* journal) { journal_ = journal; }
  OutageJournal* journal() const { return journal_; }
  // Writes journal records still buffered; call before replies are sent.
  void FlushJournal();
  void set_proxy(Proxy* proxy) { proxy_ = proxy; }
  // Per-command figures for /metrics (commands by family, execution time):
  // collected from this call on (the admin port is on); nullptr before.
  void EnableCommandMetrics();
  CommandMetrics* command_metrics() const { return command_metrics_.get(); }
  // The password check: constant time in the length of the candidate.
  bool CheckPassword(std::string_view candidate) const;
  bool auth_required() const { return !config_.requirepass.empty(); }

 private:
  class WatchExpiryListener;
  // One client watching one key: `slot` indexes the client's `watched`
  // list (stable until that client's watches are all dropped at once).
  struct Watcher {
    ClientSession* client;
    size_t slot;
  };
  struct WatchKeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  using WatcherMap =
      std::unordered_map<std::string, std::vector<Watcher>, WatchKeyHash, std::equal_to<>>;

  WatcherMap* WatchersOf(int db_index);

  void RejectUnknown(ClientSession& client, std::span<const std::string_view> args,
                     const CommandLookup& lookup);
  // With maxmemory set: evicts as needed; false (the refusal replied) when
  // `spec` must not run because memory stays over the limit.
  bool AdmitUnderMaxmemory(ClientSession& client, const CommandSpec& spec,
                           std::span<const std::string_view> args);
  // While a script is busy: replies -BUSY and returns true unless `spec`
  // may run (allow-busy; SHUTDOWN only with NOSAVE).
  bool RejectWhileBusy(ClientSession& client, const CommandSpec& spec,
                       std::span<const std::string_view> args);
  // Runs a write command during an outage: journaled before its reply, or
  // refused when the journal is full.
  void CallJournaled(CommandContext& ctx);
  // Replies `error` for a command refused before running (arity, auth...),
  // poisoning the transaction being queued; a refused EXEC aborts it.
  void RejectCommand(ClientSession& client, const CommandSpec& spec, std::string_view error);

  Config config_;
  ConfigStore config_store_;
  const Clock* clock_;
  CommandTable commands_;
  std::vector<std::unique_ptr<storage::Database>> databases_;
  std::unique_ptr<WatchExpiryListener> expiry_listener_;
  replication::KeyClassifier classifier_;
  std::unique_ptr<MemoryGuard> memory_guard_;
  std::unordered_map<uint64_t, std::unique_ptr<ClientSession>> clients_;
  // Per database index: the watchers of each watched key. Watches stay with
  // the index across SWAPDB, as clients stay in their database.
  std::vector<WatcherMap> watched_keys_;
  std::unique_ptr<BlockingRegistry> blocking_;
  PubSubRegistry pubsub_;
  ScriptCache scripts_;
  std::unique_ptr<LuaEngine> lua_;
  std::function<void(uint64_t)> busy_handler_;
  ServerStats stats_;
  uint64_t next_client_id_ = 1;
  int64_t start_time_ms_;
  bool shutdown_requested_ = false;
  size_t cron_db_cursor_ = 0;
  Proxy* proxy_ = nullptr;
  OutageJournal* journal_ = nullptr;
  std::unique_ptr<CommandMetrics> command_metrics_;
};

// Registers every command family; defined in commands/registry.cc.
void RegisterAllCommands(CommandTable& table);

}  // namespace understudy::server

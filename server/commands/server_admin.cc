// Server commands: FLUSHDB FLUSHALL SHUTDOWN LASTSAVE SAVE BGSAVE, and the
// registration of the server family (CONFIG, INFO and COMMAND live in
// config_command.cc, info.cc and command_docs.cc).
#include <spdlog/spdlog.h>

#include <cinttypes>
#include <cstdio>

#include "server/commands/admin_support.h"
#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

constexpr std::string_view kNoSnapshots =
    "ERR understudy does not write RDB snapshots (see docs/compatibility.md)";

// FLUSHDB / FLUSHALL take an optional ASYNC or SYNC. understudy always frees
// synchronously; both are accepted.
bool CheckFlushMode(CommandContext& ctx) {
  if (ctx.argc() == 1) return true;
  if (ctx.argc() == 2 &&
      (EqualsIgnoreCase(ctx.args[1], "async") || EqualsIgnoreCase(ctx.args[1], "sync"))) {
    return true;
  }
  ctx.reply.Error(errors::kSyntax);
  return false;
}

void EmptyDatabase(Server& server, int index) {
  TouchWatchersOfEmptiedDatabase(server, index, -1);
  server.db(index).Clear();
}

// FLUSHDB [ASYNC|SYNC]
void FlushDbCommand(CommandContext& ctx) {
  if (!CheckFlushMode(ctx)) return;
  EmptyDatabase(ctx.server, ctx.client.db_index);
  ctx.reply.Ok();
}

// FLUSHALL [ASYNC|SYNC]
void FlushAllCommand(CommandContext& ctx) {
  if (!CheckFlushMode(ctx)) return;
  for (int i = 0; i < ctx.server.database_count(); ++i) EmptyDatabase(ctx.server, i);
  ctx.reply.Ok();
}

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
void ShutdownCommand(CommandContext& ctx) {
  bool nosave = false, save = false, other_flag = false, abort = false;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    std::string_view arg = ctx.args[i];
    if (EqualsIgnoreCase(arg, "nosave")) {
      nosave = true;
    } else if (EqualsIgnoreCase(arg, "save")) {
      save = true;
    } else if (EqualsIgnoreCase(arg, "now") || EqualsIgnoreCase(arg, "force")) {
      other_flag = true;
    } else if (EqualsIgnoreCase(arg, "abort")) {
      abort = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if ((abort && (nosave || save || other_flag)) || (nosave && save)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (abort) {
    // Shutting down is immediate here, so none is ever in progress.
    ctx.reply.Error("ERR No shutdown in progress.");
    return;
  }
  // As redis-server, no reply: the connection closes as the process exits.
  // There is nothing to save, so SAVE and NOSAVE mean the same.
  spdlog::warn("User requested shutdown (client id={} addr={} name={})", ctx.client.id(),
               ctx.client.peer_address, ctx.client.name);
  ctx.server.RequestShutdown();
}

// LASTSAVE   (no snapshot is ever written: the start time, as Redis reports
// before its first save)
void LastSaveCommand(CommandContext& ctx) { ctx.reply.Integer(ctx.server.start_time_ms() / 1000); }

// TIME
void TimeCommand(CommandContext& ctx) {
  int64_t now_us = ctx.server.clock().NowUs();
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(now_us / 1000000));
  ctx.reply.Bulk(std::to_string(now_us % 1000000));
}

// SAVE
void SaveCommand(CommandContext& ctx) { ctx.reply.Error(kNoSnapshots); }

// BGSAVE [SCHEDULE]
void BgSaveCommand(CommandContext& ctx) {
  if (ctx.argc() > 2 || (ctx.argc() == 2 && !EqualsIgnoreCase(ctx.args[1], "schedule"))) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  ctx.reply.Error(kNoSnapshots);
}

}  // namespace

void TouchWatchersOfEmptiedDatabase(Server& server, int emptied_index, int replacement_index) {
  storage::Database& emptied = server.db(emptied_index);
  storage::Database* replacement = replacement_index >= 0 ? &server.db(replacement_index) : nullptr;
  for (const auto& [id, session] : server.clients()) {
    for (WatchedKey& watched : session->watched) {
      if (watched.db_index != emptied_index) continue;
      bool in_emptied = emptied.dict().Find(watched.key) != nullptr;
      bool in_replacement = replacement != nullptr && replacement->dict().Find(watched.key);
      if (!in_emptied && !in_replacement) continue;
      if (watched.expired_when_watched && !in_replacement) {
        // It had expired already; deleting it now changes nothing visible.
        watched.expired_when_watched = false;
        continue;
      }
      session->watch_dirty = true;
      break;
    }
  }
}

void ReplyHelp(CommandContext& ctx, std::string_view container,
               std::initializer_list<std::string_view> lines) {
  ctx.reply.ArrayHeader(static_cast<int64_t>(lines.size()) + 3);
  ctx.reply.Status(std::string(container) +
                   " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (std::string_view line : lines) ctx.reply.Status(line);
  ctx.reply.Status("HELP");
  ctx.reply.Status("    Prints this help.");
}

std::string BytesToHuman(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"K", "M", "G", "T", "P"};
  char buf[64];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 "B", bytes);
    return buf;
  }
  double value = static_cast<double>(bytes);
  double scale = 1024.0;
  for (const char* unit : kUnits) {
    if (value < scale * 1024.0) {
      std::snprintf(buf, sizeof(buf), "%.2f%s", value / scale, unit);
      return buf;
    }
    scale *= 1024.0;
  }
  std::snprintf(buf, sizeof(buf), "%" PRIu64 "B", bytes);
  return buf;
}

void RegisterServerCommands(CommandTable& table) {
  // clang-format off
  table.Add({.name = "flushdb", .arity = -1, .flags = kCmdWrite, .handler = FlushDbCommand, .group = "server", .summary = "Remove all keys from the current database", .since = "1.0.0", .complexity = "O(N) where N is the number of keys in the selected database", .acl_categories = "keyspace dangerous", .tips = "request_policy:all_shards response_policy:all_succeeded"});
  table.Add({.name = "flushall", .arity = -1, .flags = kCmdWrite, .handler = FlushAllCommand, .group = "server", .summary = "Remove all keys from all databases", .since = "1.0.0", .complexity = "O(N) where N is the total number of keys in all databases", .acl_categories = "keyspace dangerous", .tips = "request_policy:all_shards response_policy:all_succeeded"});
  table.Add({.name = "shutdown", .arity = -1, .flags = kCmdAdmin | kCmdNoScript | kCmdLoading | kCmdStale | kCmdNoMulti | kCmdAllowBusy, .handler = ShutdownCommand, .group = "server", .summary = "Synchronously save the dataset to disk and then shut down the server", .since = "1.0.0", .complexity = "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"});
  table.Add({.name = "lastsave", .arity = 1, .flags = kCmdLoading | kCmdStale | kCmdFast, .handler = LastSaveCommand, .group = "server", .summary = "Get the UNIX time stamp of the last successful save to disk", .since = "1.0.0", .complexity = "O(1)", .acl_categories = "admin dangerous", .tips = "nondeterministic_output"});
  table.Add({.name = "time", .arity = 1, .flags = kCmdLoading | kCmdStale | kCmdFast, .handler = TimeCommand, .group = "server", .summary = "Return the current server time", .since = "2.6.0", .complexity = "O(1)", .tips = "nondeterministic_output"});
  table.Add({.name = "save", .arity = 1, .flags = kCmdAdmin | kCmdNoScript | kCmdNoMulti | kCmdNoAsyncLoading, .handler = SaveCommand, .group = "server", .summary = "Synchronously save the dataset to disk", .since = "1.0.0", .complexity = "O(N) where N is the total number of keys in all databases"});
  table.Add({.name = "bgsave", .arity = -1, .flags = kCmdAdmin | kCmdNoScript | kCmdNoAsyncLoading, .handler = BgSaveCommand, .group = "server", .summary = "Asynchronously save the dataset to disk", .since = "1.0.0", .complexity = "O(1)"});
  // clang-format on
  RegisterConfigCommands(table);
  RegisterInfoCommands(table);
  RegisterIntrospectionCommands(table);
}

}  // namespace understudy::server

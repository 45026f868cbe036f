// Transaction commands: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//
// Queueing itself happens in Server::Execute: inside MULTI every command
// without kCmdSkipQueue is checked (existence, arity, authentication,
// kCmdNoMulti) and either queued with +QUEUED or rejected, which makes EXEC
// fail with EXECABORT. The commands here are the ones that act at once.
#include <string>
#include <string_view>
#include <vector>

#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

// MULTI
void MultiCommand(CommandContext& ctx) {
  if (ctx.client.in_multi) {
    // Not a queueing error: the transaction being built is kept intact.
    ctx.reply.Error("ERR MULTI calls can not be nested");
    return;
  }
  ctx.client.in_multi = true;
  ctx.reply.Ok();
}

// EXEC
void ExecCommand(CommandContext& ctx) {
  ClientSession& client = ctx.client;
  if (!client.in_multi) {
    ctx.reply.Error("ERR EXEC without MULTI");
    return;
  }
  // A watched key that expired since WATCH counts as modified, even if no
  // one has reclaimed it yet.
  if (ctx.server.WatchedKeyExpired(client, ctx.now_ms)) client.watch_dirty = true;
  // A queueing error wins over a touched key: the client must learn that
  // its transaction was malformed.
  if (client.multi_error) {
    ctx.server.DiscardTransaction(client);
    ctx.reply.Error(errors::kExecAbort);
    return;
  }
  if (client.watch_dirty) {
    ctx.server.DiscardTransaction(client);
    ctx.reply.NullArray();
    return;
  }

  // Take the queue so the client's state can be reset even if a queued
  // command touches the transaction state; watching is over from here on
  // (the transaction's own writes must not count).
  std::vector<QueuedCommand> queued = std::move(client.queued);
  client.queued.clear();
  ctx.server.Unwatch(client);

  const CommandTable& table = ctx.server.commands();
  std::vector<std::string_view> args;
  ctx.reply.ArrayHeader(static_cast<int64_t>(queued.size()));
  for (const QueuedCommand& command : queued) {
    args.assign(command.args.begin(), command.args.end());
    // The table is fixed after startup, so the lookup that succeeded at
    // queue time succeeds again (the arity was checked then too); the
    // branch below only guards that invariant.
    const CommandSpec* spec = table.Lookup(args).spec;
    if (spec == nullptr) {
      ctx.reply.Error("ERR unknown command '" + command.args[0] + "'");
      continue;
    }
    // Every command of the transaction sees the same instant, so a key
    // cannot expire between two of them.
    ctx.server.Call(client, *spec, args, ctx.now_ms);
  }
  // Leave MULTI only now: while the queue runs the client is still "in a
  // transaction", as in Redis.
  ctx.server.DiscardTransaction(client);
}

// DISCARD
void DiscardCommand(CommandContext& ctx) {
  if (!ctx.client.in_multi) {
    ctx.reply.Error("ERR DISCARD without MULTI");
    return;
  }
  ctx.server.DiscardTransaction(ctx.client);
  ctx.reply.Ok();
}

// WATCH key [key ...]
void WatchCommand(CommandContext& ctx) {
  if (ctx.client.in_multi) {
    ctx.reply.Error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  // Once a watched key changed, EXEC will fail whatever else is watched.
  if (!ctx.client.watch_dirty) {
    for (size_t i = 1; i < ctx.argc(); ++i) ctx.server.Watch(ctx.client, ctx.args[i], ctx.now_ms);
  }
  ctx.reply.Ok();
}

// UNWATCH
void UnwatchCommand(CommandContext& ctx) {
  ctx.server.Unwatch(ctx.client);
  ctx.reply.Ok();
}

}  // namespace

void RegisterTransactionCommands(CommandTable& table) {
  // kCmdSkipQueue: these run at once inside MULTI (UNWATCH is queued, as in Redis).
  constexpr uint32_t kAlwaysAvailable = kCmdNoScript | kCmdLoading | kCmdStale;
  // clang-format off
  table.Add({.name = "multi", .arity = 1, .flags = kAlwaysAvailable | kCmdFast | kCmdAllowBusy | kCmdSkipQueue, .handler = MultiCommand, .group = "transactions", .summary = "Mark the start of a transaction block", .since = "1.2.0"});
  table.Add({.name = "exec", .arity = 1, .flags = kAlwaysAvailable | kCmdSkipQueue | kCmdSkipSlowlog, .handler = ExecCommand, .group = "transactions", .summary = "Execute all commands issued after MULTI", .since = "1.2.0"});
  table.Add({.name = "discard", .arity = 1, .flags = kAlwaysAvailable | kCmdFast | kCmdAllowBusy | kCmdSkipQueue, .handler = DiscardCommand, .group = "transactions", .summary = "Discard all commands issued after MULTI", .since = "2.0.0"});
  table.Add({.name = "watch", .arity = -2, .flags = kAlwaysAvailable | kCmdFast | kCmdAllowBusy | kCmdSkipQueue, .key_specs = {KeyRange(1, -1, 1, kKeyRO)}, .handler = WatchCommand, .group = "transactions", .summary = "Watch the given keys to determine execution of the MULTI/EXEC block", .since = "2.2.0"});
  table.Add({.name = "unwatch", .arity = 1, .flags = kAlwaysAvailable | kCmdFast | kCmdAllowBusy, .handler = UnwatchCommand, .group = "transactions", .summary = "Forget about all watched keys", .since = "2.2.0"});
  // clang-format on
}

}  // namespace understudy::server

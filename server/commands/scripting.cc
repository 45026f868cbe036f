// Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT. The
// interpreter itself is server/scripting/lua_engine.h.
#include "server/commands/admin_support.h"
#include "server/commands/families.h"
#include "server/commands/helpers.h"
#include "server/scripting/lua_engine.h"

namespace understudy::server {
namespace {

// The `numkeys key... arg...` part shared by the EVAL family. Replies
// Redis's error and returns false when numkeys is bad.
bool SplitKeysAndArgs(CommandContext& ctx, std::span<const std::string_view>* keys,
                      std::span<const std::string_view>* argv) {
  int64_t numkeys = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &numkeys)) return false;
  const auto available = static_cast<int64_t>(ctx.argc()) - 3;
  if (numkeys > available) {
    ctx.reply.Error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  if (numkeys < 0) {
    ctx.reply.Error("ERR Number of keys can't be negative");
    return false;
  }
  *keys = ctx.args.subspan(3, static_cast<size_t>(numkeys));
  *argv = ctx.args.subspan(3 + static_cast<size_t>(numkeys));
  return true;
}

void EvalGeneric(CommandContext& ctx, bool by_sha, bool read_only) {
  std::span<const std::string_view> keys;
  std::span<const std::string_view> argv;
  if (!SplitKeysAndArgs(ctx, &keys, &argv)) return;
  LuaEngine& engine = ctx.server.lua();
  if (by_sha) {
    engine.EvalSha(ctx.client, ctx.args[1], keys, argv, read_only);
  } else {
    engine.Eval(ctx.client, ctx.args[1], keys, argv, read_only);
  }
}

// EVAL script numkeys [key ...] [arg ...]
void EvalCommand(CommandContext& ctx) { EvalGeneric(ctx, false, false); }

// EVALSHA sha1 numkeys [key ...] [arg ...]
void EvalShaCommand(CommandContext& ctx) { EvalGeneric(ctx, true, false); }

// EVAL_RO script numkeys [key ...] [arg ...]
void EvalRoCommand(CommandContext& ctx) { EvalGeneric(ctx, false, true); }

// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
void EvalShaRoCommand(CommandContext& ctx) { EvalGeneric(ctx, true, true); }

// SCRIPT (without a subcommand)
void ScriptContainerCommand(CommandContext& ctx) { ctx.WrongArity(); }

// SCRIPT LOAD script
void ScriptLoadCommand(CommandContext& ctx) { ctx.server.lua().Load(ctx.client, ctx.args[2]); }

// SCRIPT EXISTS sha1 [sha1 ...]
void ScriptExistsCommand(CommandContext& ctx) {
  const ScriptCache& cache = ctx.server.scripts();
  ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argc() - 2));
  for (size_t i = 2; i < ctx.argc(); ++i) ctx.reply.Integer(cache.Contains(ctx.args[i]) ? 1 : 0);
}

// SCRIPT FLUSH [ASYNC|SYNC]
void ScriptFlushCommand(CommandContext& ctx) {
  if (ctx.argc() > 3 ||
      (ctx.argc() == 3 && !IsOption(ctx.args[2], "sync") && !IsOption(ctx.args[2], "async"))) {
    ctx.reply.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    return;
  }
  // Both modes free at once: the bodies and one interpreter are small.
  ctx.server.scripts().Flush();
  ctx.server.lua().Reset();
  ctx.reply.Ok();
}

// SCRIPT KILL
void ScriptKillCommand(CommandContext& ctx) {
  std::string_view result = ctx.server.lua().Kill();
  if (result == "OK") {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(result);
  }
}

// SCRIPT DEBUG YES|SYNC|NO
void ScriptDebugCommand(CommandContext& ctx) {
  if (IsOption(ctx.args[2], "no")) {
    ctx.reply.Ok();
  } else if (IsOption(ctx.args[2], "yes") || IsOption(ctx.args[2], "sync")) {
    // The Lua debugger (LDB) is not part of understudy.
    ctx.reply.Error("ERR understudy has no Lua debugger; SCRIPT DEBUG NO is the only mode");
  } else {
    ctx.reply.Error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
  }
}

// SCRIPT HELP
void ScriptHelpCommand(CommandContext& ctx) {
  ReplyHelp(ctx, "SCRIPT",
            {"DEBUG (YES|SYNC|NO)", "    Set the debug mode for subsequent scripts executed.",
             "EXISTS <sha1> [<sha1> ...]",
             "    Return information about the existence of the scripts in the script cache.",
             "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
             "    When called without the optional mode argument, the behavior is determined by "
             "the",
             "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
             "    * ASYNC: Asynchronously flush the scripts cache.",
             "    * SYNC: Synchronously flush the scripts cache.", "KILL",
             "    Kill the currently executing Lua script.", "LOAD <script>",
             "    Load a script into the scripts cache without executing it."});
}

constexpr uint32_t kEvalFlags =
    kCmdNoScript | kCmdStale | kCmdSkipMonitor | kCmdNoMandatoryKeys | kCmdMayReplicate;
constexpr std::string_view kEvalComplexity = "Depends on the script that is executed.";

}  // namespace

// clang-format off
void RegisterScriptingCommands(CommandTable& table) {
  table.Add({.name = "eval", .arity = -3, .flags = kEvalFlags, .key_specs = {[] { KeySpec k = KeysCounted(2, kKeyRW | kKeyAccess | kKeyUpdate); k.notes = "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"; return k; }()}, .handler = EvalCommand, .group = "scripting", .summary = "Execute a Lua script server side", .since = "2.6.0", .complexity = std::string(kEvalComplexity)});
  table.Add({.name = "evalsha", .arity = -3, .flags = kEvalFlags, .key_specs = {KeysCounted(2, kKeyRW | kKeyAccess | kKeyUpdate)}, .handler = EvalShaCommand, .group = "scripting", .summary = "Execute a Lua script server side", .since = "2.6.0", .complexity = std::string(kEvalComplexity)});
  table.Add({.name = "eval_ro", .arity = -3, .flags = kCmdReadOnly | kCmdNoScript | kCmdStale | kCmdSkipMonitor | kCmdNoMandatoryKeys, .key_specs = {[] { KeySpec k = KeysCounted(2, kKeyRO | kKeyAccess); k.notes = "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"; return k; }()}, .handler = EvalRoCommand, .group = "scripting", .summary = "Execute a read-only Lua script server side", .since = "7.0.0", .complexity = std::string(kEvalComplexity)});
  table.Add({.name = "evalsha_ro", .arity = -3, .flags = kCmdReadOnly | kCmdNoScript | kCmdStale | kCmdSkipMonitor | kCmdNoMandatoryKeys, .key_specs = {KeysCounted(2, kKeyRO | kKeyAccess)}, .handler = EvalShaRoCommand, .group = "scripting", .summary = "Execute a read-only Lua script server side", .since = "7.0.0", .complexity = std::string(kEvalComplexity)});
  table.Add({.name = "script", .arity = -2, .handler = ScriptContainerCommand, .group = "scripting", .summary = "A container for Lua scripts management commands", .since = "2.6.0", .complexity = "Depends on subcommand."});
  table.AddSubcommand("script", {.name = "exists", .arity = -3, .flags = kCmdNoScript, .handler = ScriptExistsCommand, .group = "scripting", .summary = "Check existence of scripts in the script cache.", .since = "2.6.0", .complexity = "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", .tips = "request_policy:all_shards response_policy:agg_logical_and"});
  table.AddSubcommand("script", {.name = "debug", .arity = 3, .flags = kCmdNoScript, .handler = ScriptDebugCommand, .group = "scripting", .summary = "Set the debug mode for executed scripts.", .since = "3.2.0", .complexity = "O(1)"});
  table.AddSubcommand("script", {.name = "flush", .arity = -2, .flags = kCmdNoScript, .handler = ScriptFlushCommand, .group = "scripting", .summary = "Remove all the scripts from the script cache.", .since = "2.6.0", .complexity = "O(N) with N being the number of scripts in cache", .tips = "request_policy:all_nodes response_policy:all_succeeded"});
  table.AddSubcommand("script", {.name = "kill", .arity = 2, .flags = kCmdNoScript | kCmdAllowBusy, .handler = ScriptKillCommand, .group = "scripting", .summary = "Kill the script currently in execution.", .since = "2.6.0", .complexity = "O(1)", .tips = "request_policy:all_shards response_policy:one_succeeded"});
  table.AddSubcommand("script", {.name = "help", .arity = 2, .flags = kCmdLoading | kCmdStale, .handler = ScriptHelpCommand, .group = "scripting", .summary = "Show helpful text about the different subcommands", .since = "5.0.0", .complexity = "O(1)"});
  table.AddSubcommand("script", {.name = "load", .arity = 3, .flags = kCmdNoScript | kCmdStale, .handler = ScriptLoadCommand, .group = "scripting", .summary = "Load the specified Lua script into the script cache.", .since = "2.6.0", .complexity = "O(N) with N being the length in bytes of the script body.", .tips = "request_policy:all_nodes response_policy:all_succeeded"});
}
// clang-format on

}  // namespace understudy::server

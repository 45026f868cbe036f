// CONFIG subcommands: GET SET RESETSTAT REWRITE HELP.
#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "server/commands/admin_support.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

// CONFIG GET parameter [parameter ...]
void ConfigGetCommand(CommandContext& ctx) {
  auto pairs = ctx.server.config_store().GetMatching(ctx.args.subspan(2));
  ctx.reply.MapHeader(static_cast<int64_t>(pairs.size()));
  for (const auto& [name, value] : pairs) {
    ctx.reply.Bulk(name);
    ctx.reply.Bulk(value);
  }
}

// CONFIG SET parameter value [parameter value ...]
void ConfigSetCommand(CommandContext& ctx) {
  if ((ctx.argc() - 2) % 2 != 0) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  std::string error;
  if (!ctx.server.config_store().SetFromCommand(ctx.args.subspan(2), &error)) {
    ctx.reply.Error("ERR " + error);
    return;
  }
  // Effects beyond the stored value. Clients that are connected when a
  // password is set stay authenticated (as in Redis); clearing it lets
  // everyone in, because the default user then needs no password.
  const Config& config = ctx.server.config();
  if (config.requirepass.empty()) {
    for (const auto& [id, session] : ctx.server.clients()) session->authenticated = true;
  }
  spdlog::set_level(LogLevelFromName(config.loglevel));
  LogFormat log_format = LogFormat::kHuman;
  ParseLogFormat(config.log_format, &log_format);  // the directive allows only valid names
  ApplyLogFormat(*spdlog::default_logger(), log_format);
  ctx.reply.Ok();
}

// CONFIG RESETSTAT
void ConfigResetStatCommand(CommandContext& ctx) {
  ctx.server.stats() = ServerStats{};
  for (int i = 0; i < ctx.server.database_count(); ++i) {
    ctx.server.db(i).stats() = storage::DatabaseStats{};
  }
  ctx.reply.Ok();
}

// CONFIG REWRITE
void ConfigRewriteCommand(CommandContext& ctx) {
  std::string error;
  if (!ctx.server.config_store().Rewrite(&error)) {
    spdlog::warn("CONFIG REWRITE failed: {}", error);
    ctx.reply.Error("ERR " + error);
    return;
  }
  spdlog::info("CONFIG REWRITE executed with success.");
  ctx.reply.Ok();
}

// CONFIG HELP
void ConfigHelpCommand(CommandContext& ctx) {
  ReplyHelp(ctx, "CONFIG",
            {"GET <pattern> [<pattern> ...]",
             "    Return the parameters matching any of the glob-like patterns, with their values.",
             "SET <directive> <value> [<directive> <value> ...]",
             "    Set each configuration <directive> to its <value>; all or none.", "RESETSTAT",
             "    Reset the statistics reported by the INFO command.", "REWRITE",
             "    Rewrite the configuration file with the current configuration."});
}

// CONFIG <subcommand>: the dispatcher answers arity errors before this.
void ConfigContainerCommand(CommandContext& ctx) { ctx.WrongArity(); }

}  // namespace

void RegisterConfigCommands(CommandTable& table) {
  constexpr uint32_t kConfig = kCmdAdmin | kCmdNoScript | kCmdLoading | kCmdStale;
  // clang-format off
  table.Add({.name = "config", .arity = -2, .handler = ConfigContainerCommand, .group = "server", .summary = "A container for server configuration commands", .since = "2.0.0", .complexity = "Depends on subcommand."});
  table.AddSubcommand("config", {.name = "get", .arity = -3, .flags = kConfig, .handler = ConfigGetCommand, .group = "server", .summary = "Get the values of configuration parameters", .since = "2.0.0", .complexity = "O(N) when N is the number of configuration parameters provided"});
  table.AddSubcommand("config", {.name = "set", .arity = -4, .flags = kConfig, .handler = ConfigSetCommand, .group = "server", .summary = "Set configuration parameters to the given values", .since = "2.0.0", .complexity = "O(N) when N is the number of configuration parameters provided", .tips = "request_policy:all_nodes response_policy:all_succeeded"});
  table.AddSubcommand("config", {.name = "resetstat", .arity = 2, .flags = kConfig, .handler = ConfigResetStatCommand, .group = "server", .summary = "Reset the stats returned by INFO", .since = "2.0.0", .complexity = "O(1)"});
  table.AddSubcommand("config", {.name = "rewrite", .arity = 2, .flags = kConfig, .handler = ConfigRewriteCommand, .group = "server", .summary = "Rewrite the configuration file with the in memory configuration", .since = "2.8.0", .complexity = "O(1)"});
  table.AddSubcommand("config", {.name = "help", .arity = 2, .flags = kCmdLoading | kCmdStale, .handler = ConfigHelpCommand, .group = "server", .summary = "Show helpful text about the different subcommands", .since = "5.0.0", .complexity = "O(1)"});
  // clang-format on
}

}  // namespace understudy::server

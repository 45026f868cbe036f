// COMMAND and its subcommands: COUNT LIST INFO DOCS GETKEYS GETKEYSANDFLAGS
// HELP. Everything comes from the command table; details a row leaves out
// (ACL categories, key spec flags) are derived the way Redis derives its
// implicit ones, so the reply has Redis 7.0's full shape for every command.
#include <sstream>

#include "common/glob.h"
#include "server/commands/admin_support.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

// Flag names in the order Redis 7.0 lists them.
std::vector<std::string_view> FlagNames(const CommandSpec& spec) {
  static constexpr std::pair<CommandFlag, std::string_view> kNames[] = {
      {kCmdWrite, "write"},       {kCmdReadOnly, "readonly"},   {kCmdDenyOom, "denyoom"},
      {kCmdAdmin, "admin"},       {kCmdPubSub, "pubsub"},       {kCmdNoScript, "noscript"},
      {kCmdBlocking, "blocking"}, {kCmdLoading, "loading"},     {kCmdStale, "stale"},
      {kCmdFast, "fast"},         {kCmdNoAuth, "no_auth"},      {kCmdMayReplicate, "may_replicate"},
      {kCmdNoMulti, "no_multi"},  {kCmdAllowBusy, "allow_busy"}};
  std::vector<std::string_view> out;
  for (const auto& [flag, name] : kNames) {
    if (spec.has(flag)) out.push_back(name);
  }
  return out;
}

// ACL categories in Redis's order.
constexpr std::string_view kCategoryOrder[] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting"};

// The category a command group stands for, as in Redis's command JSON files.
std::string_view GroupCategory(std::string_view group) {
  if (group == "generic") return "keyspace";
  if (group == "string") return "string";
  if (group == "list") return "list";
  if (group == "hash") return "hash";
  if (group == "set") return "set";
  if (group == "sorted-set" || group == "sorted_set") return "sortedset";
  if (group == "bitmap") return "bitmap";
  if (group == "hyperloglog") return "hyperloglog";
  if (group == "geo") return "geo";
  if (group == "stream") return "stream";
  if (group == "pubsub") return "pubsub";
  if (group == "transactions") return "transaction";
  if (group == "scripting") return "scripting";
  if (group == "connection") return "connection";
  return "";
}

// A row's explicit categories (or its group's), plus those its flags imply.
std::vector<std::string_view> AclCategories(const CommandSpec& spec) {
  std::vector<std::string> chosen;
  if (!spec.acl_categories.empty()) {
    chosen = Words(spec.acl_categories);
  } else if (spec.subcommands.empty() && !GroupCategory(spec.group).empty()) {
    chosen.emplace_back(GroupCategory(spec.group));
  }
  if (spec.has(kCmdWrite)) chosen.emplace_back("write");
  if (spec.has(kCmdReadOnly) && spec.group != "scripting") chosen.emplace_back("read");
  if (spec.has(kCmdAdmin)) {
    chosen.emplace_back("admin");
    chosen.emplace_back("dangerous");
  }
  if (spec.has(kCmdPubSub)) chosen.emplace_back("pubsub");
  if (spec.has(kCmdFast)) chosen.emplace_back("fast");
  if (spec.has(kCmdBlocking)) chosen.emplace_back("blocking");
  if (std::find(chosen.begin(), chosen.end(), "fast") == chosen.end()) chosen.emplace_back("slow");
  std::vector<std::string_view> out;
  for (std::string_view category : kCategoryOrder) {
    if (std::find(chosen.begin(), chosen.end(), category) != chosen.end()) out.push_back(category);
  }
  return out;
}

bool HasCategory(const CommandSpec& spec, std::string_view category) {
  for (std::string_view c : AclCategories(spec)) {
    if (EqualsIgnoreCase(c, category)) return true;
  }
  return false;
}

std::vector<std::string> KeySpecFlags(const CommandSpec& spec) {
  if (!spec.key_spec_flags.empty()) return Words(spec.key_spec_flags);
  if (spec.has(kCmdReadOnly)) return {"RO", "access"};
  if (spec.has(kCmdWrite)) return {"RW", "access", "update"};
  return {"RO"};
}

// The key spec implied by the row's first/last/step key positions.
void WriteKeySpecs(protocol::ReplyWriter& reply, const CommandSpec& spec) {
  if (spec.first_key <= 0) {
    reply.SetHeader(0);
    return;
  }
  reply.SetHeader(1);
  reply.MapHeader(3);
  reply.Bulk("flags");
  std::vector<std::string> flags = KeySpecFlags(spec);
  reply.SetHeader(static_cast<int64_t>(flags.size()));
  for (const std::string& flag : flags) reply.Status(flag);
  reply.Bulk("begin_search");
  reply.MapHeader(2);
  reply.Bulk("type");
  reply.Bulk("index");
  reply.Bulk("spec");
  reply.MapHeader(1);
  reply.Bulk("index");
  reply.Integer(spec.first_key);
  reply.Bulk("find_keys");
  reply.MapHeader(2);
  reply.Bulk("type");
  reply.Bulk("range");
  reply.Bulk("spec");
  reply.MapHeader(3);
  reply.Bulk("lastkey");
  reply.Integer(spec.last_key >= 0 ? spec.last_key - spec.first_key : spec.last_key);
  reply.Bulk("keystep");
  reply.Integer(spec.key_step);
  reply.Bulk("limit");
  reply.Integer(0);
}

// One COMMAND INFO entry: name, arity, flags, first, last, step, ACL
// categories, tips, key specs, subcommands.
void WriteCommandInfo(protocol::ReplyWriter& reply, const CommandSpec& spec) {
  reply.ArrayHeader(10);
  reply.Bulk(spec.FullName());
  reply.Integer(spec.arity);
  std::vector<std::string_view> flags = FlagNames(spec);
  reply.SetHeader(static_cast<int64_t>(flags.size()));
  for (std::string_view flag : flags) reply.Status(flag);
  reply.Integer(spec.first_key);
  reply.Integer(spec.last_key);
  reply.Integer(spec.key_step);
  std::vector<std::string_view> categories = AclCategories(spec);
  reply.SetHeader(static_cast<int64_t>(categories.size()));
  for (std::string_view category : categories) reply.Status("@" + std::string(category));
  std::vector<std::string> tips = Words(spec.tips);
  reply.SetHeader(static_cast<int64_t>(tips.size()));
  for (const std::string& tip : tips) reply.Bulk(tip);
  WriteKeySpecs(reply, spec);
  // Redis 7.0 sends "no subcommands" as an empty set but a list of them as
  // an array; clients see the difference only in RESP3.
  if (spec.subcommands.empty()) {
    reply.SetHeader(0);
  } else {
    reply.ArrayHeader(static_cast<int64_t>(spec.subcommands.size()));
    for (const auto& sub : spec.subcommands) WriteCommandInfo(reply, *sub);
  }
}

void WriteCommandDocs(protocol::ReplyWriter& reply, const CommandSpec& spec) {
  int64_t fields = 3 + (spec.complexity.empty() ? 0 : 1) + (spec.subcommands.empty() ? 0 : 1);
  reply.MapHeader(fields);
  reply.Bulk("summary");
  reply.Bulk(spec.summary);
  reply.Bulk("since");
  reply.Bulk(spec.since);
  reply.Bulk("group");
  reply.Bulk(spec.group);
  if (!spec.complexity.empty()) {
    reply.Bulk("complexity");
    reply.Bulk(spec.complexity);
  }
  if (!spec.subcommands.empty()) {
    reply.Bulk("subcommands");
    reply.MapHeader(static_cast<int64_t>(spec.subcommands.size()));
    for (const auto& sub : spec.subcommands) {
      reply.Bulk(sub->FullName());
      WriteCommandDocs(reply, *sub);
    }
  }
}

// "get" or "client|list", case-insensitive.
const CommandSpec* FindByFullName(const CommandTable& table, std::string_view full_name) {
  size_t bar = full_name.find('|');
  const CommandSpec* base = table.Find(full_name.substr(0, bar));
  if (base == nullptr || bar == std::string_view::npos) return base;
  std::string_view sub_name = full_name.substr(bar + 1);
  for (const auto& sub : base->subcommands) {
    if (EqualsIgnoreCase(sub->name, sub_name)) return sub.get();
  }
  return nullptr;
}

// COMMAND   (every command's details)
void CommandAllCommand(CommandContext& ctx) {
  const auto& all = ctx.server.commands().all();
  ctx.reply.ArrayHeader(static_cast<int64_t>(all.size()));
  for (const CommandSpec* spec : all) WriteCommandInfo(ctx.reply, *spec);
}

// COMMAND COUNT
void CommandCountCommand(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.server.commands().size()));
}

// COMMAND INFO [command-name ...]
void CommandInfoCommand(CommandContext& ctx) {
  if (ctx.argc() == 2) {
    CommandAllCommand(ctx);
    return;
  }
  ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argc() - 2));
  for (size_t i = 2; i < ctx.argc(); ++i) {
    const CommandSpec* spec = FindByFullName(ctx.server.commands(), ctx.args[i]);
    if (spec == nullptr) {
      ctx.reply.Null();
    } else {
      WriteCommandInfo(ctx.reply, *spec);
    }
  }
}

// COMMAND DOCS [command-name ...]
void CommandDocsCommand(CommandContext& ctx) {
  std::vector<const CommandSpec*> specs;
  if (ctx.argc() == 2) {
    specs = ctx.server.commands().all();
  } else {
    for (size_t i = 2; i < ctx.argc(); ++i) {
      const CommandSpec* spec = FindByFullName(ctx.server.commands(), ctx.args[i]);
      if (spec != nullptr) specs.push_back(spec);
    }
  }
  ctx.reply.MapHeader(static_cast<int64_t>(specs.size()));
  for (const CommandSpec* spec : specs) {
    ctx.reply.Bulk(spec->FullName());
    WriteCommandDocs(ctx.reply, *spec);
  }
}

// COMMAND LIST [FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]
void CommandListCommand(CommandContext& ctx) {
  enum class Filter { kNone, kModule, kAclCategory, kPattern } filter = Filter::kNone;
  std::string_view argument;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    size_t more = ctx.argc() - 1 - i;
    if (!EqualsIgnoreCase(ctx.args[i], "filterby") || more != 2) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    std::string_view type = ctx.args[i + 1];
    if (EqualsIgnoreCase(type, "module")) {
      filter = Filter::kModule;
    } else if (EqualsIgnoreCase(type, "aclcat")) {
      filter = Filter::kAclCategory;
    } else if (EqualsIgnoreCase(type, "pattern")) {
      filter = Filter::kPattern;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    argument = ctx.args[i + 2];
    i += 2;
  }
  auto keep = [&](const CommandSpec& spec) {
    switch (filter) {
      case Filter::kNone:
        return true;
      case Filter::kModule:
        return false;  // no modules
      case Filter::kAclCategory:
        return HasCategory(spec, argument);
      case Filter::kPattern:
        return GlobMatch(argument, spec.FullName(), /*nocase=*/true);
    }
    return false;
  };
  size_t mark = ctx.reply.BeginDeferred();
  int64_t count = 0;
  for (const CommandSpec* spec : ctx.server.commands().all()) {
    if (keep(*spec)) {
      ctx.reply.Bulk(spec->FullName());
      ++count;
    }
    for (const auto& sub : spec->subcommands) {
      if (keep(*sub)) {
        ctx.reply.Bulk(sub->FullName());
        ++count;
      }
    }
  }
  ctx.reply.EndDeferredArray(mark, count);
}

// Shared by GETKEYS and GETKEYSANDFLAGS: the key positions of the command
// in args[2...], or false after replying the error.
bool FindKeys(CommandContext& ctx, const CommandSpec** target, std::vector<int>* positions) {
  std::span<const std::string_view> command = ctx.args.subspan(2);
  CommandLookup lookup = ctx.server.commands().Lookup(command);
  if (lookup.spec == nullptr) {
    ctx.reply.Error("ERR Invalid command specified");
    return false;
  }
  if (lookup.spec->first_key <= 0) {
    ctx.reply.Error("ERR The command has no key arguments");
    return false;
  }
  if (!lookup.spec->ArityOk(command.size())) {
    ctx.reply.Error("ERR Invalid number of arguments specified for command");
    return false;
  }
  lookup.spec->KeyIndexes(command.size(), positions);
  if (positions->empty()) {
    ctx.reply.Error("ERR Invalid arguments specified for command");
    return false;
  }
  *target = lookup.spec;
  return true;
}

// COMMAND GETKEYS command [arg ...]
void CommandGetKeysCommand(CommandContext& ctx) {
  const CommandSpec* target = nullptr;
  std::vector<int> positions;
  if (!FindKeys(ctx, &target, &positions)) return;
  ctx.reply.ArrayHeader(static_cast<int64_t>(positions.size()));
  for (int position : positions) ctx.reply.Bulk(ctx.args[2 + position]);
}

// COMMAND GETKEYSANDFLAGS command [arg ...]
void CommandGetKeysAndFlagsCommand(CommandContext& ctx) {
  const CommandSpec* target = nullptr;
  std::vector<int> positions;
  if (!FindKeys(ctx, &target, &positions)) return;
  std::vector<std::string> flags = KeySpecFlags(*target);
  ctx.reply.ArrayHeader(static_cast<int64_t>(positions.size()));
  for (int position : positions) {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(ctx.args[2 + position]);
    ctx.reply.SetHeader(static_cast<int64_t>(flags.size()));
    for (const std::string& flag : flags) ctx.reply.Status(flag);
  }
}

// COMMAND HELP
void CommandHelpCommand(CommandContext& ctx) {
  ReplyHelp(ctx, "COMMAND",
            {"(no subcommand)", "    Return details about all commands.", "COUNT",
             "    Return the total number of commands.",
             "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
             "    Return the names of all commands and subcommands, or of those that match.",
             "INFO [<command-name> ...]",
             "    Return details about the given commands, or about all of them.",
             "DOCS [<command-name> ...]",
             "    Return documentation about the given commands, or about all of them.",
             "GETKEYS <full-command>", "    Return the keys in a full command.",
             "GETKEYSANDFLAGS <full-command>",
             "    Return the keys in a full command and how the command uses them."});
}

}  // namespace

void RegisterIntrospectionCommands(CommandTable& table) {
  constexpr uint32_t kIntrospection = kCmdLoading | kCmdStale;
  // clang-format off
  table.Add({.name = "command", .arity = -1, .flags = kIntrospection, .handler = CommandAllCommand, .group = "server", .summary = "Get array of Redis command details", .since = "2.8.13", .complexity = "O(N) where N is the total number of Redis commands", .acl_categories = "connection", .tips = "nondeterministic_output_order"});
  table.AddSubcommand("command", {.name = "count", .arity = 2, .flags = kIntrospection, .handler = CommandCountCommand, .group = "server", .summary = "Get total number of Redis commands", .since = "2.8.13", .complexity = "O(1)", .acl_categories = "connection"});
  table.AddSubcommand("command", {.name = "list", .arity = -2, .flags = kIntrospection, .handler = CommandListCommand, .group = "server", .summary = "Get an array of Redis command names", .since = "7.0.0", .complexity = "O(N) where N is the total number of Redis commands", .acl_categories = "connection", .tips = "nondeterministic_output_order"});
  table.AddSubcommand("command", {.name = "info", .arity = -2, .flags = kIntrospection, .handler = CommandInfoCommand, .group = "server", .summary = "Get array of specific Redis command details, or all when no argument is given.", .since = "2.8.13", .complexity = "O(N) where N is the number of commands to look up", .acl_categories = "connection", .tips = "nondeterministic_output_order"});
  table.AddSubcommand("command", {.name = "docs", .arity = -2, .flags = kIntrospection, .handler = CommandDocsCommand, .group = "server", .summary = "Get array of specific Redis command documentation", .since = "7.0.0", .complexity = "O(N) where N is the number of commands to look up", .acl_categories = "connection", .tips = "nondeterministic_output_order"});
  table.AddSubcommand("command", {.name = "getkeys", .arity = -4, .flags = kIntrospection, .handler = CommandGetKeysCommand, .group = "server", .summary = "Extract keys given a full Redis command", .since = "2.8.13", .complexity = "O(N) where N is the number of arguments to the command", .acl_categories = "connection"});
  table.AddSubcommand("command", {.name = "getkeysandflags", .arity = -4, .flags = kIntrospection, .handler = CommandGetKeysAndFlagsCommand, .group = "server", .summary = "Extract keys and access flags given a full Redis command", .since = "7.0.0", .complexity = "O(N) where N is the number of arguments to the command", .acl_categories = "connection"});
  table.AddSubcommand("command", {.name = "help", .arity = 2, .flags = kIntrospection, .handler = CommandHelpCommand, .group = "server", .summary = "Show helpful text about the different subcommands", .since = "5.0.0", .complexity = "O(1)", .acl_categories = "connection"});
  // clang-format on
}

}  // namespace understudy::server

// COMMAND and its subcommands: COUNT LIST INFO DOCS GETKEYS GETKEYSANDFLAGS
// HELP. Everything comes from the command table; details a row leaves out
// (ACL categories, key spec flags) are derived the way Redis derives its
// implicit ones, so the reply has Redis 7.0's full shape for every command.
#include <cstdint>
#include <limits>
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

// Flag names in the order Redis 7.0 lists them. Redis hides may_replicate
// and sentinel, so they are not here.
std::vector<std::string_view> FlagNames(const CommandSpec& spec) {
  static constexpr std::pair<CommandFlag, std::string_view> kNames[] = {
      {kCmdWrite, "write"},
      {kCmdReadOnly, "readonly"},
      {kCmdDenyOom, "denyoom"},
      {kCmdAdmin, "admin"},
      {kCmdPubSub, "pubsub"},
      {kCmdNoScript, "noscript"},
      {kCmdBlocking, "blocking"},
      {kCmdLoading, "loading"},
      {kCmdStale, "stale"},
      {kCmdSkipMonitor, "skip_monitor"},
      {kCmdSkipSlowlog, "skip_slowlog"},
      {kCmdFast, "fast"},
      {kCmdNoAuth, "no_auth"},
      {kCmdNoMandatoryKeys, "no_mandatory_keys"},
      {kCmdNoAsyncLoading, "no_async_loading"},
      {kCmdNoMulti, "no_multi"}};
  std::vector<std::string_view> out;
  for (const auto& [flag, name] : kNames) {
    if (spec.has(flag)) out.push_back(name);
  }
  // "movablekeys" comes from the key specs; it sits just before allow_busy.
  if (spec.movable_keys) out.push_back("movablekeys");
  if (spec.has(kCmdAllowBusy)) out.push_back("allow_busy");
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

// Key flag names in the order Redis 7.0 lists them.
std::vector<std::string_view> KeyFlagNames(uint32_t flags) {
  static constexpr std::pair<KeyFlag, std::string_view> kNames[] = {
      {kKeyRO, "RO"},
      {kKeyRW, "RW"},
      {kKeyOW, "OW"},
      {kKeyRM, "RM"},
      {kKeyAccess, "access"},
      {kKeyUpdate, "update"},
      {kKeyInsert, "insert"},
      {kKeyDelete, "delete"},
      {kKeyNotKey, "not_key"},
      {kKeyIncomplete, "incomplete"},
      {kKeyVariableFlags, "variable_flags"}};
  std::vector<std::string_view> out;
  for (const auto& [flag, name] : kNames) {
    if ((flags & flag) != 0) out.push_back(name);
  }
  return out;
}

void WriteKeyFlags(protocol::ReplyWriter& reply, uint32_t flags) {
  std::vector<std::string_view> names = KeyFlagNames(flags);
  reply.SetHeader(static_cast<int64_t>(names.size()));
  for (std::string_view name : names) reply.Status(name);
}

// One key spec as COMMAND INFO shows it: [notes,] flags, begin_search, find_keys.
void WriteKeySpec(protocol::ReplyWriter& reply, const KeySpec& spec) {
  reply.MapHeader(spec.notes.empty() ? 3 : 4);
  if (!spec.notes.empty()) {
    reply.Bulk("notes");
    reply.Bulk(spec.notes);
  }
  reply.Bulk("flags");
  WriteKeyFlags(reply, spec.flags);
  reply.Bulk("begin_search");
  reply.MapHeader(2);
  reply.Bulk("type");
  if (spec.begin == KeySpec::Begin::kIndex) {
    reply.Bulk("index");
    reply.Bulk("spec");
    reply.MapHeader(1);
    reply.Bulk("index");
    reply.Integer(spec.index);
  } else {
    reply.Bulk("keyword");
    reply.Bulk("spec");
    reply.MapHeader(2);
    reply.Bulk("keyword");
    reply.Bulk(spec.keyword);
    reply.Bulk("startfrom");
    reply.Integer(spec.start_from);
  }
  reply.Bulk("find_keys");
  reply.MapHeader(2);
  reply.Bulk("type");
  if (spec.find == KeySpec::Find::kRange) {
    reply.Bulk("range");
    reply.Bulk("spec");
    reply.MapHeader(3);
    reply.Bulk("lastkey");
    reply.Integer(spec.last_key);
    reply.Bulk("keystep");
    reply.Integer(spec.key_step);
    reply.Bulk("limit");
    reply.Integer(spec.limit);
  } else {
    reply.Bulk("keynum");
    reply.Bulk("spec");
    reply.MapHeader(3);
    reply.Bulk("keynumidx");
    reply.Integer(spec.keynum_index);
    reply.Bulk("firstkey");
    reply.Integer(spec.first_key);
    reply.Bulk("keystep");
    reply.Integer(spec.key_step);
  }
}

// Redis 7.0 sends the key specs as a set in RESP3 (an array in RESP2).
void WriteKeySpecs(protocol::ReplyWriter& reply, const CommandSpec& spec) {
  reply.SetHeader(static_cast<int64_t>(spec.key_specs.size()));
  for (const KeySpec& key : spec.key_specs) WriteKeySpec(reply, key);
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

// What Redis 7.0 does when a command's key specs do not fit a request and
// the command has a key-count spec: its fallback reads the count with
// atoi() (so "01", "+1", " 1" and "1x" count as 1), wants 1 <= count <=
// the arguments left, and lists the counted keys, then the key of a
// single-key spec before the count (the destination) - all without flags.
// Only COMMAND GETKEYS shows this; the commands themselves reject such
// counts, so KeyIndexes (used for routing) keeps to the strict parse.
bool LenientCountedKeys(const CommandSpec& spec, std::span<const std::string_view> args,
                        std::vector<KeyRef>* out) {
  const KeySpec* counted = nullptr;
  int destination = 0;
  for (const KeySpec& key : spec.key_specs) {
    if (key.find == KeySpec::Find::kKeyNum && key.begin == KeySpec::Begin::kIndex) {
      counted = &key;
    } else if (counted == nullptr && key.begin == KeySpec::Begin::kIndex && key.last_key == 0) {
      destination = key.index;
    }
  }
  if (counted == nullptr) return false;
  const size_t count_at = static_cast<size_t>(counted->index + counted->keynum_index);
  const int64_t first = counted->index + counted->first_key;
  if (count_at >= args.size()) return false;
  // atoi: optional white space and sign, then digits up to the first other
  // byte (or NUL); the result is narrowed to int like glibc's atoi.
  std::string_view text = args[count_at];
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r'))) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  uint64_t magnitude = 0;
  bool overflow = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (magnitude > (uint64_t{1} << 63) / 10) overflow = true;
    magnitude = magnitude * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  // strtol saturates at LONG_MAX / LONG_MIN before the narrowing.
  int64_t wide = 0;
  if (overflow || magnitude > (negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1)) {
    wide = negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  } else {
    wide = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  }
  const int64_t count = static_cast<int32_t>(wide);
  const int64_t argc = static_cast<int64_t>(args.size());
  if (count < 1 || count > (argc - first) / counted->key_step) return false;
  for (int64_t k = 0; k < count; ++k) {
    out->push_back(KeyRef{static_cast<int>(first + k * counted->key_step), 0});
  }
  if (destination != 0) out->push_back(KeyRef{destination, 0});
  return true;
}

// Shared by GETKEYS and GETKEYSANDFLAGS: the keys of the command in
// args[2...] (indexes relative to args[2]), or false after replying the error.
bool FindKeys(CommandContext& ctx, std::vector<KeyRef>* keys) {
  std::span<const std::string_view> command = ctx.args.subspan(2);
  CommandLookup lookup = ctx.server.commands().Lookup(command);
  const CommandSpec* spec = lookup.spec;
  if (spec == nullptr) {
    ctx.reply.Error("ERR Invalid command specified");
    return false;
  }
  if (!spec->HasKeys()) {
    ctx.reply.Error("ERR The command has no key arguments");
    return false;
  }
  if (!spec->ArityOk(command.size())) {
    ctx.reply.Error("ERR Invalid number of arguments specified for command");
    return false;
  }
  if (!spec->FindKeys(command, keys)) LenientCountedKeys(*spec, command, keys);
  if (keys->empty() && !spec->has(kCmdNoMandatoryKeys)) {
    ctx.reply.Error("ERR Invalid arguments specified for command");
    return false;
  }
  return true;
}

// COMMAND GETKEYS command [arg ...]
void CommandGetKeysCommand(CommandContext& ctx) {
  std::vector<KeyRef> keys;
  if (!FindKeys(ctx, &keys)) return;
  ctx.reply.ArrayHeader(static_cast<int64_t>(keys.size()));
  for (const KeyRef& key : keys) ctx.reply.Bulk(ctx.args[2 + key.index]);
}

// COMMAND GETKEYSANDFLAGS command [arg ...]
void CommandGetKeysAndFlagsCommand(CommandContext& ctx) {
  std::vector<KeyRef> keys;
  if (!FindKeys(ctx, &keys)) return;
  ctx.reply.ArrayHeader(static_cast<int64_t>(keys.size()));
  for (const KeyRef& key : keys) {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(ctx.args[2 + key.index]);
    WriteKeyFlags(ctx.reply, key.flags);
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

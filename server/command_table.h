#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace understudy::server {

struct CommandContext;
using CommandHandler = void (*)(CommandContext& ctx);

// Command flags, as in Redis's command table. They drive dispatch (auth,
// MULTI queueing), COMMAND's reply and, later, outage routing.
enum CommandFlag : uint32_t {
  kCmdWrite = 1u << 0,       // may modify the keyspace
  kCmdReadOnly = 1u << 1,    // reads the keyspace only
  kCmdAdmin = 1u << 2,       // server administration
  kCmdPubSub = 1u << 3,      // publish/subscribe
  kCmdNoScript = 1u << 4,    // not allowed from scripts
  kCmdBlocking = 1u << 5,    // may block the client
  kCmdFast = 1u << 6,        // O(1) or O(log n)
  kCmdNoAuth = 1u << 7,      // allowed before authentication
  kCmdDenyOom = 1u << 8,     // may grow memory use
  kCmdLoading = 1u << 9,     // allowed while loading
  kCmdStale = 1u << 10,      // allowed on a stale replica
  kCmdNoMulti = 1u << 11,    // not allowed inside MULTI
  kCmdSkipQueue = 1u << 12,  // runs at once even inside MULTI (EXEC, DISCARD...)
  kCmdMayReplicate = 1u << 13,
  kCmdSentinel = 1u << 14,
  kCmdAllowBusy = 1u << 15,
};

// One row of the command table: everything the server needs to know about a
// command besides its handler's code.
struct CommandSpec {
  std::string name;    // lower case; "get", or "setname" for CLIENT SETNAME
  int arity = 0;       // >0: exact argc; <0: at least -arity
  uint32_t flags = 0;  // CommandFlag bits
  int first_key = 0;   // 1-based; 0 = no keys
  int last_key = 0;    // -1 = last argument, -2 = second to last...
  int key_step = 0;
  CommandHandler handler = nullptr;
  std::string group;    // "string", "generic", "connection", "server", "transactions"...
  std::string summary;  // one line for COMMAND DOCS
  std::string since;    // Redis version that introduced it
  // Optional introspection details for COMMAND INFO / COMMAND DOCS. When
  // empty, COMMAND derives them: ACL categories from flags and group, key
  // spec flags from write/readonly.
  std::string complexity;      // "O(1)"
  std::string acl_categories;  // replaces the group's category: "keyspace dangerous"
  std::string tips;            // "nondeterministic_output request_policy:all_shards"
  std::string key_spec_flags;  // "RW access update"
  std::vector<std::unique_ptr<CommandSpec>> subcommands;
  CommandSpec* parent = nullptr;

  bool has(CommandFlag flag) const { return (flags & flag) != 0; }
  // "get", or "client|setname" for a subcommand.
  std::string FullName() const { return parent ? parent->name + "|" + name : name; }
  // True when `argc` satisfies the arity.
  bool ArityOk(size_t argc) const {
    return arity > 0 ? static_cast<int>(argc) == arity : static_cast<int>(argc) >= -arity;
  }
  // Appends the argument indexes that are keys, from the key positions.
  void KeyIndexes(size_t argc, std::vector<int>* out) const;
};

// Result of looking a request up in the table.
struct CommandLookup {
  const CommandSpec* spec = nullptr;       // found command or subcommand
  const CommandSpec* container = nullptr;  // set when the subcommand was unknown
};

// The table of all commands, the single source for dispatch, COMMAND, arity
// errors and key extraction.
class CommandTable {
 public:
  // Adds a command; returns it so subcommands can be attached.
  CommandSpec& Add(CommandSpec spec);
  // Adds a subcommand to a container command added earlier.
  CommandSpec& AddSubcommand(std::string_view container, CommandSpec spec);

  // Finds the command for a request (case-insensitive), descending into
  // subcommands when the command has them and argc >= 2.
  CommandLookup Lookup(std::span<const std::string_view> args) const;
  const CommandSpec* Find(std::string_view name) const;

  const std::vector<const CommandSpec*>& all() const { return ordered_; }
  size_t size() const { return ordered_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<CommandSpec>, Hash, std::equal_to<>> commands_;
  std::vector<const CommandSpec*> ordered_;
};

// Lower-cases `name` into `buffer` (of `capacity` bytes); returns the view,
// or an empty view when the name does not fit (no command is that long).
std::string_view LowerCaseName(std::string_view name, char* buffer, size_t capacity);

}  // namespace understudy::server

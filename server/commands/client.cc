// CLIENT subcommands: ID SETNAME GETNAME LIST INFO KILL NO-EVICT NO-TOUCH
// SETINFO GETREDIR TRACKINGINFO UNBLOCK HELP.
#include <algorithm>
#include <climits>

#include "server/blocking.h"
#include "server/commands/admin_support.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

// Client types as CLIENT LIST TYPE / CLIENT KILL TYPE name them. understudy
// has only normal clients so far (no replicas, no pub/sub yet).
enum class ClientType { kNormal, kReplica, kMaster, kPubSub, kUnknown };

ClientType ClientTypeByName(std::string_view name) {
  if (EqualsIgnoreCase(name, "normal")) return ClientType::kNormal;
  if (EqualsIgnoreCase(name, "replica") || EqualsIgnoreCase(name, "slave")) {
    return ClientType::kReplica;
  }
  if (EqualsIgnoreCase(name, "master")) return ClientType::kMaster;
  if (EqualsIgnoreCase(name, "pubsub")) return ClientType::kPubSub;
  return ClientType::kUnknown;
}

ClientType TypeOf(const ClientSession&) { return ClientType::kNormal; }

// Bytes a sequence of arguments occupies, for the *-mem fields.
template <typename Args>
size_t ArgsBytes(const Args& args) {
  size_t total = 0;
  for (const auto& arg : args) total += arg.size();
  return total;
}

std::vector<const ClientSession*> ClientsById(Server& server) {
  std::vector<const ClientSession*> out;
  out.reserve(server.clients().size());
  for (const auto& [id, session] : server.clients()) out.push_back(session.get());
  std::sort(out.begin(), out.end(),
            [](const ClientSession* a, const ClientSession* b) { return a->id() < b->id(); });
  return out;
}

// Closes `target`: at once for another client, after this reply for the
// caller itself.
void Kill(CommandContext& ctx, ClientSession& target) {
  if (&target == &ctx.client || !target.request_close) {
    target.close_after_reply = true;
  } else {
    target.request_close();
  }
}

// The caller's line shows the command it is running; other clients show
// the last one they ran.
std::string InfoLineFor(CommandContext& ctx, const ClientSession& client) {
  if (&client == &ctx.client) {
    return ClientInfoLine(client, ctx.now_ms, ctx.spec.FullName(), ArgsBytes(ctx.args));
  }
  return ClientInfoLine(client, ctx.now_ms,
                        client.last_command ? client.last_command->FullName() : "NULL", 0);
}

// CLIENT ID
void ClientIdCommand(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.client.id()));
}

// CLIENT SETNAME connection-name
void ClientSetNameCommand(CommandContext& ctx) {
  if (SetClientName(ctx, ctx.args[2])) ctx.reply.Ok();
}

// CLIENT GETNAME
void ClientGetNameCommand(CommandContext& ctx) {
  if (ctx.client.name.empty()) {
    ctx.reply.Null();
  } else {
    ctx.reply.Bulk(ctx.client.name);
  }
}

// CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]
void ClientListCommand(CommandContext& ctx) {
  std::string text;
  if (ctx.argc() == 4 && EqualsIgnoreCase(ctx.args[2], "type")) {
    ClientType type = ClientTypeByName(ctx.args[3]);
    if (type == ClientType::kUnknown) {
      ctx.reply.Error("ERR Unknown client type '" + std::string(ctx.args[3]) + "'");
      return;
    }
    for (const ClientSession* client : ClientsById(ctx.server)) {
      if (TypeOf(*client) == type) text += InfoLineFor(ctx, *client) + "\n";
    }
  } else if (ctx.argc() > 3 && EqualsIgnoreCase(ctx.args[2], "id")) {
    // In the order asked for, repeats included, as Redis does.
    for (size_t i = 3; i < ctx.argc(); ++i) {
      int64_t id = 0;
      if (!ParseInt64(ctx.args[i], &id)) {
        ctx.reply.Error("ERR Invalid client ID");
        return;
      }
      const ClientSession* client =
          id > 0 ? ctx.server.FindClient(static_cast<uint64_t>(id)) : nullptr;
      if (client != nullptr) text += InfoLineFor(ctx, *client) + "\n";
    }
  } else if (ctx.argc() != 2) {
    ctx.reply.Error(errors::kSyntax);
    return;
  } else {
    for (const ClientSession* client : ClientsById(ctx.server)) {
      text += InfoLineFor(ctx, *client) + "\n";
    }
  }
  ctx.reply.Verbatim(text);
}

// CLIENT INFO
void ClientInfoCommand(CommandContext& ctx) {
  ctx.reply.Verbatim(InfoLineFor(ctx, ctx.client) + "\n");
}

// CLIENT KILL ip:port
// CLIENT KILL [ID id] [TYPE type] [USER user] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]
void ClientKillCommand(CommandContext& ctx) {
  if (ctx.argc() == 3) {
    // The old form: one address, an error if nobody is connected from it.
    for (const auto& [id, session] : ctx.server.clients()) {
      if (session->peer_address == ctx.args[2]) {
        Kill(ctx, *session);
        ctx.reply.Ok();
        return;
      }
    }
    ctx.reply.Error("ERR No such client");
    return;
  }
  int64_t wanted_id = 0;
  ClientType wanted_type = ClientType::kUnknown;
  std::string_view addr, laddr;
  bool by_addr = false, by_laddr = false, by_user = false, skip_me = true;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    std::string_view option = ctx.args[i];
    if (i + 1 >= ctx.argc()) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    std::string_view value = ctx.args[i + 1];
    if (EqualsIgnoreCase(option, "id")) {
      if (!ParseInt64(value, &wanted_id) || wanted_id < 1) {
        ctx.reply.Error("ERR client-id should be greater than 0");
        return;
      }
    } else if (EqualsIgnoreCase(option, "type")) {
      wanted_type = ClientTypeByName(value);
      if (wanted_type == ClientType::kUnknown) {
        ctx.reply.Error("ERR Unknown client type '" + std::string(value) + "'");
        return;
      }
    } else if (EqualsIgnoreCase(option, "addr")) {
      addr = value;
      by_addr = true;
    } else if (EqualsIgnoreCase(option, "laddr")) {
      laddr = value;
      by_laddr = true;
    } else if (EqualsIgnoreCase(option, "user")) {
      if (value != "default") {
        ctx.reply.Error("ERR No such user '" + std::string(value) + "'");
        return;
      }
      by_user = true;
    } else if (EqualsIgnoreCase(option, "skipme")) {
      if (EqualsIgnoreCase(value, "yes")) {
        skip_me = true;
      } else if (EqualsIgnoreCase(value, "no")) {
        skip_me = false;
      } else {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  int64_t killed = 0;
  for (const auto& [id, session] : ctx.server.clients()) {
    ClientSession& client = *session;
    if (wanted_id != 0 && client.id() != static_cast<uint64_t>(wanted_id)) continue;
    if (wanted_type != ClientType::kUnknown && TypeOf(client) != wanted_type) continue;
    if (by_addr && client.peer_address != addr) continue;
    if (by_laddr && client.local_address != laddr) continue;
    if (by_user && client.user != "default") continue;
    if (skip_me && &client == &ctx.client) continue;
    Kill(ctx, client);
    ++killed;
  }
  ctx.reply.Integer(killed);
}

// CLIENT NO-EVICT ON|OFF, CLIENT NO-TOUCH ON|OFF. understudy does not evict
// yet and keeps no LRU clock for clients to disturb, so both only validate.
void ClientOnOffCommand(CommandContext& ctx) {
  if (EqualsIgnoreCase(ctx.args[2], "on") || EqualsIgnoreCase(ctx.args[2], "off")) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(errors::kSyntax);
  }
}

// CLIENT SETINFO LIB-NAME|LIB-VER value   (Redis 7.2; clients send it on connect)
void ClientSetInfoCommand(CommandContext& ctx) {
  std::string_view attribute = ctx.args[2];
  std::string* target = nullptr;
  std::string_view label;
  if (EqualsIgnoreCase(attribute, "lib-name")) {
    target = &ctx.client.lib_name;
    label = "lib-name";
  } else if (EqualsIgnoreCase(attribute, "lib-ver")) {
    target = &ctx.client.lib_version;
    label = "lib-ver";
  } else {
    ctx.reply.Error("ERR Unrecognized option '" + std::string(attribute) + "'");
    return;
  }
  for (char c : ctx.args[3]) {
    if (c < '!' || c > '~') {
      ctx.reply.Error("ERR " + std::string(label) +
                      " cannot contain spaces, newlines or special characters.");
      return;
    }
  }
  *target = std::string(ctx.args[3]);
  ctx.reply.Ok();
}

// CLIENT GETREDIR   (tracking is never on, so never redirected)
void ClientGetRedirCommand(CommandContext& ctx) { ctx.reply.Integer(-1); }

// CLIENT TRACKINGINFO
void ClientTrackingInfoCommand(CommandContext& ctx) {
  ctx.reply.MapHeader(3);
  ctx.reply.Bulk("flags");
  ctx.reply.SetHeader(1);
  ctx.reply.Bulk("off");
  ctx.reply.Bulk("redirect");
  ctx.reply.Integer(-1);
  ctx.reply.Bulk("prefixes");
  ctx.reply.EmptyArray();
}

// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]   (no command blocks yet: always 0)
void ClientUnblockCommand(CommandContext& ctx) {
  if (ctx.argc() > 4) {
    ctx.reply.Error("ERR unknown subcommand or wrong number of arguments for '" +
                    std::string(ctx.args[1]) + "'. Try CLIENT HELP.");
    return;
  }
  if (ctx.argc() == 4 && !EqualsIgnoreCase(ctx.args[3], "timeout") &&
      !EqualsIgnoreCase(ctx.args[3], "error")) {
    ctx.reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    return;
  }
  int64_t id = 0;
  if (!ParseIntegerArg(ctx, ctx.args[2], &id)) return;
  const bool with_error = ctx.argc() == 4 && EqualsIgnoreCase(ctx.args[3], "error");
  const bool unblocked = ctx.server.blocking().Unblock(static_cast<uint64_t>(id), with_error);
  ctx.reply.Integer(unblocked ? 1 : 0);
}

// CLIENT HELP
void ClientHelpCommand(CommandContext& ctx) {
  ReplyHelp(ctx, "CLIENT",
            {"GETNAME",
             "    Return the name of the current connection.",
             "GETREDIR",
             "    Return -1: understudy does not do client side caching (tracking) yet.",
             "ID",
             "    Return the ID of the current connection.",
             "INFO",
             "    Return information about the current client connection.",
             "KILL <ip:port>",
             "    Kill the connection made from <ip:port>.",
             "KILL <option> <value> [<option> <value> [...]]",
             "    Kill connections. Options are:",
             "    * ADDR (<ip:port>|<unixsocket>:0)",
             "      Kill connections made from the specified address",
             "    * LADDR (<ip:port>|<unixsocket>:0)",
             "      Kill connections made to the specified local address",
             "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
             "      Kill connections by type.",
             "    * USER <username>",
             "      Kill connections authenticated by <username>.",
             "    * SKIPME (YES|NO)",
             "      Skip killing the current connection (default: yes).",
             "LIST [options ...]",
             "    Return information about client connections. Options:",
             "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
             "      Return clients of the specified type.",
             "    * ID <id> [<id> ...]",
             "      Return the clients with the given IDs.",
             "NO-EVICT (ON|OFF)",
             "    Accepted; understudy does not evict clients.",
             "NO-TOUCH (ON|OFF)",
             "    Accepted; understudy keeps no per-key access times.",
             "SETINFO (LIB-NAME|LIB-VER) <value>",
             "    Record the client library's name or version.",
             "SETNAME <name>",
             "    Assign the name <name> to the current connection.",
             "TRACKINGINFO",
             "    Report tracking status for the current connection (always off).",
             "UNBLOCK <clientid> [TIMEOUT|ERROR]",
             "    Unblock the specified blocked client."});
}

// CLIENT <subcommand> without a subcommand is an arity error, handled by the
// dispatcher; this handler is never reached with argc >= 2.
void ClientContainerCommand(CommandContext& ctx) { ctx.WrongArity(); }

}  // namespace

bool SetClientName(CommandContext& ctx, std::string_view name) {
  for (char c : name) {
    // Bytes outside '!'..'~' (spaces, control bytes, non-ASCII) would break
    // CLIENT LIST's space-separated format.
    if (c < '!' || c > '~') {
      ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
      return false;
    }
  }
  ctx.client.name = std::string(name);
  return true;
}

std::string ClientInfoLine(const ClientSession& client, int64_t now_ms,
                           std::string_view running_command, size_t argv_mem) {
  std::string flags;
  if (client.pubsub_mode()) flags += 'P';
  if (client.in_multi) flags += 'x';
  if (client.blocked) flags += 'b';
  if (client.watch_dirty) flags += 'd';
  if (client.close_after_reply) flags += 'c';
  if (client.is_unix_socket) flags += 'U';
  if (flags.empty()) flags = "N";
  size_t multi_mem = 0;
  for (const QueuedCommand& queued : client.queued) multi_mem += ArgsBytes(queued.args);
  const size_t reply_pending = client.reply.size() + client.output_in_flight;
  const size_t total_mem = sizeof(ClientSession) + client.reply.capacity() +
                           client.query_buffer_size + multi_mem + argv_mem;
  std::string line;
  line.reserve(320);
  line += "id=" + std::to_string(client.id());
  line += " addr=" + client.peer_address;
  line += " laddr=" + client.local_address;
  line += " fd=" + std::to_string(client.fd);
  line += " name=" + client.name;
  line += " age=" + std::to_string((now_ms - client.created_ms()) / 1000);
  line += " idle=" + std::to_string((now_ms - client.last_active_ms) / 1000);
  line += " flags=" + flags;
  line += " db=" + std::to_string(client.db_index);
  line += " sub=" + std::to_string(client.subscribed_channels.size());
  line += " psub=" + std::to_string(client.subscribed_patterns.size());
  line += " ssub=" + std::to_string(client.subscribed_shard_channels.size());
  line +=
      " multi=" + std::to_string(client.in_multi ? static_cast<int64_t>(client.queued.size()) : -1);
  line += " qbuf=" + std::to_string(client.query_buffer_size);
  line += " qbuf-free=0";
  line += " argv-mem=" + std::to_string(argv_mem);
  line += " multi-mem=" + std::to_string(multi_mem);
  line += " rbs=" + std::to_string(client.reply.capacity());
  line += " rbp=" + std::to_string(client.reply.capacity());
  line += " obl=" + std::to_string(client.reply.size());
  line += " oll=0";
  line += " omem=" + std::to_string(client.output_in_flight);
  line += " tot-mem=" + std::to_string(total_mem);
  line += reply_pending > 0 ? " events=rw" : " events=r";
  line += " cmd=";
  line += running_command;
  line += " user=" + client.user;
  line += " redir=-1";
  line += " resp=" + std::to_string(static_cast<int>(client.resp));
  return line;
}

void RegisterClientCommands(CommandTable& table) {
  constexpr uint32_t kClient = kCmdNoScript | kCmdLoading | kCmdStale;
  constexpr uint32_t kClientAdmin = kCmdAdmin | kClient;
  // clang-format off
  table.Add({.name = "client", .arity = -2, .handler = ClientContainerCommand, .group = "connection", .summary = "A container for client connection commands", .since = "2.4.0", .complexity = "Depends on subcommand."});
  table.AddSubcommand("client", {.name = "id", .arity = 2, .flags = kClient, .handler = ClientIdCommand, .group = "connection", .summary = "Returns the client ID for the current connection", .since = "5.0.0", .complexity = "O(1)"});
  table.AddSubcommand("client", {.name = "setname", .arity = 3, .flags = kClient, .handler = ClientSetNameCommand, .group = "connection", .summary = "Set the current connection name", .since = "2.6.9", .complexity = "O(1)"});
  table.AddSubcommand("client", {.name = "getname", .arity = 2, .flags = kClient, .handler = ClientGetNameCommand, .group = "connection", .summary = "Get the current connection name", .since = "2.6.9", .complexity = "O(1)"});
  table.AddSubcommand("client", {.name = "list", .arity = -2, .flags = kClientAdmin, .handler = ClientListCommand, .group = "connection", .summary = "Get the list of client connections", .since = "2.4.0", .complexity = "O(N) where N is the number of client connections", .tips = "nondeterministic_output"});
  table.AddSubcommand("client", {.name = "info", .arity = 2, .flags = kClient, .handler = ClientInfoCommand, .group = "connection", .summary = "Returns information about the current client connection.", .since = "6.2.0", .complexity = "O(1)", .tips = "nondeterministic_output"});
  table.AddSubcommand("client", {.name = "kill", .arity = -3, .flags = kClientAdmin, .handler = ClientKillCommand, .group = "connection", .summary = "Kill the connection of a client", .since = "2.4.0", .complexity = "O(N) where N is the number of client connections"});
  table.AddSubcommand("client", {.name = "no-evict", .arity = 3, .flags = kClientAdmin, .handler = ClientOnOffCommand, .group = "connection", .summary = "Set client eviction mode for the current connection", .since = "7.0.0", .complexity = "O(1)"});
  table.AddSubcommand("client", {.name = "no-touch", .arity = 3, .flags = kClient | kCmdFast, .handler = ClientOnOffCommand, .group = "connection", .summary = "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.", .since = "7.2.0", .complexity = "O(1)"});
  table.AddSubcommand("client", {.name = "setinfo", .arity = 4, .flags = kClient, .handler = ClientSetInfoCommand, .group = "connection", .summary = "Set client or connection specific info", .since = "7.2.0", .complexity = "O(1)"});
  table.AddSubcommand("client", {.name = "getredir", .arity = 2, .flags = kClient, .handler = ClientGetRedirCommand, .group = "connection", .summary = "Get tracking notifications redirection client ID if any", .since = "6.0.0", .complexity = "O(1)"});
  table.AddSubcommand("client", {.name = "trackinginfo", .arity = 2, .flags = kClient, .handler = ClientTrackingInfoCommand, .group = "connection", .summary = "Return information about server assisted client side caching for the current connection", .since = "6.2.0", .complexity = "O(1)"});
  table.AddSubcommand("client", {.name = "unblock", .arity = -3, .flags = kClientAdmin, .handler = ClientUnblockCommand, .group = "connection", .summary = "Unblock a client blocked in a blocking command from a different connection", .since = "5.0.0", .complexity = "O(log N) where N is the number of client connections"});
  table.AddSubcommand("client", {.name = "help", .arity = 2, .flags = kCmdLoading | kCmdStale, .handler = ClientHelpCommand, .group = "connection", .summary = "Show helpful text about the different subcommands", .since = "5.0.0", .complexity = "O(1)"});
  // clang-format on
}

}  // namespace understudy::server

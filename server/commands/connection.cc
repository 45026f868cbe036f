// Connection commands: PING ECHO HELLO AUTH SELECT SWAPDB QUIT RESET (CLIENT
// is in client.cc).
#include <climits>

#include "server/blocking.h"
#include "server/commands/admin_support.h"
#include "server/commands/families.h"
#include "server/commands/helpers.h"
#include "server/version.h"

namespace understudy::server {
namespace {

// HELLO's "server" field. Clients decide on features by "version" (the Redis
// version understudy reproduces); the name says truthfully what answers.
// See docs/compatibility.md.
constexpr std::string_view kServerName = "understudy";

constexpr std::string_view kHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
    "protocol version at the same time";

// Checks `user`/`password` against the one user understudy has, "default".
// Without requirepass that user takes any password (Redis's nopass).
// Marks the client authenticated on success; a failure leaves an already
// authenticated client as it was, as Redis does.
bool Authenticate(CommandContext& ctx, std::string_view user, std::string_view password) {
  if (user != "default") return false;
  if (ctx.server.auth_required() && !ctx.server.CheckPassword(password)) return false;
  ctx.client.authenticated = true;
  ctx.client.user = "default";
  return true;
}

// Redis's int-range argument parsing (getIntFromObjectOrReply): `message`
// replaces both the not-an-integer and the out-of-range error when given.
bool ParseIntRangeArg(CommandContext& ctx, std::string_view arg, std::string_view message,
                      int* out) {
  int64_t value = 0;
  if (!ParseInt64(arg, &value)) {
    ctx.reply.Error(message.empty() ? errors::kNotInteger : message);
    return false;
  }
  if (value < INT_MIN || value > INT_MAX) {
    ctx.reply.Error(message.empty()
                        ? "ERR value is out of range, value must between -2147483648 and 2147483647"
                        : message);
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

// PING [message]
void PingCommand(CommandContext& ctx) {
  if (ctx.argc() > 2) {
    ctx.WrongArity();
  } else if (ctx.client.pubsub_mode() && !ctx.reply.resp3()) {
    // A RESP2 subscriber reads messages: the pong comes as one, too.
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk("pong");
    ctx.reply.Bulk(ctx.argc() == 2 ? ctx.args[1] : "");
  } else if (ctx.argc() == 1) {
    ctx.reply.Status("PONG");
  } else {
    ctx.reply.Bulk(ctx.args[1]);
  }
}

// ECHO message
void EchoCommand(CommandContext& ctx) { ctx.reply.Bulk(ctx.args[1]); }

// HELLO [protover [AUTH username password] [SETNAME clientname]]
void HelloCommand(CommandContext& ctx) {
  int64_t version = static_cast<int64_t>(ctx.client.resp);
  if (ctx.argc() >= 2) {
    if (!ParseInt64(ctx.args[1], &version)) {
      ctx.reply.Error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (version < 2 || version > 3) {
      ctx.reply.Error("NOPROTO unsupported protocol version");
      return;
    }
  }
  std::string_view user, password, name;
  bool has_auth = false, has_name = false;
  for (size_t j = 2; j < ctx.argc(); ++j) {
    size_t more = ctx.argc() - 1 - j;
    if (EqualsIgnoreCase(ctx.args[j], "auth") && more >= 2) {
      has_auth = true;
      user = ctx.args[j + 1];
      password = ctx.args[j + 2];
      j += 2;
    } else if (EqualsIgnoreCase(ctx.args[j], "setname") && more >= 1) {
      has_name = true;
      name = ctx.args[j + 1];
      ++j;
    } else {
      ctx.reply.Error("ERR Syntax error in HELLO option '" + std::string(ctx.args[j]) + "'");
      return;
    }
  }
  if (has_auth && !Authenticate(ctx, user, password)) {
    ctx.reply.Error(errors::kInvalidPassword);
    return;
  }
  if (!ctx.client.authenticated) {
    ctx.reply.Error(kHelloNoAuth);
    return;
  }
  if (has_name && !SetClientName(ctx, name)) return;

  ctx.client.resp = static_cast<protocol::RespVersion>(version);
  // The reply already uses the protocol just selected.
  protocol::ReplyWriter reply(ctx.reply.buffer(), ctx.client.resp);
  reply.MapHeader(7);
  reply.Bulk("server");
  reply.Bulk(kServerName);
  reply.Bulk("version");
  reply.Bulk(kRedisCompatVersion);
  reply.Bulk("proto");
  reply.Integer(version);
  reply.Bulk("id");
  reply.Integer(static_cast<int64_t>(ctx.client.id()));
  reply.Bulk("mode");
  reply.Bulk("standalone");
  reply.Bulk("role");
  reply.Bulk("master");
  reply.Bulk("modules");
  reply.EmptyArray();
}

// AUTH [username] password
void AuthCommand(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  std::string_view user = "default";
  std::string_view password = ctx.args[1];
  if (ctx.argc() == 2) {
    if (!ctx.server.auth_required()) {
      ctx.reply.Error(
          "ERR AUTH <password> called without any password configured for the default user. "
          "Are you sure your configuration is correct?");
      return;
    }
  } else {
    user = ctx.args[1];
    password = ctx.args[2];
  }
  if (Authenticate(ctx, user, password)) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(errors::kInvalidPassword);
  }
}

// SELECT index
void SelectCommand(CommandContext& ctx) {
  int index = 0;
  if (!ParseIntRangeArg(ctx, ctx.args[1], "", &index)) return;
  if (index < 0 || index >= ctx.server.database_count()) {
    ctx.reply.Error(errors::kDbIndexOutOfRange);
    return;
  }
  ctx.client.db_index = index;
  ctx.reply.Ok();
}

// SWAPDB index1 index2
void SwapDbCommand(CommandContext& ctx) {
  int first = 0, second = 0;
  if (!ParseIntRangeArg(ctx, ctx.args[1], "ERR invalid first DB index", &first) ||
      !ParseIntRangeArg(ctx, ctx.args[2], "ERR invalid second DB index", &second)) {
    return;
  }
  const int count = ctx.server.database_count();
  if (first < 0 || first >= count || second < 0 || second >= count) {
    ctx.reply.Error(errors::kDbIndexOutOfRange);
    return;
  }
  if (first != second) {
    TouchWatchersOfEmptiedDatabase(ctx.server, first, second);
    TouchWatchersOfEmptiedDatabase(ctx.server, second, first);
    ctx.server.db(first).Swap(ctx.server.db(second));
    // Clients blocked in either database may find their keys there now.
    ctx.server.blocking().SignalAllKeys(first);
    ctx.server.blocking().SignalAllKeys(second);
  }
  ctx.reply.Ok();
}

// QUIT
void QuitCommand(CommandContext& ctx) {
  ctx.reply.Ok();
  ctx.client.close_after_reply = true;
}

// RESET
void ResetCommand(CommandContext& ctx) {
  ClientSession& client = ctx.client;
  client.in_multi = false;
  client.multi_error = false;
  client.queued.clear();
  ctx.server.Unwatch(client);
  ctx.server.pubsub().RemoveClient(client);
  client.db_index = 0;
  client.resp = protocol::RespVersion::kResp2;
  client.user = "default";
  client.authenticated = !ctx.server.auth_required();
  client.name.clear();
  ctx.reply.Status("RESET");
}

}  // namespace

void RegisterConnectionCommands(CommandTable& table) {
  constexpr uint32_t kSession =
      kCmdNoScript | kCmdLoading | kCmdStale | kCmdFast | kCmdNoAuth | kCmdAllowBusy;
  // QUIT and RESET act at once inside MULTI instead of being queued.
  // clang-format off
  table.Add({.name = "ping", .arity = -1, .flags = kCmdFast, .handler = PingCommand, .group = "connection", .summary = "Ping the server", .since = "1.0.0", .complexity = "O(1)", .tips = "request_policy:all_shards response_policy:all_succeeded"});
  table.Add({.name = "echo", .arity = 2, .flags = kCmdLoading | kCmdStale | kCmdFast, .handler = EchoCommand, .group = "connection", .summary = "Echo the given string", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "hello", .arity = -1, .flags = kSession, .handler = HelloCommand, .group = "connection", .summary = "Handshake with Redis", .since = "6.0.0", .complexity = "O(1)"});
  table.Add({.name = "auth", .arity = -2, .flags = kSession, .handler = AuthCommand, .group = "connection", .summary = "Authenticate to the server", .since = "1.0.0", .complexity = "O(N) where N is the number of passwords defined for the user"});
  table.Add({.name = "select", .arity = 2, .flags = kCmdLoading | kCmdStale | kCmdFast, .handler = SelectCommand, .group = "connection", .summary = "Change the selected database for the current connection", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "swapdb", .arity = 3, .flags = kCmdWrite | kCmdFast, .handler = SwapDbCommand, .group = "server", .summary = "Swaps two Redis databases", .since = "4.0.0", .complexity = "O(N) where N is the count of clients watching or blocking on keys from both databases.", .acl_categories = "keyspace dangerous"});
  table.Add({.name = "quit", .arity = -1, .flags = kSession | kCmdSkipQueue, .handler = QuitCommand, .group = "connection", .summary = "Close the connection", .since = "1.0.0", .complexity = "O(1)"});
  table.Add({.name = "reset", .arity = 1, .flags = kSession | kCmdSkipQueue, .handler = ResetCommand, .group = "connection", .summary = "Reset the connection", .since = "6.2.0", .complexity = "O(1)"});
  // clang-format on
  RegisterClientCommands(table);
}

}  // namespace understudy::server

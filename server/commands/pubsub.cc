// Publish/subscribe commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE
// SSUBSCRIBE SUNSUBSCRIBE PUBLISH SPUBLISH PUBSUB.
//
// Subscribe and unsubscribe confirmations are written as pushes (RESP3 '>',
// RESP2 a plain array), one per name, each with the client's subscription
// count after that step: channels plus patterns, or shard channels alone.
// The registry and the delivery of messages live in server/pubsub.{h,cc};
// the RESP2 subscribed-mode rule is applied by Server::Execute.
#include "server/pubsub.h"

#include <optional>
#include <string>
#include <string_view>

#include "server/commands/admin_support.h"
#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {
namespace {

// Subscriptions a confirmation reports: shard channels count on their own.
int64_t SubscriptionCount(const ClientSession& client, ChannelScope scope) {
  if (scope == ChannelScope::kShard) {
    return static_cast<int64_t>(client.subscribed_shard_channels.size());
  }
  return static_cast<int64_t>(client.subscribed_channels.size() +
                              client.subscribed_patterns.size());
}

// [kind, name, count]; a null name when an unsubscribe-all found nothing.
void Confirm(CommandContext& ctx, std::string_view kind, std::optional<std::string_view> name,
             ChannelScope scope) {
  ctx.reply.PushHeader(3);
  ctx.reply.Bulk(kind);
  if (name) {
    ctx.reply.Bulk(*name);
  } else {
    ctx.reply.Null();
  }
  ctx.reply.Integer(SubscriptionCount(ctx.client, scope));
}

void SubscribeChannels(CommandContext& ctx, ChannelScope scope) {
  const std::string_view kind = scope == ChannelScope::kShard ? "ssubscribe" : "subscribe";
  for (size_t i = 1; i < ctx.argc(); ++i) {
    ctx.server.pubsub().SubscribeChannel(ctx.client, ctx.args[i], scope);
    Confirm(ctx, kind, ctx.args[i], scope);
  }
}

void UnsubscribeChannels(CommandContext& ctx, ChannelScope scope) {
  const std::string_view kind = scope == ChannelScope::kShard ? "sunsubscribe" : "unsubscribe";
  PubSubRegistry& pubsub = ctx.server.pubsub();
  if (ctx.argc() > 1) {
    for (size_t i = 1; i < ctx.argc(); ++i) {
      pubsub.UnsubscribeChannel(ctx.client, ctx.args[i], scope);
      Confirm(ctx, kind, ctx.args[i], scope);
    }
    return;
  }
  const SubscriptionSet& current = scope == ChannelScope::kShard
                                       ? ctx.client.subscribed_shard_channels
                                       : ctx.client.subscribed_channels;
  if (current.empty()) {
    Confirm(ctx, kind, std::nullopt, scope);
    return;
  }
  for (const std::string& channel : current.InOrder()) {
    pubsub.UnsubscribeChannel(ctx.client, channel, scope);
    Confirm(ctx, kind, channel, scope);
  }
}

// SUBSCRIBE channel [channel ...]
void SubscribeCommand(CommandContext& ctx) { SubscribeChannels(ctx, ChannelScope::kGlobal); }

// UNSUBSCRIBE [channel [channel ...]]
void UnsubscribeCommand(CommandContext& ctx) { UnsubscribeChannels(ctx, ChannelScope::kGlobal); }

// SSUBSCRIBE shardchannel [shardchannel ...]
void SsubscribeCommand(CommandContext& ctx) {
  // Redis 7.0 lets SUBSCRIBE and PSUBSCRIBE into a transaction for old
  // clients' sake, but not the newer SSUBSCRIBE.
  if (ctx.client.in_multi) {
    ctx.reply.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    return;
  }
  SubscribeChannels(ctx, ChannelScope::kShard);
}

// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
void SunsubscribeCommand(CommandContext& ctx) { UnsubscribeChannels(ctx, ChannelScope::kShard); }

// PSUBSCRIBE pattern [pattern ...]
void PsubscribeCommand(CommandContext& ctx) {
  for (size_t i = 1; i < ctx.argc(); ++i) {
    ctx.server.pubsub().SubscribePattern(ctx.client, ctx.args[i]);
    Confirm(ctx, "psubscribe", ctx.args[i], ChannelScope::kGlobal);
  }
}

// PUNSUBSCRIBE [pattern [pattern ...]]
void PunsubscribeCommand(CommandContext& ctx) {
  PubSubRegistry& pubsub = ctx.server.pubsub();
  if (ctx.argc() > 1) {
    for (size_t i = 1; i < ctx.argc(); ++i) {
      pubsub.UnsubscribePattern(ctx.client, ctx.args[i]);
      Confirm(ctx, "punsubscribe", ctx.args[i], ChannelScope::kGlobal);
    }
    return;
  }
  if (ctx.client.subscribed_patterns.empty()) {
    Confirm(ctx, "punsubscribe", std::nullopt, ChannelScope::kGlobal);
    return;
  }
  for (const std::string& pattern : ctx.client.subscribed_patterns.InOrder()) {
    pubsub.UnsubscribePattern(ctx.client, pattern);
    Confirm(ctx, "punsubscribe", pattern, ChannelScope::kGlobal);
  }
}

// PUBLISH channel message
void PublishCommand(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(
      ctx.server.Publish(ctx.client, ctx.args[1], ctx.args[2], ChannelScope::kGlobal)));
}

// SPUBLISH shardchannel message
void SpublishCommand(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(
      ctx.server.Publish(ctx.client, ctx.args[1], ctx.args[2], ChannelScope::kShard)));
}

// PUBSUB <subcommand> ... (only reached without a known subcommand)
void PubSubContainerCommand(CommandContext& ctx) {
  ctx.reply.Error("ERR unknown subcommand '" + std::string(ctx.args[1]) + "'. Try PUBSUB HELP.");
}

// PUBSUB HELP
void PubSubHelpCommand(CommandContext& ctx) {
  ReplyHelp(ctx, "PUBSUB",
            {"CHANNELS [<pattern>]",
             "    Return the currently active channels matching a <pattern> (default: '*').",
             "NUMPAT", "    Return number of subscriptions to patterns.", "NUMSUB [<channel> ...]",
             "    Return the number of subscribers for the specified channels, excluding",
             "    pattern subscriptions(default: no channels).", "SHARDCHANNELS [<pattern>]",
             "    Return the currently active shard level channels matching a <pattern> (default: "
             "'*').",
             "SHARDNUMSUB [<shardchannel> ...]",
             "    Return the number of subscribers for the specified shard level channel(s)"});
}

void ListChannels(CommandContext& ctx, ChannelScope scope) {
  if (ctx.argc() > 3) {
    ctx.reply.Error("ERR unknown subcommand or wrong number of arguments for '" +
                    std::string(ctx.args[1]) + "'. Try PUBSUB HELP.");
    return;
  }
  std::optional<std::string_view> pattern;
  if (ctx.argc() == 3) pattern = ctx.args[2];
  const std::vector<std::string_view> names = ctx.server.pubsub().Channels(pattern, scope);
  ctx.reply.ArrayHeader(static_cast<int64_t>(names.size()));
  for (std::string_view name : names) ctx.reply.Bulk(name);
}

void CountSubscribers(CommandContext& ctx, ChannelScope scope) {
  ctx.reply.ArrayHeader(static_cast<int64_t>(ctx.argc() - 2) * 2);
  for (size_t i = 2; i < ctx.argc(); ++i) {
    ctx.reply.Bulk(ctx.args[i]);
    ctx.reply.Integer(
        static_cast<int64_t>(ctx.server.pubsub().SubscriberCount(ctx.args[i], scope)));
  }
}

// PUBSUB CHANNELS [pattern]
void PubSubChannelsCommand(CommandContext& ctx) { ListChannels(ctx, ChannelScope::kGlobal); }

// PUBSUB SHARDCHANNELS [pattern]
void PubSubShardChannelsCommand(CommandContext& ctx) { ListChannels(ctx, ChannelScope::kShard); }

// PUBSUB NUMSUB [channel [channel ...]]
void PubSubNumSubCommand(CommandContext& ctx) { CountSubscribers(ctx, ChannelScope::kGlobal); }

// PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]
void PubSubShardNumSubCommand(CommandContext& ctx) { CountSubscribers(ctx, ChannelScope::kShard); }

// PUBSUB NUMPAT
void PubSubNumPatCommand(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.server.pubsub().pattern_count()));
}

}  // namespace

void RegisterPubSubCommands(CommandTable& table) {
  constexpr uint32_t kSubscribe = kCmdPubSub | kCmdNoScript | kCmdLoading | kCmdStale;
  constexpr uint32_t kIntrospect = kCmdPubSub | kCmdLoading | kCmdStale;
  // clang-format off
  table.Add({.name = "subscribe", .arity = -2, .flags = kSubscribe, .handler = SubscribeCommand, .group = "pubsub", .summary = "Listen for messages published to the given channels", .since = "2.0.0", .complexity = "O(N) where N is the number of channels to subscribe to."});
  table.Add({.name = "unsubscribe", .arity = -1, .flags = kSubscribe, .handler = UnsubscribeCommand, .group = "pubsub", .summary = "Stop listening for messages posted to the given channels", .since = "2.0.0", .complexity = "O(N) where N is the number of clients already subscribed to a channel."});
  table.Add({.name = "psubscribe", .arity = -2, .flags = kSubscribe, .handler = PsubscribeCommand, .group = "pubsub", .summary = "Listen for messages published to channels matching the given patterns", .since = "2.0.0", .complexity = "O(N) where N is the number of patterns the client is already subscribed to."});
  table.Add({.name = "punsubscribe", .arity = -1, .flags = kSubscribe, .handler = PunsubscribeCommand, .group = "pubsub", .summary = "Stop listening for messages posted to channels matching the given patterns", .since = "2.0.0", .complexity = "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."});
  table.Add({.name = "ssubscribe", .arity = -2, .flags = kSubscribe, .key_specs = {KeyRange(1, -1, 1, kKeyNotKey)}, .handler = SsubscribeCommand, .group = "pubsub", .summary = "Listen for messages published to the given shard channels", .since = "7.0.0", .complexity = "O(N) where N is the number of shard channels to subscribe to."});
  table.Add({.name = "sunsubscribe", .arity = -1, .flags = kSubscribe, .key_specs = {KeyRange(1, -1, 1, kKeyNotKey)}, .handler = SunsubscribeCommand, .group = "pubsub", .summary = "Stop listening for messages posted to the given shard channels", .since = "7.0.0", .complexity = "O(N) where N is the number of clients already subscribed to a shard channel."});
  table.Add({.name = "publish", .arity = 3, .flags = kIntrospect | kCmdFast | kCmdMayReplicate, .handler = PublishCommand, .group = "pubsub", .summary = "Post a message to a channel", .since = "2.0.0", .complexity = "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."});
  table.Add({.name = "spublish", .arity = 3, .flags = kIntrospect | kCmdFast | kCmdMayReplicate, .key_specs = {KeyAt(1, kKeyNotKey)}, .handler = SpublishCommand, .group = "pubsub", .summary = "Post a message to a shard channel", .since = "7.0.0", .complexity = "O(N) where N is the number of clients subscribed to the receiving shard channel."});
  table.Add({.name = "pubsub", .arity = -2, .handler = PubSubContainerCommand, .group = "pubsub", .summary = "A container for Pub/Sub commands", .since = "2.8.0", .complexity = "Depends on subcommand."});
  table.AddSubcommand("pubsub", {.name = "channels", .arity = -2, .flags = kIntrospect, .handler = PubSubChannelsCommand, .group = "pubsub", .summary = "List active channels", .since = "2.8.0", .complexity = "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"});
  table.AddSubcommand("pubsub", {.name = "numsub", .arity = -2, .flags = kIntrospect, .handler = PubSubNumSubCommand, .group = "pubsub", .summary = "Get the count of subscribers for channels", .since = "2.8.0", .complexity = "O(N) for the NUMSUB subcommand, where N is the number of requested channels"});
  table.AddSubcommand("pubsub", {.name = "numpat", .arity = 2, .flags = kIntrospect, .handler = PubSubNumPatCommand, .group = "pubsub", .summary = "Get the count of unique patterns pattern subscriptions", .since = "2.8.0", .complexity = "O(1)"});
  table.AddSubcommand("pubsub", {.name = "shardchannels", .arity = -2, .flags = kIntrospect, .handler = PubSubShardChannelsCommand, .group = "pubsub", .summary = "List active shard channels", .since = "7.0.0", .complexity = "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."});
  table.AddSubcommand("pubsub", {.name = "shardnumsub", .arity = -2, .flags = kIntrospect, .handler = PubSubShardNumSubCommand, .group = "pubsub", .summary = "Get the count of subscribers for shard channels", .since = "7.0.0", .complexity = "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"});
  table.AddSubcommand("pubsub", {.name = "help", .arity = 2, .flags = kCmdLoading | kCmdStale, .handler = PubSubHelpCommand, .group = "pubsub", .summary = "Show helpful text about the different subcommands", .since = "6.2.0", .complexity = "O(1)", .acl_categories = "slow"});
  // clang-format on
}

}  // namespace understudy::server

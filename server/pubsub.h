#pragma once

// Publish/subscribe bookkeeping: which client is subscribed to which
// channel, pattern or shard channel, and the fan-out of a published message.
// The command handlers (server/commands/pubsub.cc) reply; this registry only
// keeps the two indexes (client -> names, name -> clients) consistent.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace understudy::server {

class ClientSession;
struct CommandSpec;

// The names one client is subscribed to (of one kind), remembering the
// order of subscription: unsubscribing from all of them replies in that
// order. Redis 7.0 keeps a client's patterns in a list, so PUNSUBSCRIBE
// without arguments lists them in subscription order there too; its
// channel order is hash order, of which subscription order is one instance.
class SubscriptionSet {
 public:
  // Returns false when `name` was already in the set.
  bool Add(std::string_view name);
  // Returns false when `name` was not in the set.
  bool Remove(std::string_view name);
  bool Contains(std::string_view name) const { return order_.find(name) != order_.end(); }
  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }
  // The names, oldest subscription first.
  std::vector<std::string> InOrder() const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint64_t, Hash, std::equal_to<>> order_;
  uint64_t next_ = 0;
};

// Global channels (SUBSCRIBE/PUBLISH) and shard channels (SSUBSCRIBE/
// SPUBLISH) are separate name spaces; patterns apply to global channels only.
enum class ChannelScope : uint8_t { kGlobal = 0, kShard = 1 };

// The server-wide index of subscriptions. Every change goes through here so
// that a client's own SubscriptionSets and the name -> subscribers maps
// always agree.
class PubSubRegistry {
 public:
  // Called once per receiving client, with the message already encoded as
  // a RESP2 array ("*3\r\n$7\r\nmessage..."); a RESP3 client gets the same
  // bytes with '>' (push) as the first byte. It must not subscribe or
  // unsubscribe anyone (the subscriber lists are being walked).
  using Deliver = std::function<void(ClientSession& receiver, std::string_view resp2_message)>;

  // Subscribe/unsubscribe one client; each returns false when there was
  // nothing to do (already subscribed / not subscribed).
  bool SubscribeChannel(ClientSession& client, std::string_view channel, ChannelScope scope);
  bool UnsubscribeChannel(ClientSession& client, std::string_view channel, ChannelScope scope);
  bool SubscribePattern(ClientSession& client, std::string_view pattern);
  bool UnsubscribePattern(ClientSession& client, std::string_view pattern);
  // Drops every subscription of `client`, silently (RESET, disconnection).
  void RemoveClient(ClientSession& client);

  // Sends `message` to the subscribers of `channel` and, for global
  // channels, to every client whose pattern matches it: a "message" (or
  // "smessage") per channel subscriber, then a "pmessage" per matching
  // pattern subscription. Returns the number of deliveries, which counts a
  // client once per way it matched, as Redis's PUBLISH reply does.
  size_t Publish(std::string_view channel, std::string_view message, ChannelScope scope,
                 const Deliver& deliver) const;

  // Number of channels with at least one subscriber (INFO pubsub_channels).
  size_t channel_count(ChannelScope scope) const { return channels_[Index(scope)].size(); }
  // Number of distinct patterns subscribed to (PUBSUB NUMPAT, INFO).
  size_t pattern_count() const { return patterns_.size(); }
  // Clients subscribed to exactly `channel` (PUBSUB NUMSUB: no patterns).
  size_t SubscriberCount(std::string_view channel, ChannelScope scope) const;
  // Active channels, all of them or those matching the glob `pattern`
  // (PUBSUB CHANNELS). Views into the registry: valid until it changes.
  std::vector<std::string_view> Channels(std::optional<std::string_view> pattern,
                                         ChannelScope scope) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Name -> subscribers in subscription order (messages go out in it).
  using SubscriberMap =
      std::unordered_map<std::string, std::vector<ClientSession*>, Hash, std::equal_to<>>;

  static size_t Index(ChannelScope scope) { return static_cast<size_t>(scope); }
  static void AddSubscriber(SubscriberMap& map, std::string_view name, ClientSession* client);
  static void RemoveSubscriber(SubscriberMap& map, std::string_view name, ClientSession* client);

  SubscriberMap channels_[2];
  SubscriberMap patterns_;
};

// True for the commands a RESP2 client may still send once it subscribed:
// (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET.
bool AllowedInSubscribedMode(const CommandSpec& spec);

}  // namespace understudy::server

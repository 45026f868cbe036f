#include "server/pubsub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/glob.h"
#include "server/client_session.h"
#include "server/command_table.h"
#include "server/commands/admin_support.h"
#include "server/server.h"

namespace understudy::server {

// --- SubscriptionSet ---------------------------------------------------------

bool SubscriptionSet::Add(std::string_view name) {
  if (Contains(name)) return false;
  order_.emplace(std::string(name), next_++);
  return true;
}

bool SubscriptionSet::Remove(std::string_view name) {
  auto it = order_.find(name);
  if (it == order_.end()) return false;
  order_.erase(it);
  if (order_.empty()) next_ = 0;
  return true;
}

std::vector<std::string> SubscriptionSet::InOrder() const {
  std::vector<std::pair<uint64_t, const std::string*>> by_age;
  by_age.reserve(order_.size());
  for (const auto& [name, seq] : order_) by_age.emplace_back(seq, &name);
  std::sort(by_age.begin(), by_age.end());
  std::vector<std::string> names;
  names.reserve(by_age.size());
  for (const auto& [seq, name] : by_age) names.push_back(*name);
  return names;
}

// --- PubSubRegistry ----------------------------------------------------------

namespace {

SubscriptionSet& ClientChannels(ClientSession& client, ChannelScope scope) {
  return scope == ChannelScope::kShard ? client.subscribed_shard_channels
                                       : client.subscribed_channels;
}

// Appends a RESP bulk string.
void AppendBulk(std::string* out, std::string_view data) {
  out->push_back('$');
  out->append(std::to_string(data.size()));
  out->append("\r\n");
  out->append(data);
  out->append("\r\n");
}

// "*3 message channel payload" (or "*4 pmessage pattern channel payload")
// in RESP2 form; receivers on RESP3 swap the first byte for '>'.
std::string EncodeMessage(std::string_view kind, std::optional<std::string_view> pattern,
                          std::string_view channel, std::string_view message) {
  std::string out;
  out.reserve(48 + kind.size() + channel.size() + message.size() + (pattern ? pattern->size() : 0));
  out.append(pattern ? "*4\r\n" : "*3\r\n");
  AppendBulk(&out, kind);
  if (pattern) AppendBulk(&out, *pattern);
  AppendBulk(&out, channel);
  AppendBulk(&out, message);
  return out;
}

}  // namespace

void PubSubRegistry::AddSubscriber(SubscriberMap& map, std::string_view name,
                                   ClientSession* client) {
  auto it = map.find(name);
  if (it == map.end()) it = map.emplace(std::string(name), std::vector<ClientSession*>{}).first;
  it->second.push_back(client);
}

void PubSubRegistry::RemoveSubscriber(SubscriberMap& map, std::string_view name,
                                      ClientSession* client) {
  auto it = map.find(name);
  if (it == map.end()) return;
  std::vector<ClientSession*>& subscribers = it->second;
  auto position = std::find(subscribers.begin(), subscribers.end(), client);
  if (position != subscribers.end()) subscribers.erase(position);
  // A name nobody listens to any more goes away, so that subscribing to
  // ever new channels cannot grow the registry without bound.
  if (subscribers.empty()) map.erase(it);
}

bool PubSubRegistry::SubscribeChannel(ClientSession& client, std::string_view channel,
                                      ChannelScope scope) {
  if (!ClientChannels(client, scope).Add(channel)) return false;
  AddSubscriber(channels_[Index(scope)], channel, &client);
  return true;
}

bool PubSubRegistry::UnsubscribeChannel(ClientSession& client, std::string_view channel,
                                        ChannelScope scope) {
  if (!ClientChannels(client, scope).Remove(channel)) return false;
  RemoveSubscriber(channels_[Index(scope)], channel, &client);
  return true;
}

bool PubSubRegistry::SubscribePattern(ClientSession& client, std::string_view pattern) {
  if (!client.subscribed_patterns.Add(pattern)) return false;
  AddSubscriber(patterns_, pattern, &client);
  return true;
}

bool PubSubRegistry::UnsubscribePattern(ClientSession& client, std::string_view pattern) {
  if (!client.subscribed_patterns.Remove(pattern)) return false;
  RemoveSubscriber(patterns_, pattern, &client);
  return true;
}

void PubSubRegistry::RemoveClient(ClientSession& client) {
  for (ChannelScope scope : {ChannelScope::kGlobal, ChannelScope::kShard}) {
    for (const std::string& channel : ClientChannels(client, scope).InOrder()) {
      UnsubscribeChannel(client, channel, scope);
    }
  }
  for (const std::string& pattern : client.subscribed_patterns.InOrder()) {
    UnsubscribePattern(client, pattern);
  }
}

size_t PubSubRegistry::Publish(std::string_view channel, std::string_view message,
                               ChannelScope scope, const Deliver& deliver) const {
  size_t receivers = 0;
  const SubscriberMap& channels = channels_[Index(scope)];
  if (auto it = channels.find(channel); it != channels.end()) {
    const std::string encoded = EncodeMessage(
        scope == ChannelScope::kShard ? "smessage" : "message", std::nullopt, channel, message);
    for (ClientSession* client : it->second) deliver(*client, encoded);
    receivers += it->second.size();
  }
  if (scope == ChannelScope::kShard) return receivers;  // shard channels ignore patterns
  for (const auto& [pattern, subscribers] : patterns_) {
    if (!GlobMatch(pattern, channel)) continue;
    const std::string encoded = EncodeMessage("pmessage", pattern, channel, message);
    for (ClientSession* client : subscribers) deliver(*client, encoded);
    receivers += subscribers.size();
  }
  return receivers;
}

size_t PubSubRegistry::SubscriberCount(std::string_view channel, ChannelScope scope) const {
  const SubscriberMap& channels = channels_[Index(scope)];
  auto it = channels.find(channel);
  return it == channels.end() ? 0 : it->second.size();
}

std::vector<std::string_view> PubSubRegistry::Channels(std::optional<std::string_view> pattern,
                                                       ChannelScope scope) const {
  std::vector<std::string_view> names;
  for (const auto& [name, subscribers] : channels_[Index(scope)]) {
    if (!pattern || GlobMatch(*pattern, name)) names.push_back(name);
  }
  return names;
}

bool AllowedInSubscribedMode(const CommandSpec& spec) {
  if (spec.parent != nullptr) return false;
  static constexpr std::string_view kAllowed[] = {"subscribe",   "psubscribe",   "ssubscribe",
                                                  "unsubscribe", "punsubscribe", "sunsubscribe",
                                                  "ping",        "quit",         "reset"};
  return std::find(std::begin(kAllowed), std::end(kAllowed), spec.name) != std::end(kAllowed);
}

// --- Server: delivery and output buffer limits --------------------------------

size_t Server::Publish(ClientSession& publisher, std::string_view channel, std::string_view message,
                       ChannelScope scope) {
  return pubsub_.Publish(
      channel, message, scope, [&](ClientSession& receiver, std::string_view resp2_message) {
        // Redis writes nothing more to a client it is about to close.
        if (receiver.close_after_reply) return;
        const bool had_pending_output = !receiver.reply.empty();
        receiver.reply.push_back(receiver.resp == protocol::RespVersion::kResp3 ? '>' : '*');
        receiver.reply.append(resp2_message.substr(1));
        // The publisher's own output is checked once its command returns.
        if (&receiver == &publisher) return;
        if (!EnforceOutputBufferLimit(receiver)) return;
        // Output already pending means a write or a wake-up is on its way,
        // which will take this message along; one wake-up per burst keeps
        // a flood of PUBLISHes from queueing a handler per message.
        if (!had_pending_output && receiver.notify_output) receiver.notify_output();
      });
}

bool Server::CheckOutputBufferLimit(ClientSession& client) {
  if (client.close_asap) return false;
  // Redis's client classes, as far as understudy has them: a client with
  // subscriptions is a pubsub client, every other one a normal client.
  const OutputBufferLimit& limit =
      config_.client_output_buffer_limit[client.pubsub_mode() ? kClientPubSub : kClientNormal];
  if (limit.hard_bytes == 0 && limit.soft_bytes == 0) return true;
  const uint64_t pending = client.reply.size() + client.output_in_flight;
  const bool over_hard = limit.hard_bytes > 0 && pending >= limit.hard_bytes;
  bool over_soft = limit.soft_bytes > 0 && pending >= limit.soft_bytes;
  if (over_soft) {
    const int64_t now_ms = clock_->NowMs();
    if (client.output_soft_limit_since_ms == 0) {
      // First time over the soft limit: start counting.
      client.output_soft_limit_since_ms = now_ms;
      over_soft = false;
    } else if (now_ms - client.output_soft_limit_since_ms <= limit.soft_seconds * 1000) {
      over_soft = false;
    }
  } else {
    client.output_soft_limit_since_ms = 0;
  }
  if (!over_hard && !over_soft) return true;

  spdlog::warn("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
               ClientInfoLine(client, clock_->NowMs(),
                              client.last_command ? client.last_command->FullName() : "NULL", 0));
  client.close_asap = true;
  client.close_after_reply = true;  // runs none of its pending requests
  if (client.close_now) client.close_now();
  return false;
}

bool Server::EnforceOutputBufferLimit(ClientSession& client) {
  if (CheckOutputBufferLimit(client)) return true;
  // Drop what the client will never read, now: this memory is the point.
  std::string().swap(client.reply);
  return false;
}

bool CommandContext::OutputLimitReached() { return !server.CheckOutputBufferLimit(client); }

}  // namespace understudy::server

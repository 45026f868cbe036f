// Blocking commands' bookkeeping of Server: which clients wait on which keys,
// and serving them when a key becomes ready (see server/blocking.h for the
// rules, checked against redis-server 7.0.15).
#include "server/blocking.h"

#include <algorithm>
#include <iterator>

#include "server/errors.h"
#include "server/server.h"
#include "storage/zset_value.h"

namespace understudy::server {

using storage::Entry;
using storage::ValueType;

namespace {

// Deletes `key` when its collection became empty; returns true if it did.
bool DeleteIfEmpty(storage::Database& db, std::string_view key, bool is_list, int64_t now_ms) {
  Entry* entry = db.Find(key, now_ms);
  if (entry == nullptr) return false;
  const size_t remaining =
      is_list ? storage::list::Length(entry->value()) : storage::ZSetSize(entry->value());
  if (remaining != 0) return false;
  db.Delete(key, now_ms);
  return true;
}

}  // namespace

bool PopForRequest(Server& server, storage::Database& db, std::string_view key,
                   const BlockedRequest& request, protocol::ReplyWriter& reply, int64_t now_ms) {
  const int64_t max_listpack = server.config().list_max_listpack_size;
  const bool is_list = IsListOp(request.op);
  switch (request.op) {
    case BlockedOp::kListPop: {
      storage::Value& list = db.Find(key, now_ms)->value();
      reply.ArrayHeader(2);
      reply.Bulk(key);
      reply.Bulk(storage::list::Peek(list, request.from));
      storage::list::Drop(list, request.from, max_listpack);
      break;
    }
    case BlockedOp::kListMPop: {
      storage::Value& list = db.Find(key, now_ms)->value();
      const size_t popped =
          std::min(static_cast<size_t>(request.count), storage::list::Length(list));
      reply.ArrayHeader(2);
      reply.Bulk(key);
      reply.ArrayHeader(static_cast<int64_t>(popped));
      for (size_t i = 0; i < popped; ++i) {
        reply.Bulk(storage::list::Peek(list, request.from));
        storage::list::Drop(list, request.from, max_listpack);
      }
      break;
    }
    case BlockedOp::kListMove: {
      // The destination is checked before anything is popped, so a
      // wrong-typed one leaves the source as it was.
      Entry* destination = db.Find(request.target, now_ms);
      if (destination != nullptr && destination->value().type() != ValueType::kList) {
        reply.Error(errors::kWrongType);
        return false;
      }
      std::string element =
          storage::list::Pop(db.Find(key, now_ms)->value(), request.from, max_listpack);
      // Looked up again: the source may be the destination, and creating
      // a key may move entries.
      bool created = false;
      destination = db.FindOrCreate(request.target, now_ms, &created);
      if (created) storage::list::Init(destination->value());
      storage::list::Push(destination->value(), request.to, element, max_listpack);
      reply.Bulk(element);
      server.TouchWatchedKey(db.index(), request.target);
      server.SignalKeyAsReady(db.index(), request.target);
      break;
    }
    case BlockedOp::kZSetPop:
    case BlockedOp::kZSetMPop: {
      const bool from_max = request.from == storage::ListEnd::kTail;
      const bool nested = request.op == BlockedOp::kZSetMPop;
      std::vector<storage::ScoredMember> popped;
      storage::ZSetPop(db.Find(key, now_ms)->value(), from_max,
                       nested ? static_cast<size_t>(request.count) : 1, &popped);
      if (nested) {
        reply.ArrayHeader(2);
        reply.Bulk(key);
        reply.ArrayHeader(static_cast<int64_t>(popped.size()));
        for (const storage::ScoredMember& item : popped) {
          reply.ArrayHeader(2);
          reply.Bulk(item.member);
          reply.Double(item.score);
        }
      } else {
        reply.ArrayHeader(3);
        reply.Bulk(key);
        reply.Bulk(popped.front().member);
        reply.Double(popped.front().score);
      }
      break;
    }
  }
  const bool deleted = DeleteIfEmpty(db, key, is_list, now_ms);
  server.TouchWatchedKey(db.index(), key);
  return deleted;
}

BlockingRegistry::WaitersByKey& BlockingRegistry::WaitersIn(int db_index) {
  if (waiters_.size() <= static_cast<size_t>(db_index)) {
    waiters_.resize(db_index + 1);
    ready_set_.resize(db_index + 1);
  }
  return waiters_[db_index];
}

void BlockingRegistry::Block(ClientSession& client, BlockedRequest request) {
  const uint64_t id = client.id();
  Blocked entry{&client, client.db_index, std::move(request), {}};
  // A key named twice is waited on once (its first position counts).
  std::vector<std::string>& keys = entry.request.keys;
  std::vector<std::string> distinct;
  distinct.reserve(keys.size());
  std::unordered_set<std::string_view> seen;  // views into `keys`, which stays put
  seen.reserve(keys.size());
  for (const std::string& key : keys) {
    if (seen.insert(key).second) distinct.push_back(key);
  }
  keys = std::move(distinct);
  WaitersByKey& waiters = WaitersIn(entry.db_index);
  entry.positions.reserve(keys.size());
  for (const std::string& key : keys) {
    auto it = waiters.find(key);
    if (it == waiters.end()) it = waiters.emplace(key, WaiterList{}).first;
    it->second.push_back(&client);
    entry.positions.push_back(std::prev(it->second.end()));
  }
  const int64_t deadline = entry.request.deadline_ms;
  blocked_.emplace(id, std::move(entry));
  client.blocked = true;
  if (deadline != 0) {
    deadlines_.emplace(deadline, id);
    if (deadline_listener_) deadline_listener_(deadline);
  }
}

void BlockingRegistry::SignalKeyAsReady(int db_index, std::string_view key) {
  if (blocked_.empty()) return;
  WaitersByKey& waiters = WaitersIn(db_index);
  if (waiters.find(key) == waiters.end()) return;
  auto& queued = ready_set_[db_index];
  if (queued.find(key) != queued.end()) return;
  queued.emplace(key);
  ready_keys_.emplace_back(db_index, std::string(key));
}

void BlockingRegistry::SignalKeyIfReady(int db_index, std::string_view key) {
  if (blocked_.empty()) return;
  if (waiters_.size() <= static_cast<size_t>(db_index)) return;
  const WaitersByKey& waiters = waiters_[db_index];
  if (waiters.find(key) == waiters.end()) return;
  const Entry* entry = server_.db(db_index).dict().Find(key);
  if (entry == nullptr) return;
  const ValueType type = entry->value().type();
  if (type != ValueType::kList && type != ValueType::kZSet) return;
  SignalKeyAsReady(db_index, key);
}

void BlockingRegistry::SignalAllKeys(int db_index) {
  if (blocked_.empty() || waiters_.size() <= static_cast<size_t>(db_index)) return;
  std::vector<std::string> keys;
  keys.reserve(waiters_[db_index].size());
  for (const auto& [key, list] : waiters_[db_index]) keys.push_back(key);
  for (const std::string& key : keys) SignalKeyAsReady(db_index, key);
}

void BlockingRegistry::ServeReadyKeys() {
  if (serving_) return;
  serving_ = true;
  // Serving a BLMOVE pushes onto its destination, which may signal more
  // keys; they are handled in a further round, as in Redis.
  while (!ready_keys_.empty()) {
    std::vector<std::pair<int, std::string>> batch;
    batch.swap(ready_keys_);
    for (const auto& [db_index, key] : batch) {
      ready_set_[db_index].erase(key);
      ServeKey(db_index, key);
    }
  }
  serving_ = false;
}

void BlockingRegistry::ServeKey(int db_index, const std::string& key) {
  WaitersByKey& waiters = WaitersIn(db_index);
  auto it = waiters.find(key);
  if (it == waiters.end()) return;
  storage::Database& db = server_.db(db_index);
  const int64_t now_ms = server_.clock().NowMs();
  const Entry* entry = db.Find(key, now_ms);
  if (entry == nullptr) return;
  const ValueType type = entry->value().type();
  if (type != ValueType::kList && type != ValueType::kZSet) return;
  const bool is_list = type == ValueType::kList;
  // Serving removes clients from the list; walk a copy, oldest first.
  const std::vector<ClientSession*> queue(it->second.begin(), it->second.end());
  for (ClientSession* client : queue) {
    auto found = blocked_.find(client->id());
    if (found == blocked_.end()) continue;
    Blocked& blocked = found->second;
    // A client waiting for the other type stays blocked.
    if (IsListOp(blocked.request.op) != is_list) continue;
    protocol::ReplyWriter reply = client->writer();
    const bool deleted = PopForRequest(server_, db, key, blocked.request, reply, now_ms);
    Release(blocked);
    Erase(client->id());
    if (deleted) break;
  }
}

void BlockingRegistry::Release(Blocked& blocked) {
  WaitersByKey& waiters = WaitersIn(blocked.db_index);
  for (size_t i = 0; i < blocked.request.keys.size(); ++i) {
    auto it = waiters.find(blocked.request.keys[i]);
    if (it == waiters.end()) continue;
    it->second.erase(blocked.positions[i]);
    if (it->second.empty()) waiters.erase(it);
  }
  blocked.positions.clear();
  if (blocked.request.deadline_ms != 0) {
    deadlines_.erase({blocked.request.deadline_ms, blocked.client->id()});
  }
  blocked.client->blocked = false;
  if (blocked.client->notify_output) blocked.client->notify_output();
}

void BlockingRegistry::Erase(uint64_t client_id) { blocked_.erase(client_id); }

bool BlockingRegistry::Unblock(uint64_t client_id, bool with_error) {
  auto it = blocked_.find(client_id);
  if (it == blocked_.end()) return false;
  protocol::ReplyWriter reply = it->second.client->writer();
  if (with_error) {
    reply.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
  } else {
    reply.NullArray();
  }
  Release(it->second);
  Erase(client_id);
  return true;
}

void BlockingRegistry::Forget(ClientSession& client) {
  auto it = blocked_.find(client.id());
  if (it == blocked_.end()) return;
  // No reply and no wake-up: the connection is going away.
  client.notify_output = nullptr;
  Release(it->second);
  Erase(client.id());
}

std::optional<int64_t> BlockingRegistry::NextDeadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

size_t BlockingRegistry::ExpireTimedOut(int64_t now_ms) {
  size_t expired = 0;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    const uint64_t id = deadlines_.begin()->second;
    auto it = blocked_.find(id);
    if (it == blocked_.end()) {
      deadlines_.erase(deadlines_.begin());  // defensive: never expected
      continue;
    }
    protocol::ReplyWriter reply = it->second.client->writer();
    reply.NullArray();
    Release(it->second);
    Erase(id);
    ++expired;
  }
  return expired;
}

std::vector<uint64_t> BlockingRegistry::WaitersOf(int db_index, std::string_view key) const {
  std::vector<uint64_t> ids;
  if (waiters_.size() <= static_cast<size_t>(db_index)) return ids;
  auto it = waiters_[db_index].find(key);
  if (it == waiters_[db_index].end()) return ids;
  for (const ClientSession* client : it->second) ids.push_back(client->id());
  return ids;
}

// Server's side of it.

void Server::SignalKeyAsReady(int db_index, std::string_view key) {
  blocking_->SignalKeyAsReady(db_index, key);
}

}  // namespace understudy::server

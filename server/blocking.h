#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "protocol/reply_writer.h"
#include "server/client_session.h"
#include "storage/database.h"
#include "storage/list_value.h"

// The blocking list and sorted-set commands (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE,
// BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP) with Redis 7.0's semantics:
//
// - A client blocks only when every key it names is missing (an empty list or
//   sorted set never exists). Inside MULTI/EXEC it never blocks: the command
//   answers as if it had timed out at once.
// - A write that gives a key elements signals it as ready; once the command
//   that did so (or the whole EXEC) returns, the ready keys are handled in
//   the order they were signalled, and each key serves its waiting clients
//   in the order they blocked, for as long as it has elements. A BLMOVE that
//   is served pushes onto its destination, which may serve further clients
//   in the same round ("chains").
// - On timeout (or CLIENT UNBLOCK ... TIMEOUT) every one of these commands
//   replies a null array, BLMOVE and BRPOPLPUSH included, as Redis 7.0 does.
namespace understudy::server {

class Server;

// What a blocked client waits to do once one of its keys has elements.
enum class BlockedOp : uint8_t {
  kListPop,   // BLPOP, BRPOP: [key, element]
  kListMPop,  // BLMPOP: [key, [element, ...]]
  kListMove,  // BLMOVE, BRPOPLPUSH: element, also pushed onto `target`
  kZSetPop,   // BZPOPMIN, BZPOPMAX: [key, member, score]
  kZSetMPop,  // BZMPOP: [key, [[member, score], ...]]
};

inline bool IsListOp(BlockedOp op) {
  return op == BlockedOp::kListPop || op == BlockedOp::kListMPop || op == BlockedOp::kListMove;
}

// One blocking request, parsed; also describes the immediate (non-blocking)
// pop the command does when a key already has elements.
struct BlockedRequest {
  BlockedOp op = BlockedOp::kListPop;
  // The end popped: kTail is RIGHT for lists and MAX for sorted sets.
  storage::ListEnd from = storage::ListEnd::kHead;
  // BLMOVE: the end of `target` pushed onto.
  storage::ListEnd to = storage::ListEnd::kHead;
  int64_t count = 1;        // BLMPOP/BZMPOP: at most this many elements
  std::string target;       // BLMOVE/BRPOPLPUSH destination
  int64_t deadline_ms = 0;  // absolute Unix ms; 0 = wait forever
  std::vector<std::string> keys;
};

// Pops what `request` asks for from `key` of `db`, which must hold a
// non-empty list (list ops) or sorted set (zset ops), writes the reply with
// `reply` and reports the changes to `server` (WATCH, ready keys). A BLMOVE
// whose destination holds another type replies WRONGTYPE and pops nothing.
// Deletes the key once it is empty; returns true in that case.
bool PopForRequest(Server& server, storage::Database& db, std::string_view key,
                   const BlockedRequest& request, protocol::ReplyWriter& reply, int64_t now_ms);

// The registry of blocked clients: which clients wait on which keys (per
// database, first come first served), their deadlines, and the keys
// signalled as ready since they were last handled. Owned by Server; all of
// it runs on the event-loop thread.
class BlockingRegistry {
 public:
  explicit BlockingRegistry(Server& server) : server_(server) {}
  BlockingRegistry(const BlockingRegistry&) = delete;
  BlockingRegistry& operator=(const BlockingRegistry&) = delete;

  // Parks `client` (whose current command is running) until one of
  // request.keys in its current database can serve it, its deadline passes,
  // CLIENT UNBLOCK or disconnection. Sets client.blocked; the connection
  // then runs none of its further requests until it is cleared.
  void Block(ClientSession& client, BlockedRequest request);

  // Queues `key` for handling when some client waits on it (Redis's
  // signalKeyAsReady; it is not checked for elements until handled).
  void SignalKeyAsReady(int db_index, std::string_view key);
  // As SignalKeyAsReady, but only when `key` now holds a list or sorted set:
  // called for every modified key, so that RENAME, MOVE, COPY, RESTORE...
  // wake clients like a push does, while writes that leave the key empty or
  // of another type do not queue it.
  void SignalKeyIfReady(int db_index, std::string_view key);
  // Queues every key that clients wait on in the database (SWAPDB).
  void SignalAllKeys(int db_index);

  bool has_ready_keys() const { return !ready_keys_.empty(); }
  // Serves the clients waiting on the ready keys, in signal order, until no
  // key is ready (Redis's handleClientsBlockedOnKeys). Called after each
  // top-level command; does nothing while already running.
  void ServeReadyKeys();

  // CLIENT UNBLOCK: replies to the blocked client as on timeout, or with
  // "-UNBLOCKED ...". False when `client_id` is not blocked.
  bool Unblock(uint64_t client_id, bool with_error);
  // Forgets a client that is going away (disconnection), without replying.
  void Forget(ClientSession& client);

  // The earliest deadline of a blocked client, if any has one.
  std::optional<int64_t> NextDeadline() const;
  // Replies a null array to every client whose deadline is at or before
  // `now_ms` and unblocks it. Returns how many timed out.
  size_t ExpireTimedOut(int64_t now_ms);
  // Told every new deadline (the network arms a timer for the earliest).
  void set_deadline_listener(std::function<void(int64_t deadline_ms)> listener) {
    deadline_listener_ = std::move(listener);
  }

  size_t blocked_count() const { return blocked_.size(); }
  // Blocked clients that have a deadline (INFO clients_in_timeout_table).
  size_t timeout_count() const { return deadlines_.size(); }
  bool IsBlocked(uint64_t client_id) const { return blocked_.contains(client_id); }
  // Waiting clients of `key` in database `db_index`, in serving order.
  std::vector<uint64_t> WaitersOf(int db_index, std::string_view key) const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using WaiterList = std::list<ClientSession*>;
  using WaitersByKey = std::unordered_map<std::string, WaiterList, StringHash, std::equal_to<>>;

  // A blocked client: its request and where it is registered.
  struct Blocked {
    ClientSession* client;
    int db_index;
    BlockedRequest request;
    // One per distinct key, parallel to request.keys after deduplication.
    std::vector<WaiterList::iterator> positions;
  };

  WaitersByKey& WaitersIn(int db_index);
  // Serves the clients waiting on one ready key.
  void ServeKey(int db_index, const std::string& key);
  // Drops the client's registrations and lets its connection go on.
  void Release(Blocked& blocked);
  // Removes the registry entry of `client_id` after Release.
  void Erase(uint64_t client_id);

  Server& server_;
  std::unordered_map<uint64_t, Blocked> blocked_;     // by client id
  std::vector<WaitersByKey> waiters_;                 // by database index
  std::set<std::pair<int64_t, uint64_t>> deadlines_;  // (deadline, client id)
  // Ready keys in signal order, and the same as a set per database so a
  // key is queued once until handled.
  std::vector<std::pair<int, std::string>> ready_keys_;
  std::vector<std::unordered_set<std::string, StringHash, std::equal_to<>>> ready_set_;
  std::function<void(int64_t)> deadline_listener_;
  bool serving_ = false;
};

}  // namespace understudy::server

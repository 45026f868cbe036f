// WATCH bookkeeping of Server: which clients watch which keys, and marking
// their transactions dirty when a watched key changes or expires.
//
// The rules follow Redis 7.0 (checked against redis-server 7.0.15):
// - Any modification of a watched key by any client, the watcher included,
//   makes the watcher's next EXEC fail; so does deletion by expiry, lazy or
//   active, and a key that expires while watched (checked again at EXEC).
// - A key that was already expired when WATCHed is logically absent: its
//   deletion by expiry or by FLUSH* is no change, and its still being expired
//   at EXEC is no change either. Once deleted it is an ordinary absent key.
// - FLUSHDB/FLUSHALL/SWAPDB invalidate only watched keys that exist (even
//   if expired) in the emptied database or, for SWAPDB, in the one swapped
//   in; watching an absent key survives a flush of an empty database.
#include <algorithm>

#include "server/blocking.h"
#include "server/server.h"

namespace understudy::server {
namespace {

// True when `key` is present (live or not yet reclaimed) and past its deadline.
bool KeyIsExpired(storage::Database& database, std::string_view key, int64_t now_ms) {
  const storage::Entry* entry = database.dict().Find(key);
  return entry != nullptr && !database.IsLive(entry, now_ms);
}

}  // namespace

Server::WatcherMap* Server::WatchersOf(int db_index) {
  if (db_index < 0 || static_cast<size_t>(db_index) >= watched_keys_.size()) return nullptr;
  return &watched_keys_[db_index];
}

void Server::Watch(ClientSession& client, std::string_view key, int64_t now_ms) {
  if (watched_keys_.size() < databases_.size()) watched_keys_.resize(databases_.size());
  WatcherMap& watchers_by_key = watched_keys_[client.db_index];
  auto it = watchers_by_key.find(key);
  if (it == watchers_by_key.end()) {
    it = watchers_by_key.emplace(std::string(key), std::vector<Watcher>{}).first;
  } else {
    // Few clients watch the same key, so this check is cheaper than
    // scanning the client's own (possibly long) list.
    for (const Watcher& watcher : it->second) {
      if (watcher.client == &client) return;  // already watched
    }
  }
  bool expired = KeyIsExpired(db(client.db_index), key, now_ms);
  it->second.push_back(Watcher{&client, client.watched.size()});
  client.watched.push_back(WatchedKey{client.db_index, std::string(key), expired});
}

void Server::Unwatch(ClientSession& client) {
  for (const WatchedKey& watched : client.watched) {
    WatcherMap* watchers_by_key = WatchersOf(watched.db_index);
    if (watchers_by_key == nullptr) continue;
    auto it = watchers_by_key->find(watched.key);
    if (it == watchers_by_key->end()) continue;
    std::vector<Watcher>& watchers = it->second;
    std::erase_if(watchers, [&client](const Watcher& w) { return w.client == &client; });
    if (watchers.empty()) watchers_by_key->erase(it);
  }
  client.watched.clear();
  client.watch_dirty = false;
}

void Server::DiscardTransaction(ClientSession& client) {
  client.in_multi = false;
  client.multi_error = false;
  client.queued.clear();
  client.queued.shrink_to_fit();  // a long transaction should not pin memory
  Unwatch(client);
}

void Server::TouchWatchedKey(int db_index, std::string_view key) {
  // Every modification also wakes clients blocked on the key if it now has
  // elements (RENAME, MOVE, COPY, RESTORE... as well as pushes).
  blocking_->SignalKeyIfReady(db_index, key);
  WatcherMap* watchers_by_key = WatchersOf(db_index);
  if (watchers_by_key == nullptr || watchers_by_key->empty()) return;
  auto it = watchers_by_key->find(key);
  if (it == watchers_by_key->end()) return;
  storage::Database& database = db(db_index);
  for (const Watcher& watcher : it->second) {
    WatchedKey& watched = watcher.client->watched[watcher.slot];
    if (watched.expired_when_watched) {
      // Modifying a key first reclaims it if it had expired, which reports
      // the deletion (clearing this flag); so a flagged key is normally
      // gone. If it is somehow still present and still expired, it stays
      // logically absent: no change.
      const storage::Entry* entry = database.dict().Find(key);
      if (entry == nullptr) {
        watched.expired_when_watched = false;
        continue;
      }
      if (!database.IsLive(entry, clock_->NowMs())) continue;
    }
    watcher.client->watch_dirty = true;
  }
}

void Server::TouchExpiredWatchedKey(int db_index, std::string_view key) {
  WatcherMap* watchers_by_key = WatchersOf(db_index);
  if (watchers_by_key == nullptr || watchers_by_key->empty()) return;
  auto it = watchers_by_key->find(key);
  if (it == watchers_by_key->end()) return;
  for (const Watcher& watcher : it->second) {
    WatchedKey& watched = watcher.client->watched[watcher.slot];
    if (watched.expired_when_watched) {
      // It was already logically absent; now it is physically absent too.
      watched.expired_when_watched = false;
      continue;
    }
    watcher.client->watch_dirty = true;
  }
}

void Server::TouchAllWatchedKeys(int emptied_db, int replaced_with_db) {
  WatcherMap* watchers_by_key = WatchersOf(emptied_db);
  if (watchers_by_key == nullptr || watchers_by_key->empty()) return;
  storage::Database& emptied = db(emptied_db);
  storage::Database* replacement = replaced_with_db >= 0 ? &db(replaced_with_db) : nullptr;
  const int64_t now_ms = clock_->NowMs();
  for (auto& [key, watchers] : *watchers_by_key) {
    const bool in_emptied = emptied.dict().Find(key) != nullptr;
    const bool in_replacement = replacement != nullptr && replacement->dict().Find(key) != nullptr;
    if (!in_emptied && !in_replacement) continue;
    const bool replacement_expired = in_replacement && KeyIsExpired(*replacement, key, now_ms);
    for (const Watcher& watcher : watchers) {
      WatchedKey& watched = watcher.client->watched[watcher.slot];
      if (watched.expired_when_watched) {
        if (!in_replacement) {
          // The expired key is simply gone now: no logical change.
          watched.expired_when_watched = false;
          continue;
        }
        if (replacement_expired) continue;  // absent before, absent after
      } else if (!in_emptied && replacement_expired) {
        // An absent key is replaced by an expired one: still absent, but
        // now it is an expired key like one watched after expiring.
        watched.expired_when_watched = true;
        continue;
      }
      watcher.client->watch_dirty = true;
    }
  }
}

bool Server::WatchedKeyExpired(const ClientSession& client, int64_t now_ms) {
  for (const WatchedKey& watched : client.watched) {
    if (watched.expired_when_watched) continue;
    if (KeyIsExpired(db(watched.db_index), watched.key, now_ms)) return true;
  }
  return false;
}

}  // namespace understudy::server

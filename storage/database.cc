#include "storage/database.h"

#include <string>

namespace understudy::storage {

Database::~Database() = default;

void Database::TrackVolatile(Entry* entry) {
  entry->volatile_slot_ = static_cast<uint32_t>(volatile_.size());
  volatile_.push_back(entry);
}

void Database::UntrackVolatile(Entry* entry) {
  uint32_t slot = entry->volatile_slot_;
  Entry* last = volatile_.back();
  volatile_[slot] = last;
  last->volatile_slot_ = slot;
  volatile_.pop_back();
}

void Database::SetExpire(Entry* entry, int64_t deadline_ms) {
  if (entry->expire_at_ms_ == kNoExpire) TrackVolatile(entry);
  entry->expire_at_ms_ = deadline_ms;
}

void Database::ClearExpire(Entry* entry) {
  if (entry->expire_at_ms_ == kNoExpire) return;
  UntrackVolatile(entry);
  entry->expire_at_ms_ = kNoExpire;
}

void Database::ExpireNow(Entry* entry) {
  // The key's bytes live in the entry: copy them before freeing it so the
  // listener sees the name.
  std::string key(entry->key());
  UntrackVolatile(entry);
  entry->expire_at_ms_ = kNoExpire;
  dict_.Erase(key);
  ++stats_.expired_keys;
  if (observer_ != nullptr) observer_->OnKeyRemoved(index_, key);
  if (listener_ != nullptr) listener_->OnKeyExpired(index_, key);
}

Entry* Database::Find(std::string_view key, int64_t now_ms) {
  Entry* e = dict_.Find(key);
  if (e == nullptr) return nullptr;
  if (!IsLive(e, now_ms)) {
    ExpireNow(e);
    return nullptr;
  }
  return e;
}

Entry* Database::FindOrCreate(std::string_view key, int64_t now_ms, bool* created) {
  Entry* e = dict_.FindOrInsert(key, created);
  if (!*created && !IsLive(e, now_ms)) {
    // Reuse the entry as a fresh key; the old one counts as expired.
    UntrackVolatile(e);
    e->expire_at_ms_ = kNoExpire;
    e->value_.SetString({});
    ++stats_.expired_keys;
    if (listener_ != nullptr) listener_->OnKeyExpired(index_, key);
    // The same key leaves and comes back: no change for the observer.
    *created = true;
  } else if (*created && observer_ != nullptr) {
    observer_->OnKeyAdded(index_, key);
  }
  return e;
}

bool Database::Delete(std::string_view key, int64_t now_ms) {
  Entry* e = dict_.Unlink(key);
  if (e == nullptr) return false;
  bool live = IsLive(e, now_ms);
  if (e->expire_at_ms_ != kNoExpire) UntrackVolatile(e);
  if (!live) {
    ++stats_.expired_keys;
    // Before freeing: `key` may be a view of the entry's own bytes.
    if (listener_ != nullptr) listener_->OnKeyExpired(index_, key);
  }
  if (observer_ != nullptr) observer_->OnKeyRemoved(index_, key);
  Dict::FreeEntry(e);
  return live;
}

bool Database::Detach(std::string_view key, int64_t now_ms, Detached* out) {
  Entry* e = Find(key, now_ms);
  if (e == nullptr) return false;
  out->value = std::move(e->value_);
  out->expire_at_ms = e->expire_at_ms_;
  if (e->expire_at_ms_ != kNoExpire) UntrackVolatile(e);
  // `key` may view the entry's own bytes: tell the observer before freeing.
  if (observer_ != nullptr) observer_->OnKeyRemoved(index_, key);
  dict_.Erase(key);
  return true;
}

Entry* Database::Attach(std::string_view key, Detached&& item) {
  bool created = false;
  Entry* e = dict_.FindOrInsert(key, &created);
  if (created && observer_ != nullptr) observer_->OnKeyAdded(index_, key);
  e->value_ = std::move(item.value);
  if (item.expire_at_ms == kNoExpire) {
    ClearExpire(e);
  } else {
    SetExpire(e, item.expire_at_ms);
  }
  return e;
}

void Database::Clear() {
  volatile_.clear();
  volatile_.shrink_to_fit();
  dict_.Clear();
  if (observer_ != nullptr) observer_->OnCleared(index_);
}

void Database::Swap(Database& other) {
  std::swap(volatile_, other.volatile_);
  dict_.Swap(other.dict_);
  if (observer_ != nullptr) observer_->OnSwapped(index_, other.index_);
}

size_t Database::ActiveExpire(int64_t now_ms, size_t max_samples) {
  size_t expired = 0;
  for (size_t i = 0; i < max_samples && !volatile_.empty(); ++i) {
    Entry* e = volatile_[rng_() % volatile_.size()];
    if (!IsLive(e, now_ms)) {
      ExpireNow(e);
      ++expired;
    }
  }
  return expired;
}

void Database::Housekeep() {
  dict_.ShrinkIfSparse();
  dict_.Rehash(100);
}

Entry* Database::RandomKey(int64_t now_ms) {
  // Like Redis on a primary, keep drawing until a live key turns up: each
  // expired draw deletes that key, so this ends within size() + 1 draws.
  while (dict_.size() > 0) {
    Entry* e = dict_.RandomEntry(rng_);
    if (IsLive(e, now_ms)) return e;
    ExpireNow(e);
  }
  return nullptr;
}

int64_t Database::AverageTtlMs(int64_t now_ms) const {
  if (volatile_.empty()) return 0;
  // Sample, as Redis's avg_ttl is an estimate too.
  size_t step = volatile_.size() / 64 + 1;
  int64_t total = 0;
  int64_t count = 0;
  for (size_t i = 0; i < volatile_.size(); i += step) {
    int64_t ttl = volatile_[i]->expire_at_ms_ - now_ms;
    if (ttl > 0) {
      total += ttl;
      ++count;
    }
  }
  return count ? total / count : 0;
}

}  // namespace understudy::storage

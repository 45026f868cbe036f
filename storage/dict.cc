#include "storage/dict.h"

#include <xxhash.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>

namespace understudy::storage {
namespace {

Entry** AllocateBuckets(size_t count) {
  auto* buckets = static_cast<Entry**>(std::calloc(count, sizeof(Entry*)));
  if (buckets == nullptr) throw std::bad_alloc();
  return buckets;
}

uint64_t ReverseBits(uint64_t v) {
  v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
  v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
  return __builtin_bswap64(v);
}

// The next cursor value of a reverse-binary scan: increments the bits that
// `mask` covers, starting from the most significant one.
uint64_t NextCursor(uint64_t cursor, uint64_t mask) {
  cursor |= ~mask;
  cursor = ReverseBits(cursor);
  ++cursor;
  return ReverseBits(cursor);
}

// One random seed per process, as Redis has: a table's layout cannot be
// predicted from outside, and creating a table (one per large hash or set)
// costs no system call.
uint64_t ProcessHashSeed() {
  static const uint64_t seed =
      std::random_device{}() | (static_cast<uint64_t>(std::random_device{}()) << 32);
  return seed;
}

}  // namespace

Dict::Dict() : seed_(ProcessHashSeed()) {}

Dict::~Dict() { Clear(); }

uint64_t Dict::Hash(std::string_view key) const {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed_);
}

void Dict::FreeEntry(Entry* entry) {
  entry->~Entry();
  std::free(entry);
}

void Dict::Clear() {
  for (int t = 0; t < 2; ++t) {
    if (buckets_[t] == nullptr) continue;
    for (size_t i = 0; i <= mask_[t]; ++i) {
      Entry* e = buckets_[t][i];
      while (e != nullptr) {
        Entry* next = e->next_;
        FreeEntry(e);
        e = next;
      }
    }
    std::free(buckets_[t]);
    buckets_[t] = nullptr;
    mask_[t] = 0;
    used_[t] = 0;
  }
  rehash_index_ = -1;
}

void Dict::Swap(Dict& other) noexcept {
  std::swap(buckets_, other.buckets_);
  std::swap(mask_, other.mask_);
  std::swap(used_, other.used_);
  std::swap(rehash_index_, other.rehash_index_);
  std::swap(seed_, other.seed_);
}

Entry* Dict::FindWithHash(std::string_view key, uint64_t hash) {
  for (int t = 0; t < 2; ++t) {
    if (buckets_[t] == nullptr) continue;
    for (Entry* e = buckets_[t][hash & mask_[t]]; e != nullptr; e = e->next_) {
      if (e->key_len_ == key.size() && std::memcmp(e + 1, key.data(), key.size()) == 0) return e;
    }
    if (rehash_index_ < 0) break;
  }
  return nullptr;
}

Entry* Dict::Find(std::string_view key) {
  if (size() == 0) return nullptr;
  RehashStepIfNeeded();
  return FindWithHash(key, Hash(key));
}

Entry* Dict::NewEntryAt(std::string_view key, uint64_t hash) {
  void* memory = std::malloc(sizeof(Entry) + key.size());
  if (memory == nullptr) throw std::bad_alloc();
  auto* entry = new (memory) Entry(static_cast<uint32_t>(key.size()));
  std::memcpy(reinterpret_cast<char*>(entry + 1), key.data(), key.size());
  // While rehashing, new keys go to the new table so the old one only drains.
  int t = rehash_index_ >= 0 ? 1 : 0;
  Entry** slot = &buckets_[t][hash & mask_[t]];
  entry->next_ = *slot;
  *slot = entry;
  ++used_[t];
  return entry;
}

Entry* Dict::Insert(std::string_view key) {
  RehashStepIfNeeded();
  ExpandIfNeeded();
  return NewEntryAt(key, Hash(key));
}

Entry* Dict::FindOrInsert(std::string_view key, bool* inserted) {
  RehashStepIfNeeded();
  uint64_t hash = Hash(key);
  if (Entry* found = size() ? FindWithHash(key, hash) : nullptr) {
    *inserted = false;
    return found;
  }
  *inserted = true;
  ExpandIfNeeded();
  return NewEntryAt(key, hash);
}

Entry* Dict::Unlink(std::string_view key) {
  if (size() == 0) return nullptr;
  RehashStepIfNeeded();
  uint64_t hash = Hash(key);
  for (int t = 0; t < 2; ++t) {
    if (buckets_[t] == nullptr) continue;
    Entry** link = &buckets_[t][hash & mask_[t]];
    while (*link != nullptr) {
      Entry* e = *link;
      if (e->key_len_ == key.size() && std::memcmp(e + 1, key.data(), key.size()) == 0) {
        *link = e->next_;
        e->next_ = nullptr;
        --used_[t];
        FinishRehashIfDone();
        return e;
      }
      link = &e->next_;
    }
    if (rehash_index_ < 0) break;
  }
  return nullptr;
}

bool Dict::Erase(std::string_view key) {
  Entry* e = Unlink(key);
  if (e == nullptr) return false;
  FreeEntry(e);
  return true;
}

void Dict::ExpandIfNeeded() {
  if (rehash_index_ >= 0) return;
  if (buckets_[0] == nullptr) {
    buckets_[0] = AllocateBuckets(size_t{1} << kInitialExponent);
    mask_[0] = (size_t{1} << kInitialExponent) - 1;
    return;
  }
  // Load factor 1, as Redis when no child process is saving.
  if (used_[0] >= mask_[0] + 1) ResizeTo(used_[0] + 1);
}

void Dict::ShrinkIfSparse() {
  if (rehash_index_ >= 0 || buckets_[0] == nullptr) return;
  size_t buckets = mask_[0] + 1;
  if (buckets > (size_t{1} << kInitialExponent) && used_[0] * 100 / buckets < 10) {
    ResizeTo(used_[0]);
  }
}

void Dict::ResizeTo(size_t min_size) {
  size_t size = size_t{1} << kInitialExponent;
  while (size < min_size) size <<= 1;
  if (size == mask_[0] + 1) return;
  buckets_[1] = AllocateBuckets(size);
  mask_[1] = size - 1;
  used_[1] = 0;
  rehash_index_ = 0;
}

bool Dict::Rehash(int steps) {
  if (rehash_index_ < 0) return false;
  // Visiting empty buckets is cheap but not free: bound them too.
  int empty_visits = steps * 10;
  while (steps-- > 0 && used_[0] != 0) {
    while (buckets_[0][rehash_index_] == nullptr) {
      ++rehash_index_;
      if (--empty_visits == 0) return true;
    }
    Entry* e = buckets_[0][rehash_index_];
    while (e != nullptr) {
      Entry* next = e->next_;
      Entry** slot = &buckets_[1][Hash(e->key()) & mask_[1]];
      e->next_ = *slot;
      *slot = e;
      --used_[0];
      ++used_[1];
      e = next;
    }
    buckets_[0][rehash_index_] = nullptr;
    ++rehash_index_;
  }
  FinishRehashIfDone();
  return rehash_index_ >= 0;
}

void Dict::FinishRehashIfDone() {
  if (rehash_index_ < 0 || used_[0] != 0) return;
  std::free(buckets_[0]);
  buckets_[0] = buckets_[1];
  mask_[0] = mask_[1];
  used_[0] = used_[1];
  buckets_[1] = nullptr;
  mask_[1] = 0;
  used_[1] = 0;
  rehash_index_ = -1;
}

uint64_t Dict::Scan(uint64_t cursor, const std::function<void(Entry*)>& visit) const {
  if (size() == 0 || buckets_[0] == nullptr) return 0;
  auto visit_bucket = [&](int t, uint64_t index) {
    for (Entry* e = buckets_[t][index & mask_[t]]; e != nullptr;) {
      Entry* next = e->next_;
      visit(e);
      e = next;
    }
  };
  if (rehash_index_ < 0) {
    visit_bucket(0, cursor);
    return NextCursor(cursor, mask_[0]);
  }
  // Rehashing: visit the small table's bucket, then every bucket of the
  // large table that expands from it.
  int small = mask_[0] <= mask_[1] ? 0 : 1;
  int large = 1 - small;
  uint64_t small_mask = mask_[small];
  uint64_t large_mask = mask_[large];
  visit_bucket(small, cursor);
  do {
    visit_bucket(large, cursor);
    cursor = NextCursor(cursor, large_mask);
  } while (cursor & (small_mask ^ large_mask));
  return cursor;
}

Entry* Dict::RandomEntry(std::mt19937_64& rng) {
  if (size() == 0) return nullptr;
  RehashStepIfNeeded();
  Entry* chain = nullptr;
  // Buckets are at least 10% full outside transient states, so this ends fast.
  while (chain == nullptr) {
    if (rehash_index_ >= 0) {
      // Old-table buckets below rehash_index_ are empty: skip them.
      size_t total = BucketCount(0) + BucketCount(1) - rehash_index_;
      size_t pick = rehash_index_ + rng() % total;
      chain = pick < BucketCount(0) ? buckets_[0][pick] : buckets_[1][pick - BucketCount(0)];
    } else {
      chain = buckets_[0][rng() & mask_[0]];
    }
  }
  size_t length = 0;
  for (Entry* e = chain; e != nullptr; e = e->next_) ++length;
  size_t index = rng() % length;
  while (index-- > 0) chain = chain->next_;
  return chain;
}

size_t Dict::MemoryUsage() const {
  size_t bytes = (BucketCount(0) + BucketCount(1)) * sizeof(Entry*);
  // Entries: header plus key, rounded up to malloc's 16-byte granularity.
  bytes += size() * (sizeof(Entry) + 16);
  return bytes;
}

}  // namespace understudy::storage

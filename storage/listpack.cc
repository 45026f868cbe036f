#include "storage/listpack.h"

#include <malloc.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace understudy::storage {
namespace {

// Listpacks smaller than this never get a front gap: moving a few hundred
// bytes costs about what the gap's bookkeeping does, and small hashes, sets
// and sorted sets stay exactly sized.
constexpr uint32_t kMinGapListpackBytes = 256;
// The gap stores its own length in its last bytes, so it is never smaller.
constexpr uint32_t kGapLengthBytes = sizeof(uint32_t);

// A coarse size class of a byte count, four steps per power of two. After an
// erasure, the allocator is asked for the block's size (an allocator lookup
// that costs as much as the rest of an RPOP's erasure) only when bytes()
// moved to another step; between steps the buffer can have shrunk by at
// most a quarter, so the "give memory back at half full" rule below slips
// to at most 2.5x.
uint32_t SizeStep(uint32_t bytes) {
  if (bytes < 8) return bytes;
  const int width = std::bit_width(bytes);
  return (static_cast<uint32_t>(width) << 2) | ((bytes >> (width - 3)) & 3);
}

// Forward varint: 7 bits per byte, low bits first, high bit = more follows.
uint32_t VarintSize(uint64_t v) {
  uint32_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* WriteVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

uint64_t ReadVarint(const char* p, uint32_t* length) {
  uint64_t v = 0;
  uint32_t shift = 0;
  uint32_t n = 0;
  while (true) {
    uint8_t b = static_cast<uint8_t>(p[n++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
    shift += 7;
  }
  *length = n;
  return v;
}

// Backward varint: the byte nearest the end holds the low 7 bits; its high
// bit says another byte precedes it. Occupies VarintSize(v) bytes.
char* WriteBackVarint(char* p, uint64_t v) {
  uint32_t n = VarintSize(v);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t b = static_cast<uint8_t>(v & 0x7f);
    v >>= 7;
    if (i + 1 < n) b |= 0x80;
    p[n - 1 - i] = static_cast<char>(b);
  }
  return p + n;
}

// Reads the backward varint that ends just before `end`.
uint64_t ReadBackVarint(const char* end, uint32_t* length) {
  uint64_t v = 0;
  uint32_t shift = 0;
  uint32_t n = 0;
  while (true) {
    uint8_t b = static_cast<uint8_t>(*(end - 1 - n));
    ++n;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
    shift += 7;
  }
  *length = n;
  return v;
}

// Total bytes an element of `length` payload bytes occupies.
uint32_t EncodedSize(size_t length) {
  uint32_t front = VarintSize(length) + static_cast<uint32_t>(length);
  return front + VarintSize(front);
}

char* WriteElement(char* p, std::string_view value) {
  char* start = p;
  p = WriteVarint(p, value.size());
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  return WriteBackVarint(p, static_cast<uint64_t>(p - start));
}

// The size to grow a buffer to when it must hold `needed` bytes: a quarter
// more, so appends are amortised O(1), but never past the next power of
// two. Quicklist nodes fill up to a power-of-two byte budget (8 KiB by
// default), and a block grown past it would stay a fifth empty for good.
// Small buffers stay tight: most collections stay small.
size_t GrowthTarget(size_t needed) {
  if (needed < 64) return needed;
  return std::min(needed + needed / 4, std::bit_ceil(needed));
}

}  // namespace

Listpack::~Listpack() { std::free(base()); }

Listpack::Listpack(Listpack&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      count_(std::exchange(other.count_, 0)) {}

Listpack& Listpack::operator=(Listpack&& other) noexcept {
  if (this != &other) {
    std::free(base());
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    count_ = std::exchange(other.count_, 0);
  }
  return *this;
}

Listpack Listpack::Clone() const {
  Listpack copy;
  if (bytes_ > 0) {
    copy.Reserve(bytes_);
    std::memcpy(copy.data_, data_, bytes_);
  }
  copy.bytes_ = bytes_;
  copy.count_ = size();  // the copy has no front gap
  return copy;
}

size_t Listpack::MemoryUsage() const { return data_ ? malloc_usable_size(base()) : 0; }

uint32_t Listpack::front_gap() const {
  if ((count_ & kFrontGapFlag) == 0) return 0;
  uint32_t gap;
  std::memcpy(&gap, data_ - kGapLengthBytes, sizeof(gap));
  return gap;
}

void Listpack::set_front_gap(uint32_t gap) {
  if (gap == 0) {
    count_ &= kCountMask;
    return;
  }
  std::memcpy(data_ - kGapLengthBytes, &gap, sizeof(gap));
  count_ |= kFrontGapFlag;
}

bool Listpack::Relocate(size_t capacity, uint32_t front_gap) {
  char* block = static_cast<char*>(std::malloc(front_gap + capacity));
  if (block == nullptr) return false;
  if (bytes_ > 0) std::memcpy(block + front_gap, data_, bytes_);
  std::free(base());
  data_ = block + front_gap;
  set_front_gap(front_gap);
  return true;
}

uint32_t Listpack::GrowAtFront(uint32_t size) {
  // The same target as Reserve's growth at the back, so a node pushed at
  // the head goes through the same allocation sizes as one pushed at the
  // tail; all of the block's slack goes in front, so a node that fills up
  // (quicklist nodes stop at a byte budget) ends up using all of it.
  const size_t needed = static_cast<size_t>(bytes_) + size;
  char* const start = base();
  const size_t usable = malloc_usable_size(start);
  if (usable - bytes_ >= size + needed / 8) {
    // Room enough at the back (a node that was pushed at the tail): move
    // the elements there once rather than allocate more.
    const size_t gap = usable - bytes_;
    std::memmove(start + gap, data_, bytes_);
    data_ = start + gap;
    set_front_gap(static_cast<uint32_t>(gap));
    return static_cast<uint32_t>(gap);
  }
  const size_t target = GrowthTarget(needed);
  char* block = static_cast<char*>(std::malloc(target));
  if (block == nullptr) throw std::bad_alloc();
  const size_t gap = malloc_usable_size(block) - bytes_;
  std::memcpy(block + gap, data_, bytes_);
  std::free(base());
  data_ = block + gap;
  set_front_gap(static_cast<uint32_t>(gap));
  return static_cast<uint32_t>(gap);
}

void Listpack::Reserve(size_t needed) {
  const uint32_t gap = front_gap();
  const size_t usable = data_ ? malloc_usable_size(data_ - gap) : 0;
  if (needed + gap <= usable) return;
  if (gap > 0 && needed <= usable) {
    // Closing the gap makes enough room.
    char* start = data_ - gap;
    std::memmove(start, data_, bytes_);
    data_ = start;
    set_front_gap(0);
    return;
  }
  const size_t target = GrowthTarget(needed);
  if (gap > 0) {
    if (!Relocate(target, 0)) throw std::bad_alloc();
    return;
  }
  void* grown = std::realloc(data_, target);
  if (grown == nullptr) throw std::bad_alloc();
  data_ = static_cast<char*>(grown);
}

std::string_view Listpack::Get(uint32_t pos) const {
  uint32_t header = 0;
  uint64_t length = ReadVarint(data_ + pos, &header);
  return std::string_view(data_ + pos + header, length);
}

uint32_t Listpack::ElementSize(uint32_t pos) const {
  uint32_t header = 0;
  uint64_t length = ReadVarint(data_ + pos, &header);
  uint32_t front = header + static_cast<uint32_t>(length);
  return front + VarintSize(front);
}

uint32_t Listpack::Next(uint32_t pos) const { return pos + ElementSize(pos); }

uint32_t Listpack::Prev(uint32_t pos) const {
  uint32_t back = 0;
  uint64_t front = ReadBackVarint(data_ + pos, &back);
  return pos - back - static_cast<uint32_t>(front);
}

uint32_t Listpack::Seek(int64_t index) const {
  const int64_t count = size();
  if (index < 0) index += count;
  if (index < 0 || index >= count) return bytes_;
  if (index <= count / 2) {
    uint32_t pos = 0;
    while (index-- > 0) pos = Next(pos);
    return pos;
  }
  uint32_t pos = bytes_;
  for (int64_t i = count; i > index; --i) pos = Prev(pos);
  return pos;
}

uint32_t Listpack::Find(std::string_view value, uint32_t from, uint32_t skip) const {
  uint32_t pos = from;
  while (pos < bytes_) {
    uint32_t header = 0;
    uint64_t length = ReadVarint(data_ + pos, &header);
    if (length == value.size() &&
        (length == 0 || std::memcmp(data_ + pos + header, value.data(), length) == 0)) {
      return pos;
    }
    uint32_t front = header + static_cast<uint32_t>(length);
    pos += front + VarintSize(front);
    for (uint32_t i = 0; i < skip && pos < bytes_; ++i) pos = Next(pos);
  }
  return bytes_;
}

void Listpack::Insert(uint32_t pos, std::string_view value) {
  const uint32_t size = EncodedSize(value.size());
  if (pos == 0 && bytes_ != 0 && static_cast<size_t>(bytes_) + size >= kMinGapListpackBytes) {
    // A head insertion into a large listpack takes the space in front, so
    // repeated pushes at the head (LPUSH) do not move the elements each time.
    uint32_t gap = front_gap();
    if (gap < size) gap = GrowAtFront(size);
    if (gap - size == 0 || gap - size >= kGapLengthBytes) {
      data_ -= size;
      WriteElement(data_, value);
      bytes_ += size;
      ++count_;
      set_front_gap(gap - size);
      return;
    }
    // The gap would keep 1 to 3 bytes, too few to record its length: the
    // general path below closes it instead (once, when the block is full).
  }
  Reserve(static_cast<size_t>(bytes_) + size);
  std::memmove(data_ + pos + size, data_ + pos, bytes_ - pos);
  WriteElement(data_ + pos, value);
  bytes_ += size;
  ++count_;
}

void Listpack::Replace(uint32_t pos, std::string_view value) {
  uint32_t old_size = ElementSize(pos);
  uint32_t new_size = EncodedSize(value.size());
  if (new_size > old_size) Reserve(static_cast<size_t>(bytes_) + new_size - old_size);
  std::memmove(data_ + pos + new_size, data_ + pos + old_size, bytes_ - pos - old_size);
  WriteElement(data_ + pos, value);
  bytes_ = bytes_ - old_size + new_size;
}

uint32_t Listpack::Erase(uint32_t pos, uint32_t count) {
  uint32_t end = pos;
  uint32_t erased = 0;
  while (erased < count && end < bytes_) {
    end = Next(end);
    ++erased;
  }
  const uint32_t removed = end - pos;
  if (removed == bytes_) {
    Clear();
    return pos;
  }
  const uint32_t old_bytes = bytes_;
  if (pos == 0 && old_bytes >= kMinGapListpackBytes) {
    // Erasing at the head of a large listpack (LPOP) widens the front gap
    // instead of moving every remaining element down.
    const uint32_t gap = front_gap() + removed;
    if (gap >= kGapLengthBytes) {
      data_ += removed;
      bytes_ -= removed;
      count_ -= erased;
      set_front_gap(gap);
      AfterErase(old_bytes);
      return pos;
    }
  }
  std::memmove(data_ + pos, data_ + end, bytes_ - end);
  bytes_ -= removed;
  count_ -= erased;
  AfterErase(old_bytes);
  return pos;
}

void Listpack::AfterErase(uint32_t old_bytes) {
  const uint32_t gap = front_gap();
  if (gap > bytes_) {
    // More gap than elements: move them to a block of their size. The copy
    // is shorter than the gap, so it is paid for by the erasures that made
    // the gap, and the memory goes back as the list drains. Should the
    // allocation fail, the gap simply stays.
    Relocate(bytes_, 0);
    return;
  }
  if (bytes_ < 64 || SizeStep(bytes_) == SizeStep(old_bytes)) return;
  // Give memory back once the buffer is mostly empty.
  if (malloc_usable_size(data_ - gap) <= 2 * (static_cast<size_t>(bytes_) + gap)) return;
  if (gap > 0) {
    Relocate(bytes_, 0);
  } else if (void* shrunk = std::realloc(data_, bytes_)) {
    data_ = static_cast<char*>(shrunk);
  }
}

void Listpack::ShrinkToFit() {
  if (data_ == nullptr) return;
  // Below 16 spare bytes the allocator would keep the same block anyway.
  if (front_gap() == 0 && malloc_usable_size(data_) < static_cast<size_t>(bytes_) + 16) return;
  // A fresh block rather than an in-place realloc: shrinking in place
  // would leave a small free fragment behind that few requests fit.
  Relocate(bytes_, 0);
}

void Listpack::Clear() {
  std::free(base());
  data_ = nullptr;
  bytes_ = 0;
  count_ = 0;
}

}  // namespace understudy::storage

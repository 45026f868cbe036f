#include "storage/listpack.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace understudy::storage {
namespace {

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

}  // namespace

Listpack::~Listpack() { std::free(data_); }

Listpack::Listpack(Listpack&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      count_(std::exchange(other.count_, 0)) {}

Listpack& Listpack::operator=(Listpack&& other) noexcept {
  if (this != &other) {
    std::free(data_);
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
  copy.count_ = count_;
  return copy;
}

size_t Listpack::MemoryUsage() const { return data_ ? malloc_usable_size(data_) : 0; }

void Listpack::Reserve(size_t needed) {
  size_t capacity = data_ ? malloc_usable_size(data_) : 0;
  if (needed <= capacity) return;
  // Grow by at least a quarter so appends are amortised O(1), but keep
  // small buffers tight: most collections stay small.
  size_t target = needed < 64 ? needed : needed + needed / 4;
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
  if (index < 0) index += count_;
  if (index < 0 || index >= count_) return bytes_;
  if (index <= count_ / 2) {
    uint32_t pos = 0;
    while (index-- > 0) pos = Next(pos);
    return pos;
  }
  uint32_t pos = bytes_;
  for (int64_t i = count_; i > index; --i) pos = Prev(pos);
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
  uint32_t size = EncodedSize(value.size());
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
  std::memmove(data_ + pos, data_ + end, bytes_ - end);
  bytes_ -= end - pos;
  count_ -= erased;
  // Give memory back once the buffer is mostly empty.
  if (bytes_ == 0) {
    Clear();
  } else if (bytes_ >= 64 && malloc_usable_size(data_) > 2 * static_cast<size_t>(bytes_)) {
    if (void* shrunk = std::realloc(data_, bytes_)) data_ = static_cast<char*>(shrunk);
  }
  return pos;
}

void Listpack::ShrinkToFit() {
  // Below 16 spare bytes the allocator would keep the same block anyway.
  if (data_ == nullptr || malloc_usable_size(data_) < static_cast<size_t>(bytes_) + 16) return;
  // A fresh block rather than an in-place realloc: shrinking in place
  // would leave a small free fragment behind that few requests fit.
  char* fitted = static_cast<char*>(std::malloc(bytes_));
  if (fitted == nullptr) return;
  std::memcpy(fitted, data_, bytes_);
  std::free(data_);
  data_ = fitted;
}

void Listpack::Clear() {
  std::free(data_);
  data_ = nullptr;
  bytes_ = 0;
  count_ = 0;
}

}  // namespace understudy::storage

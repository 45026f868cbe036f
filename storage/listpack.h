#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace understudy::storage {

// A compact sequence of byte strings in one allocation, for small
// collections (the role of Redis's listpack): a small hash, set, sorted set
// or list node costs one malloc and about two bytes per element, and linear
// scans over a few hundred bytes are faster than chasing pointers.
//
// Layout of an element: varint(length) | bytes | backlen, where backlen is
// the size of the first two parts written as a varint that reads from its
// last byte backwards, so the sequence can be walked in both directions.
//
// Positions are byte offsets into the buffer. End() (== bytes()) is one past
// the last element. Any insertion or erasure invalidates positions after it.
// The handle is 16 bytes so a Value can embed it inline.
class Listpack {
 public:
  Listpack() = default;
  ~Listpack();
  Listpack(Listpack&& other) noexcept;
  Listpack& operator=(Listpack&& other) noexcept;
  Listpack(const Listpack&) = delete;
  Listpack& operator=(const Listpack&) = delete;

  // A deep copy.
  Listpack Clone() const;

  uint32_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  uint32_t bytes() const { return bytes_; }
  // Bytes held by the buffer (its allocation size).
  size_t MemoryUsage() const;

  uint32_t Begin() const { return 0; }
  uint32_t End() const { return bytes_; }
  // Offset of the last element, or End() when empty.
  uint32_t Last() const { return bytes_ == 0 ? 0 : Prev(bytes_); }
  std::string_view Get(uint32_t pos) const;
  uint32_t Next(uint32_t pos) const;
  // Offset of the element before `pos` (pos > Begin()).
  uint32_t Prev(uint32_t pos) const;
  // Offset of element `index` (negative: from the end, -1 = last), walking
  // from the nearer end; End() when out of range.
  uint32_t Seek(int64_t index) const;
  // Offset of the first element equal to `value`, looking at `from` and then
  // every (skip+1)-th element (skip = 1 looks at the keys of key/value
  // pairs); End() when absent.
  uint32_t Find(std::string_view value, uint32_t from = 0, uint32_t skip = 0) const;

  // Inserts `value` before the element at `pos` (End() appends).
  void Insert(uint32_t pos, std::string_view value);
  void PushBack(std::string_view value) { Insert(bytes_, value); }
  void PushFront(std::string_view value) { Insert(0, value); }
  // Replaces the element at `pos`.
  void Replace(uint32_t pos, std::string_view value);
  // Erases `count` elements starting at `pos`; returns `pos`, now the
  // offset of the element that followed them.
  uint32_t Erase(uint32_t pos, uint32_t count = 1);
  void Clear();
  // Gives spare capacity back to the allocator (insertions grow the buffer
  // by a quarter ahead): for a collection that stopped growing, e.g. at the
  // end of a command that added to it.
  void ShrinkToFit();

 private:
  // Makes room for `grow` more bytes (amortised doubling).
  void Reserve(size_t needed);
  // Size of element `pos` in bytes, including header and backlen.
  uint32_t ElementSize(uint32_t pos) const;

  char* data_ = nullptr;
  uint32_t bytes_ = 0;
  uint32_t count_ = 0;
};

static_assert(sizeof(Listpack) == 16, "Listpack is embedded in Value's inline storage");

}  // namespace understudy::storage

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
// the last element. Any insertion or erasure invalidates positions after it
// (an erasure or insertion at the head invalidates all of them).
// The handle is 16 bytes so a Value can embed it inline.
//
// Large listpacks (list nodes, mostly) may keep a free gap in front of the
// first element, so that popping or pushing at the head moves no bytes
// (LPOP/LPUSH on an 8 KiB quicklist node would otherwise move the whole
// node each time). The gap's length is stored in its own last four bytes,
// and the top bit of the element count says whether there is one, so the
// handle stays 16 bytes and small listpacks pay nothing.
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

  uint32_t size() const { return count_ & kCountMask; }
  bool empty() const { return size() == 0; }
  uint32_t bytes() const { return bytes_; }
  // Bytes held by the buffer (its allocation size, front gap included).
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
  // Gives spare capacity (and any front gap) back to the allocator
  // (insertions grow the buffer by a quarter ahead): for a collection that
  // stopped growing, e.g. at the end of a command that added to it.
  void ShrinkToFit();

 private:
  // The top bit of count_ flags a front gap; the rest is the element count
  // (a listpack of 2^31 elements would take over 4 GiB, past bytes_).
  static constexpr uint32_t kFrontGapFlag = 1u << 31;
  static constexpr uint32_t kCountMask = kFrontGapFlag - 1;

  // Bytes of free space in front of data_ (0, or at least 4: the length
  // is stored in the gap's last four bytes).
  uint32_t front_gap() const;
  void set_front_gap(uint32_t gap);
  // The start of the allocation.
  char* base() const { return data_ - front_gap(); }
  // Makes room for the buffer to hold `needed` bytes from data_ on,
  // growing by a quarter ahead (amortised O(1) appends).
  void Reserve(size_t needed);
  // Moves the elements to a fresh allocation of `front_gap` + `capacity`
  // bytes, `front_gap` of them in front (0 or at least 4). Returns false,
  // changing nothing, when the allocation fails (shrinking callers then
  // keep the old block, as a failed shrinking realloc would).
  bool Relocate(size_t capacity, uint32_t front_gap);
  // Moves the elements to the back of their block, or to a larger block,
  // so that at least `size` bytes are free in front; returns that gap.
  uint32_t GrowAtFront(uint32_t size);
  // Erase's clean-up: closes a front gap that has grown larger than the
  // elements and gives memory back once the buffer is mostly empty.
  // `old_bytes` is bytes() before the erasure.
  void AfterErase(uint32_t old_bytes);
  // Size of element `pos` in bytes, including header and backlen.
  uint32_t ElementSize(uint32_t pos) const;

  char* data_ = nullptr;
  uint32_t bytes_ = 0;
  uint32_t count_ = 0;
};

static_assert(sizeof(Listpack) == 16, "Listpack is embedded in Value's inline storage");

}  // namespace understudy::storage

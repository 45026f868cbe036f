#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/listpack.h"
#include "storage/value.h"

// The list data type (Redis's quicklist).
//
// A small list is one Listpack embedded in its Value (one allocation for the
// whole list). Once it outgrows one node - list-max-listpack-size: a byte
// budget when negative (-1..-5: 4..64 KiB), an element count when positive -
// it becomes a Quicklist: a sequence of Listpack nodes, each within that
// budget. Pushes and pops at either end touch one node, so they are O(1);
// positional access walks node counts from the nearer end. A quicklist has
// no empty nodes; one that shrinks back to a single small node (at most half
// a node's budget, so a list at the boundary does not flip on every push and
// pop) is embedded again, and an emptied one becomes an empty embedded list.
//
// Every function here takes the Value of a list (type() == kList) unless it
// says otherwise. Mutating functions take `max_listpack_size` (the current
// list-max-listpack-size) because the Value has no room to remember it.
// Removals may leave the list empty (still usable, e.g. pushed to again by
// LMOVE from a list to itself); the caller deletes a key whose Length()
// became 0, since empty lists never stay in the keyspace.
namespace understudy::storage {

// One end of a list: LEFT/head (index 0) or RIGHT/tail (index -1).
enum class ListEnd : uint8_t { kHead, kTail };

inline ListEnd OppositeEnd(ListEnd end) {
  return end == ListEnd::kHead ? ListEnd::kTail : ListEnd::kHead;
}

// The large list representation: listpack nodes in a contiguous array with
// free slots at both ends (so nodes are added or dropped at either end in
// amortised O(1)) plus the total element count.
class Quicklist final : public Collection {
 public:
  Quicklist() = default;
  ~Quicklist() override;
  Quicklist(const Quicklist&) = delete;
  Quicklist& operator=(const Quicklist&) = delete;

  size_t MemoryUsage() const override;
  std::unique_ptr<Collection> Clone() const override;
  std::string_view Encoding() const override { return "quicklist"; }

  size_t length() const { return length_; }
  size_t node_count() const { return end_ - begin_; }
  Listpack& node(size_t i) { return slots_[begin_ + i]; }
  const Listpack& node(size_t i) const { return slots_[begin_ + i]; }

  // Node-array edits; they keep length() in step with the nodes' sizes.
  // Cost: O(distance from `i` to the nearer end of the array).
  void InsertNode(size_t i, Listpack node);
  void EraseNode(size_t i);
  // Drops every empty node in one pass (after edits in the middle).
  void RemoveEmptyNodes();
  // Removes node `i` from the array and returns it (used when the last
  // node moves back into the Value).
  Listpack TakeNode(size_t i);
  // Records that `delta` elements were added to (or removed from) nodes
  // by direct edits through node().
  void AdjustLength(int64_t delta) { length_ = static_cast<size_t>(length_ + delta); }

 private:
  // Makes room so a node can be added at array position `begin_ - 1`
  // (front) or `end_` (back), re-centering or growing the array.
  void MakeRoom(bool at_front);

  Listpack* slots_ = nullptr;  // capacity_ slots; [begin_, end_) constructed
  uint32_t capacity_ = 0;
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
  size_t length_ = 0;
};

namespace list {

// True when a listpack node of `node_bytes` bytes and `node_count`
// elements may take one more element of `element_size` bytes under
// list-max-listpack-size `max_listpack_size` (an empty node always may).
bool NodeAccepts(uint32_t node_bytes, uint32_t node_count, size_t element_size,
                 int64_t max_listpack_size);

// Makes `value` an empty list in the compact encoding. The caller pushes
// right away: empty lists never stay in the keyspace.
void Init(Value& value);

// Number of elements. O(1).
size_t Length(const Value& value);

// Adds `element` at `end`. O(1) (amortised).
void Push(Value& value, ListEnd end, std::string_view element, int64_t max_listpack_size);

// The element at `end` (precondition: Length() > 0). The view stays valid
// until the list is modified.
std::string_view Peek(const Value& value, ListEnd end);

// Removes the element at `end` (precondition: Length() > 0). O(1).
void Drop(Value& value, ListEnd end, int64_t max_listpack_size);

// Removes and returns the element at `end` (precondition: Length() > 0).
std::string Pop(Value& value, ListEnd end, int64_t max_listpack_size);

// Converts a possibly negative Redis index (-1 = last) to a position from
// the head; returns false when it is out of range.
bool NormalizeIndex(const Value& value, int64_t index, size_t* position);

// The element at `index` (negative counts from the tail), or false when out
// of range. The view stays valid until the list is modified. O(nodes).
bool Index(const Value& value, int64_t index, std::string_view* element);

// Replaces the element at `index` (negative counts from the tail); false
// when out of range.
bool Set(Value& value, int64_t index, std::string_view element, int64_t max_listpack_size);

// Inserts `element` before (or after) the first element equal to `pivot`,
// scanning from the head. Returns false when `pivot` is absent.
bool InsertAt(Value& value, std::string_view pivot, bool after, std::string_view element,
              int64_t max_listpack_size);

// LREM: removes up to |count| elements equal to `element` (all when 0),
// scanning from the head when count >= 0 and from the tail when negative.
// Returns how many were removed (the list may become empty).
size_t Remove(Value& value, int64_t count, std::string_view element, int64_t max_listpack_size);

// LTRIM with already-resolved bounds: keeps the `keep` elements starting at
// position `start` and removes the rest (keep == 0 empties the list).
void Trim(Value& value, size_t start, size_t keep, int64_t max_listpack_size);

// LPOS: the positions (from the head) of matches of `element`. Skips the
// first rank-1 matches (rank > 0 scans from the head, rank < 0 from the
// tail with |rank|), collects at most `count` positions (0 = all), and
// looks at no more than `maxlen` elements (0 = all). Precondition: rank != 0.
std::vector<size_t> Positions(const Value& value, std::string_view element, int64_t rank,
                              size_t count, size_t maxlen);

// Sequential access to a run of elements, in either direction. It reads
// the list in place: the list must not change while the iterator is used.
class Iterator {
 public:
  // Starts at position `start` (0 = head; must be < Length()) and moves
  // towards `towards` (kTail: increasing positions).
  Iterator(const Value& value, size_t start, ListEnd towards);

  bool Valid() const { return node_ != nullptr; }
  std::string_view Get() const { return node_->Get(pos_); }
  void Next();

 private:
  // Moves to node `node_index_` (its first or last element by direction),
  // or invalidates the iterator past either end.
  void EnterNode();

  const Quicklist* quicklist_;  // nullptr for the embedded encoding
  const Listpack* node_;        // current node; nullptr when exhausted
  size_t node_index_;
  uint32_t pos_;
  bool forward_;
};

}  // namespace list
}  // namespace understudy::storage

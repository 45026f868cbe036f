#include "storage/list_value.h"

#include <algorithm>
#include <new>
#include <utility>

namespace understudy::storage {
namespace {

// Node byte budgets for list-max-listpack-size -1 .. -5.
constexpr size_t kNodeByteLimits[] = {4096, 8192, 16384, 32768, 65536};
// A count-limited node still stops at this many bytes, so a few huge
// elements cannot make one node enormous (Redis's SIZE_SAFETY_LIMIT).
constexpr size_t kSafetyByteLimit = 8192;
// The largest element count a positive setting may ask for per node.
constexpr int64_t kMaxNodeEntries = 1 << 15;

// Bytes a varint of `v` takes (7 bits per byte), as Listpack writes it.
size_t VarintSize(size_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Bytes an element of `length` payload bytes takes inside a Listpack.
size_t EncodedSize(size_t length) {
  size_t front = VarintSize(length) + length;
  return front + VarintSize(front);
}

size_t ByteLimit(int64_t max_listpack_size) {
  if (max_listpack_size >= 0) return kSafetyByteLimit;
  int64_t level = std::min<int64_t>(-max_listpack_size, 5);
  return kNodeByteLimits[level - 1];
}

// Entry limit of a node, or 0 when only bytes count.
size_t EntryLimit(int64_t max_listpack_size) {
  if (max_listpack_size < 0) return 0;
  return static_cast<size_t>(std::clamp<int64_t>(max_listpack_size, 1, kMaxNodeEntries));
}

// True when `node` holds more than one node may (a node of one element is
// never too big: there is nothing to split).
bool Oversized(const Listpack& node, int64_t max_listpack_size) {
  if (node.size() <= 1) return false;
  if (node.bytes() > ByteLimit(max_listpack_size)) return true;
  size_t entries = EntryLimit(max_listpack_size);
  return entries != 0 && node.size() > entries;
}

// True when a quicklist's only node is small enough to move back into the
// Value: at most half a node's budget, so that a list hovering around one
// node's size does not convert back and forth on every push and pop.
bool SmallEnoughToEmbed(const Listpack& node, int64_t max_listpack_size) {
  if (node.bytes() > ByteLimit(max_listpack_size) / 2) return false;
  size_t entries = EntryLimit(max_listpack_size);
  return entries == 0 || node.size() <= entries / 2;
}

Quicklist* QuicklistOf(Value& value) {
  return value.is_listpack() ? nullptr : value.As<Quicklist>();
}
const Quicklist* QuicklistOf(const Value& value) {
  return value.is_listpack() ? nullptr : value.As<Quicklist>();
}

// Moves an embedded list into a one-node quicklist.
Quicklist& ConvertToQuicklist(Value& value) {
  auto quicklist = std::make_unique<Quicklist>();
  quicklist->InsertNode(0, std::move(value.listpack()));
  Quicklist& result = *quicklist;
  value.ConvertToCollection(std::move(quicklist));
  return result;
}

// Moves a quicklist's only node back into the Value when it is small, and
// makes an emptied list an empty embedded one (so it can take pushes again,
// e.g. LMOVE from a one-element list to itself).
void MaybeEmbed(Value& value, int64_t max_listpack_size) {
  Quicklist* quicklist = QuicklistOf(value);
  if (quicklist == nullptr) return;
  if (quicklist->length() == 0) {
    value.SetListpack(ValueType::kList);  // frees the quicklist
    return;
  }
  if (quicklist->node_count() == 1 && SmallEnoughToEmbed(quicklist->node(0), max_listpack_size)) {
    Listpack node = quicklist->TakeNode(0);
    value.SetListpack(ValueType::kList);
    value.listpack() = std::move(node);
  }
}

// After elements were removed anywhere: drops the emptied nodes (one pass)
// and embeds what is left when small.
void AfterShrink(Value& value, int64_t max_listpack_size) {
  Quicklist* quicklist = QuicklistOf(value);
  if (quicklist == nullptr) return;
  if (quicklist->length() > 0) quicklist->RemoveEmptyNodes();
  MaybeEmbed(value, max_listpack_size);
}

// Splits node `i` in halves until every piece is within the node budget.
void SplitOversized(Quicklist& quicklist, size_t i, int64_t max_listpack_size) {
  Listpack& node = quicklist.node(i);
  if (!Oversized(node, max_listpack_size)) return;
  uint32_t keep = node.size() / 2;
  uint32_t split = node.Seek(keep);
  Listpack tail;
  for (uint32_t pos = split; pos != node.End(); pos = node.Next(pos)) tail.PushBack(node.Get(pos));
  uint32_t moved = node.size() - keep;
  node.Erase(split, moved);
  quicklist.AdjustLength(-static_cast<int64_t>(moved));
  quicklist.InsertNode(i + 1, std::move(tail));
  SplitOversized(quicklist, i + 1, max_listpack_size);
  SplitOversized(quicklist, i, max_listpack_size);
}

// After node `node_index` grew by an insertion or replacement that may have
// pushed it past the budget: splits it, converting an embedded list first.
void AfterGrowth(Value& value, size_t node_index, int64_t max_listpack_size) {
  if (value.is_listpack()) {
    if (!Oversized(value.listpack(), max_listpack_size)) return;
    ConvertToQuicklist(value);
  }
  SplitOversized(*value.As<Quicklist>(), node_index, max_listpack_size);
}

// Finds the node holding position `position` (< length), walking node
// counts from the nearer end; sets *offset to its index inside the node.
size_t LocateNode(const Quicklist& quicklist, size_t position, size_t* offset) {
  size_t nodes = quicklist.node_count();
  if (position < quicklist.length() / 2) {
    for (size_t i = 0; i < nodes; ++i) {
      size_t size = quicklist.node(i).size();
      if (position < size) {
        *offset = position;
        return i;
      }
      position -= size;
    }
  } else {
    size_t from_tail = quicklist.length() - 1 - position;
    for (size_t i = nodes; i-- > 0;) {
      size_t size = quicklist.node(i).size();
      if (from_tail < size) {
        *offset = size - 1 - from_tail;
        return i;
      }
      from_tail -= size;
    }
  }
  *offset = 0;
  return nodes;  // unreachable for a valid position
}

// Removes `count` elements starting at `start` (start + count <= length),
// without tidying up empty nodes (AfterShrink does).
void EraseRange(Value& value, size_t start, size_t count) {
  if (count == 0) return;
  if (value.is_listpack()) {
    Listpack& lp = value.listpack();
    lp.Erase(lp.Seek(static_cast<int64_t>(start)), static_cast<uint32_t>(count));
    return;
  }
  Quicklist& quicklist = *value.As<Quicklist>();
  size_t offset = 0;
  size_t i = LocateNode(quicklist, start, &offset);
  while (count > 0) {
    Listpack& node = quicklist.node(i);
    size_t here = std::min<size_t>(count, node.size() - offset);
    if (offset == 0 && here == node.size()) {
      node.Clear();
    } else {
      node.Erase(node.Seek(static_cast<int64_t>(offset)), static_cast<uint32_t>(here));
    }
    quicklist.AdjustLength(-static_cast<int64_t>(here));
    count -= here;
    offset = 0;
    ++i;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Quicklist

Quicklist::~Quicklist() {
  for (uint32_t i = begin_; i < end_; ++i) slots_[i].~Listpack();
  ::operator delete(slots_);
}

size_t Quicklist::MemoryUsage() const {
  size_t total = sizeof(*this) + static_cast<size_t>(capacity_) * sizeof(Listpack);
  for (uint32_t i = begin_; i < end_; ++i) total += slots_[i].MemoryUsage();
  return total;
}

std::unique_ptr<Collection> Quicklist::Clone() const {
  auto copy = std::make_unique<Quicklist>();
  for (size_t i = 0; i < node_count(); ++i) copy->InsertNode(i, node(i).Clone());
  return copy;
}

void Quicklist::MakeRoom(bool at_front) {
  if (at_front ? begin_ > 0 : end_ < capacity_) return;
  uint32_t nodes = end_ - begin_;
  // Re-center when at most half full (the free slots then pay for the
  // copy), grow otherwise; either way both ends get room.
  uint32_t capacity = 2 * nodes + 2 <= capacity_ ? capacity_ : std::max<uint32_t>(4, 2 * capacity_);
  auto* slots = static_cast<Listpack*>(::operator new(sizeof(Listpack) * capacity));
  uint32_t begin = (capacity - nodes) / 2;
  for (uint32_t i = 0; i < nodes; ++i) {
    new (&slots[begin + i]) Listpack(std::move(slots_[begin_ + i]));
    slots_[begin_ + i].~Listpack();
  }
  ::operator delete(slots_);
  slots_ = slots;
  capacity_ = capacity;
  begin_ = begin;
  end_ = begin + nodes;
}

void Quicklist::InsertNode(size_t i, Listpack node) {
  length_ += node.size();
  size_t nodes = node_count();
  if (i == 0) {
    MakeRoom(/*at_front=*/true);
    new (&slots_[--begin_]) Listpack(std::move(node));
    return;
  }
  MakeRoom(/*at_front=*/false);
  // Shift the nodes after `i` one slot towards the back.
  new (&slots_[end_]) Listpack();
  ++end_;
  for (size_t j = nodes; j > i; --j) slots_[begin_ + j] = std::move(slots_[begin_ + j - 1]);
  slots_[begin_ + i] = std::move(node);
}

void Quicklist::EraseNode(size_t i) {
  length_ -= node(i).size();
  size_t nodes = node_count();
  if (i < nodes / 2) {
    for (size_t j = i; j > 0; --j) slots_[begin_ + j] = std::move(slots_[begin_ + j - 1]);
    slots_[begin_].~Listpack();
    ++begin_;
  } else {
    for (size_t j = i; j + 1 < nodes; ++j) slots_[begin_ + j] = std::move(slots_[begin_ + j + 1]);
    slots_[end_ - 1].~Listpack();
    --end_;
  }
  if (begin_ == end_) begin_ = end_ = capacity_ / 2;
}

void Quicklist::RemoveEmptyNodes() {
  uint32_t out = begin_;
  for (uint32_t in = begin_; in < end_; ++in) {
    if (slots_[in].empty()) continue;
    if (out != in) slots_[out] = std::move(slots_[in]);
    ++out;
  }
  for (uint32_t k = out; k < end_; ++k) slots_[k].~Listpack();
  end_ = out;
  if (begin_ == end_) begin_ = end_ = capacity_ / 2;
}

Listpack Quicklist::TakeNode(size_t i) {
  Listpack taken = std::move(node(i));
  length_ -= taken.size();
  EraseNode(i);
  return taken;
}

// ---------------------------------------------------------------------------
// List operations

namespace list {

bool NodeAccepts(uint32_t node_bytes, uint32_t node_count, size_t element_size,
                 int64_t max_listpack_size) {
  if (node_count == 0) return true;
  if (node_bytes + EncodedSize(element_size) > ByteLimit(max_listpack_size)) return false;
  size_t entries = EntryLimit(max_listpack_size);
  return entries == 0 || node_count < entries;
}

void Init(Value& value) { value.SetListpack(ValueType::kList); }

size_t Length(const Value& value) {
  const Quicklist* quicklist = QuicklistOf(value);
  return quicklist ? quicklist->length() : value.listpack().size();
}

void Push(Value& value, ListEnd end, std::string_view element, int64_t max_listpack_size) {
  bool head = end == ListEnd::kHead;
  if (value.is_listpack()) {
    Listpack& lp = value.listpack();
    if (NodeAccepts(lp.bytes(), lp.size(), element.size(), max_listpack_size)) {
      head ? lp.PushFront(element) : lp.PushBack(element);
      return;
    }
    ConvertToQuicklist(value);
  }
  Quicklist& quicklist = *value.As<Quicklist>();
  size_t edge = head ? 0 : quicklist.node_count() - 1;
  Listpack& node = quicklist.node(edge);
  if (NodeAccepts(node.bytes(), node.size(), element.size(), max_listpack_size)) {
    head ? node.PushFront(element) : node.PushBack(element);
    quicklist.AdjustLength(1);
    return;
  }
  Listpack fresh;
  fresh.PushBack(element);
  quicklist.InsertNode(head ? 0 : quicklist.node_count(), std::move(fresh));
}

std::string_view Peek(const Value& value, ListEnd end) {
  const Quicklist* quicklist = QuicklistOf(value);
  const Listpack& node = quicklist == nullptr    ? value.listpack()
                         : end == ListEnd::kHead ? quicklist->node(0)
                                                 : quicklist->node(quicklist->node_count() - 1);
  return node.Get(end == ListEnd::kHead ? node.Begin() : node.Last());
}

void Drop(Value& value, ListEnd end, int64_t max_listpack_size) {
  bool head = end == ListEnd::kHead;
  Quicklist* quicklist = QuicklistOf(value);
  if (quicklist == nullptr) {
    Listpack& lp = value.listpack();
    lp.Erase(head ? lp.Begin() : lp.Last());
    return;
  }
  size_t edge = head ? 0 : quicklist->node_count() - 1;
  Listpack& node = quicklist->node(edge);
  node.Erase(head ? node.Begin() : node.Last());
  quicklist->AdjustLength(-1);
  // Dropping an edge node moves no other node: O(1).
  if (node.empty() && quicklist->node_count() > 1) quicklist->EraseNode(edge);
  if (quicklist->node_count() == 1) MaybeEmbed(value, max_listpack_size);
}

std::string Pop(Value& value, ListEnd end, int64_t max_listpack_size) {
  std::string element(Peek(value, end));
  Drop(value, end, max_listpack_size);
  return element;
}

bool NormalizeIndex(const Value& value, int64_t index, size_t* position) {
  int64_t length = static_cast<int64_t>(Length(value));
  if (index < 0) index += length;
  if (index < 0 || index >= length) return false;
  *position = static_cast<size_t>(index);
  return true;
}

bool Index(const Value& value, int64_t index, std::string_view* element) {
  size_t position = 0;
  if (!NormalizeIndex(value, index, &position)) return false;
  const Quicklist* quicklist = QuicklistOf(value);
  if (quicklist == nullptr) {
    const Listpack& lp = value.listpack();
    *element = lp.Get(lp.Seek(static_cast<int64_t>(position)));
    return true;
  }
  size_t offset = 0;
  const Listpack& node = quicklist->node(LocateNode(*quicklist, position, &offset));
  *element = node.Get(node.Seek(static_cast<int64_t>(offset)));
  return true;
}

bool Set(Value& value, int64_t index, std::string_view element, int64_t max_listpack_size) {
  size_t position = 0;
  if (!NormalizeIndex(value, index, &position)) return false;
  Quicklist* quicklist = QuicklistOf(value);
  size_t node_index = 0;
  size_t offset = position;
  if (quicklist != nullptr) node_index = LocateNode(*quicklist, position, &offset);
  Listpack& node = quicklist ? quicklist->node(node_index) : value.listpack();
  node.Replace(node.Seek(static_cast<int64_t>(offset)), element);
  AfterGrowth(value, node_index, max_listpack_size);
  return true;
}

bool InsertAt(Value& value, std::string_view pivot, bool after, std::string_view element,
              int64_t max_listpack_size) {
  Quicklist* quicklist = QuicklistOf(value);
  size_t nodes = quicklist ? quicklist->node_count() : 1;
  for (size_t i = 0; i < nodes; ++i) {
    Listpack& node = quicklist ? quicklist->node(i) : value.listpack();
    uint32_t pos = node.Find(pivot);
    if (pos == node.End()) continue;
    node.Insert(after ? node.Next(pos) : pos, element);
    if (quicklist) quicklist->AdjustLength(1);
    AfterGrowth(value, i, max_listpack_size);
    return true;
  }
  return false;
}

size_t Remove(Value& value, int64_t count, std::string_view element, int64_t max_listpack_size) {
  Quicklist* quicklist = QuicklistOf(value);
  size_t nodes = quicklist ? quicklist->node_count() : 1;
  bool from_head = count >= 0;
  // |count| without overflow for INT64_MIN; 0 = no limit.
  uint64_t limit = from_head ? static_cast<uint64_t>(count) : 0 - static_cast<uint64_t>(count);
  uint64_t removed = 0;
  for (size_t n = 0; n < nodes && (limit == 0 || removed < limit); ++n) {
    size_t i = from_head ? n : nodes - 1 - n;
    Listpack& node = quicklist ? quicklist->node(i) : value.listpack();
    uint32_t before = node.size();
    if (from_head) {
      for (uint32_t pos = node.Find(element); pos != node.End(); pos = node.Find(element, pos)) {
        pos = node.Erase(pos);
        if (++removed == limit) break;
      }
    } else if (!node.empty()) {
      uint32_t pos = node.Last();
      while (true) {
        bool match = node.Get(pos) == element;
        bool first = pos == node.Begin();
        uint32_t prev = first ? pos : node.Prev(pos);
        if (match) {
          node.Erase(pos);
          if (++removed == limit) break;
        }
        if (first) break;
        pos = prev;
      }
    }
    if (quicklist) quicklist->AdjustLength(static_cast<int64_t>(node.size()) - before);
  }
  if (removed > 0) AfterShrink(value, max_listpack_size);
  return static_cast<size_t>(removed);
}

void Trim(Value& value, size_t start, size_t keep, int64_t max_listpack_size) {
  size_t length = Length(value);
  start = std::min(start, length);
  keep = std::min(keep, length - start);
  EraseRange(value, start + keep, length - start - keep);
  EraseRange(value, 0, start);
  AfterShrink(value, max_listpack_size);
}

std::vector<size_t> Positions(const Value& value, std::string_view element, int64_t rank,
                              size_t count, size_t maxlen) {
  std::vector<size_t> found;
  size_t length = Length(value);
  if (length == 0) return found;
  bool forward = rank > 0;
  // |rank| without overflow for INT64_MIN.
  uint64_t skip = (forward ? static_cast<uint64_t>(rank) : 0 - static_cast<uint64_t>(rank)) - 1;
  size_t scanned = 0;
  uint64_t matches = 0;
  for (Iterator it(value, forward ? 0 : length - 1, forward ? ListEnd::kTail : ListEnd::kHead);
       it.Valid() && (maxlen == 0 || scanned < maxlen); it.Next(), ++scanned) {
    if (it.Get() != element) continue;
    if (matches++ < skip) continue;
    found.push_back(forward ? scanned : length - 1 - scanned);
    if (count != 0 && found.size() >= count) break;
  }
  return found;
}

Iterator::Iterator(const Value& value, size_t start, ListEnd towards)
    : quicklist_(QuicklistOf(value)), forward_(towards == ListEnd::kTail) {
  size_t offset = start;
  if (start >= Length(value)) {
    node_ = nullptr;
    node_index_ = 0;
    pos_ = 0;
    return;
  }
  if (quicklist_ == nullptr) {
    node_ = &value.listpack();
    node_index_ = 0;
  } else {
    node_index_ = LocateNode(*quicklist_, start, &offset);
    node_ = &quicklist_->node(node_index_);
  }
  pos_ = node_->Seek(static_cast<int64_t>(offset));
  if (pos_ == node_->End()) node_ = nullptr;
}

void Iterator::Next() {
  if (forward_) {
    pos_ = node_->Next(pos_);
    if (pos_ != node_->End()) return;
    ++node_index_;
  } else {
    if (pos_ != node_->Begin()) {
      pos_ = node_->Prev(pos_);
      return;
    }
    if (node_index_ == 0) {
      node_ = nullptr;
      return;
    }
    --node_index_;
  }
  EnterNode();
}

void Iterator::EnterNode() {
  size_t nodes = quicklist_ ? quicklist_->node_count() : 1;
  if (quicklist_ == nullptr || node_index_ >= nodes) {
    node_ = nullptr;
    return;
  }
  node_ = &quicklist_->node(node_index_);
  pos_ = forward_ ? node_->Begin() : node_->Last();
}

}  // namespace list
}  // namespace understudy::storage

#include "storage/zset_skiplist.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "storage/zset_value.h"

namespace understudy::storage {
namespace {

using Node = ZSetSkiplist::Node;

// Walks from `header` along the longest prefix of nodes for which
// `in_prefix(node)` holds (the predicate must be true for a prefix of the
// list and false after it). Returns the last node of that prefix (the
// header when the prefix is empty) and sets *count to the prefix length.
// When `update` is given, it receives the last prefix node at every level.
template <typename Predicate>
Node* WalkPrefix(Node* header, int level, Predicate in_prefix, uint64_t* count,
                 Node** update = nullptr) {
  Node* x = header;
  uint64_t traversed = 0;
  for (int i = level - 1; i >= 0; --i) {
    while (true) {
      Node* next = x->levels()[i].forward;
      if (next == nullptr || !in_prefix(next)) break;
      traversed += x->levels()[i].span;
      x = next;
    }
    if (update != nullptr) update[i] = x;
  }
  if (count != nullptr) *count = traversed;
  return x;
}

// True when `node` sorts before (score, member). The member, which lives
// in another allocation, is only read when the scores tie.
inline bool NodeBefore(const Node* node, double score, std::string_view member) {
  if (node->score != score) return node->score < score;
  return node->member() < member;
}

// True when (score, member) sorts before `node`.
inline bool BeforeNode(double score, std::string_view member, const Node* node) {
  if (node->score != score) return score < node->score;
  return member < node->member();
}

}  // namespace

ZSetSkiplist::ZSetSkiplist()
    : header_(NewNode(kMaxLevel, 0, nullptr)),
      random_state_(reinterpret_cast<uintptr_t>(this) * 0x9E3779B97F4A7C15ull | 1) {}

ZSetSkiplist::~ZSetSkiplist() {
  Node* node = header_->levels()[0].forward;
  std::free(header_);
  while (node != nullptr) {
    Node* next = node->levels()[0].forward;
    std::free(node);
    node = next;
  }
  // dict_ frees the entries (members) itself.
}

ZSetSkiplist::Node* ZSetSkiplist::NewNode(int level, double score, Entry* entry) {
  void* memory = std::malloc(sizeof(Node) + level * sizeof(Level));
  if (memory == nullptr) throw std::bad_alloc();
  auto* node = static_cast<Node*>(memory);
  node->score = score;
  node->entry = entry;
  node->backward = nullptr;
  for (int i = 0; i < level; ++i) node->levels()[i] = Level{nullptr, 0};
  return node;
}

double ZSetSkiplist::EntryScore(const Entry* entry) {
  double score;
  std::memcpy(&score, entry->value().string().data(), sizeof(score));
  return score;
}

void ZSetSkiplist::SetEntryScore(Entry* entry, double score) {
  char bytes[sizeof(score)];
  std::memcpy(bytes, &score, sizeof(score));
  entry->value().SetString(std::string_view(bytes, sizeof(bytes)));
}

int ZSetSkiplist::RandomLevel() {
  // xorshift64*: cheap, and good enough for level choice. Each extra level
  // has probability 1/4, as in Redis.
  int level = 1;
  while (level < kMaxLevel) {
    random_state_ ^= random_state_ >> 12;
    random_state_ ^= random_state_ << 25;
    random_state_ ^= random_state_ >> 27;
    uint64_t r = random_state_ * 0x2545F4914F6CDD1Dull;
    if ((r >> 62) != 0) break;  // top two bits zero: probability 1/4
    ++level;
  }
  return level;
}

std::optional<double> ZSetSkiplist::Score(std::string_view member) const {
  Entry* entry = dict_.Find(member);
  if (entry == nullptr) return std::nullopt;
  return EntryScore(entry);
}

void ZSetSkiplist::FindPath(double score, std::string_view member, Node** update) const {
  WalkPrefix(
      header_, level_, [&](const Node* n) { return NodeBefore(n, score, member); }, nullptr,
      update);
}

ZSetSkiplist::Node* ZSetSkiplist::InsertNode(double score, Entry* entry) {
  std::string_view member = entry->key();
  Node* update[kMaxLevel];
  uint64_t rank[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (true) {
      Node* next = x->levels()[i].forward;
      if (next == nullptr || !NodeBefore(next, score, member)) break;
      rank[i] += x->levels()[i].span;
      x = next;
    }
    update[i] = x;
  }
  int level = RandomLevel();
  if (level > level_) {
    for (int i = level_; i < level; ++i) {
      rank[i] = 0;
      update[i] = header_;
      header_->levels()[i].span = length_;
    }
    level_ = level;
  }
  Node* node = NewNode(level, score, entry);
  node_bytes_ += sizeof(Node) + level * sizeof(Level);
  for (int i = 0; i < level; ++i) {
    Level& before = update[i]->levels()[i];
    uint64_t distance = rank[0] - rank[i];  // nodes between update[i] and the new node
    node->levels()[i].forward = before.forward;
    node->levels()[i].span = before.span - distance;
    before.forward = node;
    before.span = distance + 1;
  }
  for (int i = level; i < level_; ++i) ++update[i]->levels()[i].span;
  node->backward = update[0] == header_ ? nullptr : update[0];
  if (Node* next = node->levels()[0].forward) {
    next->backward = node;
  } else {
    tail_ = node;
  }
  ++length_;
  return node;
}

void ZSetSkiplist::Insert(std::string_view member, double score) {
  Entry* entry = dict_.Insert(member);
  SetEntryScore(entry, score);
  InsertNode(score, entry);
}

void ZSetSkiplist::UnlinkNode(Node* node, Node** update) {
  int node_levels = 0;  // the levels that link to `node`: its own height
  for (int i = 0; i < level_; ++i) {
    Level& before = update[i]->levels()[i];
    if (before.forward == node) {
      before.span += node->levels()[i].span - 1;
      before.forward = node->levels()[i].forward;
      ++node_levels;
    } else {
      --before.span;
    }
  }
  if (Node* next = node->levels()[0].forward) {
    next->backward = node->backward;
  } else {
    tail_ = node->backward;
  }
  while (level_ > 1 && header_->levels()[level_ - 1].forward == nullptr) --level_;
  --length_;
  node_bytes_ -= sizeof(Node) + node_levels * sizeof(Level);
}

void ZSetSkiplist::DeleteNodeAndEntry(Node* node, Node** update) {
  UnlinkNode(node, update);
  Entry* entry = dict_.Unlink(node->member());
  Dict::FreeEntry(entry);
  std::free(node);
}

void ZSetSkiplist::UpdateScore(Entry* entry, double new_score) {
  std::string_view member = entry->key();
  double old_score = EntryScore(entry);
  Node* update[kMaxLevel];
  FindPath(old_score, member, update);
  Node* node = update[0]->levels()[0].forward;
  SetEntryScore(entry, new_score);
  const Node* prev = node->backward;
  const Node* next = node->levels()[0].forward;
  bool stays = (prev == nullptr || NodeBefore(prev, new_score, member)) &&
               (next == nullptr || BeforeNode(new_score, member, next));
  if (stays) {
    node->score = new_score;
    return;
  }
  UnlinkNode(node, update);
  std::free(node);
  InsertNode(new_score, entry);
}

bool ZSetSkiplist::Remove(std::string_view member) {
  Entry* entry = dict_.Find(member);
  if (entry == nullptr) return false;
  Node* update[kMaxLevel];
  FindPath(EntryScore(entry), member, update);
  DeleteNodeAndEntry(update[0]->levels()[0].forward, update);
  return true;
}

uint64_t ZSetSkiplist::Rank(std::string_view member, double score) const {
  uint64_t rank = 0;
  Node* last = WalkPrefix(
      header_, level_, [&](const Node* n) { return !BeforeNode(score, member, n); }, &rank);
  // `last` is the last node not after (score, member): the member itself
  // when present.
  if (last != header_ && last->member() == member) return rank;
  return 0;
}

const ZSetSkiplist::Node* ZSetSkiplist::NodeAtRank(uint64_t rank) const {
  if (rank == 0 || rank > length_) return nullptr;
  Node* x = header_;
  uint64_t traversed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && traversed + x->levels()[i].span <= rank) {
      traversed += x->levels()[i].span;
      x = x->levels()[i].forward;
    }
    if (traversed == rank) return x;
  }
  return nullptr;
}

uint64_t ZSetSkiplist::CountBelow(const ScoreRange& range) const {
  uint64_t count = 0;
  WalkPrefix(
      header_, level_, [&](const Node* n) { return !range.AboveMin(n->score); }, &count);
  return count;
}

uint64_t ZSetSkiplist::CountNotAbove(const ScoreRange& range) const {
  uint64_t count = 0;
  WalkPrefix(
      header_, level_, [&](const Node* n) { return range.BelowMax(n->score); }, &count);
  return count;
}

uint64_t ZSetSkiplist::CountBelow(const LexRange& range) const {
  uint64_t count = 0;
  WalkPrefix(
      header_, level_, [&](const Node* n) { return !range.AboveMin(n->member()); }, &count);
  return count;
}

uint64_t ZSetSkiplist::CountNotAbove(const LexRange& range) const {
  uint64_t count = 0;
  WalkPrefix(
      header_, level_, [&](const Node* n) { return range.BelowMax(n->member()); }, &count);
  return count;
}

const ZSetSkiplist::Node* ZSetSkiplist::FirstInRange(const ScoreRange& range) const {
  if (range.Empty()) return nullptr;
  Node* below = WalkPrefix(
      header_, level_, [&](const Node* n) { return !range.AboveMin(n->score); }, nullptr);
  const Node* first = below->levels()[0].forward;
  return first != nullptr && range.BelowMax(first->score) ? first : nullptr;
}

const ZSetSkiplist::Node* ZSetSkiplist::LastInRange(const ScoreRange& range) const {
  if (range.Empty()) return nullptr;
  Node* last = WalkPrefix(
      header_, level_, [&](const Node* n) { return range.BelowMax(n->score); }, nullptr);
  return last != header_ && range.AboveMin(last->score) ? last : nullptr;
}

const ZSetSkiplist::Node* ZSetSkiplist::FirstInRange(const LexRange& range) const {
  if (range.Empty()) return nullptr;
  Node* below = WalkPrefix(
      header_, level_, [&](const Node* n) { return !range.AboveMin(n->member()); }, nullptr);
  const Node* first = below->levels()[0].forward;
  return first != nullptr && range.BelowMax(first->member()) ? first : nullptr;
}

const ZSetSkiplist::Node* ZSetSkiplist::LastInRange(const LexRange& range) const {
  if (range.Empty()) return nullptr;
  Node* last = WalkPrefix(
      header_, level_, [&](const Node* n) { return range.BelowMax(n->member()); }, nullptr);
  return last != header_ && range.AboveMin(last->member()) ? last : nullptr;
}

uint64_t ZSetSkiplist::RemoveRangeByRank(uint64_t start, uint64_t end) {
  Node* update[kMaxLevel];
  uint64_t traversed = 0;
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && traversed + x->levels()[i].span < start) {
      traversed += x->levels()[i].span;
      x = x->levels()[i].forward;
    }
    update[i] = x;
  }
  uint64_t removed = 0;
  uint64_t rank = traversed + 1;
  Node* node = x->levels()[0].forward;
  while (node != nullptr && rank <= end) {
    Node* next = node->levels()[0].forward;
    DeleteNodeAndEntry(node, update);
    ++removed;
    ++rank;
    node = next;
  }
  return removed;
}

uint64_t ZSetSkiplist::RemoveRangeByScore(const ScoreRange& range) {
  if (range.Empty()) return 0;
  Node* update[kMaxLevel];
  Node* below = WalkPrefix(
      header_, level_, [&](const Node* n) { return !range.AboveMin(n->score); }, nullptr, update);
  uint64_t removed = 0;
  Node* node = below->levels()[0].forward;
  while (node != nullptr && range.BelowMax(node->score)) {
    Node* next = node->levels()[0].forward;
    DeleteNodeAndEntry(node, update);
    ++removed;
    node = next;
  }
  return removed;
}

uint64_t ZSetSkiplist::RemoveRangeByLex(const LexRange& range) {
  if (range.Empty()) return 0;
  Node* update[kMaxLevel];
  Node* below = WalkPrefix(
      header_, level_, [&](const Node* n) { return !range.AboveMin(n->member()); }, nullptr,
      update);
  uint64_t removed = 0;
  Node* node = below->levels()[0].forward;
  while (node != nullptr && range.BelowMax(node->member())) {
    Node* next = node->levels()[0].forward;
    DeleteNodeAndEntry(node, update);
    ++removed;
    node = next;
  }
  return removed;
}

size_t ZSetSkiplist::MemoryUsage() const {
  return sizeof(*this) + sizeof(Node) + kMaxLevel * sizeof(Level) + node_bytes_ +
         dict_.MemoryUsage();
}

std::unique_ptr<Collection> ZSetSkiplist::Clone() const {
  auto copy = std::make_unique<ZSetSkiplist>();
  for (const Node* n = First(); n != nullptr; n = n->next()) copy->Insert(n->member(), n->score);
  return copy;
}

}  // namespace understudy::storage

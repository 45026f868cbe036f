#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "storage/dict.h"
#include "storage/value.h"

namespace understudy::storage {

struct ScoreRange;
struct LexRange;

// The large encoding of a sorted set, as in Redis: a skiplist ordered by
// (score, member) whose links carry spans (how many nodes each link jumps),
// so that rank lookups and rank ranges are O(log n), together with a Dict
// from member to score for O(1) ZSCORE and for ZSCAN.
//
// Each member's bytes are stored once, as the key of its Dict entry; the
// skiplist node points to that entry (entries never move), and the entry's
// value holds the score as 8 raw bytes.
//
// Ranks in this class are 1-based, as the spans make natural; rank 0 means
// "not found".
class ZSetSkiplist : public Collection {
 public:
  static constexpr int kMaxLevel = 32;

  struct Node;
  struct Level {
    Node* forward;
    uint64_t span;  // nodes skipped by `forward`, counting its target
  };
  struct Node {
    double score;
    Entry* entry;  // the Dict entry holding the member; null for the header
    Node* backward;
    // Followed by the node's levels (24 + 16 * levels bytes in all).

    Level* levels() { return reinterpret_cast<Level*>(this + 1); }
    const Level* levels() const { return reinterpret_cast<const Level*>(this + 1); }
    std::string_view member() const { return entry->key(); }
    const Node* next() const { return levels()[0].forward; }
    const Node* prev() const { return backward; }
  };

  ZSetSkiplist();
  ~ZSetSkiplist() override;
  ZSetSkiplist(const ZSetSkiplist&) = delete;
  ZSetSkiplist& operator=(const ZSetSkiplist&) = delete;

  uint64_t size() const { return length_; }
  std::optional<double> Score(std::string_view member) const;

  // Adds a member that is not present.
  void Insert(std::string_view member, double score);
  // The member's index entry (EntryScore() gives its score), or nullptr.
  Entry* FindMember(std::string_view member) const { return dict_.Find(member); }
  // Changes the score of a present member (its entry from FindMember),
  // moving its node only when its position changes.
  void UpdateScore(Entry* entry, double new_score);
  // Removes `member`; false when absent.
  bool Remove(std::string_view member);

  // 1-based rank of a present member with its score; 0 when absent.
  uint64_t Rank(std::string_view member, double score) const;
  // The node of 1-based `rank`, or nullptr when out of range.
  const Node* NodeAtRank(uint64_t rank) const;
  const Node* First() const { return header_->levels()[0].forward; }
  const Node* Last() const { return tail_; }

  // First / last node inside the range, or nullptr when none is.
  const Node* FirstInRange(const ScoreRange& range) const;
  const Node* LastInRange(const ScoreRange& range) const;
  const Node* FirstInRange(const LexRange& range) const;
  const Node* LastInRange(const LexRange& range) const;
  // Number of nodes below the range's minimum (for counting in O(log n):
  // CountNotAbove - CountBelow is the number of nodes in the range).
  uint64_t CountBelow(const ScoreRange& range) const;
  uint64_t CountBelow(const LexRange& range) const;
  // Number of nodes not above the range's maximum (in it or below it).
  uint64_t CountNotAbove(const ScoreRange& range) const;
  uint64_t CountNotAbove(const LexRange& range) const;

  // Removal by range (ranks 1-based, inclusive); return the number removed.
  uint64_t RemoveRangeByRank(uint64_t start, uint64_t end);
  uint64_t RemoveRangeByScore(const ScoreRange& range);
  uint64_t RemoveRangeByLex(const LexRange& range);

  // The member index, for ZSCAN and random sampling. Read-only use.
  const Dict& dict() const { return dict_; }
  Dict& mutable_dict() const { return dict_; }
  static double EntryScore(const Entry* entry);

  size_t MemoryUsage() const override;
  std::unique_ptr<Collection> Clone() const override;
  std::string_view Encoding() const override { return "skiplist"; }

 private:
  static Node* NewNode(int level, double score, Entry* entry);
  static void SetEntryScore(Entry* entry, double score);
  int RandomLevel();
  // Links a new node for `entry` at its position.
  Node* InsertNode(double score, Entry* entry);
  // Finds the predecessors of (score, member) at every level into update[].
  void FindPath(double score, std::string_view member, Node** update) const;
  void UnlinkNode(Node* node, Node** update);
  // Unlinks and frees `node` and its Dict entry.
  void DeleteNodeAndEntry(Node* node, Node** update);

  // Lookups go through a Dict whose Find is not const (it may take a
  // rehash step); that does not change the set's contents.
  mutable Dict dict_;
  Node* header_;
  Node* tail_ = nullptr;
  uint64_t length_ = 0;
  int level_ = 1;
  uint64_t random_state_;
  size_t node_bytes_ = 0;  // bytes held by the nodes, for MemoryUsage
};

}  // namespace understudy::storage

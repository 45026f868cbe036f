#pragma once

#include <cstdint>

namespace understudy {

// How much heap memory the process holds, as its allocator counts it: the
// figure INFO's used_memory shows and maxmemory is compared against.
//
// Under jemalloc (the daemon links it) the precise figure needs a statistics
// refresh that merges every arena, too slow for each write command. So the
// gauge keeps the precise figure from the last Refresh() and adds what the
// calling thread allocated and freed since, from jemalloc's per-thread
// counters (two loads). The owner refreshes it periodically (the cron);
// between refreshes, only memory other threads allocate or free is missed.
// Without jemalloc (unit-test binaries) both figures come from mallinfo2.
//
// Bound to the thread that constructs it: call Estimate() from that thread.
class AllocatorGauge {
 public:
  AllocatorGauge();

  // The precise figure, and the new baseline for Estimate().
  uint64_t Refresh();
  // The baseline plus this thread's net allocation since Refresh().
  uint64_t Estimate() const;
  // True when jemalloc's statistics are available.
  bool jemalloc() const { return allocated_ != nullptr; }

 private:
  const uint64_t* allocated_ = nullptr;    // jemalloc thread.allocatedp
  const uint64_t* deallocated_ = nullptr;  // jemalloc thread.deallocatedp
  uint64_t baseline_ = 0;
  uint64_t allocated_at_baseline_ = 0;
  uint64_t deallocated_at_baseline_ = 0;
};

// True when the process runs on jemalloc (INFO's mem_allocator).
bool UsingJemalloc();

}  // namespace understudy

#include "common/allocator_stats.h"

#include <malloc.h>

#include <cstddef>

// jemalloc's control interface. The daemon links jemalloc (it replaces
// malloc there); test binaries use glibc's malloc, where this stays null.
extern "C" int mallctl(const char* name, void* old_value, size_t* old_length, void* new_value,
                       size_t new_length) __attribute__((weak));

namespace understudy {
namespace {

uint64_t MallinfoBytes() {
  struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

template <typename T>
T* ThreadCounter(const char* name) {
  T* pointer = nullptr;
  size_t length = sizeof(pointer);
  if (mallctl(name, &pointer, &length, nullptr, 0) != 0) return nullptr;
  return pointer;
}

}  // namespace

bool UsingJemalloc() { return mallctl != nullptr; }

AllocatorGauge::AllocatorGauge() {
  if (UsingJemalloc()) {
    allocated_ = ThreadCounter<uint64_t>("thread.allocatedp");
    deallocated_ = ThreadCounter<uint64_t>("thread.deallocatedp");
    if (deallocated_ == nullptr) allocated_ = nullptr;
  }
  Refresh();
}

uint64_t AllocatorGauge::Refresh() {
  if (UsingJemalloc()) {
    // jemalloc publishes merged statistics when the epoch advances.
    uint64_t epoch = 1;
    size_t length = sizeof(epoch);
    mallctl("epoch", &epoch, &length, &epoch, length);
    size_t allocated = 0;
    length = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &length, nullptr, 0) == 0) {
      baseline_ = allocated;
    } else {
      baseline_ = MallinfoBytes();
    }
  } else {
    baseline_ = MallinfoBytes();
  }
  if (allocated_ != nullptr) {
    allocated_at_baseline_ = *allocated_;
    deallocated_at_baseline_ = *deallocated_;
  }
  return baseline_;
}

uint64_t AllocatorGauge::Estimate() const {
  if (allocated_ == nullptr) return baseline_;
  // Unsigned wrap-around makes a net release come out right too.
  const uint64_t delta =
      (*allocated_ - allocated_at_baseline_) - (*deallocated_ - deallocated_at_baseline_);
  const uint64_t estimate = baseline_ + delta;
  // Frees of memory counted in the baseline can outrun it in a thread's
  // view only by what other threads allocated; never report below zero.
  return static_cast<int64_t>(estimate) < 0 ? 0 : estimate;
}

}  // namespace understudy

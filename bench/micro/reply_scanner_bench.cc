// Micro benchmarks of ReplyScanner, which frames every reply the proxy
// forwards from the primary, and of ParseReply for comparison.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "protocol/reply_parser.h"

namespace understudy::protocol {
namespace {

// 10k small replies of the kinds a cache workload sees most: +OK, integers,
// short bulks, nulls, errors, small arrays of bulks, a few RESP3 types.
std::string MixedSmallReplies(int* count) {
  const std::vector<std::string> kinds = {
      "+OK\r\n",
      ":1\r\n",
      ":1234567\r\n",
      "$3\r\nfoo\r\n",
      "$16\r\nvalue-0000000001\r\n",
      "$-1\r\n",
      "_\r\n",
      "-ERR unknown command\r\n",
      "*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n",
      "*3\r\n$1\r\na\r\n$-1\r\n:7\r\n",
      ",3.25\r\n",
      "#t\r\n",
      "%1\r\n$5\r\nfield\r\n$5\r\nvalue\r\n",
  };
  std::mt19937_64 rng(1);
  std::string stream;
  constexpr int kReplies = 10000;
  for (int i = 0; i < kReplies; ++i) stream += kinds[rng() % kinds.size()];
  *count = kReplies;
  return stream;
}

void BM_ScanMixedSmallReplies(benchmark::State& state) {
  int count = 0;
  const std::string stream = MixedSmallReplies(&count);
  ReplyScanner scanner;
  for (auto _ : state) {
    std::string_view rest(stream);
    while (!rest.empty()) {
      size_t length = 0;
      if (scanner.Scan(rest, &length) != ScanStatus::kComplete) {
        state.SkipWithError("unexpected scan status");
        return;
      }
      rest.remove_prefix(length);
    }
    benchmark::DoNotOptimize(rest.data());
  }
  state.SetItemsProcessed(state.iterations() * count);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(stream.size()));
}
BENCHMARK(BM_ScanMixedSmallReplies);

void BM_ScanOk(benchmark::State& state) {
  ReplyScanner scanner;
  size_t length = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(scanner.Scan("+OK\r\n", &length));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScanOk);

void BM_ParseMixedSmallReplies(benchmark::State& state) {
  int count = 0;
  const std::string stream = MixedSmallReplies(&count);
  ReplyValue value;
  for (auto _ : state) {
    std::string_view rest(stream);
    while (!rest.empty()) {
      size_t consumed = 0;
      if (ParseReply(rest, &value, &consumed) != ScanStatus::kComplete) {
        state.SkipWithError("unexpected parse status");
        return;
      }
      rest.remove_prefix(consumed);
    }
  }
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_ParseMixedSmallReplies);

// A 1 MiB bulk arriving in 16 KiB reads: resumption must not rescan.
void BM_ScanLargeBulkInReads(benchmark::State& state) {
  const std::string reply = "$1048576\r\n" + std::string(1 << 20, 'v') + "\r\n";
  constexpr size_t kRead = 16 * 1024;
  ReplyScanner scanner;
  for (auto _ : state) {
    size_t length = 0;
    ScanStatus status = ScanStatus::kNeedMore;
    for (size_t available = kRead; status == ScanStatus::kNeedMore; available += kRead) {
      status = scanner.Scan(std::string_view(reply).substr(0, std::min(available, reply.size())),
                            &length);
    }
    benchmark::DoNotOptimize(length);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(reply.size()));
}
BENCHMARK(BM_ScanLargeBulkInReads);

}  // namespace
}  // namespace understudy::protocol

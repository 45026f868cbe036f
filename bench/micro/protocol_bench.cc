// Micro benchmarks of the RESP codec: request parsing and reply writing,
// the two things every command pays for.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "protocol/reply_writer.h"
#include "protocol/request_parser.h"

namespace understudy::protocol {
namespace {

std::string Multibulk(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args)
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  return out;
}

// Parses every request in `stream` once per iteration, as a connection
// would after one read.
void ParseStream(benchmark::State& state, const std::string& stream, int requests) {
  RequestParser parser;
  for (auto _ : state) {
    std::string_view pending(stream);
    while (!pending.empty()) {
      ParseStatus status = parser.Parse(pending, true);
      if (status != ParseStatus::kCommand) {
        state.SkipWithError("unexpected parse status");
        return;
      }
      benchmark::DoNotOptimize(parser.args().data());
      pending.remove_prefix(parser.consumed());
    }
  }
  state.SetItemsProcessed(state.iterations() * requests);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(stream.size()));
}

void BM_ParseGet(benchmark::State& state) {
  ParseStream(state, Multibulk({"GET", "key:000000001234"}), 1);
}
BENCHMARK(BM_ParseGet);

// SET key value with the value size as the argument.
void BM_ParseSet(benchmark::State& state) {
  ParseStream(state, Multibulk({"SET", "key:000000001234", std::string(state.range(0), 'v')}), 1);
}
BENCHMARK(BM_ParseSet)->Arg(16)->Arg(1024)->Arg(64 * 1024);

// redis-benchmark -P 16 style: 16 SETs arriving in one read.
void BM_ParsePipelined16(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 16; ++i) {
    stream += Multibulk({"SET", "key:00000000" + std::to_string(1000 + i), std::string(16, 'v')});
  }
  ParseStream(state, stream, 16);
}
BENCHMARK(BM_ParsePipelined16);

void BM_ParseInline(benchmark::State& state) {
  ParseStream(state, "SET key:000000001234 some-value-16b\r\n", 1);
}
BENCHMARK(BM_ParseInline);

// A 64 KiB SET arriving in 4 KiB reads: measures resumption, which must not
// rescan the request from its start on every read.
void BM_ParseLargeBulkInReads(benchmark::State& state) {
  const std::string request = Multibulk({"SET", "k", std::string(64 * 1024, 'v')});
  constexpr size_t kRead = 4096;
  RequestParser parser;
  for (auto _ : state) {
    size_t available = 0;
    ParseStatus status = ParseStatus::kNeedMore;
    while (status == ParseStatus::kNeedMore) {
      available = std::min(request.size(), available + kRead);
      status = parser.Parse(std::string_view(request).substr(0, available), true);
    }
    benchmark::DoNotOptimize(parser.args().data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(request.size()));
}
BENCHMARK(BM_ParseLargeBulkInReads);

// Bulk replies of the argument's size into a reused output buffer.
void BM_ReplyBulk(benchmark::State& state) {
  const std::string value(state.range(0), 'v');
  std::string out;
  out.reserve(1 << 20);
  for (auto _ : state) {
    ReplyWriter writer(&out, state.range(1) == 3 ? RespVersion::kResp3 : RespVersion::kResp2);
    for (int i = 0; i < 64; ++i) writer.Bulk(value);
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_ReplyBulk)->Args({16, 2})->Args({1024, 2})->Args({16, 3});

void BM_ReplyInteger(benchmark::State& state) {
  std::string out;
  out.reserve(1 << 16);
  int64_t value = 1234567;
  for (auto _ : state) {
    ReplyWriter writer(&out, RespVersion::kResp2);
    for (int i = 0; i < 64; ++i) writer.Integer(value + i);
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_ReplyInteger);

// KEYS/SCAN-style reply: a deferred array header inserted in front of items.
void BM_ReplyDeferredArray(benchmark::State& state) {
  std::string out;
  out.reserve(1 << 16);
  for (auto _ : state) {
    ReplyWriter writer(&out, RespVersion::kResp2);
    size_t mark = writer.BeginDeferred();
    for (int i = 0; i < 100; ++i) writer.Bulk("key:000000001234");
    writer.EndDeferredArray(mark, 100);
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ReplyDeferredArray);

}  // namespace
}  // namespace understudy::protocol

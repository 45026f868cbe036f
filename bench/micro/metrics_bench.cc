// The per-command cost of the admin port's figures: Server::Execute of GET
// and SET with the per-command metrics off (Arg 0) and on (Arg 1), no
// sockets. The difference per iteration is what a command pays for
// understudy_commands_total and understudy_command_duration_seconds.
//   bench/micro/metrics_bench --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "server/server.h"

namespace understudy::server {
namespace {

void RunCommands(benchmark::State& state, std::vector<std::string_view> args) {
  SystemClock clock;
  Server server(Config{}, &clock);
  if (state.range(0) != 0) server.EnableCommandMetrics();
  ClientSession& client = server.AddClient();
  const std::vector<std::string_view> set = {"SET", "key:1", "value"};
  server.Execute(client, set);
  for (auto _ : state) {
    client.reply.clear();
    server.Execute(client, args);
    benchmark::DoNotOptimize(client.reply.data());
  }
}

void BM_ExecuteGet(benchmark::State& state) { RunCommands(state, {"GET", "key:1"}); }
void BM_ExecuteSet(benchmark::State& state) { RunCommands(state, {"SET", "key:1", "value"}); }

BENCHMARK(BM_ExecuteGet)->Arg(0)->Arg(1);
BENCHMARK(BM_ExecuteSet)->Arg(0)->Arg(1);

}  // namespace
}  // namespace understudy::server

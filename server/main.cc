// understudy [CONFIG-FILE] [--directive value ...]
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <utility>

#include "common/clock.h"
#include "common/logging.h"
#include "server/admin_http.h"
#include "server/config.h"
#include "server/network.h"
#include "server/primary_side.h"
#include "server/server.h"
#include "server/status_client.h"
#include "server/systemd_notify.h"
#include "server/version.h"

namespace {

// The process logger: stderr or `logfile`, in the `log-format` the config
// names (common/logging.h).
void SetUpLogging(const understudy::server::Config& config) {
  understudy::LogFormat format = understudy::LogFormat::kHuman;
  understudy::ParseLogFormat(config.log_format, &format);
  understudy::SetUpProcessLogger(config.logfile, config.loglevel, format);
}

}  // namespace

int main(int argc, char** argv) {
  using understudy::server::Config;
  using understudy::server::ConfigStore;

  if (argc == 2 &&
      (std::string_view(argv[1]) == "--version" || std::string_view(argv[1]) == "-v")) {
    std::printf("understudy v=%s\n", understudy::server::kVersion);
    return 0;
  }
  // understudy --status HOST:PORT: a summary of a running daemon (exit codes
  // in server/status_client.h).
  if (argc >= 2 && std::string_view(argv[1]) == "--status") {
    return understudy::server::RunStatus(argc == 3 ? argv[2] : "");
  }

  Config config;
  ConfigStore store(&config);
  std::string error;
  if (!store.LoadCommandLine(argc, argv, &error)) {
    std::fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (understudy %s) ***\n%s\n",
                 understudy::server::kVersion, error.c_str());
    return 1;
  }
  SetUpLogging(config);
  // A client that goes away mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  understudy::SystemClock clock;
  understudy::server::Server server(std::move(config), &clock);
  boost::asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  understudy::server::Network network(io, server);
  if (!network.Listen(&error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  // Under systemd (Type=notify): READY=1 when clients are admitted,
  // STOPPING=1 on SIGTERM, WATCHDOG=1 while the loop turns.
  understudy::server::SystemdNotifier systemd(io);
  systemd.Start();
  // The admin HTTP port, on the same loop; /ready says 503 until clients
  // are admitted (below).
  std::unique_ptr<understudy::server::AdminHttpServer> admin;
  if (server.config().admin_port != 0) {
    admin = std::make_unique<understudy::server::AdminHttpServer>(io, server);
    if (!admin->Listen(&error)) {
      spdlog::critical("{}", error);
      return 1;
    }
    server.EnableCommandMetrics();
    admin->Start();
  }
  auto admit_clients = [&network, &admin, &systemd] {
    network.Start();
    if (admin) admin->set_ready(true);
    systemd.NotifyReady();
  };
  // With a primary configured, requests go through the primary link.
  std::unique_ptr<understudy::server::PrimarySide> primary_side;
  if (server.config().has_primary()) {
    primary_side = std::make_unique<understudy::server::PrimarySide>(io, server, network, clock);
    if (!primary_side->Start(&error)) {
      spdlog::critical("{}", error);
      return 1;
    }
    // Clients are admitted once the first probe has told healthy from
    // down (a refused or timed-out probe is quick); 2 s at the latest.
    primary_side->WhenLinkReady(admit_clients, 2000);
  } else {
    spdlog::info("understudy {} started, standalone mode, pid={}", understudy::server::kVersion,
                 ::getpid());
    admit_clients();
  }
  io.run();
  // Shutdown (SIGTERM, SIGINT, SHUTDOWN): no more connections are accepted;
  // the journal is flushed and fsynced, the snapshot writer joined, by
  // PrimarySide::Stop below (docs/operations.md, "Shutdown").
  systemd.NotifyStopping();
  systemd.Stop();
  if (admin) admin->Stop();
  if (primary_side) primary_side->Stop();
  spdlog::info("understudy is now ready to exit, bye bye...");
  return 0;
}

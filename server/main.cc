// understudy [CONFIG-FILE] [--directive value ...]
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <utility>

#include "common/clock.h"
#include "server/config.h"
#include "server/network.h"
#include "server/primary_side.h"
#include "server/server.h"
#include "server/version.h"

namespace {

spdlog::level::level_enum LevelFromName(const std::string& name) {
  if (name == "debug") return spdlog::level::debug;
  if (name == "verbose") return spdlog::level::debug;
  if (name == "warning") return spdlog::level::warn;
  return spdlog::level::info;  // "notice"
}

void SetUpLogging(const understudy::server::Config& config) {
  std::shared_ptr<spdlog::logger> logger;
  if (config.logfile.empty()) {
    logger = spdlog::stderr_color_mt("understudy");
  } else {
    logger = spdlog::basic_logger_mt("understudy", config.logfile);
  }
  logger->set_pattern("%P:M %d %b %Y %H:%M:%S.%e %^%l%$ %v");
  logger->set_level(LevelFromName(config.loglevel));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
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
    primary_side->WhenLinkReady([&network] { network.Start(); }, 2000);
  } else {
    spdlog::info("understudy {} started, standalone mode, pid={}", understudy::server::kVersion,
                 ::getpid());
    network.Start();
  }
  io.run();
  if (primary_side) primary_side->Stop();
  spdlog::info("understudy is now ready to exit, bye bye...");
  return 0;
}

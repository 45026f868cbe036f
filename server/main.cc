// understudy [CONFIG-FILE] [--directive value ...]
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <utility>

#include "common/clock.h"
#include "replication/mirror.h"
#include "replication/primary_link.h"
#include "server/config.h"
#include "server/network.h"
#include "server/proxy.h"
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

understudy::replication::PrimaryLinkOptions LinkOptionsFrom(
    const understudy::server::Config& config) {
  understudy::replication::PrimaryLinkOptions options;
  options.host = config.primary_host;
  options.port = config.primary_port;
  for (const auto& sentinel : config.primary_sentinels) {
    options.sentinels.emplace_back(sentinel.host, sentinel.port);
  }
  options.sentinel_master_name = config.primary_name;
  options.user = config.primary_user;
  options.password = config.primary_password;
  options.tls = config.primary_tls;
  options.tls_ca_cert_file = config.primary_tls_ca_cert_file;
  options.tls_cert_file = config.primary_tls_cert_file;
  options.tls_key_file = config.primary_tls_key_file;
  options.tls_server_name = config.primary_tls_server_name;
  options.timeout_ms = config.primary_timeout_ms;
  options.probe_interval_ms = config.primary_probe_interval_ms;
  options.probe_max_interval_ms = config.primary_probe_max_interval_ms;
  options.connections = config.primary_connections;
  options.pinned_max = config.primary_pinned_max;
  return options;
}

understudy::replication::Mirror::Options MirrorOptionsFrom(
    const understudy::server::Config& config, const understudy::replication::PrimaryLink& link) {
  understudy::replication::Mirror::Options options;
  options.connection = link.ConnectionOptions(false, 0);
  auto count = [](int64_t value) { return static_cast<size_t>(std::max<int64_t>(0, value)); };
  options.limits.hash = {count(config.hash_max_listpack_entries),
                         count(config.hash_max_listpack_value)};
  options.limits.set.max_intset_entries = config.set_max_intset_entries;
  options.limits.zset = {count(config.zset_max_listpack_entries),
                         count(config.zset_max_listpack_value)};
  options.limits.list_max_listpack_size = config.list_max_listpack_size;
  return options;
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
  std::unique_ptr<understudy::replication::PrimaryLink> link;
  std::unique_ptr<understudy::server::Proxy> proxy;
  std::unique_ptr<understudy::replication::Mirror> mirror;
  if (server.config().has_primary()) {
    try {
      link = std::make_unique<understudy::replication::PrimaryLink>(
          io, LinkOptionsFrom(server.config()), clock);
    } catch (const std::exception& e) {
      spdlog::critical("cannot set up the primary link: {}", e.what());
      return 1;
    }
    proxy = std::make_unique<understudy::server::Proxy>(server, *link);
    network.set_proxy(proxy.get());
    mirror = std::make_unique<understudy::replication::Mirror>(
        io, MirrorOptionsFrom(server.config(), *link), proxy->classifier(), server.db(0), clock);
    if (mirror->enabled()) {
      proxy->set_mirror(mirror.get());
      mirror->set_failure_listener(
          [&link](understudy::replication::FailureKind kind, std::string_view detail) {
            link->ReportFailure(kind, detail);
          });
      // The mirror resyncs each time the primary is healthy again and is
      // stale from the moment it is not.
      link->set_state_listener([&link, &mirror](understudy::replication::PrimaryState from,
                                                understudy::replication::PrimaryState to,
                                                std::string_view) {
        if (to == understudy::replication::PrimaryState::kHealthy) {
          mirror->Start(link->options().host, link->options().port);
        } else if (from == understudy::replication::PrimaryState::kHealthy) {
          mirror->Stop();
        }
      });
    }
    spdlog::info("understudy {} started, proxy mode for primary {}, pid={}",
                 understudy::server::kVersion,
                 link->address().empty() ? "(from Sentinel)" : link->address(), ::getpid());
    link->Start();
  } else {
    spdlog::info("understudy {} started, standalone mode, pid={}", understudy::server::kVersion,
                 ::getpid());
  }
  network.Start();
  io.run();
  if (mirror) mirror->Stop();
  if (link) {
    // Let the closed connections' handlers run and let go of them before
    // the io_context they belong to goes away.
    link->Stop();
    io.restart();
    io.poll();
  }
  spdlog::info("understudy is now ready to exit, bye bye...");
  return 0;
}

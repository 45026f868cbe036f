#include "server/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "server/version.h"

namespace understudy::server {

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io)
    : io_(io), watchdog_timer_(io), signals_(io, SIGINT, SIGTERM) {}

SystemdNotifier::~SystemdNotifier() { Stop(); }

void SystemdNotifier::Start() {
  uint64_t watchdog_us = 0;
  // > 0 when the unit set WatchdogSec for this very process.
  if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0) {
    watchdog_interval_us_ = watchdog_us / 2;
    spdlog::info("systemd watchdog: WATCHDOG=1 every {} ms", watchdog_interval_us_ / 1000);
    ScheduleWatchdog();
  }
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) NotifyStopping();
  });
}

void SystemdNotifier::NotifyReady() {
  const std::string status = std::string("READY=1\nSTATUS=understudy ") + kVersion +
                             " accepting connections\nMAINPID=" + std::to_string(::getpid());
  sd_notify(0, status.c_str());
}

void SystemdNotifier::NotifyStopping() {
  if (stopping_sent_) return;
  stopping_sent_ = true;
  sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}

void SystemdNotifier::Stop() {
  if (stopped_) return;
  stopped_ = true;
  watchdog_timer_.cancel();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
}

void SystemdNotifier::ScheduleWatchdog() {
  sd_notify(0, "WATCHDOG=1");
  watchdog_timer_.expires_after(std::chrono::microseconds(watchdog_interval_us_));
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    ScheduleWatchdog();
  });
}

}  // namespace understudy::server

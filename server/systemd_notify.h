#pragma once

#include <boost/asio.hpp>
#include <memory>

namespace understudy::server {

// Talks to systemd when the process runs as a Type=notify unit
// (deploy/understudy.service); without $NOTIFY_SOCKET every call does
// nothing, so the daemon behaves the same outside systemd.
//
// READY=1 once clients are admitted; STOPPING=1 as soon as SIGTERM or
// SIGINT arrives (its own signal_set beside the network's: Asio tells every
// set waiting for a signal); WATCHDOG=1 every half of the unit's
// WatchdogSec, from a timer on the event loop, so a loop stuck for
// WatchdogSec gets the process restarted.
class SystemdNotifier {
 public:
  explicit SystemdNotifier(boost::asio::io_context& io);
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // Starts the watchdog timer (when the unit sets WatchdogSec) and the
  // STOPPING=1 signal watch. Returns immediately.
  void Start();
  // Clients are admitted: READY=1 with a status line.
  void NotifyReady();
  // The process is going down (also sent on the signal): STOPPING=1, once.
  void NotifyStopping();
  // Cancels the timer and the signal watch.
  void Stop();

 private:
  void ScheduleWatchdog();

  boost::asio::io_context& io_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::signal_set signals_;
  uint64_t watchdog_interval_us_ = 0;  // half of WatchdogSec; 0: off
  bool stopping_sent_ = false;
  bool stopped_ = false;
};

}  // namespace understudy::server

#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/server.h"

namespace understudy::server {

// The process's network side on one Boost.Asio event loop: TCP and unix
// socket listeners, client connections, the cron timer and signals. All
// commands run on this loop's thread, so the keyspace needs no locks.
class Network {
 public:
  Network(boost::asio::io_context& io, Server& server);
  ~Network();

  // Opens the configured listeners. Returns false (with *error) if one
  // cannot be opened, e.g. the port is taken.
  bool Listen(std::string* error);
  // Starts accepting, the cron and signal handling. Returns immediately;
  // the caller runs the io_context.
  void Start();
  // Stops accepting and closes every connection (SHUTDOWN, end of Drain).
  void Stop();
  // SIGTERM, SIGINT: stops accepting and reading requests, lets those
  // already running finish (replies from the primary included), then
  // Stop()s, after shutdown-timeout seconds at the latest.
  void Drain();

  Server& server() { return server_; }
  // Routes clients' requests through the primary link (call before Start).
  void set_proxy(Proxy* proxy) { proxy_ = proxy; }
  boost::asio::io_context& io() { return io_; }
  // Called by a connection when the server wants the process to stop.
  void OnShutdownRequested();

  // The poll set that tells connections when their client has sent
  // something: `fd` (of client `client_id`) is added (`registered` false)
  // or changed, waiting for readability or not. False (errno set) on error.
  bool SetReadInterest(int fd, uint64_t client_id, bool readable, bool registered);
  void ForgetReadInterest(int fd);
  // While a script runs past busy-reply-threshold (called from its hook,
  // inside a handler): accepts pending connections and serves the input of
  // every client but `running_client` synchronously, replies written with
  // non-blocking sends. Never runs the io_context.
  void ServeWhileBusy(uint64_t running_client);

 private:
  class Connection;
  void AcceptTcp(size_t index);
  void AcceptUnix();
  void Admit(boost::asio::generic::stream_protocol::socket socket, bool is_unix);
  void ScheduleCron();
  void CloseIdleClients();
  // Blocked clients' deadlines: one timer, armed for the earliest deadline
  // it has been told of (precise to the millisecond, unlike the cron).
  void ArmBlockTimer(int64_t deadline_ms);
  void OnBlockTimer();
  void WaitReadable();
  void OnReadable();
  // Drain(): Stop()s once no connection is left or at `deadline`.
  void WaitDrained(std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context& io_;
  Server& server_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> tcp_acceptors_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> unix_acceptor_;
  boost::asio::steady_timer cron_timer_;
  boost::asio::steady_timer block_timer_;
  int64_t block_timer_deadline_ = 0;  // 0: not armed
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;  // Drain()'s polling
  bool draining_ = false;
  // A level-triggered epoll set of client sockets, itself watched by the
  // io_context: clients are read from only when they have sent something.
  boost::asio::posix::stream_descriptor read_poll_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections_;  // by client id
  bool stopping_ = false;
  Proxy* proxy_ = nullptr;
};

}  // namespace understudy::server

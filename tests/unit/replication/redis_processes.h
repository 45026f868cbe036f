#pragma once

// Real redis-server and redis-sentinel processes for replication tests: each
// on a free loopback port, in its own temporary directory, killed by PID when
// its owner goes out of scope. The helpers block (plain sockets with
// timeouts); they are for test code only, never for the io thread.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/reply_parser.h"
#include "protocol/request_writer.h"

extern char** environ;

namespace understudy::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its content.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/understudy-test-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }  // empty if creation failed

 private:
  std::string path_;
};

// A child process whose stdout and stderr go to `log_path`; SIGKILLed and
// reaped when destroyed (or by Kill()).
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts `argv` (argv[0] is the program's full path). False if the spawn failed.
  bool Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    Kill();
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return false;
    pid_ = pid;
    return true;
  }

  pid_t pid() const { return pid_; }
  // False once the process has exited (it is then reaped, and pid() is -1).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == 0) return true;
    pid_ = -1;
    return false;
  }
  void Signal(int signal_number) {
    if (pid_ > 0) kill(pid_, signal_number);
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);  // also ends a SIGSTOPped process
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// A loopback TCP port nobody listens on right now (bound to port 0, read
// back, released). Another process may take it before us; callers check
// that what answers there is theirs.
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// Sends one command to 127.0.0.1:port (after AUTH when `password` is given)
// and returns its reply, or AUTH's error; nullopt on refusal, timeout or a
// malformed reply.
inline std::optional<protocol::ReplyValue> RedisCommand(int port,
                                                        const std::vector<std::string>& args,
                                                        const std::string& password = "",
                                                        int timeout_ms = 1000) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  std::optional<protocol::ReplyValue> result;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    std::string request;
    int replies_to_skip = 0;
    if (!password.empty()) {
      protocol::AppendCommand(&request, {"AUTH", password});
      replies_to_skip = 1;
    }
    std::vector<std::string_view> views(args.begin(), args.end());
    protocol::AppendCommand(&request, views);
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      std::string input;
      char chunk[4096];
      while (true) {
        protocol::ReplyValue reply;
        size_t consumed = 0;
        protocol::ScanStatus status = protocol::ParseReply(input, &reply, &consumed);
        if (status == protocol::ScanStatus::kComplete) {
          if (replies_to_skip > 0 && !reply.IsError()) {
            --replies_to_skip;
            input.erase(0, consumed);
            continue;
          }
          result = std::move(reply);
          break;
        }
        if (status == protocol::ScanStatus::kError) break;
        ssize_t received = recv(fd, chunk, sizeof(chunk), 0);
        if (received <= 0) break;
        input.append(chunk, static_cast<size_t>(received));
      }
    }
  }
  close(fd);
  return result;
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The value of `field` in an INFO reply ("field:value" lines), or "".
inline std::string InfoField(int port, const std::string& section, const std::string& field,
                             const std::string& password = "") {
  std::optional<protocol::ReplyValue> reply = RedisCommand(port, {"INFO", section}, password);
  if (!reply || reply->IsError()) return "";
  std::string_view text = reply->str;
  std::string key = field + ":";
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find("\r\n", at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (line.starts_with(key)) return std::string(line.substr(key.size()));
    at = end + 2;
  }
  return "";
}

// A redis-server or redis-sentinel process of ours on a free loopback port.
class RedisProcess {
 public:
  // Starts redis-server with `extra_args` (e.g. {"--replicaof", "127.0.0.1 6379"}).
  bool StartServer(const std::string& dir, const std::string& name,
                   const std::vector<std::string>& extra_args = {}) {
    return StartWithRetries([&](int port) {
      std::vector<std::string> argv = {"/usr/bin/redis-server", "--port", std::to_string(port),
                                       "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                       "--dir", dir,
                                       // Replicas sync at once instead of after 5 s.
                                       "--repl-diskless-sync-delay", "0"};
      argv.insert(argv.end(), extra_args.begin(), extra_args.end());
      return process_.Spawn(argv, dir + "/" + name + ".log");
    });
  }

  // Starts redis-sentinel monitoring `master_name` at 127.0.0.1:master_port
  // with quorum 1, fast down-detection and a short failover timeout, plus
  // `requirepass` when `password` is given.
  bool StartSentinel(const std::string& dir, const std::string& name, int master_port,
                     const std::string& master_name = "mymaster",
                     const std::string& password = "") {
    password_ = password;
    config_path_ = dir + "/" + name + ".conf";
    return StartWithRetries([&](int port) {
      {
        std::ofstream config(config_path_, std::ios::trunc);
        config << "port " << port << "\n"
               << "bind 127.0.0.1\n"
               << "dir " << dir << "\n"
               << "sentinel monitor " << master_name << " 127.0.0.1 " << master_port << " 1\n"
               << "sentinel down-after-milliseconds " << master_name << " 500\n"
               << "sentinel failover-timeout " << master_name << " 3000\n";
        if (!password.empty()) config << "requirepass " << password << "\n";
      }
      return process_.Spawn({"/usr/bin/redis-sentinel", config_path_}, dir + "/" + name + ".log");
    });
  }

  // Starts the sentinel again on the same port with the configuration it
  // rewrote (which keeps what it learned).
  bool RestartSentinel(const std::string& log_path) {
    process_.Kill();
    if (!process_.Spawn({"/usr/bin/redis-sentinel", config_path_}, log_path)) return false;
    return WaitUntilOurs();
  }

  int port() const { return port_; }
  ChildProcess& process() { return process_; }

 private:
  template <typename Launch>
  bool StartWithRetries(Launch launch) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreeLoopbackPort();
      if (port_ == 0 || !launch(port_)) continue;
      if (WaitUntilOurs()) return true;
      process_.Kill();  // the port was taken meanwhile, or it failed to start
    }
    return false;
  }

  // True once the process listening on port_ reports our PID.
  bool WaitUntilOurs() {
    std::string pid = std::to_string(process_.pid());
    bool ours = false;
    WaitFor(
        [&] {
          if (!process_.running()) return true;  // exited: no point waiting
          ours = InfoField(port_, "server", "process_id", password_) == pid;
          return ours;
        },
        std::chrono::seconds(5));
    return ours;
  }

  ChildProcess process_;
  int port_ = 0;
  std::string config_path_;
  std::string password_;
};

}  // namespace understudy::testing

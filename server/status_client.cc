// understudy --status HOST:PORT
#include "server/status_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <vector>

namespace understudy::server {
namespace {

constexpr int kTimeoutSeconds = 3;

// A blocking RESP connection with send/receive timeouts: enough for a few
// INFO round trips, and a hung daemon cannot hang the caller.
class StatusConnection {
 public:
  ~StatusConnection() {
    if (fd_ >= 0) ::close(fd_);
  }

  // False with *error when no address of host:port accepts a connection.
  bool Connect(const std::string& host, const std::string& port, std::string* error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      *error = ::gai_strerror(rc);
      return false;
    }
    *error = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      timeval timeout{kTimeoutSeconds, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        fd_ = fd;
        break;
      }
      *error = std::strerror(errno);
      ::close(fd);
    }
    ::freeaddrinfo(found);
    return fd_ >= 0;
  }

  // Sends one command; returns the reply's text: a bulk string's payload,
  // or a simple/error reply's line (error replies start with '-'). nullopt
  // (with *error) on a broken connection or an unexpected reply.
  std::optional<std::string> Command(const std::vector<std::string>& args, std::string* error) {
    std::string request = "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& arg : args) {
      request += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
    }
    for (size_t sent = 0; sent < request.size();) {
      ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        *error = n < 0 ? std::strerror(errno) : "connection closed";
        return std::nullopt;
      }
      sent += static_cast<size_t>(n);
    }
    std::string line;
    if (!ReadLine(&line, error)) return std::nullopt;
    if (line.empty()) {
      *error = "empty reply";
      return std::nullopt;
    }
    if (line[0] == '+' || line[0] == '-') return line;
    if (line[0] != '$' && line[0] != '=') {
      *error = "unexpected reply '" + line + "'";
      return std::nullopt;
    }
    int64_t length = -1;
    auto [end, ec] = std::from_chars(line.data() + 1, line.data() + line.size(), length);
    if (ec != std::errc() || length < 0 || length > (64 << 20)) {
      *error = "unexpected reply '" + line + "'";
      return std::nullopt;
    }
    std::string payload;
    if (!ReadExactly(static_cast<size_t>(length) + 2, &payload, error)) return std::nullopt;
    payload.resize(static_cast<size_t>(length));
    if (line[0] == '=' && payload.size() >= 4) payload.erase(0, 4);  // "txt:"
    return payload;
  }

 private:
  bool Fill(std::string* error) {
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      *error = n < 0 ? (errno == EAGAIN ? "timed out" : std::strerror(errno))
                     : "connection closed by the server";
      return false;
    }
    input_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  bool ReadLine(std::string* line, std::string* error) {
    size_t at;
    while ((at = input_.find("\r\n")) == std::string::npos) {
      if (!Fill(error)) return false;
    }
    line->assign(input_, 0, at);
    input_.erase(0, at + 2);
    return true;
  }
  bool ReadExactly(size_t count, std::string* out, std::string* error) {
    while (input_.size() < count) {
      if (!Fill(error)) return false;
    }
    out->assign(input_, 0, count);
    input_.erase(0, count);
    return true;
  }

  int fd_ = -1;
  std::string input_;
};

std::map<std::string, std::string> ParseInfo(const std::string& text) {
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (!line.empty() && line[0] != '#' && colon != std::string::npos) {
      fields[line.substr(0, colon)] = line.substr(colon + 1);
    }
    start = end + 1;
  }
  return fields;
}

// "a=1,b=x" (a class line) as a map.
std::map<std::string, std::string> ParseAttributes(const std::string& text) {
  std::map<std::string, std::string> attributes;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(start, end - start);
    size_t eq = part.find('=');
    if (eq != std::string::npos) attributes[part.substr(0, eq)] = part.substr(eq + 1);
    start = end + 1;
  }
  return attributes;
}

std::string Get(const std::map<std::string, std::string>& map, const std::string& key,
                const std::string& fallback = "?") {
  auto it = map.find(key);
  return it == map.end() ? fallback : it->second;
}

std::string Duration(int64_t ms) {
  char buf[32];
  if (ms < 10'000) {
    std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(ms) / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  }
  return buf;
}

std::string UtcTime(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return buf;
}

int64_t ToInt(const std::string& text) {
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

struct Palette {
  const char* red = "";
  const char* yellow = "";
  const char* green = "";
  const char* bold = "";
  const char* reset = "";
};

const char* StateColour(const Palette& p, const std::string& state) {
  if (state == "healthy" || state == "none") return p.green;
  if (state == "down") return p.red;
  return p.yellow;  // suspect, recovering
}

}  // namespace

int RunStatus(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) {
    std::fprintf(stderr, "usage: understudy --status HOST:PORT\n");
    return kStatusUsage;
  }
  std::string host(address.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:6380
  }
  const std::string port(address.substr(colon + 1));
  const std::string where(address);

  StatusConnection conn;
  std::string error;
  if (!conn.Connect(host, port, &error)) {
    std::fprintf(stderr, "understudy --status: cannot connect to %s: %s\n", where.c_str(),
                 error.c_str());
    return kStatusUnreachable;
  }
  if (const char* password = std::getenv("REDISCLI_AUTH"); password && *password) {
    auto reply = conn.Command({"AUTH", password}, &error);
    if (!reply || (*reply)[0] == '-') {
      std::fprintf(stderr, "understudy --status: %s: AUTH failed: %s\n", where.c_str(),
                   reply ? reply->c_str() + 1 : error.c_str());
      return kStatusUnreachable;
    }
  }
  std::map<std::string, std::string> info;
  for (const char* section : {"server", "understudy"}) {
    auto reply = conn.Command({"INFO", section}, &error);
    if (!reply || (!reply->empty() && (*reply)[0] == '-')) {
      std::fprintf(stderr, "understudy --status: %s: INFO %s failed: %s\n", where.c_str(), section,
                   reply ? reply->c_str() + 1 : error.c_str());
      return kStatusUnreachable;
    }
    info.merge(ParseInfo(*reply));
  }
  if (info.find("primary_state") == info.end()) {
    std::fprintf(stderr,
                 "understudy --status: %s does not look like understudy (no INFO understudy)\n",
                 where.c_str());
    return kStatusUnreachable;
  }

  Palette p;
  if (::isatty(STDOUT_FILENO)) p = {"\033[31m", "\033[33m", "\033[32m", "\033[1m", "\033[0m"};
  const std::string mode = Get(info, "mode");
  const std::string state = Get(info, "primary_state");
  const bool degraded = Get(info, "degraded", "0") == "1";

  std::printf("%sunderstudy %s%s at %s, %s mode, pid %s, up %s\n", p.bold,
              Get(info, "understudy_version", Get(info, "redis_version")).c_str(), p.reset,
              where.c_str(), mode.c_str(), Get(info, "process_id").c_str(),
              Duration(ToInt(Get(info, "uptime_in_seconds", "0")) * 1000).c_str());
  if (mode == "proxy") {
    const int64_t age_ms = ToInt(Get(info, "primary_state_age_ms", "0"));
    std::printf("primary   %s%s%s since %s (%s ago), %s\n", StateColour(p, state), state.c_str(),
                p.reset, UtcTime(ToInt(Get(info, "primary_state_since_ms", "0"))).c_str(),
                Duration(age_ms).c_str(), Get(info, "primary_address").c_str());
    const std::string failure = Get(info, "primary_last_failure", "");
    if (state != "healthy" && !failure.empty())
      std::printf("          last failure: %s\n", failure.c_str());
  } else {
    std::printf("primary   %snone%s (standalone)\n", p.green, p.reset);
  }
  std::printf("degraded  %s%s%s\n", degraded ? p.red : p.green, degraded ? "yes" : "no", p.reset);
  if (info.count("mirror_state")) {
    const std::string mirror = Get(info, "mirror_state");
    std::printf("mirror    %s%s%s", mirror == "live" ? p.green : p.yellow, mirror.c_str(), p.reset);
    const int64_t stale_ms = ToInt(Get(info, "mirror_stale_ms", "0"));
    if (stale_ms > 0) std::printf(", stale for %s", Duration(stale_ms).c_str());
    std::printf("\n");
  }
  if (info.count("journal_records_pending")) {
    const int64_t pending = ToInt(Get(info, "journal_records_pending"));
    const bool full = Get(info, "journal_full", "0") == "1";
    std::printf("journal   %s%lld pending%s, %s bytes, outage %s%s%s%s\n",
                pending > 0 ? p.yellow : "", static_cast<long long>(pending),
                pending > 0 ? p.reset : "", Get(info, "journal_bytes").c_str(),
                Get(info, "journal_outage", "0") == "1" ? "yes" : "no", full ? p.red : "",
                full ? ", FULL" : "", full ? p.reset : "");
  }
  const int64_t classes = ToInt(Get(info, "classes", "0"));
  if (classes > 0)
    std::printf("%-16s %-8s %-10s %-7s %s\n", "class", "outage", "keys", "mirror", "staleness");
  for (const auto& [name, value] : info) {
    if (name.rfind("class_", 0) != 0) continue;
    const auto attributes = ParseAttributes(value);
    std::string staleness = "-";
    const char* colour = "";
    if (attributes.count("staleness_ms")) {
      staleness = Duration(ToInt(Get(attributes, "staleness_ms")));
      if (Get(attributes, "over_max_staleness", "0") == "1") {
        staleness += " (over max)";
        colour = p.red;
      }
    }
    std::printf("%-16s %-8s %-10s %-7s %s%s%s\n", name.substr(6).c_str(),
                Get(attributes, "outage").c_str(), Get(attributes, "keys").c_str(),
                Get(attributes, "mirror").c_str(), colour, staleness.c_str(),
                *colour ? p.reset : "");
  }
  return degraded ? kStatusDegraded : kStatusOk;
}

}  // namespace understudy::server

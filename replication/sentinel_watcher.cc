#include "replication/sentinel_watcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <charconv>
#include <chrono>
#include <deque>
#include <random>
#include <string_view>
#include <utility>

#include "common/repeat_limited_log.h"
#include "protocol/reply_parser.h"
#include "protocol/request_writer.h"

namespace understudy::replication {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view kSwitchMasterChannel = "+switch-master";
constexpr size_t kReadChunk = 4096;
// A sentinel's replies and messages are a few dozen bytes; this much
// unparsed input means the peer is not a sentinel speaking RESP.
constexpr size_t kMaxUnparsedInput = 1 << 20;

// Milliseconds on the steady clock, for the repeat-limited logs.
int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::optional<int> ParsePort(std::string_view text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

bool IsText(const protocol::ReplyValue& value) { return value.type == '$' || value.type == '+'; }

// GET-MASTER-ADDR-BY-NAME's answer: a two-element array of ip and port.
std::optional<HostPort> ParseMasterAddress(const protocol::ReplyValue& reply) {
  if (reply.type != '*' || reply.elements.size() != 2 || !IsText(reply.elements[0]) ||
      !IsText(reply.elements[1]) || reply.elements[0].str.empty()) {
    return std::nullopt;
  }
  std::optional<int> port = ParsePort(reply.elements[1].str);
  if (!port) return std::nullopt;
  return HostPort{reply.elements[0].str, *port};
}

// A +switch-master payload: "<name> <old-ip> <old-port> <new-ip> <new-port>".
bool ParseSwitchMaster(std::string_view payload, std::string_view* name, HostPort* new_master) {
  std::array<std::string_view, 5> fields;
  size_t count = 0;
  size_t start = 0;
  while (start <= payload.size()) {
    size_t space = payload.find(' ', start);
    if (space == std::string_view::npos) space = payload.size();
    if (count == fields.size()) return false;
    fields[count++] = payload.substr(start, space - start);
    start = space + 1;
  }
  if (count != fields.size() || fields[0].empty() || fields[3].empty()) return false;
  std::optional<int> port = ParsePort(fields[4]);
  if (!port) return false;
  *name = fields[0];
  *new_master = HostPort{std::string(fields[3]), *port};
  return true;
}

}  // namespace

std::string HostPort::ToString() const {
  std::string text;
  if (host.find(':') != std::string::npos) {
    text = "[" + host + "]";
  } else {
    text = host;
  }
  text += ':';
  text += std::to_string(port);
  return text;
}

class SentinelWatcher::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, Options options)
      : options_(std::move(options)),
        query_(io, "query"),
        subscription_(io, "subscription"),
        retry_timer_(io),
        refresh_timer_(io),
        random_(std::random_device{}()),
        logged_errors_(options_.sentinels.size()),
        repeat_logs_(options_.sentinels.size()) {}

  void Start(std::function<void(const HostPort&)> on_master) {
    if (started_ || stopped_) return;
    if (std::string error = ValidateOptions(options_); !error.empty()) {
      spdlog::error("Sentinel discovery not started: {}", error);
      return;
    }
    started_ = true;
    on_master_ = std::move(on_master);
    BeginAttempt();
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    phase_ = Phase::kIdle;
    CloseLink(query_);
    CloseLink(subscription_);
    ++retry_generation_;
    retry_timer_.cancel();
    ++refresh_generation_;
    refresh_timer_.cancel();
    // If Stop() runs from within on_master, SetMaster() is calling a copy,
    // so the one dropped here is not the one executing.
    on_master_ = nullptr;
  }

  void RefreshNow() {
    if (stopped_ || phase_ != Phase::kFollowing || query_in_flight_) return;
    SendMasterQuery();
  }

  std::optional<HostPort> master() const { return master_; }

  Stats stats() const {
    Stats stats;
    if (phase_ == Phase::kFollowing) stats.sentinel = options_.sentinels[index_];
    stats.master_changes = master_changes_;
    stats.switch_events = switch_events_;
    stats.sentinel_failures = failures_;
    stats.last_error = last_error_;
    return stats;
  }

 private:
  // Where the session with the current sentinel stands.
  enum class Phase {
    kIdle,         // not started, stopped, or waiting for the retry timer
    kQuerying,     // first GET-MASTER-ADDR-BY-NAME to a sentinel
    kSubscribing,  // it answered; SUBSCRIBE +switch-master under way
    kFollowing,    // subscribed; asking again every refresh_ms
  };
  enum class ReplyKind { kAuth, kMasterAddress, kSubscribeConfirmation };

  // One TCP connection to the current sentinel.
  struct Link {
    Link(asio::io_context& io, const char* name)
        : name(name), socket(io), resolver(io), deadline(io) {}

    const char* name;  // for errors
    tcp::socket socket;
    tcp::resolver resolver;
    asio::steady_timer deadline;
    // Bumped when the link closes: handlers of an earlier connection compare
    // it with the value they captured and drop out.
    uint64_t generation = 0;
    // Bumped when the deadline is re-armed or disarmed, for the same reason
    // (a timer that already fired cannot be cancelled).
    uint64_t deadline_generation = 0;
    std::deque<ReplyKind> expected;  // replies owed, in order
    std::string input;               // received, not yet parsed
    std::array<char, kReadChunk> chunk;
    std::string queued;  // to write when the write under way completes
    bool write_in_progress = false;
    bool needs_auth = false;  // connected; AUTH goes before the first request
  };

  std::chrono::milliseconds Timeout() const {
    return std::chrono::milliseconds(options_.timeout_ms);
  }
  const HostPort& CurrentSentinel() const { return options_.sentinels[index_]; }

  bool Stale(const Link& link, uint64_t generation) const {
    return stopped_ || link.generation != generation;
  }

  // Drops both connections of the current session and anything it had in
  // flight (a refresh timer, a query).
  void EndSession() {
    CloseLink(query_);
    CloseLink(subscription_);
    ++refresh_generation_;
    refresh_timer_.cancel();
    query_in_flight_ = false;
    query_stale_ = false;
  }

  // A new session with options_.sentinels[index_]: ask it where the master is.
  void BeginAttempt() {
    EndSession();
    phase_ = Phase::kQuerying;
    Connect(query_);
  }

  void CloseLink(Link& link) {
    ++link.generation;
    error_code ignored;
    link.resolver.cancel();
    link.socket.close(ignored);
    DisarmDeadline(link);
    link.expected.clear();
    link.input.clear();
    link.queued.clear();
    link.write_in_progress = false;
    link.needs_auth = false;
  }

  void ArmDeadline(Link& link, const char* step) {
    uint64_t generation = ++link.deadline_generation;
    link.deadline.expires_after(Timeout());
    link.deadline.async_wait(
        [self = shared_from_this(), &link, generation, step](const error_code& ec) {
          if (ec || self->stopped_ || link.deadline_generation != generation) return;
          self->Fail(std::string("no answer within ") + std::to_string(self->options_.timeout_ms) +
                     " ms " + step + " (" + link.name + " connection)");
        });
  }

  void DisarmDeadline(Link& link) {
    ++link.deadline_generation;
    link.deadline.cancel();
  }

  void Connect(Link& link) {
    const HostPort& sentinel = CurrentSentinel();
    ArmDeadline(link, "connecting");
    uint64_t generation = link.generation;
    auto self = shared_from_this();
    error_code parse_error;
    asio::ip::address address = asio::ip::make_address(sentinel.host, parse_error);
    if (!parse_error) {
      link.socket.async_connect(tcp::endpoint(address, static_cast<uint16_t>(sentinel.port)),
                                [self, &link, generation](const error_code& ec) {
                                  self->OnConnect(link, generation, ec);
                                });
      return;
    }
    link.resolver.async_resolve(
        sentinel.host, std::to_string(sentinel.port),
        [self, &link, generation](const error_code& ec, tcp::resolver::results_type results) {
          if (self->Stale(link, generation)) return;
          if (ec) {
            self->Fail("cannot resolve " + self->CurrentSentinel().host + ": " + ec.message());
            return;
          }
          asio::async_connect(
              link.socket, results,
              [self, &link, generation](const error_code& ec, const tcp::endpoint&) {
                self->OnConnect(link, generation, ec);
              });
        });
  }

  void OnConnect(Link& link, uint64_t generation, const error_code& ec) {
    if (Stale(link, generation)) return;
    if (ec) {
      Fail(std::string("cannot connect (") + link.name + " connection): " + ec.message());
      return;
    }
    DisarmDeadline(link);
    error_code ignored;
    link.socket.set_option(tcp::no_delay(true), ignored);
    link.needs_auth = !options_.sentinel_password.empty();
    ReadMore(link);
    if (&link == &query_) {
      SendMasterQuery();
    } else {
      SendSubscribe();
    }
  }

  // Starts `out` with AUTH when the link has not authenticated yet.
  void AppendAuthIfNeeded(Link& link, std::string* out) {
    if (!link.needs_auth) return;
    link.needs_auth = false;
    if (options_.sentinel_user.empty()) {
      protocol::AppendCommand(out, {"AUTH", options_.sentinel_password});
    } else {
      protocol::AppendCommand(out, {"AUTH", options_.sentinel_user, options_.sentinel_password});
    }
    link.expected.push_back(ReplyKind::kAuth);
  }

  void SendMasterQuery() {
    std::string out;
    AppendAuthIfNeeded(query_, &out);
    protocol::AppendCommand(&out, {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", options_.master_name});
    query_.expected.push_back(ReplyKind::kMasterAddress);
    query_in_flight_ = true;
    query_stale_ = false;
    ArmDeadline(query_, "to GET-MASTER-ADDR-BY-NAME");
    Write(query_, std::move(out));
  }

  void SendSubscribe() {
    std::string out;
    AppendAuthIfNeeded(subscription_, &out);
    protocol::AppendCommand(&out, {"SUBSCRIBE", kSwitchMasterChannel});
    subscription_.expected.push_back(ReplyKind::kSubscribeConfirmation);
    ArmDeadline(subscription_, "to SUBSCRIBE");
    Write(subscription_, std::move(out));
  }

  void Write(Link& link, std::string bytes) {
    if (link.write_in_progress) {
      link.queued += bytes;
      return;
    }
    link.write_in_progress = true;
    // The buffer travels with the operation, so nothing the link does in
    // the meantime (closing, reconnecting) can pull it from under it.
    auto buffer = std::make_shared<std::string>(std::move(bytes));
    uint64_t generation = link.generation;
    asio::async_write(
        link.socket, asio::buffer(*buffer),
        [self = shared_from_this(), &link, generation, buffer](const error_code& ec, size_t) {
          if (self->Stale(link, generation)) return;
          if (ec) {
            self->Fail(std::string("write failed (") + link.name + " connection): " + ec.message());
            return;
          }
          link.write_in_progress = false;
          if (!link.queued.empty()) self->Write(link, std::exchange(link.queued, {}));
        });
  }

  void ReadMore(Link& link) {
    uint64_t generation = link.generation;
    link.socket.async_read_some(
        asio::buffer(link.chunk),
        [self = shared_from_this(), &link, generation](const error_code& ec, size_t length) {
          if (self->Stale(link, generation)) return;
          if (ec) {
            self->Fail(ec == asio::error::eof
                           ? std::string("closed the ") + link.name + " connection"
                           : std::string("lost the ") + link.name + " connection: " + ec.message());
            return;
          }
          link.input.append(link.chunk.data(), length);
          self->ProcessInput(link);
          if (!self->Stale(link, generation)) self->ReadMore(link);
        });
  }

  void ProcessInput(Link& link) {
    uint64_t generation = link.generation;
    size_t offset = 0;
    while (offset < link.input.size()) {
      protocol::ReplyValue reply;
      size_t consumed = 0;
      std::string error;
      std::string_view rest = std::string_view(link.input).substr(offset);
      protocol::ScanStatus status = protocol::ParseReply(rest, &reply, &consumed, &error);
      if (status == protocol::ScanStatus::kNeedMore) break;
      if (status == protocol::ScanStatus::kError) {
        Fail(std::string("protocol error on the ") + link.name + " connection: " + error);
        return;
      }
      offset += consumed;
      HandleReply(link, reply);
      // Handling may have failed the session or stopped the watcher, which
      // cleared the input.
      if (Stale(link, generation)) return;
    }
    link.input.erase(0, offset);
    if (link.input.size() > kMaxUnparsedInput) {
      Fail(std::string("oversized reply on the ") + link.name + " connection");
    }
  }

  void HandleReply(Link& link, const protocol::ReplyValue& reply) {
    if (link.expected.empty()) {
      if (&link == &subscription_) {
        HandleSubscriptionMessage(reply);
      } else {
        Fail("sent a reply to no request");
      }
      return;
    }
    ReplyKind kind = link.expected.front();
    link.expected.pop_front();
    if (link.expected.empty()) DisarmDeadline(link);
    switch (kind) {
      case ReplyKind::kAuth:
        if (reply.IsError()) Fail("AUTH failed: " + reply.str);
        return;
      case ReplyKind::kMasterAddress:
        HandleMasterAddress(reply);
        return;
      case ReplyKind::kSubscribeConfirmation:
        HandleSubscribeConfirmation(reply);
        return;
    }
  }

  void HandleMasterAddress(const protocol::ReplyValue& reply) {
    query_in_flight_ = false;
    if (reply.IsError()) {
      Fail("GET-MASTER-ADDR-BY-NAME failed: " + reply.str);
      return;
    }
    if (reply.IsNull()) {
      Fail("does not know master name '" + options_.master_name +
               "' (GET-MASTER-ADDR-BY-NAME replied null; check primary-name)",
           /*config_problem=*/true);
      return;
    }
    std::optional<HostPort> address = ParseMasterAddress(reply);
    if (!address) {
      Fail("sent a malformed GET-MASTER-ADDR-BY-NAME reply");
      return;
    }
    if (query_stale_) {
      // A +switch-master arrived on the other connection while this answer
      // was on its way; it may predate the switch, so ask again.
      SendMasterQuery();
      return;
    }
    switch (phase_) {
      case Phase::kQuerying:
        if (!SetMaster(*address, "GET-MASTER-ADDR-BY-NAME")) return;
        phase_ = Phase::kSubscribing;
        Connect(subscription_);
        return;
      case Phase::kFollowing:
        if (!SetMaster(*address, "GET-MASTER-ADDR-BY-NAME")) return;
        ScheduleRefresh();
        return;
      case Phase::kIdle:
      case Phase::kSubscribing:  // no query is sent in these phases
        return;
    }
  }

  void HandleSubscribeConfirmation(const protocol::ReplyValue& reply) {
    if (reply.IsError()) {
      Fail("SUBSCRIBE failed: " + reply.str);
      return;
    }
    if (reply.type != '*' || reply.elements.size() != 3 || reply.elements[0].str != "subscribe" ||
        reply.elements[1].str != kSwitchMasterChannel) {
      Fail("sent a malformed SUBSCRIBE confirmation");
      return;
    }
    phase_ = Phase::kFollowing;
    OnSessionEstablished();
    // Asking again now that events are flowing closes the window between
    // the first answer and the subscription, in which a switch would be missed.
    SendMasterQuery();
  }

  void HandleSubscriptionMessage(const protocol::ReplyValue& reply) {
    if ((reply.type != '*' && reply.type != '>') || reply.elements.size() != 3 ||
        reply.elements[0].str != "message" || reply.elements[1].str != kSwitchMasterChannel) {
      spdlog::debug("Sentinel {}: ignoring an unexpected message on the subscription",
                    CurrentSentinel().ToString());
      return;
    }
    std::string_view name;
    HostPort new_master;
    if (!ParseSwitchMaster(reply.elements[2].str, &name, &new_master)) {
      spdlog::warn("Sentinel {}: ignoring a malformed +switch-master message '{}'",
                   CurrentSentinel().ToString(), reply.elements[2].str);
      return;
    }
    if (name != options_.master_name) return;
    ++switch_events_;
    if (query_in_flight_) query_stale_ = true;
    SetMaster(new_master, "+switch-master");
  }

  // Records the address and tells the owner when it is new. Returns false
  // when the owner stopped the watcher from within the callback.
  bool SetMaster(const HostPort& address, const char* source) {
    if (master_ == address) return true;
    std::optional<HostPort> previous = std::exchange(master_, address);
    ++master_changes_;
    if (previous) {
      spdlog::info("Sentinel: master '{}' moved from {} to {} ({} from sentinel {})",
                   options_.master_name, previous->ToString(), address.ToString(), source,
                   CurrentSentinel().ToString());
    } else {
      spdlog::info("Sentinel: master '{}' is at {} ({} from sentinel {})", options_.master_name,
                   address.ToString(), source, CurrentSentinel().ToString());
    }
    if (!on_master_) return true;
    // The callback may stop or even destroy the watcher: keep this object
    // and the callback itself alive until it returns.
    auto self = shared_from_this();
    auto callback = on_master_;
    HostPort copy = address;
    callback(copy);
    return !stopped_;
  }

  void ScheduleRefresh() {
    uint64_t generation = ++refresh_generation_;
    refresh_timer_.expires_after(std::chrono::milliseconds(options_.refresh_ms));
    refresh_timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
      if (ec || self->stopped_ || generation != self->refresh_generation_) return;
      self->RefreshNow();
    });
  }

  void OnSessionEstablished() {
    failed_attempts_ = 0;
    established_at_ = std::chrono::steady_clock::now();
    std::string& logged = logged_errors_[index_];
    const std::string sentinel = CurrentSentinel().ToString();
    if (!logged.empty()) {
      repeat_logs_[index_].Flush(SteadyNowMs());
      spdlog::info("Sentinel {} answers again", sentinel);
      logged.clear();
    }
    if (followed_index_ != index_ || all_failed_logged_) {
      spdlog::info("Sentinel: following master '{}' through sentinel {}", options_.master_name,
                   sentinel);
    } else {
      spdlog::debug("Sentinel: following master '{}' through sentinel {} again",
                    options_.master_name, sentinel);
    }
    followed_index_ = index_;
    all_failed_logged_ = false;
  }

  // The session with the current sentinel failed (or could not start): move
  // on to the next sentinel, at once while some sentinel has not been tried
  // since the last success, otherwise after a backoff delay.
  void Fail(const std::string& what, bool config_problem = false) {
    const std::string sentinel = CurrentSentinel().ToString();
    ++failures_;
    last_error_ = sentinel + ": " + what;
    // One line per distinct problem of each sentinel; repeats are counted
    // and summarised once a minute, never logged one by one.
    logged_errors_[index_] = what;
    repeat_logs_[index_].Log(
        config_problem ? spdlog::level::err : spdlog::level::warn,
        fmt::format("Sentinel {} (master '{}'): {}", sentinel, options_.master_name, what),
        SteadyNowMs());
    // A session that lasted resets the backoff; one that broke at once does
    // not, so a sentinel that accepts and drops cannot be hammered.
    if (phase_ == Phase::kFollowing && std::chrono::steady_clock::now() - established_at_ >=
                                           std::chrono::milliseconds(options_.retry_max_ms)) {
      failed_rounds_ = 0;
    }
    phase_ = Phase::kIdle;
    EndSession();

    index_ = (index_ + 1) % options_.sentinels.size();
    if (++failed_attempts_ < options_.sentinels.size()) {
      BeginAttempt();
      return;
    }
    failed_attempts_ = 0;
    ++failed_rounds_;
    int64_t delay_ms = BackoffDelayMs();
    if (!all_failed_logged_) {
      spdlog::warn(
          "Sentinel: no sentinel could tell where master '{}' is (tried {}); retrying in {} ms, "
          "backing off up to {} ms, keeping {}",
          options_.master_name, options_.sentinels.size(), delay_ms, options_.retry_max_ms,
          master_ ? "master " + master_->ToString() : std::string("no master yet"));
      all_failed_logged_ = true;
    }
    uint64_t generation = ++retry_generation_;
    retry_timer_.expires_after(std::chrono::milliseconds(delay_ms));
    retry_timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
      if (ec || self->stopped_ || generation != self->retry_generation_) return;
      self->BeginAttempt();
    });
  }

  // retry_min_ms doubled per failed round, capped at retry_max_ms, then
  // drawn uniformly from its upper half so that many daemons restarted
  // together do not ask the sentinels in lockstep.
  int64_t BackoffDelayMs() {
    int64_t ceiling = options_.retry_min_ms;
    for (uint64_t round = 1; round < failed_rounds_ && ceiling < options_.retry_max_ms; ++round) {
      ceiling *= 2;
    }
    ceiling = std::min(ceiling, options_.retry_max_ms);
    std::uniform_int_distribution<int64_t> jitter(ceiling / 2, ceiling);
    return std::max<int64_t>(1, jitter(random_));
  }

  const Options options_;
  std::function<void(const HostPort&)> on_master_;
  bool started_ = false;
  bool stopped_ = false;

  Phase phase_ = Phase::kIdle;
  size_t index_ = 0;            // the sentinel of the current (or next) attempt
  size_t failed_attempts_ = 0;  // attempts failed in a row in this round
  uint64_t failed_rounds_ = 0;  // rounds failed since the last lasting session
  std::chrono::steady_clock::time_point established_at_;
  Link query_;
  Link subscription_;
  bool query_in_flight_ = false;  // a GET-MASTER-ADDR-BY-NAME awaits its answer
  bool query_stale_ = false;      // ... and a +switch-master overtook it
  asio::steady_timer retry_timer_;
  uint64_t retry_generation_ = 0;
  asio::steady_timer refresh_timer_;
  uint64_t refresh_generation_ = 0;
  std::minstd_rand random_;

  std::optional<HostPort> master_;
  uint64_t master_changes_ = 0;
  uint64_t switch_events_ = 0;
  uint64_t failures_ = 0;
  std::string last_error_;
  // Log throttling: the last problem logged for each sentinel, the sentinel
  // last followed, and whether "no sentinel answered" was logged already.
  std::vector<std::string> logged_errors_;
  std::vector<RepeatLimitedLog> repeat_logs_;  // by sentinel index
  size_t followed_index_ = SIZE_MAX;
  bool all_failed_logged_ = false;
};

std::string SentinelWatcher::ValidateOptions(const Options& options) {
  if (options.sentinels.empty()) return "no sentinel given (primary-sentinel HOST PORT)";
  for (const HostPort& sentinel : options.sentinels) {
    if (sentinel.host.empty()) return "a sentinel has an empty host";
    if (sentinel.port < 1 || sentinel.port > 65535) {
      return "sentinel " + sentinel.ToString() + " has an invalid port";
    }
  }
  if (options.master_name.empty()) return "no master name given (primary-name NAME)";
  // +switch-master messages separate their fields with spaces.
  if (options.master_name.find_first_of(" \r\n") != std::string::npos) {
    return "the master name must not contain spaces or line breaks";
  }
  if (options.timeout_ms <= 0 || options.retry_min_ms <= 0 || options.refresh_ms <= 0) {
    return "sentinel timeout, retry and refresh intervals must be positive";
  }
  if (options.retry_max_ms < options.retry_min_ms) {
    return "the sentinel retry maximum must not be below its minimum";
  }
  return "";
}

SentinelWatcher::SentinelWatcher(asio::io_context& io, Options options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

SentinelWatcher::~SentinelWatcher() { impl_->Stop(); }

void SentinelWatcher::Start(std::function<void(const HostPort&)> on_master) {
  impl_->Start(std::move(on_master));
}

void SentinelWatcher::Stop() { impl_->Stop(); }

void SentinelWatcher::RefreshNow() { impl_->RefreshNow(); }

std::optional<HostPort> SentinelWatcher::master() const { return impl_->master(); }

SentinelWatcher::Stats SentinelWatcher::stats() const { return impl_->stats(); }

}  // namespace understudy::replication

#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/reply_writer.h"
#include "server/command_table.h"
#include "server/pubsub.h"

namespace understudy::server {

// A command queued by MULTI: its arguments copied out of the read buffer.
struct QueuedCommand {
  std::vector<std::string> args;
};

struct WatchedKey {
  int db_index;
  std::string key;
  // Redis 7.0: a key that was already expired when WATCHed does not abort
  // the transaction by being expired at EXEC time.
  bool expired_when_watched;
};

// The per-client state that commands see and change, independent of the
// socket that carries it (so handlers and tests need no network).
class ClientSession {
 public:
  ClientSession(uint64_t id, int64_t now_ms)
      : last_active_ms(now_ms), id_(id), created_ms_(now_ms) {}

  uint64_t id() const { return id_; }
  int64_t created_ms() const { return created_ms_; }

  // Identity and addresses, for CLIENT LIST / INFO.
  std::string name;
  std::string peer_address;   // "127.0.0.1:53422" or "/tmp/u.sock:0"
  std::string local_address;  // "127.0.0.1:6380"
  int fd = -1;
  bool is_unix_socket = false;
  std::string lib_name;
  std::string lib_version;

  // Connection state.
  int db_index = 0;
  protocol::RespVersion resp = protocol::RespVersion::kResp2;
  bool authenticated = false;
  std::string user = "default";
  bool close_after_reply = false;

  // Transaction state.
  bool in_multi = false;
  bool multi_error = false;  // a command failed to queue: EXEC aborts
  bool watch_dirty = false;  // a watched key changed: EXEC returns null
  std::vector<QueuedCommand> queued;
  std::vector<WatchedKey> watched;

  // Statistics.
  int64_t last_active_ms;
  uint64_t commands_processed = 0;
  // The last command run, for CLIENT LIST's cmd= field (nullptr: none yet).
  const CommandSpec* last_command = nullptr;

  // Pending reply bytes, appended by handlers and drained by the connection.
  std::string reply;
  // Reply bytes queued on the socket but not yet written (CLIENT LIST omem).
  size_t output_in_flight = 0;
  size_t query_buffer_size = 0;

  // Set by the connection: closes it after pending replies are written
  // (CLIENT KILL, QUIT). Empty for sessions without a connection.
  std::function<void()> request_close;
  // Set by the connection: call after appending to `reply` from outside this
  // client's own command (PUBLISH to a subscriber, waking a blocked client).
  // The connection then, on a later turn of the event loop (never from
  // inside the caller), writes the reply out and, unless `blocked`, resumes
  // running the client's pipelined requests. Empty without a connection.
  std::function<void()> notify_output;
  // While true the connection runs no further requests of this client
  // (a blocking command is waiting); whoever clears it calls notify_output.
  bool blocked = false;
  // Set by the connection: closes it at once, dropping unwritten output
  // (a client over its client-output-buffer-limit). Deferred like
  // request_close. Empty without a connection.
  std::function<void()> close_now;

  // Publish/subscribe (server/pubsub.h keeps the reverse index).
  SubscriptionSet subscribed_channels;
  SubscriptionSet subscribed_patterns;
  SubscriptionSet subscribed_shard_channels;
  // When the pending output first reached the client's soft output buffer
  // limit without dropping below it since; 0 when under it.
  int64_t output_soft_limit_since_ms = 0;
  // Redis's CLIENT_CLOSE_ASAP: over its output buffer limit and being
  // closed; nothing more is queued for it.
  bool close_asap = false;
  // Redis's CLIENT_PUBSUB: subscribed to anything. Under RESP2 it limits
  // the commands the client may send; it makes the client a "pubsub"
  // client for client-output-buffer-limit.
  bool pubsub_mode() const {
    return !subscribed_channels.empty() || !subscribed_patterns.empty() ||
           !subscribed_shard_channels.empty();
  }

  // Counts every error reply written through writer() (INFO's
  // total_error_replies); set by the server, may be null.
  uint64_t* error_counter = nullptr;

  protocol::ReplyWriter writer() { return protocol::ReplyWriter(&reply, resp, error_counter); }

 private:
  uint64_t id_;
  int64_t created_ms_;
};

}  // namespace understudy::server

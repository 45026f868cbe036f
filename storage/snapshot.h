#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "storage/database.h"
#include "storage/hash_value.h"
#include "storage/set_value.h"
#include "storage/zset_value.h"

// A snapshot: every live key of a set of databases, written at once, from
// which a restarted daemon rebuilds its local store (then replays the
// journal records after `covers_seq`).
//
// File layout (integers little-endian, string = u32 length | bytes):
//
//   header:  magic "USSNAPSH" | u16 version | u16 reserved (0)
//            | u64 covers_seq | i64 created_ms
//   keys:    u8 kKey (1) | u32 db | string key | u8 ValueType
//            | i64 expire_at_ms (-1: none) | value
//   end:     u8 kEnd (0xFF) | u64 key count
//   trailer: u32 CRC32C of every byte before it
//
// Values by type (the ValueType numbers of storage/value.h):
//   string: string
//   list:   u64 n | n x string               (head to tail)
//   set:    u64 n | n x string
//   hash:   u64 n | n x (string field, string value)
//   zset:   u64 n | n x (string member, 8-byte IEEE double score)
//
// Encodings are not stored: a loaded collection takes the encoding the
// given limits choose, as a collection built by commands would.
namespace understudy::storage {

inline constexpr std::string_view kSnapshotMagic = "USSNAPSH";
inline constexpr uint16_t kSnapshotVersion = 1;

// The encoding limits loaded collections are built with (the server's
// *-max-listpack-* configuration).
struct SnapshotLimits {
  HashLimits hash;
  SetLimits set;
  ZSetLimits zset;
  int64_t list_max_listpack_size = -2;
};

struct SnapshotWriteStats {
  uint64_t keys_written = 0;
  uint64_t keys_expired = 0;  // past their deadline at write time: left out
};

struct SnapshotLoadStats {
  uint64_t keys_loaded = 0;
  uint64_t keys_expired = 0;      // past their deadline at load time: skipped
  uint64_t keys_outside_dbs = 0;  // database index >= dbs.size(): skipped
  int64_t created_ms = 0;         // when the snapshot was serialized
  uint64_t file_bytes = 0;
};

// Serializes every key of `dbs` that is live at `now_ms` (each database
// under its index()). Runs on the thread that owns the databases; the
// result can then be written from any thread with WriteFileAtomically().
// `stats` may be null.
std::string SerializeSnapshot(std::span<const Database* const> dbs, uint64_t covers_seq,
                              int64_t now_ms, SnapshotWriteStats* stats = nullptr);

// SerializeSnapshot() then WriteFileAtomically() (storage/disk_io.h):
// after a crash `path` holds the previous snapshot or this one, whole.
bool WriteSnapshot(std::span<const Database* const> dbs, uint64_t covers_seq, int64_t now_ms,
                   const std::string& path, std::string* error,
                   SnapshotWriteStats* stats = nullptr);

// Checks the bytes of a snapshot (magic, version, checksum) and loads its
// keys into dbs[db index], skipping keys whose deadline is before
// `now_ms`. Precondition: the databases are empty. On failure (unreadable,
// corrupt, newer version) returns false with *error and leaves every
// database empty; the caller then starts empty and logs. `stats` may be null.
bool LoadSnapshotBytes(std::string_view bytes, std::span<Database* const> dbs,
                       const SnapshotLimits& limits, int64_t now_ms, uint64_t* covers_seq,
                       SnapshotLoadStats* stats, std::string* error);

// Reads `path` and loads it with LoadSnapshotBytes().
bool LoadSnapshot(const std::string& path, std::span<Database* const> dbs,
                  const SnapshotLimits& limits, int64_t now_ms, uint64_t* covers_seq,
                  SnapshotLoadStats* stats, std::string* error);

}  // namespace understudy::storage

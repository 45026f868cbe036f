#include "storage/snapshot.h"

#include <cmath>
#include <unordered_set>
#include <utility>
#include <vector>

#include "storage/disk_io.h"
#include "storage/list_value.h"

namespace understudy::storage {
namespace {

constexpr uint8_t kKeyMarker = 1;
constexpr uint8_t kEndMarker = 0xFF;
// magic + version + reserved + covers_seq + created_ms.
constexpr size_t kHeaderSize = 8 + 2 + 2 + 8 + 8;
constexpr size_t kTrailerSize = 4;

// Appends the value part of one key record.
void SerializeValue(const Value& value, std::string* out) {
  switch (value.type()) {
    case ValueType::kString:
      PutString(out, value.string());
      return;
    case ValueType::kList: {
      const size_t n = list::Length(value);
      PutU64(out, n);
      if (n == 0) return;
      for (list::Iterator it(value, 0, ListEnd::kTail); it.Valid(); it.Next()) {
        PutString(out, it.Get());
      }
      return;
    }
    case ValueType::kHash:
      PutU64(out, HashSize(value));
      HashForEach(value, [out](std::string_view field, std::string_view field_value) {
        PutString(out, field);
        PutString(out, field_value);
      });
      return;
    case ValueType::kSet: {
      // SetValue is a view that also offers mutations, hence its non-const
      // constructor; only the const ForEach() is used here.
      SetValue set(const_cast<Value&>(value));
      PutU64(out, set.size());
      set.ForEach([out](std::string_view member) {
        PutString(out, member);
        return true;
      });
      return;
    }
    case ValueType::kZSet: {
      const size_t n = ZSetSize(value);
      PutU64(out, n);
      if (n == 0) return;
      std::vector<ZSetItem> items;
      items.reserve(n);
      ZSetRangeByRank(value, 0, n - 1, false, &items);
      for (const ZSetItem& item : items) {
        PutString(out, item.member);
        PutDouble(out, item.score);
      }
      return;
    }
  }
}

bool IsEmptyCollection(const Value& value) {
  switch (value.type()) {
    case ValueType::kString:
      return false;
    case ValueType::kList:
      return list::Length(value) == 0;
    case ValueType::kHash:
      return HashSize(value) == 0;
    case ValueType::kSet:
      return SetValue(const_cast<Value&>(value)).empty();
    case ValueType::kZSet:
      return ZSetSize(value) == 0;
  }
  return false;
}

// Reads a collection's element count, refusing counts that cannot fit in
// the bytes left (each element takes at least `min_element_bytes`), so a
// corrupt count never drives an allocation.
bool ReadCount(ByteReader& in, size_t min_element_bytes, size_t* count) {
  uint64_t n;
  if (!in.ReadU64(&n) || n == 0 || n > in.remaining() / min_element_bytes) return false;
  *count = static_cast<size_t>(n);
  return true;
}

bool ReadStrings(ByteReader& in, size_t n, std::vector<std::string_view>* out) {
  out->resize(n);
  for (std::string_view& s : *out) {
    if (!in.ReadStringView(&s)) return false;
  }
  return true;
}

// Builds the value of one key record into *value. False when the bytes
// are malformed. `scratch` is reused between keys to save allocations.
bool ParseValue(ByteReader& in, ValueType type, const SnapshotLimits& limits, Value* value,
                std::vector<std::string_view>* scratch) {
  switch (type) {
    case ValueType::kString: {
      std::string_view s;
      if (!in.ReadStringView(&s)) return false;
      value->SetString(s);
      return true;
    }
    case ValueType::kList: {
      size_t n;
      if (!ReadCount(in, 4, &n) || !ReadStrings(in, n, scratch)) return false;
      list::Init(*value);
      for (std::string_view element : *scratch) {
        list::Push(*value, ListEnd::kTail, element, limits.list_max_listpack_size);
      }
      return true;
    }
    case ValueType::kSet: {
      size_t n;
      if (!ReadCount(in, 4, &n) || !ReadStrings(in, n, scratch)) return false;
      SetValue set = SetValue::Create(*value, (*scratch)[0], limits.set);
      for (std::string_view member : *scratch) set.Add(member, limits.set);
      return true;
    }
    case ValueType::kHash: {
      size_t n;
      if (!ReadCount(in, 8, &n) || !ReadStrings(in, 2 * n, scratch)) return false;
      HashInit(*value);
      // A hash too big for a listpack goes straight to its table instead of
      // converting after max_listpack_entries linear inserts.
      if (n > limits.hash.max_listpack_entries) HashConvertToTable(*value);
      for (size_t i = 0; i < n; ++i) {
        HashSet(*value, (*scratch)[2 * i], (*scratch)[2 * i + 1], limits.hash);
      }
      return true;
    }
    case ValueType::kZSet: {
      size_t n;
      if (!ReadCount(in, 12, &n)) return false;
      std::vector<ScoredMember> members(n);
      for (ScoredMember& m : members) {
        std::string_view member;
        if (!in.ReadStringView(&member) || !in.ReadDouble(&m.score) || std::isnan(m.score)) {
          return false;
        }
        m.member.assign(member);
      }
      // ZSetAssign requires distinct members; the checksum makes duplicates
      // all but impossible, but checking keeps the loader safe on any bytes.
      std::unordered_set<std::string_view> seen;
      seen.reserve(n);
      for (const ScoredMember& m : members) {
        if (!seen.insert(m.member).second) return false;
      }
      ZSetAssign(*value, std::move(members), limits.zset);
      return true;
    }
  }
  return false;
}

void ClearAll(std::span<Database* const> dbs) {
  for (Database* db : dbs) {
    if (db != nullptr) db->Clear();
  }
}

}  // namespace

std::string SerializeSnapshot(std::span<const Database* const> dbs, uint64_t covers_seq,
                              int64_t now_ms, SnapshotWriteStats* stats) {
  SnapshotWriteStats local;
  std::string out;
  out.append(kSnapshotMagic);
  PutU16(&out, kSnapshotVersion);
  PutU16(&out, 0);
  PutU64(&out, covers_seq);
  PutI64(&out, now_ms);
  for (const Database* db : dbs) {
    if (db == nullptr) continue;
    const auto db_index = static_cast<uint32_t>(db->index());
    uint64_t cursor = 0;
    do {
      cursor = db->dict().Scan(cursor, [&](Entry* e) {
        if (!db->IsLive(e, now_ms)) {
          ++local.keys_expired;
          return;
        }
        if (IsEmptyCollection(e->value())) return;
        PutU8(&out, kKeyMarker);
        PutU32(&out, db_index);
        PutString(&out, e->key());
        PutU8(&out, static_cast<uint8_t>(e->value().type()));
        PutI64(&out, e->expire_at_ms());
        SerializeValue(e->value(), &out);
        ++local.keys_written;
      });
    } while (cursor != 0);
  }
  PutU8(&out, kEndMarker);
  PutU64(&out, local.keys_written);
  PutU32(&out, Crc32c(out));
  if (stats != nullptr) *stats = local;
  return out;
}

bool WriteSnapshot(std::span<const Database* const> dbs, uint64_t covers_seq, int64_t now_ms,
                   const std::string& path, std::string* error, SnapshotWriteStats* stats) {
  std::string bytes = SerializeSnapshot(dbs, covers_seq, now_ms, stats);
  return WriteFileAtomically(path, bytes, error);
}

bool LoadSnapshotBytes(std::string_view bytes, std::span<Database* const> dbs,
                       const SnapshotLimits& limits, int64_t now_ms, uint64_t* covers_seq,
                       SnapshotLoadStats* stats, std::string* error) {
  SnapshotLoadStats local;
  local.file_bytes = bytes.size();
  // 1 + 8: the end marker and key count.
  if (bytes.size() < kHeaderSize + 1 + 8 + kTrailerSize) {
    *error = "snapshot truncated (" + std::to_string(bytes.size()) + " bytes)";
    return false;
  }
  if (bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    *error = "not an understudy snapshot (bad magic)";
    return false;
  }
  std::string_view covered = bytes.substr(0, bytes.size() - kTrailerSize);
  uint32_t stored_crc = 0;
  ByteReader trailer(bytes.substr(covered.size()));
  trailer.ReadU32(&stored_crc);
  if (Crc32c(covered) != stored_crc) {
    *error = "snapshot checksum mismatch (corrupt or truncated file)";
    return false;
  }
  ByteReader in(covered.substr(kSnapshotMagic.size()));
  uint16_t version = 0;
  uint16_t reserved = 0;
  uint64_t seq = 0;
  in.ReadU16(&version);
  in.ReadU16(&reserved);
  in.ReadU64(&seq);
  in.ReadI64(&local.created_ms);
  if (version == 0 || version > kSnapshotVersion) {
    *error = "snapshot format version " + std::to_string(version) + " not supported (this is " +
             std::to_string(kSnapshotVersion) + ")";
    return false;
  }

  std::vector<std::string_view> scratch;
  uint64_t records = 0;
  auto fail = [&](const std::string& what) {
    *error = "snapshot malformed at key record " + std::to_string(records) + ": " + what;
    ClearAll(dbs);
    return false;
  };
  while (true) {
    uint8_t marker;
    if (!in.ReadU8(&marker)) return fail("missing end marker");
    if (marker == kEndMarker) break;
    if (marker != kKeyMarker) return fail("unknown record marker " + std::to_string(marker));
    uint32_t db_index;
    std::string_view key;
    uint8_t type;
    int64_t expire_at_ms;
    if (!in.ReadU32(&db_index) || !in.ReadStringView(&key) || !in.ReadU8(&type) ||
        !in.ReadI64(&expire_at_ms)) {
      return fail("truncated key header");
    }
    if (type > static_cast<uint8_t>(ValueType::kZSet)) {
      return fail("unknown value type " + std::to_string(type));
    }
    Database::Detached item;
    if (!ParseValue(in, static_cast<ValueType>(type), limits, &item.value, &scratch)) {
      return fail("malformed value of key '" + std::string(key) + "'");
    }
    ++records;
    if (db_index >= dbs.size() || dbs[db_index] == nullptr) {
      ++local.keys_outside_dbs;
      continue;
    }
    if (expire_at_ms != kNoExpire && expire_at_ms < now_ms) {
      ++local.keys_expired;
      continue;
    }
    item.expire_at_ms = expire_at_ms;
    dbs[db_index]->Attach(key, std::move(item));
    ++local.keys_loaded;
  }
  uint64_t count = 0;
  if (!in.ReadU64(&count) || !in.at_end()) return fail("bad end record");
  if (count != records) {
    return fail("end record counts " + std::to_string(count) + " keys, file holds " +
                std::to_string(records));
  }
  *covers_seq = seq;
  if (stats != nullptr) *stats = local;
  return true;
}

bool LoadSnapshot(const std::string& path, std::span<Database* const> dbs,
                  const SnapshotLimits& limits, int64_t now_ms, uint64_t* covers_seq,
                  SnapshotLoadStats* stats, std::string* error) {
  std::string bytes;
  if (!ReadWholeFile(path, &bytes, error)) return false;
  if (!LoadSnapshotBytes(bytes, dbs, limits, now_ms, covers_seq, stats, error)) {
    *error = "snapshot " + path + ": " + *error;
    return false;
  }
  return true;
}

}  // namespace understudy::storage

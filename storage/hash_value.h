#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "storage/dict.h"
#include "storage/value.h"

// The hash data type (Redis 7.0 semantics), independent of the server and of
// RESP. A hash is a Value of type kHash in one of two encodings:
//
//  - listpack: field, value, field, value... in one Listpack embedded in the
//    Value, in insertion order (an update keeps the field's place). Used
//    while the hash has at most max_listpack_entries fields and no field or
//    value longer than max_listpack_value bytes.
//  - hashtable: a HashTable, i.e. a Dict whose entries are the fields, each
//    entry's Value holding the field's value. HSCAN walks the Dict with its
//    reverse-binary cursor and so keeps SCAN's guarantee.
//
// As in Redis, a hash that outgrows the listpack limits is converted once
// and never converted back, whatever is deleted later.
//
// Every function below takes such a Value (precondition: type() == kHash)
// and works on both encodings. Field and value views point into the hash
// and stay valid only until the hash is next modified. Functions never
// delete the key: a caller whose hash became empty (HashSize() == 0)
// deletes it, since empty hashes do not exist in Redis.
namespace understudy::storage {

// hash-max-listpack-entries / hash-max-listpack-value.
struct HashLimits {
  size_t max_listpack_entries = 512;
  size_t max_listpack_value = 64;
};

// A field and its value, viewing the hash's own bytes.
struct HashPair {
  std::string_view field;
  std::string_view value;
};

// The large encoding: field -> value in a Dict (an Entry's key is the
// field, its Value the value; the entries' expiry fields are unused).
class HashTable final : public Collection {
 public:
  HashTable() = default;
  HashTable(const HashTable&) = delete;
  HashTable& operator=(const HashTable&) = delete;

  size_t MemoryUsage() const override;
  std::unique_ptr<Collection> Clone() const override;
  std::string_view Encoding() const override { return "hashtable"; }

  size_t size() const { return dict_.size(); }
  // The value of `field`, or nullptr.
  const Value* Find(std::string_view field) const;
  // Sets `field` to `value`; true when the field is new.
  bool Set(std::string_view field, std::string_view value);
  // Removes `field`; false when absent.
  bool Delete(std::string_view field);
  // One SCAN step over the fields (see Dict::Scan).
  uint64_t Scan(uint64_t cursor, const std::function<void(const Entry&)>& visit) const {
    return dict_.Scan(cursor, [&visit](Entry* e) { visit(*e); });
  }
  // A uniformly chosen bucket's entry, as Redis's dictGetFairRandomKey
  // approximates; precondition: size() > 0.
  const Entry& RandomEntry(std::mt19937_64& rng) const { return *dict_.RandomEntry(rng); }

 private:
  // Lookups advance the Dict's incremental rehashing, which moves entries
  // between its tables but never changes the hash's contents; so the
  // read-only operations above stay const for callers.
  mutable Dict dict_;
  // Bytes the values hold outside their Entry (long values), kept in step
  // with every change so MemoryUsage() costs O(1).
  size_t value_bytes_ = 0;
};

// Makes `value` an empty hash in the listpack encoding.
void HashInit(Value& value);

// Number of fields.
size_t HashSize(const Value& value);

// OBJECT ENCODING's name: "listpack" or "hashtable".
std::string_view HashEncoding(const Value& value);

// The value of `field`, or nullopt when the hash has no such field.
std::optional<std::string_view> HashGet(const Value& value, std::string_view field);

inline bool HashExists(const Value& value, std::string_view field) {
  return HashGet(value, field).has_value();
}

// Sets `field` to `field_value`, creating the field (appended, in the
// listpack encoding) or overwriting it in place. Converts a listpack hash
// to a hashtable first when the field or the value is longer than
// limits.max_listpack_value, and afterwards when the hash then has more
// than limits.max_listpack_entries fields. Returns true when the field is new.
bool HashSet(Value& value, std::string_view field, std::string_view field_value,
             const HashLimits& limits);

// Removes `field`; false when the hash has no such field. The hash may
// become empty (the caller then deletes the key).
bool HashDelete(Value& value, std::string_view field);

// Result of the increment operations.
enum class HashIncrStatus : uint8_t {
  kOk,
  kNotANumber,  // the field's current value is not an integer / a float
  kOverflow,    // HINCRBY: the sum does not fit in 64 bits
  kNotFinite,   // HINCRBYFLOAT: the sum is NaN or infinite
};

// HINCRBY: adds `delta` to the integer in `field` (a missing field counts
// as 0) and stores the sum as decimal text. The current value must be an
// integer in Redis's strict form (see ParseInt64). Nothing changes unless
// the result is kOk; then *result holds the sum.
HashIncrStatus HashIncrBy(Value& value, std::string_view field, int64_t delta,
                          const HashLimits& limits, int64_t* result);

// HINCRBYFLOAT: adds a finite `delta` to the number in `field` (missing:
// 0) in long double precision and stores the sum in Redis's "human" text
// form (see FormatLongDoubleHuman), which *result receives as well. Nothing
// changes unless the result is kOk.
HashIncrStatus HashIncrByFloat(Value& value, std::string_view field, long double delta,
                               const HashLimits& limits, std::string* result);

// Visits every field and value: in insertion order for a listpack, in the
// Dict's bucket order for a hashtable. `visit` must not modify the hash.
void HashForEach(const Value& value,
                 const std::function<void(std::string_view field, std::string_view value)>& visit);

// One step of HSCAN: visits some fields and returns the next cursor (0 when
// done). A listpack is visited whole in one call and returns 0, whatever
// the cursor, as Redis does; a hashtable visits the buckets at `cursor`.
uint64_t HashScan(const Value& value, uint64_t cursor,
                  const std::function<void(std::string_view field, std::string_view value)>& visit);

// HRANDFIELD without a count: one field chosen at random. Precondition: the
// hash is not empty.
HashPair HashRandomPair(const Value& value, std::mt19937_64& rng);

// HRANDFIELD with a count: appends `count` fields chosen at random to *out.
// With `distinct`, no field is repeated and at most HashSize() are given;
// when count >= HashSize() that is every field in HashForEach()'s order.
// Without it, fields are drawn independently (repetitions possible) and
// exactly `count` are given.
void HashRandomPairs(const Value& value, uint64_t count, bool distinct, std::mt19937_64& rng,
                     std::vector<HashPair>* out);

// Converts a listpack hash to the hashtable encoding (no-op otherwise).
void HashConvertToTable(Value& value);

}  // namespace understudy::storage

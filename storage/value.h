#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "storage/listpack.h"

namespace understudy::storage {

// The Redis data types. The numeric values are stable: on-disk formats use them.
enum class ValueType : uint8_t { kString = 0, kList = 1, kHash = 2, kSet = 3, kZSet = 4 };

// The name TYPE replies with ("string", "list", ...).
std::string_view ValueTypeName(ValueType type);

// Payload of a non-string value (list, hash, set, sorted set). Each data type
// derives its own representation from this.
class Collection {
 public:
  virtual ~Collection() = default;
  // Approximate bytes held, for INFO memory and MEMORY USAGE.
  virtual size_t MemoryUsage() const = 0;
  // A deep copy, for COPY.
  virtual std::unique_ptr<Collection> Clone() const = 0;
  // OBJECT ENCODING's name for this representation ("hashtable", "skiplist"...).
  virtual std::string_view Encoding() const = 0;
};

// One key's value in 24 bytes: a string of up to kInlineCapacity bytes lives
// inside the object itself (no allocation for typical small values); a longer
// string lives in a heap std::string. A small list, hash, set or sorted set
// is a Listpack embedded right here (one allocation for the whole value); a
// large one points to a Collection of its type's own representation.
class Value {
 public:
  static constexpr size_t kInlineCapacity = 22;

  Value() : inline_len_(0), tag_(kInlineString) {}
  explicit Value(std::string_view s) : Value() { SetString(s); }
  ~Value() { Release(); }
  Value(Value&& other) noexcept { StealFrom(other); }
  Value& operator=(Value&& other) noexcept {
    if (this != &other) {
      Release();
      StealFrom(other);
    }
    return *this;
  }
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;

  ValueType type() const {
    if (tag_ <= kHeapString) return ValueType::kString;
    if (tag_ >= kListpackBase) return static_cast<ValueType>(tag_ - kListpackBase);
    return static_cast<ValueType>(tag_ - kHeapString);
  }
  bool is_string() const { return tag_ <= kHeapString; }
  // True for a collection in its compact (listpack) encoding.
  bool is_listpack() const { return tag_ >= kListpackBase; }

  // Strings. Precondition for string(): is_string().
  std::string_view string() const {
    if (tag_ == kInlineString) return std::string_view(inline_, inline_len_);
    return *heap();
  }
  void SetString(std::string_view s);
  // A mutable heap string for in-place edits (APPEND, SETRANGE); a value of
  // another type is replaced by an empty string first.
  std::string& MutableString();

  // Compact collections. Precondition for listpack(): is_listpack().
  Listpack& listpack() { return *reinterpret_cast<Listpack*>(inline_); }
  const Listpack& listpack() const { return *reinterpret_cast<const Listpack*>(inline_); }
  // Makes this value an empty compact collection of `type`.
  void SetListpack(ValueType type);
  // Replaces the compact encoding by `payload` (conversion to the large
  // encoding once the collection outgrows the listpack limits).
  void ConvertToCollection(std::unique_ptr<Collection> payload) {
    SetCollection(type(), std::move(payload));
  }

  // Large collections. Precondition for collection(): neither string nor listpack.
  Collection* collection() const { return LoadPointer<Collection>(); }
  template <typename T>
  T* As() const {
    return static_cast<T*>(collection());
  }
  void SetCollection(ValueType type, std::unique_ptr<Collection> payload);

  // A deep copy (COPY command).
  Value Clone() const;
  // Bytes held outside this object.
  size_t ExternalMemory() const;

 private:
  enum Tag : uint8_t {
    kInlineString = 0,
    kHeapString = 1,
    // kHeapString + ValueType: large collections (tags 2 to 5).
    // kListpackBase + ValueType: compact collections (tags 7 to 10).
    kListpackBase = 6,
  };

  void Release();
  void StealFrom(Value& other) noexcept {
    std::memcpy(static_cast<void*>(this), &other, sizeof(Value));
    other.tag_ = kInlineString;
    other.inline_len_ = 0;
  }

  // The pointer of a heap string or collection is kept in the first bytes
  // of the inline storage; memcpy keeps the access well-defined and compiles
  // to a single load.
  template <typename T>
  T* LoadPointer() const {
    T* p;
    std::memcpy(&p, inline_, sizeof(p));
    return p;
  }
  void StorePointer(const void* p) { std::memcpy(inline_, &p, sizeof(p)); }
  std::string* heap() const { return LoadPointer<std::string>(); }

  alignas(8) char inline_[kInlineCapacity];
  uint8_t inline_len_;
  uint8_t tag_;
};

static_assert(sizeof(Value) == 24, "Value must stay 24 bytes: it is in every key");

}  // namespace understudy::storage

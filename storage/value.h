#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

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
};

// One key's value in 24 bytes: a string of up to kInlineCapacity bytes lives
// inside the object itself (no allocation for typical small values); a longer
// string lives in a heap std::string; other types point to a Collection.
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
    return tag_ <= kHeapString ? ValueType::kString : static_cast<ValueType>(tag_ - 1);
  }
  bool is_string() const { return tag_ <= kHeapString; }

  // Strings. Precondition for string(): is_string().
  std::string_view string() const {
    if (tag_ == kInlineString) return std::string_view(inline_, inline_len_);
    return *heap();
  }
  void SetString(std::string_view s);
  // A mutable heap string for in-place edits (APPEND, SETRANGE); a value of
  // another type is replaced by an empty string first.
  std::string& MutableString();

  // Collections. Precondition for collection(): !is_string().
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
    // kHeapString + ValueType for the collection types.
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

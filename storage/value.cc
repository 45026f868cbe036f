#include "storage/value.h"

#include <new>

namespace understudy::storage {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kList:
      return "list";
    case ValueType::kHash:
      return "hash";
    case ValueType::kSet:
      return "set";
    case ValueType::kZSet:
      return "zset";
  }
  return "none";
}

void Value::Release() {
  if (tag_ == kHeapString) {
    delete heap();
  } else if (tag_ >= kListpackBase) {
    listpack().~Listpack();
  } else if (tag_ > kHeapString) {
    delete collection();
  }
  tag_ = kInlineString;
  inline_len_ = 0;
}

void Value::SetString(std::string_view s) {
  if (tag_ == kHeapString && s.size() > kInlineCapacity) {
    heap()->assign(s.data(), s.size());  // reuse the buffer
    return;
  }
  if (s.size() <= kInlineCapacity) {
    // `s` may point into this value's own bytes (a substring of it): copy
    // it out before Release() frees or overwrites them.
    char copy[kInlineCapacity];
    if (!s.empty()) std::memcpy(copy, s.data(), s.size());
    Release();
    if (!s.empty()) std::memcpy(inline_, copy, s.size());
    inline_len_ = static_cast<uint8_t>(s.size());
  } else {
    auto* fresh = new std::string(s);  // before Release(), for the same reason
    Release();
    StorePointer(fresh);
    tag_ = kHeapString;
  }
}

std::string& Value::MutableString() {
  if (tag_ == kHeapString) return *heap();
  std::string* fresh = new std::string(tag_ == kInlineString ? string() : std::string_view());
  Release();
  StorePointer(fresh);
  tag_ = kHeapString;
  return *fresh;
}

void Value::SetListpack(ValueType type) {
  Release();
  new (inline_) Listpack();
  tag_ = static_cast<uint8_t>(kListpackBase + static_cast<uint8_t>(type));
}

void Value::SetCollection(ValueType type, std::unique_ptr<Collection> payload) {
  Release();
  StorePointer(payload.release());
  tag_ = static_cast<uint8_t>(kHeapString + static_cast<uint8_t>(type));
}

Value Value::Clone() const {
  Value copy;
  if (is_string()) {
    copy.SetString(string());
  } else if (is_listpack()) {
    copy.SetListpack(type());
    copy.listpack() = listpack().Clone();
  } else {
    copy.SetCollection(type(), collection()->Clone());
  }
  return copy;
}

size_t Value::ExternalMemory() const {
  if (tag_ == kHeapString) return sizeof(std::string) + heap()->capacity() + 1;
  if (tag_ >= kListpackBase) return listpack().MemoryUsage();
  if (tag_ > kHeapString) return collection()->MemoryUsage();
  return 0;
}

}  // namespace understudy::storage

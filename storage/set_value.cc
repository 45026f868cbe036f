#include "storage/set_value.h"

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "common/numbers.h"

namespace understudy::storage {

// ---------------------------------------------------------------------------
// IntSet

std::unique_ptr<IntSet> IntSet::Create(uint8_t width, size_t capacity) {
  void* memory = std::malloc(sizeof(IntSet) + capacity * width);
  if (memory == nullptr) throw std::bad_alloc();
  return std::unique_ptr<IntSet>(new (memory) IntSet(width));
}

uint8_t IntSet::WidthFor(int64_t value) {
  if (value >= std::numeric_limits<int16_t>::min() &&
      value <= std::numeric_limits<int16_t>::max()) {
    return 2;
  }
  if (value >= std::numeric_limits<int32_t>::min() &&
      value <= std::numeric_limits<int32_t>::max()) {
    return 4;
  }
  return 8;
}

size_t IntSet::capacity() const {
  // malloc often hands out a little more than asked for: use it.
  return (malloc_usable_size(const_cast<IntSet*>(this)) - sizeof(IntSet)) / width_;
}

int64_t IntSet::At(size_t index) const {
  const char* p = data() + index * width_;
  switch (width_) {
    case 2: {
      int16_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
    case 4: {
      int32_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
    default: {
      int64_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
  }
}

void IntSet::Store(size_t index, int64_t value) {
  char* p = data() + index * width_;
  switch (width_) {
    case 2: {
      auto v = static_cast<int16_t>(value);
      std::memcpy(p, &v, sizeof(v));
      break;
    }
    case 4: {
      auto v = static_cast<int32_t>(value);
      std::memcpy(p, &v, sizeof(v));
      break;
    }
    default:
      std::memcpy(p, &value, sizeof(value));
  }
}

size_t IntSet::LowerBound(int64_t value, bool* found) const {
  size_t low = 0;
  size_t high = count_;
  // Values outside the current width cannot be present (and go at an end).
  if (WidthFor(value) > width_) {
    *found = false;
    return value < 0 ? 0 : count_;
  }
  while (low < high) {
    size_t mid = low + (high - low) / 2;
    if (At(mid) < value) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  *found = low < count_ && At(low) == value;
  return low;
}

void IntSet::InsertAt(size_t index, int64_t value) {
  char* p = data() + index * width_;
  std::memmove(p + width_, p, (count_ - index) * width_);
  Store(index, value);
  ++count_;
}

void IntSet::EraseAt(size_t index) {
  char* p = data() + index * width_;
  std::memmove(p, p + width_, (count_ - index - 1) * width_);
  --count_;
}

std::unique_ptr<IntSet> IntSet::CopyWithRoom(int64_t value, size_t capacity) const {
  uint8_t width = std::max(width_, WidthFor(value));
  auto copy = Create(width, std::max<size_t>(capacity, count_));
  if (width == width_) {
    std::memcpy(copy->data(), data(), static_cast<size_t>(count_) * width_);
  } else {
    for (size_t i = 0; i < count_; ++i) copy->Store(i, At(i));
  }
  copy->count_ = count_;
  return copy;
}

std::unique_ptr<IntSet> IntSet::ShrinkToFit() const {
  size_t needed = sizeof(IntSet) + static_cast<size_t>(count_) * width_;
  size_t held = malloc_usable_size(const_cast<IntSet*>(this));
  if (held < 64 || held <= 2 * needed) return nullptr;
  return CopyWithRoom(0, count_);
}

size_t IntSet::MemoryUsage() const { return malloc_usable_size(const_cast<IntSet*>(this)); }

std::unique_ptr<Collection> IntSet::Clone() const { return CopyWithRoom(0, count_); }

// ---------------------------------------------------------------------------
// HashSet

size_t HashSet::MemoryUsage() const { return sizeof(HashSet) + dict_.MemoryUsage(); }

std::unique_ptr<Collection> HashSet::Clone() const {
  auto copy = std::make_unique<HashSet>();
  uint64_t cursor = 0;
  do {
    cursor = dict_.Scan(cursor, [&copy](Entry* e) { copy->dict_.Insert(e->key()); });
  } while (cursor != 0);
  return copy;
}

// ---------------------------------------------------------------------------
// SetValue

namespace {

// The growth of a full intset: exact for small ones (a few integers must
// stay as small as Redis's intset), an eighth more for larger ones so that
// adding many members does not copy the array every time.
size_t GrownCapacity(size_t count) { return count + 1 + (count >= 16 ? count / 8 : 0); }

int64_t IntSetLimit(const SetLimits& limits) {
  return std::clamp<int64_t>(limits.max_intset_entries, 0, kIntSetEntriesCap);
}

std::string_view FormatMember(int64_t number, char (&buffer)[kInt64MaxChars]) {
  char* end = FormatInt64(number, buffer);
  return std::string_view(buffer, end - buffer);
}

}  // namespace

SetValue SetValue::Create(Value& value, std::string_view first_member, const SetLimits& limits) {
  int64_t unused;
  if (ParseInt64(first_member, &unused)) return CreateIntSet(value);
  if (limits.max_listpack_entries > 0 && first_member.size() <= limits.max_listpack_value) {
    value.SetListpack(ValueType::kSet);
  } else {
    value.SetCollection(ValueType::kSet, std::make_unique<HashSet>());
  }
  return SetValue(value);
}

SetValue SetValue::CreateIntSet(Value& value) {
  value.SetCollection(ValueType::kSet, IntSet::Create(2, 0));
  return SetValue(value);
}

size_t SetValue::size() const {
  switch (representation()) {
    case Representation::kIntSet:
      return intset()->size();
    case Representation::kListpack:
      return listpack().size();
    case Representation::kDict:
      break;
  }
  return hashset()->dict().size();
}

bool SetValue::Contains(std::string_view member) const {
  switch (representation()) {
    case Representation::kIntSet: {
      int64_t number;
      return ParseInt64(member, &number) && intset()->Contains(number);
    }
    case Representation::kListpack:
      return listpack().Find(member) != listpack().End();
    case Representation::kDict:
      break;
  }
  return hashset()->dict().Find(member) != nullptr;
}

bool SetValue::Add(std::string_view member, const SetLimits& limits) {
  switch (representation()) {
    case Representation::kIntSet: {
      int64_t number;
      if (ParseInt64(member, &number)) return AddToIntSet(number, limits);
      ConvertForGrowth(1, member.size(), limits);
      return Add(member, limits);
    }
    case Representation::kListpack:
      return AddToListpack(member, limits);
    case Representation::kDict:
      break;
  }
  bool inserted = false;
  hashset()->dict().FindOrInsert(member, &inserted);
  return inserted;
}

bool SetValue::AddToIntSet(int64_t number, const SetLimits& limits) {
  IntSet* set = intset();
  bool found = false;
  size_t index = set->LowerBound(number, &found);
  if (found) return false;
  if (static_cast<int64_t>(set->size()) + 1 > IntSetLimit(limits)) {
    char buffer[kInt64MaxChars];
    std::string_view text = FormatMember(number, buffer);
    ConvertForGrowth(1, text.size(), limits);
    return Add(text, limits);
  }
  if (set->CanInsertInPlace(number)) {
    set->InsertAt(index, number);
    return true;
  }
  std::unique_ptr<IntSet> grown = set->CopyWithRoom(number, GrownCapacity(set->size()));
  grown->InsertAt(index, number);
  value_->SetCollection(ValueType::kSet, std::move(grown));
  return true;
}

bool SetValue::AddToListpack(std::string_view member, const SetLimits& limits) {
  Listpack& lp = listpack();
  if (lp.Find(member) != lp.End()) return false;
  if (lp.size() + 1 > limits.max_listpack_entries || member.size() > limits.max_listpack_value) {
    ConvertToDict();
    hashset()->dict().Insert(member);
    return true;
  }
  lp.PushBack(member);
  return true;
}

void SetValue::ConvertForGrowth(size_t extra, size_t longest, const SetLimits& limits) {
  // Only an intset gets here with a choice to make; its members are at
  // most kInt64MaxChars long.
  if (is_intset() && size() + extra <= limits.max_listpack_entries &&
      std::max(longest, kInt64MaxChars) <= limits.max_listpack_value) {
    Value converted;
    converted.SetListpack(ValueType::kSet);
    const IntSet* set = intset();
    char buffer[kInt64MaxChars];
    for (size_t i = 0; i < set->size(); ++i) {
      converted.listpack().PushBack(FormatMember(set->At(i), buffer));
    }
    *value_ = std::move(converted);
    return;
  }
  ConvertToDict();
}

void SetValue::ConvertToDict() {
  auto converted = std::make_unique<HashSet>();
  Dict& dict = converted->dict();
  ForEach([&dict](std::string_view member) {
    dict.Insert(member);
    return true;
  });
  value_->SetCollection(ValueType::kSet, std::move(converted));
}

bool SetValue::Remove(std::string_view member) {
  switch (representation()) {
    case Representation::kIntSet: {
      int64_t number;
      if (!ParseInt64(member, &number)) return false;
      IntSet* set = intset();
      bool found = false;
      size_t index = set->LowerBound(number, &found);
      if (!found) return false;
      set->EraseAt(index);
      if (auto smaller = set->ShrinkToFit()) {
        value_->SetCollection(ValueType::kSet, std::move(smaller));
      }
      return true;
    }
    case Representation::kListpack: {
      Listpack& lp = listpack();
      uint32_t pos = lp.Find(member);
      if (pos == lp.End()) return false;
      lp.Erase(pos);
      return true;
    }
    case Representation::kDict:
      break;
  }
  Dict& dict = hashset()->dict();
  if (!dict.Erase(member)) return false;
  dict.ShrinkIfSparse();
  return true;
}

void SetValue::ForEach(const std::function<bool(std::string_view)>& visit) const {
  switch (representation()) {
    case Representation::kIntSet: {
      const IntSet* set = intset();
      char buffer[kInt64MaxChars];
      for (size_t i = 0; i < set->size(); ++i) {
        if (!visit(FormatMember(set->At(i), buffer))) return;
      }
      return;
    }
    case Representation::kListpack: {
      const Listpack& lp = listpack();
      for (uint32_t pos = lp.Begin(); pos != lp.End(); pos = lp.Next(pos)) {
        if (!visit(lp.Get(pos))) return;
      }
      return;
    }
    case Representation::kDict:
      break;
  }
  // A full reverse-binary scan of a table that does not change visits
  // every entry exactly once.
  const Dict& dict = hashset()->dict();
  bool more = true;
  uint64_t cursor = 0;
  do {
    cursor = dict.Scan(cursor, [&](Entry* e) {
      if (more) more = visit(e->key());
    });
  } while (cursor != 0 && more);
}

void SetValue::RandomMember(std::mt19937_64& rng, std::string* out) const {
  switch (representation()) {
    case Representation::kIntSet: {
      const IntSet* set = intset();
      char buffer[kInt64MaxChars];
      out->assign(FormatMember(set->At(rng() % set->size()), buffer));
      return;
    }
    case Representation::kListpack: {
      const Listpack& lp = listpack();
      out->assign(lp.Get(lp.Seek(static_cast<int64_t>(rng() % lp.size()))));
      return;
    }
    case Representation::kDict:
      break;
  }
  out->assign(hashset()->dict().RandomEntry(rng)->key());
}

void SetValue::PopRandom(std::mt19937_64& rng, std::string* out) {
  switch (representation()) {
    case Representation::kIntSet: {
      IntSet* set = intset();
      size_t index = rng() % set->size();
      char buffer[kInt64MaxChars];
      out->assign(FormatMember(set->At(index), buffer));
      set->EraseAt(index);
      if (auto smaller = set->ShrinkToFit()) {
        value_->SetCollection(ValueType::kSet, std::move(smaller));
      }
      return;
    }
    case Representation::kListpack: {
      Listpack& lp = listpack();
      uint32_t pos = lp.Seek(static_cast<int64_t>(rng() % lp.size()));
      out->assign(lp.Get(pos));
      lp.Erase(pos);
      return;
    }
    case Representation::kDict:
      break;
  }
  Dict& dict = hashset()->dict();
  out->assign(dict.RandomEntry(rng)->key());
  dict.Erase(*out);
  dict.ShrinkIfSparse();
}

uint64_t SetValue::Scan(uint64_t cursor, int64_t count,
                        const std::function<void(std::string_view)>& visit) const {
  if (representation() != Representation::kDict) {
    ForEach([&visit](std::string_view member) {
      visit(member);
      return true;
    });
    return 0;
  }
  const Dict& dict = hashset()->dict();
  if (dict.empty()) return 0;
  int64_t max_iterations = count > std::numeric_limits<int64_t>::max() / 10
                               ? std::numeric_limits<int64_t>::max()
                               : count * 10;
  int64_t seen = 0;
  do {
    cursor = dict.Scan(cursor, [&](Entry* e) {
      visit(e->key());
      ++seen;
    });
  } while (cursor != 0 && max_iterations-- > 0 && seen < count);
  return cursor;
}

}  // namespace understudy::storage

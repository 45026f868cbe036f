#include "replication/reconcile_plan.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/numbers.h"
#include "storage/zset_value.h"

namespace understudy::replication {
namespace {

using storage::JournalOp;
using storage::JournalRecord;

// A counter's local deadline at least this far ahead is set with SET NX
// PXAT rather than through the script (see the counter sums in NextBatch).
constexpr int64_t kNativeDeadlineMarginMs = 1000;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string KeyId(uint32_t db, std::string_view key) {
  std::string id = std::to_string(db);
  id.push_back('\0');
  id.append(key);
  return id;
}

size_t RecordBytes(const JournalRecord& record) {
  size_t bytes = 32;
  for (const std::string& arg : record.args) bytes += arg.size() + 16;
  return bytes;
}

// Commands whose effect on the key at the given position is a removal (or
// nothing an addition-only merge could replay): not replayed under union.
bool IsUnionRemoval(std::string_view command) {
  // clang-format off
  static const std::unordered_set<std::string_view> kRemovals = {
      "DEL", "UNLINK", "SREM", "HDEL", "ZREM", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK",
      "ZREMRANGEBYLEX", "LPOP", "RPOP", "LREM", "LTRIM", "SPOP", "ZPOPMIN", "ZPOPMAX", "GETDEL",
      "BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX", "LMPOP", "ZMPOP", "BLMPOP", "BZMPOP", "FLUSHDB",
      "FLUSHALL"};
  // clang-format on
  return kRemovals.count(command) > 0;
}

enum class CounterKind : uint8_t { kString, kHash, kZSet };

// Applies a relative or absolute expiry argument to the record's time.
bool DeadlineFrom(std::string_view option, std::string_view amount, int64_t time_ms, int64_t* out) {
  int64_t n = 0;
  if (!ParseInt64(amount, &n)) return false;
  const int64_t kMax = std::numeric_limits<int64_t>::max() / 2;
  if (n > kMax / 1000 || n < -kMax / 1000) return false;
  if (option == "EX") {
    *out = time_ms + n * 1000;
  } else if (option == "PX") {
    *out = time_ms + n;
  } else if (option == "EXAT") {
    *out = n * 1000;
  } else if (option == "PXAT") {
    *out = n;
  } else {
    return false;
  }
  *out = std::max<int64_t>(*out, 0);
  return true;
}

}  // namespace

// One counter being summed in the batch under way.
struct ReconcilePlanner::CounterSum {
  uint32_t db;
  std::string key;
  CounterKind kind;
  std::string field;  // hash field or zset member
  bool is_float = false;
  __int128 int_sum = 0;
  long double float_sum = 0;
};

// The batch being built.
struct ReconcilePlanner::PlanState {
  ReconcileBatch batch;
  int64_t now_ms = 0;
  std::vector<CounterSum> sums;
  std::unordered_map<std::string, size_t> sum_index;        // KeyId + '\0' + kind + field
  std::unordered_map<std::string, size_t> lww_index;        // KeyId -> batch.lww
  std::unordered_set<std::string> merged;                   // union keys merged whole
  std::vector<std::pair<uint32_t, std::string>> deadlines;  // counter windows set
  std::unordered_set<std::string> deadline_keys;            // KeyIds of `deadlines`
};

std::string CheckpointKey(std::string_view journal_id) {
  return "understudy:reconciled:" + std::string(journal_id);
}

ReconcilePlanner::ReconcilePlanner(const KeyClassifier& classifier, DatabaseLookup databases,
                                   KeyExtractor key_extractor, PlanLimits limits)
    : classifier_(classifier),
      databases_(std::move(databases)),
      key_extractor_(std::move(key_extractor)),
      limits_(limits),
      apply_sha_(ApplyScriptSha1()) {}

void ReconcilePlanner::SetCheckpoint(uint64_t checkpoint) {
  checkpoint_ = std::max(checkpoint_, checkpoint);
}

namespace {

bool IsCounterIncrement(std::string_view command) {
  return command == "INCR" || command == "DECR" || command == "INCRBY" || command == "DECRBY" ||
         command == "INCRBYFLOAT" || command == "HINCRBY" || command == "HINCRBYFLOAT" ||
         command == "ZINCRBY";
}

// A deadline set on a counter key that leaves it in place (EXPIRE and
// PEXPIRE with a positive amount, EXPIREAT and PEXPIREAT after the record's
// time, any option): a counter's deadline is its window, which rate
// limiters set right after the increment that opened it. The key stays a
// counter (its increments summed) and its deadline follows the local key's,
// as an lww key's would: set on the primary after the batch's sums. One
// that deletes the key (a non-positive amount, a past time) is not this.
bool IsCounterDeadline(const JournalRecord& record, std::string_view command) {
  const bool relative = command == "EXPIRE" || command == "PEXPIRE";
  if (!relative && command != "EXPIREAT" && command != "PEXPIREAT") return false;
  int64_t amount = 0;
  if (record.args.size() < 3 || !ParseInt64(record.args[2], &amount)) return false;
  if (relative) return amount > 0;
  if (command == "EXPIREAT") return amount > record.time_ms / 1000;
  return amount > record.time_ms;
}

}  // namespace

void ReconcilePlanner::NoteRecord(const JournalRecord& record) {
  if (record.op == JournalOp::kBaseline) {
    baselines_[KeyId(record.db, record.key)] = record.state;
    return;
  }
  if (record.op == JournalOp::kReplayed) {
    SetCheckpoint(record.applied_up_to);
    return;
  }
  if (record.args.empty()) return;
  // A counter key written by anything but an increment is lww from then
  // on: its final local state includes that write and every increment
  // after it, so summing those increments as well would count them twice.
  // Noted for skipped records too, so a resumed run decides alike.
  std::string command = Upper(record.args[0]);
  std::vector<size_t> key_indexes;
  key_extractor_(record.args, &key_indexes);
  for (size_t index : key_indexes) {
    if (index >= record.args.size()) continue;
    const std::string& key = record.args[index];
    if (classifier_.ClassOf(key).merge != MergeRule::kCounter) continue;
    if ((IsCounterIncrement(command) || IsCounterDeadline(record, command)) && index == 1) {
      continue;
    }
    counter_lww_.insert(KeyId(record.db, key));
  }
}

void ReconcilePlanner::Add(JournalRecord record) {
  if (record.seq <= last_seq_ && last_seq_ != 0) return;
  last_seq_ = record.seq;
  NoteRecord(record);
  if (record.op != JournalOp::kCommand || record.seq <= checkpoint_ || record.args.empty()) return;
  pending_.push_back(std::move(record));
  ++pending_commands_;
}

int64_t ReconcilePlanner::LocalDeadline(uint32_t db, std::string_view key, int64_t now_ms) const {
  storage::Database* database = databases_ ? databases_(db) : nullptr;
  if (database == nullptr) return -2;
  const storage::Entry* entry = database->dict().Find(key);
  if (entry == nullptr || !database->IsLive(entry, now_ms)) return -2;
  return entry->has_expire() ? entry->expire_at_ms() : -1;
}

void ReconcilePlanner::AddNative(uint32_t db, const std::string& key, std::vector<std::string> argv,
                                 PlanState& state) {
  PlannedCommand command;
  command.db = db;
  command.key = key;
  command.argv = std::move(argv);
  state.batch.commands.push_back(std::move(command));
}

void ReconcilePlanner::AddApply(uint32_t db, const std::string& key,
                                std::vector<std::string> argv_tail, PlanState& state) {
  PlannedCommand command;
  command.db = db;
  command.key = key;
  command.argv.reserve(argv_tail.size() + 4);
  command.argv.push_back("EVALSHA");
  command.argv.push_back(apply_sha_);
  command.argv.push_back("1");
  command.argv.push_back(key);
  for (std::string& arg : argv_tail) command.argv.push_back(std::move(arg));
  state.batch.commands.push_back(std::move(command));
  state.batch.uses_apply_script = true;
}

namespace {

// The arguments of the apply script's replace/merge modes for `state`:
// type, deadline, elements (zset as score, member pairs, ready for ZADD).
std::vector<std::string> StateArgs(std::string_view mode, const FetchedKey& state) {
  std::vector<std::string> args = {std::string(mode)};
  switch (state.type) {
    case FetchedKey::kString:
      args.push_back("string");
      break;
    case FetchedKey::kHash:
      args.push_back("hash");
      break;
    case FetchedKey::kSet:
      args.push_back("set");
      break;
    case FetchedKey::kZSet:
      args.push_back("zset");
      break;
    case FetchedKey::kList:
      args.push_back("list");
      break;
    case FetchedKey::kMissing:
    case FetchedKey::kOther:
      args.push_back("none");
      break;
  }
  args.push_back(std::to_string(state.type == FetchedKey::kMissing ? -1 : state.expire_at_ms));
  if (state.type == FetchedKey::kString) args.push_back(state.string_value);
  for (const std::string& element : state.elements) args.push_back(element);
  for (const storage::ScoredMember& m : state.scored_members) {
    args.push_back(FormatDouble(m.score));
    args.push_back(m.member);
  }
  return args;
}

}  // namespace

void ReconcilePlanner::PlanUnion(const JournalRecord& record, size_t key_index, PlanState& state) {
  const std::vector<std::string>& argv = record.args;
  const std::string command = Upper(argv[0]);
  const std::string& key = argv[key_index];
  const uint32_t db = record.db;
  auto skip = [&] { ++state.batch.skipped; };

  if (IsUnionRemoval(command)) return;
  // Source keys of moves lose an element: a removal.
  if ((command == "SMOVE" || command == "RPOPLPUSH" || command == "LMOVE" || command == "BLMOVE" ||
       command == "BRPOPLPUSH" || command == "RENAME" || command == "RENAMENX") &&
      key_index == 1) {
    return;
  }
  if (command == "SMOVE" && key_index == 2 && argv.size() == 4) {
    AddApply(db, key,
             {"add", std::to_string(LocalDeadline(db, key, state.now_ms)), "SADD", argv[3]}, state);
    return;
  }

  // Additions, replayed as sent (split into chunks of whole elements).
  if (key_index == 1 && (command == "SADD" || command == "HSET" || command == "HMSET" ||
                         command == "HSETNX" || command == "ZADD" || command == "RPUSH" ||
                         command == "LPUSH" || command == "RPUSHX" || command == "LPUSHX")) {
    std::string name = command == "HMSET" ? "HSET" : command;
    size_t first = 2;
    size_t step = 1;
    if (name == "HSET" || name == "HSETNX") step = 2;
    std::vector<std::string> options;
    if (name == "ZADD") {
      step = 2;
      while (first < argv.size()) {
        std::string option = Upper(argv[first]);
        if (option != "NX" && option != "XX" && option != "GT" && option != "LT" &&
            option != "CH" && option != "INCR") {
          break;
        }
        options.push_back(argv[first]);
        ++first;
      }
    }
    if (first >= argv.size() || (argv.size() - first) % step != 0) return skip();
    const int64_t deadline_ms = LocalDeadline(db, key, state.now_ms);
    const std::string deadline = std::to_string(deadline_ms);
    const size_t chunk = std::max<size_t>(step, limits_.max_args_per_op / step * step);
    // The local key has no deadline: no deadline beats any, so the addition
    // is the command itself then PERSIST, with no script.
    const bool native = deadline_ms == -1;
    for (size_t at = first; at < argv.size(); at += chunk) {
      size_t end = std::min(argv.size(), at + chunk);
      if (native) {
        std::vector<std::string> plain = {name, key};
        plain.insert(plain.end(), options.begin(), options.end());
        plain.insert(plain.end(), argv.begin() + at, argv.begin() + end);
        AddNative(db, key, std::move(plain), state);
        continue;
      }
      std::vector<std::string> tail = {"add", deadline, name};
      tail.insert(tail.end(), options.begin(), options.end());
      tail.insert(tail.end(), argv.begin() + at, argv.begin() + end);
      AddApply(db, key, std::move(tail), state);
    }
    if (native) AddNative(db, key, {"PERSIST", key}, state);
    return;
  }

  // String writes: set if absent, deadline merged.
  if (command == "SET" && key_index == 1 && argv.size() >= 3) {
    int64_t deadline = -1;
    for (size_t i = 3; i < argv.size(); ++i) {
      std::string option = Upper(argv[i]);
      if (option == "EX" || option == "PX" || option == "EXAT" || option == "PXAT") {
        if (i + 1 >= argv.size() || !DeadlineFrom(option, argv[i + 1], record.time_ms, &deadline)) {
          return skip();
        }
        ++i;
      } else if (option == "KEEPTTL") {
        deadline = std::max<int64_t>(LocalDeadline(db, key, state.now_ms), -1);
      }
    }
    AddApply(db, key, {"set", argv[2], std::to_string(deadline)}, state);
    return;
  }
  if ((command == "SETNX" || command == "GETSET") && key_index == 1 && argv.size() == 3) {
    AddApply(db, key, {"set", argv[2], "-1"}, state);
    return;
  }
  if ((command == "SETEX" || command == "PSETEX") && key_index == 1 && argv.size() == 4) {
    int64_t deadline = 0;
    if (!DeadlineFrom(command == "SETEX" ? "EX" : "PX", argv[2], record.time_ms, &deadline)) {
      return skip();
    }
    AddApply(db, key, {"set", argv[3], std::to_string(deadline)}, state);
    return;
  }
  if ((command == "MSET" || command == "MSETNX") && key_index + 1 < argv.size()) {
    AddApply(db, key, {"set", argv[key_index + 1], "-1"}, state);
    return;
  }

  // Deadline changes: only ever extended.
  if ((command == "EXPIRE" || command == "PEXPIRE" || command == "EXPIREAT" ||
       command == "PEXPIREAT") &&
      key_index == 1 && argv.size() >= 3) {
    static const std::unordered_map<std::string_view, std::string_view> kOption = {
        {"EXPIRE", "EX"}, {"PEXPIRE", "PX"}, {"EXPIREAT", "EXAT"}, {"PEXPIREAT", "PXAT"}};
    int64_t deadline = 0;
    if (!DeadlineFrom(kOption.at(command), argv[2], record.time_ms, &deadline)) return skip();
    AddApply(db, key, {"extend", std::to_string(deadline)}, state);
    return;
  }
  if (command == "PERSIST" && key_index == 1) {
    AddApply(db, key, {"extend", "-1"}, state);
    return;
  }
  if (command == "GETEX" && key_index == 1) {
    if (argv.size() < 3) return;  // a plain read
    std::string option = Upper(argv[2]);
    if (option == "PERSIST") {
      AddApply(db, key, {"extend", "-1"}, state);
      return;
    }
    int64_t deadline = 0;
    if (argv.size() < 4 || !DeadlineFrom(option, argv[3], record.time_ms, &deadline)) {
      return skip();
    }
    AddApply(db, key, {"extend", std::to_string(deadline)}, state);
    return;
  }

  // Anything else (APPEND, SETRANGE, SUNIONSTORE, the destination of a
  // move...): add the key's final local state, once per batch.
  if (!state.merged.insert(KeyId(db, key)).second) return;
  storage::Database* database = databases_ ? databases_(db) : nullptr;
  if (database == nullptr) return;
  FetchedKey local = LocalKeyState(*database, key, state.now_ms);
  if (local.type == FetchedKey::kMissing) return;  // removals are not replayed
  AddApply(db, key, StateArgs("merge", local), state);
}

bool ReconcilePlanner::PlanCounterIncrement(const JournalRecord& record, PlanState& state) {
  const std::vector<std::string>& argv = record.args;
  const std::string command = Upper(argv[0]);
  CounterKind kind = CounterKind::kString;
  std::string field;
  bool is_float = false;
  __int128 int_delta = 0;
  long double float_delta = 0;
  int64_t n = 0;
  if (command == "INCR" || command == "DECR") {
    if (argv.size() != 2) return false;
    int_delta = command == "INCR" ? 1 : -1;
  } else if (command == "INCRBY" || command == "DECRBY") {
    if (argv.size() != 3 || !ParseInt64(argv[2], &n)) return false;
    int_delta = command == "INCRBY" ? static_cast<__int128>(n) : -static_cast<__int128>(n);
  } else if (command == "INCRBYFLOAT") {
    if (argv.size() != 3 || !ParseLongDouble(argv[2], &float_delta)) return false;
    is_float = true;
  } else if (command == "HINCRBY") {
    if (argv.size() != 4 || !ParseInt64(argv[3], &n)) return false;
    kind = CounterKind::kHash;
    field = argv[2];
    int_delta = n;
  } else if (command == "HINCRBYFLOAT") {
    if (argv.size() != 4 || !ParseLongDouble(argv[3], &float_delta)) return false;
    kind = CounterKind::kHash;
    field = argv[2];
    is_float = true;
  } else if (command == "ZINCRBY") {
    double d = 0;
    if (argv.size() != 4 || !ParseDouble(argv[2], &d)) return false;
    kind = CounterKind::kZSet;
    field = argv[3];
    float_delta = d;
    is_float = true;
  } else {
    return false;
  }
  std::string id = KeyId(record.db, argv[1]);
  id.push_back('\0');
  id.push_back(static_cast<char>(kind));
  id.append(field);
  auto [it, inserted] = state.sum_index.emplace(id, state.sums.size());
  if (inserted) {
    state.sums.push_back(CounterSum{record.db, argv[1], kind, field});
  }
  CounterSum& sum = state.sums[it->second];
  if (is_float) {
    sum.is_float = true;
    sum.float_sum += float_delta;
  } else {
    sum.int_sum += int_delta;
    sum.float_sum += static_cast<long double>(int_delta);
  }
  return true;
}

void ReconcilePlanner::AddLww(uint32_t db, const std::string& key, size_t class_index, bool counter,
                              PlanState& state) {
  std::string id = KeyId(db, key);
  if (state.lww_index.count(id) > 0) return;
  state.lww_index.emplace(id, state.batch.lww.size());
  LwwWrite write;
  write.db = db;
  write.key = key;
  write.class_index = class_index;
  write.check_baseline = !counter;
  auto baseline = baselines_.find(id);
  if (baseline != baselines_.end()) write.baseline = baseline->second;
  storage::Database* database = databases_ ? databases_(db) : nullptr;
  if (database != nullptr) {
    write.local = LocalKeyState(*database, key, state.now_ms);
  } else {
    write.local.key = key;
  }
  state.batch.lww.push_back(std::move(write));
}

void ReconcilePlanner::PlanRecord(const JournalRecord& record, PlanState& state) {
  const std::string command = Upper(record.args[0]);
  if (command == "FLUSHDB" || command == "FLUSHALL") {
    ++state.batch.skipped;  // not replayed: see docs/reconciliation.md
    return;
  }
  std::vector<size_t> key_indexes;
  key_extractor_(record.args, &key_indexes);
  bool increment_planned = false;
  for (size_t index : key_indexes) {
    if (index >= record.args.size()) continue;
    const std::string& key = record.args[index];
    const size_t class_index = classifier_.Classify(key);
    switch (classifier_.classes()[class_index].merge) {
      case MergeRule::kUnion:
        PlanUnion(record, index, state);
        break;
      case MergeRule::kLww:
        AddLww(record.db, key, class_index, /*counter=*/false, state);
        break;
      case MergeRule::kCounter:
        if (index == 1 && IsCounterIncrement(command) &&
            counter_lww_.count(KeyId(record.db, key)) == 0) {
          if (!increment_planned && !PlanCounterIncrement(record, state)) ++state.batch.skipped;
          increment_planned = true;
        } else if (index == 1 && IsCounterDeadline(record, command) &&
                   counter_lww_.count(KeyId(record.db, key)) == 0) {
          // Sent after the batch's sums, once per key: see IsCounterDeadline.
          if (state.deadline_keys.insert(KeyId(record.db, key)).second) {
            state.deadlines.emplace_back(record.db, key);
          }
        } else {
          AddLww(record.db, key, class_index, /*counter=*/true, state);
        }
        break;
    }
  }
}

ReconcileBatch ReconcilePlanner::NextBatch(int64_t now_ms) {
  PlanState state;
  state.now_ms = now_ms;
  size_t bytes = 0;
  while (!pending_.empty()) {
    JournalRecord& front = pending_.front();
    if (front.seq <= checkpoint_) {  // the checkpoint moved after Add
      pending_.pop_front();
      --pending_commands_;
      continue;
    }
    size_t record_bytes = RecordBytes(front);
    if (!state.batch.records.empty() && (state.batch.records.size() >= limits_.max_records ||
                                         bytes + record_bytes > limits_.max_bytes)) {
      break;
    }
    bytes += record_bytes;
    if (state.batch.records.empty()) state.batch.first_seq = front.seq;
    state.batch.last_seq = front.seq;
    ++state.batch.command_records;
    PlanRecord(front, state);
    state.batch.records.push_back(std::move(front));
    pending_.pop_front();
    --pending_commands_;
  }

  // Counter sums, one command each; a key that became lww in this batch
  // is written whole instead, so its sums are dropped.
  for (const CounterSum& sum : state.sums) {
    if (counter_lww_.count(KeyId(sum.db, sum.key)) > 0) continue;
    const int64_t deadline_ms = LocalDeadline(sum.db, sum.key, now_ms);
    const std::string deadline = std::to_string(deadline_ms);
    // A string counter whose local key has no deadline, or one well ahead,
    // needs no script: SET NX creates an absent key with the local deadline
    // (an existing one keeps its own) and the increment follows. Native
    // commands cost the primary a fraction of a script call, and counters
    // are most of a rate limiter's journal. A deadline about to pass (or
    // "gone locally", -2) goes through the script, which creates nothing
    // that would expire at once.
    const bool native = sum.kind == CounterKind::kString &&
                        (deadline_ms == -1 || deadline_ms > now_ms + kNativeDeadlineMarginMs);
    auto emit = [&](std::string delta) {
      if (native) {
        if (deadline_ms >= 0) {
          AddNative(sum.db, sum.key, {"SET", sum.key, "0", "NX", "PXAT", deadline}, state);
        }
        AddNative(sum.db, sum.key,
                  {sum.is_float ? "INCRBYFLOAT" : "INCRBY", sum.key, std::move(delta)}, state);
        return;
      }
      std::vector<std::string> tail = {"incr", deadline};
      switch (sum.kind) {
        case CounterKind::kString:
          tail.push_back(sum.is_float ? "INCRBYFLOAT" : "INCRBY");
          tail.push_back(std::move(delta));
          break;
        case CounterKind::kHash:
          tail.push_back(sum.is_float ? "HINCRBYFLOAT" : "HINCRBY");
          tail.push_back(sum.field);
          tail.push_back(std::move(delta));
          break;
        case CounterKind::kZSet:
          tail.push_back("ZINCRBY");
          tail.push_back(std::move(delta));
          tail.push_back(sum.field);
          break;
      }
      AddApply(sum.db, sum.key, std::move(tail), state);
    };
    if (sum.is_float) {
      if (sum.float_sum == 0) continue;
      emit(sum.kind == CounterKind::kZSet ? FormatDouble(static_cast<double>(sum.float_sum))
                                          : FormatLongDoubleHuman(sum.float_sum));
      continue;
    }
    // An integer sum beyond int64 goes out in several steps.
    __int128 rest = sum.int_sum;
    const __int128 kMax = std::numeric_limits<int64_t>::max();
    const __int128 kMin = std::numeric_limits<int64_t>::min();
    while (rest != 0) {
      __int128 step = std::clamp(rest, kMin, kMax);
      emit(Int64ToString(static_cast<int64_t>(step)));
      rest -= step;
    }
  }
  // Counter windows: the primary key (if it exists) gets the local key's
  // deadline; a key gone locally, or without a deadline, is left alone.
  for (const auto& [db, key] : state.deadlines) {
    if (counter_lww_.count(KeyId(db, key)) > 0) continue;
    const int64_t deadline_ms = LocalDeadline(db, key, now_ms);
    if (deadline_ms < 0) continue;
    AddNative(db, key, {"PEXPIREAT", key, std::to_string(deadline_ms)}, state);
  }
  return std::move(state.batch);
}

void ReconcilePlanner::ResolveLww(ReconcileBatch& batch, std::span<const FetchedKey> primary,
                                  std::vector<ReconcileConflict>* conflicts) const {
  for (size_t i = 0; i < batch.lww.size() && i < primary.size(); ++i) {
    LwwWrite& write = batch.lww[i];
    const KeyClass& key_class = classifier_.classes()[write.class_index];
    const std::string local_state = EncodeFetchedState(write.local);
    const std::string primary_state = EncodeFetchedState(primary[i]);
    bool write_local = true;
    // Unchanged since the outage began, or already what we would write
    // (a batch of this run wrote it, or both sides made the same change).
    if (write.check_baseline && write.baseline.has_value() && primary_state != *write.baseline &&
        primary_state != local_state) {
      write_local = key_class.conflict == ConflictPolicy::kLocal;
      if (conflicts != nullptr) {
        conflicts->push_back({write.db, write.key, key_class.name, write_local});
      }
    }
    write.baseline = write_local ? local_state : primary_state;  // what later batches compare with
    if (!write_local) continue;
    PlannedCommand command;
    command.db = write.db;
    command.key = write.key;
    // A deletion or a string needs no script: DEL, or SET (which replaces
    // a value of any type and, without KEEPTTL, its deadline too) with the
    // local deadline. Plain commands cost the primary far less.
    if (write.local.type == FetchedKey::kMissing) {
      command.argv = {"DEL", write.key};
      batch.commands.push_back(std::move(command));
      continue;
    }
    if (write.local.type == FetchedKey::kString) {
      command.argv = {"SET", write.key, write.local.string_value};
      if (write.local.expire_at_ms >= 0) {
        command.argv.push_back("PXAT");
        command.argv.push_back(std::to_string(write.local.expire_at_ms));
      }
      batch.commands.push_back(std::move(command));
      continue;
    }
    command.argv = {"EVALSHA", apply_sha_, "1", write.key};
    for (std::string& arg : StateArgs("replace", write.local))
      command.argv.push_back(std::move(arg));
    batch.commands.push_back(std::move(command));
    batch.uses_apply_script = true;
  }
}

void ReconcilePlanner::Committed(const ReconcileBatch& batch) {
  for (const LwwWrite& write : batch.lww) {
    if (write.baseline.has_value()) baselines_[KeyId(write.db, write.key)] = *write.baseline;
  }
}

void ReconcilePlanner::Requeue(ReconcileBatch&& batch) {
  for (auto it = batch.records.rbegin(); it != batch.records.rend(); ++it) {
    pending_.push_front(std::move(*it));
    ++pending_commands_;
  }
  batch.records.clear();
}

}  // namespace understudy::replication

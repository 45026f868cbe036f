#include "storage/database.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace understudy::storage {
namespace {

std::string Key(int i) { return "key:" + std::to_string(i); }

// Records the keys the database reports as expired.
class RecordingListener : public ExpiryListener {
 public:
  void OnKeyExpired(int db_index, std::string_view key) override {
    expired.emplace_back(db_index, std::string(key));
  }
  std::multiset<std::string> Keys() const {
    std::multiset<std::string> keys;
    for (const auto& [index, key] : expired) keys.insert(key);
    return keys;
  }
  std::vector<std::pair<int, std::string>> expired;
};

class DatabaseTest : public ::testing::Test {
 protected:
  DatabaseTest() { db_.set_expiry_listener(&listener_); }

  int64_t now() const { return clock_.NowMs(); }

  Entry* Set(std::string_view key, std::string_view value,
             std::optional<int64_t> deadline = std::nullopt) {
    bool created = false;
    Entry* e = db_.FindOrCreate(key, now(), &created);
    e->value().SetString(value);
    if (deadline) {
      db_.SetExpire(e, *deadline);
    } else {
      db_.ClearExpire(e);
    }
    return e;
  }

  ManualClock clock_;
  RecordingListener listener_;
  Database db_{3};
};

TEST_F(DatabaseTest, KeyWithoutDeadlineNeverExpires) {
  Set("k", "v");
  clock_.AdvanceMs(1'000'000'000);
  Entry* e = db_.Find("k", now());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value().string(), "v");
  EXPECT_FALSE(e->has_expire());
  EXPECT_EQ(db_.volatile_count(), 0u);
}

TEST_F(DatabaseTest, LazyExpiryHidesAndDeletesExpiredKeys) {
  const int64_t deadline = now() + 100;
  Set("k", "v", deadline);
  Set("other", "w");
  EXPECT_EQ(db_.volatile_count(), 1u);
  EXPECT_NE(db_.Find("k", deadline - 1), nullptr);
  // Like Redis, the key is still there at its very deadline.
  ASSERT_NE(db_.Find("k", deadline), nullptr);
  EXPECT_EQ(db_.Find("k", deadline)->expire_at_ms(), deadline);
  EXPECT_TRUE(db_.IsLive(db_.Find("k", deadline), deadline));
  EXPECT_EQ(db_.size(), 2u);
  EXPECT_TRUE(listener_.expired.empty());

  EXPECT_EQ(db_.Find("k", deadline + 1), nullptr);
  EXPECT_EQ(db_.size(), 1u);  // deleted on access, not just hidden
  EXPECT_EQ(db_.volatile_count(), 0u);
  EXPECT_EQ(db_.stats().expired_keys, 1u);
  ASSERT_EQ(listener_.expired.size(), 1u);
  EXPECT_EQ(listener_.expired[0], std::make_pair(3, std::string("k")));
  // Going back in time does not resurrect it.
  EXPECT_EQ(db_.Find("k", deadline - 50), nullptr);
  EXPECT_NE(db_.Find("other", deadline + 1), nullptr);
}

TEST_F(DatabaseTest, FindForReadCountsHitsAndMisses) {
  Set("live", "1");
  Set("dying", "2", now() + 10);
  EXPECT_NE(db_.FindForRead("live", now()), nullptr);
  EXPECT_EQ(db_.FindForRead("missing", now()), nullptr);
  EXPECT_EQ(db_.FindForRead("dying", now() + 11), nullptr);
  EXPECT_EQ(db_.stats().keyspace_hits, 1u);
  EXPECT_EQ(db_.stats().keyspace_misses, 2u);
  // Plain Find does not count.
  db_.Find("live", now());
  EXPECT_EQ(db_.stats().keyspace_hits, 1u);
}

TEST_F(DatabaseTest, FindOrCreateOverAnExpiredKeyStartsFresh) {
  Set("k", std::string(100, 'o'), now() + 5);
  clock_.AdvanceMs(6);
  bool created = false;
  Entry* e = db_.FindOrCreate("k", now(), &created);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(created);
  EXPECT_EQ(e->value().string(), "");
  EXPECT_FALSE(e->has_expire());
  EXPECT_EQ(db_.volatile_count(), 0u);
  EXPECT_EQ(db_.size(), 1u);
  EXPECT_EQ(db_.stats().expired_keys, 1u);
  ASSERT_EQ(listener_.expired.size(), 1u);
  EXPECT_EQ(listener_.expired[0].second, "k");
  // The fresh key stays even far in the future.
  EXPECT_NE(db_.Find("k", now() + 1'000'000), nullptr);
}

TEST_F(DatabaseTest, FindOrCreateOverALiveKeyKeepsIt) {
  Set("k", "value", now() + 1000);
  bool created = true;
  Entry* e = db_.FindOrCreate("k", now(), &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(e->value().string(), "value");
  EXPECT_EQ(e->expire_at_ms(), now() + 1000);
  EXPECT_EQ(db_.volatile_count(), 1u);
  bool created_new = false;
  db_.FindOrCreate("new", now(), &created_new);
  EXPECT_TRUE(created_new);
  EXPECT_EQ(db_.size(), 2u);
}

TEST_F(DatabaseTest, DeleteReportsWhetherALiveKeyWasRemoved) {
  Set("live", "1", now() + 100);
  Set("plain", "2");
  Set("expired", "3", now() + 10);
  clock_.AdvanceMs(50);
  EXPECT_TRUE(db_.Delete("live", now()));
  EXPECT_TRUE(db_.Delete("plain", now()));
  EXPECT_FALSE(db_.Delete("missing", now()));
  EXPECT_FALSE(db_.Delete("expired", now()));
  EXPECT_EQ(db_.size(), 0u);
  EXPECT_EQ(db_.volatile_count(), 0u);
  EXPECT_EQ(db_.stats().expired_keys, 1u);
  ASSERT_EQ(listener_.expired.size(), 1u);
  EXPECT_EQ(listener_.expired[0].second, "expired");
  EXPECT_FALSE(db_.Delete("live", now()));
}

TEST_F(DatabaseTest, DeleteWithTheEntrysOwnKeyBytes) {
  // Callers may pass a view of the entry's own key (e.g. while iterating);
  // the listener must still see the right name.
  Entry* e = Set("a-rather-long-key-name-to-delete", "v", now() + 1);
  clock_.AdvanceMs(2);
  EXPECT_FALSE(db_.Delete(e->key(), now()));
  ASSERT_EQ(listener_.expired.size(), 1u);
  EXPECT_EQ(listener_.expired[0].second, "a-rather-long-key-name-to-delete");
}

TEST_F(DatabaseTest, SetExpireTwiceTracksOnce) {
  Entry* e = Set("k", "v");
  db_.SetExpire(e, now() + 10);
  db_.SetExpire(e, now() + 20);
  EXPECT_EQ(db_.volatile_count(), 1u);
  EXPECT_EQ(e->expire_at_ms(), now() + 20);
  db_.ClearExpire(e);
  db_.ClearExpire(e);
  EXPECT_EQ(db_.volatile_count(), 0u);
  EXPECT_EQ(e->expire_at_ms(), kNoExpire);
}

TEST_F(DatabaseTest, ActiveExpireRemovesOnlyExpiredKeys) {
  std::set<std::string> expired_names;
  for (int i = 0; i < 1500; ++i) {
    if (i % 3 == 0) {
      Set(Key(i), "persistent");
    } else if (i % 3 == 1) {
      Set(Key(i), "past", now() - 1 - i);
      expired_names.insert(Key(i));
    } else {
      Set(Key(i), "future", now() + 1 + i);
    }
  }
  ASSERT_EQ(db_.volatile_count(), 1000u);
  EXPECT_EQ(db_.ActiveExpire(now(), 0), 0u);
  size_t removed = 0;
  int calls = 0;
  while (db_.volatile_count() > 500 && calls < 100'000) {
    size_t size_before = db_.size();
    size_t n = db_.ActiveExpire(now(), 20);
    ASSERT_LE(n, 20u);
    ASSERT_EQ(db_.size(), size_before - n);
    removed += n;
    ++calls;
  }
  EXPECT_EQ(removed, 500u);
  EXPECT_EQ(db_.volatile_count(), 500u);
  EXPECT_EQ(db_.size(), 1000u);
  EXPECT_EQ(db_.stats().expired_keys, 500u);
  std::multiset<std::string> reported = listener_.Keys();
  EXPECT_EQ(std::set<std::string>(reported.begin(), reported.end()), expired_names);
  EXPECT_EQ(reported.size(), 500u);
  for (int i = 0; i < 1500; ++i) {
    ASSERT_EQ(db_.Find(Key(i), now()) != nullptr, i % 3 != 1) << i;
  }
  // Nothing left to do: further cycles remove nothing.
  EXPECT_EQ(db_.ActiveExpire(now(), 1000), 0u);
}

TEST_F(DatabaseTest, ActiveExpireWorkIsBoundedBySamples) {
  for (int i = 0; i < 1000; ++i) Set(Key(i), "v", now() + 10);
  clock_.AdvanceMs(11);
  // Every sample hits an expired key, so each call removes exactly its budget.
  EXPECT_EQ(db_.ActiveExpire(now(), 20), 20u);
  EXPECT_EQ(db_.size(), 980u);
  EXPECT_EQ(db_.ActiveExpire(now(), 1), 1u);
  EXPECT_EQ(db_.ActiveExpire(now(), 5000), 979u);  // stops when none are left
  EXPECT_EQ(db_.size(), 0u);
  EXPECT_EQ(db_.ActiveExpire(now(), 20), 0u);
}

TEST_F(DatabaseTest, ActiveExpireWithNoVolatileKeys) {
  for (int i = 0; i < 100; ++i) Set(Key(i), "v");
  EXPECT_EQ(db_.ActiveExpire(now() + 1'000'000, 20), 0u);
  EXPECT_EQ(db_.size(), 100u);
}

// Many SetExpire/ClearExpire/Delete/Detach/Attach operations against a model;
// then an active-expire sweep far in the future must remove exactly the keys
// the model says have a deadline, which only works if the volatile index
// holds exactly the live volatile entries.
TEST_F(DatabaseTest, VolatileIndexStaysConsistent) {
  std::map<std::string, std::optional<int64_t>> model;  // key -> deadline
  std::mt19937_64 rng(2024);
  const int64_t t = now();
  auto volatile_in_model = [&] {
    return static_cast<size_t>(
        std::count_if(model.begin(), model.end(), [](const auto& kv) { return kv.second; }));
  };
  for (int op = 0; op < 100'000; ++op) {
    std::string key = Key(static_cast<int>(rng() % 2000));
    auto it = model.find(key);
    switch (rng() % 7) {
      case 0: {  // SET key v [PX]
        std::optional<int64_t> deadline;
        if (rng() % 2) deadline = t + 1 + static_cast<int64_t>(rng() % 100000);
        Set(key, "v", deadline);
        model[key] = deadline;
        break;
      }
      case 1: {  // EXPIRE
        Entry* e = db_.Find(key, t);
        ASSERT_EQ(e != nullptr, it != model.end());
        if (e != nullptr) {
          int64_t deadline = t + 1 + static_cast<int64_t>(rng() % 100000);
          db_.SetExpire(e, deadline);
          it->second = deadline;
        }
        break;
      }
      case 2: {  // PERSIST
        if (Entry* e = db_.Find(key, t)) {
          db_.ClearExpire(e);
          model[key] = std::nullopt;
        }
        break;
      }
      case 3:
        ASSERT_EQ(db_.Delete(key, t), model.erase(key) == 1);
        break;
      case 4: {  // RENAME key other
        std::string other = Key(static_cast<int>(rng() % 2000));
        Database::Detached item;
        bool detached = db_.Detach(key, t, &item);
        ASSERT_EQ(detached, it != model.end());
        if (!detached) break;
        ASSERT_EQ(item.expire_at_ms, it->second.value_or(kNoExpire));
        std::optional<int64_t> deadline = it->second;
        model.erase(it);
        db_.Attach(other, std::move(item));
        model[other] = deadline;
        break;
      }
      case 5: {  // check one key
        Entry* e = db_.Find(key, t);
        ASSERT_EQ(e != nullptr, it != model.end()) << key;
        if (e != nullptr) {
          ASSERT_EQ(e->expire_at_ms(), it->second.value_or(kNoExpire)) << key;
        }
        break;
      }
      case 6:
        db_.Housekeep();
        break;
    }
    ASSERT_EQ(db_.size(), model.size());
    ASSERT_EQ(db_.volatile_count(), volatile_in_model()) << "after op " << op;
  }
  EXPECT_TRUE(listener_.expired.empty()) << "nothing had a deadline in the past";
  const size_t persistent = model.size() - volatile_in_model();
  while (db_.volatile_count() > 0) ASSERT_GT(db_.ActiveExpire(t + 1'000'000, 100), 0u);
  EXPECT_EQ(db_.size(), persistent);
  std::set<std::string> expected_expired;
  for (const auto& [key, deadline] : model) {
    if (deadline) expected_expired.insert(key);
    ASSERT_EQ(db_.Find(key, t + 1'000'000) != nullptr, !deadline) << key;
  }
  std::multiset<std::string> reported = listener_.Keys();
  EXPECT_EQ(reported.size(), expected_expired.size());
  EXPECT_EQ(std::set<std::string>(reported.begin(), reported.end()), expected_expired);
}

TEST_F(DatabaseTest, DetachAndAttachMoveValueAndDeadline) {
  Set("src", std::string(64, 's'), now() + 500);
  Database::Detached item;
  ASSERT_TRUE(db_.Detach("src", now(), &item));
  EXPECT_EQ(item.value.string(), std::string(64, 's'));
  EXPECT_EQ(item.expire_at_ms, now() + 500);
  EXPECT_EQ(db_.Find("src", now()), nullptr);
  EXPECT_EQ(db_.volatile_count(), 0u);

  Entry* e = db_.Attach("dst", std::move(item));
  EXPECT_EQ(e->key(), "dst");
  EXPECT_EQ(e->value().string(), std::string(64, 's'));
  EXPECT_EQ(e->expire_at_ms(), now() + 500);
  EXPECT_EQ(db_.volatile_count(), 1u);
  EXPECT_EQ(db_.Find("dst", now() + 501), nullptr);  // the deadline came along
  EXPECT_EQ(db_.volatile_count(), 0u);
}

TEST_F(DatabaseTest, AttachOverwritesAnExistingKey) {
  Set("volatile", "old", now() + 100);
  Set("plain", "old");
  EXPECT_EQ(db_.volatile_count(), 1u);

  Database::Detached persistent;
  persistent.value.SetString("new-persistent");
  Entry* a = db_.Attach("volatile", std::move(persistent));
  EXPECT_EQ(a->value().string(), "new-persistent");
  EXPECT_FALSE(a->has_expire());
  EXPECT_EQ(db_.volatile_count(), 0u);

  Database::Detached with_deadline;
  with_deadline.value.SetString("new-volatile");
  with_deadline.expire_at_ms = now() + 7;
  Entry* b = db_.Attach("plain", std::move(with_deadline));
  EXPECT_EQ(b->value().string(), "new-volatile");
  EXPECT_EQ(b->expire_at_ms(), now() + 7);
  EXPECT_EQ(db_.volatile_count(), 1u);
  EXPECT_EQ(db_.size(), 2u);
}

TEST_F(DatabaseTest, DetachOfMissingOrExpiredKeyFails) {
  Database::Detached item;
  EXPECT_FALSE(db_.Detach("missing", now(), &item));
  Set("gone", "v", now() + 1);
  EXPECT_FALSE(db_.Detach("gone", now() + 2, &item));
  EXPECT_EQ(db_.size(), 0u);
  EXPECT_EQ(db_.stats().expired_keys, 1u);
}

TEST_F(DatabaseTest, SwapExchangesKeysAndDeadlines) {
  RecordingListener other_listener;
  Database other(7);
  other.set_expiry_listener(&other_listener);
  Set("mine", "1", now() + 10);
  Set("mine-too", "2");
  bool created = false;
  Entry* theirs = other.FindOrCreate("theirs", now(), &created);
  theirs->value().SetString("3");
  other.SetExpire(theirs, now() + 20);
  other.SetExpire(other.FindOrCreate("theirs-2", now(), &created), now() + 30);

  db_.Swap(other);
  EXPECT_EQ(db_.index(), 3);
  EXPECT_EQ(other.index(), 7);
  EXPECT_EQ(db_.size(), 2u);
  EXPECT_EQ(db_.volatile_count(), 2u);
  EXPECT_EQ(other.size(), 2u);
  EXPECT_EQ(other.volatile_count(), 1u);
  EXPECT_EQ(db_.Find("mine", now()), nullptr);
  EXPECT_EQ(db_.Find("theirs", now())->value().string(), "3");
  EXPECT_EQ(other.Find("mine", now())->value().string(), "1");

  // The moved volatile indexes work in their new homes, and expiry is
  // reported under the database's own index.
  EXPECT_EQ(db_.ActiveExpire(now() + 100, 100), 2u);
  EXPECT_EQ(other.ActiveExpire(now() + 100, 100), 1u);
  EXPECT_EQ(db_.size(), 0u);
  EXPECT_EQ(other.size(), 1u);
  EXPECT_NE(other.Find("mine-too", now() + 100), nullptr);
  for (const auto& [index, key] : listener_.expired) EXPECT_EQ(index, 3) << key;
  for (const auto& [index, key] : other_listener.expired) EXPECT_EQ(index, 7) << key;
  EXPECT_EQ(listener_.Keys(), (std::multiset<std::string>{"theirs", "theirs-2"}));
  EXPECT_EQ(other_listener.Keys(), (std::multiset<std::string>{"mine"}));
}

TEST_F(DatabaseTest, RandomKeyNeverReturnsAnExpiredKey) {
  for (int i = 0; i < 20; ++i)
    Set(Key(i), "v", i % 2 ? std::optional<int64_t>(now() - 1) : std::nullopt);
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    Entry* e = db_.RandomKey(now());
    ASSERT_NE(e, nullptr);
    int index = std::stoi(std::string(e->key().substr(4)));
    ASSERT_EQ(index % 2, 0) << e->key();
    seen.insert(std::string(e->key()));
  }
  EXPECT_EQ(seen.size(), 10u);  // all live keys come up
}

TEST_F(DatabaseTest, RandomKeyFindsTheOneLiveKeyAmongManyExpired) {
  for (int i = 0; i < 2000; ++i) Set(Key(i), "v", now() + 5);
  Set("survivor", "v");
  clock_.AdvanceMs(10);
  Entry* e = db_.RandomKey(now());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->key(), "survivor");
  EXPECT_EQ(db_.stats().expired_keys + db_.size(), 2001u);
}

TEST_F(DatabaseTest, RandomKeyOfAllExpiredOrEmpty) {
  EXPECT_EQ(db_.RandomKey(now()), nullptr);
  for (int i = 0; i < 300; ++i) Set(Key(i), "v", now() + 1);
  clock_.AdvanceMs(2);
  EXPECT_EQ(db_.RandomKey(now()), nullptr);
  EXPECT_EQ(db_.size(), 0u);
  EXPECT_EQ(db_.volatile_count(), 0u);
  EXPECT_EQ(db_.stats().expired_keys, 300u);
}

TEST_F(DatabaseTest, ClearRemovesEverything) {
  for (int i = 0; i < 1000; ++i) {
    Set(Key(i), "v", i % 2 ? std::optional<int64_t>(now() + 1000) : std::nullopt);
  }
  db_.Clear();
  EXPECT_EQ(db_.size(), 0u);
  EXPECT_EQ(db_.volatile_count(), 0u);
  EXPECT_EQ(db_.Find(Key(1), now()), nullptr);
  EXPECT_EQ(db_.ActiveExpire(now() + 5000, 100), 0u);
  Set("again", "v", now() + 1);
  EXPECT_EQ(db_.volatile_count(), 1u);
}

TEST_F(DatabaseTest, HousekeepShrinksTheTableAfterMassDeletes) {
  for (int i = 0; i < 50000; ++i) Set(Key(i), "v");
  for (int i = 0; i < 200; ++i) db_.Housekeep();
  const size_t full = db_.dict().bucket_count();
  for (int i = 100; i < 50000; ++i) db_.Delete(Key(i), now());
  for (int i = 0; i < 10000 && (db_.dict().rehashing() || db_.dict().bucket_count() == full); ++i) {
    db_.Housekeep();
  }
  EXPECT_LT(db_.dict().bucket_count(), full / 100);
  for (int i = 0; i < 100; ++i) EXPECT_NE(db_.Find(Key(i), now()), nullptr);
}

TEST_F(DatabaseTest, AverageTtl) {
  EXPECT_EQ(db_.AverageTtlMs(now()), 0);
  std::mt19937_64 rng(4);
  for (int i = 0; i < 1000; ++i) Set(Key(i), "v", now() + 500 + static_cast<int64_t>(rng() % 1001));
  Set("plain", "v");
  // An estimate from a sample of the uniform 500..1500 ms population.
  EXPECT_NEAR(db_.AverageTtlMs(now()), 1000, 150);
  // Keys already past their deadline do not drag the average below zero.
  Set("past", "v", now() - 100000);
  EXPECT_GT(db_.AverageTtlMs(now()), 800);
}

}  // namespace
}  // namespace understudy::storage

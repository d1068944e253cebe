#include "store/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <future>

#include "store/database.h"
#include "store/store_worker.h"

namespace herald::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> open() {
    auto s = openSqliteStore(dir_ / "herald.db");
    EXPECT_TRUE(s) << (s ? "" : s.error().toString());
    return std::move(*s);
  }
  static UserRecord user(std::string name) {
    return UserRecord{0, std::move(name), "example.com", "", "md5", "sha", 1};
  }
  std::filesystem::path dir_;
};

TEST_F(StoreTest, MigratesOnceAndKeepsData) {
  {
    auto s = open();
    ASSERT_TRUE(s->addUser(user("alice")));
  }
  auto db = Database::open(dir_ / "herald.db", {});
  ASSERT_TRUE(db);
  EXPECT_EQ((*db)->schemaVersion(), 1);
  auto s = open();
  auto users = s->listUsers();
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].username, "alice");
}

TEST_F(StoreTest, RefusesADatabaseFromANewerHerald) {
  { auto s = open(); }
  {
    auto db = Database::open(dir_ / "herald.db", {});
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("INSERT INTO schema_migrations(version) VALUES (99)"));
  }
  auto s = openSqliteStore(dir_ / "herald.db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::FailedPrecondition);
  EXPECT_NE(s.error().detail.find("newer"), std::string::npos) << s.error().detail;
}

TEST_F(StoreTest, Users) {
  auto s = open();
  auto a = s->addUser(user("alice"));
  ASSERT_TRUE(a);
  EXPECT_GT(a->id, 0);
  auto dup = s->addUser(user("alice"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::AlreadyExists);
  // SQL-looking input is data.
  ASSERT_TRUE(s->addUser(user("x'); DROP TABLE users; --")));
  EXPECT_EQ(s->listUsers()->size(), 2u);
  ASSERT_TRUE(s->setCredentials("alice", "example.com", "m2", "s2"));
  EXPECT_EQ(s->setCredentials("bob", "example.com", "m", "s").error().code, ErrorCode::NotFound);
  EXPECT_EQ((*s->listUsers())[0].ha1_md5, "m2");  // alice sorts first
  ASSERT_TRUE(s->deleteUser("alice", "example.com"));
  EXPECT_EQ(s->deleteUser("alice", "example.com").error().code, ErrorCode::NotFound);
}

TEST_F(StoreTest, BindingsReplaceAndExpire) {
  auto s = open();
  BindingRecord b;
  b.aor = "sip:alice@example.com";
  b.contact = "sip:alice@192.0.2.1:5060";
  b.expires_at = 1000;
  b.call_id = "c";
  b.cseq = 1;
  b.transport = "UDP";
  b.source = "192.0.2.1:5060";
  BindingRecord c = b;
  c.contact = "sip:alice@192.0.2.2:5060";
  c.expires_at = 2000;
  ASSERT_TRUE(s->replaceBindings(b.aor, {b, c}));
  EXPECT_EQ(s->loadBindings(0)->size(), 2u);
  EXPECT_EQ(s->loadBindings(1500)->size(), 1u);
  auto purged = s->deleteExpiredBindings(1500);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(s->loadBindings(0)->size(), 1u);
  EXPECT_EQ(*s->deleteExpiredBindings(1500), 0);
  ASSERT_TRUE(s->replaceBindings(b.aor, {c}));
  EXPECT_EQ(s->loadBindings(0)->size(), 1u);
  ASSERT_TRUE(s->replaceBindings(b.aor, {}));
  EXPECT_TRUE(s->loadBindings(0)->empty());
}

TEST_F(StoreTest, OfflineMessages) {
  auto s = open();
  std::string body("bin\0ary", 7);
  auto id = s->addOfflineMessage(OfflineMessage{
      0, "sip:bob@example.com", "<sip:alice@example.com>;tag=1", "text/plain", body, 5});
  ASSERT_TRUE(id);
  ASSERT_TRUE(
      s->addOfflineMessage(OfflineMessage{0, "sip:bob@example.com", "a", "text/plain", "2", 6}));
  auto list = s->offlineMessagesFor("sip:bob@example.com");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].body, body);
  EXPECT_TRUE(s->offlineMessagesFor("sip:carol@example.com")->empty());
  ASSERT_TRUE(s->deleteOfflineMessage(*id));
  EXPECT_EQ(s->offlineMessagesFor("sip:bob@example.com")->size(), 1u);
}

TEST_F(StoreTest, WorkerGroupCommitsAndIsolatesFailures) {
  StoreWorker worker(open());
  worker.start();
  std::promise<void> all_done;
  std::atomic<int> pending{3};
  std::vector<bool> ok(3);
  auto finish = [&](int i) {
    return [&, i](Result<void> r) {
      ok[static_cast<size_t>(i)] = r.has_value();
      if (--pending == 0) all_done.set_value();
    };
  };
  worker.submit([](Store& s) -> Result<void> { return s.addUser(user("a")).map([](auto&&) {}); },
                finish(0));
  worker.submit([](Store& s) -> Result<void> { return s.addUser(user("a")).map([](auto&&) {}); },
                finish(1));
  worker.submit([](Store& s) -> Result<void> { return s.addUser(user("b")).map([](auto&&) {}); },
                finish(2));
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(ok, (std::vector<bool>{true, false, true}));
  worker.stop();
  EXPECT_EQ(open()->listUsers()->size(), 2u);
}

}  // namespace
}  // namespace herald::store

#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <future>

#include "store/database.h"
#include "store/file_modes.h"
#include "store/sqlite_schema.h"
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
  static UserQuery users(std::string domain, std::string q, int64_t limit = -1,
                         int64_t offset = 0) {
    UserQuery u;
    u.domain = std::move(domain);
    u.q = std::move(q);
    u.limit = limit;
    u.offset = offset;
    return u;
  }
  static AuditQuery audit(std::string type, std::string actor,
                          std::optional<int64_t> before_id = std::nullopt, int64_t limit = 100) {
    AuditQuery a;
    a.before_id = before_id;
    a.object_type = std::move(type);
    a.actor = std::move(actor);
    a.limit = limit;
    return a;
  }
  static UserRecord user(std::string name) {
    return UserRecord{0, std::move(name), "example.com", "", "md5", "sha", 1};
  }
  std::filesystem::path dir_;
};

// Sets the umask for the life of the test, as a shell with the usual 022 would.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

mode_t modeOf(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::filesystem::path withSuffix(std::filesystem::path p, const char* suffix) {
  p += suffix;
  return p;
}

TEST_F(StoreTest, DatabaseFilesAreOwnerOnlyUnderUmask022) {
  ScopedUmask mask(022);
  auto db = dir_ / "fresh" / "herald.db";
  ASSERT_TRUE(ensurePrivateDirectory(db.parent_path()));
  EXPECT_EQ(modeOf(db.parent_path()), 0700u);
  auto s = openSqliteStore(db);
  ASSERT_TRUE(s) << s.error().toString();
  ASSERT_TRUE((*s)->addUser(user("alice")));  // the -wal and -shm exist while it is open
  EXPECT_EQ(modeOf(db), 0600u);
  EXPECT_EQ(modeOf(withSuffix(db, "-wal")), 0600u);
  EXPECT_EQ(modeOf(withSuffix(db, "-shm")), 0600u);
}

TEST_F(StoreTest, ExistingWorldReadableFilesAndDirectoryAreTightened) {
  ScopedUmask mask(022);
  auto db = dir_ / "herald.db";
  { auto s = open(); }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    auto p = withSuffix(db, suffix);
    if (!std::filesystem::exists(p)) {
      FILE* f = std::fopen(p.c_str(), "w");  // a leftover of an older Herald
      ASSERT_NE(f, nullptr);
      std::fclose(f);
    }
    ASSERT_EQ(::chmod(p.c_str(), 0644), 0);
  }
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_TRUE(ensurePrivateDirectory(dir_));
  EXPECT_EQ(modeOf(dir_), 0700u);
  // Checked before SQLite opens them (it would delete an empty -journal).
  ASSERT_TRUE(ensurePrivateDatabaseFiles(db));
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    EXPECT_EQ(modeOf(withSuffix(db, suffix)), 0600u) << suffix;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    ASSERT_EQ(::chmod(withSuffix(db, suffix).c_str(), 0644), 0);
  }
  std::filesystem::remove(withSuffix(db, "-journal"));
  auto s = open();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_EQ(modeOf(withSuffix(db, suffix)), 0600u) << "after open: " << suffix;
  }
}

TEST_F(StoreTest, MigratesOnceAndKeepsData) {
  {
    auto s = open();
    ASSERT_TRUE(s->addUser(user("alice")));
  }
  auto db = Database::open(dir_ / "herald.db", {});
  ASSERT_TRUE(db);
  EXPECT_EQ((*db)->schemaVersion(), 3);
  auto s = open();
  EXPECT_EQ(s->schemaVersion(), 3);
  auto users = s->listUsers();
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].username, "alice");
}

TEST_F(StoreTest, Version2KeepsUsersOfVersion1) {
  {
    auto db = Database::open(dir_ / "herald.db", sqliteMigrations().first(1));
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec(
        "INSERT INTO users (username, domain, display_name, ha1_md5, ha1_sha256, created_at) "
        "VALUES ('alice', 'example.com', 'Alice', 'm', 's', 1234)"));
  }
  auto s = open();
  auto alice = s->findUser("alice", "example.com");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(alice->has_value());
  EXPECT_EQ((*alice)->display_name, "Alice");
  EXPECT_EQ((*alice)->version, 1);
  EXPECT_EQ((*alice)->updated_at, 1234);
  EXPECT_EQ(*s->policyVersion(), 0);
  EXPECT_EQ(*s->countAdmins(), 0);
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

TEST_F(StoreTest, OfflinePasswordChangeGrowsTheVersion) {
  auto s = open();
  ASSERT_TRUE(s->addUser(user("alice")));
  ASSERT_TRUE(s->setCredentials("alice", "example.com", "m2", "s2"));
  auto alice = s->findUser("alice", "example.com");
  ASSERT_TRUE(alice && *alice);
  EXPECT_EQ((*alice)->version, 2);
  EXPECT_GT((*alice)->updated_at, 1);
}

TEST_F(StoreTest, QueryUsersFiltersSortsAndPages) {
  auto s = open();
  auto add = [&](std::string name, std::string domain, std::string display) {
    UserRecord u = user(std::move(name));
    u.domain = std::move(domain);
    u.display_name = std::move(display);
    ASSERT_TRUE(s->addUser(u));
  };
  add("bob", "b.org", "Bob");
  add("alice", "b.org", "Alice Liddell");
  add("carol", "a.org", "Carol 100%");
  add("dave_x", "a.org", "");
  auto all = s->queryUsers({});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 4);
  ASSERT_EQ(all->items.size(), 4u);
  EXPECT_EQ(all->items[0].username, "carol");  // a.org first, then by username
  EXPECT_EQ(all->items[2].username, "alice");
  auto page = s->queryUsers(users("b.org", "", 1, 1));
  EXPECT_EQ(page->total, 2);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].username, "bob");
  // The filter matches the address or the display name, without case; % and _ are literal.
  EXPECT_EQ(s->queryUsers(users("", "LIDDELL"))->total, 1);
  EXPECT_EQ(s->queryUsers(users("", "ALICE@B.ORG"))->total, 1);
  EXPECT_EQ(s->queryUsers(users("", "100%"))->total, 1);
  EXPECT_EQ(s->queryUsers(users("", "_"))->total, 1);
  EXPECT_EQ(s->queryUsers(users("", "%"))->total, 1);
  EXPECT_EQ(s->queryUsers(users("", "x'); DROP TABLE users; --"))->total, 0);
  EXPECT_EQ(s->queryUsers({})->total, 4);

  auto found = s->findUser("bob", "b.org");
  ASSERT_TRUE(found && *found);
  UserRecord bob = **found;
  bob.display_name = "Robert";
  bob.version = 2;
  bob.updated_at = 99;
  ASSERT_TRUE(s->updateUser(bob));
  EXPECT_EQ((*s->findUser("bob", "b.org"))->display_name, "Robert");
  EXPECT_EQ((*s->findUser("bob", "b.org"))->version, 2);
  bob.username = "nobody";
  EXPECT_EQ(s->updateUser(bob).error().code, ErrorCode::NotFound);
  EXPECT_FALSE(s->findUser("bob", "B.ORG")->has_value());  // domains are stored lower-case
}

TEST_F(StoreTest, Domains) {
  auto s = open();
  ASSERT_TRUE(s->addDomain({"example.org", "Example", 1, 10, 10, 0}));
  ASSERT_TRUE(s->addDomain({"example.com", "", 1, 11, 11, 0}));
  EXPECT_EQ(s->addDomain({"example.org", "again", 1, 12, 12, 0}).error().code,
            ErrorCode::AlreadyExists);
  ASSERT_TRUE(s->addUser(user("alice")));  // example.com
  ASSERT_TRUE(s->addUser(user("bob")));
  auto list = s->queryDomains({});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->total, 2);
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0].name, "example.com");
  EXPECT_EQ(list->items[0].user_count, 2);
  EXPECT_EQ(list->items[1].user_count, 0);
  EXPECT_EQ(s->queryDomains({"ORG", -1, 0})->total, 1);
  EXPECT_EQ(s->queryDomains({"", 1, 1})->items.at(0).name, "example.org");

  DomainRecord d = **s->findDomain("example.org");
  EXPECT_EQ(d.description, "Example");
  d.description = "x'); DROP TABLE domains; --";
  d.version = 2;
  d.updated_at = 20;
  ASSERT_TRUE(s->updateDomain(d));
  d = **s->findDomain("example.org");
  EXPECT_EQ(d.description, "x'); DROP TABLE domains; --");
  EXPECT_EQ(d.version, 2);
  EXPECT_EQ(d.created_at, 10);
  EXPECT_EQ(d.updated_at, 20);
  ASSERT_TRUE(s->deleteDomain("example.org"));
  EXPECT_FALSE(s->findDomain("example.org")->has_value());
  EXPECT_EQ(s->deleteDomain("example.org").error().code, ErrorCode::NotFound);
  d.name = "nowhere.org";
  EXPECT_EQ(s->updateDomain(d).error().code, ErrorCode::NotFound);
}

TEST_F(StoreTest, ParamsAndServiceSwitches) {
  auto s = open();
  EXPECT_TRUE(s->listParams("n1")->empty());
  ASSERT_TRUE(s->putParam({"sip-t1", "node", "n1", "700", 2, 5}));
  ASSERT_TRUE(s->putParam({"sip-t1", "node", "n2", "900", 2, 5}));
  ASSERT_TRUE(s->putParam({"email-federation", "cluster", "", "true", 2, 5}));
  auto params = s->listParams("n1");
  ASSERT_TRUE(params);
  ASSERT_EQ(params->size(), 2u);  // cluster + n1's, not n2's
  EXPECT_EQ((*params)[0].name, "email-federation");
  EXPECT_EQ((*params)[1].value_json, "700");
  // A reset keeps the row (and its version) with a null value.
  ASSERT_TRUE(s->putParam({"sip-t1", "node", "n1", std::nullopt, 3, 6}));
  params = s->listParams("n1");
  ASSERT_EQ(params->size(), 2u);
  EXPECT_FALSE((*params)[1].value_json.has_value());
  EXPECT_EQ((*params)[1].version, 3);
  EXPECT_FALSE(s->putParam({"x", "galaxy", "", "1", 1, 1}));  // scope is checked

  EXPECT_TRUE(s->listServiceSwitches()->empty());
  ASSERT_TRUE(s->putServiceSwitch({"presence", false, 2, 7}));
  ASSERT_TRUE(s->putServiceSwitch({"presence", true, 3, 8}));
  auto sw = s->listServiceSwitches();
  ASSERT_EQ(sw->size(), 1u);
  EXPECT_TRUE((*sw)[0].activated);
  EXPECT_EQ((*sw)[0].version, 3);
}

TEST_F(StoreTest, Admins) {
  auto s = open();
  EXPECT_EQ(*s->countAdmins(), 0);
  EXPECT_FALSE(s->findAdmin("admin")->has_value());
  ASSERT_TRUE(s->putAdmin({"admin", "pbkdf2-sha256", 600000, "00ff", "abcd", 1, 1}));
  ASSERT_TRUE(s->putAdmin({"admin", "pbkdf2-sha256", 600000, "11ee", "ef01", 1, 2}));
  EXPECT_EQ(*s->countAdmins(), 1);
  auto a = s->findAdmin("admin");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->salt_hex, "11ee");
  EXPECT_EQ((*a)->hash_hex, "ef01");
  EXPECT_EQ((*a)->iterations, 600000);
  EXPECT_EQ((*a)->updated_at, 2);
}

TEST_F(StoreTest, AuditLogNewestFirstWithFilters) {
  auto s = open();
  auto entry = [](std::string actor, std::string type, std::optional<int64_t> pv) {
    return AuditRecord{0,   100,          std::move(actor), "127.0.0.1", "create", std::move(type),
                       "x", std::nullopt, "{\"a\":1}",      pv};
  };
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = s->appendAudit(entry(i % 2 == 0 ? "admin" : "config", i < 3 ? "domain" : "user",
                                   i == 4 ? std::nullopt : std::optional<int64_t>(i + 1)));
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  EXPECT_LT(ids[0], ids[4]);
  auto all = s->queryAudit({});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 5);
  ASSERT_EQ(all->items.size(), 5u);
  EXPECT_EQ(all->items[0].id, ids[4]);
  EXPECT_FALSE(all->items[0].policy_version.has_value());
  EXPECT_FALSE(all->items[0].before_json.has_value());
  EXPECT_EQ(all->items[0].after_json, "{\"a\":1}");
  EXPECT_EQ(all->items[1].policy_version, 4);
  auto page = s->queryAudit(audit("", "", ids[3], 2));
  EXPECT_EQ(page->total, 5);  // the same on every page
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, ids[2]);
  EXPECT_EQ(page->items[1].id, ids[1]);
  EXPECT_EQ(s->queryAudit(audit("domain", ""))->total, 3);
  EXPECT_EQ(s->queryAudit(audit("domain", "config"))->total, 1);
  EXPECT_EQ(s->queryAudit(audit("", "admin' OR '1'='1"))->total, 0);
}

TEST_F(StoreTest, FederatedDomains) {
  auto s = open();
  FederatedDomainRecord k{"k.test", "K Corp", "sip", false, "rfc5922", "both", "", false,
                          1, 10, 10};
  FederatedDomainRecord l{"lync.test", "", "lync", true, "srv-target", "sipfederationtls", "",
                          false, 1, 11, 11};
  ASSERT_TRUE(s->addFederatedDomain(l));
  ASSERT_TRUE(s->addFederatedDomain(k));
  auto dup = s->addFederatedDomain(k);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::AlreadyExists);
  auto all = s->queryFederatedDomains({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->total, 2);
  EXPECT_EQ(all->items[0].name, "k.test");  // by name
  EXPECT_EQ(all->items[1].integration, "lync");
  EXPECT_TRUE(all->items[1].direct_federation);
  EXPECT_EQ(s->queryFederatedDomains({"LYNC", -1, 0})->total, 1);
  k.description = "K Corporation";
  k.integration = "clearinghouse";
  k.via_domain = "hub.test";
  k.discovered = true;
  k.version = 2;
  k.updated_at = 20;
  k.created_at = 99;  // not written by an update
  ASSERT_TRUE(s->updateFederatedDomain(k));
  auto found = s->findFederatedDomain("k.test");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->description, "K Corporation");
  EXPECT_EQ((*found)->via_domain, "hub.test");
  EXPECT_TRUE((*found)->discovered);
  EXPECT_EQ((*found)->version, 2);
  EXPECT_EQ((*found)->created_at, 10);
  EXPECT_EQ((*found)->updated_at, 20);
  ASSERT_TRUE(s->deleteFederatedDomain("k.test"));
  EXPECT_FALSE(s->findFederatedDomain("k.test")->has_value());
  EXPECT_EQ(s->deleteFederatedDomain("k.test").error().code, ErrorCode::NotFound);
  k.name = "absent.test";
  EXPECT_EQ(s->updateFederatedDomain(k).error().code, ErrorCode::NotFound);
}

TEST_F(StoreTest, AuditRetentionByAgeThenRowsFailedLoginsFirst) {
  auto s = open();
  auto entry = [](int64_t at, std::string action) {
    return AuditRecord{0, at, "admin", "127.0.0.1", std::move(action), "domain", "x",
                       std::nullopt, std::nullopt, std::nullopt};
  };
  // at 100..109: changes; 200..209: failed logins and changes in turn.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s->appendAudit(entry(100 + i, "create")));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(s->appendAudit(entry(200 + i, i % 2 == 0 ? "login_failed" : "update")));
  }
  auto newest = s->queryAudit({})->items[0].id;
  EXPECT_EQ(*s->pruneAudit(0, 1000), 0);          // nothing is old, nothing is over
  EXPECT_EQ(*s->pruneAudit(105, 1000), 5);        // the five before 105
  EXPECT_EQ(s->queryAudit({})->total, 15);
  EXPECT_EQ(*s->pruneAudit(105, 12), 3);          // over by 3: the three oldest failed logins
  auto left = s->queryAudit({});
  ASSERT_EQ(left->total, 12);
  int failed = 0;
  for (const auto& e : left->items) failed += e.action == "login_failed";
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(*s->pruneAudit(105, 4), 8);           // the other two, then the oldest entries
  left = s->queryAudit({});
  ASSERT_EQ(left->total, 4);
  for (const auto& e : left->items) EXPECT_EQ(e.action, "update");
  EXPECT_EQ(left->items[0].id, newest);
  EXPECT_EQ(*s->pruneAudit(1000, 4), 4);          // everything is old
  EXPECT_EQ(s->queryAudit({})->total, 0);
  // Ids only grow, even after everything was deleted.
  EXPECT_GT(*s->appendAudit(entry(300, "create")), newest);
}

TEST_F(StoreTest, PolicyVersionGrowsOnlyWhenCommitted) {
  auto s = open();
  EXPECT_EQ(*s->policyVersion(), 0);
  ASSERT_TRUE(s->begin());
  EXPECT_EQ(*s->bumpPolicyVersion(), 1);
  ASSERT_TRUE(s->addDomain({"example.org", "", 1, 1, 1, 0}));
  s->rollback();
  EXPECT_EQ(*s->policyVersion(), 0);
  EXPECT_FALSE(s->findDomain("example.org")->has_value());
  ASSERT_TRUE(s->begin());
  EXPECT_EQ(*s->bumpPolicyVersion(), 1);
  ASSERT_TRUE(s->addDomain({"example.org", "", 1, 1, 1, 0}));
  ASSERT_TRUE(s->commit());
  // A committed change is there for the next connection (synchronous=FULL, WAL).
  s.reset();
  s = open();
  EXPECT_EQ(*s->policyVersion(), 1);
  EXPECT_TRUE(s->findDomain("example.org")->has_value());
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

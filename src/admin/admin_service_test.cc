#include "admin/admin_service.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "admin/fake_node_control.h"
#include "registrar/digest.h"

namespace herald::admin {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

template <class T>
::testing::AssertionResult isError(const ApiResult<T>& r, int status, const std::string& code,
                                   const std::string& field = "", const std::string& rule = "") {
  if (r) return ::testing::AssertionFailure() << "succeeded, expected " << status << " " << code;
  const ApiError& e = r.error();
  if (e.status != status || e.code != code || e.field != field || e.rule != rule) {
    return ::testing::AssertionFailure() << "got " << e.status << " " << e.code << " field '"
                                         << e.field << "' rule '" << e.rule << "': " << e.message;
  }
  if (e.message.empty()) return ::testing::AssertionFailure() << "no message";
  return ::testing::AssertionSuccess();
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ListQuery query(std::map<std::string, std::string> filters = {}, std::string q = "",
                int64_t limit = 100, int64_t offset = 0) {
  ListQuery lq;
  lq.filters = std::move(filters);
  lq.q = std::move(q);
  lq.limit = limit;
  lq.offset = offset;
  return lq;
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("herald-admin-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    seed_.node_name = "herald-1";
    seed_.config_domains = {"Example.ORG."};
    seed_.cluster_defaults.federation_routing_fqdn = "sip.example.org";
    open();
  }
  void TearDown() override {
    admin_.reset();
    fs::remove_all(dir_);
  }

  void open() {
    admin_.reset();
    auto r = AdminService::open(dir_ / "herald.db", dir_, node_, seed_, clock_);
    ASSERT_TRUE(r) << r.error().message;
    admin_ = std::move(*r);
  }

  static Change by(std::optional<int64_t> if_match = std::nullopt) {
    return Change{Actor{"admin", "192.0.2.7"}, if_match};
  }
  int64_t pv() { return admin_->policy()->version; }
  json auditItems(std::map<std::string, std::string> filters = {}) {
    auto r = admin_->list("audit", query(std::move(filters)));
    EXPECT_TRUE(r);
    return r ? r->item : json::array();
  }
  int64_t auditCount() { return static_cast<int64_t>(auditItems().size()); }
  std::string initialPassword() {
    std::string p = readFile(dir_ / "initial-admin-password");
    if (!p.empty() && p.back() == '\n') p.pop_back();
    return p;
  }
  ApiResult<Answer> addUser(const std::string& username,
                            const std::string& password = "rabbit-hole-42",
                            const std::string& domain = "example.org") {
    return admin_->create(
        "users", {{"username", username}, {"domain", domain}, {"password", password}}, by());
  }
  Session loginAdmin() {
    auto s = admin_->login("admin", initialPassword(), "192.0.2.7", nullptr);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? *s : Session{};
  }

  fs::path dir_;
  Seed seed_;
  FakeClock clock_;
  FakeNodeControl node_;
  std::unique_ptr<AdminService> admin_;  // last: destroyed before what it uses
};

// --- Start ---

TEST_F(AdminServiceTest, ImportsConfigDomainsOnceWithActorConfig) {
  EXPECT_EQ(admin_->policy()->local_domains, (std::set<std::string>{"example.org"}));
  EXPECT_EQ(pv(), 1);
  json audit = auditItems();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["actor"], "config");
  EXPECT_EQ(audit[0]["source_address"], "");
  EXPECT_EQ(audit[0]["action"], "create");
  EXPECT_EQ(audit[0]["object_type"], "domain");
  EXPECT_EQ(audit[0]["object_id"], "example.org");
  EXPECT_TRUE(audit[0]["before"].is_null());
  EXPECT_EQ(audit[0]["after"]["name"], "example.org");
  EXPECT_EQ(audit[0]["policy_version"], 1);
  // The node applies policy() at start; open() itself applies nothing.
  EXPECT_EQ(node_.apply_calls, 0);

  open();  // the store has it now: nothing imported again
  EXPECT_EQ(pv(), 1);
  EXPECT_EQ(auditCount(), 1);

  // A domain deleted through the API comes back at the next start while the file names it.
  ASSERT_TRUE(admin_->remove("domains", "example.org", by()));
  open();
  EXPECT_TRUE(admin_->get("domains", "example.org"));
  EXPECT_EQ(pv(), 3);
}

TEST_F(AdminServiceTest, FirstStartWritesTheAdminPasswordFileOwnerOnly) {
  ASSERT_TRUE(admin_->initialPasswordFile());
  EXPECT_EQ(*admin_->initialPasswordFile(), dir_ / "initial-admin-password");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "initial-admin-password").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::string password = initialPassword();
  EXPECT_EQ(password.size(), 24u);  // 18 random bytes, base64url
  EXPECT_EQ(password.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_TRUE(admin_->login("admin", password, "127.0.0.1", nullptr));

  open();  // an administrator exists: no new password
  EXPECT_FALSE(admin_->initialPasswordFile());
  EXPECT_EQ(initialPassword(), password);
  EXPECT_TRUE(admin_->login("admin", password, "127.0.0.1", nullptr));
}

// --- Local domains ---

TEST_F(AdminServiceTest, CreateDomainStoresItLowerCasedAndMakesItLive) {
  clock_.advance(std::chrono::seconds(100));
  auto r =
      admin_->create("domains", {{"name", "Example.COM."}, {"description", "Example Corp."}}, by());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["name"], "example.com");
  EXPECT_EQ(r->item["description"], "Example Corp.");
  EXPECT_EQ(r->item["user_count"], 0);
  EXPECT_EQ(r->item["version"], 1);
  EXPECT_EQ(r->item["created_at"], "2023-11-14T22:31:40Z");  // FakeClock 1,700,001,100 s
  EXPECT_EQ(r->item["updated_at"], r->item["created_at"]);
  EXPECT_EQ(r->item.size(), 6u);
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->policy_version, 2);
  EXPECT_EQ(pv(), 2);
  // Live before the answer: the node runs the policy with the domain and that version.
  ASSERT_TRUE(node_.applied);
  EXPECT_EQ(node_.applied->version, 2);
  EXPECT_TRUE(node_.applied->local_domains.count("example.com"));
  EXPECT_EQ(admin_->policy(), node_.applied);

  json audit = auditItems();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0]["action"], "create");
  EXPECT_EQ(audit[0]["actor"], "admin");
  EXPECT_EQ(audit[0]["source_address"], "192.0.2.7");
  EXPECT_EQ(audit[0]["object_id"], "example.com");
  EXPECT_TRUE(audit[0]["before"].is_null());
  EXPECT_EQ(audit[0]["after"], r->item);
  EXPECT_EQ(audit[0]["policy_version"], 2);
  EXPECT_EQ(audit[0]["at"], "2023-11-14T22:31:40Z");

  auto got = admin_->get("domains", "EXAMPLE.com");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->item, r->item);
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->policy_version, 2);
}

TEST_F(AdminServiceTest, DomainNamesFollowTheFqdnRule) {
  const std::string label63(63, 'a');
  std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(name253.size(), 253u);
  for (const std::string& good : {std::string("localhost"), std::string("a-b.c0.org"), label63,
                                  name253, std::string("xn--bcher-kva.example")}) {
    EXPECT_TRUE(admin_->create("domains", {{"name", good}}, by())) << good;
  }
  for (const std::string& bad :
       {std::string("exa mple.org"), std::string("-a.org"), std::string("a-.org"),
        std::string("a..org"), std::string(""), std::string("."), std::string(".org"),
        label63 + "a.org", name253 + "c", std::string("ünï.org"), std::string("a_b.org"),
        std::string("x'); DROP TABLE domains;--"), std::string("a.org\n"),
        std::string("a.org\0b", 7)}) {
    EXPECT_TRUE(isError(admin_->create("domains", {{"name", bad}}, by()), 422, "invalid_field",
                        "name", "fqdn"))
        << bad;
  }
  auto r = admin_->create("domains", {{"name", "exa mple.org"}}, by());
  EXPECT_NE(r.error().message.find("'exa mple.org' is not a domain name"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(admin_->list("domains", query())->total, 6);
}

TEST_F(AdminServiceTest, DomainBodyTypesUnknownAndReadOnlyFields) {
  EXPECT_TRUE(isError(admin_->create("domains", {{"name", 5}}, by()), 400, "invalid_field", "name",
                      "type"));
  EXPECT_TRUE(isError(admin_->create("domains", {{"name", nullptr}}, by()), 400, "invalid_field",
                      "name", "type"));
  EXPECT_TRUE(isError(admin_->create("domains", {{"description", "x"}}, by()), 422, "missing_field",
                      "name", "required"));
  EXPECT_TRUE(isError(admin_->create("domains", {{"name", "a.org"}, {"colour", "red"}}, by()), 400,
                      "unknown_field", "colour", "known_field"));
  EXPECT_TRUE(isError(admin_->create("domains", {{"name", "a.org"}, {"description", 7}}, by()), 400,
                      "invalid_field", "description", "type"));
  EXPECT_TRUE(isError(
      admin_->create("domains", {{"name", "a.org"}, {"description", {{"nested", {1, 2}}}}}, by()),
      400, "invalid_field", "description", "type"));
  EXPECT_TRUE(isError(admin_->create("domains", json::array({"a.org"}), by()), 400, "bad_json"));
  EXPECT_TRUE(isError(admin_->create("domains", "a.org", by()), 400, "bad_json"));
  // The description: 0-512 characters (not bytes), no control characters.
  EXPECT_TRUE(isError(
      admin_->create("domains", {{"name", "a.org"}, {"description", std::string(513, 'x')}}, by()),
      422, "invalid_field", "description", "length"));
  EXPECT_TRUE(
      isError(admin_->create("domains",
                             {{"name", "a.org"}, {"description", std::string(100000, 'x')}}, by()),
              422, "invalid_field", "description", "length"));
  for (const char* control : {"a\nb", "tab\there", "del\x7f", "c1\xc2\x85", "nul"}) {
    std::string text = control;
    if (text == "nul") text = std::string("a\0b", 3);
    EXPECT_TRUE(isError(admin_->create("domains", {{"name", "a.org"}, {"description", text}}, by()),
                        422, "invalid_field", "description", "characters"))
        << control;
  }
  EXPECT_EQ(pv(), 1);  // refused requests change nothing
  EXPECT_EQ(auditCount(), 1);

  std::string accents;
  for (int i = 0; i < 512; ++i) accents += "é";
  auto r = admin_->create("domains",
                          {{"name", "a.org"},
                           {"description", accents},
                           {"version", 99},
                           {"user_count", "many"},
                           {"created_at", 5}},
                          by());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["version"], 1);  // read-only fields are ignored
  EXPECT_EQ(r->item["user_count"], 0);
  EXPECT_EQ(r->item["description"], accents);
}

TEST_F(AdminServiceTest, FieldsAreCheckedInTheDocumentedOrder) {
  // Unknown keys first, then name before description.
  EXPECT_TRUE(isError(
      admin_->create("domains", {{"name", "bad name"}, {"description", 5}, {"zzz", 1}}, by()), 400,
      "unknown_field", "zzz", "known_field"));
  EXPECT_TRUE(isError(admin_->create("domains", {{"name", "bad name"}, {"description", 5}}, by()),
                      422, "invalid_field", "name", "fqdn"));
  // Users: username, domain, display_name, password.
  EXPECT_TRUE(isError(
      admin_->create(
          "users",
          {{"username", "a b"}, {"domain", "example.net"}, {"display_name", 1}, {"password", "x"}},
          by()),
      422, "invalid_field", "username", "sip_user"));
  EXPECT_TRUE(isError(
      admin_->create(
          "users",
          {{"username", "ab"}, {"domain", "example.net"}, {"display_name", 1}, {"password", "x"}},
          by()),
      422, "invalid_field", "domain", "local_domain"));
  EXPECT_TRUE(isError(
      admin_->create(
          "users",
          {{"username", "ab"}, {"domain", "example.org"}, {"display_name", 1}, {"password", "x"}},
          by()),
      400, "invalid_field", "display_name", "type"));
  EXPECT_TRUE(isError(
      admin_->create("users", {{"username", "ab"}, {"domain", "example.org"}, {"password", "x"}},
                     by()),
      422, "invalid_field", "password", "password_length"));
}

TEST_F(AdminServiceTest, DuplicateDomainIsAConflictAndChangesNothing) {
  auto r = admin_->create("domains", {{"name", "EXAMPLE.org"}}, by());
  EXPECT_TRUE(isError(r, 409, "conflict", "name", "unique"));
  EXPECT_EQ(pv(), 1);
  EXPECT_EQ(auditCount(), 1);
  EXPECT_EQ(node_.apply_calls, 0);
}

TEST_F(AdminServiceTest, PatchDomainWithIfMatchAndNoOps) {
  EXPECT_TRUE(isError(admin_->update("domains", "example.org", {{"description", "x"}}, by(2)), 412,
                      "precondition_failed"));
  EXPECT_TRUE(isError(admin_->update("domains", "example.org", {{"description", "x"}}, by(0)), 412,
                      "precondition_failed"));  // a malformed If-Match never matches
  EXPECT_TRUE(isError(admin_->update("domains", "nowhere.org", {{"description", "x"}}, by(1)), 404,
                      "not_found"));
  auto r = admin_->update("domains", "example.org",
                          {{"name", "Example.Org"}, {"description", "Example"}}, by(1));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["description"], "Example");
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->policy_version, 2);
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "update");
  EXPECT_EQ(audit[0]["before"]["description"], "");
  EXPECT_EQ(audit[0]["after"]["description"], "Example");

  // The same value again: 200, no new version, no audit entry, no apply.
  int applies = node_.apply_calls;
  auto same = admin_->update("domains", "example.org", {{"description", "Example"}}, by(2));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->version, 2);
  EXPECT_EQ(same->policy_version, 2);
  auto empty = admin_->update("domains", "example.org", json::object(), by());
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->version, 2);
  EXPECT_EQ(node_.apply_calls, applies);
  EXPECT_EQ(auditCount(), 2);

  EXPECT_TRUE(isError(admin_->update("domains", "example.org", {{"name", "example.com"}}, by()),
                      422, "invalid_field", "name", "immutable"));
  EXPECT_TRUE(isError(admin_->update("domains", "example.org", {{"name", 3}}, by()), 400,
                      "invalid_field", "name", "type"));
  EXPECT_TRUE(isError(admin_->update("domains", "example.org", {{"size", 3}}, by()), 400,
                      "unknown_field", "size", "known_field"));
  // An item read with GET goes back as it is.
  auto item = admin_->get("domains", "example.org")->item;
  item["description"] = "Again";
  auto back = admin_->update("domains", "example.org", item, by(2));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->version, 3);
}

TEST_F(AdminServiceTest, DomainWithUsersCannotBeDeleted) {
  ASSERT_TRUE(addUser("alice"));
  ASSERT_TRUE(addUser("bob"));
  auto r = admin_->remove("domains", "example.org", by());
  EXPECT_TRUE(isError(r, 409, "conflict"));
  EXPECT_EQ(r.error().message, "domain example.org still has 2 users; delete them first");
  ASSERT_TRUE(admin_->remove("users", "bob@example.org", by()));
  EXPECT_EQ(admin_->remove("domains", "example.org", by()).error().message,
            "domain example.org still has 1 user; delete them first");
  ASSERT_TRUE(admin_->remove("users", "alice@example.org", by()));

  EXPECT_TRUE(isError(admin_->remove("domains", "example.org", by(7)), 412, "precondition_failed"));
  auto gone = admin_->remove("domains", "Example.org", by(1));
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_EQ(gone->item["name"], "example.org");  // the item as it was
  EXPECT_EQ(gone->item["version"], 1);
  EXPECT_FALSE(admin_->policy()->local_domains.count("example.org"));
  EXPECT_FALSE(node_.applied->local_domains.count("example.org"));
  EXPECT_TRUE(isError(admin_->get("domains", "example.org"), 404, "not_found"));
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "delete");
  EXPECT_TRUE(audit[0]["after"].is_null());
  EXPECT_EQ(audit[0]["before"]["name"], "example.org");
  EXPECT_TRUE(isError(admin_->remove("domains", "example.org", by()), 404, "not_found"));
}

TEST_F(AdminServiceTest, ListsFilterPageAndCheckTheirQuery) {
  for (const char* name : {"b.net", "a.net", "c.org"}) {
    ASSERT_TRUE(admin_->create("domains", {{"name", name}}, by()));
  }
  auto all = admin_->list("domains", query());
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 4);
  ASSERT_EQ(all->item.size(), 4u);
  EXPECT_EQ(all->item[0]["name"], "a.net");  // sorted by name
  EXPECT_EQ(all->item[3]["name"], "example.org");
  EXPECT_EQ(all->policy_version, 4);
  auto net = admin_->list("domains", query({}, "NET", 1, 1));
  EXPECT_EQ(net->total, 2);
  ASSERT_EQ(net->item.size(), 1u);
  EXPECT_EQ(net->item[0]["name"], "b.net");
  EXPECT_EQ(admin_->list("domains", query({}, "x'); DROP TABLE domains;--"))->total, 0);
  EXPECT_EQ(admin_->list("domains", query({}, "%"))->total, 0);

  for (const char* collection : {"domains", "users", "params", "services"}) {
    EXPECT_TRUE(
        isError(admin_->list(collection, query({}, "", 0)), 400, "invalid_field", "limit", "range"))
        << collection;
    EXPECT_TRUE(isError(admin_->list(collection, query({}, "", 1001)), 400, "invalid_field",
                        "limit", "range"));
    EXPECT_TRUE(isError(admin_->list(collection, query({}, "", 10, -1)), 400, "invalid_field",
                        "offset", "range"));
  }
  EXPECT_TRUE(admin_->list("domains", query({}, "", 1000)));
  EXPECT_TRUE(isError(admin_->list("galaxies", query()), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->get("users", "nobody@example.org"), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->get("params", "sip-t9"), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->get("services", "ftp"), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->create("params", {{"value", 1}}, by()), 405, "method_not_allowed"));
  EXPECT_TRUE(isError(admin_->remove("services", "presence", by()), 405, "method_not_allowed"));
}

// --- Users ---

TEST_F(AdminServiceTest, CreateUserKeepsOnlyTheRegistrarsHa1) {
  node_.contacts["alice@example.org"] = 2;
  auto r = admin_->create("users",
                          {{"username", "alice"},
                           {"domain", "EXAMPLE.org."},
                           {"display_name", "Alice Liddell"},
                           {"password", "rabbit-hole-42"},
                           {"registered_contacts", 9}},
                          by());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["address"], "alice@example.org");
  EXPECT_EQ(r->item["username"], "alice");
  EXPECT_EQ(r->item["domain"], "example.org");
  EXPECT_EQ(r->item["display_name"], "Alice Liddell");
  EXPECT_EQ(r->item["registered_contacts"], 2);
  EXPECT_EQ(r->item["version"], 1);
  EXPECT_FALSE(r->item.contains("password"));
  EXPECT_EQ(r->item.size(), 8u);
  EXPECT_EQ(r->policy_version, 2);
  EXPECT_EQ(node_.applied->version, 2);  // users move policy_version too
  using registrar::DigestAlgorithm;
  ASSERT_TRUE(node_.users.count("alice@example.org"));
  EXPECT_EQ(node_.users["alice@example.org"].ha1_md5,
            registrar::computeHa1(DigestAlgorithm::Md5, "alice", "example.org", "rabbit-hole-42"));
  EXPECT_EQ(
      node_.users["alice@example.org"].ha1_sha256,
      registrar::computeHa1(DigestAlgorithm::Sha256, "alice", "example.org", "rabbit-hole-42"));
  // The store has the same values, as the offline CLI would write them.
  admin_.reset();
  auto store = store::openSqliteStore(dir_ / "herald.db");
  ASSERT_TRUE(store);
  auto alice = (*store)->findUser("alice", "example.org");
  ASSERT_TRUE(alice && *alice);
  EXPECT_EQ((*alice)->ha1_md5, node_.users["alice@example.org"].ha1_md5);
  EXPECT_EQ((*alice)->ha1_sha256, node_.users["alice@example.org"].ha1_sha256);
}

TEST_F(AdminServiceTest, UserFieldRules) {
  for (const std::string& good :
       {std::string("alice.o'neil"), std::string("a-_.!~*'()&=+$,;?/"), std::string(64, 'u'),
        std::string("Alice"), std::string("alice")}) {
    EXPECT_TRUE(addUser(good)) << good;
  }
  for (const std::string& bad :
       {std::string(""), std::string(65, 'u'), std::string("al ice"), std::string("a@b"),
        std::string("a%41"), std::string("ünï"), std::string("a:b"), std::string("a\"b"),
        std::string("x'); DROP TABLE users;--"), std::string("a\nb")}) {
    EXPECT_TRUE(isError(addUser(bad), 422, "invalid_field", "username", "sip_user")) << bad;
  }
  auto net = addUser("bob", "rabbit-hole-42", "example.net");
  EXPECT_TRUE(isError(net, 422, "invalid_field", "domain", "local_domain"));
  EXPECT_EQ(net.error().message, "example.net is not a local domain of this node");
  EXPECT_TRUE(isError(addUser("bob", "rabbit-hole-42", "not a domain"), 422, "invalid_field",
                      "domain", "local_domain"));
  EXPECT_TRUE(
      isError(addUser("bob", "short"), 422, "invalid_field", "password", "password_length"));
  EXPECT_TRUE(isError(addUser("bob", std::string(129, 'p')), 422, "invalid_field", "password",
                      "password_length"));
  EXPECT_TRUE(isError(addUser("bob", "eight\tch"), 422, "invalid_field", "password", "characters"));
  EXPECT_TRUE(addUser("bob", "8chars!!"));
  EXPECT_TRUE(addUser("carol", std::string(128, 'p')));
  EXPECT_TRUE(
      isError(admin_->create("users", {{"username", "dave"}, {"domain", "example.org"}}, by()), 422,
              "missing_field", "password", "required"));
  EXPECT_TRUE(isError(admin_->create("users", {{"domain", "example.org"}, {"password", "p"}}, by()),
                      422, "missing_field", "username", "required"));
  EXPECT_TRUE(isError(
      admin_->create(
          "users", {{"username", "dave"}, {"domain", "example.org"}, {"password", 12345678}}, by()),
      400, "invalid_field", "password", "type"));
  EXPECT_TRUE(isError(admin_->create("users",
                                     {{"username", "dave"},
                                      {"domain", "example.org"},
                                      {"password", "rabbit-hole-42"},
                                      {"display_name", std::string(129, 'd')}},
                                     by()),
                      422, "invalid_field", "display_name", "length"));
  EXPECT_TRUE(isError(admin_->create("users",
                                     {{"username", "dave"},
                                      {"domain", "example.org"},
                                      {"password", "rabbit-hole-42"},
                                      {"display_name", "D\x1b[31mave"}},
                                     by()),
                      422, "invalid_field", "display_name", "characters"));
  EXPECT_TRUE(isError(admin_->create("users",
                                     {{"username", "dave"},
                                      {"domain", "example.org"},
                                      {"password", "rabbit-hole-42"},
                                      {"role", "root"}},
                                     by()),
                      400, "unknown_field", "role", "known_field"));
  auto dup = addUser("alice");
  EXPECT_TRUE(isError(dup, 409, "conflict", "username", "unique"));
  EXPECT_EQ(admin_->list("users", query())->total, 7);
}

TEST_F(AdminServiceTest, UserAddressesAreCaseSensitiveInTheUserPartOnly) {
  ASSERT_TRUE(addUser("alice"));
  EXPECT_TRUE(admin_->get("users", "alice@EXAMPLE.ORG"));
  EXPECT_TRUE(isError(admin_->get("users", "Alice@example.org"), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->get("users", "alice"), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->get("users", "@example.org"), 404, "not_found"));
  ASSERT_TRUE(addUser("a/b?c"));
  EXPECT_TRUE(admin_->get("users", "a/b?c@example.org"));
}

TEST_F(AdminServiceTest, PatchUserChangesTheDisplayNameOnly) {
  ASSERT_TRUE(addUser("alice"));
  EXPECT_TRUE(
      isError(admin_->update("users", "alice@example.org", {{"password", "new-password-1"}}, by()),
              422, "invalid_field", "password", "read_only"));
  EXPECT_TRUE(isError(admin_->update("users", "alice@example.org", {{"username", "bob"}}, by()),
                      422, "invalid_field", "username", "immutable"));
  EXPECT_TRUE(isError(admin_->update("users", "alice@example.org", {{"username", "Alice"}}, by()),
                      422, "invalid_field", "username", "immutable"));
  EXPECT_TRUE(
      isError(admin_->update("users", "alice@example.org", {{"domain", "example.net"}}, by()), 422,
              "invalid_field", "domain", "immutable"));
  EXPECT_TRUE(isError(admin_->update("users", "alice@example.org", {{"display_name", "A"}}, by(5)),
                      412, "precondition_failed"));
  node_.events.clear();
  auto r = admin_->update("users", "alice@example.org",
                          {{"username", "alice"},
                           {"domain", "Example.ORG"},
                           {"address", "ignored@x"},
                           {"display_name", "Alice Liddell"}},
                          by(1));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["display_name"], "Alice Liddell");
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->policy_version, 3);
  EXPECT_EQ(node_.events, (std::vector<std::string>{"changed alice@example.org"}));
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "update");
  EXPECT_EQ(audit[0]["before"]["display_name"], "");
  EXPECT_EQ(audit[0]["after"]["display_name"], "Alice Liddell");
  // No-op.
  auto same =
      admin_->update("users", "alice@example.org", {{"display_name", "Alice Liddell"}}, by(2));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->version, 2);
  EXPECT_EQ(same->policy_version, 3);
  EXPECT_EQ(auditCount(), 3);
}

TEST_F(AdminServiceTest, SetUserPasswordBumpsVersionsAndTellsTheNode) {
  ASSERT_TRUE(addUser("alice"));
  EXPECT_TRUE(isError(
      admin_->setUserPassword("alice@example.org", {{"password", "looking-glass-7"}}, by(3)), 412,
      "precondition_failed"));
  EXPECT_TRUE(isError(admin_->setUserPassword("alice@example.org", {{"password", "short"}}, by()),
                      422, "invalid_field", "password", "password_length"));
  EXPECT_TRUE(isError(admin_->setUserPassword("alice@example.org", json::object(), by()), 422,
                      "missing_field", "password", "required"));
  EXPECT_TRUE(isError(
      admin_->setUserPassword("alice@example.org",
                              {{"password", "looking-glass-7"}, {"display_name", "x"}}, by()),
      400, "unknown_field", "display_name", "known_field"));
  EXPECT_TRUE(
      isError(admin_->setUserPassword("bob@example.org", {{"password", "looking-glass-7"}}, by()),
              404, "not_found"));
  auto r = admin_->setUserPassword("alice@example.org", {{"password", "looking-glass-7"}}, by(1));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->item["version"], 2);
  EXPECT_EQ(r->policy_version, 3);
  EXPECT_EQ(node_.applied->version, 3);
  EXPECT_EQ(node_.users["alice@example.org"].ha1_sha256,
            registrar::computeHa1(registrar::DigestAlgorithm::Sha256, "alice", "example.org",
                                  "looking-glass-7"));
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "password");
  EXPECT_EQ(audit[0]["object_type"], "user");
  EXPECT_EQ(audit[0]["object_id"], "alice@example.org");
  EXPECT_TRUE(audit[0]["before"].is_null());
  EXPECT_TRUE(audit[0]["after"].is_null());
  EXPECT_EQ(audit[0]["policy_version"], 3);
}

TEST_F(AdminServiceTest, DeleteUserDropsItsRegistrations) {
  ASSERT_TRUE(addUser("alice"));
  node_.contacts["alice@example.org"] = 1;
  EXPECT_TRUE(
      isError(admin_->remove("users", "alice@example.org", by(2)), 412, "precondition_failed"));
  node_.events.clear();
  auto r = admin_->remove("users", "alice@example.org", by(1));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["registered_contacts"], 1);  // as it was
  EXPECT_EQ(node_.events, (std::vector<std::string>{"deleted alice@example.org"}));
  EXPECT_TRUE(isError(admin_->get("users", "alice@example.org"), 404, "not_found"));
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "delete");
  EXPECT_EQ(audit[0]["before"]["address"], "alice@example.org");
  EXPECT_TRUE(audit[0]["after"].is_null());
}

TEST_F(AdminServiceTest, ListUsersByDomainAndText) {
  ASSERT_TRUE(admin_->create("domains", {{"name", "a.org"}}, by()));
  ASSERT_TRUE(addUser("zed", "rabbit-hole-42", "a.org"));
  ASSERT_TRUE(addUser("bob"));
  ASSERT_TRUE(admin_->create("users",
                             {{"username", "alice"},
                              {"domain", "example.org"},
                              {"display_name", "Alice Liddell"},
                              {"password", "rabbit-hole-42"}},
                             by()));
  auto all = admin_->list("users", query());
  ASSERT_EQ(all->item.size(), 3u);
  EXPECT_EQ(all->item[0]["address"], "zed@a.org");  // by domain, then username
  EXPECT_EQ(all->item[1]["address"], "alice@example.org");
  auto in_example = admin_->list("users", query({{"domain", "EXAMPLE.ORG"}}));
  EXPECT_EQ(in_example->total, 2);
  EXPECT_EQ(admin_->list("users", query({}, "liddell"))->total, 1);
  EXPECT_EQ(admin_->list("users", query({}, "BOB@EXAMPLE"))->total, 1);
  auto page = admin_->list("users", query({}, "", 1, 2));
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->item.size(), 1u);
  EXPECT_EQ(page->item[0]["address"], "bob@example.org");
}

// --- Service parameters ---

TEST_F(AdminServiceTest, ParamsListEveryParameterWithItsMetadata) {
  seed_.node_defaults.sip_t1_ms = 800;  // the config file moves the default
  open();
  auto all = admin_->list("params", query());
  ASSERT_TRUE(all);
  ASSERT_EQ(all->total, 16);
  EXPECT_EQ(all->item[0]["name"], "availability-without-approval");
  EXPECT_EQ(all->item[0]["scope"], "cluster");
  EXPECT_FALSE(all->item[0].contains("node"));
  EXPECT_EQ(all->item[8]["scope"], "node");  // cluster first, then node, each by name
  std::set<std::string> names;
  for (const json& p : all->item) {
    names.insert(p["name"].get<std::string>());
    EXPECT_EQ(p["restart_required"], false);
    EXPECT_EQ(p["version"], 1);
    EXPECT_EQ(p["is_default"], true);
    EXPECT_EQ(p["value"], p["default"]);
    EXPECT_FALSE(p["description"].get<std::string>().empty());
  }
  EXPECT_EQ(
      names,
      (std::set<std::string>{
          "federation-routing-fqdn", "default-federation-routing-domain", "virtual-ip-address",
          "virtual-server-name", "im-gateway-status", "record-route-transport", "email-federation",
          "availability-without-approval", "sip-t1", "sip-t2", "sip-t4", "registrar-min-expires",
          "registrar-max-expires", "tcp-idle-timeout", "max-connections", "log-level"}));

  json t1 = admin_->get("params", "sip-t1")->item;
  EXPECT_EQ(t1, json::parse(R"({"name":"sip-t1","scope":"node","node":"herald-1",
      "type":"integer","value":800,"default":800,"is_default":true,"min":50,"max":10000,
      "unit":"ms","config_key":"sip.timers.t1","restart_required":false,
      "description":"RFC 3261 T1, the round-trip estimate: first UDP retransmission interval.",
      "version":1,"updated_at":"2023-11-14T22:30:00Z"})"));  // when the service opened
  json fqdn = admin_->get("params", "federation-routing-fqdn")->item;
  EXPECT_EQ(fqdn["type"], "fqdn");
  EXPECT_EQ(fqdn["default"], "sip.example.org");
  EXPECT_EQ(fqdn["empty_allowed"], false);
  json vip = admin_->get("params", "virtual-ip-address")->item;
  EXPECT_EQ(vip["type"], "ip");
  EXPECT_EQ(vip["empty_allowed"], true);
  EXPECT_EQ(vip["value"], "");
  json level = admin_->get("params", "log-level")->item;
  EXPECT_EQ(level["allowed"],
            json::array({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  EXPECT_EQ(level["config_key"], "log.level");
  EXPECT_FALSE(admin_->get("params", "max-connections")->item.contains("unit"));
  EXPECT_EQ(admin_->get("params", "im-gateway-status")->item["value"], true);

  EXPECT_EQ(admin_->list("params", query({{"scope", "cluster"}}))->total, 8);
  EXPECT_EQ(admin_->list("params", query({{"scope", "node"}}))->total, 8);
  EXPECT_EQ(admin_->list("params", query({}, "SIP-T"))->total, 3);
  EXPECT_TRUE(isError(admin_->list("params", query({{"scope", "galaxy"}})), 400, "invalid_field",
                      "scope", "range"));
}

TEST_F(AdminServiceTest, PutIntegerParamChecksTypeRangeAndGoesLive) {
  for (const json& wrong : {json("700"), json(700.5), json(true), json(nullptr), json::array()}) {
    EXPECT_TRUE(isError(admin_->update("params", "sip-t1", {{"value", wrong}}, by()), 400,
                        "invalid_field", "value", "type"))
        << wrong.dump();
  }
  EXPECT_TRUE(isError(admin_->update("params", "sip-t1", {{"value", 49}}, by()), 422,
                      "invalid_field", "value", "range"));
  EXPECT_TRUE(isError(admin_->update("params", "sip-t4", {{"value", 60001}}, by()), 422,
                      "invalid_field", "value", "range"));
  EXPECT_TRUE(isError(
      admin_->update("params", "max-connections", {{"value", json(18446744073709551615ull)}}, by()),
      422, "invalid_field", "value", "range"));
  EXPECT_EQ(pv(), 1);

  auto r = admin_->update("params", "sip-t1", {{"value", 700}}, by(1));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["value"], 700);
  EXPECT_EQ(r->item["default"], 500);
  EXPECT_EQ(r->item["is_default"], false);
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->policy_version, 2);
  EXPECT_EQ(node_.applied->node.sip_t1_ms, 700);
  EXPECT_EQ(admin_->policy()->node.sip_t1_ms, 700);
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "update");
  EXPECT_EQ(audit[0]["object_type"], "param");
  EXPECT_EQ(audit[0]["before"]["value"], 500);
  EXPECT_EQ(audit[0]["after"]["value"], 700);

  open();  // kept in the store, over the config file's value
  EXPECT_EQ(admin_->policy()->node.sip_t1_ms, 700);
  EXPECT_EQ(admin_->get("params", "sip-t1")->version, 2);
}

TEST_F(AdminServiceTest, OrderingRulesWorkInBothDirections) {
  auto t2 = admin_->update("params", "sip-t2", {{"value", 300}}, by());
  ASSERT_FALSE(t2);
  EXPECT_TRUE(isError(t2, 422, "invalid_field", "value", "ordering"));
  EXPECT_EQ(t2.error().related, "sip-t1");
  EXPECT_EQ(t2.error().message, "sip-t2 must be at least sip-t1 (500 ms)");  // the contract's

  auto t1 = admin_->update("params", "sip-t1", {{"value", 5000}}, by());
  EXPECT_TRUE(isError(t1, 422, "invalid_field", "value", "ordering"));
  EXPECT_EQ(t1.error().related, "sip-t2");
  EXPECT_EQ(t1.error().message, "sip-t1 must be at most sip-t2 (4000 ms)");

  auto max = admin_->update("params", "registrar-max-expires", {{"value", 30}}, by());
  EXPECT_TRUE(isError(max, 422, "invalid_field", "value", "ordering"));
  EXPECT_EQ(max.error().related, "registrar-min-expires");
  auto min = admin_->update("params", "registrar-min-expires", {{"value", 7200}}, by());
  EXPECT_EQ(min.error().related, "registrar-max-expires");
  EXPECT_EQ(pv(), 1);

  ASSERT_TRUE(admin_->update("params", "sip-t2", {{"value", 8000}}, by()));
  ASSERT_TRUE(admin_->update("params", "sip-t1", {{"value", 5000}}, by()));
  // A reset that would break the rule is refused the same way.
  auto reset = admin_->remove("params", "sip-t2", by());
  EXPECT_TRUE(isError(reset, 422, "invalid_field", "value", "ordering"));
  EXPECT_EQ(reset.error().related, "sip-t1");
  EXPECT_EQ(admin_->policy()->node.sip_t2_ms, 8000);
  EXPECT_EQ(pv(), 3);
}

TEST_F(AdminServiceTest, SameValueAndResetAtDefaultAreNoOps) {
  int applies = node_.apply_calls;
  auto same = admin_->update("params", "sip-t1", {{"value", 500}}, by(1));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->version, 1);
  EXPECT_EQ(same->item["is_default"], true);
  auto reset = admin_->remove("params", "sip-t1", by());
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->version, 1);
  EXPECT_EQ(node_.apply_calls, applies);
  EXPECT_EQ(auditCount(), 1);
  EXPECT_EQ(pv(), 1);

  ASSERT_TRUE(admin_->update("params", "sip-t1", {{"value", 700}}, by()));
  auto again = admin_->update("params", "sip-t1", {{"value", 700}}, by(2));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->version, 2);
  EXPECT_EQ(pv(), 2);

  EXPECT_TRUE(isError(admin_->remove("params", "sip-t1", by(1)), 412, "precondition_failed"));
  auto back = admin_->remove("params", "sip-t1", by(2));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->version, 3);  // the parameter after the reset
  EXPECT_EQ(back->item["value"], 500);
  EXPECT_EQ(back->item["is_default"], true);
  EXPECT_EQ(back->policy_version, 3);
  EXPECT_EQ(node_.applied->node.sip_t1_ms, 500);
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "update");  // a reset is an update
  EXPECT_EQ(audit[0]["after"]["is_default"], true);
  auto twice = admin_->remove("params", "sip-t1", by());
  EXPECT_EQ(twice->version, 3);
  EXPECT_EQ(pv(), 3);
  open();
  EXPECT_EQ(admin_->get("params", "sip-t1")->version, 3);
  EXPECT_EQ(admin_->get("params", "sip-t1")->item["is_default"], true);
}

TEST_F(AdminServiceTest, StringParamsFollowTheirTypes) {
  EXPECT_TRUE(isError(admin_->update("params", "federation-routing-fqdn", {{"value", ""}}, by()),
                      422, "invalid_field", "value", "fqdn"));
  EXPECT_TRUE(isError(
      admin_->update("params", "default-federation-routing-domain", {{"value", "a b"}}, by()), 422,
      "invalid_field", "value", "fqdn"));
  auto fqdn =
      admin_->update("params", "federation-routing-fqdn", {{"value", "Sip.Example.NET."}}, by());
  ASSERT_TRUE(fqdn);
  EXPECT_EQ(fqdn->item["value"], "sip.example.net");
  EXPECT_EQ(node_.applied->cluster.federation_routing_fqdn, "sip.example.net");

  for (const char* ip : {"10.0.0.1", "::1", "2001:db8::7"}) {
    EXPECT_TRUE(admin_->update("params", "virtual-ip-address", {{"value", ip}}, by())) << ip;
  }
  EXPECT_EQ(admin_->policy()->cluster.virtual_ip_address, "2001:db8::7");
  for (const std::string& bad :
       {std::string("1.2.3"), std::string("[::1]"), std::string("10.0.0.1:80"),
        std::string("10.0.0.1\0x", 10), std::string("vip.example.org")}) {
    EXPECT_TRUE(isError(admin_->update("params", "virtual-ip-address", {{"value", bad}}, by()), 422,
                        "invalid_field", "value", "ip"))
        << bad;
  }
  EXPECT_TRUE(admin_->update("params", "virtual-ip-address", {{"value", ""}}, by()));
  EXPECT_TRUE(admin_->update("params", "virtual-server-name", {{"value", "lb.example.org"}}, by()));
  EXPECT_TRUE(admin_->update("params", "virtual-server-name", {{"value", ""}}, by()));

  EXPECT_TRUE(isError(admin_->update("params", "log-level", {{"value", "verbose"}}, by()), 422,
                      "invalid_field", "value", "enum"));
  EXPECT_TRUE(isError(admin_->update("params", "log-level", {{"value", "DEBUG"}}, by()), 422,
                      "invalid_field", "value", "enum"));
  ASSERT_TRUE(admin_->update("params", "log-level", {{"value", "debug"}}, by()));
  EXPECT_EQ(node_.applied->node.log_level, "debug");

  EXPECT_TRUE(isError(admin_->update("params", "email-federation", {{"value", "true"}}, by()), 400,
                      "invalid_field", "value", "type"));
  EXPECT_TRUE(isError(admin_->update("params", "email-federation", {{"value", 1}}, by()), 400,
                      "invalid_field", "value", "type"));
  ASSERT_TRUE(admin_->update("params", "im-gateway-status", {{"value", false}}, by()));
  EXPECT_FALSE(node_.applied->cluster.im_gateway_status);
}

TEST_F(AdminServiceTest, ParamBodyRules) {
  EXPECT_TRUE(isError(admin_->update("params", "sip-t1", json::object(), by()), 422,
                      "missing_field", "value", "required"));
  EXPECT_TRUE(isError(admin_->update("params", "sip-t1", {{"value", 600}, {"valu", 1}}, by()), 400,
                      "unknown_field", "valu", "known_field"));
  EXPECT_TRUE(
      isError(admin_->update("params", "sip-t1", {{"value", 600}, {"name", "sip-t2"}}, by()), 422,
              "invalid_field", "name", "immutable"));
  EXPECT_TRUE(isError(admin_->update("params", "sip-t1", {{"value", 600}}, by(2)), 412,
                      "precondition_failed"));
  EXPECT_TRUE(
      isError(admin_->update("params", "sip-t9", {{"value", 600}}, by()), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->remove("params", "sip-t9", by()), 404, "not_found"));
  // A GET item sent back with a new value.
  json item = admin_->get("params", "sip-t1")->item;
  item["value"] = 600;
  auto r = admin_->update("params", "sip-t1", item, by(1));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["value"], 600);
}

// --- Services ---

TEST_F(AdminServiceTest, ServicesAreTheThreeInOrder) {
  auto all = admin_->list("services", query());
  ASSERT_TRUE(all);
  ASSERT_EQ(all->item.size(), 3u);
  EXPECT_EQ(all->total, 3);
  EXPECT_EQ(all->item[0]["name"], "sip-proxy");
  EXPECT_EQ(all->item[1]["name"], "sip-federation");
  EXPECT_EQ(all->item[2]["name"], "presence");
  EXPECT_EQ(all->item[1]["activated"], true);
  EXPECT_EQ(all->item[1]["state"], "running");
  EXPECT_EQ(all->item[1]["listeners"],
            json::parse(R"([{"transport":"tls","address":"0.0.0.0","port":5061}])"));
  EXPECT_EQ(all->item[1]["since"], "2023-11-14T22:13:20Z");
  EXPECT_FALSE(all->item[1]["description"].get<std::string>().empty());
  EXPECT_TRUE(isError(admin_->serviceAction("ftp", "activate", by()), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->serviceAction("presence", "explode", by()), 404, "not_found"));
}

TEST_F(AdminServiceTest, DeactivateAndActivateArePersistentSwitches) {
  auto off = admin_->serviceAction("sip-federation", "deactivate", by());
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_EQ(off->item["activated"], false);
  EXPECT_EQ(off->item["state"], "stopped");
  EXPECT_EQ(off->item["listeners"], json::array());
  EXPECT_EQ(off->policy_version, 2);
  EXPECT_FALSE(node_.applied->services.sip_federation);
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "deactivate");
  EXPECT_EQ(audit[0]["object_type"], "service");
  EXPECT_EQ(audit[0]["object_id"], "sip-federation");
  EXPECT_EQ(audit[0]["before"]["state"], "running");
  EXPECT_EQ(audit[0]["after"]["state"], "stopped");
  EXPECT_EQ(audit[0]["policy_version"], 2);

  auto again = admin_->serviceAction("sip-federation", "deactivate", by());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->policy_version, 2);
  EXPECT_EQ(auditCount(), 2);

  open();  // the switch survives a restart
  EXPECT_FALSE(admin_->policy()->services.sip_federation);
  EXPECT_TRUE(admin_->policy()->services.presence);

  auto on = admin_->serviceAction("sip-federation", "activate", by());
  ASSERT_TRUE(on);
  EXPECT_EQ(on->item["activated"], true);
  EXPECT_EQ(on->item["state"], "running");
  EXPECT_EQ(on->policy_version, 3);
}

TEST_F(AdminServiceTest, AServiceThatCannotStartChangesNothing) {
  ASSERT_TRUE(admin_->serviceAction("sip-federation", "deactivate", by()));
  PolicyPtr before = admin_->policy();
  node_.fail_apply = "cannot bind tls 0.0.0.0:5061: Address already in use";
  auto r = admin_->serviceAction("sip-federation", "activate", by());
  EXPECT_TRUE(isError(r, 503, "service_failed"));
  EXPECT_NE(r.error().message.find("tls 0.0.0.0:5061"), std::string::npos) << r.error().message;
  EXPECT_EQ(admin_->policy(), before);
  EXPECT_EQ(node_.applied, before);
  EXPECT_EQ(auditCount(), 2);
  EXPECT_EQ(admin_->get("services", "sip-federation")->item["activated"], false);
  node_.fail_apply.clear();
  open();
  EXPECT_FALSE(admin_->policy()->services.sip_federation);
  EXPECT_EQ(pv(), 2);
}

TEST_F(AdminServiceTest, AFailedApplyLeavesStoreAndPolicyUnchanged) {
  ASSERT_TRUE(addUser("alice"));
  PolicyPtr before = admin_->policy();
  node_.fail_apply = "the node said no";
  node_.events.clear();
  EXPECT_TRUE(
      isError(admin_->create("domains", {{"name", "new.org"}}, by()), 503, "service_failed"));
  EXPECT_TRUE(
      isError(admin_->update("params", "sip-t1", {{"value", 600}}, by()), 503, "service_failed"));
  EXPECT_TRUE(isError(addUser("bob"), 503, "service_failed"));
  EXPECT_TRUE(isError(admin_->remove("users", "alice@example.org", by()), 503, "service_failed"));
  EXPECT_TRUE(node_.events.empty());  // the node heard of no user change
  EXPECT_EQ(admin_->policy(), before);
  node_.fail_apply.clear();
  open();
  EXPECT_EQ(pv(), before->version);
  EXPECT_EQ(auditCount(), 2);
  EXPECT_TRUE(isError(admin_->get("domains", "new.org"), 404, "not_found"));
  EXPECT_TRUE(isError(admin_->get("users", "bob@example.org"), 404, "not_found"));
  EXPECT_TRUE(admin_->get("users", "alice@example.org"));
  EXPECT_EQ(admin_->get("params", "sip-t1")->version, 1);
}

TEST_F(AdminServiceTest, RestartIsNotAConfigurationChange) {
  auto r = admin_->serviceAction("presence", "restart", by());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(node_.restarts[Service::Presence], 1);
  EXPECT_EQ(r->policy_version, 1);
  json audit = auditItems();
  EXPECT_EQ(audit[0]["action"], "restart");
  EXPECT_TRUE(audit[0]["policy_version"].is_null());

  node_.fail_restart = "cannot bind udp 0.0.0.0:5060";
  EXPECT_TRUE(isError(admin_->serviceAction("presence", "restart", by()), 503, "service_failed"));
  EXPECT_EQ(auditCount(), 2);
  node_.fail_restart.clear();

  ASSERT_TRUE(admin_->serviceAction("presence", "deactivate", by()));
  EXPECT_TRUE(isError(admin_->serviceAction("presence", "restart", by()), 409, "conflict"));
  EXPECT_EQ(node_.restarts[Service::Presence], 1);
}

// --- Status ---

TEST_F(AdminServiceTest, StatusIsTheContractsObject) {
  clock_.advance(std::chrono::seconds(8400));
  (void)admin_->login("admin", "wrong password", "192.0.2.9", nullptr);
  json s = admin_->status();
  EXPECT_EQ(s["version"], "0.4.0");
  EXPECT_EQ(s["node"], "herald-1");
  EXPECT_EQ(s["started_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(s["uptime_s"], 1000 + 8400);  // FakeClock starts 1,000 s after started_at
  EXPECT_EQ(s["policy_version"], 1);
  EXPECT_EQ(s["listeners"][1], json::parse(R"({"transport":"tcp","address":"127.0.0.1",
                                                "port":8080,"service":"admin"})"));
  EXPECT_EQ(s["counters"]["sip.received"], 12);
  EXPECT_EQ(s["counters"]["admin.logins_failed"], 1);
  EXPECT_EQ(s["store"], json::parse(R"({"backend":"sqlite","path":"/var/lib/herald/herald.db",
                                         "schema_version":2})"));
}

// --- Audit log ---

TEST_F(AdminServiceTest, AuditLogIsNewestFirstWithFiltersAndPaging) {
  ASSERT_TRUE(admin_->create("domains", {{"name", "a.org"}}, by()));
  ASSERT_TRUE(addUser("alice"));
  ASSERT_TRUE(admin_->update("params", "sip-t4", {{"value", 6000}}, by()));
  auto all = admin_->list("audit", query());
  ASSERT_TRUE(all);
  ASSERT_EQ(all->total, 4);
  std::vector<int64_t> ids;
  for (const json& e : all->item) ids.push_back(e["id"].get<int64_t>());
  EXPECT_TRUE(std::is_sorted(ids.rbegin(), ids.rend()));
  EXPECT_EQ(all->item[0]["object_type"], "param");
  for (const json& e : all->item) {
    EXPECT_EQ(e.size(), 10u) << e.dump();
  }
  auto domains = admin_->list("audit", query({{"object_type", "domain"}}));
  EXPECT_EQ(domains->total, 2);
  EXPECT_EQ(admin_->list("audit", query({{"actor", "config"}}))->total, 1);
  EXPECT_EQ(admin_->list("audit", query({{"actor", "admin"}, {"object_type", "user"}}))->total, 1);
  auto page = admin_->list("audit", query({{"before_id", std::to_string(ids[1])}}, "", 1));
  ASSERT_EQ(page->item.size(), 1u);
  EXPECT_EQ(page->item[0]["id"], ids[2]);
  EXPECT_EQ(page->total, 4);
  for (const char* bad : {"abc", "0", "-1", "1x", ""}) {
    if (std::string(bad).empty()) continue;
    EXPECT_TRUE(isError(admin_->list("audit", query({{"before_id", bad}})), 400, "invalid_field",
                        "before_id", "range"))
        << bad;
  }
  EXPECT_TRUE(isError(admin_->list("audit", query({{"object_type", "galaxy"}})), 400,
                      "invalid_field", "object_type", "range"));
  EXPECT_TRUE(
      isError(admin_->list("audit", query({}, "", 1001)), 400, "invalid_field", "limit", "range"));
}

TEST_F(AdminServiceTest, NoPasswordReachesTheAuditLogOrTheStore) {
  const std::string user_pw1 = "Rabbit-Hole-4242";
  const std::string user_pw2 = "Looking-Glass-7777";
  const std::string admin_pw = "Correct-Horse-Battery-9";
  const std::string wrong_pw = "Wrong-Guess-Password-5";
  ASSERT_TRUE(addUser("alice", user_pw1));
  ASSERT_TRUE(admin_->setUserPassword("alice@example.org", {{"password", user_pw2}}, by()));
  Session s = loginAdmin();
  const std::string initial_pw = initialPassword();
  ASSERT_TRUE(admin_->changeAdminPassword(
      "admin", {{"current_password", initial_pw}, {"password", admin_pw}}, s, "192.0.2.7"));
  EXPECT_FALSE(admin_->login("admin", wrong_pw, "192.0.2.7", nullptr));
  EXPECT_FALSE(admin_->login(user_pw1, wrong_pw, "192.0.2.7", nullptr));  // a password as name
  // Errors never echo a password either.
  auto short_pw = addUser("bob", "secret1");
  ASSERT_FALSE(short_pw);
  EXPECT_EQ(short_pw.error().message.find("secret1"), std::string::npos);

  std::string audit = auditItems().dump();
  std::string ha1 = node_.users["alice@example.org"].ha1_md5;
  admin_.reset();
  std::string db;
  for (const char* f : {"herald.db", "herald.db-wal"}) {
    if (fs::exists(dir_ / f)) db += readFile(dir_ / f);
  }
  ASSERT_FALSE(db.empty());
  for (const std::string& secret : {user_pw2, admin_pw, wrong_pw, initial_pw}) {
    EXPECT_EQ(audit.find(secret), std::string::npos) << secret;
    EXPECT_EQ(db.find(secret), std::string::npos) << secret;
  }
  EXPECT_EQ(audit.find(ha1), std::string::npos);
  EXPECT_EQ(audit.find("ha1"), std::string::npos);
  // The one exception: user_pw1 was tried as a user name, which a failed login records.
  EXPECT_NE(audit.find("login_failed"), std::string::npos);
}

// --- Federated domains ---

TEST_F(AdminServiceTest, FederatedDomainCreateDefaultsAndLiveApply) {
  auto r = admin_->create("federated-domains",
                          {{"name", "K.Test."}, {"integration", "sip"}, {"description", "K Corp"}},
                          by());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->item["name"], "k.test");
  EXPECT_EQ(r->item["description"], "K Corp");
  EXPECT_EQ(r->item["integration"], "sip");
  EXPECT_EQ(r->item["direct_federation"], false);
  EXPECT_EQ(r->item["identity_policy"], "rfc5922");
  EXPECT_EQ(r->item["discovery"], "both");
  EXPECT_EQ(r->item["via_domain"], "");
  EXPECT_EQ(r->item["discovered"], false);
  EXPECT_EQ(r->item["incoming_acl"], "k.test");  // F2: created with the domain, read-only
  EXPECT_EQ(r->item["version"], 1);
  ASSERT_TRUE(node_.applied);
  const auto& fd = node_.applied->federated_domains;
  ASSERT_EQ(fd.count("k.test"), 1u);
  EXPECT_EQ(fd.at("k.test").integration, policy::Integration::Sip);
  EXPECT_EQ(fd.at("k.test").identity_policy, policy::IdentityPolicy::Rfc5922);
  // A Microsoft domain defaults to the SRV-target identity its edges need.
  auto lync = admin_->create("federated-domains", {{"name", "lync.test"}, {"integration", "lync"}},
                             by());
  ASSERT_TRUE(lync);
  EXPECT_EQ(lync->item["identity_policy"], "srv-target");
  // U-labels are stored as A-labels.
  auto idn = admin_->create("federated-domains",
                            {{"name", "Bücher.Example"}, {"integration", "sip"}}, by());
  ASSERT_TRUE(idn) << idn.error().message;
  EXPECT_EQ(idn->item["name"], "xn--bcher-kva.example");
  EXPECT_TRUE(admin_->get("federated-domains", "bücher.example"));
  auto list = admin_->list("federated-domains", query());
  ASSERT_TRUE(list);
  EXPECT_EQ(list->total, 3);
  EXPECT_EQ(list->item[0]["name"], "k.test");
  json audit = auditItems({{"object_type", "federated_domain"}});
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[2]["object_id"], "k.test");
}

TEST_F(AdminServiceTest, FederatedDomainValidation) {
  auto create = [&](json body) { return admin_->create("federated-domains", body, by()); };
  EXPECT_TRUE(isError(create({{"integration", "sip"}}), 422, "missing_field", "name", "required"));
  EXPECT_TRUE(isError(create({{"name", "k.test"}}), 422, "missing_field", "integration",
                      "required"));
  EXPECT_TRUE(isError(create({{"name", "k_test.com"}, {"integration", "sip"}}), 422,
                      "invalid_field", "name", "fqdn"));
  EXPECT_TRUE(isError(create({{"name", "localhost"}, {"integration", "sip"}}), 422,
                      "invalid_field", "name", "fqdn"));
  EXPECT_TRUE(isError(create({{"name", "k.test"}, {"integration", "xmpp"}}), 422,
                      "invalid_field", "integration", "enum"));
  EXPECT_TRUE(isError(create({{"name", "k.test"}, {"integration", 1}}), 400, "invalid_field",
                      "integration", "type"));
  EXPECT_TRUE(isError(create({{"name", "k.test"}, {"integration", "sip"},
                              {"direct_federation", "yes"}}),
                      400, "invalid_field", "direct_federation", "type"));
  EXPECT_TRUE(isError(create({{"name", "k.test"}, {"integration", "sip"},
                              {"identity_policy", "cn"}}),
                      422, "invalid_field", "identity_policy", "enum"));
  EXPECT_TRUE(isError(create({{"name", "k.test"}, {"integration", "sip"}, {"discovery", "x"}}),
                      422, "invalid_field", "discovery", "enum"));
  auto via = create({{"name", "k.test"}, {"integration", "sip"}, {"via_domain", "aol.com"}});
  ASSERT_TRUE(isError(via, 422, "invalid_field", "via_domain", "clearinghouse_only"));
  EXPECT_NE(via.error().message.find("integration 'clearinghouse'"), std::string::npos);
  EXPECT_TRUE(isError(create({{"name", "k.test"}, {"integration", "clearinghouse"},
                              {"via_domain", "k.test"}}),
                      422, "invalid_field", "via_domain", "not_self"));
  EXPECT_TRUE(isError(create({{"name", "k.test"}, {"integration", "sip"}, {"owner", "x"}}), 400,
                      "unknown_field", "owner", "known_field"));
  // Never a local domain, and a local domain cannot be added while it is federated.
  auto local = create({{"name", "Example.ORG"}, {"integration", "sip"}});
  ASSERT_TRUE(isError(local, 409, "conflict", "name", "local_domain"));
  EXPECT_NE(local.error().message.find("either local or federated"), std::string::npos);
  ASSERT_TRUE(create({{"name", "k.test"}, {"integration", "clearinghouse"},
                      {"via_domain", "hub.test"}}));
  EXPECT_TRUE(isError(create({{"name", "K.TEST"}, {"integration", "sip"}}), 409, "conflict",
                      "name", "unique"));
  EXPECT_TRUE(isError(admin_->create("domains", {{"name", "k.test"}}, by()), 409, "conflict",
                      "name", "federated_domain"));
  EXPECT_EQ(node_.applied->federated_domains.size(), 1u);
  EXPECT_EQ(node_.applied->federated_domains.at("k.test").via_domain, "hub.test");
}

TEST_F(AdminServiceTest, FederatedDomainUpdateAndDelete) {
  ASSERT_TRUE(admin_->create("federated-domains",
                             {{"name", "k.test"}, {"integration", "clearinghouse"},
                              {"via_domain", "hub.test"}},
                             by()));
  int64_t before = pv();
  // A no-op changes nothing.
  auto same = admin_->update("federated-domains", "k.test", {{"integration", "clearinghouse"}},
                             by());
  ASSERT_TRUE(same);
  EXPECT_EQ(same->item["version"], 1);
  EXPECT_EQ(pv(), before);
  // Moving off the clearinghouse with its via_domain still set is refused ...
  EXPECT_TRUE(isError(admin_->update("federated-domains", "k.test", {{"integration", "sip"}}, by()),
                      422, "invalid_field", "via_domain", "clearinghouse_only"));
  // ... and allowed when it is cleared in the same request.
  auto moved = admin_->update("federated-domains", "k.test",
                              {{"integration", "sip"}, {"via_domain", ""},
                               {"direct_federation", true}},
                              by(1));
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->item["version"], 2);
  EXPECT_EQ(moved->item["integration"], "sip");
  EXPECT_EQ(moved->item["direct_federation"], true);
  EXPECT_TRUE(node_.applied->federated_domains.at("k.test").direct_federation);
  EXPECT_TRUE(isError(admin_->update("federated-domains", "k.test", {{"name", "x.test"}}, by()),
                      422, "invalid_field", "name", "immutable"));
  EXPECT_TRUE(isError(admin_->update("federated-domains", "k.test", {{"description", "x"}}, by(1)),
                      412, "precondition_failed"));
  EXPECT_TRUE(isError(admin_->remove("federated-domains", "none.test", by()), 404, "not_found"));
  ASSERT_TRUE(admin_->remove("federated-domains", "K.Test", by()));
  EXPECT_TRUE(node_.applied->federated_domains.empty());
  // Gone with its incoming ACL entry; the name may now become local.
  EXPECT_TRUE(admin_->create("domains", {{"name", "k.test"}}, by()));
}

// --- Administrators ---

TEST_F(AdminServiceTest, LoginAnswersTheSameForUnknownUsersAndWrongPasswords) {
  auto unknown = admin_->login("root", "whatever-password", "192.0.2.1", nullptr);
  auto wrong = admin_->login("admin", "whatever-password", "192.0.2.1", nullptr);
  EXPECT_TRUE(isError(unknown, 401, "unauthorized"));
  EXPECT_TRUE(isError(wrong, 401, "unauthorized"));
  EXPECT_EQ(unknown.error().message, wrong.error().message);

  auto s = admin_->login("admin", initialPassword(), "192.0.2.1", nullptr);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->username, "admin");
  EXPECT_EQ(s->token.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_EQ(s->expires_at, clock_.unixSeconds() + 8 * 3600);
  auto again = admin_->login("admin", initialPassword(), "192.0.2.1", nullptr);
  EXPECT_NE(again->token, s->token);
  auto who = admin_->authenticate(s->token);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->username, "admin");

  json audit = auditItems({{"object_type", "admin"}});
  ASSERT_EQ(audit.size(), 4u);
  EXPECT_EQ(audit[0]["action"], "login");
  EXPECT_EQ(audit[0]["actor"], "admin");
  EXPECT_EQ(audit[0]["source_address"], "192.0.2.1");
  EXPECT_TRUE(audit[0]["policy_version"].is_null());
  EXPECT_EQ(audit[3]["action"], "login_failed");
  EXPECT_EQ(audit[3]["actor"], "root");
  EXPECT_EQ(pv(), 1);  // logins are not configuration
}

TEST_F(AdminServiceTest, FailedLoginActorIsCleaned) {
  std::string name = "evil\n\x1b[31m" + std::string(100, 'x');
  EXPECT_FALSE(admin_->login(name, "p", "192.0.2.1", nullptr));
  json audit = auditItems({{"object_type", "admin"}});
  ASSERT_EQ(audit.size(), 1u);
  std::string actor = audit[0]["actor"];
  EXPECT_EQ(actor, "evil[31m" + std::string(56, 'x'));
  EXPECT_EQ(audit[0]["object_id"], actor);
}

TEST_F(AdminServiceTest, FiveFailuresIn60sBlockTheAddress) {
  const std::string password = initialPassword();
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(isError(admin_->login("admin", "guess" + std::to_string(i), "192.0.2.66", nullptr),
                        401, "unauthorized"));
    clock_.advance(std::chrono::seconds(1));
  }
  int64_t retry = 0;
  // Blocked: even the right password is not checked.
  EXPECT_TRUE(isError(admin_->login("admin", password, "192.0.2.66", &retry), 429, "rate_limited"));
  EXPECT_EQ(retry, 55);  // the oldest failure was 5 s ago
  EXPECT_TRUE(admin_->login("admin", password, "192.0.2.67", nullptr));  // another address
  clock_.advance(std::chrono::seconds(54));
  EXPECT_TRUE(isError(admin_->login("admin", password, "192.0.2.66", &retry), 429, "rate_limited"));
  EXPECT_EQ(retry, 1);
  clock_.advance(std::chrono::seconds(1));  // the oldest failure is 60 s old
  ASSERT_TRUE(admin_->login("admin", password, "192.0.2.66", nullptr));
  // A success does not erase the other four: one more failure blocks again.
  EXPECT_FALSE(admin_->login("admin", "guess5", "192.0.2.66", nullptr));
  EXPECT_TRUE(isError(admin_->login("admin", password, "192.0.2.66", &retry), 429, "rate_limited"));
  EXPECT_EQ(retry, 1);
  // Blocked attempts are not failures of their own (not audited, not counted).
  EXPECT_EQ(admin_->list("audit", query({{"object_type", "admin"}}))->total, 6 + 2);
  EXPECT_EQ(admin_->status()["counters"]["admin.logins_failed"], 6);
}

TEST_F(AdminServiceTest, ConcurrentGuessesFromOneAddressGetFivePasswordChecks) {
  // Check and count are one step: 40 guesses at once are not 40 checks.
  std::vector<std::future<ApiResult<Session>>> guesses;
  for (int i = 0; i < 40; ++i) {
    guesses.push_back(std::async(std::launch::async, [this, i] {
      return admin_->login("admin", "guess" + std::to_string(i), "192.0.2.50", nullptr);
    }));
  }
  int unauthorized = 0, limited = 0;
  for (auto& g : guesses) {
    auto r = g.get();
    ASSERT_FALSE(r);
    unauthorized += r.error().status == 401;
    limited += r.error().status == 429;
  }
  EXPECT_EQ(unauthorized, 5);
  EXPECT_EQ(limited, 35);
  json counters = admin_->status()["counters"];
  EXPECT_EQ(counters["admin.logins_failed"], 5);
  EXPECT_EQ(counters["admin.logins_rate_limited"], 35);
}

TEST_F(AdminServiceTest, LoopbackAndIpv6NeighboursShareOneBudget) {
  // Before: each 127.x address or IPv6 address was a fresh budget of 5.
  for (int i = 1; i <= 5; ++i) {
    EXPECT_TRUE(isError(admin_->login("admin", "guess", "127.0.0." + std::to_string(i), nullptr),
                        401, "unauthorized"));
  }
  EXPECT_TRUE(isError(admin_->login("admin", "guess", "127.0.0.6", nullptr), 429, "rate_limited"));
  EXPECT_TRUE(isError(admin_->login("admin", "guess", "::1", nullptr), 429, "rate_limited"));
  for (int i = 1; i <= 5; ++i) {
    EXPECT_FALSE(admin_->login("bob", "guess", "2001:db8:0:7::" + std::to_string(i), nullptr));
  }
  EXPECT_TRUE(isError(admin_->login("bob", "guess", "2001:db8:0:7:abcd::9", nullptr), 429,
                      "rate_limited"));
  EXPECT_TRUE(isError(admin_->login("bob", "guess", "2001:db8:0:8::1", nullptr), 401,
                      "unauthorized"));
}

TEST_F(AdminServiceTest, GuessesFromManyAddressesDoNotLockOutAKnownDevice) {
  const std::string password = initialPassword();
  auto first = admin_->login("admin", password, "192.0.2.7", nullptr);
  ASSERT_TRUE(first);
  const std::string device = first->device_token;
  ASSERT_EQ(device.rfind("d1.", 0), 0u) << device;
  // Ten failures for the account from ten addresses: the account backs off for everyone ...
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(isError(admin_->login("admin", "guess", "198.51.100." + std::to_string(i), nullptr),
                        401, "unauthorized"));
  }
  int64_t retry = 0;
  auto refused = admin_->login("admin", password, "192.0.2.7", &retry);
  ASSERT_TRUE(isError(refused, 429, "rate_limited"));
  EXPECT_EQ(retry, 1);
  EXPECT_NE(refused.error().message.find("for this account"), std::string::npos);
  // ... but the device that signed in before, and only with its token for this account.
  auto again = admin_->login("admin", password, "192.0.2.7", device, nullptr);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->device_token.empty());
  EXPECT_TRUE(isError(admin_->login("admin", password, "192.0.2.7", device + "x", nullptr), 429,
                      "rate_limited"));
  // A stolen device token gets five guesses, then it is worth nothing.
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(isError(admin_->login("admin", "guess", "203.0.113.1", device, nullptr), 401,
                        "unauthorized"));
  }
  EXPECT_TRUE(isError(admin_->login("admin", password, "203.0.113.1", device, nullptr), 429,
                      "rate_limited"));
  // A token issued after the account's run of failures ended is as good as the first.
  EXPECT_TRUE(admin_->login("admin", password, "192.0.2.7", again->device_token, nullptr));
}

TEST_F(AdminServiceTest, ChangingTheFirstPasswordRemovesItsFile) {
  Session s = loginAdmin();
  ASSERT_TRUE(fs::exists(dir_ / "initial-admin-password"));
  ASSERT_TRUE(admin_->changeAdminPassword(
      "admin", {{"current_password", initialPassword()}, {"password", "a-new-password-1"}}, s,
      "192.0.2.7"));
  EXPECT_FALSE(fs::exists(dir_ / "initial-admin-password"));
  EXPECT_TRUE(admin_->login("admin", "a-new-password-1", "192.0.2.7", nullptr));
}

TEST_F(AdminServiceTest, TheAuditLogKeepsItsRetention) {
  seed_.audit_retention_days = 1;
  seed_.audit_retention_rows = 20;
  open();
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(admin_->create("domains", {{"name", "d" + std::to_string(i) + ".example.com"}},
                               by()));
  }
  auto all = admin_->list("audit", query());
  ASSERT_TRUE(all);
  // Pruned to 20 at the 256th entry since the start (and at start), then 44 more.
  EXPECT_LE(all->total, 20 + 300 - 256);
  EXPECT_GE(all->total, 20);
  EXPECT_EQ(all->item[0]["object_id"], "d299.example.com");
  clock_.advance(std::chrono::hours(25));
  open();  // start prunes what is older than a day
  EXPECT_EQ(admin_->list("audit", query())->total, 0);
}

TEST_F(AdminServiceTest, WrongCurrentPasswordsAreLimitedLikeLogins) {
  // A stolen token must not turn the password change into a guessing oracle.
  Session mine = loginAdmin();
  const std::string old_pw = initialPassword();
  auto change = [&](const std::string& current, const std::string& from) {
    return admin_->changeAdminPassword(
        "admin", {{"current_password", current}, {"password", "new-password-12"}}, mine, from);
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(isError(change("guess" + std::to_string(i), "192.0.2.66"), 422, "invalid_field",
                        "current_password", "current_password"));
    clock_.advance(std::chrono::seconds(1));
  }
  // Blocked: the right password is not even checked, and nothing changes.
  auto blocked = change(old_pw, "192.0.2.66");
  ASSERT_TRUE(isError(blocked, 429, "rate_limited"));
  EXPECT_EQ(blocked.error().retry_after_s, 55);
  EXPECT_TRUE(isError(admin_->login("admin", old_pw, "192.0.2.66", nullptr), 429, "rate_limited"));
  EXPECT_TRUE(admin_->login("admin", old_pw, "192.0.2.67", nullptr));
  clock_.advance(std::chrono::seconds(55));
  ASSERT_TRUE(change(old_pw, "192.0.2.66"));
  EXPECT_TRUE(admin_->login("admin", "new-password-12", "192.0.2.67", nullptr));
}

TEST_F(AdminServiceTest, TokensExpireIdleAfter8hAndAbsolutelyAfter24h) {
  Session idle = loginAdmin();
  clock_.advance(std::chrono::hours(8) - std::chrono::seconds(1));
  auto used = admin_->authenticate(idle.token);
  ASSERT_TRUE(used);
  EXPECT_EQ(used->expires_at, clock_.unixSeconds() + 8 * 3600);  // moved on by the use
  clock_.advance(std::chrono::hours(8));
  EXPECT_TRUE(isError(admin_->authenticate(idle.token), 401, "unauthorized"));

  Session busy = loginAdmin();
  for (int i = 0; i < 3; ++i) {
    clock_.advance(std::chrono::hours(7));
    ASSERT_TRUE(admin_->authenticate(busy.token)) << i;
  }
  clock_.advance(std::chrono::hours(3) - std::chrono::seconds(1));  // 23:59:59 after login
  auto last = admin_->authenticate(busy.token);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->expires_at, clock_.unixSeconds() + 1);  // the absolute deadline comes first
  clock_.advance(std::chrono::seconds(1));
  EXPECT_TRUE(isError(admin_->authenticate(busy.token), 401, "unauthorized"));
  EXPECT_TRUE(isError(admin_->authenticate("not-a-token"), 401, "unauthorized"));
  EXPECT_TRUE(isError(admin_->authenticate(""), 401, "unauthorized"));
}

TEST_F(AdminServiceTest, LogoutRevokesTheToken) {
  Session s = loginAdmin();
  ASSERT_TRUE(admin_->logout(s.token));
  EXPECT_TRUE(isError(admin_->authenticate(s.token), 401, "unauthorized"));
  EXPECT_TRUE(isError(admin_->logout(s.token), 401, "unauthorized"));
}

TEST_F(AdminServiceTest, ChangeOwnPasswordRevokesOtherTokens) {
  Session mine = loginAdmin();
  Session other = loginAdmin();
  const std::string old_pw = initialPassword();
  Session stranger{"t", "mallory", 0, ""};
  EXPECT_TRUE(isError(admin_->changeAdminPassword(
                          "admin", {{"current_password", old_pw}, {"password", "new-password-12"}},
                          stranger, "192.0.2.7"),
                      403, "forbidden"));
  EXPECT_TRUE(
      isError(admin_->changeAdminPassword("root", {{"current_password", old_pw}, {"password", "x"}},
                                          mine, "192.0.2.7"),
              403, "forbidden"));
  EXPECT_TRUE(isError(
      admin_->changeAdminPassword(
          "admin", {{"current_password", old_pw}, {"password", "eleven-char"}}, mine, "192.0.2.7"),
      422, "invalid_field", "password", "password_length"));
  EXPECT_TRUE(
      isError(admin_->changeAdminPassword(
                  "admin", {{"current_password", old_pw}, {"password", std::string(129, 'p')}},
                  mine, "192.0.2.7"),
              422, "invalid_field", "password", "password_length"));
  EXPECT_TRUE(isError(
      admin_->changeAdminPassword("admin",
                                  {{"current_password", "not-it"}, {"password", "new-password-12"}},
                                  mine, "192.0.2.7"),
      422, "invalid_field", "current_password", "current_password"));
  EXPECT_TRUE(isError(
      admin_->changeAdminPassword("admin", {{"password", "new-password-12"}}, mine, "192.0.2.7"),
      422, "missing_field", "current_password", "required"));
  EXPECT_TRUE(isError(
      admin_->changeAdminPassword(
          "admin", {{"current_password", old_pw}, {"password", "new-password-12"}, {"admin", true}},
          mine, "192.0.2.7"),
      400, "unknown_field", "admin", "known_field"));
  ASSERT_TRUE(admin_->changeAdminPassword(
      "admin", {{"current_password", old_pw}, {"password", "new-password-12"}}, mine, "192.0.2.7"));
  EXPECT_TRUE(admin_->authenticate(mine.token));
  EXPECT_TRUE(isError(admin_->authenticate(other.token), 401, "unauthorized"));
  EXPECT_FALSE(admin_->login("admin", old_pw, "192.0.2.8", nullptr));
  EXPECT_TRUE(admin_->login("admin", "new-password-12", "192.0.2.8", nullptr));
  json audit = auditItems({{"object_type", "admin"}});
  // login, login, password, login_failed, login: find the password entry.
  bool found = false;
  for (const json& e : audit) {
    if (e["action"] == "password") {
      found = true;
      EXPECT_EQ(e["actor"], "admin");
      EXPECT_EQ(e["object_id"], "admin");
      EXPECT_TRUE(e["before"].is_null());
      EXPECT_TRUE(e["after"].is_null());
      EXPECT_TRUE(e["policy_version"].is_null());
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(pv(), 1);
}

// --- Concurrency and durability ---

TEST_F(AdminServiceTest, ReadsAreAnsweredWhileAChangeIsBeingApplied) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  bool first = true;
  node_.during_apply = [&] {
    if (!first) return;
    first = false;
    entered.set_value();
    released.wait_for(std::chrono::seconds(10));
  };
  std::thread writer([&] { EXPECT_TRUE(admin_->create("domains", {{"name", "slow.org"}}, by())); });
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  // The change is being applied: not committed, so not visible, and reads do not wait for it.
  auto during = admin_->list("domains", query());
  auto services = admin_->list("services", query());
  release.set_value();
  writer.join();
  ASSERT_TRUE(during);
  EXPECT_EQ(during->total, 1);
  EXPECT_TRUE(services);
  EXPECT_EQ(admin_->list("domains", query())->total, 2);
  EXPECT_EQ(pv(), 2);
}

TEST_F(AdminServiceTest, ConcurrentChangesAreSerialized) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 5; ++i) {
        std::string name = "d" + std::to_string(t) + "-" + std::to_string(i) + ".org";
        EXPECT_TRUE(admin_->create("domains", {{"name", name}}, by()));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(pv(), 21);
  EXPECT_EQ(admin_->policy()->local_domains.size(), 21u);
  std::set<int64_t> versions;
  for (const json& e : auditItems()) versions.insert(e["policy_version"].get<int64_t>());
  EXPECT_EQ(versions.size(), 21u);  // one version per change, none lost or shared
}

TEST_F(AdminServiceTest, ACommittedChangeSurvivesKill9) {
  admin_.reset();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    FakeNodeControl node;
    auto admin = AdminService::open(dir_ / "herald.db", dir_, node, seed_, clock_);
    if (!admin || !(*admin)->create("domains", {{"name", "durable.org"}}, by())) ::_exit(2);
    ::raise(SIGKILL);  // right after the answer: no destructor, no checkpoint
    ::_exit(3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  open();
  EXPECT_TRUE(admin_->get("domains", "durable.org"));
  EXPECT_EQ(pv(), 2);
  EXPECT_EQ(auditItems()[0]["object_id"], "durable.org");
}

}  // namespace
}  // namespace herald::admin

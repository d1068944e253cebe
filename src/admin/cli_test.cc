#include "admin/cli.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "admin/fake_admin_service.h"
#include "admin/http_api.h"

namespace herald::admin {
namespace {

using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpApiOptions options;
    options.port = 0;
    api_ = std::make_unique<HttpApi>(fake_, options);
    ASSERT_TRUE(api_->start());
    url_ = "http://127.0.0.1:" + std::to_string(api_->port());
    dir_ = std::filesystem::temp_directory_path() / ("herald-cli-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    env_["XDG_RUNTIME_DIR"] = dir_.string();
  }
  void TearDown() override {
    api_->stop();
    std::filesystem::remove_all(dir_);
  }

  // Runs `herald ARGS...` with `input` on stdin; out_ and err_ hold what it printed.
  int run(const std::vector<std::string>& args, const std::string& input = "") {
    std::istringstream in(input);
    std::ostringstream out, err;
    CliIo io;
    io.in = &in;
    io.out = &out;
    io.err = &err;
    io.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      return it == env_.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    if (terminal_) {
      io.ask = [this](const std::string& prompt, bool secret) -> std::optional<std::string> {
        prompts_.push_back(prompt + (secret ? " (secret)" : ""));
        if (answers_.empty()) return std::nullopt;
        std::string a = answers_.front();
        answers_.pop_front();
        return a;
      };
    }
    int rc = runAdminCli(args, io, [this](const OfflineUserCommand& c) {
      offline_.push_back(c);
      return 0;
    });
    out_ = out.str();
    err_ = err.str();
    return rc;
  }

  // Signs in as admin through the CLI.
  void login() {
    ASSERT_EQ(run({"login", "--url", url_, "--password-stdin"}, "admin-password-1\n"), 0) << err_;
    fake_.clearCalls();
  }

  void addDomain(const std::string& name, int users, const std::string& description) {
    fake_.objects["domains"][name] = {
        {"name", name}, {"description", description}, {"user_count", users}, {"version", 1}};
  }

  std::filesystem::path tokenFile() const { return dir_ / "herald" / "token"; }

  FakeAdminService fake_;
  std::unique_ptr<HttpApi> api_;
  std::string url_;
  std::filesystem::path dir_;
  std::map<std::string, std::string> env_;
  bool terminal_ = false;
  std::deque<std::string> answers_;
  std::vector<std::string> prompts_;
  std::vector<OfflineUserCommand> offline_;
  std::string out_;
  std::string err_;
};

// ---------------------------------------------------------------------------------------------
// login, tokens, URLs

TEST_F(CliTest, LoginKeepsTheTokenWithItsUrlInA0600File) {
  login();
  struct stat st {};
  ASSERT_EQ(stat(tokenFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(tokenFile().parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::ifstream in(tokenFile());
  json saved = json::parse(in);
  EXPECT_EQ(saved["url"], url_);
  EXPECT_EQ(saved["token"], "tok-1");
  EXPECT_EQ(saved["username"], "admin");

  // The other commands find the URL and the token there.
  EXPECT_EQ(run({"status"}), 0) << err_;
  EXPECT_NE(out_.find("fake-1"), std::string::npos) << out_;
}

TEST_F(CliTest, LoginWithoutXdgRuntimeDirUsesHome) {
  env_.erase("XDG_RUNTIME_DIR");
  env_["HOME"] = dir_.string();
  login();
  EXPECT_TRUE(std::filesystem::exists(dir_ / ".config" / "herald" / "token"));
  EXPECT_EQ(run({"status"}), 0) << err_;
}

TEST_F(CliTest, LoginAsksForUrlUserAndPasswordOnTheTerminal) {
  terminal_ = true;
  answers_ = {url_, "", "admin-password-1"};
  ASSERT_EQ(run({"login"}), 0) << err_;
  EXPECT_EQ(prompts_,
            (std::vector<std::string>{"Node URL [http://127.0.0.1:8080]: ", "User [admin]: ",
                                      "Password for admin:  (secret)"}));
  EXPECT_NE(out_.find("signed in to " + url_ + " as admin"), std::string::npos) << out_;
  auto calls = fake_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].change.actor.name, "admin");
}

TEST_F(CliTest, LoginFailures) {
  EXPECT_EQ(run({"login", "--url", url_, "--password-stdin"}, "wrong\n"), 1);
  EXPECT_EQ(err_, "herald: wrong user name or password\n");
  EXPECT_FALSE(std::filesystem::exists(tokenFile()));

  fake_.rate_limited_for_s = 30;
  EXPECT_EQ(run({"login", "--url", url_, "--user", "admin", "--password", "x"}), 1);
  EXPECT_NE(err_.find("try again in 30 s"), std::string::npos) << err_;

  EXPECT_EQ(run({"login", "--url", url_}), 2) << "no terminal and no --password-stdin";
  EXPECT_NE(err_.find("--password-stdin"), std::string::npos);
  EXPECT_EQ(run({"login", "--url", "ftp://x", "--password", "x"}), 2);

  api_->stop();
  EXPECT_EQ(run({"login", "--url", url_, "--password", "x"}), 3);
  EXPECT_NE(err_.find("herald: cannot reach " + url_), std::string::npos) << err_;
}

TEST_F(CliTest, CommandsNeedATokenForTheirUrl) {
  EXPECT_EQ(run({"domain", "list", "--url", url_}), 3);
  EXPECT_EQ(err_, "herald: not signed in to " + url_ + "; run 'herald login --url " + url_ +
                      "' (or set HERALD_TOKEN)\n");
  login();
  // The kept token is not sent to another node.
  EXPECT_EQ(run({"domain", "list", "--url", "http://127.0.0.2:9"}), 3);
  EXPECT_NE(err_.find("not signed in to http://127.0.0.2:9"), std::string::npos);
  // HERALD_URL and HERALD_TOKEN win over the file.
  env_["HERALD_URL"] = url_;
  env_["HERALD_TOKEN"] = "tok-admin";
  EXPECT_EQ(run({"domain", "list"}), 0) << err_;
  env_["HERALD_TOKEN"] = "revoked";
  EXPECT_EQ(run({"domain", "list"}), 3);
  EXPECT_NE(err_.find("herald: sign in first: the token is not valid"), std::string::npos);
  EXPECT_EQ(fake_.calls().size(), 1u) << "only the valid token reached the service";
}

TEST_F(CliTest, LogoutRevokesTheTokenAndKeepsTheDeviceToken) {
  login();
  EXPECT_EQ(run({"logout"}), 0) << err_;
  EXPECT_EQ(out_, "signed out of " + url_ + "\n");
  std::ifstream in(tokenFile());
  json saved = json::parse(in);
  EXPECT_EQ(saved["token"], "");
  EXPECT_EQ(saved["device_token"], "d1.fake.tok-1");
  EXPECT_EQ(run({"status", "--url", url_}), 3);
  EXPECT_NE(err_.find("not signed in to " + url_), std::string::npos) << err_;
}

TEST_F(CliTest, LoginSendsTheDeviceTokenOfTheSameNodeAndUser) {
  login();
  EXPECT_EQ(fake_.last_device_token, "");
  login();  // the file now holds the first login's device token
  EXPECT_EQ(fake_.last_device_token, "d1.fake.tok-1");
  {
    std::ifstream in(tokenFile());
    EXPECT_EQ(json::parse(in)["device_token"], "d1.fake.tok-2");
  }
  // Not to another user.
  EXPECT_EQ(run({"login", "--url", url_, "--user", "root", "--password", "admin-password-1"}), 1);
  EXPECT_EQ(fake_.last_device_token, "");
}

// ---------------------------------------------------------------------------------------------
// Tables and calls

TEST_F(CliTest, FederatedDomainCommands) {
  login();
  ASSERT_EQ(run({"federated-domain", "add", "k.test", "--integration", "sip", "--description",
                 "K Corp"}),
            0)
      << err_;
  EXPECT_EQ(out_, "added federated domain k.test (sip) (policy version 2)\n");
  auto calls = fake_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].collection, "federated-domains");
  EXPECT_EQ(calls[0].body,
            (json{{"name", "k.test"}, {"integration", "sip"}, {"description", "K Corp"}}));
  // --integration is required to add; only the options given are sent.
  EXPECT_EQ(run({"federated-domain", "add", "x.test"}), 2);
  fake_.clearCalls();
  ASSERT_EQ(run({"federated-domain", "update", "k.test", "--direct-federation", "true",
                 "--identity-policy", "subjects"}),
            0)
      << err_;
  calls = fake_.calls();
  ASSERT_EQ(calls.size(), 2u);  // GET for the version, then PATCH with If-Match
  EXPECT_EQ(calls[1].op, "update");
  EXPECT_EQ(calls[1].body, (json{{"direct_federation", true}, {"identity_policy", "subjects"}}));
  EXPECT_EQ(calls[1].change.if_match, 1);
  EXPECT_EQ(run({"federated-domain", "update", "k.test"}), 2) << "nothing to change";
  EXPECT_NE(err_.find("nothing to change"), std::string::npos) << err_;

  ASSERT_EQ(run({"federated-domain", "list"}), 0) << err_;
  EXPECT_NE(out_.find("NAME"), std::string::npos) << out_;
  EXPECT_NE(out_.find("k.test"), std::string::npos) << out_;
  EXPECT_NE(out_.find("K Corp"), std::string::npos) << out_;
  ASSERT_EQ(run({"federated-domain", "show", "k.test"}), 0) << err_;
  EXPECT_NE(out_.find("identity_policy"), std::string::npos) << out_;
  ASSERT_EQ(run({"federated-domain", "delete", "k.test"}), 0) << err_;
  EXPECT_EQ(out_.rfind("deleted federated domain k.test", 0), 0u) << out_;
}

TEST_F(CliTest, DomainListIsAnAlignedTable) {
  login();
  addDomain("a.example", 2, "First one");
  addDomain("b.example.org", 0, "");
  addDomain("c.example", 0, "evil \x1b[31mred");
  EXPECT_EQ(run({"domain", "list"}), 0) << err_;
  EXPECT_EQ(out_,
            "NAME           USERS  DESCRIPTION\n"
            "a.example      2      First one\n"
            "b.example.org  0\n"
            "c.example      0      evil ?[31mred\n");
  EXPECT_EQ(run({"domain", "list", "--filter", "org"}), 0);
  EXPECT_EQ(fake_.calls().back().query.q, "org");
  EXPECT_EQ(fake_.calls().back().query.limit, 1000);

  EXPECT_EQ(run({"domain", "list", "--json"}), 0);
  json j = json::parse(out_);
  EXPECT_EQ(j["total"], 3);
  EXPECT_EQ(j["items"][0]["name"], "a.example");

  fake_.objects["domains"].clear();
  EXPECT_EQ(run({"domain", "list"}), 0);
  EXPECT_EQ(out_, "no domains\n");
}

TEST_F(CliTest, DomainAddShowEditDelete) {
  login();
  EXPECT_EQ(run({"domain", "add", "example.org", "--description", "Example Corp."}), 0) << err_;
  EXPECT_EQ(out_, "added domain example.org (policy version 2)\n");
  auto calls = fake_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, "create");
  EXPECT_EQ(calls[0].body, json({{"name", "example.org"}, {"description", "Example Corp."}}));

  EXPECT_EQ(run({"domain", "show", "example.org"}), 0);
  EXPECT_EQ(out_,
            "name:        example.org\n"
            "description: Example Corp.\n"
            "version:     1\n");

  fake_.clearCalls();
  EXPECT_EQ(run({"domain", "edit", "example.org", "--description", ""}), 0) << err_;
  EXPECT_EQ(out_, "updated domain example.org (version 2, policy version 3)\n");
  calls = fake_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].op, "get");
  EXPECT_EQ(calls[1].op, "update");
  EXPECT_EQ(calls[1].change.if_match, std::optional<int64_t>(1));
  EXPECT_EQ(calls[1].body, json({{"description", ""}}));

  EXPECT_EQ(run({"domain", "delete", "example.org", "--json"}), 0);
  EXPECT_EQ(json::parse(out_)["item"]["name"], "example.org");
  EXPECT_EQ(run({"domain", "delete", "example.org"}), 1);
  EXPECT_EQ(err_, "herald: no domains object example.org\n");
  EXPECT_EQ(run({"domain", "delete", "example.org", "--json"}), 1);
  EXPECT_EQ(json::parse(out_)["error"]["code"], "not_found");
}

TEST_F(CliTest, UserCommands) {
  login();
  EXPECT_EQ(run({"user", "add", "alice@example.org", "-n", "Alice Liddell", "--password-stdin"},
                "rabbit-hole-42\n"),
            0)
      << err_;
  EXPECT_EQ(out_, "added user alice@example.org (policy version 2)\n");
  EXPECT_EQ(fake_.calls().back().body, json({{"username", "alice"},
                                             {"domain", "example.org"},
                                             {"password", "rabbit-hole-42"},
                                             {"display_name", "Alice Liddell"}}));

  EXPECT_EQ(run({"user", "list", "--domain", "example.org", "--filter", "ali"}), 0);
  EXPECT_EQ(out_,
            "ADDRESS            DISPLAY NAME   CONTACTS\n"
            "alice@example.org  Alice Liddell\n");
  EXPECT_EQ(fake_.calls().back().query.filters.at("domain"), "example.org");
  EXPECT_EQ(fake_.calls().back().query.q, "ali");

  EXPECT_EQ(run({"user", "edit", "alice@example.org", "--display-name", "Alice"}), 0) << err_;
  EXPECT_EQ(fake_.calls().back().change.if_match, std::optional<int64_t>(1));

  terminal_ = true;
  answers_ = {"looking-glass-7", "looking-glass-7"};
  EXPECT_EQ(run({"user", "passwd", "alice@example.org"}), 0) << err_;
  EXPECT_EQ(out_, "password changed for alice@example.org (policy version 4)\n");
  EXPECT_EQ(fake_.calls().back().op, "password");
  EXPECT_EQ(fake_.calls().back().body, json({{"password", "looking-glass-7"}}));
  answers_ = {"one-password", "another-one"};
  EXPECT_EQ(run({"user", "passwd", "alice@example.org"}), 2);
  EXPECT_NE(err_.find("the two passwords differ"), std::string::npos);
  terminal_ = false;

  EXPECT_EQ(run({"user", "show", "alice@example.org"}), 0);
  EXPECT_NE(out_.find("display_name: Alice\n"), std::string::npos) << out_;
  EXPECT_EQ(run({"user", "delete", "alice@example.org"}), 0);
  EXPECT_EQ(run({"user", "add", "no-domain", "--password", "x"}), 2);
  EXPECT_EQ(run({"user", "add", "bob@example.org"}), 2) << "no password, no terminal";
}

TEST_F(CliTest, OfflineUserCommandsNeedConfig) {
  EXPECT_EQ(run({"user", "add", "alice@example.com", "--password", "alice-pw", "-c", "n.toml"}), 0);
  EXPECT_EQ(run({"user", "-c", "n.toml", "list", "--json"}), 0);
  EXPECT_EQ(run({"user", "passwd", "alice@example.com", "--config", "n.toml", "--password-stdin"},
                "new-pw\n"),
            0);
  EXPECT_EQ(run({"user", "delete", "alice@example.com", "-c", "n.toml"}), 0);
  ASSERT_EQ(offline_.size(), 4u);
  EXPECT_EQ(offline_[0].verb, "add");
  EXPECT_EQ(offline_[0].config, "n.toml");
  EXPECT_EQ(offline_[0].address, "alice@example.com");
  EXPECT_EQ(offline_[0].password, "alice-pw");
  EXPECT_TRUE(offline_[1].json);
  EXPECT_EQ(offline_[2].password, "new-pw");
  EXPECT_EQ(offline_[3].verb, "delete");
  EXPECT_EQ(run({"user", "show", "alice@example.com", "-c", "n.toml"}), 2);
  EXPECT_EQ(run({"user", "add", "alice@example.com", "-c", "n.toml"}), 2) << "no password";
  EXPECT_EQ(offline_.size(), 4u);
  EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(CliTest, ParamSetReadsTheValueAsItsType) {
  login();
  EXPECT_EQ(run({"param", "set", "sip-t1", "600"}), 0) << err_;
  EXPECT_EQ(out_, "sip-t1 = 600 ms (policy version 2)\n");
  auto calls = fake_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].body, json({{"value", 600}}));
  EXPECT_EQ(run({"param", "set", "record-route-transport", "true"}), 0) << err_;
  EXPECT_EQ(fake_.calls().back().body, json({{"value", true}}));
  fake_.clearCalls();
  EXPECT_EQ(run({"param", "set", "sip-t1", "fast"}), 2);
  EXPECT_EQ(err_, "herald: sip-t1 takes an integer\n");
  EXPECT_EQ(run({"param", "set", "record-route-transport", "yes"}), 2);
  EXPECT_EQ(fake_.calls().size(), 2u) << "only the two GETs";

  EXPECT_EQ(run({"param", "list", "--scope", "node"}), 0);
  EXPECT_EQ(fake_.calls().back().query.filters.at("scope"), "node");
  EXPECT_EQ(out_,
            "NAME                    SCOPE    VALUE     DEFAULT\n"
            "record-route-transport  cluster  yes *     no\n"
            "sip-t1                  node     600 ms *  500 ms\n");
  EXPECT_EQ(run({"param", "reset", "sip-t1"}), 0);
  EXPECT_EQ(out_, "sip-t1 reset to 500 ms (policy version 4)\n");
  EXPECT_EQ(run({"param", "list", "--scope", "everything"}), 2);
}

TEST_F(CliTest, ServicesStatusAndAudit) {
  login();
  EXPECT_EQ(run({"service", "deactivate", "presence"}), 0) << err_;
  EXPECT_EQ(out_, "presence: stopped, deactivated (policy version 2)\n");
  EXPECT_EQ(fake_.calls().back().action, "deactivate");
  EXPECT_EQ(run({"service", "restart", "presence"}), 1);
  EXPECT_EQ(err_, "herald: presence is not activated; activate it instead\n");
  fake_.objects["services"]["sip-proxy"]["listeners"] = {
      {{"transport", "udp"}, {"address", "0.0.0.0"}, {"port", 5060}},
      {{"transport", "tls"}, {"address", "::"}, {"port", 5061}}};
  EXPECT_EQ(run({"service", "list"}), 0);
  EXPECT_EQ(out_,
            "NAME            ACTIVATED  STATE    SINCE                 LISTENERS\n"
            "presence        no         stopped  2026-12-02T08:00:00Z\n"
            "sip-federation  yes        running  2026-12-02T08:00:00Z\n"
            "sip-proxy       yes        running  2026-12-02T08:00:00Z  udp 0.0.0.0:5060, tls "
            "[::]:5061\n");

  EXPECT_EQ(run({"status"}), 0);
  EXPECT_EQ(out_,
            "node:           fake-1\n"
            "version:        0.0.0-fake\n"
            "started_at:     2026-12-02T08:00:00Z\n"
            "uptime_s:       8400\n"
            "policy_version: 2\n"
            "store:          sqlite /tmp/fake.db (schema 2)\n"
            "\n"
            "SERVICE  TRANSPORT  ADDRESS    PORT\n"
            "admin    tcp        127.0.0.1  8080\n"
            "\n"
            "COUNTER       VALUE\n"
            "sip.received  12\n"
            "sip.sent      11\n");

  fake_.objects["audit"]["1"] = {{"id", 1},
                                 {"at", "2026-12-02T10:15:00Z"},
                                 {"actor", "admin"},
                                 {"source_address", "127.0.0.1"},
                                 {"action", "create"},
                                 {"object_type", "domain"},
                                 {"object_id", "example.org"}};
  EXPECT_EQ(run({"audit", "list", "--limit", "5", "--type", "domain"}), 0);
  EXPECT_EQ(out_,
            "ID  AT                    ACTOR  SOURCE     ACTION  TYPE    OBJECT\n"
            "1   2026-12-02T10:15:00Z  admin  127.0.0.1  create  domain  example.org\n");
  EXPECT_EQ(fake_.calls().back().query.limit, 5);
  EXPECT_EQ(fake_.calls().back().query.filters.at("object_type"), "domain");
  EXPECT_EQ(run({"audit", "list", "--limit", "0"}), 2);
}

// ---------------------------------------------------------------------------------------------
// Usage and help

TEST_F(CliTest, UsageErrorsExit2) {
  EXPECT_EQ(run({}), 2);
  EXPECT_EQ(run({"domain"}), 2);
  EXPECT_EQ(run({"domain", "frobnicate"}), 2);
  EXPECT_EQ(run({"domain", "add"}), 2);
  EXPECT_EQ(run({"domain", "edit", "x"}), 2) << "--description is required";
  EXPECT_EQ(run({"status", "--bogus"}), 2);
  EXPECT_EQ(run({"status", "--url", "not a url"}), 2);
  EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(CliTest, AnUnknownCommandIsNamed) {
  EXPECT_EQ(run({"nonsense"}), 2);
  EXPECT_EQ(err_.rfind("herald: unknown command 'nonsense' (commands: ", 0), 0u) << err_;
  EXPECT_NE(err_.find("domain"), std::string::npos) << err_;
  EXPECT_EQ(run({"domain", "frobnicate"}), 2);
  EXPECT_EQ(err_.rfind("herald domain: unknown command 'frobnicate' (commands: list, add", 0), 0u)
      << err_;
  EXPECT_NE(err_.find("run 'herald domain --help'"), std::string::npos) << err_;
  // Other usage errors keep CLI11's own message.
  EXPECT_EQ(run({"domain"}), 2);
  EXPECT_EQ(err_.find("unknown command"), std::string::npos) << err_;
}

TEST_F(CliTest, HelpDescribesEveryCommandAndOption) {
  EXPECT_EQ(run({"--help"}), 0);
  for (const char* cmd :
       {"login", "logout", "domain", "federated-domain", "user", "param", "service", "status",
        "audit"}) {
    EXPECT_NE(out_.find(cmd), std::string::npos) << cmd;
  }
  EXPECT_EQ(run({"user", "add", "--help"}), 0);
  EXPECT_NE(out_.find("--password-stdin"), std::string::npos) << out_;
  EXPECT_NE(out_.find("UNSAFE"), std::string::npos) << out_;
  EXPECT_NE(out_.find("Offline: with -c,--config FILE"), std::string::npos) << out_;

  CLI::App app{"herald"};
  AdminCli cli(app);
  std::vector<const CLI::App*> todo = {&app};
  size_t options = 0;
  while (!todo.empty()) {
    const CLI::App* a = todo.back();
    todo.pop_back();
    if (a != &app) {
      EXPECT_FALSE(a->get_description().empty()) << a->get_name();
    }
    for (const CLI::Option* o : a->get_options()) {
      EXPECT_FALSE(o->get_description().empty()) << a->get_name() << " " << o->get_name();
      ++options;
    }
    for (const CLI::App* sub : a->get_subcommands([](const CLI::App*) { return true; })) {
      todo.push_back(sub);
    }
  }
  EXPECT_GT(options, 60u);
}

}  // namespace
}  // namespace herald::admin

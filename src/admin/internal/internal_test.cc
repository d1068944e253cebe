// Unit tests of the admin service's building blocks: text rules, password hashing, sessions,
// the login limiter, device tokens and the parameter catalog.

#include <gtest/gtest.h>

#include <set>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "admin/internal/device_tokens.h"
#include "admin/internal/login_limiter.h"
#include "admin/internal/param_catalog.h"
#include "admin/internal/password_hash.h"
#include "admin/internal/sessions.h"
#include "admin/internal/text_rules.h"
#include "sip/message/chars.h"

namespace herald::admin::detail {
namespace {

TEST(TextRulesTest, CountsCharactersOfValidUtf8Only) {
  EXPECT_EQ(utf8Length(""), 0u);
  EXPECT_EQ(utf8Length("abc"), 3u);
  EXPECT_EQ(utf8Length("é"), 1u);
  EXPECT_EQ(utf8Length("日本語"), 3u);
  EXPECT_EQ(utf8Length("\xf0\x9f\x98\x80"), 1u);  // U+1F600
  EXPECT_FALSE(utf8Length("\xc3"));               // truncated
  EXPECT_FALSE(utf8Length("\xc0\xaf"));           // overlong '/'
  EXPECT_FALSE(utf8Length("\xed\xa0\x80"));       // a surrogate
  EXPECT_FALSE(utf8Length("\xf4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_FALSE(utf8Length("\xff"));
}

TEST(TextRulesTest, ControlCharactersIncludeC1) {
  EXPECT_FALSE(hasControlCharacters("Alice Liddell, ünï 日本"));
  EXPECT_TRUE(hasControlCharacters("a\tb"));
  EXPECT_TRUE(hasControlCharacters(std::string("a\0b", 3)));
  EXPECT_TRUE(hasControlCharacters("\x7f"));
  EXPECT_TRUE(hasControlCharacters("\xc2\x85"));   // U+0085 NEL
  EXPECT_FALSE(hasControlCharacters("\xc2\xa0"));  // U+00A0 is not a control
}

TEST(TextRulesTest, DomainNames) {
  EXPECT_EQ(normalizeDomain("Example.ORG."), "example.org");
  EXPECT_EQ(normalizeDomain("a.org.."), "a.org.");
  EXPECT_TRUE(isFqdn("localhost"));
  EXPECT_TRUE(isFqdn("a-1.b2.example"));
  EXPECT_FALSE(isFqdn("A.org"));  // callers normalize first
  EXPECT_EQ(fqdnProblem(std::string(64, 'a')), "a label has more than 63 characters");
  EXPECT_EQ(fqdnProblem("a..b"), "it has an empty label");
  EXPECT_EQ(fqdnProblem("-a"), "a label neither starts nor ends with '-'");
  EXPECT_EQ(fqdnProblem("a b"), "labels are letters, digits and '-'");
  EXPECT_EQ(fqdnProblem(""), "it is empty");
}

TEST(TextRulesTest, SipUserIsTheOfflineCommandsSet) {
  // The offline `herald user add` accepts kUnreserved | kUserExtra (plus escapes, which the
  // API leaves out): compare every byte.
  for (int c = 0; c < 256; ++c) {
    std::string s(1, static_cast<char>(c));
    bool offline =
        sip::chars::is(static_cast<char>(c), sip::chars::kUnreserved | sip::chars::kUserExtra);
    EXPECT_EQ(isSipUser(s), offline) << c;
  }
  EXPECT_FALSE(isSipUser(""));
  EXPECT_TRUE(isSipUser(std::string(64, 'a')));
  EXPECT_FALSE(isSipUser(std::string(65, 'a')));
  EXPECT_FALSE(isSipUser("a%41"));
}

TEST(TextRulesTest, IpLiterals) {
  EXPECT_TRUE(isIpLiteral("192.0.2.1"));
  EXPECT_TRUE(isIpLiteral("2001:db8::1"));
  EXPECT_FALSE(isIpLiteral("[2001:db8::1]"));
  EXPECT_FALSE(isIpLiteral("192.0.2.256"));
  EXPECT_FALSE(isIpLiteral(std::string("192.0.2.1\0", 10)));
  EXPECT_FALSE(isIpLiteral(""));
}

TEST(TextRulesTest, TimesAndShownText) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(1796206500), "2026-12-02T10:15:00Z");
  EXPECT_EQ(shown("a\nb\xff"), "a?b?");
  EXPECT_EQ(shown(std::string(100, 'x')), std::string(64, 'x'));
  EXPECT_EQ(failedLoginActor("ro\not\x1b"), "root");
}

TEST(PasswordHashTest, SaltedSlowAndComparedWhole) {
  PasswordHash a = hashPassword("correct horse battery");
  PasswordHash b = hashPassword("correct horse battery");
  EXPECT_EQ(a.algorithm, "pbkdf2-sha256");
  EXPECT_GE(a.iterations, 210000);
  EXPECT_EQ(a.salt_hex.size(), 32u);
  EXPECT_EQ(a.hash_hex.size(), 64u);
  EXPECT_NE(a.salt_hex, b.salt_hex);  // a random salt per password
  EXPECT_NE(a.hash_hex, b.hash_hex);
  EXPECT_TRUE(verifyPassword(a, "correct horse battery"));
  EXPECT_FALSE(verifyPassword(a, "correct horse batter"));
  EXPECT_FALSE(verifyPassword(a, ""));
  PasswordHash tampered = a;
  tampered.hash_hex[0] = tampered.hash_hex[0] == '0' ? '1' : '0';
  EXPECT_FALSE(verifyPassword(tampered, "correct horse battery"));
  PasswordHash unknown = a;
  unknown.algorithm = "md5";
  EXPECT_FALSE(verifyPassword(unknown, "correct horse battery"));
  PasswordHash damaged = a;
  damaged.iterations = 1'000'000'000;  // would take minutes: refused
  EXPECT_FALSE(verifyPassword(damaged, "correct horse battery"));
  EXPECT_FALSE(verifyPassword(decoyHash(), "correct horse battery"));
}

TEST(PasswordHashTest, RandomTokensAreBase64Url) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string t = randomBase64Url(32);
    EXPECT_EQ(t.size(), 43u);
    EXPECT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(randomBase64Url(18).size(), 24u);
}

TEST(SessionTableTest, IdleAndAbsoluteExpiry) {
  FakeClock clock;
  SessionTable sessions(clock);
  Session s = sessions.create("admin");
  EXPECT_EQ(s.expires_at, clock.unixSeconds() + 8 * 3600);
  clock.advance(std::chrono::hours(8));
  EXPECT_FALSE(sessions.use(s.token));  // exactly 8 h idle: gone
  EXPECT_FALSE(sessions.revoke(s.token));

  Session t = sessions.create("admin");
  Session u = sessions.create("other");
  Session v = sessions.create("admin");
  sessions.revokeOthers("admin", t.token);
  EXPECT_TRUE(sessions.use(t.token));
  EXPECT_TRUE(sessions.use(u.token));
  EXPECT_FALSE(sessions.use(v.token));
  EXPECT_TRUE(sessions.revoke(t.token));
  EXPECT_FALSE(sessions.use(t.token));
}

using Outcome = LoginLimiter::Outcome;

// One attempt from `source` for `account` that fails (or is refused: then false).
bool fail(LoginLimiter& l, const std::string& source, const std::string& account,
          const std::string& device = "") {
  auto a = l.admit(source, account, device, device.empty() ? 0 : 1'000'000'000'000);
  if (!a.ticket) return false;
  l.finish(*a.ticket, Outcome::Failed);
  return true;
}

TEST(LoginLimiterTest, FiveFailuresBlockASourceUntilTheOldestIsAMinuteOld) {
  FakeClock clock;
  LoginLimiter limiter(clock);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(fail(limiter, "a", "u" + std::to_string(i)));
    clock.advance(std::chrono::seconds(10));
  }
  EXPECT_TRUE(fail(limiter, "a", "u4"));  // at 40 s; the first was at 0 s
  auto refused = limiter.admit("a", "other", "");
  EXPECT_FALSE(refused.ticket);
  EXPECT_EQ(refused.retry_after_s, 20);
  EXPECT_EQ(refused.reason, "failed logins from your address");
  EXPECT_TRUE(limiter.admit("b", "other", "").ticket);
  clock.advance(std::chrono::milliseconds(19500));
  EXPECT_EQ(limiter.admit("a", "other", "").retry_after_s, 1);  // rounded up
  clock.advance(std::chrono::milliseconds(500));
  EXPECT_TRUE(limiter.admit("a", "other", "").ticket);
}

TEST(LoginLimiterTest, LoopbackIsOneSourceAndIpv6CountsPer64) {
  EXPECT_EQ(loginSourceKey("127.0.0.1"), "127.0.0.0/8");
  EXPECT_EQ(loginSourceKey("127.200.3.4"), "127.0.0.0/8");
  EXPECT_EQ(loginSourceKey("::1"), "127.0.0.0/8");
  EXPECT_EQ(loginSourceKey("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(loginSourceKey("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(loginSourceKey("2001:db8:1:2::5"), "2001:db8:1:2::/64");
  EXPECT_EQ(loginSourceKey("2001:db8:1:2:ffff:ee:dd:1"), "2001:db8:1:2::/64");
  EXPECT_EQ(loginSourceKey("2001:db8:1:3::5"), "2001:db8:1:3::/64");
  EXPECT_EQ(loginSourceKey("not an address"), "not an address");
}

TEST(LoginLimiterTest, AttemptsInFlightTakeTheirPlaceBeforeTheCheck) {
  FakeClock clock;
  LoginLimiter limiter(clock);
  std::vector<LoginLimiter::Ticket> tickets;
  for (int i = 0; i < 40; ++i) {
    auto a = limiter.admit("a", "admin", "");
    if (a.ticket) tickets.push_back(*a.ticket);
  }
  EXPECT_EQ(tickets.size(), 5u);  // 40 concurrent guesses, 5 password checks
  for (const auto& t : tickets) limiter.finish(t, Outcome::Failed);
  EXPECT_FALSE(limiter.admit("a", "admin", "").ticket);
  // An attempt that was not decided gives its place back.
  auto b = limiter.admit("b", "admin", "");
  ASSERT_TRUE(b.ticket);
  limiter.finish(*b.ticket, Outcome::Abandoned);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(fail(limiter, "b", "admin")) << i;
}

TEST(LoginLimiterTest, AnAccountBacksOffAfterTenFailuresWhateverTheSource) {
  FakeClock clock;
  LoginLimiter limiter(clock);
  int source = 0;
  auto next = [&] { return "192.0.2." + std::to_string(++source); };
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fail(limiter, next(), "admin")) << i;
  auto r = limiter.admit(next(), "admin", "");
  ASSERT_FALSE(r.ticket);
  EXPECT_EQ(r.retry_after_s, 1);
  EXPECT_EQ(r.reason, "failed logins for this account");
  EXPECT_TRUE(limiter.admit(next(), "bob", "").ticket);  // other accounts are not affected
  // 1 s, 2 s, 4 s, ... between tries, one at a time, up to 300 s.
  int64_t expected = 1;
  for (int i = 0; i < 12; ++i) {
    clock.advance(std::chrono::seconds(expected) - std::chrono::milliseconds(1));
    EXPECT_FALSE(limiter.admit(next(), "admin", "").ticket) << i;
    clock.advance(std::chrono::milliseconds(1));
    auto a = limiter.admit(next(), "admin", "");
    ASSERT_TRUE(a.ticket) << i;
    EXPECT_FALSE(limiter.admit(next(), "admin", "").ticket) << "one in flight at a time";
    limiter.finish(*a.ticket, Outcome::Failed);
    expected = std::min<int64_t>(expected * 2, 300);
  }
  EXPECT_EQ(expected, 300);
  EXPECT_EQ(limiter.admit(next(), "admin", "").retry_after_s, 300);
  // 15 minutes without a failure start the count again.
  clock.advance(std::chrono::minutes(15));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fail(limiter, next(), "admin")) << i;
  EXPECT_FALSE(limiter.admit(next(), "admin", "").ticket);
  // So does a success.
  clock.advance(std::chrono::seconds(1));
  auto ok = limiter.admit(next(), "admin", "");
  ASSERT_TRUE(ok.ticket);
  limiter.finish(*ok.ticket, Outcome::Succeeded);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fail(limiter, next(), "admin")) << i;
}

TEST(LoginLimiterTest, TheNodeRefusesEveryoneAfter100FailuresAMinute) {
  FakeClock clock;
  LoginLimiter limiter(clock);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(fail(limiter, "10.0." + std::to_string(i / 4) + "." + std::to_string(i),
                     "user" + std::to_string(i)))
        << i;
  }
  auto r = limiter.admit("10.9.9.9", "fresh", "");
  ASSERT_FALSE(r.ticket);
  EXPECT_EQ(r.reason, "failed logins on this node");
  EXPECT_EQ(r.retry_after_s, 60);
  clock.advance(std::chrono::seconds(60));
  EXPECT_TRUE(limiter.admit("10.9.9.9", "fresh", "").ticket);
}

TEST(LoginLimiterTest, AKnownDeviceIsNotLockedOutByAGuesser) {
  FakeClock clock;
  LoginLimiter limiter(clock);
  for (int i = 0; i < 100; ++i) fail(limiter, "10.0.0." + std::to_string(i), "admin");
  EXPECT_FALSE(limiter.admit("10.1.1.1", "admin", "").ticket);  // every budget spent
  auto a = limiter.admit("10.0.0.1", "admin", "dev1", 2'000'000'000);
  ASSERT_TRUE(a.ticket);
  limiter.finish(*a.ticket, Outcome::Succeeded);
  // A device has 5 failures; then it is revoked and the ordinary budgets apply.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(fail(limiter, "10.0.0.1", "admin", "dev1")) << i;
  EXPECT_TRUE(limiter.revoked("dev1"));
  EXPECT_FALSE(limiter.admit("10.0.0.1", "admin", "dev1", 2'000'000'000).ticket);
  clock.advance(std::chrono::minutes(20));
  EXPECT_FALSE(limiter.revoked("dev2"));
  EXPECT_TRUE(limiter.admit("10.0.0.1", "admin", "dev2", 2'000'000'000).ticket);
}

TEST(DeviceTokensTest, VerifiesOnlyItsOwnUnexpiredTokensForTheirUser) {
  auto dir = std::filesystem::temp_directory_path() /
             ("herald-device-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  FakeClock clock;
  DeviceTokens tokens(clock);
  EXPECT_EQ(tokens.issue("admin"), "");  // no key yet: nothing issued
  ASSERT_TRUE(tokens.loadKey(dir));
  struct stat st {};
  ASSERT_EQ(::stat((dir / "admin-device-key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string t = tokens.issue("admin");
  auto v = tokens.verify(t, "admin");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->expires_at, clock.unixSeconds() + DeviceTokens::kLifetimeS);
  EXPECT_NE(tokens.issue("admin"), t);
  EXPECT_NE(tokens.verify(tokens.issue("admin"), "admin")->id, v->id);
  EXPECT_FALSE(tokens.verify(t, "bob"));
  std::string forged = t;
  forged[3] = forged[3] == '9' ? '8' : '9';  // a later expiry
  EXPECT_FALSE(tokens.verify(forged, "admin"));
  EXPECT_FALSE(tokens.verify(t.substr(0, t.size() - 1), "admin"));
  EXPECT_FALSE(tokens.verify("", "admin"));
  EXPECT_FALSE(tokens.verify("d1..x.y", "admin"));
  // The key survives a restart; another key knows none of these.
  DeviceTokens again(clock);
  ASSERT_TRUE(again.loadKey(dir));
  EXPECT_TRUE(again.verify(t, "admin"));
  std::filesystem::remove(dir / "admin-device-key");
  DeviceTokens fresh(clock);
  ASSERT_TRUE(fresh.loadKey(dir));
  EXPECT_FALSE(fresh.verify(t, "admin"));
  clock.advance(std::chrono::seconds(DeviceTokens::kLifetimeS));
  EXPECT_FALSE(tokens.verify(t, "admin"));
  std::filesystem::remove_all(dir);
}

TEST(ParamCatalogTest, SortedClusterFirstAndEveryAccessRoundTrips) {
  auto catalog = paramCatalog();
  ASSERT_EQ(catalog.size(), 16u);
  for (size_t i = 1; i < catalog.size(); ++i) {
    const ParamDef& a = catalog[i - 1];
    const ParamDef& b = catalog[i];
    EXPECT_TRUE(a.node_scope < b.node_scope || (a.node_scope == b.node_scope && a.name < b.name))
        << a.name << " then " << b.name;
  }
  for (const ParamDef& def : catalog) {
    EXPECT_EQ(findParam(def.name), &def);
    EXPECT_EQ(def.node_scope, !def.config_key.empty()) << def.name;
    Policy p;
    nlohmann::json v = def.type == ParamType::Bool ? nlohmann::json(!def.access.get(p).get<bool>())
                       : def.type == ParamType::Integer ? nlohmann::json(def.max)
                       : def.type == ParamType::Enum    ? nlohmann::json("off")
                       : def.type == ParamType::Ip      ? nlohmann::json("192.0.2.9")
                                                        : nlohmann::json("x.example");
    auto checked = checkParamValue(def, v, nullptr);
    ASSERT_TRUE(checked) << def.name << ": " << checked.error().message;
    def.access.set(p, *checked);
    EXPECT_EQ(def.access.get(p), v) << def.name;  // the setter writes what the getter reads
  }
  EXPECT_FALSE(findParam("sip-t3"));
}

}  // namespace
}  // namespace herald::admin::detail

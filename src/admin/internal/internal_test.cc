// Unit tests of the admin service's building blocks: text rules, password hashing, sessions,
// the login limiter and the parameter catalog.

#include <gtest/gtest.h>

#include <set>

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

TEST(LoginLimiterTest, BlocksUntilTheOldestOfFiveIsAMinuteOld) {
  FakeClock clock;
  LoginLimiter limiter(clock);
  for (int i = 0; i < 4; ++i) {
    limiter.recordFailure("a");
    clock.advance(std::chrono::seconds(10));
  }
  EXPECT_FALSE(limiter.blockedFor("a"));
  limiter.recordFailure("a");  // at 40 s; the first was at 0 s
  EXPECT_EQ(limiter.blockedFor("a"), 20);
  EXPECT_FALSE(limiter.blockedFor("b"));
  clock.advance(std::chrono::milliseconds(19500));
  EXPECT_EQ(limiter.blockedFor("a"), 1);  // rounded up
  clock.advance(std::chrono::milliseconds(500));
  EXPECT_FALSE(limiter.blockedFor("a"));
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

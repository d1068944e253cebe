#include "federation/route_pattern.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace herald::fed {
namespace {

using ::testing::HasSubstr;

RoutePattern domain(std::string_view text) {
  auto p = RoutePattern::parse(text, RouteType::Domain);
  EXPECT_TRUE(p.has_value()) << text << ": " << p.error().detail;
  return p ? *p : RoutePattern::openFederation();
}

std::string domainError(std::string_view text) {
  auto p = RoutePattern::parse(text, RouteType::Domain);
  EXPECT_FALSE(p.has_value()) << text << " parsed as " << p->canonical();
  return p ? "" : p.error().detail;
}

bool matchesDomain(const RoutePattern& p, std::string_view name) {
  auto key = routeKey(name);
  EXPECT_TRUE(key.has_value()) << name;
  return key && p.matches(*key);
}

TEST(RouteKeyTest, ReversesLabelsBetweenDots) {
  EXPECT_EQ(*routeKey("domaina.com"), ".com.domaina.");
  EXPECT_EQ(*routeKey("x.domaina.com"), ".com.domaina.x.");
  EXPECT_EQ(*routeKey("localhost"), ".localhost.");
}

TEST(RouteKeyTest, NormalisesCaseAndTrailingDot) {
  EXPECT_EQ(*routeKey("DomainA.COM."), ".com.domaina.");
}

TEST(RouteKeyTest, RejectsBadNames) {
  EXPECT_FALSE(routeKey("").has_value());
  EXPECT_FALSE(routeKey(".").has_value());
  EXPECT_FALSE(routeKey("a..com").has_value());
  EXPECT_FALSE(routeKey(".a.com").has_value());
  EXPECT_FALSE(routeKey("a_b.com").has_value());
  EXPECT_FALSE(routeKey(std::string(64, 'a') + ".com").has_value());
  auto idn = routeKey("bücher.example");
  ASSERT_FALSE(idn.has_value());
  EXPECT_THAT(idn.error().detail, HasSubstr("xn--"));
}

TEST(RoutePatternTest, ParsesReversedForm) {
  RoutePattern p = domain(".com.domaina.*");
  EXPECT_EQ(p.reversed(), ".com.domaina.*");
  EXPECT_EQ(p.canonical(), ".com.domaina.*");
  EXPECT_EQ(p.natural(), "*.domaina.com");
  EXPECT_FALSE(p.exact());
  EXPECT_TRUE(p.labelPrefix());
  EXPECT_EQ(p.literalPrefix(), ".com.domaina.");
}

TEST(RoutePatternTest, ParsesNaturalFormIntoReversedStorage) {
  EXPECT_EQ(domain("domaina.com").canonical(), ".com.domaina.");
  EXPECT_EQ(domain("domaina.com").natural(), "domaina.com");
  EXPECT_TRUE(domain("domaina.com").exact());
  EXPECT_EQ(domain("*.domaina.com").canonical(), ".com.domaina.*");
  EXPECT_EQ(domain("domaina.com.").canonical(), ".com.domaina.");
  EXPECT_EQ(domain("sip*.domaina.com").canonical(), ".com.domaina.sip*.");
  EXPECT_EQ(domain("*").canonical(), ".*");
}

TEST(RoutePatternTest, BothFormsOfOneRouteAreEqual) {
  EXPECT_EQ(domain(".com.domaina.*"), domain("*.domaina.com"));
  EXPECT_EQ(domain(".com.domaina."), domain("domaina.com"));
  EXPECT_FALSE(domain(".com.domaina.*") == domain("domaina.com"));
}

TEST(RoutePatternTest, NaturalFormReadsBackToTheSamePattern) {
  for (std::string_view text : {".com.domaina.*", ".com.domaina.", ".*", ".com.sip*.",
                                ".com.a.*.*", ".jp.co.example.x-y.*", ".com.a\\*b."}) {
    RoutePattern p = domain(text);
    EXPECT_EQ(domain(p.natural()).canonical(), p.canonical()) << text << " -> " << p.natural();
  }
}

TEST(RoutePatternTest, LowercasesAndTrims) {
  EXPECT_EQ(domain("  .COM.DomainA.*\t").canonical(), ".com.domaina.*");
  EXPECT_EQ(domain("DomainA.Com").canonical(), ".com.domaina.");
}

TEST(RoutePatternTest, OpenFederationPattern) {
  EXPECT_TRUE(domain(".*").isOpenFederation());
  EXPECT_TRUE(domain("(*.)").isOpenFederation());
  EXPECT_TRUE(RoutePattern::openFederation().isOpenFederation());
  EXPECT_EQ(RoutePattern::openFederation(), domain(".*"));
  EXPECT_EQ(domain(".*").natural(), "*");
  EXPECT_TRUE(domain(".*").labelPrefix());
  EXPECT_EQ(domain(".*").literalPrefix(), ".");
  EXPECT_FALSE(domain(".com.*").isOpenFederation());
}

TEST(RoutePatternTest, CanonicalisesStrictSubdomainPattern) {
  // `.com.a.*.` and `.com.a.*.*` match the same names; one canonical form, one natural form.
  EXPECT_EQ(domain(".com.a.*.").canonical(), ".com.a.*.*");
  EXPECT_EQ(domain(".com.a.*.").natural(), "*.*.a.com");
  EXPECT_EQ(domain(".com.a.**.").canonical(), ".com.a.*.*");
}

TEST(RoutePatternTest, WrongOrderOffersTheReversedForm) {
  std::string e = domainError("domaina.com.*");
  EXPECT_THAT(e, HasSubstr("wrong order"));
  EXPECT_THAT(e, HasSubstr("'.com.domaina.*'"));
  EXPECT_THAT(e, HasSubstr("'*.domaina.com'"));
}

TEST(RoutePatternTest, MissingLeadingDotOffersIt) {
  std::string e = domainError("com.domaina.*");
  EXPECT_THAT(e, HasSubstr("leading '.'"));
  EXPECT_THAT(e, HasSubstr("'.com.domaina.*'"));
}

TEST(RoutePatternTest, ReversedFormMustEndWithDotOrStar) {
  std::string e = domainError(".com.domaina");
  EXPECT_THAT(e, HasSubstr("'.com.domaina.*'"));
  EXPECT_THAT(e, HasSubstr("'.com.domaina.'"));
}

TEST(RoutePatternTest, RejectsNonAsciiWithALabelHint) {
  EXPECT_THAT(domainError("bücher.example"), HasSubstr("xn--"));
  EXPECT_THAT(domainError(".example.bücher.*"), HasSubstr("A-labels"));
  EXPECT_EQ(domain("xn--bcher-kva.example").canonical(), ".example.xn--bcher-kva.");
}

TEST(RoutePatternTest, RejectsBadDomainPatterns) {
  EXPECT_THAT(domainError(""), HasSubstr("empty"));
  EXPECT_THAT(domainError("   "), HasSubstr("empty"));
  EXPECT_THAT(domainError("."), HasSubstr("matches no domain"));
  EXPECT_THAT(domainError(".com..a.*"), HasSubstr("empty label"));
  EXPECT_THAT(domainError("a..com"), HasSubstr("empty label"));
  EXPECT_THAT(domainError("a_b.com"), HasSubstr("'_'"));
  EXPECT_THAT(domainError("a b.com"), HasSubstr("' '"));
  EXPECT_THAT(domainError(".com.a\\b."), HasSubstr("escapes only"));
  EXPECT_THAT(domainError(std::string(64, 'a') + ".com"), HasSubstr("at most 63"));
  std::string long_name;
  for (int i = 0; i < 30; ++i) {
    long_name += "abcdefghi.";
  }
  EXPECT_THAT(domainError(long_name + "com"), HasSubstr("at most 255"));
}

TEST(RoutePatternTest, ReversedStarPatternMatchesDomainAndSubdomains) {
  RoutePattern p = domain(".com.domaina.*");
  EXPECT_TRUE(matchesDomain(p, "domaina.com"));
  EXPECT_TRUE(matchesDomain(p, "x.domaina.com"));
  EXPECT_TRUE(matchesDomain(p, "a.b.domaina.com"));
  EXPECT_FALSE(matchesDomain(p, "domainab.com"));
  EXPECT_FALSE(matchesDomain(p, "xdomaina.com"));
  EXPECT_FALSE(matchesDomain(p, "domaina.net"));
}

TEST(RoutePatternTest, ReversedDotPatternMatchesExactlyTheDomain) {
  RoutePattern p = domain(".com.domaina.");
  EXPECT_TRUE(matchesDomain(p, "domaina.com"));
  EXPECT_TRUE(matchesDomain(p, "DOMAINA.com."));
  EXPECT_FALSE(matchesDomain(p, "x.domaina.com"));
}

TEST(RoutePatternTest, StarInsideAHostNameMatchesAnyRun) {
  RoutePattern p = domain("sip*.domaina.com");  // .com.domaina.sip*.
  EXPECT_TRUE(matchesDomain(p, "sip.domaina.com"));
  EXPECT_TRUE(matchesDomain(p, "sip2.domaina.com"));
  EXPECT_TRUE(matchesDomain(p, "sip-edge.domaina.com"));
  EXPECT_FALSE(matchesDomain(p, "edge.domaina.com"));
  EXPECT_FALSE(matchesDomain(p, "domaina.com"));
  EXPECT_FALSE(p.labelPrefix());
  // `*` runs over dots too: it is "zero or more characters" (F10).
  EXPECT_TRUE(matchesDomain(domain(".com.*.sip."), "sip.a.b.com"));
  // The dot is a literal.
  EXPECT_FALSE(matchesDomain(domain(".com.a.b."), "axb.com"));
}

TEST(RoutePatternTest, StrictSubdomainPatternExcludesTheDomain) {
  RoutePattern p = domain("*.*.domaina.com");
  EXPECT_FALSE(matchesDomain(p, "domaina.com"));
  EXPECT_TRUE(matchesDomain(p, "x.domaina.com"));
}

TEST(RoutePatternTest, EscapedStarIsLiteral) {
  RoutePattern p = domain(".com.a\\*.");
  EXPECT_TRUE(p.exact());
  EXPECT_TRUE(p.matches(".com.a*."));
  EXPECT_FALSE(p.matches(".com.ab."));
}

TEST(RoutePatternTest, OpenFederationMatchesEveryDomain) {
  RoutePattern p = RoutePattern::openFederation();
  EXPECT_TRUE(matchesDomain(p, "a.test"));
  EXPECT_TRUE(matchesDomain(p, "localhost"));
}

TEST(RoutePatternTest, UserPatternDotIsOneCharacter) {
  auto p = RoutePattern::parse("1919476....", RouteType::User);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->canonical(), "1919476....");
  EXPECT_EQ(p->natural(), "1919476....");
  EXPECT_TRUE(p->matches("19194762030"));
  EXPECT_FALSE(p->matches("1919476203"));
  EXPECT_FALSE(p->matches("191947620301"));
  EXPECT_EQ(p->literalPrefix(), "1919476");
}

TEST(RoutePatternTest, UserPatternStarOnlyAtTheEnd) {
  auto p = RoutePattern::parse("1919*", RouteType::User);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->matches("1919"));
  EXPECT_TRUE(p->matches("19194762030"));
  EXPECT_FALSE(p->matches("2919"));
  auto bad = RoutePattern::parse("19*19", RouteType::User);
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().detail, HasSubstr("only at the end"));
}

TEST(RoutePatternTest, UserPatternEscapesAndCase) {
  auto p = RoutePattern::parse("a\\.b\\*", RouteType::User);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->exact());
  EXPECT_TRUE(p->matches("a.b*"));
  EXPECT_FALSE(p->matches("axb*"));
  auto alice = RoutePattern::parse("Alice", RouteType::User);
  ASSERT_TRUE(alice.has_value());
  EXPECT_FALSE(alice->matches("alice"));  // user parts compare case-sensitively
  auto at = RoutePattern::parse("bob@b.test", RouteType::User);
  ASSERT_FALSE(at.has_value());
  EXPECT_THAT(at.error().detail, HasSubstr("domain route"));
  EXPECT_FALSE(RoutePattern::parse("a b", RouteType::User).has_value());
  EXPECT_FALSE(RoutePattern::parse("a\\b", RouteType::User).has_value());
}

}  // namespace
}  // namespace herald::fed

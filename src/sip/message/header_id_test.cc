#include "sip/message/header_id.h"

#include <gtest/gtest.h>

namespace herald::sip {
namespace {

TEST(HeaderIdTest, FindsFullNamesCaseInsensitively) {
  EXPECT_EQ(headerIdFromName("Via"), HeaderId::Via);
  EXPECT_EQ(headerIdFromName("MaX-fOrWaRdS"), HeaderId::MaxForwards);
  EXPECT_EQ(headerIdFromName("call-id"), HeaderId::CallId);
  EXPECT_EQ(headerIdFromName("WWW-AUTHENTICATE"), HeaderId::WwwAuthenticate);
  EXPECT_EQ(headerIdFromName("sip-etag"), HeaderId::SipETag);
}

TEST(HeaderIdTest, FindsCompactForms) {
  EXPECT_EQ(headerIdFromName("v"), HeaderId::Via);
  EXPECT_EQ(headerIdFromName("V"), HeaderId::Via);
  EXPECT_EQ(headerIdFromName("i"), HeaderId::CallId);
  EXPECT_EQ(headerIdFromName("m"), HeaderId::Contact);
  EXPECT_EQ(headerIdFromName("l"), HeaderId::ContentLength);
  EXPECT_EQ(headerIdFromName("c"), HeaderId::ContentType);
  EXPECT_EQ(headerIdFromName("f"), HeaderId::From);
  EXPECT_EQ(headerIdFromName("t"), HeaderId::To);
  EXPECT_EQ(headerIdFromName("k"), HeaderId::Supported);
  EXPECT_EQ(headerIdFromName("o"), HeaderId::Event);
  EXPECT_EQ(headerIdFromName("u"), HeaderId::AllowEvents);
  EXPECT_EQ(headerIdFromName("s"), HeaderId::Subject);
  EXPECT_EQ(headerIdFromName("e"), HeaderId::ContentEncoding);
  EXPECT_EQ(headerIdFromName("q"), HeaderId::Unknown);
}

TEST(HeaderIdTest, UnknownNamesStayUnknown) {
  EXPECT_EQ(headerIdFromName("C%6Fntact"), HeaderId::Unknown);
  EXPECT_EQ(headerIdFromName("NewFangledHeader"), HeaderId::Unknown);
  EXPECT_EQ(headerIdFromName(""), HeaderId::Unknown);
  EXPECT_EQ(headerIdFromName("Vias"), HeaderId::Unknown);
}

TEST(HeaderIdTest, EveryNameRoundTrips) {
  for (int i = 1; i < kHeaderIdCount; ++i) {
    auto id = static_cast<HeaderId>(i);
    EXPECT_EQ(headerIdFromName(headerName(id)), id) << headerName(id);
    if (char c = headerCompactForm(id)) {
      EXPECT_EQ(headerIdFromName(std::string_view(&c, 1)), id);
    }
  }
}

TEST(HeaderIdTest, ListAndSingletonFlags) {
  EXPECT_TRUE(isListHeader(HeaderId::Via));
  EXPECT_TRUE(isListHeader(HeaderId::Contact));
  EXPECT_FALSE(isListHeader(HeaderId::WwwAuthenticate));
  EXPECT_FALSE(isListHeader(HeaderId::Unknown));
  EXPECT_TRUE(isSingletonHeader(HeaderId::CSeq));
  EXPECT_FALSE(isSingletonHeader(HeaderId::Via));
}

}  // namespace
}  // namespace herald::sip

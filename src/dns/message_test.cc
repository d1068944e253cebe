#include "dns/internal/message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::dns::detail {
namespace {

// A DNS message built by hand (RFC 1035 §4.1).
class Packet {
 public:
  Packet(uint16_t rcode, uint16_t an, uint16_t ns) {
    u16(0x1234);
    u16(static_cast<uint16_t>(0x8180 | rcode));
    u16(1);
    u16(an);
    u16(ns);
    u16(0);
  }
  void u16(uint16_t v) {
    bytes.push_back(static_cast<unsigned char>(v >> 8));
    bytes.push_back(static_cast<unsigned char>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void name(const std::string& dotted) {
    size_t start = 0;
    while (start < dotted.size()) {
      size_t dot = dotted.find('.', start);
      if (dot == std::string::npos) dot = dotted.size();
      bytes.push_back(static_cast<unsigned char>(dot - start));
      bytes.insert(bytes.end(), dotted.begin() + static_cast<long>(start),
                   dotted.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    bytes.push_back(0);
  }
  void pointer(uint16_t offset) { u16(static_cast<uint16_t>(0xC000 | offset)); }
  void question(const std::string& n, uint16_t type) {
    name(n);
    u16(type);
    u16(1);
  }
  void rr(uint16_t type, uint32_t ttl, const std::vector<unsigned char>& rdata) {
    pointer(12);
    u16(type);
    u16(1);
    u32(ttl);
    u16(static_cast<uint16_t>(rdata.size()));
    bytes.insert(bytes.end(), rdata.begin(), rdata.end());
  }
  std::vector<unsigned char> bytes;
};

std::vector<unsigned char> soaRdata(uint32_t minimum) {
  Packet p(0, 0, 0);
  p.bytes.clear();
  p.name("ns.test");
  p.pointer(12);
  for (uint32_t v : {1u, 3600u, 600u, 86400u}) p.u32(v);
  p.u32(minimum);
  return p.bytes;
}

TEST(MessageScanTest, TtlsOfTheAskedTypeInOrder) {
  Packet p(0, 3, 0);
  p.question("_sip._tcp.b.test", 33);
  std::vector<unsigned char> srv = {0, 10, 0, 30, 0x13, 0xC5, 0xC0, 12};
  p.rr(33, 120, srv);
  p.rr(5, 999, {0xC0, 12});  // a CNAME in between is not counted
  p.rr(33, 0x80000000u, srv);  // RFC 2181 §8: read as 0
  auto scan = scanMessage(p.bytes.data(), p.bytes.size(), 33);
  ASSERT_TRUE(scan);
  EXPECT_EQ(scan->rcode, 0);
  EXPECT_EQ(scan->answer_ttls, (std::vector<uint32_t>{120, 0}));
  EXPECT_FALSE(scan->negative_ttl);
}

TEST(MessageScanTest, NegativeTtlIsTheLowerOfSoaTtlAndMinimum) {
  Packet p(3, 0, 1);
  p.question("nope.test", 1);
  p.rr(6, 3600, soaRdata(30));
  auto scan = scanMessage(p.bytes.data(), p.bytes.size(), 1);
  ASSERT_TRUE(scan);
  EXPECT_EQ(scan->rcode, 3);
  EXPECT_EQ(scan->negative_ttl, 30u);

  Packet q(0, 0, 1);
  q.question("b.test", 28);
  q.rr(6, 20, soaRdata(300));
  scan = scanMessage(q.bytes.data(), q.bytes.size(), 28);
  ASSERT_TRUE(scan);
  EXPECT_EQ(scan->negative_ttl, 20u);
}

TEST(MessageScanTest, TruncatedOrMalformedIsRejected) {
  Packet p(0, 1, 0);
  p.question("b.test", 33);
  p.rr(33, 60, {0, 10, 0, 30, 0x13, 0xC5, 0xC0, 12});
  for (size_t cut = 0; cut < p.bytes.size(); ++cut) {
    EXPECT_FALSE(scanMessage(p.bytes.data(), cut, 33)) << cut;
  }
  EXPECT_TRUE(scanMessage(p.bytes.data(), p.bytes.size(), 33));
  std::vector<unsigned char> bad = p.bytes;
  bad[12] = 0x80;  // a label length with the reserved 10 bits
  EXPECT_FALSE(scanMessage(bad.data(), bad.size(), 33));
  EXPECT_FALSE(scanMessage(nullptr, 0, 33));
}

}  // namespace
}  // namespace herald::dns::detail

#include "dns/internal/message.h"

#include <algorithm>

namespace herald::dns::detail {
namespace {

constexpr uint16_t kTypeSoa = 6;

class Reader {
 public:
  Reader(const unsigned char* data, size_t size) : data_(data), size_(size) {}

  bool u16(uint16_t* v) {
    if (size_ - pos_ < 2) return false;
    *v = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t* v) {
    uint16_t hi;
    uint16_t lo;
    if (!u16(&hi) || !u16(&lo)) return false;
    *v = static_cast<uint32_t>(hi) << 16 | lo;
    return true;
  }
  bool skip(size_t n) {
    if (size_ - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  // RFC 1035 §4.1.4: labels up to a zero length or a compression pointer. The name itself is
  // not needed, so pointers are not followed.
  bool skipName() {
    for (;;) {
      if (pos_ >= size_) return false;
      unsigned char len = data_[pos_];
      if ((len & 0xC0) == 0xC0) return skip(2);
      if ((len & 0xC0) != 0) return false;
      if (!skip(1u + len)) return false;
      if (len == 0) return true;
    }
  }
  size_t pos() const { return pos_; }
  const unsigned char* at(size_t pos) const { return data_ + pos; }

 private:
  const unsigned char* data_;
  size_t size_;
  size_t pos_ = 0;
};

// RFC 2181 §8: a TTL with the top bit set is read as 0.
uint32_t saneTtl(uint32_t ttl) { return ttl > 0x7FFFFFFFu ? 0 : ttl; }

}  // namespace

std::optional<MessageScan> scanMessage(const unsigned char* data, size_t size, uint16_t type) {
  if (data == nullptr) return std::nullopt;
  Reader r(data, size);
  uint16_t id;
  uint16_t flags;
  uint16_t qdcount;
  uint16_t ancount;
  uint16_t nscount;
  uint16_t arcount;
  if (!r.u16(&id) || !r.u16(&flags) || !r.u16(&qdcount) || !r.u16(&ancount) ||
      !r.u16(&nscount) || !r.u16(&arcount)) {
    return std::nullopt;
  }
  MessageScan scan;
  scan.rcode = flags & 0x0F;
  for (uint16_t i = 0; i < qdcount; ++i) {
    if (!r.skipName() || !r.skip(4)) return std::nullopt;
  }
  for (uint32_t i = 0; i < static_cast<uint32_t>(ancount) + nscount; ++i) {
    uint16_t rtype;
    uint16_t rclass;
    uint32_t ttl;
    uint16_t rdlength;
    if (!r.skipName() || !r.u16(&rtype) || !r.u16(&rclass) || !r.u32(&ttl) || !r.u16(&rdlength)) {
      return std::nullopt;
    }
    size_t rdata = r.pos();
    if (!r.skip(rdlength)) return std::nullopt;
    ttl = saneTtl(ttl);
    if (i < ancount) {
      if (rtype == type) scan.answer_ttls.push_back(ttl);
    } else if (rtype == kTypeSoa && !scan.negative_ttl && rdlength >= 22) {
      // MNAME and RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM: MINIMUM is the last 4 bytes.
      const unsigned char* m = r.at(rdata + rdlength - 4);
      uint32_t minimum = saneTtl(static_cast<uint32_t>(m[0]) << 24 |
                                 static_cast<uint32_t>(m[1]) << 16 |
                                 static_cast<uint32_t>(m[2]) << 8 | m[3]);
      scan.negative_ttl = std::min(ttl, minimum);
    }
  }
  return scan;
}

}  // namespace herald::dns::detail

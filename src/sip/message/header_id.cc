#include "sip/message/header_id.h"

#include <array>

#include "sip/message/chars.h"

namespace herald::sip {
namespace {

enum Flags : uint8_t { kNone = 0, kList = 1, kSingleton = 2 };

struct HeaderInfo {
  HeaderId id;
  std::string_view name;
  char compact;
  uint8_t flags;
};

// Order matches HeaderId.
constexpr std::array<HeaderInfo, kHeaderIdCount> kHeaders = {{
    {HeaderId::Unknown, "", 0, kNone},
    {HeaderId::Accept, "Accept", 0, kList},
    {HeaderId::AcceptContact, "Accept-Contact", 'a', kList},
    {HeaderId::AcceptEncoding, "Accept-Encoding", 0, kList},
    {HeaderId::AcceptLanguage, "Accept-Language", 0, kList},
    {HeaderId::AlertInfo, "Alert-Info", 0, kList},
    {HeaderId::Allow, "Allow", 0, kList},
    {HeaderId::AllowEvents, "Allow-Events", 'u', kList},
    {HeaderId::AuthenticationInfo, "Authentication-Info", 0, kNone},
    {HeaderId::Authorization, "Authorization", 0, kNone},
    {HeaderId::CallId, "Call-ID", 'i', kSingleton},
    {HeaderId::CallInfo, "Call-Info", 0, kList},
    {HeaderId::Contact, "Contact", 'm', kList},
    {HeaderId::ContentDisposition, "Content-Disposition", 0, kSingleton},
    {HeaderId::ContentEncoding, "Content-Encoding", 'e', kList},
    {HeaderId::ContentLanguage, "Content-Language", 0, kList},
    {HeaderId::ContentLength, "Content-Length", 'l', kSingleton},
    {HeaderId::ContentType, "Content-Type", 'c', kSingleton},
    {HeaderId::CSeq, "CSeq", 0, kSingleton},
    {HeaderId::Date, "Date", 0, kSingleton},
    {HeaderId::ErrorInfo, "Error-Info", 0, kList},
    {HeaderId::Event, "Event", 'o', kSingleton},
    {HeaderId::Expires, "Expires", 0, kSingleton},
    {HeaderId::From, "From", 'f', kSingleton},
    {HeaderId::Identity, "Identity", 'y', kNone},
    {HeaderId::IdentityInfo, "Identity-Info", 'n', kNone},
    {HeaderId::InReplyTo, "In-Reply-To", 0, kList},
    {HeaderId::MaxForwards, "Max-Forwards", 0, kSingleton},
    {HeaderId::MimeVersion, "MIME-Version", 0, kSingleton},
    {HeaderId::MinExpires, "Min-Expires", 0, kSingleton},
    {HeaderId::MinSE, "Min-SE", 0, kSingleton},
    {HeaderId::Organization, "Organization", 0, kSingleton},
    {HeaderId::PAssertedIdentity, "P-Asserted-Identity", 0, kList},
    {HeaderId::Path, "Path", 0, kList},
    {HeaderId::PPreferredIdentity, "P-Preferred-Identity", 0, kList},
    {HeaderId::Priority, "Priority", 0, kSingleton},
    {HeaderId::ProxyAuthenticate, "Proxy-Authenticate", 0, kNone},
    {HeaderId::ProxyAuthorization, "Proxy-Authorization", 0, kNone},
    {HeaderId::ProxyRequire, "Proxy-Require", 0, kList},
    {HeaderId::RAck, "RAck", 0, kSingleton},
    {HeaderId::Reason, "Reason", 0, kList},
    {HeaderId::RecordRoute, "Record-Route", 0, kList},
    {HeaderId::ReferredBy, "Referred-By", 'b', kSingleton},
    {HeaderId::ReferTo, "Refer-To", 'r', kSingleton},
    {HeaderId::RejectContact, "Reject-Contact", 'j', kList},
    {HeaderId::ReplyTo, "Reply-To", 0, kSingleton},
    {HeaderId::RequestDisposition, "Request-Disposition", 'd', kList},
    {HeaderId::Require, "Require", 0, kList},
    {HeaderId::RetryAfter, "Retry-After", 0, kSingleton},
    {HeaderId::Route, "Route", 0, kList},
    {HeaderId::RSeq, "RSeq", 0, kSingleton},
    {HeaderId::Server, "Server", 0, kNone},
    {HeaderId::ServiceRoute, "Service-Route", 0, kList},
    {HeaderId::SessionExpires, "Session-Expires", 'x', kSingleton},
    {HeaderId::SipETag, "SIP-ETag", 0, kSingleton},
    {HeaderId::SipIfMatch, "SIP-If-Match", 0, kSingleton},
    {HeaderId::Subject, "Subject", 's', kNone},
    {HeaderId::SubscriptionState, "Subscription-State", 0, kSingleton},
    {HeaderId::Supported, "Supported", 'k', kList},
    {HeaderId::Timestamp, "Timestamp", 0, kSingleton},
    {HeaderId::To, "To", 't', kSingleton},
    {HeaderId::Unsupported, "Unsupported", 0, kList},
    {HeaderId::UserAgent, "User-Agent", 0, kNone},
    {HeaderId::Via, "Via", 'v', kList},
    {HeaderId::Warning, "Warning", 0, kList},
    {HeaderId::WwwAuthenticate, "WWW-Authenticate", 0, kNone},
}};

constexpr bool tableInOrder() {
  for (size_t i = 0; i < kHeaders.size(); ++i) {
    if (static_cast<size_t>(kHeaders[i].id) != i) return false;
  }
  return true;
}
static_assert(tableInOrder(), "kHeaders must follow HeaderId order");

// Open-addressing hash table over lower-cased names and compact forms.
constexpr size_t kSlots = 256;

// Length, first and last character (ASCII letters folded): cheap, and enough to spread the
// known names; a probe confirms with a case-insensitive comparison.
constexpr uint32_t hashName(std::string_view name) {
  uint32_t first = static_cast<unsigned char>(name.front()) | 0x20u;
  uint32_t last = static_cast<unsigned char>(name.back()) | 0x20u;
  return (static_cast<uint32_t>(name.size()) * 131u + first) * 131u + last;
}

struct Slot {
  std::string_view name;  // empty: free
  HeaderId id = HeaderId::Unknown;
};

constexpr std::array<Slot, kSlots> buildSlots() {
  std::array<Slot, kSlots> slots{};
  auto insert = [&slots](std::string_view name, HeaderId id) {
    size_t i = hashName(name) % kSlots;
    while (!slots[i].name.empty()) {
      i = (i + 1) % kSlots;
    }
    slots[i] = Slot{name, id};
  };
  for (size_t i = 1; i < kHeaders.size(); ++i) {
    insert(kHeaders[i].name, kHeaders[i].id);
  }
  // Compact forms are single letters; they live in a separate direct-mapped table below.
  return slots;
}

constexpr std::array<Slot, kSlots> kSlotTable = buildSlots();

constexpr std::array<HeaderId, 26> buildCompact() {
  std::array<HeaderId, 26> t{};
  for (const auto& h : kHeaders) {
    if (h.compact != 0) {
      t[h.compact - 'a'] = h.id;
    }
  }
  return t;
}

constexpr std::array<HeaderId, 26> kCompact = buildCompact();

}  // namespace

HeaderId headerIdFromName(std::string_view name) {
  if (name.size() == 1) {
    char c = chars::toLower(name[0]);
    return (c >= 'a' && c <= 'z') ? kCompact[c - 'a'] : HeaderId::Unknown;
  }
  if (name.empty()) return HeaderId::Unknown;
  size_t i = hashName(name) % kSlots;
  while (!kSlotTable[i].name.empty()) {
    if (chars::iequals(kSlotTable[i].name, name)) {
      return kSlotTable[i].id;
    }
    i = (i + 1) % kSlots;
  }
  return HeaderId::Unknown;
}

std::string_view headerName(HeaderId id) { return kHeaders[static_cast<size_t>(id)].name; }

char headerCompactForm(HeaderId id) { return kHeaders[static_cast<size_t>(id)].compact; }

bool isListHeader(HeaderId id) { return (kHeaders[static_cast<size_t>(id)].flags & kList) != 0; }

bool isSingletonHeader(HeaderId id) {
  return (kHeaders[static_cast<size_t>(id)].flags & kSingleton) != 0;
}

}  // namespace herald::sip

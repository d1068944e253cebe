#include "sip/message/sip_message.h"

#include <string>

#include "sip/message/chars.h"

namespace herald::sip {
namespace {

ParseError relabel(HeaderId id, const ParseError& e) {
  return ParseError{e.status, badHeaderReason(id), e.detail};
}

// Fills a cache slot once with parse(T&) -> ParseResult<void>.
template <class Cache, class F>
auto fill(Cache& cache, HeaderId id, F&& parse) -> ParseResult<const decltype(cache.value)*> {
  using State = typename Cache::State;
  if (cache.state == State::Unparsed) {
    ParseResult<void> r = parse(cache.value);
    if (r) {
      cache.state = State::Ok;
    } else {
      cache.state = State::Failed;
      cache.error = relabel(id, r.error());
    }
  }
  if (cache.state == State::Failed) return tl::unexpected(cache.error);
  return &cache.value;
}

tl::unexpected<ParseError> missing(HeaderId id) {
  return tl::unexpected(ParseError{400, badHeaderReason(id), "missing mandatory header"});
}

}  // namespace

std::string_view badHeaderReason(HeaderId id) {
  static const std::array<std::string, kHeaderIdCount> reasons = [] {
    std::array<std::string, kHeaderIdCount> r;
    for (int i = 0; i < kHeaderIdCount; ++i) {
      auto name = headerName(static_cast<HeaderId>(i));
      r[i] = name.empty() ? std::string("Bad Header") : "Bad " + std::string(name);
    }
    return r;
  }();
  return reasons[static_cast<size_t>(id)];
}

const HeaderField* SipMessage::find(HeaderId id) const {
  uint16_t first = first_index_[static_cast<size_t>(id)];
  return first == 0 ? nullptr : &headers_[first - 1];
}

const HeaderField* SipMessage::find(std::string_view name) const {
  HeaderId id = headerIdFromName(name);
  if (id != HeaderId::Unknown) return find(id);
  for (const HeaderField& h : headers_) {
    if (h.id == HeaderId::Unknown && chars::iequals(h.name, name)) return &h;
  }
  return nullptr;
}

size_t SipMessage::count(HeaderId id) const {
  size_t n = 0;
  forEach(id, [&n](const HeaderField&) { ++n; });
  return n;
}

ParseResult<const Uri*> SipMessage::requestUri() const {
  using State = Lazy<Uri>::State;
  if (request_uri_.state == State::Unparsed) {
    auto r = parseUri(request_line_.uri);
    if (r) {
      request_uri_.value = *r;
      request_uri_.state = State::Ok;
    } else {
      request_uri_.error = ParseError{400, "Bad Request-URI", r.error().detail};
      request_uri_.state = State::Failed;
    }
  }
  if (request_uri_.state == State::Failed) return tl::unexpected(request_uri_.error);
  return &request_uri_.value;
}

ParseResult<std::span<const Via>> SipMessage::vias() const {
  auto r = fill(vias_, HeaderId::Via, [this](std::vector<Via>& out) -> ParseResult<void> {
    return parseEach(HeaderId::Via,
                     [&](const HeaderField& h) { return parseViaList(h.value, &out); });
  });
  if (!r) return tl::unexpected(r.error());
  return std::span<const Via>(**r);
}

ParseResult<const Via*> SipMessage::topVia() const {
  auto v = vias();
  if (!v) return tl::unexpected(v.error());
  if (v->empty()) return missing(HeaderId::Via);
  return &v->front();
}

ParseResult<const NameAddr*> SipMessage::nameAddr(HeaderId id, Lazy<NameAddr>& cache) const {
  const HeaderField* h = find(id);
  if (h == nullptr) return missing(id);
  return fill(cache, id, [h](NameAddr& out) -> ParseResult<void> {
    auto r = parseNameAddr(h->value);
    if (!r) return tl::unexpected(r.error());
    out = *r;
    return {};
  });
}

ParseResult<const NameAddr*> SipMessage::from() const { return nameAddr(HeaderId::From, from_); }
ParseResult<const NameAddr*> SipMessage::to() const { return nameAddr(HeaderId::To, to_); }

ParseResult<std::string_view> SipMessage::callId() const {
  const HeaderField* h = find(HeaderId::CallId);
  if (h == nullptr) return missing(HeaderId::CallId);
  auto r = fill(call_id_, HeaderId::CallId, [h](std::string_view& out) -> ParseResult<void> {
    auto id = parseCallId(h->value);
    if (!id) return tl::unexpected(id.error());
    out = *id;
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return **r;
}

ParseResult<const CSeq*> SipMessage::cseq() const {
  const HeaderField* h = find(HeaderId::CSeq);
  if (h == nullptr) return missing(HeaderId::CSeq);
  return fill(cseq_, HeaderId::CSeq, [h](CSeq& out) -> ParseResult<void> {
    auto c = parseCSeq(h->value);
    if (!c) return tl::unexpected(c.error());
    out = *c;
    return {};
  });
}

ParseResult<std::optional<uint32_t>> SipMessage::maxForwards() const {
  const HeaderField* h = find(HeaderId::MaxForwards);
  if (h == nullptr) return std::optional<uint32_t>();
  auto r = fill(max_forwards_, HeaderId::MaxForwards,
                [h](std::optional<uint32_t>& out) -> ParseResult<void> {
                  auto v = parseDecimalValue(h->value, 255);
                  if (!v) return tl::unexpected(v.error());
                  out = *v;
                  return {};
                });
  if (!r) return tl::unexpected(r.error());
  return **r;
}

ParseResult<std::span<const Contact>> SipMessage::contacts() const {
  auto r =
      fill(contacts_, HeaderId::Contact, [this](std::vector<Contact>& out) -> ParseResult<void> {
        auto parsed = parseEach(HeaderId::Contact, [&](const HeaderField& h) {
          return parseContactList(h.value, &out);
        });
        if (!parsed) return parsed;
        if (out.size() > 1) {
          for (const Contact& c : out) {
            if (c.star) return badRequest("Bad Contact", "'*' must be the only Contact");
          }
        }
        return {};
      });
  if (!r) return tl::unexpected(r.error());
  return std::span<const Contact>(**r);
}

ParseResult<std::span<const NameAddr>> SipMessage::routeSet(
    HeaderId id, Lazy<std::vector<NameAddr>>& cache) const {
  auto r = fill(cache, id, [this, id](std::vector<NameAddr>& out) -> ParseResult<void> {
    return parseEach(id, [&](const HeaderField& h) {
      return parseNameAddrList(h.value, AddrForm::NameAddrOnly, &out);
    });
  });
  if (!r) return tl::unexpected(r.error());
  return std::span<const NameAddr>(**r);
}

ParseResult<std::span<const NameAddr>> SipMessage::routes() const {
  return routeSet(HeaderId::Route, routes_);
}

ParseResult<std::span<const NameAddr>> SipMessage::recordRoutes() const {
  return routeSet(HeaderId::RecordRoute, record_routes_);
}

ParseResult<std::optional<MediaType>> SipMessage::contentType() const {
  const HeaderField* h = find(HeaderId::ContentType);
  if (h == nullptr) return std::optional<MediaType>();
  auto r = parseMediaType(h->value);
  if (!r) return tl::unexpected(relabel(HeaderId::ContentType, r.error()));
  return std::optional<MediaType>(*r);
}

ParseResult<std::optional<uint32_t>> SipMessage::decimal(HeaderId id, uint32_t max) const {
  const HeaderField* h = find(id);
  if (h == nullptr) return std::optional<uint32_t>();
  auto r = parseDecimalValue(h->value, max);
  if (!r) return tl::unexpected(relabel(id, r.error()));
  return std::optional<uint32_t>(*r);
}

ParseResult<std::optional<uint32_t>> SipMessage::expires() const {
  return decimal(HeaderId::Expires, 0xFFFFFFFFu);
}

ParseResult<std::optional<uint32_t>> SipMessage::minExpires() const {
  return decimal(HeaderId::MinExpires, 0xFFFFFFFFu);
}

ParseResult<std::optional<Event>> SipMessage::event() const {
  const HeaderField* h = find(HeaderId::Event);
  if (h == nullptr) return std::optional<Event>();
  auto r = parseEvent(h->value);
  if (!r) return tl::unexpected(relabel(HeaderId::Event, r.error()));
  return std::optional<Event>(*r);
}

ParseResult<std::optional<SubscriptionState>> SipMessage::subscriptionState() const {
  const HeaderField* h = find(HeaderId::SubscriptionState);
  if (h == nullptr) return std::optional<SubscriptionState>();
  auto r = parseSubscriptionState(h->value);
  if (!r) return tl::unexpected(relabel(HeaderId::SubscriptionState, r.error()));
  return std::optional<SubscriptionState>(*r);
}

ParseResult<std::optional<std::string_view>> SipMessage::entityTag(HeaderId id) const {
  const HeaderField* h = find(id);
  if (h == nullptr) return std::optional<std::string_view>();
  auto r = parseEntityTag(h->value);
  if (!r) return tl::unexpected(relabel(id, r.error()));
  return std::optional<std::string_view>(*r);
}

ParseResult<std::optional<std::string_view>> SipMessage::sipETag() const {
  return entityTag(HeaderId::SipETag);
}

ParseResult<std::optional<std::string_view>> SipMessage::sipIfMatch() const {
  return entityTag(HeaderId::SipIfMatch);
}

ParseResult<std::vector<MediaType>> SipMessage::accept() const {
  std::vector<MediaType> out;
  auto result = parseEach(HeaderId::Accept,
                          [&](const HeaderField& h) { return parseMediaTypeList(h.value, &out); });
  if (!result) return tl::unexpected(relabel(HeaderId::Accept, result.error()));
  return out;
}

ParseResult<std::vector<std::string_view>> SipMessage::tokenList(HeaderId id) const {
  std::vector<std::string_view> out;
  auto result = parseEach(id, [&](const HeaderField& h) { return parseTokenList(h.value, &out); });
  if (!result) return tl::unexpected(relabel(id, result.error()));
  return out;
}

ParseResult<std::vector<AuthHeader>> SipMessage::authHeaders(HeaderId id) const {
  std::vector<AuthHeader> out;
  auto result = parseEach(id, [&](const HeaderField& h) -> ParseResult<void> {
    auto a = parseAuthHeader(h.value);
    if (!a) return tl::unexpected(a.error());
    out.push_back(*a);
    return {};
  });
  if (!result) return tl::unexpected(relabel(id, result.error()));
  return out;
}

ParseResult<std::vector<NameAddr>> SipMessage::nameAddrList(HeaderId id) const {
  std::vector<NameAddr> out;
  auto result = parseEach(id, [&](const HeaderField& h) {
    return parseNameAddrList(h.value, AddrForm::NameAddrOrAddrSpec, &out);
  });
  if (!result) return tl::unexpected(relabel(id, result.error()));
  return out;
}

}  // namespace herald::sip

#include "sip/parser/message_parser.h"

#include "sip/message/chars.h"

namespace herald::sip {
namespace {

constexpr std::string_view kSipVersion = "SIP/2.0";

tl::unexpected<ParseError> tooLarge(std::string_view detail) {
  return parseError(513, "Message Too Large", detail);
}

// Finds the end of the line starting at pos: *content_end is the first terminator byte, the
// return value the first byte of the next line. npos when no LF follows.
size_t lineEnd(std::string_view s, size_t pos, size_t* content_end) {
  size_t lf = s.find('\n', pos);
  if (lf == std::string_view::npos) return lf;
  *content_end = (lf > pos && s[lf - 1] == '\r') ? lf - 1 : lf;
  return lf + 1;
}

// "SIP/" 1*DIGIT "." 1*DIGIT, case-insensitive.
bool isVersionSyntax(std::string_view v) {
  if (!chars::istartsWith(v, "SIP/")) return false;
  v.remove_prefix(4);
  size_t dot = v.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == v.size()) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i != dot && !chars::isDigit(v[i])) return false;
  }
  return true;
}

ParseResult<void> checkVersion(std::string_view version, std::string_view what) {
  if (!isVersionSyntax(version)) return badRequest("Bad Request-Line", what);
  if (!chars::iequals(version, kSipVersion)) {
    return parseError(505, "Version Not Supported", "only SIP/2.0 is supported");
  }
  return {};
}

bool hasControl(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return true;
  }
  return false;
}

// Request-Line = Method SP Request-URI SP SIP-Version, single spaces (RFC 4475 lwsstart).
ParseResult<RequestLine> parseRequestLine(std::string_view line) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return badRequest("Bad Request-Line", "expected 3 parts");
  std::string_view method = line.substr(0, sp1);
  std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !chars::allOf(method, chars::kToken, false)) {
    return badRequest("Bad Request-Line", "bad method");
  }
  if (uri.empty()) return badRequest("Bad Request-Line", "extra spaces in request line");
  if (hasControl(uri)) return badRequest("Bad Request-Line", "control character in Request-URI");
  if (version.find(' ') != std::string_view::npos) {
    return badRequest("Bad Request-Line", "extra spaces in request line");
  }
  auto v = checkVersion(version, "bad version");
  if (!v) return tl::unexpected(v.error());
  return RequestLine{methodFromName(method), method, uri, version};
}

}  // namespace

ParseResult<SipMessage> MessageParser::parseDatagram(Buffer&& buffer, const ParserLimits& limits) {
  return parse(std::move(buffer), Mode::Datagram, limits);
}

ParseResult<SipMessage> MessageParser::parseStream(Buffer&& buffer, const ParserLimits& limits) {
  return parse(std::move(buffer), Mode::Stream, limits);
}

ParseResult<SipMessage> MessageParser::parseForErrorReply(Buffer&& buffer,
                                                          const ParserLimits& limits) {
  return parse(std::move(buffer), Mode::Salvage, limits);
}

ParseResult<void> MessageParser::parseInto(SipMessage& msg, Buffer&& buffer, Mode mode,
                                           const ParserLimits& limits) {
  const std::string_view s = buffer.view();
  if (s.size() > limits.max_message_bytes || s.size() > 0xFFFFFFF0u) {
    return tooLarge("message larger than the configured limit");
  }
  size_t pos = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  while (pos < s.size() && (s[pos] == '\r' || s[pos] == '\n')) ++pos;
  if (pos == s.size()) return badRequest("Bad Request", "empty message");
  msg.begin_ = static_cast<uint32_t>(pos);

  // Start line.
  size_t line_end = 0;
  size_t next = lineEnd(s, pos, &line_end);
  if (next == std::string_view::npos)
    return badRequest("Bad Request", "no line end after start line");
  std::string_view line = s.substr(pos, line_end - pos);
  if (line.size() > limits.max_line_bytes) return tooLarge("start line too long");
  msg.start_line_size_ = static_cast<uint32_t>(line.size());
  if (chars::istartsWith(line, "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    msg.is_request_ = false;
    size_t sp = line.find(' ');
    std::string_view version = line.substr(0, sp);
    if (!isVersionSyntax(version)) return badRequest("Bad Status-Line", "bad version");
    if (!chars::iequals(version, kSipVersion)) {
      return parseError(505, "Version Not Supported", "only SIP/2.0 is supported");
    }
    if (sp == std::string_view::npos) return badRequest("Bad Status-Line", "missing status code");
    std::string_view rest = line.substr(sp + 1);
    std::string_view code = rest.substr(0, rest.find(' '));
    if (code.size() != 3 || !chars::isDigit(code[0]) || !chars::isDigit(code[1]) ||
        !chars::isDigit(code[2]) || code[0] < '1' || code[0] > '6') {
      return badRequest("Bad Status-Line", "status code must be 3 digits, 100 to 699");
    }
    std::string_view reason = code.size() < rest.size() ? rest.substr(4) : std::string_view();
    if (hasControl(reason)) return badRequest("Bad Status-Line", "control character in reason");
    msg.status_line_ = StatusLine{
        static_cast<uint16_t>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0')),
        reason, version};
  } else {
    msg.is_request_ = true;
    auto rl = parseRequestLine(line);
    if (rl) {
      msg.request_line_ = *rl;
    } else if (mode == Mode::Salvage) {
      // Enough to address an error response; the method is the first word, if any.
      std::string_view method = line.substr(0, line.find(' '));
      msg.request_line_ = RequestLine{Method::Unknown, method, {}, {}};
    } else {
      return tl::unexpected(rl.error());
    }
  }

  // Header lines, up to the empty line.
  msg.headers_.reserve(16);
  pos = next;
  bool terminated = false;
  while (pos < s.size()) {
    size_t content_end = 0;
    next = lineEnd(s, pos, &content_end);
    if (next == std::string_view::npos) break;
    if (content_end == pos) {  // empty line
      msg.headers_end_ = static_cast<uint32_t>(pos);
      pos = next;
      terminated = true;
      break;
    }
    if (chars::isWsp(s[pos])) return badRequest("Bad Header", "line fold before the first header");
    // field-name *WSP ":" SWS value, continued on lines starting with SP/HTAB.
    size_t name_end = pos;
    while (name_end < content_end && chars::isToken(s[name_end])) ++name_end;
    std::string_view name = s.substr(pos, name_end - pos);
    size_t colon = name_end;
    while (colon < content_end && chars::isWsp(s[colon])) ++colon;
    if (name.empty() || colon >= content_end || s[colon] != ':') {
      return badRequest("Bad Header", "malformed header line");
    }
    size_t value_start = colon + 1;
    size_t value_end = content_end;
    // Continuation lines.
    while (next < s.size() && chars::isWsp(s[next])) {
      size_t cont_end = 0;
      size_t after = lineEnd(s, next, &cont_end);
      if (after == std::string_view::npos) {
        next = std::string_view::npos;
        break;
      }
      value_end = cont_end;
      next = after;
    }
    if (next == std::string_view::npos) break;
    if (next - pos > limits.max_line_bytes) return tooLarge("header line too long");
    // Leading SWS (which may include a fold) and trailing WSP are not part of the value.
    while (value_start < value_end &&
           (chars::isWsp(s[value_start]) || s[value_start] == '\r' || s[value_start] == '\n')) {
      ++value_start;
    }
    while (value_end > value_start && chars::isWsp(s[value_end - 1])) --value_end;
    std::string_view value = s.substr(value_start, value_end - value_start);
    // A CR may only start a line fold.
    for (size_t cr = value.find('\r'); cr != std::string_view::npos;
         cr = value.find('\r', cr + 1)) {
      if (cr + 1 >= value.size() || value[cr + 1] != '\n') {
        return badRequest("Bad Header", "bare CR in header");
      }
    }
    if (msg.headers_.size() >= limits.max_header_count) return tooLarge("too many header lines");
    HeaderId id = headerIdFromName(name);
    if (msg.first_index_[static_cast<size_t>(id)] == 0) {
      msg.first_index_[static_cast<size_t>(id)] = static_cast<uint16_t>(msg.headers_.size() + 1);
    }
    msg.headers_.push_back(HeaderField{id, name, value, static_cast<uint32_t>(pos),
                                       static_cast<uint32_t>(next - pos)});
    pos = next;
  }
  if (!terminated) {
    if (mode != Mode::Salvage) {
      return badRequest("Bad Request", "headers not terminated by an empty line");
    }
    msg.headers_end_ = static_cast<uint32_t>(pos);
  }
  msg.body_offset_ = static_cast<uint32_t>(pos);

  // Content-Length: repeated values must agree (RFC 4475 mcl01).
  std::optional<uint32_t> content_length;
  auto cl_ok =
      msg.parseEach(HeaderId::ContentLength, [&](const HeaderField& h) -> ParseResult<void> {
        auto v = parseDecimalValue(h.value, 0xFFFFFFFFu);
        if (!v) return badRequest("Bad Content-Length", "not a non-negative number");
        if (content_length && *content_length != *v) {
          return badRequest("Bad Content-Length", "conflicting Content-Length values");
        }
        content_length = *v;
        return {};
      });
  if (!cl_ok && mode != Mode::Salvage) return tl::unexpected(cl_ok.error());
  if (mode == Mode::Salvage) content_length.reset();
  msg.content_length_ = content_length;

  size_t available = s.size() - pos;
  if (content_length) {
    if (*content_length > limits.max_message_bytes) {
      return parseError(413, "Request Entity Too Large", "body larger than the configured limit");
    }
    if (*content_length > available) {
      return badRequest("Bad Content-Length", "Content-Length larger than the message");
    }
    msg.end_ = static_cast<uint32_t>(pos + *content_length);
  } else {
    if (mode == Mode::Stream) {
      return badRequest("Missing Content-Length", "required on stream transports");
    }
    msg.end_ = static_cast<uint32_t>(s.size());
  }
  msg.buffer_ = std::move(buffer);
  return {};
}

ParseResult<SipMessage> MessageParser::parse(Buffer&& buffer, Mode mode,
                                             const ParserLimits& limits) {
  SipMessage msg;
  auto r = parseInto(msg, std::move(buffer), mode, limits);
  if (!r) return tl::unexpected(r.error());
  return msg;
}

ParseResult<std::unique_ptr<SipMessage>> MessageParser::parsePtr(Buffer&& buffer, Mode mode,
                                                                 const ParserLimits& limits) {
  std::unique_ptr<SipMessage> msg(new SipMessage());
  auto r = parseInto(*msg, std::move(buffer), mode, limits);
  if (!r) return tl::unexpected(r.error());
  return msg;
}

ParseResult<std::unique_ptr<SipMessage>> MessageParser::parseDatagramPtr(
    Buffer&& buffer, const ParserLimits& limits) {
  return parsePtr(std::move(buffer), Mode::Datagram, limits);
}

ParseResult<std::unique_ptr<SipMessage>> MessageParser::parseStreamPtr(Buffer&& buffer,
                                                                       const ParserLimits& limits) {
  return parsePtr(std::move(buffer), Mode::Stream, limits);
}

namespace {

ParseResult<void> checkSingletons(const SipMessage& msg) {
  std::array<uint8_t, kHeaderIdCount> seen{};
  for (const HeaderField& h : msg.headers()) {
    if (!isSingletonHeader(h.id) || h.id == HeaderId::ContentLength) continue;
    if (seen[static_cast<size_t>(h.id)]++ != 0) {
      return tl::unexpected(
          ParseError{400, badHeaderReason(h.id), "header appears more than once"});
    }
  }
  return {};
}

template <class T>
ParseResult<void> check(const ParseResult<T>& r) {
  if (!r) return tl::unexpected(r.error());
  return {};
}

}  // namespace

ParseResult<void> validate(const SipMessage& msg, Validation level) {
  if (msg.isRequest()) {
    auto uri = msg.requestUri();
    if (!uri) return tl::unexpected(uri.error());
    // RFC 3261 §19.1.1: headers are not allowed in a Request-URI (RFC 4475 escruri).
    if ((*uri)->has_headers) return badRequest("Bad Request-URI", "headers not allowed");
  }
  if (auto r = checkSingletons(msg); !r) return r;
  if (auto r = check(msg.topVia()); !r) return r;
  if (auto r = check(msg.from()); !r) return r;
  if (auto r = check(msg.to()); !r) return r;
  if (auto r = check(msg.callId()); !r) return r;
  auto cseq = msg.cseq();
  if (!cseq) return tl::unexpected(cseq.error());
  if (auto r = check(msg.maxForwards()); !r) return r;
  if (msg.isRequest() && (*cseq)->method_text != msg.requestLine().method_text) {
    // RFC 4475 mismatch02: an unknown method is better answered 501.
    if (msg.method() == Method::Unknown) {
      return parseError(501, "Not Implemented", "unknown method, CSeq method differs");
    }
    return badRequest("Bad CSeq", "CSeq method does not match the request method");
  }
  if (level == Validation::Basic) return {};

  if (auto r = check(msg.contacts()); !r) return r;
  if (auto r = check(msg.routes()); !r) return r;
  if (auto r = check(msg.recordRoutes()); !r) return r;
  if (auto r = check(msg.contentType()); !r) return r;
  if (auto r = check(msg.expires()); !r) return r;
  if (auto r = check(msg.minExpires()); !r) return r;
  if (auto r = check(msg.event()); !r) return r;
  if (auto r = check(msg.subscriptionState()); !r) return r;
  if (auto r = check(msg.sipETag()); !r) return r;
  if (auto r = check(msg.sipIfMatch()); !r) return r;
  if (auto r = check(msg.accept()); !r) return r;
  for (HeaderId id : {HeaderId::Allow, HeaderId::Supported, HeaderId::Require,
                      HeaderId::ProxyRequire, HeaderId::Unsupported, HeaderId::AllowEvents}) {
    if (auto r = check(msg.tokenList(id)); !r) return r;
  }
  for (HeaderId id : {HeaderId::Authorization, HeaderId::ProxyAuthorization,
                      HeaderId::WwwAuthenticate, HeaderId::ProxyAuthenticate}) {
    if (auto r = check(msg.authHeaders(id)); !r) return r;
  }
  for (HeaderId id : {HeaderId::Path, HeaderId::ServiceRoute, HeaderId::PAssertedIdentity,
                      HeaderId::PPreferredIdentity, HeaderId::ReplyTo}) {
    if (auto r = check(msg.nameAddrList(id)); !r) return r;
  }
  return {};
}

}  // namespace herald::sip

#include "sip/parser/message_editor.h"

#include <algorithm>
#include <string>

#include "sip/message/chars.h"

namespace herald::sip {
namespace {

size_t offsetIn(const SipMessage& msg, std::string_view view) {
  return static_cast<size_t>(view.data() - msg.buffer().data());
}

}  // namespace

MessageEditor::MessageEditor(const SipMessage& msg) : msg_(&msg) {
  if (!msg.topViaRewrite().empty()) {
    if (auto via = msg.topVia()) {
      record(offsetIn(msg, (*via)->raw), (*via)->raw.size(), msg.topViaRewrite());
    }
  }
}

void MessageEditor::record(size_t offset, size_t remove, std::string_view text) {
  edits_.push_back(Edit{static_cast<uint32_t>(offset), static_cast<uint32_t>(remove),
                        static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(text.size()),
                        static_cast<uint32_t>(edits_.size())});
  text_.append(text);
}

uint32_t MessageEditor::firstLineOffset(HeaderId id) const {
  const HeaderField* h = msg_->find(id);
  if (h != nullptr) return h->offset;
  // No such header: the new line goes right after the start line.
  if (!msg_->headers().empty()) return msg_->headers().front().offset;
  return msg_->headersEnd();
}

void MessageEditor::setRequestUri(std::string_view uri) {
  const std::string_view current = msg_->requestLine().uri;
  record(offsetIn(*msg_, current), current.size(), uri);
}

void MessageEditor::pushVia(std::string_view via_value) {
  std::string line = "Via: ";
  line.append(via_value);
  line.append("\r\n");
  record(firstLineOffset(HeaderId::Via), 0, line);
}

void MessageEditor::removeListElement(HeaderId id, std::string_view element,
                                      const std::string_view* previous,
                                      const std::string_view* following) {
  size_t begin = offsetIn(*msg_, element);
  size_t end = begin + element.size();
  // The header line holding the element.
  const HeaderField* field = nullptr;
  msg_->forEach(id, [&](const HeaderField& h) {
    size_t vb = offsetIn(*msg_, h.value);
    if (begin >= vb && end <= vb + h.value.size()) field = &h;
  });
  if (field == nullptr) return;
  size_t value_begin = offsetIn(*msg_, field->value);
  size_t value_end = value_begin + field->value.size();
  bool prev_on_line = previous != nullptr && offsetIn(*msg_, *previous) >= value_begin &&
                      offsetIn(*msg_, *previous) < begin;
  bool next_on_line = following != nullptr && offsetIn(*msg_, *following) > begin &&
                      offsetIn(*msg_, *following) < value_end;
  if (!prev_on_line && !next_on_line) {
    record(field->offset, field->length, {});
  } else if (next_on_line) {
    // "a , b" -> "b": remove from the element to the start of the next one.
    record(begin, offsetIn(*msg_, *following) - begin, {});
  } else {
    // "a , b" -> "a": remove from the end of the previous one.
    size_t prev_end = offsetIn(*msg_, *previous) + previous->size();
    record(prev_end, end - prev_end, {});
  }
}

ParseResult<void> MessageEditor::popVia() {
  auto vias = msg_->vias();
  if (!vias) return tl::unexpected(vias.error());
  if (vias_popped_ >= vias->size()) return badRequest("Bad Via", "no Via left to remove");
  size_t i = vias_popped_++;
  const std::string_view* prev = i > 0 ? &(*vias)[i - 1].raw : nullptr;
  const std::string_view* next = i + 1 < vias->size() ? &(*vias)[i + 1].raw : nullptr;
  // A value before this one was removed already: its removal took the separator with it, so
  // treat this one as first on its line.
  if (i > 0) prev = nullptr;
  removeListElement(HeaderId::Via, (*vias)[i].raw, prev, next);
  return {};
}

ParseResult<void> MessageEditor::popRoute() {
  auto routes = msg_->routes();
  if (!routes) return tl::unexpected(routes.error());
  if (routes_popped_ >= routes->size()) return badRequest("Bad Route", "no Route left to remove");
  size_t i = routes_popped_++;
  const std::string_view* next = i + 1 < routes->size() ? &(*routes)[i + 1].raw : nullptr;
  removeListElement(HeaderId::Route, (*routes)[i].raw, nullptr, next);
  return {};
}

void MessageEditor::pushRecordRoute(std::string_view name_addr) {
  std::string line = "Record-Route: ";
  line.append(name_addr);
  line.append("\r\n");
  const HeaderField* rr = msg_->find(HeaderId::RecordRoute);
  record(rr != nullptr ? rr->offset : msg_->headersEnd(), 0, line);
}

ParseResult<void> MessageEditor::decrementMaxForwards() {
  auto mf = msg_->maxForwards();
  if (!mf) return tl::unexpected(mf.error());
  if (!*mf) {
    setMaxForwards(70);
  } else if (**mf == 0) {
    return parseError(483, "Too Many Hops", "Max-Forwards is 0");
  } else {
    setMaxForwards(**mf - 1);
  }
  return {};
}

void MessageEditor::setMaxForwards(uint32_t value) {
  const HeaderField* h = msg_->find(HeaderId::MaxForwards);
  std::string text = std::to_string(value);
  if (h != nullptr) {
    record(offsetIn(*msg_, h->value), h->value.size(), text);
  } else {
    addHeader("Max-Forwards", text);
  }
}

void MessageEditor::addHeader(std::string_view name, std::string_view value) {
  std::string line(name);
  line.append(": ");
  line.append(value);
  line.append("\r\n");
  record(msg_->headersEnd(), 0, line);
}

void MessageEditor::removeHeaders(HeaderId id) {
  msg_->forEach(id, [this](const HeaderField& h) { record(h.offset, h.length, {}); });
}

void MessageEditor::setBody(std::string_view content_type, std::string_view body) {
  body_replaced_ = true;
  body_.assign(body);
  removeHeaders(HeaderId::ContentType);
  if (!content_type.empty()) addHeader("Content-Type", content_type);
}

std::string MessageEditor::build() const {
  std::vector<Edit> edits = edits_;
  std::string text = text_;
  auto add = [&](size_t offset, size_t remove, std::string_view inserted) {
    edits.push_back(Edit{static_cast<uint32_t>(offset), static_cast<uint32_t>(remove),
                         static_cast<uint32_t>(text.size()), static_cast<uint32_t>(inserted.size()),
                         static_cast<uint32_t>(edits.size())});
    text.append(inserted);
  };
  // Content-Length follows the body: rewritten when the body changes, added when absent.
  const std::string_view body = body_replaced_ ? std::string_view(body_) : msg_->body();
  if (body_replaced_ || msg_->find(HeaderId::ContentLength) == nullptr) {
    msg_->forEach(HeaderId::ContentLength,
                  [&](const HeaderField& h) { add(h.offset, h.length, {}); });
    add(msg_->headersEnd(), 0, "Content-Length: " + std::to_string(body.size()) + "\r\n");
  }
  if (body_replaced_) add(msg_->bodyOffset(), msg_->end() - msg_->bodyOffset(), body_);

  // By position; at one position inserts come before removals, then recording order.
  std::stable_sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    if (a.offset != b.offset) return a.offset < b.offset;
    if ((a.remove == 0) != (b.remove == 0)) return a.remove == 0;
    return a.seq < b.seq;
  });
  const std::string_view buf = msg_->buffer();
  std::string out;
  out.reserve(msg_->bytes().size() + text.size() + 16);
  size_t pos = msg_->begin();
  for (const Edit& e : edits) {
    if (e.offset > pos) {
      out.append(buf.substr(pos, e.offset - pos));
      pos = e.offset;
    }
    out.append(std::string_view(text).substr(e.text_begin, e.text_len));
    // Overlapping removals (a line removed twice) remove once.
    size_t remove_end = static_cast<size_t>(e.offset) + e.remove;
    if (remove_end > pos) pos = remove_end;
  }
  if (msg_->end() > pos) out.append(buf.substr(pos, msg_->end() - pos));
  return out;
}

std::string buildResponse(const SipMessage& request, const ResponseSpec& spec) {
  std::string out;
  out.reserve(512 + spec.body.size());
  out.append("SIP/2.0 ");
  out.append(std::to_string(spec.code));
  out.push_back(' ');
  out.append(spec.reason);
  out.append("\r\n");
  const std::string_view buf = request.buffer();
  bool top_via = true;
  for (const HeaderField& h : request.headers()) {
    switch (h.id) {
      case HeaderId::Via:
        if (top_via && !request.topViaRewrite().empty()) {
          // The line of the top via-parm, with that via-parm replaced.
          auto via = request.topVia();
          if (via) {
            size_t at = offsetIn(request, (*via)->raw);
            out.append(buf.substr(h.offset, at - h.offset));
            out.append(request.topViaRewrite());
            size_t rest = at + (*via)->raw.size();
            out.append(buf.substr(rest, h.offset + h.length - rest));
            top_via = false;
            break;
          }
        }
        top_via = false;
        out.append(buf.substr(h.offset, h.length));
        break;
      case HeaderId::From:
      case HeaderId::CallId:
      case HeaderId::CSeq:
        out.append(buf.substr(h.offset, h.length));
        break;
      case HeaderId::To: {
        auto to = request.to();
        bool add_tag = spec.code > 100 && !spec.to_tag.empty() && to && (*to)->tag.empty();
        if (!add_tag) {
          out.append(buf.substr(h.offset, h.length));
        } else {
          out.append("To: ");
          out.append(h.value);
          out.append(";tag=");
          out.append(spec.to_tag);
          out.append("\r\n");
        }
        break;
      }
      default:
        break;
    }
  }
  out.append(spec.extra_headers);
  if (!spec.body.empty() && !spec.content_type.empty()) {
    out.append("Content-Type: ");
    out.append(spec.content_type);
    out.append("\r\n");
  }
  out.append("Content-Length: ");
  out.append(std::to_string(spec.body.size()));
  out.append("\r\n\r\n");
  out.append(spec.body);
  return out;
}

namespace {

// The request line and the headers an ACK or CANCEL copies from the request.
void appendAckOrCancelHead(const SipMessage& req, std::string_view method, std::string_view to,
                           std::string* out) {
  out->append(method);
  out->push_back(' ');
  out->append(req.requestLine().uri);
  out->append(" SIP/2.0\r\n");
  auto via = req.topVia();
  if (via) {
    out->append("Via: ");
    out->append((*via)->raw);
    out->append("\r\n");
  }
  out->append("Max-Forwards: 70\r\n");
  const std::string_view buf = req.buffer();
  for (const HeaderField& h : req.headers()) {
    if (h.id == HeaderId::From || h.id == HeaderId::CallId || h.id == HeaderId::Route) {
      out->append(buf.substr(h.offset, h.length));
    }
  }
  out->append("To: ");
  out->append(to);
  out->append("\r\nCSeq: ");
  auto cseq = req.cseq();
  out->append(std::to_string(cseq ? (*cseq)->number : 0));
  out->push_back(' ');
  out->append(method);
  out->append("\r\nContent-Length: 0\r\n\r\n");
}

std::string_view toValue(const SipMessage& msg) {
  const HeaderField* to = msg.find(HeaderId::To);
  return to != nullptr ? to->value : std::string_view();
}

}  // namespace

std::string buildAckForNon2xx(const SipMessage& invite, const SipMessage& response) {
  std::string out;
  out.reserve(invite.bytes().size());
  appendAckOrCancelHead(invite, "ACK", toValue(response), &out);
  return out;
}

std::string buildCancel(const SipMessage& request) {
  std::string out;
  out.reserve(request.bytes().size());
  appendAckOrCancelHead(request, "CANCEL", toValue(request), &out);
  return out;
}

bool annotateReceivedFrom(SipMessage& request, const Endpoint& source) {
  auto top = request.topVia();
  if (!top) return false;
  const Via& via = **top;
  const bool set_rport = via.rport_requested && !via.rport.has_value();
  bool add_received = set_rport;
  if (!add_received) {
    // A name, or an address other than the one the packet came from.
    auto sent_by = via.host_kind == HostKind::IPv4 || via.host_kind == HostKind::IPv6
                       ? Endpoint::fromAddress(via.host, source.port())
                       : std::nullopt;
    add_received = !sent_by || !(*sent_by == source);
  }
  if (!add_received) return false;
  const std::string address = source.address();
  if (!set_rport && via.received == address) return false;  // already says so

  // sent-protocol and sent-by as written, then the parameters without the ones we set.
  std::string out(
      via.params.empty()
          ? via.raw
          : via.raw.substr(0, static_cast<size_t>(via.params.raw().data() - via.raw.data())));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  for (const Param& p : via.params) {
    if (chars::iequals(p.name, "received")) continue;
    if (set_rport && chars::iequals(p.name, "rport")) continue;
    out.push_back(';');
    out.append(p.name);
    if (p.has_value) {
      out.push_back('=');
      out.append(p.value);
    }
  }
  out.append(";received=");
  out.append(address);
  if (set_rport) {
    out.append(";rport=");
    out.append(std::to_string(source.port()));
  }
  request.setTopViaRewrite(std::move(out));
  return true;
}

}  // namespace herald::sip

#include "sip/parser/stream_framer.h"

#include <cstring>

#include "sip/message/chars.h"
#include "sip/message/header_id.h"
#include "sip/message/header_types.h"

namespace herald::sip {

std::span<char> StreamFramer::prepare(size_t n) {
  compact();
  data_.resize(committed_ + n);
  return {data_.data() + committed_, n};
}

void StreamFramer::commit(size_t n) {
  committed_ += n;
  data_.resize(committed_);
}

void StreamFramer::append(std::string_view bytes) {
  auto space = prepare(bytes.size());
  if (!bytes.empty()) std::memcpy(space.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

void StreamFramer::compact() {
  if (head_ == 0) return;
  if (head_ == committed_ || head_ > data_.size() / 2) {
    data_.erase(0, head_);
    committed_ -= head_;
    head_ = 0;
  }
}

StreamFramer::Item StreamFramer::fail(uint16_t status, std::string_view reason,
                                      std::string_view detail) {
  failed_ = true;
  error_ = ParseError{status, reason, detail};
  Item item;
  item.kind = Kind::Error;
  item.error = error_;
  return item;
}

StreamFramer::Item StreamFramer::next() {
  if (failed_) {
    Item item;
    item.kind = Kind::Error;
    item.error = error_;
    return item;
  }
  std::string_view s(data_.data() + head_, committed_ - head_);

  if (headers_len_ == 0) {
    // Between messages: RFC 5626 §3.5.1 keep-alives. A double CRLF is a ping; a lone CRLF
    // (a pong, or noise) is skipped once something else follows it.
    size_t skip = 0;
    while (skip < s.size() && (s[skip] == '\r' || s[skip] == '\n')) {
      if (s.substr(skip, 4) == "\r\n\r\n") {
        head_ += skip + 4;
        scan_from_ = 0;
        Item item;
        item.kind = Kind::Ping;
        return item;
      }
      ++skip;
    }
    if (skip == s.size()) {
      // Only line ends so far: wait to see whether they form a ping.
      if (skip >= 4) {
        head_ += skip;  // stray line ends that are not a ping
      }
      return {};
    }
    if (skip > 0) {
      head_ += skip;
      s.remove_prefix(skip);
    }

    // Look for the empty line that ends the header section.
    size_t from = scan_from_ > 3 ? scan_from_ - 3 : 0;
    size_t end = std::string_view::npos;
    size_t sep_len = 0;
    for (size_t i = from; i + 1 < s.size(); ++i) {
      if (s[i] != '\n') continue;
      if (s[i + 1] == '\n') {
        end = i + 1;
        sep_len = 1;
        break;
      }
      if (s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n') {
        end = i + 1;
        sep_len = 2;
        break;
      }
    }
    if (end == std::string_view::npos) {
      if (s.size() > limits_.max_message_bytes) {
        return fail(513, "Message Too Large", "header section larger than the limit");
      }
      scan_from_ = s.size();
      return {};
    }
    size_t headers_len = end + sep_len;

    // Find Content-Length in the header lines (after the start line).
    std::optional<uint32_t> content_length;
    size_t pos = s.find('\n') + 1;
    while (pos < end) {
      size_t lf = s.find('\n', pos);
      // The field with its continuation lines.
      size_t field_end = lf;
      while (field_end + 1 < end && chars::isWsp(s[field_end + 1])) {
        field_end = s.find('\n', field_end + 1);
      }
      std::string_view field = s.substr(pos, field_end - pos);
      if (!field.empty() && field.back() == '\r') field.remove_suffix(1);
      size_t colon = field.find(':');
      if (colon != std::string_view::npos) {
        std::string_view name = field.substr(0, colon);
        while (!name.empty() && chars::isWsp(name.back())) name.remove_suffix(1);
        if (headerIdFromName(name) == HeaderId::ContentLength) {
          auto v = parseDecimalValue(field.substr(colon + 1), 0xFFFFFFFFu);
          if (!v) return fail(400, "Bad Content-Length", "not a non-negative number");
          if (content_length && *content_length != *v) {
            return fail(400, "Bad Content-Length", "conflicting Content-Length values");
          }
          content_length = *v;
        }
      }
      pos = field_end + 1;
    }
    if (!content_length) {
      return fail(400, "Missing Content-Length", "required on stream transports");
    }
    if (headers_len + *content_length > limits_.max_message_bytes) {
      return fail(513, "Message Too Large", "message larger than the limit");
    }
    headers_len_ = headers_len;
    content_length_ = *content_length;
  }

  size_t total = headers_len_ + content_length_;
  if (s.size() < total) return {};
  Item item;
  item.kind = Kind::Message;
  item.message = Buffer::copyOf(s.substr(0, total));
  head_ += total;
  headers_len_ = 0;
  content_length_ = 0;
  scan_from_ = 0;
  return item;
}

}  // namespace herald::sip

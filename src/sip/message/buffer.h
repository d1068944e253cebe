#pragma once

// Buffer: the owned bytes of one SIP message. A SipMessage keeps its Buffer and views into it;
// moving either keeps the bytes in place.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace herald::sip {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t size) : data_(new char[size]), size_(size) {}

  static Buffer copyOf(std::string_view bytes) {
    Buffer b(bytes.size());
    if (!bytes.empty()) std::memcpy(b.data(), bytes.data(), bytes.size());
    return b;
  }

  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_.get(), size_}; }

  // Keeps the first n bytes visible (the allocation stays).
  void shrink(size_t n) {
    if (n < size_) size_ = n;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

}  // namespace herald::sip

#pragma once

// RetiredLog: what is left of transactions whose only duty is to wait out Timer J or K
// (RFC 3261 §17.2.2, §17.1.2.2): the key, the deadline and, server side, the final response
// to resend to each request retransmission.
//
//   RetiredLog log;
//   log.add(key_hash, check, now + 64 * t1, response_bytes);
//   if (const RetiredLog::Record* r = log.find(key_hash, check)) resend(r->response());
//   log.expire(now);  // first in, first out
//
// At 10,000 MESSAGE/s over UDP some 320,000 records are alive. They are written one after
// the other into 1 MiB chunks and expire from the front, so writing and expiring a record
// stays within a few cache lines of the previous one, and whole chunks are recycled. The
// index is open addressing with linear probing over 16-byte slots (key hash, position),
// deleted from by backward shift: no tombstones, so no rehash while the size stays level. It
// doubles at half full and halves below an eighth, so a burst's index is given back.
// Records must be added in deadline order for expiry to be exact; a record added out of
// order lives until those before it have expired.
//
// Not thread-safe: one per worker.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace herald::sip {

class RetiredLog {
 public:
  // One record, as stored: a header followed by the response bytes.
  struct Record {
    uint64_t key_hash;
    uint64_t check;
    TimePoint until;
    uint32_t length;  // of the response; kSkip marks the unused end of a chunk
    uint32_t reserved;
    // The bytes stored right after this header, in the same chunk.
    std::string_view response() const {
      return {reinterpret_cast<const char*>(this) + sizeof(Record), length};
    }
  };

  RetiredLog();
  ~RetiredLog();
  RetiredLog(const RetiredLog&) = delete;
  RetiredLog& operator=(const RetiredLog&) = delete;

  // Records key until `until`. A record already there under the same hashes is replaced.
  // REQUIRES: response.size() <= kMaxResponse (checked: a UDP response is below 64 KiB).
  void add(uint64_t key_hash, uint64_t check, TimePoint until, std::string_view response);
  // The record whose hashes are both these, or nullptr. Valid until the next add() or
  // expire().
  const Record* find(uint64_t key_hash, uint64_t check) const;
  // Drops the records whose deadline is at or before now, from the oldest on.
  void expire(TimePoint now);

  size_t size() const { return live_; }
  // Memory held: chunks (with spares) and the index.
  size_t bytes() const;

  static constexpr size_t kChunkBytes = size_t{1} << 20;
  static constexpr size_t kMaxResponse = kChunkBytes / 2;

 private:
  static constexpr uint32_t kSkip = UINT32_MAX;
  struct Slot {
    uint64_t key_hash = 0;
    uint64_t pos = 0;  // byte position of the record in the log; 0: empty
  };

  size_t home(uint64_t key_hash) const { return (key_hash * 0x9E3779B97F4A7C15ull) >> shift_; }
  Record* at(uint64_t pos) const;
  void insert(uint64_t key_hash, uint64_t pos);
  void erase(size_t slot);
  // Rebuilds the index with this many slots (a power of two, more than twice live_).
  void resize(size_t slots);
  void shrinkIfSparse();
  std::byte* newChunk();
  // Frees (or keeps as spares) the chunks wholly before head_.
  void releaseBeforeHead();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t live_ = 0;

  // The log: chunks_[i] holds positions [(first_chunk_ + i) * kChunkBytes, ... + kChunkBytes).
  // Positions start at one chunk, so that 0 never names a record. A record starts and ends
  // within one chunk.
  std::deque<std::unique_ptr<std::byte[]>> chunks_;
  std::vector<std::unique_ptr<std::byte[]>> spare_;
  uint64_t first_chunk_ = 1;
  uint64_t head_ = kChunkBytes;  // oldest record
  uint64_t tail_ = kChunkBytes;  // where the next record goes
};

}  // namespace herald::sip

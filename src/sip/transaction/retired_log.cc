#include "sip/transaction/retired_log.h"

#include <bit>
#include <cstring>
#include <new>

#include "common/assert.h"

namespace herald::sip {

namespace {

constexpr size_t kInitialSlots = 1024;  // power of two
constexpr size_t kMaxSpares = 2;

size_t roundUp8(size_t n) { return (n + 7) & ~size_t{7}; }

}  // namespace

RetiredLog::RetiredLog() : slots_(kInitialSlots), mask_(kInitialSlots - 1), shift_(64 - 10) {}

RetiredLog::~RetiredLog() = default;

size_t RetiredLog::bytes() const {
  return (chunks_.size() + spare_.size()) * kChunkBytes + slots_.capacity() * sizeof(Slot);
}

RetiredLog::Record* RetiredLog::at(uint64_t pos) const {
  const uint64_t chunk = pos / kChunkBytes - first_chunk_;
  return reinterpret_cast<Record*>(chunks_[chunk].get() + pos % kChunkBytes);
}

std::byte* RetiredLog::newChunk() {
  if (!spare_.empty()) {
    chunks_.push_back(std::move(spare_.back()));
    spare_.pop_back();
  } else {
    chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(kChunkBytes));
  }
  return chunks_.back().get();
}

void RetiredLog::add(uint64_t key_hash, uint64_t check, TimePoint until,
                     std::string_view response) {
  HERALD_CHECK(response.size() <= kMaxResponse);
  const size_t need = sizeof(Record) + roundUp8(response.size());
  const uint64_t end = (first_chunk_ + chunks_.size()) * kChunkBytes;  // of the last chunk
  if (tail_ + need > end) {
    // A record never spans chunks: mark the rest of this one skipped, go on in a new one.
    if (tail_ + sizeof(Record) <= end) {
      ::new (static_cast<void*>(chunks_.back().get() + tail_ % kChunkBytes))
          Record{0, 0, TimePoint(), kSkip, 0};
    }
    const bool empty = head_ == tail_;
    tail_ = end;
    if (empty) {
      head_ = tail_;
      releaseBeforeHead();
    }
    newChunk();
  }
  std::byte* place = chunks_.back().get() + tail_ % kChunkBytes;
  ::new (static_cast<void*>(place))
      Record{key_hash, check, until, static_cast<uint32_t>(response.size()), 0};
  if (!response.empty()) std::memcpy(place + sizeof(Record), response.data(), response.size());

  // Replace an older record under the same key, else take a new slot.
  for (size_t i = home(key_hash);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.pos == 0) break;
    if (s.key_hash == key_hash && at(s.pos)->check == check) {
      s.pos = tail_;
      tail_ += need;
      return;
    }
  }
  if ((live_ + 1) * 2 > slots_.size()) resize(slots_.size() * 2);
  insert(key_hash, tail_);
  ++live_;
  tail_ += need;
}

void RetiredLog::releaseBeforeHead() {
  while (!chunks_.empty() && first_chunk_ < head_ / kChunkBytes) {
    if (spare_.size() < kMaxSpares) spare_.push_back(std::move(chunks_.front()));
    chunks_.pop_front();
    ++first_chunk_;
  }
  if (chunks_.empty()) first_chunk_ = head_ / kChunkBytes;
}

void RetiredLog::insert(uint64_t key_hash, uint64_t pos) {
  size_t i = home(key_hash);
  while (slots_[i].pos != 0) i = (i + 1) & mask_;
  slots_[i] = Slot{key_hash, pos};
}

void RetiredLog::resize(size_t slots) {
  std::vector<Slot> before(slots);
  before.swap(slots_);
  mask_ = slots_.size() - 1;
  shift_ = 64 - std::countr_zero(slots_.size());
  for (const Slot& s : before) {
    if (s.pos != 0) insert(s.key_hash, s.pos);
  }
}

const RetiredLog::Record* RetiredLog::find(uint64_t key_hash, uint64_t check) const {
  for (size_t i = home(key_hash);; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.pos == 0) return nullptr;
    if (s.key_hash == key_hash) {
      const Record* r = at(s.pos);
      if (r->check == check) return r;
    }
  }
}

void RetiredLog::erase(size_t i) {
  // Backward shift (Knuth 6.4, algorithm R): pull later members of the cluster into the hole
  // unless their home lies cyclically after it.
  for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
    if (slots_[j].pos == 0) break;
    const size_t k = home(slots_[j].key_hash);
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = Slot{};
}

void RetiredLog::expire(TimePoint now) {
  while (head_ != tail_) {
    releaseBeforeHead();
    const uint64_t end = (head_ / kChunkBytes + 1) * kChunkBytes;
    if (head_ + sizeof(Record) > end || at(head_)->length == kSkip) {
      head_ = end;  // the unused end of a chunk
      continue;
    }
    const Record* r = at(head_);
    if (r->until > now) break;
    // Its slot, unless a later record under the same key took it.
    for (size_t i = home(r->key_hash);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.pos == 0) break;
      if (s.pos == head_) {
        erase(i);
        --live_;
        break;
      }
    }
    head_ += sizeof(Record) + roundUp8(r->length);
  }
  releaseBeforeHead();  // the chunk the next record goes to stays
  shrinkIfSparse();
}

void RetiredLog::shrinkIfSparse() {
  // Doubled at half full, halved (repeatedly) below an eighth: after a burst the index goes
  // back down, and a size that hovers near either edge does not resize back and forth.
  size_t slots = slots_.size();
  while (slots > kInitialSlots && live_ * 8 < slots) slots /= 2;
  if (slots != slots_.size()) resize(slots);
}

}  // namespace herald::sip

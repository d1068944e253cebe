#pragma once

// StoreWorker: the thread that owns the Store, so that SIP workers never wait on disk.
// Jobs queued while a transaction is in progress run together in the next one (group
// commit); each job runs in its own savepoint, so one failure does not undo the others.
// A job's completion runs on the store thread after COMMIT, when its change is durable; it
// usually posts the result back to the SIP worker that asked.
//
//   store_worker.submit(
//       [aor, rows](Store& s) { return s.replaceBindings(aor, rows); },
//       [w, tx](Result<void> r) { transport.post(w, [=] { reply(tx, r ? 200 : 500); }); });

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "common/result.h"
#include "store/store.h"

namespace herald::store {

class StoreWorker {
 public:
  using Job = std::function<Result<void>(Store&)>;
  using Done = std::function<void(Result<void>)>;

  explicit StoreWorker(std::unique_ptr<Store> store);
  ~StoreWorker();
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;

  void start();
  // Runs what is queued, then stops. Safe to call twice.
  void stop();

  // Any thread.
  void submit(Job job, Done done = nullptr);
  // Runs f on the store thread every `period` (e.g. watching dataVersion()).
  void setPeriodic(std::chrono::milliseconds period, std::function<void(Store&)> f);

  // Jobs committed so far (tests, metrics).
  uint64_t committed() const;

 private:
  struct Item {
    Job job;
    Done done;
  };
  void run();

  std::unique_ptr<Store> store_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool started_ = false;
  uint64_t committed_ = 0;
  std::chrono::milliseconds period_{0};
  std::function<void(Store&)> periodic_;
};

}  // namespace herald::store

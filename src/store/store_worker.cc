#include "store/store_worker.h"

#include "common/log.h"

namespace herald::store {

StoreWorker::StoreWorker(std::unique_ptr<Store> store) : store_(std::move(store)) {}

StoreWorker::~StoreWorker() { stop(); }

void StoreWorker::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void StoreWorker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !started_) {
      stopping_ = true;
      return;
    }
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StoreWorker::submit(Job job, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Item{std::move(job), std::move(done)});
  }
  cv_.notify_one();
}

void StoreWorker::setPeriodic(std::chrono::milliseconds period, std::function<void(Store&)> f) {
  std::lock_guard<std::mutex> lock(mu_);
  period_ = period;
  periodic_ = std::move(f);
}

uint64_t StoreWorker::committed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committed_;
}

void StoreWorker::run() {
  auto next_periodic = std::chrono::steady_clock::now();
  while (true) {
    std::deque<Item> batch;
    std::function<void(Store&)> periodic;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto wake =
          period_.count() > 0 ? next_periodic : std::chrono::steady_clock::time_point::max();
      cv_.wait_until(lock, wake, [&] { return stopping_ || !queue_.empty(); });
      batch.swap(queue_);
      stopping = stopping_;
      if (period_.count() > 0 && std::chrono::steady_clock::now() >= next_periodic) {
        periodic = periodic_;
        next_periodic = std::chrono::steady_clock::now() + period_;
      }
    }
    if (periodic && !stopping) periodic(*store_);
    if (!batch.empty()) {
      std::vector<Result<void>> results;
      results.reserve(batch.size());
      auto began = store_->begin();
      if (!began) {
        for (size_t i = 0; i < batch.size(); ++i) results.push_back(unexpected(began.error()));
      } else {
        for (Item& item : batch) {
          auto sp = store_->savepoint();
          Result<void> r = sp ? item.job(*store_) : Result<void>(unexpected(sp.error()));
          if (!r) {
            store_->rollbackToSavepoint();
          }
          store_->releaseSavepoint();
          results.push_back(std::move(r));
        }
        auto committed = store_->commit();
        if (!committed) {
          store_->rollback();
          HLOG_ERROR(Store, "commit failed: {}", committed.error().toString());
          for (auto& r : results) {
            if (r) r = unexpected(committed.error());
          }
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& r : results) {
          if (r) ++committed_;
        }
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].done) batch[i].done(std::move(results[i]));
      }
    }
    if (stopping) {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return;
    }
  }
}

}  // namespace herald::store

#include "server/delivery_worker.h"

#include "delivery/local.h"
#include "server/log.h"

namespace tern {

DeliveryWorker::DeliveryWorker(QueueStore* store, Directory* directory, std::string mail_root,
                               std::chrono::seconds rescan)
    : store_(store), directory_(directory), mail_root_(std::move(mail_root)), rescan_(rescan) {}

DeliveryWorker::~DeliveryWorker() { stop(); }

void DeliveryWorker::start() {
  thread_ = std::thread([this] { run(); });
}

void DeliveryWorker::enqueue(std::string id) {
  {
    std::lock_guard lock(mu_);
    if (queued_.insert(id).second) ids_.push_back(std::move(id));
  }
  cv_.notify_one();
}

void DeliveryWorker::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void DeliveryWorker::run() {
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mu_);
      if (!rescan_now_ && ids_.empty() && !stop_) {
        if (!cv_.wait_for(lock, rescan_, [&] { return stop_ || !ids_.empty(); }))
          rescan_now_ = true;
      }
      if (stop_) return;
      if (rescan_now_) {
        rescan_now_ = false;
        lock.unlock();
        auto all = store_->list();
        lock.lock();
        for (auto& q : all)
          if (queued_.insert(q).second) ids_.push_back(std::move(q));
      }
      if (ids_.empty()) continue;
      id = std::move(ids_.front());
      ids_.pop_front();
      queued_.erase(id);
    }
    deliver(id);
  }
}

void DeliveryWorker::deliver(const std::string& id) {
  auto config = directory_->config();
  auto aliases = directory_->aliases();
  LocalDeliveryEnv env;
  env.mail_root = mail_root_;
  env.is_local_domain = [&](std::string_view d) { return is_local_domain(*config, d); };
  env.aliases = aliases.get();
  env.is_mailbox = [this](const std::string& a) { return directory_->is_mailbox(a); };
  env.postmaster_domain = config->domains.empty() ? "localhost" : config->domains.front();
  LocalDeliveryResult r = deliver_local(*store_, id, env);
  if (!r.status.ok()) {
    log_warn("deliver id={} delivered={} pending_remote={} error=\"{}\" (will retry)", id,
             r.delivered, r.pending_remote, r.status.message());
    return;
  }
  if (r.delivered > 0 || r.removed)
    log_info("deliver id={} delivered={} pending_remote={} failed={}{}", id, r.delivered,
             r.pending_remote, r.failed, r.removed ? " done" : "");
}

}  // namespace tern

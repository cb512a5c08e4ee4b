// DeliveryWorker: a thread that takes committed messages from the queue to
// local Maildirs (delivery/local.h). Fed by the server after each commit,
// it also rescans the whole queue at start and every `rescan` interval, so
// nothing left behind by a crash or a failed attempt is forgotten.
//
// Thread-safe: enqueue() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "queue/store.h"
#include "server/directory.h"

namespace tern {

class DeliveryWorker {
 public:
  DeliveryWorker(QueueStore* store, Directory* directory, std::string mail_root,
                 std::chrono::seconds rescan = std::chrono::seconds(60));
  ~DeliveryWorker();

  void start();
  void enqueue(std::string id);
  // Finishes the message in hand, then stops. Idempotent.
  void stop();

 private:
  void run();
  void deliver(const std::string& id);

  QueueStore* store_;
  Directory* directory_;
  std::string mail_root_;
  std::chrono::seconds rescan_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ids_;
  std::set<std::string> queued_;  // ids_ as a set: each id waits once
  bool stop_ = false;
  bool rescan_now_ = true;
  std::thread thread_;
};

}  // namespace tern

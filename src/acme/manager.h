// The certificate manager of `tern serve` with [acme] enabled: keeps a
// certificate for the configured names in <data_dir>/acme/, issues it when
// missing, renews it two thirds into its lifetime (jittered), retries
// failures with exponential backoff (jittered), and tells the server when a
// new chain is on disk so the listeners swap to it (server.cc).
//
// Files (all 0600, written atomically, owned by the user tern runs as):
//   account.pem  the ACME account key (P-256), made once
//   key.pem      the certificate's private key (P-256), KEPT across
//                renewals so a published TLSA 3 1 1 record stays valid
//   key.next.pem a key staged by `tern acme rollkey`: the next issuance
//                uses it, and it then replaces key.pem
//   chain.pem    the certificate chain, leaf first
//
// Runs its own thread (the ACME flow blocks on HTTP and polling). The
// status is for logs and metrics.
//
// Thread safety: every public member may be called from any thread; the
// callback runs on the manager's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "acme/challenges.h"

namespace tern::acme {

struct ManagerOptions {
  std::string directory_url;
  std::string email;                         // account contact; "" = none
  std::vector<std::string> names;            // the first is the CN
  std::string ca_file;                       // the CA's HTTPS certificate trust; "" = system store
  std::string dir;                           // <data_dir>/acme
  std::chrono::seconds retry_min{60};        // first backoff after a failure
  std::chrono::seconds retry_max{6 * 3600};  // backoff cap
  // FOR TESTS: renew this long after not_before instead of at two thirds
  // of the lifetime (pebble's certificates live for years). 0 = unset.
  std::chrono::seconds renew_after{0};
};

// For metrics and logs (the metrics registry reads it; times in Unix
// seconds, 0 = never).
struct ManagerStatus {
  int64_t last_success = 0;
  int64_t last_failure = 0;
  int64_t expiry = 0;        // not_after of the certificate on disk
  int64_t next_attempt = 0;  // when the manager will try next
  uint64_t failures = 0;     // consecutive failed attempts
  std::string last_error;
};

class Manager {
 public:
  // `on_new_certificate` runs (on the manager's thread) after a new chain
  // was written, with chain_path() and key_path() ready to load.
  Manager(ManagerOptions options, ChallengeTable& challenges,
          std::function<void()> on_new_certificate);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  std::string chain_path() const { return options_.dir + "/chain.pem"; }
  std::string key_path() const { return options_.dir + "/key.pem"; }
  // A chain on disk for key.pem, covering every configured name (so the
  // server can serve it at start, before any renewal).
  bool usable() const;

  // Creates dir (0700) and the account key if missing; throws
  // std::runtime_error naming the file on failure.
  void prepare();
  void start();
  void stop();
  // Look at the files again and act now if something is due (SIGHUP: a
  // staged key.next.pem, changed names).
  void wake();
  ManagerStatus status() const;

 private:
  void run();
  // One issuance; returns "" on success, else the error.
  std::string attempt();
  // When the chain on disk needs renewing (Unix seconds); 0 = now.
  int64_t due() const;
  // Waits until `when` (Unix seconds) or stop()/wake(); false when stopping.
  bool wait_until(int64_t when);

  ManagerOptions options_;
  ChallengeTable& challenges_;
  std::function<void()> on_new_certificate_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  ManagerStatus status_;
  int64_t jitter_ = 0;  // seconds added to the due time of the current chain
  std::thread thread_;
};

// The backoff before attempt n+1 after n >= 1 consecutive failures:
// retry_min * 2^(n-1), capped at retry_max, then spread by -10%..+10%
// (`unit` in [0,1) picks where).
std::chrono::seconds backoff(uint64_t failures, std::chrono::seconds min, std::chrono::seconds max,
                             double unit);

}  // namespace tern::acme

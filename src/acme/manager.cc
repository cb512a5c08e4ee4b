#include "acme/manager.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "acme/cert.h"
#include "acme/client.h"
#include "base/clock.h"
#include "base/log.h"
#include "fs/atomic_file.h"
#include "http/client.h"

namespace tern::acme {
namespace {

// The whole file, or "" if it cannot be read.
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void write_private(const std::string& path, const std::string& data) {
  if (Status s = write_file_atomic(path, data, 0600); !s.ok())
    throw std::runtime_error("acme: " + s.message());
}

// A key file, or a fresh key written there first.
EcKey load_or_make_key(const std::string& path) {
  if (exists(path)) {
    auto k = EcKey::from_pem(slurp(path));
    if (!k) throw std::runtime_error("acme: " + path + " is not a P-256 private key (PEM)");
    return *k;
  }
  EcKey k = EcKey::generate();
  write_private(path, k.private_pem());
  return k;
}

double random_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

std::chrono::seconds backoff(uint64_t failures, std::chrono::seconds min, std::chrono::seconds max,
                             double unit) {
  double s = static_cast<double>(min.count());
  for (uint64_t i = 1; i < failures && s < static_cast<double>(max.count()); ++i) s *= 2;
  s = std::min(s, static_cast<double>(max.count()));
  s *= 0.9 + 0.2 * unit;  // jitter: many servers behind one CA do not retry in step
  return std::chrono::seconds(std::max<int64_t>(1, static_cast<int64_t>(s)));
}

Manager::Manager(ManagerOptions options, ChallengeTable& challenges,
                 std::function<void()> on_new_certificate)
    : options_(std::move(options)),
      challenges_(challenges),
      on_new_certificate_(std::move(on_new_certificate)) {}

Manager::~Manager() { stop(); }

void Manager::prepare() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) throw std::runtime_error("acme: cannot create " + options_.dir + ": " + ec.message());
  ::chmod(options_.dir.c_str(), 0700);
  load_or_make_key(options_.dir + "/account.pem");
  load_or_make_key(key_path());
  if (auto info = read_leaf(slurp(chain_path()))) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.expiry = info->not_after;
  }
}

bool Manager::usable() const {
  const std::string chain = slurp(chain_path());
  auto key = EcKey::from_pem(slurp(key_path()));
  auto info = read_leaf(chain);
  if (!key || !info || !leaf_matches_key(chain, *key)) return false;
  for (const std::string& n : options_.names)
    if (std::find(info->names.begin(), info->names.end(), n) == info->names.end()) return false;
  return true;
}

int64_t Manager::due() const {
  if (exists(options_.dir + "/key.next.pem") || !usable()) return 0;
  auto info = read_leaf(slurp(chain_path()));
  if (options_.renew_after.count() > 0) return info->not_before + options_.renew_after.count();
  return renewal_time(*info);
}

void Manager::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Manager::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Manager::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

ManagerStatus Manager::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

bool Manager::wait_until(int64_t when) {
  std::unique_lock<std::mutex> lock(mu_);
  status_.next_attempt = when;
  // The wall clock, not steady: a certificate's dates are wall-clock times,
  // and a suspended machine must renew when it wakes, not later.
  const auto deadline = std::chrono::system_clock::time_point(std::chrono::seconds(when));
  cv_.wait_until(lock, deadline, [this] { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

void Manager::run() {
  int64_t retry_at = 0;  // after a failure: not before this
  int64_t jittered_for = -1;
  for (;;) {
    int64_t when = due();
    if (when != 0 && when != jittered_for) {
      // Renewal is spread by up to a tenth of the time from the start to the
      // due time (60 days into 90: up to 6 days later, 24 still left), so
      // servers issued together do not all renew at the same second.
      auto info = read_leaf(slurp(chain_path()));
      const int64_t room = info ? std::max<int64_t>(0, when - info->not_before) / 10 : 0;
      jitter_ = static_cast<int64_t>(static_cast<double>(room) * random_unit());
      jittered_for = when;
    }
    if (when != 0) when += jitter_;
    when = std::max(when, retry_at);
    if (when > unix_seconds()) {
      if (!wait_until(when)) return;
      continue;  // woken, or the time came: look again
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    const std::string error = attempt();
    std::lock_guard<std::mutex> lock(mu_);
    if (error.empty()) {
      status_.last_success = unix_seconds();
      status_.failures = 0;
      status_.last_error.clear();
      retry_at = 0;
      if (auto info = read_leaf(slurp(chain_path()))) status_.expiry = info->not_after;
      continue;
    }
    if (stopping_) return;
    status_.last_failure = unix_seconds();
    status_.last_error = error;
    ++status_.failures;
    const auto wait =
        backoff(status_.failures, options_.retry_min, options_.retry_max, random_unit());
    retry_at = unix_seconds() + wait.count();
    log_error("acme: issuance failed names={} attempt={} retry_in={}s error={}",
              join(options_.names), status_.failures, wait.count(), log_quoted(error, 500));
  }
}

std::string Manager::attempt() {
  try {
    EcKey account = load_or_make_key(options_.dir + "/account.pem");
    const std::string next_path = options_.dir + "/key.next.pem";
    const bool rolling = exists(next_path);
    EcKey key = load_or_make_key(rolling ? next_path : key_path());
    log_info("acme: requesting a certificate names={} directory={}{}", join(options_.names),
             options_.directory_url, rolling ? " key=key.next.pem (rollkey)" : "");
    http::ClientLimits limits;
    limits.ca_file = options_.ca_file;
    AcmeClient client([limits](const http::ClientRequest& r) { return http::request(r, limits); },
                      [this](std::chrono::seconds d) {
                        std::unique_lock<std::mutex> lock(mu_);
                        return !cv_.wait_for(lock, d, [this] { return stopping_; });
                      },
                      account, options_.directory_url);
    IssueResult r = client.issue(options_.names, options_.email, key, challenges_);
    if (!r.ok()) return r.error;
    // The chain before the key: a reader between the two renames (a
    // restart) finds a chain that does not match key.pem and reissues,
    // rather than serving a mismatched pair.
    write_private(chain_path(), r.chain);
    if (rolling) {
      if (::rename(next_path.c_str(), key_path().c_str()) != 0)
        return "rename " + next_path + ": " + std::strerror(errno);
    }
    auto info = read_leaf(r.chain);
    log_info("acme: certificate issued names={} not_after={} key={}", join(options_.names),
             info ? info->not_after : 0, rolling ? "new" : "kept");
    if (on_new_certificate_) on_new_certificate_();
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace tern::acme

#include "server/service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "base/log.h"

namespace tern {

namespace {

bool wanted() { return std::getenv("NOTIFY_SOCKET") != nullptr; }

// A STATUS= value is one line: a newline would start another assignment.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

void send(const std::string& state) {
  // unset_environment = 0: the variables stay for the next notification.
  int r = sd_notify(0, state.c_str());
  if (r < 0) log_warn("sd_notify: {}", std::strerror(-r));
}

// Re-arms itself every `period` until the io_context stops; the timer lives
// in the shared_ptr the pending handler holds.
void ping(std::shared_ptr<asio::steady_timer> timer, std::chrono::microseconds period) {
  send("WATCHDOG=1");
  timer->expires_after(period);
  timer->async_wait([timer, period](std::error_code ec) {
    if (!ec) ping(timer, period);
  });
}

}  // namespace

void notify_ready(std::string_view status) {
  if (wanted()) send("READY=1\nSTATUS=" + one_line(status));
}

void notify_reloading() {
  if (!wanted()) return;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long usec = static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  send("RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notify_stopping(std::string_view status) {
  if (wanted()) send("STOPPING=1\nSTATUS=" + one_line(status));
}

void notify_status(std::string_view status) {
  if (wanted()) send("STATUS=" + one_line(status));
}

std::optional<std::chrono::microseconds> watchdog_period() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  // sd_watchdog_enabled(3): ping at half the interval, so one late wake-up
  // is not yet a missed deadline.
  return std::chrono::microseconds(usec / 2);
}

void start_watchdog(asio::io_context& io) {
  std::optional<std::chrono::microseconds> period = watchdog_period();
  if (!period) return;
  log_info("watchdog: pinging the service manager every {}ms",
           std::chrono::duration_cast<std::chrono::milliseconds>(*period).count());
  // Posted: even the first ping comes from the running loop.
  auto timer = std::make_shared<asio::steady_timer>(io);
  asio::post(io, [timer, p = *period] { ping(timer, p); });
}

}  // namespace tern

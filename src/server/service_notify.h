// Service notifications: what `tern serve` tells a service manager that
// started it with Type=notify (systemd's sd_notify(3) protocol, through
// libsystemd): READY=1 once the listeners accept and root is gone,
// RELOADING=1 ... READY=1 around a SIGHUP reload, STOPPING=1 at shutdown,
// and WATCHDOG=1 pings when the unit sets WatchdogSec.
//
// Every call is a no-op (one getenv) when NOTIFY_SOCKET is unset: started
// by hand, from a test or by another supervisor, nothing changes. A failed
// send is ignored, as sd_notify(3) advises: the service works on.
//
// Thread safety: the notify_* calls may come from any thread (each is one
// datagram); start_watchdog belongs on the thread that sets up the loop.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string_view>

namespace tern {

// READY=1 with STATUS=`status` (shown by `systemctl status`).
void notify_ready(std::string_view status);
// RELOADING=1 (and MONOTONIC_USEC, which systemd 253's Type=notify-reload
// wants; older versions ignore it). A READY=1 must follow.
void notify_reloading();
// STOPPING=1 with STATUS=`status`.
void notify_stopping(std::string_view status);
// STATUS=`status` alone.
void notify_status(std::string_view status);

// How often to send WATCHDOG=1: half of WATCHDOG_USEC (sd_watchdog_enabled,
// which also checks WATCHDOG_PID is us), or nullopt when the service
// manager asked for no watchdog.
std::optional<std::chrono::microseconds> watchdog_period();

// When watchdog_period() is set: sends WATCHDOG=1 now and then every period
// from a timer on `io`, so the pings come from the event loop itself and
// stop when it hangs (the service manager then kills and restarts us).
// Ends when `io` stops.
void start_watchdog(asio::io_context& io);

}  // namespace tern

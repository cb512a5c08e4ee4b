// Which deadline bounds a server connection's next read, as a pure
// function of the time: the connection (server/connection.h) asks before
// each read and arms its stream's timer with the answer, and when the
// answer is "no time left" it times the session out without reading.
//
//  - RFC 5321 4.5.3.2.7: a command line must be whole within the command
//    timeout of our last reply, however slowly its bytes drip in (a byte
//    every few seconds does not extend it);
//  - RFC 5321 4.5.3.2.6: while message data streams in, each read may take
//    the data timeout (it times each data block, not the whole message);
//  - nothing outlives the session timeout, counted from the connection's
//    start (issue 13: slow clients are bounded).
//
// No I/O, no clock of its own: value types, thread-compatible.
#pragma once

#include <chrono>

namespace tern {

// The three limits ([limits] command_timeout, data_timeout, session_timeout).
struct ReadTimeouts {
  std::chrono::steady_clock::duration command{std::chrono::minutes(5)};
  std::chrono::steady_clock::duration data{std::chrono::minutes(10)};
  std::chrono::steady_clock::duration session{std::chrono::hours(1)};
};

// What the next read waits for, named by the limit that bounds it.
enum class Waiting { kCommand, kData, kSession };

struct ReadDeadline {
  // How long the read may wait; zero or less: the time is already up.
  std::chrono::steady_clock::duration timeout;
  Waiting waiting;
};

// The deadline of a read starting at `now`, when our last reply (or the
// TLS handshake, or the greeting) went out at `last_reply`, the connection
// began at `started`, and `receiving_data` says whether the session is
// inside DATA. The session limit wins when it is the nearer one.
ReadDeadline read_deadline(std::chrono::steady_clock::time_point now,
                           std::chrono::steady_clock::time_point last_reply,
                           std::chrono::steady_clock::time_point started, bool receiving_data,
                           const ReadTimeouts& limits);

}  // namespace tern

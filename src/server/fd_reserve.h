// Descriptor headroom: when the process runs short of file descriptors
// (RLIMIT_NOFILE), new connections are refused with 421 so that the
// sessions already running can still open their spool and Maildir files
// and finish their messages. Without it, a flood of connections takes the
// last descriptor and every session's next file open fails with EMFILE.
//
// Thread-safe (no state).
#pragma once

namespace tern {

// Descriptors kept free: an eighth of the soft limit, at least 16 and at
// most 128 (a session needs a few at a time: spool, rewrite, directory
// fsync; the delivery side a few more).
int descriptor_reserve();

// True if `accepted_fd`, just returned by accept(2), leaves fewer than
// descriptor_reserve() free. accept returns the lowest free number, so
// every descriptor below it is taken: free <= limit - accepted_fd - 1. (A
// process whose high descriptors are in use can still reach EMFILE; the
// accept loop backs off then.)
bool descriptors_short(int accepted_fd);

// Writes "421 4.3.2 ..." to the new connection without blocking (best
// effort: a full socket buffer drops it). RFC 5321 3.1: a server that will
// not serve replies 421 instead of its greeting; RFC 3463 X.3.2 "system not
// accepting network messages". The caller closes the socket.
void refuse_short_of_descriptors(int fd);

}  // namespace tern

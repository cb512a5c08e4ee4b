#include "server/fd_reserve.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <string_view>

namespace tern {
namespace {

// The soft limit now (prlimit may change it while we run).
long descriptor_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1L << 20;
  return static_cast<long>(rl.rlim_cur);
}

}  // namespace

int descriptor_reserve() { return static_cast<int>(std::clamp(descriptor_limit() / 8, 16L, 128L)); }

bool descriptors_short(int accepted_fd) {
  return descriptor_limit() - accepted_fd - 1 < descriptor_reserve();
}

void refuse_short_of_descriptors(int fd) {
  constexpr std::string_view kReply =
      "421 4.3.2 Too many connections, try again later; closing connection\r\n";
  (void)::send(fd, kReply.data(), kReply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace tern

// The parts of Message that touch the outside world: the default
// constructor (system clock, getrandom(2)) and the *_file methods (the
// file system). Everything else in src/mime is pure.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include "tern/message.h"

namespace tern {
namespace {

Message::Token random_token() {
  Message::Token t{};
  if (::getrandom(t.data(), t.size(), 0) != static_cast<ssize_t>(t.size())) {
    std::random_device rd;  // getrandom(2) unavailable: still unpredictable enough
    for (auto& b : t) b = static_cast<uint8_t>(rd());
  }
  return t;
}

// The bytes of the regular file at `path`, or a kFileError status.
MessageStatus read_file(const std::string& path, std::string* data) {
  const auto fail = [&](const char* why) {
    return MessageStatus(MessageError::kFileError, path + ": " + why);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  std::string bytes;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail(std::strerror(err));
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  *data = std::move(bytes);
  return {};
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Message::Message() : Message(static_cast<int64_t>(std::time(nullptr)), random_token()) {}

MessageStatus Message::attach_file(const std::string& path, std::string_view mime_type) {
  std::string data;
  if (MessageStatus st = read_file(path, &data); !st.ok()) return st;
  return attach(base_name(path), data, mime_type);
}

MessageStatus Message::inline_image_file(std::string_view content_id, const std::string& path,
                                         std::string_view mime_type) {
  std::string data;
  if (MessageStatus st = read_file(path, &data); !st.ok()) return st;
  return inline_image(content_id, data, mime_type, base_name(path));
}

}  // namespace tern

#include "server/session_id.h"

#include <atomic>
#include <cstdint>

#include "base/time_id.h"

namespace tern {

std::string new_session_id() {
  static std::atomic<uint64_t> last{0};
  std::string id;
  id.reserve(kTimeIdDigits);
  append_base62(&id, next_id_micros(last), kTimeIdDigits);
  return id;
}

}  // namespace tern

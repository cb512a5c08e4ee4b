#include "core/deadline.h"

namespace tern {

ReadDeadline read_deadline(std::chrono::steady_clock::time_point now,
                           std::chrono::steady_clock::time_point last_reply,
                           std::chrono::steady_clock::time_point started, bool receiving_data,
                           const ReadTimeouts& limits) {
  ReadDeadline d{limits.data, Waiting::kData};
  if (!receiving_data) d = {last_reply + limits.command - now, Waiting::kCommand};
  if (auto left = started + limits.session - now; left <= d.timeout) d = {left, Waiting::kSession};
  return d;
}

}  // namespace tern

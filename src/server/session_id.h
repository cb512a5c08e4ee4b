// Session ids: the name of one SMTP connection in the log, on every line
// it causes ("session=1LgRz0Vq8").
//
// An id is 9 characters of [0-9A-Za-z]: microseconds since the Unix epoch
// in base62 (base/time_id.h), as the time part of a queue id, bumped so
// that ids of one process strictly increase. They sort by connection time
// and stay unique across restarts while the clock moves forward.
//
// Thread safety: new_session_id() may be called from any thread.
#pragma once

#include <string>

namespace tern {

std::string new_session_id();

}  // namespace tern

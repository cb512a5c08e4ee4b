#include "sendcli/progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace tern::sendcli {

std::string progress_bar(const Progress& p, size_t width) {
  const size_t filled = p.total == 0 ? width : std::min(width, p.done() * width / p.total);
  std::string out = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  out += fmt::format("{}/{} sent", p.sent, p.total);
  if (p.failed > 0) out += fmt::format(", {} failed", p.failed);
  return out;
}

std::string progress_line(const Progress& p, bool ok, const std::string& what,
                          const std::string& detail) {
  return fmt::format("{} {}/{} {}{}{}", ok ? "sent" : "FAILED", p.done(), p.total, what,
                     detail.empty() ? "" : ": ", detail);
}

std::string summary(const Progress& p) {
  return fmt::format("{} message{}: {} sent, {} failed", p.total, p.total == 1 ? "" : "s", p.sent,
                     p.failed);
}

}  // namespace tern::sendcli

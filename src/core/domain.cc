#include "core/domain.h"

namespace tern {

namespace {

bool valid_label(std::string_view label, bool underscore) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || (underscore && c == '_');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool valid_domain_name(std::string_view name, DomainRules rules) {
  if (name.empty() || name.size() > 253) return false;
  size_t labels = 0;
  size_t pos = 0;
  while (true) {
    const size_t dot = name.find('.', pos);
    const size_t end = dot == std::string_view::npos ? name.size() : dot;
    if (!valid_label(name.substr(pos, end - pos), rules.underscore)) return false;
    ++labels;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return labels >= rules.min_labels;
}

}  // namespace tern

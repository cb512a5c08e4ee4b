#include "metrics/registry.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace tern::metrics {

namespace {

// Prometheus' data model: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label
// names [a-zA-Z_][a-zA-Z0-9_]* (those starting "__" are reserved).
bool valid_name(std::string_view s, bool label) {
  if (s.empty()) return false;
  if (label && s.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit) || (!label && c == ':'))) return false;
  }
  return true;
}

const char* type_name(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}` (with `extra` appended, e.g. le="0.5"), or "" for none.
std::string label_text(const std::vector<std::string>& names, const LabelValues& values,
                       std::string_view extra = {}) {
  if (names.empty() && extra.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i] + "=\"" + escape_label_value(values[i]) + '"';
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ',';
    out += extra;
  }
  return out + "}";
}

}  // namespace

std::string escape_label_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers (counts, unix times) in full: "1700000000", not "1.7e+09".
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)  // 2^53: exact
    return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, r.ptr);
}

std::vector<double> latency_buckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, 259200};
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;  // le: upper bound inclusive
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

void FamilyBase::render_header(std::string* out) const {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help_), name_,
                      type_name(type_));
}

template <typename T>
T& Family<T>::with(const LabelValues& values) {
  if (values.size() != labels_.size())
    throw std::invalid_argument(fmt::format("metric {}: {} label values for {} labels", name_,
                                            values.size(), labels_.size()));
  std::lock_guard lock(mutex_);
  auto& slot = children_[values];
  if (!slot) slot.reset(make());
  return *slot;
}

template <>
void Family<Counter>::render(std::string* out) const {
  render_header(out);
  std::lock_guard lock(mutex_);
  for (const auto& [values, c] : children_)
    *out += fmt::format("{}{} {}\n", name_, label_text(labels_, values), c->value());
}

template <>
void Family<Gauge>::render(std::string* out) const {
  render_header(out);
  std::lock_guard lock(mutex_);
  for (const auto& [values, g] : children_)
    *out += fmt::format("{}{} {}\n", name_, label_text(labels_, values), format_value(g->value()));
}

template <>
void Family<Histogram>::render(std::string* out) const {
  render_header(out);
  std::lock_guard lock(mutex_);
  for (const auto& [values, h] : children_) {
    const Histogram::Snapshot s = h->snapshot();
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      const std::string le =
          "le=\"" + (i < bounds_.size() ? format_value(bounds_[i]) : std::string("+Inf")) + '"';
      *out +=
          fmt::format("{}_bucket{} {}\n", name_, label_text(labels_, values, le), s.cumulative[i]);
    }
    const std::string labels = label_text(labels_, values);
    *out += fmt::format("{}_sum{} {}\n", name_, labels, format_value(s.sum));
    *out += fmt::format("{}_count{} {}\n", name_, labels, s.cumulative.back());
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

FamilyBase* Registry::find(const std::string& name, Type type,
                           const std::vector<std::string>& labels) {
  if (!valid_name(name, false)) throw std::invalid_argument("bad metric name: " + name);
  for (const std::string& l : labels)
    if (!valid_name(l, true) || (type == Type::kHistogram && l == "le"))
      throw std::invalid_argument("metric " + name + ": bad label name: " + l);
  auto it = families_.find(name);
  if (it == families_.end()) return nullptr;
  if (it->second->type() != type || it->second->label_names() != labels)
    throw std::logic_error("metric " + name + " registered twice, differently");
  return it->second.get();
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  if (FamilyBase* f = find(name, Type::kCounter, labels)) return *static_cast<Family<Counter>*>(f);
  auto f = std::make_unique<Family<Counter>>(name, help, Type::kCounter, std::move(labels));
  auto* p = f.get();
  families_.emplace(name, std::move(f));
  if (p->label_names().empty()) p->with(LabelValues{});  // shown (as 0) from the start
  return *p;
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  if (FamilyBase* f = find(name, Type::kGauge, labels)) return *static_cast<Family<Gauge>*>(f);
  auto f = std::make_unique<Family<Gauge>>(name, help, Type::kGauge, std::move(labels));
  auto* p = f.get();
  families_.emplace(name, std::move(f));
  if (p->label_names().empty()) p->with(LabelValues{});  // shown (as 0) from the start
  return *p;
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  for (size_t i = 1; i < bounds.size(); ++i)
    if (!(bounds[i - 1] < bounds[i]))
      throw std::invalid_argument("metric " + name + ": bucket bounds must ascend");
  std::lock_guard lock(mutex_);
  if (FamilyBase* f = find(name, Type::kHistogram, labels)) {
    auto* h = static_cast<Family<Histogram>*>(f);
    if (h->bounds_ != bounds)
      throw std::logic_error("metric " + name + " registered twice, differently");
    return *h;
  }
  auto f = std::make_unique<Family<Histogram>>(name, help, Type::kHistogram, std::move(labels));
  f->bounds_ = std::move(bounds);
  auto* p = f.get();
  families_.emplace(name, std::move(f));
  if (p->label_names().empty()) p->with(LabelValues{});  // shown (as 0) from the start
  return *p;
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, f] : families_) f->render(&out);
  return out;
}

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: used until exit by any thread
  return *r;
}

}  // namespace tern::metrics

// Metrics: counters, gauges and histograms with labels, rendered in the
// Prometheus text exposition format 0.0.4 (docs/metrics.md lists tern's).
//
// A metric is a family (name, help, label names) of children, one per set
// of label values. Hot paths take a child once (`family.with({"smtp"})`
// returns a reference that lives as long as the registry) and then only
// touch atomics; making a child takes the family's mutex. Names follow
// Prometheus' conventions: a `tern_` prefix, base units (`_seconds`,
// `_bytes`), counters end in `_total`.
//
// Thread safety: everything here may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tern::metrics {

using LabelValues = std::vector<std::string>;

// Only goes up (resets when the process restarts).
class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down, or is set.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets with fixed upper bounds (ascending;
// +Inf is implied). The rendered _count is the +Inf bucket, so a scrape
// during an observation never shows a count that disagrees with the
// buckets.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double>* bounds_;                // the family's
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

enum class Type { kCounter, kGauge, kHistogram };

// Bucket bounds for delivery latencies: 10 ms to about 3 days (the
// queue's retries).
std::vector<double> latency_buckets();

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {}
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return labels_; }
  // Appends this family (HELP, TYPE, one line per child and bucket).
  virtual void render(std::string* out) const = 0;

 protected:
  void render_header(std::string* out) const;
  std::string name_, help_;
  Type type_;
  std::vector<std::string> labels_;
  mutable std::mutex mutex_;
};

template <typename T>
class Family : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  // The child for `values` (one per label name, in order), made on first
  // use. REQUIRES: values.size() == label_names().size() (else
  // std::invalid_argument). The reference stays valid for the registry's life.
  T& with(const LabelValues& values);
  T& with(std::initializer_list<std::string_view> values) {
    return with(LabelValues(values.begin(), values.end()));
  }
  void render(std::string* out) const override;

 private:
  friend class Registry;
  T* make() { return new T(); }
  std::vector<double> bounds_;  // histograms only
  std::map<LabelValues, std::unique_ptr<T>> children_;
};

template <>
inline Histogram* Family<Histogram>::make() {
  return new Histogram(&bounds_);
}

class Registry {
 public:
  // The family of that name, made on first call. A second call with the
  // same name returns the same family if type, labels (and bounds) agree,
  // and throws std::logic_error otherwise; a name that Prometheus would
  // refuse throws std::invalid_argument. So a module can register what it
  // needs where it needs it: registry().counter("tern_x_total", ...).
  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<std::string> labels, std::vector<double> bounds);

  // Every family, sorted by name, in the text format 0.0.4.
  std::string render() const;

 private:
  FamilyBase* find(const std::string& name, Type type, const std::vector<std::string>& labels);
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
};

// tern's one registry (the process's metrics): what /metrics serves.
Registry& registry();

// The exposition format's escaping (text format 0.0.4): label values
// escape backslash, double quote and newline; HELP text backslash and
// newline. A double as Prometheus writes it: "+Inf", "-Inf", "NaN", or
// the shortest decimal that reads back exactly.
std::string escape_label_value(std::string_view s);
std::string escape_help(std::string_view s);
std::string format_value(double v);

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace tern::metrics

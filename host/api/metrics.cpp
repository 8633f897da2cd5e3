#include "api/metrics.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace sb::api {
namespace {

constexpr size_t kShards = 16;
constexpr size_t kBucketCount = Metrics::kBuckets.size();

constexpr const char* kRequestsTotal = "switchboard_http_requests_total";
constexpr const char* kDuration = "switchboard_http_request_duration_seconds";
constexpr const char* kReceived = "switchboard_messages_received_total";
constexpr const char* kSent = "switchboard_messages_sent_total";
constexpr const char* kFailed = "switchboard_messages_failed_total";

// One (method, route, status) series: its counter and its share of the
// route's histogram (render() adds up the shares of a route).
struct Series {
  uint64_t count = 0;
  std::array<uint64_t, kBucketCount> buckets{};  // per bucket, not cumulative; +Inf is count
  double sum = 0;
};

struct Key {
  std::string method;
  std::string route;
  int status;
};
struct KeyView {
  std::string_view method;
  std::string_view route;
  int status;
};
KeyView view(const Key& k) { return {k.method, k.route, k.status}; }
KeyView view(const KeyView& k) { return k; }

// Transparent, so that a lookup needs no std::string.
struct KeyHash {
  using is_transparent = void;
  template <class K>
  size_t operator()(const K& key) const noexcept {
    const KeyView k = view(key);
    size_t h = std::hash<std::string_view>{}(k.route);
    h ^= std::hash<std::string_view>{}(k.method) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= std::hash<int>{}(k.status) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }
};
struct KeyEq {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    const KeyView x = view(a), y = view(b);
    return x.status == y.status && x.method == y.method && x.route == y.route;
  }
};

struct alignas(64) Shard {
  std::mutex mu;
  std::unordered_map<Key, Series, KeyHash, KeyEq> series;  // guarded by mu
};

bool valid_metric_name(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void family_header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + ' ' + Metrics::escape_help(help) + '\n';
  out += "# TYPE " + name + ' ' + type + '\n';
}

// What a comment may carry: one line.
std::string one_line(std::string_view s) {
  std::string out(s.substr(0, 500));
  for (auto& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

struct Metrics::MessageCounters {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> failed{0};
};

struct Metrics::Impl {
  struct Callback {
    std::string name;
    std::string help;
    const char* type;  // "gauge" or "counter"
    std::function<double()> read;
    std::function<LabelledValues()> series;  // instead of read, for a family of several series
  };

  std::array<Shard, kShards> shards;
  mutable std::mutex callbacks_mu;
  std::vector<Callback> callbacks;  // guarded by callbacks_mu
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()), messages_(std::make_shared<MessageCounters>()) {}

Metrics::~Metrics() = default;

void Metrics::observe_request(const std::string& method, const std::string& route_pattern, int status,
                              double seconds) {
  static std::atomic<size_t> next_shard{0};
  thread_local const size_t shard_index = next_shard.fetch_add(1, std::memory_order_relaxed) % kShards;

  if (!(seconds >= 0)) seconds = 0;  // negative or NaN
  const auto bucket = static_cast<size_t>(
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin());  // first le >= seconds
  const std::string_view route = route_pattern.empty() ? std::string_view("unmatched") : route_pattern;

  Shard& shard = impl_->shards[shard_index];
  std::lock_guard lock(shard.mu);
  auto it = shard.series.find(KeyView{method, route, status});
  if (it == shard.series.end()) it = shard.series.emplace(Key{method, std::string(route), status}, Series{}).first;
  Series& s = it->second;
  ++s.count;
  if (bucket < kBucketCount) ++s.buckets[bucket];
  s.sum += seconds;
}

void Metrics::attach(EventBus& bus) {
  auto received = bus.subscribe("message.received", [m = messages_](const Event&) {
    m->received.fetch_add(1, std::memory_order_relaxed);
  });
  auto status = bus.subscribe("message.status", [m = messages_](const Event& e) {
    if (!e.data.is_object()) return;
    const auto it = e.data.find("status");
    if (it == e.data.end() || !it->is_string()) return;
    const auto& value = it->get_ref<const std::string&>();
    if (value == "sent") m->sent.fetch_add(1, std::memory_order_relaxed);
    else if (value == "failed") m->failed.fetch_add(1, std::memory_order_relaxed);
  });
  std::lock_guard lock(subs_mu_);
  subs_.push_back(std::move(received));
  subs_.push_back(std::move(status));
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> read) {
  add_callback(std::move(name), std::move(help), "gauge", std::move(read));
}

void Metrics::add_counter_callback(std::string name, std::string help, std::function<double()> read) {
  add_callback(std::move(name), std::move(help), "counter", std::move(read));
}

void Metrics::add_callback(std::string name, std::string help, const char* type, std::function<double()> read) {
  if (!valid_metric_name(name)) throw std::invalid_argument("not a valid Prometheus metric name: \"" + name + "\"");
  if (!read) throw std::invalid_argument("metric " + name + " has no callback");
  const std::string duration = kDuration;
  for (const std::string& builtin : {std::string(kRequestsTotal), duration, duration + "_bucket", duration + "_sum",
                                     duration + "_count", std::string(kReceived), std::string(kSent),
                                     std::string(kFailed)}) {
    if (name == builtin) throw std::invalid_argument("metric " + name + " is built in");
  }
  std::lock_guard lock(impl_->callbacks_mu);
  for (const auto& c : impl_->callbacks)
    if (c.name == name) throw std::invalid_argument("metric " + name + " is already registered");
  impl_->callbacks.push_back(Impl::Callback{std::move(name), std::move(help), type, std::move(read)});
}

void Metrics::add_gauge_series(std::string name, std::string help, std::function<LabelledValues()> read) {
  if (!read) throw std::invalid_argument("metric " + name + " has no callback");
  std::string key = name;
  add_callback(std::move(name), std::move(help), "gauge", [] { return 0.0; });
  std::lock_guard lock(impl_->callbacks_mu);
  for (auto& c : impl_->callbacks)
    if (c.name == key) c.series = std::move(read);
}

std::string Metrics::render() const {
  // Merge the shards, sorted.
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests;  // (route, method, status)
  std::map<std::string, Series> durations;                                  // by route
  for (Shard& shard : impl_->shards) {
    std::lock_guard lock(shard.mu);
    for (const auto& [key, s] : shard.series) {
      requests[{key.route, key.method, key.status}] += s.count;
      Series& d = durations[key.route];
      d.count += s.count;
      d.sum += s.sum;
      for (size_t i = 0; i < kBucketCount; ++i) d.buckets[i] += s.buckets[i];
    }
  }

  std::string out;
  out.reserve(4096);
  family_header(out, kRequestsTotal, "HTTP requests served, by method, route pattern and status.", "counter");
  for (const auto& [key, count] : requests) {
    const auto& [route, method, status] = key;
    out += kRequestsTotal;
    out += "{method=\"" + escape_label_value(method) + "\",route=\"" + escape_label_value(route) +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(count) + '\n';
  }

  family_header(out, kDuration, "HTTP request latency, by route pattern.", "histogram");
  for (const auto& [route, d] : durations) {
    const std::string label = "route=\"" + escape_label_value(route) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBucketCount; ++i) {
      cumulative += d.buckets[i];
      out += std::string(kDuration) + "_bucket{" + label + ",le=\"" + format_value(kBuckets[i]) + "\"} " +
             std::to_string(cumulative) + '\n';
    }
    out += std::string(kDuration) + "_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(d.count) + '\n';
    out += std::string(kDuration) + "_sum{" + label + "} " + format_value(d.sum) + '\n';
    out += std::string(kDuration) + "_count{" + label + "} " + std::to_string(d.count) + '\n';
  }

  const std::pair<const char*, const char*> messages[] = {
      {kReceived, "Inbound messages stored."},
      {kSent, "Outbound messages the channel accepted (status sent)."},
      {kFailed, "Outbound messages that failed permanently."},
  };
  const std::atomic<uint64_t>* values[] = {&messages_->received, &messages_->sent, &messages_->failed};
  for (size_t i = 0; i < 3; ++i) {
    family_header(out, messages[i].first, messages[i].second, "counter");
    out += std::string(messages[i].first) + ' ' + std::to_string(values[i]->load(std::memory_order_relaxed)) + '\n';
  }

  std::vector<Impl::Callback> callbacks;
  {
    std::lock_guard lock(impl_->callbacks_mu);
    callbacks = impl_->callbacks;
  }
  for (const auto& c : callbacks) {
    family_header(out, c.name, c.help, c.type);
    try {
      if (c.series) {
        LabelledValues series = c.series();
        std::sort(series.begin(), series.end());
        for (const auto& [labels, v] : series) out += c.name + '{' + labels + "} " + format_value(v) + '\n';
        continue;
      }
      const double v = c.read();
      out += c.name + ' ' + format_value(v) + '\n';
    } catch (const std::exception& e) {
      out += "# " + c.name + " could not be read: " + one_line(e.what()) + '\n';
    } catch (...) {
      out += "# " + c.name + " could not be read: unknown exception\n";
    }
  }
  return out;
}

std::string Metrics::escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Metrics::escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Metrics::format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

}  // namespace sb::api

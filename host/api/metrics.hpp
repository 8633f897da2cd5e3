#pragma once
// Metrics: what GET /metrics serves, in the Prometheus text exposition
// format 0.0.4 (content type "text/plain; version=0.0.4; charset=utf-8").
//
//   switchboard_http_requests_total{method,route,status}        counter
//   switchboard_http_request_duration_seconds{route}            histogram
//       buckets 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 +Inf
//   switchboard_messages_received_total                         counter  ("message.received")
//   switchboard_messages_sent_total                             counter  ("message.status" status "sent")
//   switchboard_messages_failed_total                           counter  ("message.status" status "failed")
//   + every gauge / counter callback the application adds, in the order added
//
// `route` is the route PATTERN ("/api/v1/workspaces/:workspace_id/contacts"),
// never the raw path, so the number of series stays bounded; a request that
// matched no route is recorded as "unmatched" (an empty route is too).
//
// Threads: observe_request is called by every HTTP worker. Request series
// live in 16 shards, each with its own mutex; a thread always uses the
// same shard (picked round-robin the first time it observes), so workers
// rarely contend and the critical section is one hash lookup (no allocation
// once the series exists) and a few additions. render() takes each shard's
// mutex in turn and merges. The message counters are atomics. The callback
// list has its own mutex, held only to copy the list:
// callbacks run outside every lock and may take their own.
#include "core/event_bus.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::api {

class Metrics {
 public:
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
  // Histogram bucket upper bounds (seconds), without +Inf.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   5};

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished HTTP request. A negative or NaN duration counts as 0.
  void observe_request(const std::string& method, const std::string& route_pattern, int status, double seconds);

  // Feeds the message counters from `bus` until this object is destroyed.
  // Attaching twice (to one bus) counts every event twice.
  void attach(EventBus& bus);

  // A gauge (or a counter) whose value is read by `read` at every render().
  // `name` must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) not used
  // by another metric here; otherwise std::invalid_argument. A callback that
  // throws renders as a comment line in place of its sample.
  void add_gauge(std::string name, std::string help, std::function<double()> read);
  void add_counter_callback(std::string name, std::string help, std::function<double()> read);
  // A gauge of several series: `read` returns (label set, value) pairs, the
  // label set already rendered ('profile="prf_1",kind="cold"', values
  // escaped with escape_label_value).
  using LabelledValues = std::vector<std::pair<std::string, double>>;
  void add_gauge_series(std::string name, std::string help, std::function<LabelledValues()> read);

  // The whole exposition, every family with # HELP and # TYPE lines, ending
  // in a newline. Series are sorted, so equal states render equally.
  std::string render() const;

  // The text-format escapes: label values escape backslash, double quote
  // and newline; HELP text escapes backslash and newline.
  static std::string escape_label_value(std::string_view value);
  static std::string escape_help(std::string_view help);
  // A sample value: shortest round-trip decimal, "+Inf", "-Inf" or "NaN".
  static std::string format_value(double value);

 private:
  struct Impl;             // the request shards and the callback list (metrics.cpp)
  struct MessageCounters;  // three atomics
  void add_callback(std::string name, std::string help, const char* type, std::function<double()> read);

  std::unique_ptr<Impl> impl_;
  // Shared with the bus handlers, which may run briefly after this object
  // is gone (the bus runs a handler it copied before the unsubscribe).
  std::shared_ptr<MessageCounters> messages_;
  std::mutex subs_mu_;
  std::vector<EventBus::Subscription> subs_;  // guarded by subs_mu_; declared last: dropped first
};

}  // namespace sb::api

#pragma once
// Sends the events of an agency to its registered dashboard: every bus
// event of a workspace whose organization has an active dashboard is POSTed
// to the dashboard's URL, signed the Standard Webhooks way with the
// dashboard's webhookSecret (webhook-id, webhook-timestamp,
// webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">).
//
// The body is {"type", "timestamp", "agencyId", "tenantId", "data"}; types
// are the bus's, with "message.status" spelled per status
// ("message.sent", "message.delivered", "message.read", "message.failed").
// The secret is used as given, or base64-decoded when it is "whsec_..."
// (the Standard Webhooks convention).
//
// Delivery is in memory, best effort: a bounded queue, one sender thread,
// up to `attempts` tries with backoff per event; what is queued when the
// host stops is lost. The durable, replayable webhook queue belongs to the
// messaging issue (docs/api.md says so).
//
// Threads: the bus handler only maps the event and queues it (under mu_);
// one sender thread does the lookups and the HTTP.
#include "core/event_bus.hpp"
#include "store/database.hpp"
#include "tenancy/dashboards.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace sb::webhooks {

struct NotifierOptions {
  size_t max_queue = 10000;
  int attempts = 4;                                 // tries per event
  std::chrono::milliseconds first_retry{1000};      // then x5 each time
  std::chrono::milliseconds timeout{10000};         // per request
  std::chrono::milliseconds cache_ttl{5000};        // workspace -> dashboard lookups
};

// "v1,<base64>" for `secret` over "<id>.<timestamp>.<body>".
std::string standard_webhook_signature(const std::string& secret, const std::string& id, int64_t timestamp,
                                       const std::string& body);

class DashboardNotifier {
 public:
  DashboardNotifier(store::Database& db, EventBus& bus, tenancy::Dashboards& dashboards, NotifierOptions options = {});
  ~DashboardNotifier();  // stop()
  DashboardNotifier(const DashboardNotifier&) = delete;
  DashboardNotifier& operator=(const DashboardNotifier&) = delete;

  void stop();

  struct Stats {
    uint64_t delivered = 0;
    uint64_t failed = 0;   // gave up after every attempt
    uint64_t dropped = 0;  // the queue was full
  };
  Stats stats() const;

 private:
  struct Pending {
    Event event;
    std::string id;
    int attempt = 0;
    std::chrono::steady_clock::time_point due;
  };
  void on_event(const Event& event);
  void sender_loop();
  bool deliver(Pending& p);
  // The organization's active dashboard for a workspace, from a short cache.
  std::optional<tenancy::Dashboard> dashboard_for(const std::string& workspace_id, std::string& organization_id);

  store::Database& db_;
  tenancy::Dashboards& dashboards_;
  const NotifierOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  Stats stats_;

  struct Cached {
    std::string organization_id;
    std::optional<tenancy::Dashboard> dashboard;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, Cached> cache_;  // sender thread only

  EventBus::Subscription sub_;
  std::thread thread_;
};

}  // namespace sb::webhooks

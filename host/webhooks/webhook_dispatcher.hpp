#pragma once
// Durable outbound webhooks: every bus event that is a documented webhook
// event (webhook_events.hpp) becomes one delivery row per matching
// subscription of its workspace and one for the active registered
// dashboard of its organization, all written in one write job; sender
// threads claim due rows (repo::claim_due: one in flight per (target,
// ordering key), in queue order), POST them signed the Standard Webhooks
// way, log every attempt, and retry on the RetrySchedule until delivered or
// dead. A subscription that keeps failing is paused (its rows wait) and,
// after a cool-down, probed again; rows a killed process left delivering go
// back to pending when the dispatcher starts. docs/api.md "Outbound
// webhooks" documents it for users.
//
// Threads: the bus handler only queues an asynchronous write job (no
// lookups, no waiting); `senders` threads claim and deliver; wake() and the
// write jobs' completions notify them. Every public method is thread-safe.
// The clock (options.clock) gives every stored time and the schedule, so
// tests control it; senders wait in real time, at most `poll` at a time.
#include "core/event_bus.hpp"
#include "store/database.hpp"
#include "tenancy/crypto.hpp"
#include "tenancy/dashboards.hpp"
#include "webhooks/retry_schedule.hpp"
#include "webhooks/webhook_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sb::webhooks {

struct DispatcherOptions {
  RetrySchedule schedule = RetrySchedule::standard();
  std::chrono::milliseconds timeout{15000};  // per request (connect, write, read)
  int senders = 4;                           // 0: no threads; tests call deliver_due()
  // Pause a subscription after this many failed attempts in a row that
  // span at least pause_window; probe it again resume_after later (0: only
  // POST .../resume brings it back).
  int64_t pause_after_failures = 10;
  std::chrono::milliseconds pause_window{std::chrono::minutes(5)};
  std::chrono::milliseconds resume_after{std::chrono::minutes(15)};
  std::chrono::milliseconds poll{1000};  // longest real-time wait of an idle sender
  std::function<int64_t()> clock;        // epoch ms; now_ms() when empty

  // The defaults, changed by SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE (delays in
  // ms, "0,5000,..."), SWITCHBOARD_WEBHOOK_TIMEOUT_MS,
  // SWITCHBOARD_WEBHOOK_PAUSE_AFTER (failures), SWITCHBOARD_WEBHOOK_PAUSE_WINDOW_MS,
  // SWITCHBOARD_WEBHOOK_RESUME_AFTER_MS and SWITCHBOARD_WEBHOOK_SENDERS.
  // Throws sb::Error(invalid_argument) naming a malformed variable.
  static DispatcherOptions from_environment();
};

class WebhookDispatcher {
 public:
  // Recovers rows left delivering, subscribes to `bus`, starts the senders.
  WebhookDispatcher(store::Database& db, EventBus& bus, tenancy::Dashboards& dashboards,
                    const tenancy::SecretBox& secrets, DispatcherOptions options = {});
  ~WebhookDispatcher();  // stop()
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Unsubscribes and joins the senders; an attempt in flight finishes first.
  void stop();
  // Something may be due now (a replay, a resume, a new subscription).
  void wake();
  // A subscription was created: events are no longer skipped on a host
  // with neither subscriptions nor dashboards.
  void subscriptions_changed();

  // Queues a "webhook.test" delivery to `subscription` alone.
  repo::Delivery queue_test(const repo::Subscription& subscription);
  // Claims and attempts every row due now, one at a time on this thread,
  // until none is left; returns the attempts made. For tests with senders = 0.
  int deliver_due();

  int64_t now() const;
  const DispatcherOptions& options() const { return options_; }

  struct Stats {
    uint64_t delivered = 0;
    uint64_t failed_attempts = 0;
    uint64_t dead = 0;
    uint64_t paused = 0;  // subscriptions paused for failures
  };
  Stats stats() const;

 private:
  // What the asynchronous fan-out jobs reach after this object may be gone.
  struct Signal {
    std::mutex mu;
    std::condition_variable cv;
    uint64_t generation = 0;
    bool stopping = false;
    void notify();
  };

  void on_event(const Event& event);
  void sender_loop();
  // One attempt of a claimed row, recorded in one write job.
  void attempt(const repo::Delivery& delivery);
  std::vector<repo::Delivery> claim(int64_t limit);
  // Is a row due, or a paused subscription's cool-down over? (a read)
  bool may_have_work();

  store::Database& db_;
  tenancy::Dashboards& dashboards_;
  const tenancy::SecretBox& secrets_;
  const DispatcherOptions options_;
  std::shared_ptr<Signal> signal_ = std::make_shared<Signal>();
  std::atomic<bool> any_subscription_{false};

  std::atomic<uint64_t> delivered_{0}, failed_attempts_{0}, dead_{0}, paused_{0};

  EventBus::Subscription sub_;
  std::vector<std::thread> threads_;
};

}  // namespace sb::webhooks

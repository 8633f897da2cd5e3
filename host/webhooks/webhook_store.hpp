#pragma once
// The webhook tables of migration 007 (subscriptions, the delivery queue,
// the attempt log): every statement the dispatcher and the API run. Each
// function runs on the Connection it is given — a write job's for writes, a
// reader's for reads — and never holds state of its own.
#include "store/database.hpp"
#include "store/page.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::webhooks::repo {

struct Subscription {
  std::string id;  // "wh_..."
  std::string organization_id;
  std::string workspace_id;
  std::string url;
  nlohmann::json events = "*";  // "*" or a list of names
  std::string secret;           // sealed ("enc:v1:...")
  std::string description;
  std::string state = "active";  // active | paused | disabled
  std::optional<std::string> state_reason;
  int64_t consecutive_failures = 0;
  std::optional<int64_t> failing_since;
  std::optional<int64_t> paused_at;
  std::optional<std::string> paused_by;  // failures | api
  int64_t created_at = 0;
  int64_t updated_at = 0;
};
// Without the secret.
nlohmann::json to_json(const Subscription& s);

struct Delivery {
  int64_t seq = 0;
  std::string id;  // "msg_...", the webhook-id
  std::string organization_id;
  std::string workspace_id;
  std::string target_kind;  // subscription | dashboard
  std::string target_id;
  std::string event_id;
  std::string event_type;
  std::string payload;  // the exact body
  std::string ordering_key;
  std::string state = "pending";  // pending | delivering | delivered | failed | dead
  int64_t attempts = 0;
  int64_t replayed_after = 0;
  int64_t next_attempt_at = 0;
  std::optional<int64_t> last_status;
  std::optional<std::string> last_error;
  std::optional<int64_t> delivered_at;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};
// The payload as JSON under "payload".
nlohmann::json to_json(const Delivery& d);

struct Attempt {
  std::string delivery_id;
  int64_t attempt = 0;
  int64_t started_at = 0;
  int64_t duration_ms = 0;
  std::optional<int64_t> response_status;
  std::string response_excerpt;
  std::optional<std::string> error;
};
nlohmann::json to_json(const Attempt& a);

// --- subscriptions
void insert_subscription(store::Connection& c, const Subscription& s);
std::optional<Subscription> find_subscription(store::Connection& c, const std::string& workspace_id,
                                              const std::string& id);
std::optional<Subscription> find_subscription_by_id(store::Connection& c, const std::string& id);
store::Page<Subscription> list_subscriptions(store::Connection& c, const std::string& workspace_id,
                                             const store::PageRequest& page);
// The subscriptions that get new deliveries (active and paused ones).
std::vector<Subscription> fan_out_targets(store::Connection& c, const std::string& workspace_id);
// url, events, secret, description, state, state_reason, counters, paused_at, updated_at.
void update_subscription(store::Connection& c, const Subscription& s);
// Deletes it; its undelivered deliveries become dead ("the subscription was deleted").
void delete_subscription(store::Connection& c, const Subscription& s, int64_t now);
bool any_subscription(store::Connection& c);
// After an attempt to subscription `id`: a success clears its failure
// streak; a failure lengthens it, and pauses the subscription (paused_by
// 'failures') once the streak has `pause_after` failures spanning at least
// `pause_window_ms`. Returns true when this call paused it.
bool record_target_result(store::Connection& c, const std::string& id, bool success, int64_t pause_after,
                          int64_t pause_window_ms, int64_t now);
// Subscriptions paused by failures at or before `paused_before` become
// active again as a probe: their streak stays one failure short of the
// threshold, so one more failure pauses them again. Returns how many.
int64_t resume_cooled_down(store::Connection& c, int64_t paused_before, int64_t pause_after, int64_t now);

// --- deliveries
void insert_delivery(store::Connection& c, const Delivery& d);
std::optional<Delivery> find_delivery(store::Connection& c, const std::string& workspace_id, const std::string& id);
// Marks at most `limit` due rows delivering and returns them, in order.
// A row is due when it is pending or failed with next_attempt_at <= now,
// its target is a dashboard or an active subscription, no row of its
// (target, ordering key) is being delivered, and no earlier row of it is
// still waiting: so one (target, key) has at most one row in flight, and
// its rows go out in the order they were queued.
std::vector<Delivery> claim_due(store::Connection& c, int64_t now, int64_t limit);
// Rows a dead process left delivering go back to pending (at start).
int64_t recover_delivering(store::Connection& c, int64_t now);
// True when a waiting row is due at `now`, or a subscription paused by
// failures was paused at or before `resume_before` (-1: never resumed).
bool may_have_work(store::Connection& c, int64_t now, int64_t resume_before);
// The earliest next_attempt_at of a waiting row, if any.
std::optional<int64_t> next_due_at(store::Connection& c);

void insert_attempt(store::Connection& c, const Attempt& a);
std::vector<Attempt> attempts_of(store::Connection& c, const std::string& delivery_id);
// After an attempt: delivered, failed (a retry at next_attempt_at) or dead.
void finish_attempt(store::Connection& c, const std::string& id, const std::string& state, int64_t attempts,
                    std::optional<int64_t> status, const std::optional<std::string>& error,
                    int64_t next_attempt_at, int64_t now);

struct DeliveryFilter {
  std::optional<std::string> state;
  std::optional<std::string> event_type;
  std::optional<std::string> webhook_id;  // a subscription id or a dashboard's organization id
  std::optional<int64_t> from;            // created_at >= from
  std::optional<int64_t> to;              // created_at < to
};
store::Page<Delivery> list_deliveries(store::Connection& c, const std::string& workspace_id, const DeliveryFilter& f,
                                      const store::PageRequest& page);
// Queues a delivery again (pending, due now, the schedule restarting);
// false when it is being delivered right now.
bool replay(store::Connection& c, const Delivery& d, int64_t now);
// Every delivery of the workspace matching `f` (from and to required) that
// is not being delivered; returns how many, at most `limit`.
int64_t replay_range(store::Connection& c, const std::string& workspace_id, const DeliveryFilter& f, int64_t now,
                     int64_t limit);

// Waiting rows (pending, delivering, failed) of the whole host.
int64_t queue_depth(store::Connection& c);

}  // namespace sb::webhooks::repo

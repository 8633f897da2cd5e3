#include "webhooks/webhook_store.hpp"

#include "core/ids.hpp"
#include "store/keyset.hpp"

namespace sb::webhooks::repo {
namespace {

using nlohmann::json;
using store::Connection;
using store::Params;
using store::Row;

json opt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

constexpr const char* kSubscriptionColumns =
    "id, organization_id, workspace_id, url, events_json, secret, description, state, state_reason, "
    "consecutive_failures, failing_since, paused_at, paused_by, created_at, updated_at";

Subscription subscription_of(const Row& r) {
  Subscription s;
  s.id = r.text("id");
  s.organization_id = r.text("organization_id");
  s.workspace_id = r.text("workspace_id");
  s.url = r.text("url");
  s.events = r.json("events_json");
  s.secret = r.text("secret");
  s.description = r.text("description");
  s.state = r.text("state");
  s.state_reason = r.optional_text("state_reason");
  s.consecutive_failures = r.integer("consecutive_failures");
  s.failing_since = r.optional_integer("failing_since");
  s.paused_at = r.optional_integer("paused_at");
  s.paused_by = r.optional_text("paused_by");
  s.created_at = r.integer("created_at");
  s.updated_at = r.integer("updated_at");
  return s;
}

constexpr const char* kDeliveryColumns =
    "seq, id, organization_id, workspace_id, target_kind, target_id, event_id, event_type, payload, ordering_key, "
    "state, attempts, replayed_after, next_attempt_at, last_status, last_error, delivered_at, created_at, updated_at";

Delivery delivery_of(const Row& r) {
  Delivery d;
  d.seq = r.integer("seq");
  d.id = r.text("id");
  d.organization_id = r.text("organization_id");
  d.workspace_id = r.text("workspace_id");
  d.target_kind = r.text("target_kind");
  d.target_id = r.text("target_id");
  d.event_id = r.text("event_id");
  d.event_type = r.text("event_type");
  d.payload = r.text("payload");
  d.ordering_key = r.text("ordering_key");
  d.state = r.text("state");
  d.attempts = r.integer("attempts");
  d.replayed_after = r.integer("replayed_after");
  d.next_attempt_at = r.integer("next_attempt_at");
  d.last_status = r.optional_integer("last_status");
  d.last_error = r.optional_text("last_error");
  d.delivered_at = r.optional_integer("delivered_at");
  d.created_at = r.integer("created_at");
  d.updated_at = r.integer("updated_at");
  return d;
}

std::string select_subscriptions(const char* tail) {
  return std::string("SELECT ").append(kSubscriptionColumns).append(" FROM webhook_subscriptions ").append(tail);
}

std::string select_deliveries(const char* tail) {
  return std::string("SELECT ").append(kDeliveryColumns).append(" FROM webhook_deliveries d ").append(tail);
}

// The filter's terms (every filter but the page), appended to a WHERE.
void append_filter(std::string& sql, Params& params, const DeliveryFilter& f) {
  if (f.state) {
    sql += " AND state = ?";
    params.emplace_back(*f.state);
  }
  if (f.event_type) {
    sql += " AND event_type = ?";
    params.emplace_back(*f.event_type);
  }
  if (f.webhook_id) {
    sql += " AND target_id = ?";
    params.emplace_back(*f.webhook_id);
  }
  if (f.from) {
    sql += " AND created_at >= ?";
    params.emplace_back(*f.from);
  }
  if (f.to) {
    sql += " AND created_at < ?";
    params.emplace_back(*f.to);
  }
}

}  // namespace

json to_json(const Subscription& s) {
  return {{"id", s.id},
          {"organization_id", s.organization_id},
          {"workspace_id", s.workspace_id},
          {"url", s.url},
          {"events", s.events},
          {"description", s.description},
          {"state", s.state},
          {"state_reason", opt(s.state_reason)},
          {"consecutive_failures", s.consecutive_failures},
          {"failing_since", opt(s.failing_since)},
          {"paused_at", opt(s.paused_at)},
          {"paused_by", opt(s.paused_by)},
          {"created_at", s.created_at},
          {"updated_at", s.updated_at}};
}

json to_json(const Delivery& d) {
  json payload = json::parse(d.payload, nullptr, false);
  return {{"id", d.id},
          {"workspace_id", d.workspace_id},
          {"target_kind", d.target_kind},
          {"webhook_id", d.target_id},
          {"event_id", d.event_id},
          {"event_type", d.event_type},
          {"ordering_key", d.ordering_key},
          {"state", d.state},
          {"attempts", d.attempts},
          {"next_attempt_at", d.state == "pending" || d.state == "failed" ? json(d.next_attempt_at) : json(nullptr)},
          {"last_status", opt(d.last_status)},
          {"last_error", opt(d.last_error)},
          {"delivered_at", opt(d.delivered_at)},
          {"created_at", d.created_at},
          {"updated_at", d.updated_at},
          {"payload", payload.is_discarded() ? json(d.payload) : payload}};
}

json to_json(const Attempt& a) {
  return {{"attempt", a.attempt},
          {"started_at", a.started_at},
          {"duration_ms", a.duration_ms},
          {"response_status", opt(a.response_status)},
          {"response_excerpt", a.response_excerpt},
          {"error", opt(a.error)}};
}

void insert_subscription(Connection& c, const Subscription& s) {
  c.execute(
      "INSERT INTO webhook_subscriptions (id, organization_id, workspace_id, url, events_json, secret, description, "
      "state, state_reason, consecutive_failures, failing_since, paused_at, paused_by, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {s.id, s.organization_id, s.workspace_id, s.url, s.events.dump(), s.secret, s.description, s.state,
       s.state_reason, s.consecutive_failures, s.failing_since, s.paused_at, s.paused_by, s.created_at,
       s.updated_at});
}

std::optional<Subscription> find_subscription(Connection& c, const std::string& workspace_id, const std::string& id) {
  auto row = c.query_one(select_subscriptions("WHERE id = ? AND workspace_id = ?"), {id, workspace_id});
  if (!row) return std::nullopt;
  return subscription_of(*row);
}

std::optional<Subscription> find_subscription_by_id(Connection& c, const std::string& id) {
  auto row = c.query_one(select_subscriptions("WHERE id = ?"), {id});
  if (!row) return std::nullopt;
  return subscription_of(*row);
}

store::Page<Subscription> list_subscriptions(Connection& c, const std::string& workspace_id,
                                             const store::PageRequest& page) {
  std::string sql = select_subscriptions("WHERE workspace_id = ?");
  Params params = {workspace_id};
  store::keyset::append_page_desc(sql, params, "created_at", "id", page);
  std::vector<Subscription> rows;
  for (const Row& r : c.query(sql, params)) rows.push_back(subscription_of(r));
  return store::keyset::cut(std::move(rows), page,
                            [](const Subscription& s) { return store::Cursor{s.created_at, s.id}; });
}

std::vector<Subscription> fan_out_targets(Connection& c, const std::string& workspace_id) {
  std::vector<Subscription> out;
  for (const Row& r : c.query(select_subscriptions("WHERE workspace_id = ? AND state IN ('active', 'paused') "
                                                   "ORDER BY created_at, id"),
                              {workspace_id}))
    out.push_back(subscription_of(r));
  return out;
}

void update_subscription(Connection& c, const Subscription& s) {
  c.execute(
      "UPDATE webhook_subscriptions SET url = ?, events_json = ?, secret = ?, description = ?, state = ?, "
      "state_reason = ?, consecutive_failures = ?, failing_since = ?, paused_at = ?, paused_by = ?, updated_at = ? WHERE id = ?",
      {s.url, s.events.dump(), s.secret, s.description, s.state, s.state_reason, s.consecutive_failures,
       s.failing_since, s.paused_at, s.paused_by, s.updated_at, s.id});
}

void delete_subscription(Connection& c, const Subscription& s, int64_t now) {
  c.execute(
      "UPDATE webhook_deliveries SET state = 'dead', last_error = 'the subscription was deleted', updated_at = ? "
      "WHERE target_id = ? AND target_kind = 'subscription' AND state IN ('pending', 'failed', 'delivering')",
      {now, s.id});
  c.execute("DELETE FROM webhook_subscriptions WHERE id = ?", {s.id});
}

bool any_subscription(Connection& c) {
  return c.query_one("SELECT 1 AS one FROM webhook_subscriptions LIMIT 1").has_value();
}

bool record_target_result(Connection& c, const std::string& id, bool success, int64_t pause_after,
                          int64_t pause_window_ms, int64_t now) {
  if (success) {
    c.execute(
        "UPDATE webhook_subscriptions SET consecutive_failures = 0, failing_since = NULL, updated_at = ? "
        "WHERE id = ? AND (consecutive_failures <> 0 OR failing_since IS NOT NULL)",
        {now, id});
    return false;
  }
  c.execute(
      "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1, "
      "failing_since = COALESCE(failing_since, ?), updated_at = ? WHERE id = ?",
      {now, now, id});
  const std::string reason = std::string("paused after ").append(std::to_string(pause_after)).append(
      " consecutive failed deliveries");
  return c.execute(
             "UPDATE webhook_subscriptions SET state = 'paused', paused_by = 'failures', paused_at = ?, "
             "state_reason = ?, updated_at = ? WHERE id = ? AND state = 'active' AND consecutive_failures >= ? "
             "AND failing_since <= ?",
             {now, reason, now, id, pause_after, now - pause_window_ms}) > 0;
}

int64_t resume_cooled_down(Connection& c, int64_t paused_before, int64_t pause_after, int64_t now) {
  return c.execute(
      "UPDATE webhook_subscriptions SET state = 'active', paused_by = NULL, paused_at = NULL, state_reason = NULL, "
      "consecutive_failures = ?, updated_at = ? WHERE state = 'paused' AND paused_by = 'failures' AND paused_at <= ?",
      {std::max<int64_t>(pause_after - 1, 0), now, paused_before});
}

void insert_delivery(Connection& c, const Delivery& d) {
  c.execute(
      "INSERT INTO webhook_deliveries (id, organization_id, workspace_id, target_kind, target_id, event_id, "
      "event_type, payload, ordering_key, state, attempts, replayed_after, next_attempt_at, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?)",
      {d.id, d.organization_id, d.workspace_id, d.target_kind, d.target_id, d.event_id, d.event_type, d.payload,
       d.ordering_key, d.next_attempt_at, d.created_at, d.created_at});
}

std::optional<Delivery> find_delivery(Connection& c, const std::string& workspace_id, const std::string& id) {
  auto row = c.query_one(select_deliveries("WHERE id = ? AND workspace_id = ?"), {id, workspace_id});
  if (!row) return std::nullopt;
  return delivery_of(*row);
}

std::vector<Delivery> claim_due(Connection& c, int64_t now, int64_t limit) {
  std::vector<Delivery> out;
  for (const char* state : {"pending", "failed"}) {
    if (static_cast<int64_t>(out.size()) >= limit) break;
    const auto rows = c.query(
        select_deliveries(
            "WHERE d.state = ? AND d.next_attempt_at <= ? "
            "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.target_id = d.target_id "
            "  AND o.ordering_key = d.ordering_key "
            "  AND (o.state = 'delivering' OR (o.state IN ('pending', 'failed') AND o.seq < d.seq))) "
            "AND (d.target_kind = 'dashboard' OR EXISTS (SELECT 1 FROM webhook_subscriptions s "
            "  WHERE s.id = d.target_id AND s.state = 'active')) "
            "ORDER BY d.next_attempt_at, d.seq LIMIT ?"),
        {state, now, limit - static_cast<int64_t>(out.size())});
    for (const Row& r : rows) out.push_back(delivery_of(r));
  }
  for (Delivery& d : out) {
    c.execute("UPDATE webhook_deliveries SET state = 'delivering', updated_at = ? WHERE seq = ?", {now, d.seq});
    d.state = "delivering";
  }
  return out;
}

int64_t recover_delivering(Connection& c, int64_t now) {
  return c.execute(
      "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, updated_at = ? "
      "WHERE state = 'delivering'",
      {now, now});
}

bool may_have_work(Connection& c, int64_t now, int64_t resume_before) {
  for (const char* state : {"pending", "failed"})
    if (c.query_one("SELECT 1 AS one FROM webhook_deliveries WHERE state = ? AND next_attempt_at <= ? LIMIT 1",
                    {state, now}))
      return true;
  return resume_before >= 0 &&
         c.query_one("SELECT 1 AS one FROM webhook_subscriptions WHERE state = 'paused' AND paused_by = 'failures' "
                     "AND paused_at <= ? LIMIT 1",
                     {resume_before})
             .has_value();
}

std::optional<int64_t> next_due_at(Connection& c) {
  std::optional<int64_t> out;
  for (const char* state : {"pending", "failed"}) {
    auto row = c.query_one("SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries WHERE state = ?", {state});
    if (row && !row->is_null("at")) out = out ? std::min(*out, row->integer("at")) : row->integer("at");
  }
  return out;
}

void insert_attempt(Connection& c, const Attempt& a) {
  c.execute(
      "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, response_status, "
      "response_excerpt, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
      {a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.response_status, a.response_excerpt, a.error});
}

std::vector<Attempt> attempts_of(Connection& c, const std::string& delivery_id) {
  std::vector<Attempt> out;
  for (const Row& r : c.query("SELECT delivery_id, attempt, started_at, duration_ms, response_status, "
                              "response_excerpt, error FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt",
                              {delivery_id})) {
    Attempt a;
    a.delivery_id = r.text("delivery_id");
    a.attempt = r.integer("attempt");
    a.started_at = r.integer("started_at");
    a.duration_ms = r.integer("duration_ms");
    a.response_status = r.optional_integer("response_status");
    a.response_excerpt = r.text("response_excerpt");
    a.error = r.optional_text("error");
    out.push_back(std::move(a));
  }
  return out;
}

void finish_attempt(Connection& c, const std::string& id, const std::string& state, int64_t attempts,
                    std::optional<int64_t> status, const std::optional<std::string>& error, int64_t next_attempt_at,
                    int64_t now) {
  c.execute(
      "UPDATE webhook_deliveries SET state = ?, attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ?, "
      "delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, updated_at = ? WHERE id = ?",
      {state, attempts, status, error, next_attempt_at, state, now, now, id});
}

store::Page<Delivery> list_deliveries(Connection& c, const std::string& workspace_id, const DeliveryFilter& f,
                                      const store::PageRequest& page) {
  std::string sql = select_deliveries("WHERE workspace_id = ?");
  Params params = {workspace_id};
  append_filter(sql, params, f);
  store::keyset::append_page_desc(sql, params, "created_at", "id", page);
  std::vector<Delivery> rows;
  for (const Row& r : c.query(sql, params)) rows.push_back(delivery_of(r));
  return store::keyset::cut(std::move(rows), page, [](const Delivery& d) { return store::Cursor{d.created_at, d.id}; });
}

bool replay(Connection& c, const Delivery& d, int64_t now) {
  return c.execute(
             "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, replayed_after = attempts, "
             "updated_at = ? WHERE id = ? AND state <> 'delivering'",
             {now, now, d.id}) > 0;
}

int64_t replay_range(Connection& c, const std::string& workspace_id, const DeliveryFilter& f, int64_t now,
                     int64_t limit) {
  std::string sql =
      "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, replayed_after = attempts, updated_at = ? "
      "WHERE seq IN (SELECT seq FROM webhook_deliveries WHERE workspace_id = ? AND state <> 'delivering'";
  Params params = {now, now, workspace_id};
  append_filter(sql, params, f);
  sql += " ORDER BY seq LIMIT ?)";
  params.emplace_back(limit);
  return c.execute(sql, params);
}

int64_t queue_depth(Connection& c) {
  return c.query_one("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state IN ('pending', 'delivering', 'failed')")
      ->integer("n");
}

}  // namespace sb::webhooks::repo

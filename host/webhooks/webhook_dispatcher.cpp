#include "webhooks/webhook_dispatcher.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "plugins/http_client.hpp"
#include "webhooks/signature.hpp"
#include "webhooks/webhook_events.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace sb::webhooks {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr size_t kExcerpt = 256;

std::optional<int64_t> env_int(const char* name, int64_t min, int64_t max) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n < min || n > max)
    throw Error(ErrorCode::invalid_argument, std::string(name) + " must be a whole number from " +
                                                 std::to_string(min) + " to " + std::to_string(max));
  return n;
}

// Every delivery row one event gives, written in the fan-out job.
void fan_out(store::Connection& c, const Event& e, const std::vector<WebhookEvent>& events,
             const std::string& event_id, int64_t now) {
  auto ws = c.query_one("SELECT organization_id FROM workspaces WHERE id = ?", {e.workspace_id});
  if (!ws) return;
  const std::string org = ws->text("organization_id");
  const auto subscriptions = repo::fan_out_targets(c, e.workspace_id);
  const bool dashboard =
      c.query_one("SELECT 1 AS one FROM dashboards WHERE organization_id = ? AND status = 'active'", {org})
          .has_value();
  const int64_t at = e.at_ms ? e.at_ms : now;
  for (const WebhookEvent& ev : events) {
    repo::Delivery d;
    d.organization_id = org;
    d.workspace_id = e.workspace_id;
    d.event_id = event_id;
    d.event_type = ev.type;
    d.ordering_key = ordering_key_of(ev, e.profile_id, event_id);
    d.next_attempt_at = now;
    d.created_at = now;
    for (const repo::Subscription& s : subscriptions) {
      if (!filter_matches(s.events, ev.type)) continue;
      d.id = new_id("msg");
      d.target_kind = "subscription";
      d.target_id = s.id;
      d.payload = delivery_body(ev, at, org, e.workspace_id, false);
      repo::insert_delivery(c, d);
    }
    if (dashboard) {
      d.id = new_id("msg");
      d.target_kind = "dashboard";
      d.target_id = org;
      d.payload = delivery_body(ev, at, org, e.workspace_id, true);
      repo::insert_delivery(c, d);
    }
  }
}

std::optional<int64_t> retry_after_ms(const json& headers) {
  if (!headers.is_object()) return std::nullopt;
  for (const auto& [name, value] : headers.items()) {
    if (name.size() != 11 || !value.is_string()) continue;
    std::string lower = name;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower != "retry-after") continue;
    const std::string v = value.get<std::string>();
    char* end = nullptr;
    const long long s = std::strtoll(v.c_str(), &end, 10);
    if (end != v.c_str() && *end == '\0' && s >= 0) return std::min<int64_t>(s, 3600) * 1000;
  }
  return std::nullopt;
}

}  // namespace

void WebhookDispatcher::Signal::notify() {
  {
    std::lock_guard<std::mutex> lock(mu);
    ++generation;
  }
  cv.notify_all();
}

DispatcherOptions DispatcherOptions::from_environment() {
  DispatcherOptions o;
  if (const char* s = std::getenv("SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE"); s && *s) o.schedule = RetrySchedule::parse(s);
  if (auto v = env_int("SWITCHBOARD_WEBHOOK_TIMEOUT_MS", 1, 300000)) o.timeout = milliseconds(*v);
  if (auto v = env_int("SWITCHBOARD_WEBHOOK_PAUSE_AFTER", 1, 1000000)) o.pause_after_failures = *v;
  if (auto v = env_int("SWITCHBOARD_WEBHOOK_PAUSE_WINDOW_MS", 0, int64_t{1} << 40)) o.pause_window = milliseconds(*v);
  if (auto v = env_int("SWITCHBOARD_WEBHOOK_RESUME_AFTER_MS", 0, int64_t{1} << 40)) o.resume_after = milliseconds(*v);
  if (auto v = env_int("SWITCHBOARD_WEBHOOK_SENDERS", 1, 64)) o.senders = static_cast<int>(*v);
  return o;
}

WebhookDispatcher::WebhookDispatcher(store::Database& db, EventBus& bus, tenancy::Dashboards& dashboards,
                                     const tenancy::SecretBox& secrets, DispatcherOptions options)
    : db_(db), dashboards_(dashboards), secrets_(secrets), options_(std::move(options)) {
  const int64_t t = now();
  const int64_t recovered = db_.write([&](store::Connection& c) { return repo::recover_delivering(c, t); });
  if (recovered > 0) spdlog::info("webhooks: {} deliveries interrupted by a stop are pending again", recovered);
  any_subscription_ = db_.read([](store::Connection& c) { return repo::any_subscription(c); });
  sub_ = bus.subscribe("*", [this](const Event& e) { on_event(e); });
  for (int i = 0; i < options_.senders; ++i) threads_.emplace_back([this] { sender_loop(); });
}

WebhookDispatcher::~WebhookDispatcher() { stop(); }

void WebhookDispatcher::stop() {
  sub_ = EventBus::Subscription();
  {
    std::lock_guard<std::mutex> lock(signal_->mu);
    signal_->stopping = true;
  }
  signal_->cv.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void WebhookDispatcher::wake() { signal_->notify(); }

void WebhookDispatcher::subscriptions_changed() {
  any_subscription_ = true;
  wake();
}

int64_t WebhookDispatcher::now() const { return options_.clock ? options_.clock() : now_ms(); }

WebhookDispatcher::Stats WebhookDispatcher::stats() const {
  return {delivered_.load(), failed_attempts_.load(), dead_.load(), paused_.load()};
}

void WebhookDispatcher::on_event(const Event& event) {
  if (event.workspace_id.empty()) return;
  // A host with neither subscriptions nor dashboards pays nothing here.
  if (!any_subscription_.load(std::memory_order_relaxed) && dashboards_.none_registered()) return;
  std::vector<WebhookEvent> events = webhook_events_of(event);
  if (events.empty()) return;
  const std::string event_id = new_id("evt");
  const int64_t t = now();
  std::shared_ptr<Signal> signal = signal_;
  db_.write_async(
      [event, events = std::move(events), event_id, t](store::Connection& c) { fan_out(c, event, events, event_id, t); },
      [signal, type = event.type](std::exception_ptr error) {
        if (!error) {
          signal->notify();
          return;
        }
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          spdlog::error("webhooks: the deliveries of a {} event could not be queued: {}", type, e.what());
        }
      });
}

repo::Delivery WebhookDispatcher::queue_test(const repo::Subscription& s) {
  const int64_t t = now();
  const std::string event_id = new_id("evt");
  const WebhookEvent ev{kTestEvent, {{"webhook_id", s.id}, {"message", "a test delivery from Switchboard"}}};
  repo::Delivery d;
  d.id = new_id("msg");
  d.organization_id = s.organization_id;
  d.workspace_id = s.workspace_id;
  d.target_kind = "subscription";
  d.target_id = s.id;
  d.event_id = event_id;
  d.event_type = kTestEvent;
  d.payload = delivery_body(ev, t, s.organization_id, s.workspace_id, false);
  d.ordering_key = event_id;
  d.next_attempt_at = t;
  d.created_at = d.updated_at = t;
  db_.write([&](store::Connection& c) { repo::insert_delivery(c, d); });
  wake();
  return d;
}

std::vector<repo::Delivery> WebhookDispatcher::claim(int64_t limit) {
  const int64_t t = now();
  return db_.write([&](store::Connection& c) {
    if (options_.resume_after.count() > 0) {
      const int64_t resumed =
          repo::resume_cooled_down(c, t - options_.resume_after.count(), options_.pause_after_failures, t);
      if (resumed > 0) spdlog::info("webhooks: {} paused subscriptions probed again after their cool-down", resumed);
    }
    return repo::claim_due(c, t, limit);
  });
}

bool WebhookDispatcher::may_have_work() {
  const int64_t t = now();
  const int64_t resume_before = options_.resume_after.count() > 0 ? t - options_.resume_after.count() : -1;
  return db_.read([&](store::Connection& c) { return repo::may_have_work(c, t, resume_before); });
}

int WebhookDispatcher::deliver_due() {
  int attempts = 0;
  while (true) {
    // One at a time, like a sender: a row claimed after a pause is not sent.
    const auto batch = claim(1);
    if (batch.empty()) return attempts;
    for (const auto& d : batch) {
      attempt(d);
      ++attempts;
    }
  }
}

void WebhookDispatcher::sender_loop() {
  while (true) {
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(signal_->mu);
      if (signal_->stopping) return;
      generation = signal_->generation;
    }
    std::vector<repo::Delivery> batch;
    try {
      // A read first: an idle host runs no write job per poll.
      if (may_have_work()) batch = claim(1);
    } catch (const std::exception& e) {
      spdlog::error("webhooks: claiming deliveries failed: {}", e.what());
    }
    if (!batch.empty()) {
      for (const auto& d : batch) attempt(d);
      continue;
    }
    // Nothing could be claimed: sleep until the next retry is due, or a
    // poll at most (rows that are due but wait behind a paused endpoint or
    // an earlier row of their conversation are not a reason to spin).
    milliseconds wait = options_.poll;
    try {
      const int64_t t = now();
      if (auto due = db_.read([](store::Connection& c) { return repo::next_due_at(c); }); due && *due > t)
        wait = std::min(milliseconds(*due - t), options_.poll);
    } catch (const std::exception&) {
    }
    std::unique_lock<std::mutex> lock(signal_->mu);
    signal_->cv.wait_for(lock, wait, [&] { return signal_->stopping || signal_->generation != generation; });
  }
}

void WebhookDispatcher::attempt(const repo::Delivery& d) {
  // Where it goes and the secret it is signed with, as they are now (a
  // rotated secret or a changed URL applies to retries too).
  std::string url, secret, gone;
  try {
    if (d.target_kind == "dashboard") {
      auto dashboard = dashboards_.find(d.target_id);
      if (!dashboard || dashboard->status != "active") {
        gone = "the agency's dashboard is no longer registered and active";
      } else {
        url = dashboard->url;
        secret = dashboards_.webhook_secret(*dashboard);
      }
    } else {
      auto s = db_.read([&](store::Connection& c) { return repo::find_subscription_by_id(c, d.target_id); });
      if (!s) {
        gone = "the subscription was deleted";
      } else {
        url = s->url;
        secret = secrets_.open(s->secret);
      }
    }
  } catch (const std::exception& e) {
    gone = std::string("the endpoint's secret cannot be opened: ").append(e.what());
  }

  repo::Attempt a;
  a.delivery_id = d.id;
  a.attempt = d.attempts + 1;
  a.started_at = now();
  bool success = false, disable = false;
  std::optional<int64_t> retry_after;
  if (gone.empty()) {
    const int64_t ts = a.started_at / 1000;
    const json request = {{"method", "POST"},
                          {"url", url},
                          {"headers",
                           {{"content-type", "application/json"},
                            {"user-agent", "Switchboard-Webhooks/1"},
                            {"webhook-id", d.id},
                            {"webhook-timestamp", std::to_string(ts)},
                            {"webhook-signature", standard_webhook_signature(secret, d.id, ts, d.payload)}}},
                          {"body", d.payload},
                          {"timeout_ms", options_.timeout.count()}};
    const auto started = std::chrono::steady_clock::now();
    try {
      const json res = plugins::perform_http_request(request);
      const int status = res.value("status", 0);
      a.response_status = status;
      a.response_excerpt = res.value("body", std::string()).substr(0, kExcerpt);
      success = status >= 200 && status < 300;
      if (!success) a.error = "HTTP " + std::to_string(status);
      disable = status == 410 && d.target_kind == "subscription";
      if (status == 429 || status == 503) retry_after = retry_after_ms(res.value("headers", json::object()));
    } catch (const std::exception& e) {
      a.error = e.what();
    }
    a.duration_ms =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
  } else {
    a.error = gone;
  }

  const int64_t done_at = now();
  std::string state = "delivered";
  int64_t next_at = done_at;
  if (!success) {
    auto next = gone.empty() && !disable
                    ? next_attempt_at(options_.schedule, a.attempt - d.replayed_after, done_at)
                    : std::nullopt;
    if (next && retry_after) next = std::max(*next, done_at + *retry_after);
    state = next ? "failed" : "dead";
    if (next) next_at = *next;
  }
  bool paused = false;
  try {
    paused = db_.write([&](store::Connection& c) {
      repo::insert_attempt(c, a);
      repo::finish_attempt(c, d.id, state, a.attempt, a.response_status, a.error, next_at, done_at);
      if (d.target_kind != "subscription" || !gone.empty()) return false;
      if (disable) {
        c.execute(
            "UPDATE webhook_subscriptions SET state = 'disabled', state_reason = 'the endpoint answered 410 Gone', "
            "updated_at = ? WHERE id = ?",
            {done_at, d.target_id});
        return false;
      }
      return repo::record_target_result(c, d.target_id, success, options_.pause_after_failures,
                                        options_.pause_window.count(), done_at);
    });
  } catch (const std::exception& e) {
    // The row stays delivering; the next start puts it back to pending.
    spdlog::error("webhooks: the outcome of delivery {} could not be recorded: {}", d.id, e.what());
    return;
  }
  if (success) {
    ++delivered_;
  } else {
    ++failed_attempts_;
    if (state == "dead") ++dead_;
    spdlog::warn("webhooks: delivery {} ({}) to {} {} failed (attempt {}): {}{}", d.id, d.event_type, d.target_kind,
                 d.target_id, a.attempt, a.error.value_or("?"), state == "dead" ? "; given up" : "");
  }
  if (paused) {
    ++paused_;
    spdlog::warn("webhooks: subscription {} paused after {} failed deliveries in a row", d.target_id,
                 options_.pause_after_failures);
  }
  if (disable) spdlog::warn("webhooks: subscription {} disabled: its endpoint answered 410 Gone", d.target_id);
  // The next row of this (target, key) may be due now.
  wake();
}

}  // namespace sb::webhooks

#pragma once
// A WebhookDispatcher over a real database with no sender threads and a
// clock the test moves: deliver_due() runs what is due "now".
#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "store/tenancy_repository.hpp"
#include "support/store_test_host.hpp"
#include "tenancy/api_keys.hpp"
#include "tenancy/crypto.hpp"
#include "tenancy/dashboards.hpp"
#include "unit/webhooks/loopback_receiver.hpp"
#include "webhooks/signature.hpp"
#include "webhooks/webhook_dispatcher.hpp"
#include "webhooks/webhook_store.hpp"

#include <atomic>
#include <memory>

namespace sb::test {

struct DispatcherFixture {
  explicit DispatcherFixture(webhooks::DispatcherOptions o = {}) {
    db = host.open();
    db->write([](store::Connection& c) {
      for (const char* t : {"a", "b"}) {
        const std::string org = std::string(t).append("-org"), ws = std::string(t).append("-ws");
        store::tenancy::ensure_organization(c, {org, org, 1}, 1);
        store::tenancy::ensure_workspace(c, {ws, org, ws, "UTC", 1}, 1);
      }
    });
    keys = std::make_unique<tenancy::ApiKeys>(*db);
    dashboards = std::make_unique<tenancy::Dashboards>(*db, *keys, box);
    options = std::move(o);
    options.senders = 0;
    options.timeout = std::chrono::milliseconds(500);
    options.clock = [this] { return clock.load(); };
    start();
  }
  ~DispatcherFixture() {
    dispatcher.reset();
    dashboards.reset();
    keys.reset();
    db.reset();
  }

  void start() { dispatcher = std::make_unique<webhooks::WebhookDispatcher>(*db, bus, *dashboards, box, options); }

  // A subscription of workspace `ws` ("a-ws", "b-ws"); returns it with its clear secret.
  std::pair<webhooks::repo::Subscription, std::string> subscribe(const std::string& ws, const std::string& url,
                                                                  nlohmann::json events = "*") {
    webhooks::repo::Subscription s;
    s.id = new_id("wh");
    s.organization_id = ws.substr(0, ws.size() - 3) + "-org";
    s.workspace_id = ws;
    s.url = url;
    s.events = std::move(events);
    const std::string secret = webhooks::new_webhook_secret();
    s.secret = box.seal(secret);
    s.created_at = s.updated_at = clock.load();
    db->write([&](store::Connection& c) { webhooks::repo::insert_subscription(c, s); });
    dispatcher->subscriptions_changed();
    return {s, secret};
  }

  // Publishes and waits until its fan-out job has committed (a write job
  // queued after it runs after it).
  void publish(const std::string& type, const std::string& ws, nlohmann::json data, const std::string& profile = "p1") {
    bus.publish(Event{type, ws, profile, std::move(data), clock.load()});
    db->write([](store::Connection&) {});
  }

  webhooks::repo::Subscription subscription(const std::string& id) {
    return *db->read([&](store::Connection& c) { return webhooks::repo::find_subscription_by_id(c, id); });
  }
  std::vector<webhooks::repo::Delivery> deliveries(const std::string& ws) {
    webhooks::repo::DeliveryFilter f;
    store::PageRequest page;
    page.limit = 1000;
    auto p = db->read([&](store::Connection& c) { return webhooks::repo::list_deliveries(c, ws, f, page); });
    std::reverse(p.items.begin(), p.items.end());  // oldest first
    return p.items;
  }

  StoreTestHost host;
  std::unique_ptr<store::Database> db;
  EventBus bus;
  tenancy::SecretBox box{std::string(32, 'k')};
  std::unique_ptr<tenancy::ApiKeys> keys;
  std::unique_ptr<tenancy::Dashboards> dashboards;
  webhooks::DispatcherOptions options;
  std::atomic<int64_t> clock{1'700'000'000'000};
  std::unique_ptr<webhooks::WebhookDispatcher> dispatcher;
};

}  // namespace sb::test

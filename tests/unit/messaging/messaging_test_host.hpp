#pragma once
// A host for messaging tests: one "process" over a data directory — the
// real sandbox channel, the flaky fixture channel and storage-sqlite loaded
// from the build tree, a real SQLite file, the event bus and Messaging.
// Destroy one MessagingHost and build another over the same directory to
// simulate a restart. Members are destroyed in reverse order: Messaging
// first (sessions, then their routes), the scheduler last.
#include "support/eventually.hpp"
#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "core/scheduler.hpp"
#include "messaging/messaging.hpp"
#include "plugins/host_services.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"
#include "store/profile_repository.hpp"
#include "store/tenancy_repository.hpp"
#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sb::test {

inline constexpr const char* kOrg = "org_msgtest";
inline constexpr const char* kWorkspace = "ws_msgtest";

// Fast retries and no periodic housekeeping: tests wait on what they cause.
inline messaging::MessagingOptions fast_messaging_options() {
  messaging::MessagingOptions o;
  o.outbox.base_backoff = std::chrono::milliseconds(40);
  o.outbox.max_backoff = std::chrono::milliseconds(400);
  o.outbox.max_attempts = 5;
  o.housekeeping_interval = std::chrono::milliseconds(0);
  return o;
}

// Records every event of some types published on a bus.
class EventRecorder {
 public:
  EventRecorder(EventBus& bus, const std::vector<std::string>& types) {
    for (const std::string& type : types)
      subscriptions_.push_back(bus.subscribe(type, [this](const Event& e) {
        std::lock_guard lock(mu_);
        events_.push_back(e);
      }));
  }
  std::vector<Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<Event> of_type(const std::string& type) const {
    std::vector<Event> out;
    for (const Event& e : events())
      if (e.type == type) out.push_back(e);
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
  std::vector<EventBus::Subscription> subscriptions_;
};

class MessagingHost {
 public:
  explicit MessagingHost(const std::filesystem::path& data_dir,
                         messaging::MessagingOptions options = fast_messaging_options()) {
    registry.discover({SB_PLUGIN_DIR, std::filesystem::path(SB_TEST_PLUGIN_DIR) / "messaging-flaky-channel"});
    store::DatabaseOptions db_options;
    db_options.config = {{"path", (data_dir / "switchboard.db").string()}};
    db_options.readers = 2;
    db = store::Database::open(registry, db_options);
    messaging = std::make_unique<messaging::Messaging>(registry, *db, bus, scheduler, std::move(options));
    services.set_event_sink(&messaging->event_sink());
  }
  ~MessagingHost() {
    messaging->stop();
    messaging.reset();
    services.set_event_sink(nullptr);
  }

  // The organization and workspace every test profile lives in.
  void seed_tenant() {
    db->write([](store::Connection& c) {
      const int64_t now = now_ms();
      store::tenancy::ensure_organization(c, {kOrg, "Messaging tests", 0}, now);
      store::tenancy::ensure_workspace(c, {kWorkspace, kOrg, "Messaging tests", "UTC", 0}, now);
    });
  }

  // A profile bound to `plugin` with `config`.
  void seed_profile(const std::string& id, const std::string& plugin = "channel-sandbox",
                    nlohmann::json config = nlohmann::json::object()) {
    seed_tenant();
    db->write([&](store::Connection& c) {
      store::Profile p;
      p.id = id;
      p.organization_id = kOrg;
      p.workspace_id = kWorkspace;
      p.name = "Test profile " + id;
      p.channel_plugin = plugin;
      p.config = std::move(config);
      store::profiles::create(c, std::move(p), now_ms());
    });
  }

  // POST /hooks/channel-sandbox/<profile>/inbound with `body`.
  plugins::HookResponse inject(const std::string& profile, const nlohmann::json& body) {
    plugins::HookRequest req{.method = "POST",
                             .path = "inbound",
                             .headers = {{"content-type", "application/json"}},
                             .body = body.dump()};
    return services.dispatch_hook("channel-sandbox", profile, req);
  }

  // GET /hooks/<plugin>/<profile>/<path>, parsed.
  nlohmann::json get_hook(const std::string& plugin, const std::string& profile, const std::string& path) {
    plugins::HookRequest req{.method = "GET", .path = path};
    return nlohmann::json::parse(services.dispatch_hook(plugin, profile, req).body);
  }

  // What the sandbox channel of `profile` was asked to send.
  nlohmann::json sandbox_outbound(const std::string& profile) {
    return get_hook("channel-sandbox", profile, "outbound")["messages"];
  }

  int64_t count(const std::string& sql, const store::Params& params = {}) {
    return db->read([&](store::Connection& c) { return c.query_one(sql, params)->integer("n"); });
  }

  std::optional<store::Row> row(const std::string& sql, const store::Params& params = {}) {
    return db->read([&](store::Connection& c) { return c.query_one(sql, params); });
  }

  Scheduler scheduler{2};
  plugins::HostServices services{scheduler};
  plugins::PluginRegistry registry{services};
  std::unique_ptr<store::Database> db;
  EventBus bus;
  std::unique_ptr<messaging::Messaging> messaging;
};

}  // namespace sb::test

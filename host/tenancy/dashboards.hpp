#pragma once
// The dashboard registry of the multi-dashboard architecture: a dashboard
// (a third-party SaaS front end) registers for one agency with the internal
// pre-shared key and receives an API key bound to that agency.
//
// Mapping: agencyId -> organization id, tenantId -> workspace id (the
// dashboard's own ids are used as ours, so it never has to keep a table).
// Registering an agency that does not exist yet creates its organization.
// Registering again (a re-install) replaces the URL and secret and issues a
// new key; the old key is revoked. A suspended dashboard's key is refused
// with 403 until an engine admin activates it again.
//
// Threads: stateless over the database; safe from any thread.
#include "store/database.hpp"
#include "tenancy/access.hpp"
#include "tenancy/api_keys.hpp"
#include "tenancy/crypto.hpp"
#include "tenancy/identity_store.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <vector>

namespace sb::tenancy {

struct DashboardRegistration {
  std::string agency_id;
  std::string name;
  std::string url;
  std::string webhook_secret;  // at least 32 characters
};

struct DashboardPatch {
  std::optional<std::string> name;
  std::optional<std::string> url;
  std::optional<std::string> webhook_secret;
};

class Dashboards {
 public:
  // Reads how many dashboards are registered (none_registered()).
  Dashboards(store::Database& db, ApiKeys& keys, const SecretBox& secrets);

  // Returns the dashboard and its new key ("sbk_...", shown once).
  std::pair<Dashboard, std::string> register_dashboard(const DashboardRegistration& r, const RequestContext& ctx);
  std::optional<Dashboard> find(const std::string& agency_id);
  Dashboard update(const std::string& agency_id, const DashboardPatch& patch, const RequestContext& ctx);
  std::vector<Dashboard> list();
  // "active" | "suspended"; audited as dashboard.suspended / dashboard.activated.
  Dashboard set_status(const Principal& by, const std::string& agency_id, const std::string& status,
                       const RequestContext& ctx);
  // True while no dashboard was ever registered with this database: lets
  // the event path skip all dashboard work on a host that has none. Cheap
  // (one atomic load); any thread.
  bool none_registered() const { return !any_.load(std::memory_order_relaxed); }
  // Is `origin` ("https://app.example.com") the origin of an active
  // dashboard's URL? Asked for every browser request (CORS), so answered
  // from a set refreshed at most every 2 s and at once after a change made
  // through this object.
  bool is_active_origin(const std::string& origin);
  // The webhook secret in clear, for signing deliveries.
  std::string webhook_secret(const Dashboard& d) const { return secrets_.open(d.webhook_secret); }

  // Checks of the registration fields; invalid_argument naming the field.
  static void check_agency_id(const std::string& id, const char* field);
  static void check_url(const std::string& url, const char* field);
  static void check_secret(const std::string& secret, const char* field);

 private:
  store::Database& db_;
  ApiKeys& keys_;
  const SecretBox& secrets_;
  std::atomic<bool> any_{false};
  void origins_changed();
  std::mutex origins_mu_;  // guards the two below
  std::set<std::string> origins_;
  std::chrono::steady_clock::time_point origins_at_{};  // epoch: stale
};

// "https://app.example.com/x" -> "https://app.example.com" (for CORS).
std::string origin_of(const std::string& url);

}  // namespace sb::tenancy

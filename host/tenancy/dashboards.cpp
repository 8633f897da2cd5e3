#include "tenancy/dashboards.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/tenancy_repository.hpp"
#include "tenancy/accounts.hpp"

#include <regex>

namespace sb::tenancy {
namespace {

Error agency_not_found(const std::string& id) {
  return Error(ErrorCode::not_found, "no dashboard is registered for agency " + id, {{"field", "agencyId"}});
}

const Principal kRegistry{Principal::Kind::engine, "internal-psk", "", "", {}, true, ""};

}  // namespace

std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? url : url.substr(0, slash);
}

Dashboards::Dashboards(store::Database& db, ApiKeys& keys, const SecretBox& secrets)
    : db_(db), keys_(keys), secrets_(secrets) {
  any_ = !list().empty();
}

void Dashboards::check_agency_id(const std::string& id, const char* field) {
  static const std::regex kId("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
  if (!std::regex_match(id, kId))
    throw Error(ErrorCode::invalid_argument,
                std::string("\"") + field + "\" must be 1 to 64 letters, digits, '.', '_' or '-'", {{"field", field}});
}

void Dashboards::check_url(const std::string& url, const char* field) {
  static const std::regex kUrl(R"(^https?://[^\s/?#]+(/[^\s]*)?$)");
  if (url.size() > 2000 || !std::regex_match(url, kUrl))
    throw Error(ErrorCode::invalid_argument, std::string("\"") + field + "\" must be an http(s) URL",
                {{"field", field}});
}

void Dashboards::check_secret(const std::string& secret, const char* field) {
  if (secret.size() < 32 || secret.size() > 512)
    throw Error(ErrorCode::invalid_argument, std::string("\"") + field + "\" must be at least 32 characters",
                {{"field", field}});
}

std::pair<Dashboard, std::string> Dashboards::register_dashboard(const DashboardRegistration& r,
                                                                 const RequestContext& ctx) {
  check_agency_id(r.agency_id, "agencyId");
  if (r.name.empty() || r.name.size() > 200)
    throw Error(ErrorCode::invalid_argument, "\"dashboardName\" must be 1 to 200 characters",
                {{"field", "dashboardName"}});
  check_url(r.url, "dashboardUrl");
  check_secret(r.webhook_secret, "webhookSecret");
  const std::string sealed = secrets_.seal(r.webhook_secret);
  std::string key_secret;
  Dashboard d = db_.write([&](store::Connection& c) {
    const int64_t now = now_ms();
    store::tenancy::ensure_organization(c, {r.agency_id, r.name, now}, now);
    auto previous = identity::find_dashboard(c, r.agency_id);
    if (previous) identity::revoke_api_key(c, previous->api_key_id, now);
    // The key is made in this job through the same path as any key.
    ApiKey k;
    k.id = new_id("key");
    k.organization_id = r.agency_id;
    k.name = "dashboard " + r.name;
    k.scopes = {Scope::read, Scope::send, Scope::manage};
    k.kind = "dashboard";
    k.created_by = "engine:internal-psk";
    k.created_at = now;
    const std::string secret = random_token(32);
    k.secret_hash = sha256_hex(secret);
    key_secret = format_api_key(k.id, secret);
    identity::insert_api_key(c, k);
    Dashboard out;
    out.organization_id = r.agency_id;
    out.name = r.name;
    out.url = r.url;
    out.webhook_secret = sealed;
    out.api_key_id = k.id;
    out.status = "active";
    out.created_at = previous ? previous->created_at : now;
    out.updated_at = now;
    identity::upsert_dashboard(c, out);
    identity::append_audit(c, audit_entry(&kRegistry, ctx, "dashboard.registered", r.agency_id, "", "dashboard",
                                          r.agency_id, {{"url", r.url}, {"api_key_id", k.id}, {"again", bool(previous)}}));
    return out;
  });
  any_ = true;
  origins_changed();
  return {d, key_secret};
}

std::optional<Dashboard> Dashboards::find(const std::string& agency_id) {
  return db_.read([&](store::Connection& c) { return identity::find_dashboard(c, agency_id); });
}

Dashboard Dashboards::update(const std::string& agency_id, const DashboardPatch& patch, const RequestContext& ctx) {
  if (patch.name && (patch.name->empty() || patch.name->size() > 200))
    throw Error(ErrorCode::invalid_argument, "\"dashboardName\" must be 1 to 200 characters",
                {{"field", "dashboardName"}});
  if (patch.url) check_url(*patch.url, "dashboardUrl");
  if (patch.webhook_secret) check_secret(*patch.webhook_secret, "webhookSecret");
  const std::optional<std::string> sealed =
      patch.webhook_secret ? std::optional<std::string>(secrets_.seal(*patch.webhook_secret)) : std::nullopt;
  Dashboard out = db_.write([&](store::Connection& c) {
    auto d = identity::find_dashboard(c, agency_id);
    if (!d) throw agency_not_found(agency_id);
    if (patch.name) d->name = *patch.name;
    if (patch.url) d->url = *patch.url;
    if (sealed) d->webhook_secret = *sealed;
    d->updated_at = now_ms();
    identity::upsert_dashboard(c, *d);
    nlohmann::json changed = nlohmann::json::array();
    if (patch.name) changed.push_back("dashboardName");
    if (patch.url) changed.push_back("dashboardUrl");
    if (patch.webhook_secret) changed.push_back("webhookSecret");
    identity::append_audit(c, audit_entry(&kRegistry, ctx, "dashboard.updated", agency_id, "", "dashboard", agency_id,
                                          {{"changed", changed}}));
    return *d;
  });
  origins_changed();
  return out;
}

void Dashboards::origins_changed() {
  std::lock_guard<std::mutex> lock(origins_mu_);
  origins_at_ = {};
}

bool Dashboards::is_active_origin(const std::string& origin) {
  if (none_registered()) return false;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(origins_mu_);
  if (now - origins_at_ > std::chrono::seconds(2)) {
    origins_.clear();
    for (const auto& d : list())
      if (d.status == "active") origins_.insert(origin_of(d.url));
    origins_at_ = now;
  }
  return origins_.count(origin) > 0;
}

std::vector<Dashboard> Dashboards::list() {
  return db_.read([](store::Connection& c) { return identity::list_dashboards(c); });
}

Dashboard Dashboards::set_status(const Principal& by, const std::string& agency_id, const std::string& status,
                                 const RequestContext& ctx) {
  Dashboard out = db_.write([&](store::Connection& c) {
    auto d = identity::find_dashboard(c, agency_id);
    if (!d) throw agency_not_found(agency_id);
    if (d->status != status) {
      identity::set_dashboard_status(c, agency_id, status, now_ms());
      identity::append_audit(c, audit_entry(&by, ctx, status == "suspended" ? "dashboard.suspended"
                                                                             : "dashboard.activated",
                                            agency_id, "", "dashboard", agency_id));
    }
    return *identity::find_dashboard(c, agency_id);
  });
  origins_changed();
  return out;
}

}  // namespace sb::tenancy

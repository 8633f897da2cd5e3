#include "tenancy/access.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "tenancy/crypto.hpp"

namespace sb::tenancy {
namespace {

constexpr int64_t kTouchEveryMs = 60 * 1000;

Error not_found_workspace(const std::string& id) {
  return Error(ErrorCode::not_found, "workspace " + id + " not found", {{"field", "workspace_id"}});
}

Role role_for_scopes(const std::vector<Scope>& scopes) {
  Role r = Role::viewer;
  for (Scope s : scopes) {
    if (s == Scope::manage) r = Role::admin;
    else if (s == Scope::send && r == Role::viewer) r = Role::operator_;
  }
  return r;
}

}  // namespace

std::string Principal::actor_type() const {
  switch (kind) {
    case Kind::engine: return "engine";
    case Kind::user: return "user";
    case Kind::api_key: return "api_key";
    case Kind::dashboard: return "dashboard";
  }
  return "user";
}

std::string format_api_key(const std::string& id, const std::string& secret) { return "sbk_" + id + "_" + secret; }

bool split_api_key(const std::string& presented, std::string& id, std::string& secret) {
  // "sbk_" + "key_<26>" + "_" + secret
  if (presented.rfind("sbk_key_", 0) != 0 || presented.size() > 256) return false;
  const auto sep = presented.find('_', 8);
  if (sep == std::string::npos) return false;
  id = presented.substr(4, sep - 4);
  secret = presented.substr(sep + 1);
  return !secret.empty();
}

AccessControl::AccessControl(store::Database& db, const AccessTokens& tokens, AccessOptions options)
    : db_(db), tokens_(tokens), options_(std::move(options)) {}

bool AccessControl::check_psk(const std::string& authorization) const {
  if (!options_.internal_psk || options_.internal_psk->empty())
    throw Error(ErrorCode::unavailable,
                "dashboard registration is off: set WORKFLOW_ENGINE_INTERNAL_PSK to enable it");
  const std::string prefix = "PSK ";
  if (authorization.rfind(prefix, 0) != 0) return false;
  return constant_time_equal(authorization.substr(prefix.size()), *options_.internal_psk);
}

Principal AccessControl::authenticate(const std::function<std::string(const std::string&)>& header) {
  const std::string authorization = header("authorization");
  if (!authorization.empty()) {
    const std::string bearer = "Bearer ";
    if (authorization.rfind(bearer, 0) != 0)
      throw Error(ErrorCode::unauthorized, "the Authorization header must be \"Bearer <access token>\"");
    std::string why;
    auto claims = tokens_.verify(authorization.substr(bearer.size()), &why);
    if (!claims) throw Error(ErrorCode::unauthorized, "the access token is refused: " + why);
    auto user = db_.read([&](store::Connection& c) { return identity::find_user(c, claims->user_id); });
    if (!user) throw Error(ErrorCode::unauthorized, "the access token is refused: its user no longer exists");
    if (user->disabled) throw Error(ErrorCode::forbidden, "this user is disabled");
    Principal p;
    p.kind = Principal::Kind::user;
    p.id = user->id;
    p.email = user->email;
    p.engine_admin = user->engine_admin;
    return p;
  }
  const std::string key = header("x-api-key");
  if (!key.empty()) {
    if (options_.engine_api_key && !options_.engine_api_key->empty() &&
        constant_time_equal(key, *options_.engine_api_key)) {
      Principal p;
      p.kind = Principal::Kind::engine;
      p.id = "engine";
      p.engine_admin = true;
      return p;
    }
    return authenticate_key(key);
  }
  throw Error(ErrorCode::unauthorized,
              "authentication required: send \"Authorization: Bearer <access token>\" or \"X-API-Key: <key>\"");
}

Principal AccessControl::authenticate_key(const std::string& presented) {
  std::string id, secret;
  const Error refused(ErrorCode::unauthorized, "the API key is not valid");
  if (!split_api_key(presented, id, secret)) throw refused;
  auto found = db_.read([&](store::Connection& c) -> std::optional<std::pair<ApiKey, std::optional<Dashboard>>> {
    auto k = identity::find_api_key(c, id);
    if (!k) return std::nullopt;
    std::optional<Dashboard> d;
    if (k->kind == "dashboard") d = identity::find_dashboard_by_key(c, k->id);
    return std::make_pair(*k, d);
  });
  // Compare against a fixed hash when the id is unknown, so timing does not
  // tell whether a key id exists.
  const std::string expected = found ? found->first.secret_hash : std::string(64, '0');
  if (!constant_time_equal(sha256_hex(secret), expected) || !found) throw refused;
  const ApiKey& k = found->first;
  const int64_t now = now_ms();
  if (k.revoked_at) throw Error(ErrorCode::unauthorized, "the API key has been revoked");
  if (k.expires_at && *k.expires_at <= now) throw Error(ErrorCode::unauthorized, "the API key has expired");
  Principal p;
  p.kind = k.kind == "dashboard" ? Principal::Kind::dashboard : Principal::Kind::api_key;
  p.id = k.id;
  p.organization_id = k.organization_id;
  p.workspace_id = k.workspace_id;
  p.scopes = k.scopes;
  if (p.kind == Principal::Kind::dashboard) {
    if (!found->second || found->second->status != "active")
      throw Error(ErrorCode::forbidden, "the dashboard of agency " + k.organization_id +
                                            " is suspended; an engine admin can activate it again");
  }
  touch_key_throttled(k.id);
  return p;
}

void AccessControl::touch_key_throttled(const std::string& key_id) {
  const int64_t now = now_ms();
  {
    std::lock_guard<std::mutex> lock(touched_mu_);
    auto& last = touched_[key_id];
    if (now - last < kTouchEveryMs) return;
    last = now;
  }
  db_.write_async([key_id, now](store::Connection& c) { identity::touch_api_key(c, key_id, now); },
                  [](std::exception_ptr) {});
}

std::optional<Role> AccessControl::role_of(const Principal& p, const std::string& organization_id,
                                           const std::string& workspace_id) {
  if (p.engine_admin) return Role::owner;
  switch (p.kind) {
    case Principal::Kind::engine: return Role::owner;
    case Principal::Kind::api_key:
    case Principal::Kind::dashboard:
      if (p.organization_id != organization_id) return std::nullopt;
      if (!p.workspace_id.empty() && p.workspace_id != workspace_id) return std::nullopt;
      return role_for_scopes(p.scopes);
    case Principal::Kind::user:
      return db_.read([&](store::Connection& c) { return identity::role_in(c, p.id, organization_id, workspace_id); });
  }
  return std::nullopt;
}

bool AccessControl::can_see(const Principal& p, const std::string& organization_id, const std::string& workspace_id) {
  return role_of(p, organization_id, workspace_id).has_value();
}

store::Workspace AccessControl::authorize_workspace(const Principal& p, const std::string& workspace_id,
                                                    Permission permission) {
  auto ws = db_.read([&](store::Connection& c) { return store::tenancy::get_workspace(c, workspace_id); });
  if (!ws) throw not_found_workspace(workspace_id);
  const auto role = role_of(p, ws->organization_id, ws->id);
  if (!role) throw not_found_workspace(workspace_id);
  const bool key = p.kind == Principal::Kind::api_key || p.kind == Principal::Kind::dashboard;
  const bool ok = key && !p.engine_admin
                      ? std::find(p.scopes.begin(), p.scopes.end(), required_scope(permission)) != p.scopes.end() ||
                            (required_scope(permission) != Scope::manage &&
                             std::find(p.scopes.begin(), p.scopes.end(), Scope::manage) != p.scopes.end())
                      : allows(*role, permission);
  if (!ok) {
    throw Error(ErrorCode::forbidden,
                key ? "this API key lacks the \"" + std::string(to_string(required_scope(permission))) +
                          "\" scope needed to " + std::string(to_string(permission))
                    : "your role (" + std::string(to_string(*role)) + ") may not " + std::string(to_string(permission)) +
                          " in this workspace; it needs " + std::string(to_string(minimum_role(permission))));
  }
  return *ws;
}

store::Organization AccessControl::authorize_organization(const Principal& p, const std::string& organization_id,
                                                          Permission permission) {
  auto org = db_.read([&](store::Connection& c) { return store::tenancy::get_organization(c, organization_id); });
  const Error missing(ErrorCode::not_found, "organization " + organization_id + " not found",
                      {{"field", "organization_id"}});
  if (!org) throw missing;
  if (p.engine_admin) return *org;
  if (p.kind == Principal::Kind::api_key || p.kind == Principal::Kind::dashboard) {
    if (p.organization_id != organization_id) throw missing;
    const bool ok = (permission == Permission::read || p.workspace_id.empty()) &&
                    (std::find(p.scopes.begin(), p.scopes.end(), required_scope(permission)) != p.scopes.end() ||
                     std::find(p.scopes.begin(), p.scopes.end(), Scope::manage) != p.scopes.end());
    if (!ok) throw Error(ErrorCode::forbidden, "this API key may not " + std::string(to_string(permission)) +
                                                   " for the organization");
    return *org;
  }
  // A user: an organization-wide role decides; a member of only some
  // workspaces sees the organization (read) but acts on it no further.
  const auto memberships = db_.read([&](store::Connection& c) { return identity::memberships_of(c, p.id); });
  std::optional<Role> org_role;
  bool any = false;
  for (const auto& m : memberships) {
    if (m.organization_id != organization_id) continue;
    any = true;
    if (m.workspace_id.empty()) org_role = m.role;
  }
  if (!any) throw missing;
  if (permission == Permission::read) return *org;
  if (!org_role || !allows(*org_role, permission))
    throw Error(ErrorCode::forbidden, "this needs an organization-wide role that may " +
                                          std::string(to_string(permission)));
  return *org;
}

}  // namespace sb::tenancy

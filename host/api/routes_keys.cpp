// API keys of a workspace (/api/v1/workspaces/:id/api-keys) and of a whole
// organization (/api/v1/organizations/:id/api-keys).
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "tenancy/identity_store.hpp"

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;
using tenancy::Principal;
using tenancy::Scope;

std::vector<Scope> parse_scopes(const Call& call, const json& body) {
  if (!body.contains("scopes"))
    throw Error(ErrorCode::invalid_argument, "\"scopes\" is required (read, send, manage)", {{"field", "scopes"}});
  std::vector<Scope> out;
  for (const auto& text : optional_string_array(body, "scopes", 3, 20)) {
    auto scope = tenancy::parse_scope(text);
    if (!scope)
      throw Error(ErrorCode::invalid_argument, "unknown scope \"" + text + "\" (read, send, manage)",
                  {{"field", "scopes"}});
    if (std::find(out.begin(), out.end(), *scope) == out.end()) out.push_back(*scope);
  }
  // A key cannot mint a key that can do more than itself.
  const Principal& p = call.principal;
  if ((p.kind == Principal::Kind::api_key || p.kind == Principal::Kind::dashboard) && !p.engine_admin) {
    for (Scope sc : out)
      if (std::find(p.scopes.begin(), p.scopes.end(), sc) == p.scopes.end())
        throw Error(ErrorCode::forbidden, "this API key may not create a key with the \"" +
                                              std::string(tenancy::to_string(sc)) + "\" scope it lacks");
  }
  return out;
}

json created_key(const tenancy::CreatedKey& k) {
  json out = tenancy::to_json(k.key);
  out["key"] = k.secret;  // shown once
  return out;
}

// The routes of one owner kind: `owner` resolves (organization, workspace)
// of the call with the permission checked.
void add_key_routes(ApiRoutes& routes, const std::string& base,
                    std::function<std::pair<std::string, std::string>(Call&)> owner) {
  ApiServices& s = routes.services();
  routes.get(base, [&s, owner](Call& call) {
    const auto [org, ws] = owner(call);
    const auto page = call.page();
    return page_response(s.db.read([&](store::Connection& c) { return tenancy::identity::api_keys_of(c, org, ws, page); }),
                         [](const tenancy::ApiKey& k) { return tenancy::to_json(k); });
  });
  routes.post(base, [&s, owner](Call& call) {
    const auto [org, ws] = owner(call);
    call.allow_fields({"name", "scopes"});
    const auto scopes = parse_scopes(call, call.body());
    return created(created_key(
        s.keys.create(call.principal, call.context(), org, ws, required_string(call.body(), "name", 200), scopes)));
  });
  routes.del(base + "/:key_id", [&s, owner](Call& call) {
    const auto [org, ws] = owner(call);
    return ok(tenancy::to_json(s.keys.revoke(call.principal, call.context(), org, ws, call.param("key_id"))));
  });
  routes.post(base + "/:key_id/rotate", [&s, owner](Call& call) {
    const auto [org, ws] = owner(call);
    call.allow_fields({"overlap_seconds"});
    const int64_t overlap = optional_int(call.body(), "overlap_seconds", 0, 30LL * 24 * 3600).value_or(24 * 3600);
    return created(
        created_key(s.keys.rotate(call.principal, call.context(), org, ws, call.param("key_id"), overlap * 1000)));
  });
}

}  // namespace

void register_key_routes(ApiRoutes& routes) {
  add_key_routes(routes, "/api/v1/workspaces/:workspace_id/api-keys", [](Call& call) {
    const auto ws = call.workspace(Permission::manage_keys);
    return std::make_pair(ws.organization_id, ws.id);
  });
  add_key_routes(routes, "/api/v1/organizations/:organization_id/api-keys", [](Call& call) {
    const auto org = call.organization(call.param("organization_id"), Permission::manage_keys);
    return std::make_pair(org.id, std::string());
  });
}

}  // namespace sb::api

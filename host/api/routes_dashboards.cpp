// The dashboard registry, with the seed's paths and field names:
//   /v1/internal/dashboard/*       pre-shared key (Authorization: PSK <psk>)
//   /api/v1/admin/dashboards*      engine admins (the master key, or an engine-admin user)
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "store/profile_repository.hpp"
#include "store/tenancy_repository.hpp"

namespace sb::api {
namespace {

using nlohmann::json;

void require_psk(ApiServices& s, const ApiRequest& req) {
  if (!s.access.check_psk(req.header("authorization")))
    throw Error(ErrorCode::unauthorized, "this route needs \"Authorization: PSK <WORKFLOW_ENGINE_INTERNAL_PSK>\"");
}

std::string agency_param(const ApiRequest& req, const json& body) {
  auto it = req.query.find("agencyId");
  if (it != req.query.end()) return it->second;
  if (body.contains("agencyId")) return required_string(body, "agencyId", 64);
  throw Error(ErrorCode::invalid_argument, "\"agencyId\" is required", {{"field", "agencyId"}});
}

tenancy::Dashboard find_or_404(ApiServices& s, const std::string& agency) {
  auto d = s.dashboards.find(agency);
  if (!d)
    throw Error(ErrorCode::not_found, "no dashboard is registered for agency " + agency, {{"field", "agencyId"}});
  return *d;
}

json with_success(json body) {
  body["success"] = true;
  return body;
}

}  // namespace

void register_dashboard_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();

  routes.open("POST", "/v1/internal/dashboard/register", [&s](const ApiRequest& req) {
    require_psk(s, req);
    const json body = req.json_body();
    allow_fields(body, {"agencyId", "dashboardName", "dashboardUrl", "webhookSecret"});
    tenancy::DashboardRegistration r{required_string(body, "agencyId", 64), required_string(body, "dashboardName", 200),
                                     required_string(body, "dashboardUrl", 2000),
                                     required_string(body, "webhookSecret", 512)};
    auto [dashboard, key] = s.dashboards.register_dashboard(r, context_of(req));
    return ok({{"success", true}, {"apiKey", key}, {"agencyId", dashboard.organization_id}});
  });

  routes.open("GET", "/v1/internal/dashboard/config", [&s](const ApiRequest& req) {
    require_psk(s, req);
    return ok(with_success(tenancy::to_json(find_or_404(s, agency_param(req, json::object())))));
  });

  routes.open("PATCH", "/v1/internal/dashboard/config", [&s](const ApiRequest& req) {
    require_psk(s, req);
    const json body = req.json_body();
    allow_fields(body, {"agencyId", "dashboardName", "dashboardUrl", "webhookSecret"});
    tenancy::DashboardPatch patch{optional_string(body, "dashboardName", 200),
                                  optional_string(body, "dashboardUrl", 2000),
                                  optional_string(body, "webhookSecret", 512)};
    return ok(with_success(tenancy::to_json(s.dashboards.update(agency_param(req, body), patch, context_of(req)))));
  });

  routes.open("GET", "/v1/internal/dashboard/agencies", [&s](const ApiRequest& req) {
    require_psk(s, req);
    json agencies = json::array();
    for (const auto& d : s.dashboards.list()) agencies.push_back(tenancy::to_json(d));
    return ok({{"success", true}, {"agencies", agencies}});
  });

  routes.get("/api/v1/admin/dashboards", [&s](Call& call) {
    require_engine_admin(call);
    json data = json::array();
    for (const auto& d : s.dashboards.list()) data.push_back(tenancy::to_json(d));
    return ok({{"data", data}, {"next_cursor", nullptr}});
  });

  routes.get("/api/v1/admin/dashboards/:agencyId", [&s](Call& call) {
    require_engine_admin(call);
    const auto d = find_or_404(s, call.param("agencyId"));
    json out = tenancy::to_json(d);
    out["workspaces"] = s.db.read([&](store::Connection& c) {
      json ws = json::array();
      for (const auto& w : store::tenancy::list_workspaces(c, d.organization_id)) ws.push_back(store::to_json(w));
      return ws;
    });
    return ok(out);
  });

  routes.get("/api/v1/admin/dashboards/:agencyId/sessions", [&s](Call& call) {
    require_engine_admin(call);
    const auto d = find_or_404(s, call.param("agencyId"));
    json data = s.db.read([&](store::Connection& c) {
      json out = json::array();
      for (const auto& w : store::tenancy::list_workspaces(c, d.organization_id))
        for (const auto& p : store::profiles::list(c, w.id)) out.push_back(store::to_json(p));
      return out;
    });
    return ok({{"data", data}, {"next_cursor", nullptr}});
  });

  for (const char* action : {"suspend", "activate"}) {
    const std::string status = std::string(action) == "suspend" ? "suspended" : "active";
    routes.post(std::string("/api/v1/admin/dashboards/:agencyId/") + action, [&s, status](Call& call) {
      require_engine_admin(call);
      return ok(tenancy::to_json(s.dashboards.set_status(call.principal, call.param("agencyId"), status, call.context())));
    });
  }
}

}  // namespace sb::api

// A profile's sending rules (messaging/sending_rules.hpp) and their live
// state: budgets used, daily caps, warm-up, quiet hours, the breaker.
//   GET /api/v1/workspaces/{ws}/profiles/{id}/sending-rules
//   PUT /api/v1/workspaces/{ws}/profiles/{id}/sending-rules   (the whole rules document)
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "store/profile_repository.hpp"

namespace sb::api {

namespace {

using tenancy::Permission;

// The profile, when it belongs to the workspace (404 otherwise: also for
// another tenant's id).
std::string profile_in(ApiServices& s, const store::Workspace& ws, const std::string& profile_id) {
  auto p = s.db.read([&](store::Connection& c) { return store::profiles::get(c, ws.id, profile_id); });
  if (!p)
    throw Error(ErrorCode::not_found, "profile " + profile_id + " not found in workspace " + ws.id,
                {{"field", "profile_id"}});
  return p->id;
}

ApiResponse get_rules(Call& call) {
  const auto ws = call.workspace(Permission::read);
  const std::string id = profile_in(call.services, ws, call.param("profile_id"));
  return ok(call.services.messaging.outbox().sending_rules(id));
}

ApiResponse put_rules(Call& call) {
  const auto ws = call.workspace(Permission::connect_numbers);
  const std::string id = profile_in(call.services, ws, call.param("profile_id"));
  const nlohmann::json& body = call.body();
  nlohmann::json answer = call.services.messaging.outbox().set_sending_rules(id, body);
  call.audit("profile.sending_rules_changed", ws.organization_id, ws.id, "profile", id, answer["rules"]);
  return ok(answer);
}

}  // namespace

void register_sending_rule_routes(ApiRoutes& routes) {
  const std::string path = "/api/v1/workspaces/:workspace_id/profiles/:profile_id/sending-rules";
  routes.get(path, get_rules);
  routes.put(path, put_rules);
}

}  // namespace sb::api

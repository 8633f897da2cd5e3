// The audit log of a workspace, and of an organization (its own acts).
#include "api/api_context.hpp"

#include "tenancy/identity_store.hpp"

namespace sb::api {

void register_audit_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  routes.get("/api/v1/workspaces/:workspace_id/audit", [&s](Call& call) {
    const auto ws = call.workspace(tenancy::Permission::read_audit);
    const auto page = call.page();
    return page_response(
        s.db.read([&](store::Connection& c) { return tenancy::identity::audit_of(c, ws.organization_id, ws.id, page); }),
        [](const tenancy::AuditEntry& e) { return tenancy::to_json(e); });
  });
  routes.get("/api/v1/organizations/:organization_id/audit", [&s](Call& call) {
    const auto org = call.organization(call.param("organization_id"), tenancy::Permission::read_audit);
    const auto page = call.page();
    return page_response(
        s.db.read([&](store::Connection& c) { return tenancy::identity::audit_of(c, org.id, "", page); }),
        [](const tenancy::AuditEntry& e) { return tenancy::to_json(e); });
  });
}

}  // namespace sb::api

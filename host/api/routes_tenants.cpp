// Organizations (agencies), workspaces (tenants), members and invitations.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/cron.hpp"
#include "store/tenancy_repository.hpp"
#include "tenancy/dashboards.hpp"
#include "tenancy/identity_store.hpp"

#include <set>

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;
using tenancy::Principal;
using tenancy::Role;

void check_timezone(const std::optional<std::string>& tz) {
  if (tz && !flows::is_valid_timezone(*tz))
    throw Error(ErrorCode::invalid_argument, "\"timezone\" must be an IANA time zone such as Europe/Madrid",
                {{"field", "timezone"}});
}

void check_id(const std::optional<std::string>& id, const char* field) {
  if (id) tenancy::Dashboards::check_agency_id(*id, field);
}

Role parse_role_field(const json& body) {
  const std::string text = required_string(body, "role", 20);
  auto role = tenancy::parse_role(text);
  if (!role)
    throw Error(ErrorCode::invalid_argument, "\"role\" must be owner, admin, operator or viewer",
                {{"field", "role"}});
  return *role;
}

// Only an owner may make (or unmake) an owner.
void check_grant(Call& call, const store::Workspace& ws, Role granted, std::optional<Role> previous) {
  const bool touches_owner = granted == Role::owner || (previous && *previous == Role::owner);
  if (!touches_owner) return;
  const auto mine = call.services.access.role_of(call.principal, ws.organization_id, ws.id);
  if (!mine || *mine != Role::owner)
    throw Error(ErrorCode::forbidden, "only an owner may grant or take away the owner role");
}

Error member_not_found(const std::string& user_id) {
  return Error(ErrorCode::not_found, "user " + user_id + " is not a member of this workspace", {{"field", "user_id"}});
}

}  // namespace

void register_tenant_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();

  routes.get("/api/v1/organizations", [&s](Call& call) {
    const Principal& p = call.principal;
    const auto page = call.page();
    if (p.engine_admin) {
      return page_response(s.db.read([&](store::Connection& c) { return store::tenancy::page_organizations(c, page); }),
                           [](const store::Organization& o) { return store::to_json(o); });
    }
    std::set<std::string> ids;
    if (p.kind == Principal::Kind::user) {
      for (const auto& m : s.db.read([&](store::Connection& c) { return tenancy::identity::memberships_of(c, p.id); }))
        ids.insert(m.organization_id);
    } else {
      ids.insert(p.organization_id);
    }
    json data = json::array();
    for (const auto& id : ids)
      if (auto o = s.db.read([&](store::Connection& c) { return store::tenancy::get_organization(c, id); }))
        data.push_back(store::to_json(*o));
    return ok({{"data", data}, {"next_cursor", nullptr}});
  });

  routes.post("/api/v1/organizations", [&s](Call& call) {
    if (!call.principal.engine_admin)
      throw Error(ErrorCode::forbidden, "only an engine admin may create organizations");
    call.allow_fields({"id", "name"});
    const auto id = optional_string(call.body(), "id", 64);
    check_id(id, "id");
    store::Organization o{id.value_or(""), required_string(call.body(), "name", 200), 0};
    o = s.db.write([&](store::Connection& c) { return store::tenancy::create_organization(c, o, now_ms()); });
    call.audit("organization.created", o.id, "", "organization", o.id);
    return created(store::to_json(o));
  });

  routes.get("/api/v1/organizations/:organization_id", [](Call& call) {
    return ok(store::to_json(call.organization(call.param("organization_id"), Permission::read)));
  });

  routes.patch("/api/v1/organizations/:organization_id", [&s](Call& call) {
    const auto org = call.organization(call.param("organization_id"), Permission::manage_workspace);
    call.allow_fields({"name"});
    const std::string name = required_string(call.body(), "name", 200);
    auto updated = s.db.write(
        [&](store::Connection& c) { return store::tenancy::rename_organization(c, org.id, name, now_ms()); });
    call.audit("organization.updated", org.id, "", "organization", org.id, {{"name", name}});
    return ok(store::to_json(*updated));
  });

  routes.get("/api/v1/organizations/:organization_id/workspaces", [&s](Call& call) {
    const auto org = call.organization(call.param("organization_id"), Permission::read);
    const auto page = call.page();
    auto result = s.db.read([&](store::Connection& c) { return store::tenancy::page_workspaces(c, org.id, page); });
    // A member of only some workspaces sees only those.
    std::erase_if(result.items, [&](const store::Workspace& w) {
      return !s.access.can_see(call.principal, w.organization_id, w.id);
    });
    return page_response(result, [](const store::Workspace& w) { return store::to_json(w); });
  });

  routes.post("/api/v1/organizations/:organization_id/workspaces", [&s](Call& call) {
    const auto org = call.organization(call.param("organization_id"), Permission::manage_workspace);
    call.allow_fields({"id", "name", "timezone"});
    store::Workspace w;
    const auto id = optional_string(call.body(), "id", 64);
    check_id(id, "id");
    w.id = id.value_or("");
    w.organization_id = org.id;
    w.name = required_string(call.body(), "name", 200);
    const auto tz = optional_string(call.body(), "timezone", 64);
    check_timezone(tz);
    w.timezone = tz.value_or("UTC");
    w = s.db.write([&](store::Connection& c) { return store::tenancy::create_workspace(c, w, now_ms()); });
    call.audit("workspace.created", org.id, w.id, "workspace", w.id);
    return created(store::to_json(w));
  });

  routes.get("/api/v1/workspaces/:workspace_id", [](Call& call) {
    return ok(store::to_json(call.workspace(Permission::read)));
  });

  routes.patch("/api/v1/workspaces/:workspace_id", [&s](Call& call) {
    const auto ws = call.workspace(Permission::manage_workspace);
    call.allow_fields({"name", "timezone"});
    const auto name = optional_string(call.body(), "name", 200);
    if (name && name->empty())
      throw Error(ErrorCode::invalid_argument, "\"name\" must not be empty", {{"field", "name"}});
    const auto tz = optional_string(call.body(), "timezone", 64);
    check_timezone(tz);
    auto updated = s.db.write([&](store::Connection& c) {
      return store::tenancy::update_workspace(c, ws.organization_id, ws.id, name, tz, now_ms());
    });
    call.audit("workspace.updated", ws.organization_id, ws.id, "workspace", ws.id, call.body());
    return ok(store::to_json(*updated));
  });

  routes.get("/api/v1/workspaces/:workspace_id/members", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    const auto page = call.page();
    auto members = s.db.read([&](store::Connection& c) {
      auto p = tenancy::identity::members_of(c, ws.organization_id, ws.id, page);
      json data = json::array();
      for (const auto& m : p.items) {
        json j = tenancy::to_json(m);
        if (auto u = tenancy::identity::find_user(c, m.user_id)) {
          j["email"] = u->email;
          j["name"] = u->name;
        }
        data.push_back(j);
      }
      return json{{"data", data}, {"next_cursor", p.next ? json(encode_cursor(*p.next)) : json(nullptr)}};
    });
    return ok(members);
  });

  routes.put("/api/v1/workspaces/:workspace_id/members/:user_id", [&s](Call& call) {
    const auto ws = call.workspace(Permission::manage_members);
    call.allow_fields({"role"});
    const Role role = parse_role_field(call.body());
    const std::string user_id = call.param("user_id");
    const auto previous = s.db.read(
        [&](store::Connection& c) { return tenancy::identity::role_in(c, user_id, ws.organization_id, ws.id); });
    if (!previous) throw member_not_found(user_id);
    check_grant(call, ws, role, previous);
    const auto m = s.db.write([&](store::Connection& c) {
      if (*previous == Role::owner && role != Role::owner &&
          tenancy::identity::count_owners(c, ws.organization_id, ws.id) <= 1)
        throw Error(ErrorCode::conflict, "this is the workspace's last owner; make someone else owner first");
      tenancy::Membership membership{user_id, ws.organization_id, ws.id, role, 0, 0};
      tenancy::identity::put_membership(c, membership, now_ms());
      return membership;
    });
    call.audit("role.changed", ws.organization_id, ws.id, "user", user_id,
               {{"from", std::string(tenancy::to_string(*previous))}, {"to", std::string(tenancy::to_string(role))}});
    return ok(tenancy::to_json(m));
  });

  routes.del("/api/v1/workspaces/:workspace_id/members/:user_id", [&s](Call& call) {
    const auto ws = call.workspace(Permission::manage_members);
    const std::string user_id = call.param("user_id");
    const bool removed = s.db.write([&](store::Connection& c) {
      const auto role = tenancy::identity::role_in(c, user_id, ws.organization_id, ws.id);
      if (!role) return false;
      if (*role == Role::owner && tenancy::identity::count_owners(c, ws.organization_id, ws.id) <= 1)
        throw Error(ErrorCode::conflict, "this is the workspace's last owner; make someone else owner first");
      return tenancy::identity::delete_membership(c, user_id, ws.organization_id, ws.id);
    });
    if (!removed) throw member_not_found(user_id);
    call.audit("member.removed", ws.organization_id, ws.id, "user", user_id);
    return no_content();
  });

  routes.get("/api/v1/workspaces/:workspace_id/invitations", [&s](Call& call) {
    const auto ws = call.workspace(Permission::manage_members);
    const auto page = call.page();
    return page_response(s.db.read([&](store::Connection& c) {
                           return tenancy::identity::invitations_of(c, ws.organization_id, ws.id, page);
                         }),
                         [](const tenancy::Invitation& i) { return tenancy::to_json(i); });
  });

  routes.post("/api/v1/workspaces/:workspace_id/invitations", [&s](Call& call) {
    const auto ws = call.workspace(Permission::manage_members);
    call.allow_fields({"email", "role"});
    const Role role = parse_role_field(call.body());
    check_grant(call, ws, role, std::nullopt);
    auto inv = s.accounts.invite(call.principal, ws, required_string(call.body(), "email", 254), role, call.context());
    json out = tenancy::to_json(inv.invitation);
    out["token"] = inv.token;
    return created(out);
  });

  routes.del("/api/v1/workspaces/:workspace_id/invitations/:invitation_id", [&s](Call& call) {
    const auto ws = call.workspace(Permission::manage_members);
    const std::string id = call.param("invitation_id");
    const bool found = s.db.write([&](store::Connection& c) {
      auto inv = tenancy::identity::find_invitation(c, ws.organization_id, ws.id, id);
      if (!inv) return false;
      if (!inv->revoked_at && !inv->accepted_at) tenancy::identity::mark_invitation(c, id, "revoked_at", now_ms());
      return true;
    });
    if (!found)
      throw Error(ErrorCode::not_found, "invitation " + id + " not found", {{"field", "invitation_id"}});
    call.audit("invitation.revoked", ws.organization_id, ws.id, "invitation", id);
    return no_content();
  });
}

}  // namespace sb::api

// People: sign-up of the first owner, login, refresh, logout, password
// change, accepting an invitation, and who am I.
#include "api/api_context.hpp"
#include "core/text.hpp"

#include "core/error.hpp"
#include "tenancy/identity_store.hpp"


namespace sb::api {
using nlohmann::json;

void register_auth_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();

  routes.open("POST", "/api/v1/auth/signup", [&s](const ApiRequest& req) {
    const json body = req.json_body();
    allow_fields(body, {"email", "password", "name", "organization_name", "workspace_name"});
    if (auto wait = s.login_limiter.take("ip:" + req.remote_addr)) throw_rate_limited(*wait, "sign-up attempts");
    auto r = s.accounts.signup_first_owner(required_string(body, "email", 254), required_string(body, "password", 1024),
                                           optional_string(body, "name", 200).value_or(""),
                                           required_string(body, "organization_name", 200),
                                           optional_string(body, "workspace_name", 200).value_or(""), context_of(req));
    json out = to_json(r.tokens);
    out["organization"] = store::to_json(r.organization);
    out["workspace"] = store::to_json(r.workspace);
    return created(out);
  });

  routes.open("POST", "/api/v1/auth/login", [&s](const ApiRequest& req) {
    const json body = req.json_body();
    allow_fields(body, {"email", "password"});
    const std::string email = ascii_lower(required_string(body, "email", 254));
    const std::string password = required_string(body, "password", 1024);
    if (auto wait = s.login_limiter.take("email:" + email)) throw_rate_limited(*wait, "login attempts for this email");
    if (auto wait = s.login_limiter.take("ip:" + req.remote_addr)) throw_rate_limited(*wait, "login attempts from this address");
    if (auto wait = s.login_throttle.check(email)) throw_rate_limited(*wait, "failed logins for this email");
    try {
      auto tokens = s.accounts.login(email, password, context_of(req));
      s.login_throttle.succeeded(email);
      return ok(to_json(tokens));
    } catch (const Error& e) {
      if (e.code() == ErrorCode::unauthorized) s.login_throttle.failed(email);
      throw;
    }
  });

  routes.open("POST", "/api/v1/auth/refresh", [&s](const ApiRequest& req) {
    const json body = req.json_body();
    allow_fields(body, {"refresh_token"});
    return ok(to_json(s.accounts.refresh(required_string(body, "refresh_token", 256), context_of(req))));
  });

  routes.open("POST", "/api/v1/auth/logout", [&s](const ApiRequest& req) {
    const json body = req.json_body();
    allow_fields(body, {"refresh_token"});
    s.accounts.logout(required_string(body, "refresh_token", 256), context_of(req));
    return no_content();
  });

  routes.open("POST", "/api/v1/auth/invitations/accept", [&s](const ApiRequest& req) {
    const json body = req.json_body();
    allow_fields(body, {"token", "name", "password"});
    if (auto wait = s.login_limiter.take("ip:" + req.remote_addr)) throw_rate_limited(*wait, "attempts from this address");
    return ok(to_json(s.accounts.accept_invitation(required_string(body, "token", 256),
                                                   optional_string(body, "name", 200).value_or(""),
                                                   required_string(body, "password", 1024), context_of(req))));
  });

  routes.post("/api/v1/auth/password", [&s](Call& call) {
    call.allow_fields({"current_password", "new_password"});
    s.accounts.change_password(call.principal, required_string(call.body(), "current_password", 1024),
                               required_string(call.body(), "new_password", 1024), call.context());
    return no_content();
  });

  routes.get("/api/v1/me", [&s](Call& call) {
    const auto& p = call.principal;
    json out = {{"kind", p.actor_type()}, {"id", p.id}, {"engine_admin", p.engine_admin}};
    if (p.kind == tenancy::Principal::Kind::user) {
      auto user = s.db.read([&](store::Connection& c) { return tenancy::identity::find_user(c, p.id); });
      if (user) out["user"] = tenancy::to_json(*user);
      json memberships = json::array();
      for (const auto& m : s.db.read([&](store::Connection& c) { return tenancy::identity::memberships_of(c, p.id); }))
        memberships.push_back(tenancy::to_json(m));
      out["memberships"] = memberships;
    } else if (p.kind != tenancy::Principal::Kind::engine) {
      json scopes = json::array();
      for (auto sc : p.scopes) scopes.push_back(std::string(tenancy::to_string(sc)));
      out["organization_id"] = p.organization_id;
      out["workspace_id"] = p.workspace_id.empty() ? json(nullptr) : json(p.workspace_id);
      out["scopes"] = scopes;
    }
    return ok(out);
  });
}

}  // namespace sb::api

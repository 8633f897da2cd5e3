#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "tenancy/identity_store.hpp"

#include <cmath>

namespace sb::api {
namespace {

using nlohmann::json;

Error bad_field(const char* field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

std::string type_name(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

}  // namespace

Call::Call(const ApiRequest& r, ApiServices& s, tenancy::Principal p)
    : request(r), services(s), principal(std::move(p)) {}

tenancy::RequestContext Call::context() const { return context_of(request); }

tenancy::RequestContext context_of(const ApiRequest& request) { return {request.remote_addr, request.request_id}; }

void throw_rate_limited(double retry_after_seconds, const std::string& what) {
  const int64_t seconds = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(retry_after_seconds)));
  throw Error(ErrorCode::rate_limited, "too many " + what + "; retry in " + std::to_string(seconds) + " s",
              {{"retry_after", seconds}});
}

void require_engine_admin(const Call& call) {
  if (!call.principal.engine_admin)
    throw Error(ErrorCode::forbidden, "only an engine admin (ENGINE_API_KEY or an engine-admin user) may do this");
}

const std::string& Call::param(const std::string& name) const { return request.path_params.at(name); }

std::optional<std::string> Call::query(const std::string& name) const {
  auto it = request.query.find(name);
  if (it == request.query.end()) return std::nullopt;
  return it->second;
}

const json& Call::body() {
  if (!body_) body_ = request.body.empty() ? json::object() : request.json_body();
  return *body_;
}

void Call::allow_fields(std::initializer_list<const char*> allowed) { api::allow_fields(body(), allowed); }

void allow_fields(const json& body, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      throw bad_field(key.c_str(), "unknown field \"" + key + "\"" + (list.empty() ? "" : " (allowed: " + list + ")"));
    }
  }
}

void Call::allow_query(std::initializer_list<const char*> allowed) const {
  for (const auto& [key, value] : request.query) {
    bool known = key == "limit" || key == "cursor" || key == "agencyId" || key == "tenantId";
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::string list = "limit, cursor";
      for (const char* a : allowed) list += ", " + std::string(a);
      throw bad_field(key.c_str(), "unknown query parameter \"" + key + "\" (allowed: " + list + ")");
    }
  }
}

store::PageRequest Call::page() const {
  store::PageRequest p;
  if (auto limit = query("limit")) {
    char* end = nullptr;
    const long v = std::strtol(limit->c_str(), &end, 10);
    if (limit->empty() || *end != '\0' || v < 1 || v > 200) throw bad_field("limit", "\"limit\" must be 1 to 200");
    p.limit = v;
  }
  if (auto cursor = query("cursor"); cursor && !cursor->empty()) p.after = decode_cursor(*cursor);
  return p;
}

store::Workspace Call::workspace(tenancy::Permission permission) {
  std::string id;
  auto it = request.path_params.find("workspace_id");
  if (it != request.path_params.end()) {
    id = it->second;
  } else {
    for (const char* name : {"tenantId", "workspaceId", "workspace_id"}) {
      if (auto q = query(name)) {
        id = *q;
        break;
      }
      if (!request.body.empty() && body().contains(name) && body()[name].is_string()) {
        id = body()[name].get<std::string>();
        break;
      }
    }
    if (id.empty()) throw bad_field("tenantId", "\"tenantId\" (the workspace id) is required, in the query or the body");
  }
  store::Workspace ws = services.access.authorize_workspace(principal, id, permission);
  std::optional<std::string> agency = query("agencyId");
  // Only a JSON body can name it (an import's body is a CSV file).
  const bool json_body = ascii_lower(request.header("content-type")).rfind("application/json", 0) == 0;
  if (!agency && json_body && !request.body.empty() && body().contains("agencyId") && body()["agencyId"].is_string())
    agency = body()["agencyId"].get<std::string>();
  if (agency && *agency != ws.organization_id)
    throw Error(ErrorCode::not_found, "workspace " + id + " not found in agency " + *agency, {{"field", "tenantId"}});
  return ws;
}

store::Organization Call::organization(const std::string& organization_id, tenancy::Permission permission) {
  return services.access.authorize_organization(principal, organization_id, permission);
}

void Call::audit(const std::string& action, const std::string& organization_id, const std::string& workspace_id,
                 const std::string& target_type, const std::string& target_id, json details) {
  const auto entry = tenancy::audit_entry(&principal, context(), action, organization_id, workspace_id, target_type,
                                          target_id, std::move(details));
  services.db.write([&](store::Connection& c) { tenancy::identity::append_audit(c, entry); });
}

void ApiRoutes::add(const std::string& method, const std::string& pattern, CallHandler handler, BodyLimit limit) {
  ApiServices& s = services_;
  server_.route(method, pattern, [&s, handler = std::move(handler)](const ApiRequest& req) {
    tenancy::Principal principal = s.access.authenticate([&req](const std::string& name) { return req.header(name); });
    using Kind = tenancy::Principal::Kind;
    if (principal.kind == Kind::api_key || principal.kind == Kind::dashboard) {
      if (auto wait = s.key_limiter.take(principal.id)) throw_rate_limited(*wait, "requests for this API key");
    } else if (principal.kind == Kind::user) {
      if (auto wait = s.user_limiter.take(principal.id)) throw_rate_limited(*wait, "requests for this user");
    }
    Call call(req, s, std::move(principal));
    return handler(call);
  }, limit);
}

void ApiRoutes::open(const std::string& method, const std::string& pattern, Handler handler) {
  server_.route(method, pattern, std::move(handler));
}

ApiResponse ok(const json& body) { return ApiResponse::json(200, body); }
ApiResponse created(const json& body) { return ApiResponse::json(201, body); }
ApiResponse no_content() { return ApiResponse{204, "application/json", "", {}, {}}; }

std::string encode_cursor(const store::Cursor& cursor) {
  return tenancy::base64url_encode(json::array({cursor.at, cursor.id}).dump());
}

store::Cursor decode_cursor(const std::string& text) {
  const Error bad = bad_field("cursor", "\"cursor\" is not a cursor this API returned");
  auto raw = tenancy::base64url_decode(text);
  if (!raw) throw bad;
  const json v = json::parse(*raw, nullptr, false);
  if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer() || !v[1].is_string()) throw bad;
  return {v[0].get<int64_t>(), v[1].get<std::string>()};
}

std::string required_string(const json& body, const char* field, size_t max) {
  if (!body.contains(field)) throw bad_field(field, std::string("\"") + field + "\" is required");
  auto v = optional_string(body, field, max);
  if (!v || v->empty()) throw bad_field(field, std::string("\"") + field + "\" must not be empty");
  return *v;
}

std::optional<std::string> optional_string(const json& body, const char* field, size_t max) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    throw bad_field(field, std::string("\"") + field + "\" must be a string, not " + type_name(*it));
  std::string v = it->get<std::string>();
  if (v.size() > max)
    throw bad_field(field, std::string("\"") + field + "\" is longer than " + std::to_string(max) + " characters");
  return v;
}

std::optional<bool> optional_bool(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean())
    throw bad_field(field, std::string("\"") + field + "\" must be a boolean, not " + type_name(*it));
  return it->get<bool>();
}

std::optional<int64_t> optional_int(const json& body, const char* field, int64_t min, int64_t max) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer())
    throw bad_field(field, std::string("\"") + field + "\" must be an integer, not " + type_name(*it));
  const int64_t v = it->get<int64_t>();
  if (v < min || v > max)
    throw bad_field(field, std::string("\"") + field + "\" must be between " + std::to_string(min) + " and " +
                               std::to_string(max));
  return v;
}

json optional_object(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return nullptr;
  if (!it->is_object())
    throw bad_field(field, std::string("\"") + field + "\" must be an object, not " + type_name(*it));
  return *it;
}

std::vector<std::string> optional_string_array(const json& body, const char* field, size_t max_items,
                                               size_t max_length) {
  std::vector<std::string> out;
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array())
    throw bad_field(field, std::string("\"") + field + "\" must be an array of strings, not " + type_name(*it));
  if (it->size() > max_items)
    throw bad_field(field, std::string("\"") + field + "\" has more than " + std::to_string(max_items) + " items");
  for (const auto& v : *it) {
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > max_length)
      throw bad_field(field, std::string("\"") + field + "\" must hold non-empty strings of at most " +
                                 std::to_string(max_length) + " characters");
    out.push_back(v.get<std::string>());
  }
  return out;
}

void register_api_routes(ApiRoutes& routes) {
  register_auth_routes(routes);
  register_tenant_routes(routes);
  register_key_routes(routes);
  register_dashboard_routes(routes);
  register_profile_routes(routes);
  register_sending_rule_routes(routes);
  register_contact_routes(routes);
  register_conversation_routes(routes);
  register_group_routes(routes);
  register_campaign_routes(routes);
  register_flow_routes(routes);
  register_audit_routes(routes);
  register_event_routes(routes);
  register_webhook_routes(routes);
  register_knowledge_routes(routes);
  register_system_routes(routes);
}

}  // namespace sb::api

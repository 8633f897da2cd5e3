#pragma once
// What the resource handlers of /api/v1 share: the services they call and
// the authenticated call they serve. Every handler file registers its routes
// through ApiRoutes, which authenticates, rate-limits and hands the handler
// a Call; the route table is also what the OpenAPI check walks.
//
//   routes.get("/api/v1/workspaces/:workspace_id/contacts", [&](Call& call) {
//     auto ws = call.workspace(Permission::read);   // 404 / 403 as documented
//     ...
//   });
//
// Threads: handlers run on HTTP worker threads; every service here is
// thread-safe.
#include "api/event_stream.hpp"
#include "api/http_server.hpp"
#include "api/metrics.hpp"
#include "core/event_bus.hpp"
#include "flows/flow_runtime.hpp"
#include "knowledge/knowledge_bases.hpp"
#include "messaging/messaging.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"
#include "store/page.hpp"
#include "store/tenancy_repository.hpp"
#include "tenancy/access.hpp"
#include "tenancy/accounts.hpp"
#include "tenancy/api_keys.hpp"
#include "tenancy/crypto.hpp"
#include "tenancy/dashboards.hpp"
#include "tenancy/rate_limiter.hpp"
#include "webhooks/webhook_dispatcher.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

namespace sb::api {

struct ApiServices {
  store::Database& db;
  plugins::PluginRegistry& registry;
  EventBus& bus;
  messaging::Messaging& messaging;
  flows::FlowRuntime& flows;
  tenancy::AccessControl& access;
  tenancy::Accounts& accounts;
  tenancy::ApiKeys& keys;
  tenancy::Dashboards& dashboards;
  const tenancy::SecretBox& secrets;
  EventHub& events;
  Metrics& metrics;
  tenancy::RateLimiter& key_limiter;    // per API key
  tenancy::RateLimiter& user_limiter;   // per user
  tenancy::RateLimiter& login_limiter;  // per login identity (email) and per address
  tenancy::LoginThrottle& login_throttle;
  std::chrono::milliseconds sse_heartbeat{15000};
  webhooks::WebhookDispatcher* webhooks = nullptr;  // set by the app before routes are added
  knowledge::KnowledgeBases* knowledge = nullptr;    // set by the app; null only in tests without it (503)
};

// One authenticated request.
class Call {
 public:
  Call(const ApiRequest& request, ApiServices& services, tenancy::Principal principal);

  const ApiRequest& request;
  ApiServices& services;
  const tenancy::Principal principal;
  tenancy::RequestContext context() const;

  // The workspace named by the path (":workspace_id"), or for dashboard-style
  // routes by "tenantId" / "workspaceId" in the query or body; checked for
  // `permission` (404 when the caller cannot see it, 403 without the
  // permission). A dashboard's or key's "agencyId", when given, must be
  // its own organization (404 otherwise).
  store::Workspace workspace(tenancy::Permission permission);
  store::Organization organization(const std::string& organization_id, tenancy::Permission permission);

  // A path parameter (always present: the router matched it).
  const std::string& param(const std::string& name) const;
  // A query parameter, if given.
  std::optional<std::string> query(const std::string& name) const;
  // The JSON body (an object); parsed once. An empty body reads as {}.
  const nlohmann::json& body();
  // Refuses fields of the body that are not in `allowed` (invalid_argument
  // naming the first one).
  void allow_fields(std::initializer_list<const char*> allowed);
  // Refuses query parameters other than `allowed`, limit, cursor and the
  // dashboards' agencyId / tenantId (invalid_argument naming it): a
  // misspelt filter (?state=open) must not silently list everything.
  void allow_query(std::initializer_list<const char*> allowed) const;
  // The page asked for with ?limit= (1..200, default 50) and ?cursor=.
  store::PageRequest page() const;

  void audit(const std::string& action, const std::string& organization_id, const std::string& workspace_id,
             const std::string& target_type, const std::string& target_id,
             nlohmann::json details = nlohmann::json::object());

 private:
  std::optional<nlohmann::json> body_;
};

using CallHandler = std::function<ApiResponse(Call&)>;

class ApiRoutes {
 public:
  ApiRoutes(HttpServer& server, ApiServices& services) : server_(server), services_(services) {}

  void get(const std::string& pattern, CallHandler handler) { add("GET", pattern, std::move(handler)); }
  void post(const std::string& pattern, CallHandler handler) { add("POST", pattern, std::move(handler)); }
  void put(const std::string& pattern, CallHandler handler) { add("PUT", pattern, std::move(handler)); }
  void patch(const std::string& pattern, CallHandler handler) { add("PATCH", pattern, std::move(handler)); }
  void del(const std::string& pattern, CallHandler handler) { add("DELETE", pattern, std::move(handler)); }
  // A POST that takes a large body (CSV imports): max_upload_bytes, not
  // max_body_bytes.
  void upload(const std::string& pattern, CallHandler handler) {
    add("POST", pattern, std::move(handler), BodyLimit::upload);
  }
  // Authenticated as above, then rate-limited per principal.
  void add(const std::string& method, const std::string& pattern, CallHandler handler,
           BodyLimit limit = BodyLimit::json);
  // Without authentication (login, refresh, the registry's PSK routes, ...):
  // the handler checks what it needs itself.
  void open(const std::string& method, const std::string& pattern, Handler handler);

  HttpServer& server() { return server_; }
  ApiServices& services() { return services_; }

 private:
  HttpServer& server_;
  ApiServices& services_;
};

// What a request tells the audit log about itself (its address and id).
tenancy::RequestContext context_of(const ApiRequest& request);
// sb::Error(rate_limited) naming `what`, with "retry_after" (whole seconds,
// at least 1) in its details: the server sends it as Retry-After.
[[noreturn]] void throw_rate_limited(double retry_after_seconds, const std::string& what);
// forbidden unless the caller is an engine admin (the master key or an
// engine-admin user).
void require_engine_admin(const Call& call);

// Responses.
ApiResponse ok(const nlohmann::json& body);
ApiResponse created(const nlohmann::json& body);
ApiResponse no_content();
// {"data": [...], "next_cursor": "..."|null}
template <class T, class ToJson>
ApiResponse page_response(const store::Page<T>& page, ToJson to_json_fn);
std::string encode_cursor(const store::Cursor& cursor);
// Throws invalid_argument naming "cursor" for a cursor we did not make.
store::Cursor decode_cursor(const std::string& text);

// Refuses fields of `body` not in `allowed` (invalid_argument naming the first).
void allow_fields(const nlohmann::json& body, std::initializer_list<const char*> allowed);

// Field readers: invalid_argument naming the field on a missing field or a
// wrong type; strings are also checked for length (1..max unless optional).
std::string required_string(const nlohmann::json& body, const char* field, size_t max = 1000);
std::optional<std::string> optional_string(const nlohmann::json& body, const char* field, size_t max = 1000);
std::optional<bool> optional_bool(const nlohmann::json& body, const char* field);
std::optional<int64_t> optional_int(const nlohmann::json& body, const char* field, int64_t min, int64_t max);
nlohmann::json optional_object(const nlohmann::json& body, const char* field);
std::vector<std::string> optional_string_array(const nlohmann::json& body, const char* field, size_t max_items = 100,
                                               size_t max_length = 100);

// Registration of each resource's routes (one file each under host/api/).
void register_auth_routes(ApiRoutes& routes);
void register_tenant_routes(ApiRoutes& routes);      // organizations, workspaces, members, invitations
void register_key_routes(ApiRoutes& routes);         // API keys
void register_dashboard_routes(ApiRoutes& routes);   // the registry: /v1/internal/dashboard/*, /api/v1/admin/dashboards*
void register_profile_routes(ApiRoutes& routes);     // profiles, and the dashboards' /api/v1/sessions
void register_sending_rule_routes(ApiRoutes& routes);  // a profile's sending rules and their state
void register_contact_routes(ApiRoutes& routes);
void register_conversation_routes(ApiRoutes& routes);  // conversations and their messages
void register_group_routes(ApiRoutes& routes);      // a profile's WhatsApp groups, on channels that have them
void register_campaign_routes(ApiRoutes& routes);      // campaigns, their recipients and progress
void register_flow_routes(ApiRoutes& routes);        // flows, revisions, executions
void register_knowledge_routes(ApiRoutes& routes);   // knowledge bases, documents, search, test questions
void register_audit_routes(ApiRoutes& routes);
void register_event_routes(ApiRoutes& routes);       // GET /api/v1/events (SSE)
void register_webhook_routes(ApiRoutes& routes);     // outbound webhook subscriptions and their deliveries
void register_system_routes(ApiRoutes& routes);      // /metrics, /api/v1/openapi.json, /api/v1/me

// Every route of /api/v1 and /v1 in one call, in the order above.
void register_api_routes(ApiRoutes& routes);

template <class T, class ToJson>
ApiResponse page_response(const store::Page<T>& page, ToJson to_json_fn) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& item : page.items) data.push_back(to_json_fn(item));
  return ok({{"data", std::move(data)},
             {"next_cursor", page.next ? nlohmann::json(encode_cursor(*page.next)) : nlohmann::json(nullptr)}});
}

}  // namespace sb::api

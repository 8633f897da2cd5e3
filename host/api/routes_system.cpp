// GET /metrics (Prometheus text) and GET /api/v1/openapi.json.
#include "api/api_context.hpp"


#include <string_view>

namespace sb::api {

std::string_view openapi_document();  // generated from docs/openapi.json

void register_system_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  // Open like /health: bind to loopback or a private network (docs/operations.md).
  routes.open("GET", "/metrics", [&s](const ApiRequest&) {
    return ApiResponse{200, "text/plain; version=0.0.4; charset=utf-8", s.metrics.render(), {}, {}};
  });
  routes.open("GET", "/api/v1/openapi.json", [](const ApiRequest&) {
    return ApiResponse{200, "application/json", std::string(openapi_document()), {}, {}};
  });
  // The router's table, for engine admins (and the test that checks it
  // against the OpenAPI document and walks it for tenant isolation).
  HttpServer& server = routes.server();
  routes.get("/api/v1/admin/routes", [&server](Call& call) {
    require_engine_admin(call);
    nlohmann::json data = nlohmann::json::array();
    for (const auto& r : server.routes()) data.push_back({{"method", r.method}, {"path", r.pattern}});
    return ok({{"data", data}});
  });
}

}  // namespace sb::api

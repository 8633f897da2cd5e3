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
}

}  // namespace sb::api

// What every API response has, whatever the route: the body limit, security
// headers, CORS for allowed origins only, and the Prometheus metrics.
#include "support/api_host.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <regex>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::require_error;
using sb::test::TempDir;

TEST_CASE("an oversized body is refused with 413 in the error shape and nothing is written", "[api]") {
  TempDir dir("sb-api-protection");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  const std::string huge(2 * 1024 * 1024, 'x');
  auto r = api.call("POST", "/api/v1/workspaces/" + t.workspace_id + "/contacts", {{"phone", "+15550001111"}, {"name", huge}},
                    t.owner_auth());
  require_error(r, 413, "payload_too_large");
  auto list = api.call("GET", "/api/v1/workspaces/" + t.workspace_id + "/contacts", nullptr, t.owner_auth());
  CHECK(list.body["data"].empty());
}

TEST_CASE("every response carries the security headers and a request id", "[api]") {
  TempDir dir("sb-api-protection");
  ApiHost api(dir.path());
  for (const auto& path : {"/health", "/api/v1/me", "/api/v1/nothing-here"}) {
    auto r = api.call("GET", path);
    INFO(path);
    CHECK(r.headers["x-content-type-options"] == "nosniff");
    CHECK(r.headers["x-frame-options"] == "DENY");
    CHECK(r.headers["referrer-policy"] == "no-referrer");
    CHECK(r.headers["content-security-policy"].find("default-src 'none'") != std::string::npos);
    CHECK_FALSE(r.headers["x-request-id"].empty());
  }
}

TEST_CASE("CORS answers configured origins and registered dashboards' origins, and nobody else", "[api]") {
  TempDir dir("sb-api-protection");
  ApiHost api(dir.path(), {{"cors_origins", {"https://admin.example.com"}}});
  auto preflight = [&](const std::string& origin) {
    auto c = api.host().client();
    auto r = c->Options("/api/v1/me", {{"Origin", origin}, {"Access-Control-Request-Method", "GET"}});
    REQUIRE(r);
    return r;
  };
  auto allowed = preflight("https://admin.example.com");
  CHECK(allowed->status == 204);
  CHECK(allowed->get_header_value("Access-Control-Allow-Origin") == "https://admin.example.com");
  CHECK(allowed->get_header_value("Access-Control-Allow-Headers").find("X-API-Key") != std::string::npos);
  auto other = preflight("https://evil.example.com");
  CHECK_FALSE(other->has_header("Access-Control-Allow-Origin"));

  REQUIRE(api.call("POST", "/v1/internal/dashboard/register",
                   {{"agencyId", "acme"}, {"dashboardName", "Acme"}, {"dashboardUrl", "https://app.acme.example.com/x/y"},
                    {"webhookSecret", std::string(40, 's')}},
                   {{"Authorization", std::string("PSK ") + ApiHost::kPsk}})
              .status == 200);
  CHECK(preflight("https://app.acme.example.com")->get_header_value("Access-Control-Allow-Origin") ==
        "https://app.acme.example.com");
  auto actual = api.call("GET", "/health", nullptr, {{"Origin", "https://app.acme.example.com"}});
  CHECK(actual.headers["access-control-allow-origin"] == "https://app.acme.example.com");
  CHECK(api.call("GET", "/health", nullptr, {{"Origin", "https://evil.example.com"}}).headers.count(
            "access-control-allow-origin") == 0);
}

TEST_CASE("/metrics counts requests by route pattern and status, with latency, messages and the outbox", "[api]") {
  TempDir dir("sb-api-protection");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  for (int i = 0; i < 3; ++i) api.call("GET", "/api/v1/workspaces/" + t.workspace_id, nullptr, t.owner_auth());
  api.call("GET", "/api/v1/workspaces/nope", nullptr, t.owner_auth());
  auto c = api.host().client();
  REQUIRE(sb::test::post_inbound(*c, {{"from", "+15550001111"}, {"text", "hi"}})->status == 200);
  auto m = c->Get("/metrics");
  REQUIRE(m);
  REQUIRE(m->status == 200);
  const std::string text = m->body;
  INFO(text.substr(0, 3000));
  CHECK(text.find(R"(switchboard_http_requests_total{method="GET",route="/api/v1/workspaces/:workspace_id",status="200"} 3)") !=
        std::string::npos);
  CHECK(text.find(R"(switchboard_http_requests_total{method="GET",route="/api/v1/workspaces/:workspace_id",status="404"} 1)") !=
        std::string::npos);
  CHECK(text.find("switchboard_http_request_duration_seconds_bucket{route=\"/api/v1/workspaces/:workspace_id\",le=\"+Inf\"} 4") !=
        std::string::npos);
  CHECK(std::regex_search(text, std::regex("switchboard_messages_received_total 1\n")));
  CHECK(text.find("switchboard_outbox_depth ") != std::string::npos);
  CHECK(text.find("switchboard_flow_errors_total ") != std::string::npos);
  CHECK(text.find("switchboard_sse_streams 0") != std::string::npos);
  // No raw path (with an id in it) becomes a label.
  CHECK(text.find(t.workspace_id) == std::string::npos);
}

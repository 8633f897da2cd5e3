// The OpenAPI document served at /api/v1/openapi.json against the real
// router: every route is documented, and nothing documented is missing.
#include "support/api_host.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <set>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::TempDir;

TEST_CASE("the OpenAPI document lists exactly the router's routes, each with a summary and responses", "[api]") {
  TempDir dir("sb-api-openapi");
  ApiHost api(dir.path());
  auto doc = api.call("GET", "/api/v1/openapi.json");
  REQUIRE(doc.status == 200);
  REQUIRE(doc.body.is_object());
  CHECK(doc.body["openapi"].get<std::string>().rfind("3.", 0) == 0);
  auto routes = api.call("GET", "/api/v1/admin/routes", nullptr, api.master());
  REQUIRE(routes.status == 200);

  static const std::regex kParam(":([A-Za-z_][A-Za-z0-9_]*)");
  std::set<std::string> router, documented;
  for (const auto& r : routes.body["data"]) {
    std::string method = r["method"];
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    router.insert(method + " " + std::regex_replace(r["path"].get<std::string>(), kParam, "{$1}"));
  }
  REQUIRE(router.size() > 50);
  for (const auto& [path, item] : doc.body["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      documented.insert(method + " " + path);
      INFO(method << " " << path);
      CHECK(op.contains("summary"));
      CHECK(op.contains("responses"));
      // Every {param} of the path is declared as a path parameter.
      static const std::regex kBraced("\\{([^}]+)\\}");
      for (std::sregex_iterator it(path.begin(), path.end(), kBraced), end; it != end; ++it) {
        bool declared = false;
        for (const auto& p : op.value("parameters", json::array()))
          declared = declared || (p["in"] == "path" && p["name"] == (*it)[1].str());
        CHECK(declared);
      }
    }
  }
  for (const auto& r : router) {
    INFO("in the router, not in docs/openapi.json: " << r);
    CHECK(documented.count(r) == 1);
  }
  for (const auto& d : documented) {
    INFO("in docs/openapi.json, not in the router: " << d);
    CHECK(router.count(d) == 1);
  }
  // Only engine admins read the router's table.
  auto t = api.make_tenant("a");
  CHECK(api.call("GET", "/api/v1/admin/routes", nullptr, t.owner_auth()).status == 403);
}

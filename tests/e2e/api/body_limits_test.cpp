// Body limits of a real host: JSON routes take max_body_bytes (1 MiB), a
// CSV import and channel webhooks take max_upload_bytes (16 MiB) — so a
// 60,000-row contact list imports in one request and a large batch of
// Meta notifications is not refused (and redelivered forever).
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <cstdio>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::TempDir;

TEST_CASE("JSON bodies stop at 1 MiB while a CSV import and a channel webhook may be larger", "[api][limits]") {
  TempDir dir("sb-api-limits");
  ApiHost api(dir.path(), {{"user_rate", 1000}, {"user_burst", 1000}});
  auto a = api.make_tenant("a");
  const std::string ws = "/api/v1/workspaces/" + a.workspace_id;
  auto client = api.host().client();
  client->set_read_timeout(120, 0);
  httplib::Headers auth;
  for (const auto& [k, v] : a.owner_auth()) auth.emplace(k, v);

  // A JSON body over 1 MiB: 413 naming the limit, nothing created.
  const std::string big_name(1100 * 1024, 'x');
  auto res = client->Post((ws + "/contacts").c_str(), auth, json{{"phone", "+12025550100"}, {"name", big_name}}.dump(),
                          "application/json");
  REQUIRE(res);
  CHECK(res->status == 413);
  const json err = json::parse(res->body);
  CHECK(err["error"]["code"] == "payload_too_large");
  CHECK_THAT(err["error"]["message"].get<std::string>(), Catch::Contains("1048576"));

  // A 60,000-row CSV (about 1.6 MiB) imports in one request.
  std::string csv = "phone,name\n";
  char line[64];
  for (int i = 0; i < 60000; ++i) {
    std::snprintf(line, sizeof line, "+1202%07d,Person %d\n", 2000000 + i, i);
    csv += line;
  }
  REQUIRE(csv.size() > 1024 * 1024);
  res = client->Post((ws + "/contacts/import").c_str(), auth, csv, "text/csv");
  REQUIRE(res);
  INFO(res->body.substr(0, 500));
  CHECK(res->status == 200);
  CHECK(json::parse(res->body)["imported"] == 60000);
  CHECK(sb::test::count(api.host().db_path(),
                        "SELECT COUNT(*) FROM contacts WHERE workspace_id = '" + a.workspace_id + "'") == 60000);

  // A channel webhook over 1 MiB reaches its plugin: the sandbox answers
  // about the message itself, not the host with 413.
  res = client->Post("/hooks/channel-sandbox/demo/inbound", std::string(1100 * 1024, ' ') + "{}", "application/json");
  REQUIRE(res);
  CHECK(res->status != 413);
}

// The dashboard registry end to end: registration with the pre-shared key,
// the dashboard's key reaching only its agency, config, the engine admin's
// views, suspension and activation, re-registration.
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/temp_dir.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

using nlohmann::json;
using sb::test::count;
using sb::test::ApiHost;
using sb::test::require_error;
using sb::test::TempDir;

namespace {

const sb::test::Headers kPsk = {{"Authorization", std::string("PSK ") + ApiHost::kPsk}};
const std::string kSecret = "a-webhook-secret-of-at-least-32-characters";

json registration(const std::string& agency) {
  return {{"agencyId", agency},
          {"dashboardName", "Dashboard " + agency},
          {"dashboardUrl", "https://" + agency + ".example.com/hooks"},
          {"webhookSecret", kSecret}};
}

}  // namespace

TEST_CASE("a dashboard registers with the PSK and its key reaches only its own agency's tenants", "[api]") {
  TempDir dir("sb-api-registry");
  ApiHost api(dir.path());

  require_error(api.call("POST", "/v1/internal/dashboard/register", registration("acme")), 401, "unauthorized");
  require_error(api.call("POST", "/v1/internal/dashboard/register", registration("acme"),
                         {{"Authorization", "PSK wrong-psk"}}),
                401, "unauthorized");
  auto short_secret = registration("acme");
  short_secret["webhookSecret"] = "too short";
  auto bad = api.call("POST", "/v1/internal/dashboard/register", short_secret, kPsk);
  require_error(bad, 400, "invalid_argument");
  CHECK(bad.body["error"]["details"]["field"] == "webhookSecret");
  auto bad_url = registration("acme");
  bad_url["dashboardUrl"] = "ftp://nope";
  CHECK(api.call("POST", "/v1/internal/dashboard/register", bad_url, kPsk).body["error"]["details"]["field"] ==
        "dashboardUrl");
  auto unknown = registration("acme");
  unknown["extra"] = 1;
  CHECK(api.call("POST", "/v1/internal/dashboard/register", unknown, kPsk).status == 400);
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM dashboards") == 0);

  auto reg = api.call("POST", "/v1/internal/dashboard/register", registration("acme"), kPsk);
  INFO(reg.raw);
  REQUIRE(reg.status == 200);
  CHECK(reg.body["success"] == true);
  CHECK(reg.body["agencyId"] == "acme");
  const std::string key = reg.body["apiKey"];
  CHECK(key.rfind("sbk_", 0) == 0);
  // Stored hashed and sealed: neither the key nor the webhook secret is in the database.
  SQLite::Database d(api.host().db_path().string(), SQLite::OPEN_READONLY);
  CHECK(d.execAndGet("SELECT webhook_secret FROM dashboards").getString().rfind("enc:v1:", 0) == 0);
  // The key is "sbk_" + its id ("key_<ulid>") + "_" + the secret, and the
  // secret (base64url) may itself hold '_': split after the id.
  const std::string secret = key.substr(key.find('_', key.find("key_") + 4) + 1);
  REQUIRE(secret.size() >= 32);
  // instr() is case-sensitive (LIKE is not, and the hash is hex).
  SQLite::Statement stored(d, "SELECT COUNT(*) FROM api_keys WHERE instr(secret_hash, ?) > 0 OR instr(id, ?) > 0");
  stored.bind(1, secret);
  stored.bind(2, secret);
  REQUIRE(stored.executeStep());
  CHECK(stored.getColumn(0).getInt64() == 0);

  auto other = api.call("POST", "/v1/internal/dashboard/register", registration("globex"), kPsk);
  REQUIRE(other.status == 200);
  const std::string other_key = other.body["apiKey"];

  const sb::test::Headers dash = {{"X-API-Key", key}};
  auto ws = api.call("POST", "/api/v1/organizations/acme/workspaces", {{"id", "t1"}, {"name", "Tenant 1"}}, dash);
  INFO(ws.raw);
  REQUIRE(ws.status == 201);
  REQUIRE(api.call("POST", "/api/v1/organizations/globex/workspaces", {{"id", "g1"}, {"name", "G"}},
                   {{"X-API-Key", other_key}}).status == 201);

  CHECK(api.call("GET", "/api/v1/workspaces/t1?agencyId=acme&tenantId=t1", nullptr, dash).status == 200);
  // Another agency's tenant, or its own tenant under another agency's name: 404, never data.
  require_error(api.call("GET", "/api/v1/workspaces/g1", nullptr, dash), 404, "not_found");
  require_error(api.call("GET", "/api/v1/workspaces/t1?agencyId=globex", nullptr, dash), 404, "not_found");
  require_error(api.call("GET", "/api/v1/organizations/globex", nullptr, dash), 404, "not_found");
  require_error(api.call("POST", "/api/v1/organizations/globex/workspaces", {{"id", "x"}, {"name", "X"}}, dash), 404,
                "not_found");

  // Config over the PSK routes.
  auto config = api.call("GET", "/v1/internal/dashboard/config?agencyId=acme", nullptr, kPsk);
  REQUIRE(config.status == 200);
  CHECK(config.body["dashboardUrl"] == "https://acme.example.com/hooks");
  CHECK_FALSE(config.body.contains("webhookSecret"));
  require_error(api.call("GET", "/v1/internal/dashboard/config?agencyId=nobody", nullptr, kPsk), 404, "not_found");
  require_error(api.call("GET", "/v1/internal/dashboard/config?agencyId=acme", nullptr, dash), 401, "unauthorized");
  auto patched = api.call("PATCH", "/v1/internal/dashboard/config",
                          {{"agencyId", "acme"}, {"dashboardUrl", "https://new.acme.example.com/h"}}, kPsk);
  REQUIRE(patched.status == 200);
  CHECK(patched.body["dashboardUrl"] == "https://new.acme.example.com/h");
  auto agencies = api.call("GET", "/v1/internal/dashboard/agencies", nullptr, kPsk);
  REQUIRE(agencies.status == 200);
  CHECK(agencies.body["agencies"].size() == 2);
}

TEST_CASE("an engine admin lists, inspects, suspends and reactivates dashboards; a suspended key is refused", "[api]") {
  TempDir dir("sb-api-registry");
  ApiHost api(dir.path());
  auto reg = api.call("POST", "/v1/internal/dashboard/register", registration("acme"), kPsk);
  REQUIRE(reg.status == 200);
  const sb::test::Headers dash = {{"X-API-Key", reg.body["apiKey"].get<std::string>()}};
  REQUIRE(api.call("POST", "/api/v1/organizations/acme/workspaces", {{"id", "t1"}, {"name", "T"}}, dash).status == 201);

  // Only engine admins see the admin routes.
  require_error(api.call("GET", "/api/v1/admin/dashboards", nullptr, dash), 403, "forbidden");
  auto list = api.call("GET", "/api/v1/admin/dashboards", nullptr, api.master());
  REQUIRE(list.status == 200);
  REQUIRE(list.body["data"].size() == 1);
  CHECK(list.body["data"][0]["agencyId"] == "acme");
  auto one = api.call("GET", "/api/v1/admin/dashboards/acme", nullptr, api.master());
  REQUIRE(one.status == 200);
  CHECK(one.body["workspaces"][0]["id"] == "t1");
  CHECK(api.call("GET", "/api/v1/admin/dashboards/acme/sessions", nullptr, api.master()).status == 200);
  require_error(api.call("GET", "/api/v1/admin/dashboards/nobody", nullptr, api.master()), 404, "not_found");

  auto suspended = api.call("POST", "/api/v1/admin/dashboards/acme/suspend", nullptr, api.master());
  REQUIRE(suspended.status == 200);
  CHECK(suspended.body["status"] == "suspended");
  auto refused = api.call("GET", "/api/v1/workspaces/t1", nullptr, dash);
  require_error(refused, 403, "forbidden");
  CHECK(refused.body["error"]["message"].get<std::string>().find("suspended") != std::string::npos);

  CHECK(api.call("POST", "/api/v1/admin/dashboards/acme/activate", nullptr, api.master()).status == 200);
  CHECK(api.call("GET", "/api/v1/workspaces/t1", nullptr, dash).status == 200);
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM audit_log WHERE action IN "
                                    "('dashboard.registered', 'dashboard.suspended', 'dashboard.activated')") == 3);

  // Registering again issues a new key and retires the old one.
  auto again = api.call("POST", "/v1/internal/dashboard/register", registration("acme"), kPsk);
  REQUIRE(again.status == 200);
  require_error(api.call("GET", "/api/v1/workspaces/t1", nullptr, dash), 401, "unauthorized");
  CHECK(api.call("GET", "/api/v1/workspaces/t1", nullptr, {{"X-API-Key", again.body["apiKey"].get<std::string>()}})
            .status == 200);
}

TEST_CASE("registration is off with a clear error when no PSK is configured", "[api]") {
  TempDir dir("sb-api-registry");
  ApiHost api(dir.path(), json::object(), {{"WORKFLOW_ENGINE_INTERNAL_PSK", ""}});
  auto r = api.call("POST", "/v1/internal/dashboard/register", registration("acme"), kPsk);
  require_error(r, 503, "unavailable");
  CHECK(r.body["error"]["message"].get<std::string>().find("WORKFLOW_ENGINE_INTERNAL_PSK") != std::string::npos);
}

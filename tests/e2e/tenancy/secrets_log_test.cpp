// No secret reaches the log: a host at debug level is driven through every
// kind of secret the API handles, then its whole log is searched for them.
#include "support/api_host.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::TempDir;

TEST_CASE("no password, token, key, PSK or webhook secret appears in any log line", "[api]") {
  TempDir dir("sb-api-secrets");
  std::vector<std::string> secrets = {ApiHost::kMasterKey, ApiHost::kPsk};
  {
    ApiHost api(dir.path(), json::object(), {{"SWITCHBOARD_LOG_LEVEL", "debug"}});
    auto t = api.make_tenant("a");
    secrets.insert(secrets.end(), {t.owner_password, t.owner_token, t.owner_refresh, t.manage_key,
                                   t.manage_key.substr(t.manage_key.rfind('_') + 1)});

    auto refreshed = api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", t.owner_refresh}});
    REQUIRE(refreshed.status == 200);
    secrets.push_back(refreshed.body["access_token"]);
    secrets.push_back(refreshed.body["refresh_token"]);
    // A reused refresh token and a wrong password are logged as events, not with their values.
    api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", t.owner_refresh}});
    const std::string wrong = "wrong-password-that-must-not-be-logged";
    secrets.push_back(wrong);
    api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", wrong}});

    auto inv = api.call("POST", "/api/v1/workspaces/" + t.workspace_id + "/invitations",
                        {{"email", "v@a.example.com"}, {"role", "viewer"}}, t.owner_auth());
    REQUIRE(inv.status == 201);
    secrets.push_back(inv.body["token"]);
    const std::string member_password = "member-password-not-in-logs";
    secrets.push_back(member_password);
    REQUIRE(api.call("POST", "/api/v1/auth/invitations/accept",
                     {{"token", inv.body["token"]}, {"password", member_password}})
                .status == 200);

    auto rotated = api.call("POST", "/api/v1/workspaces/" + t.workspace_id + "/api-keys", {{"name", "r"}, {"scopes", {"read"}}},
                            t.owner_auth());
    REQUIRE(rotated.status == 201);
    secrets.push_back(rotated.body["key"]);
    api.call("GET", "/api/v1/workspaces/" + t.workspace_id, nullptr, {{"X-API-Key", rotated.body["key"].get<std::string>()}});

    const std::string webhook_secret = "webhook-secret-that-never-reaches-a-log-line";
    secrets.push_back(webhook_secret);
    auto reg = api.call("POST", "/v1/internal/dashboard/register",
                        {{"agencyId", "acme"}, {"dashboardName", "D"}, {"dashboardUrl", "http://127.0.0.1:1/hooks"},
                         {"webhookSecret", webhook_secret}},
                        {{"Authorization", std::string("PSK ") + ApiHost::kPsk}});
    REQUIRE(reg.status == 200);
    secrets.push_back(reg.body["apiKey"]);
    // Failures that log: a wrong PSK, a bad key, a bad token.
    api.call("GET", "/v1/internal/dashboard/agencies", nullptr, {{"Authorization", "PSK guessed-psk-value-123"}});
    api.call("GET", "/api/v1/me", nullptr, {{"X-API-Key", "sbk_key_guessed_secret-value"}});
    api.call("GET", "/api/v1/me", nullptr, {{"Authorization", "Bearer not.a.token"}});
    api.host().stop();
  }
  std::ifstream in(dir.path() / "data" / "host.log");
  std::stringstream text;
  text << in.rdbuf();
  const std::string log = text.str();
  REQUIRE(log.size() > 1000);  // the host did log, at debug level
  for (const auto& s : secrets) {
    INFO("a secret in the log: " << s.substr(0, 6) << "...");
    CHECK(log.find(s) == std::string::npos);
  }
}

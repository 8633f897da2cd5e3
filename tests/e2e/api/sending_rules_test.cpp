// A profile's sending rules through the API of a real `switchboard serve`:
// defaults, validation that names the field, live state, metrics, audit.
#include "support/api_host.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::require_error;
using sb::test::TempDir;

TEST_CASE("sending rules are read, validated, applied and shown with their state", "[api][rules]") {
  TempDir dir("sb-api-rules");
  ApiHost api(dir.path());
  auto a = api.make_tenant("a");
  const std::string base = "/api/v1/workspaces/" + a.workspace_id + "/profiles";
  REQUIRE(api.call("POST", base, {{"id", "num1"}, {"name", "Number"}, {"channel_plugin", "channel-sandbox"}},
                   a.owner_auth())
              .status == 201);
  const std::string path = base + "/num1/sending-rules";

  auto got = api.call("GET", path, nullptr, a.owner_auth());
  REQUIRE(got.status == 200);
  CHECK(got.body["profile_id"] == "num1");
  CHECK(got.body["rules"]["enabled"] == false);
  CHECK(got.body["state"]["cold"]["sent_today"] == 0);
  CHECK(got.body["state"]["quiet_hours"]["timezone"] == "UTC");

  auto bad = api.call("PUT", path, {{"enabled", true}, {"cold", {{"per_minute", -1}}}}, a.owner_auth());
  require_error(bad, 400, "invalid_argument");
  CHECK_THAT(bad.body["error"]["message"].get<std::string>(), Catch::Contains("cold.per_minute"));
  bad = api.call("PUT", path, {{"quiet_hours", {{"start", "9pm"}}}}, a.owner_auth());
  require_error(bad, 400, "invalid_argument");
  CHECK_THAT(bad.body["error"]["message"].get<std::string>(), Catch::Contains("quiet_hours.start"));
  // Nothing was stored by the refused requests.
  CHECK(api.call("GET", path, nullptr, a.owner_auth()).body["rules"]["enabled"] == false);

  const json rules = {{"enabled", true},
                      {"cold", {{"per_minute", 30}, {"per_day", 500}}},
                      {"warmup", {{"enabled", true}, {"first_day", 40}, {"daily_growth", 2}}},
                      {"quiet_hours", {{"start", "21:00"}, {"end", "08:00"}}}};
  auto put = api.call("PUT", path, rules, a.owner_auth());
  REQUIRE(put.status == 200);
  CHECK(put.body["rules"]["cold"]["per_minute"] == 30);
  CHECK(put.body["rules"]["breaker"]["enabled"] == true);  // defaults filled
  CHECK(put.body["state"]["warmup"]["day"] == 1);
  CHECK(put.body["state"]["warmup"]["cold_cap_today"] == 40);
  CHECK(put.body["state"]["cold"]["daily_cap"] == 40);

  // A viewer may read but not change them.
  const std::string viewer = api.add_member(a, "viewer@example.com", "viewer");
  CHECK(api.call("GET", path, nullptr, {{"Authorization", "Bearer " + viewer}}).status == 200);
  require_error(api.call("PUT", path, rules, {{"Authorization", "Bearer " + viewer}}), 403, "forbidden");
  // An unknown profile is a 404.
  require_error(api.call("GET", base + "/nope/sending-rules", nullptr, a.owner_auth()), 404, "not_found");

  // Metrics show the profile's state; the change is in the audit log.
  auto metrics = api.call("GET", "/metrics");
  CHECK_THAT(metrics.raw, Catch::Contains("switchboard_sending_rule_state{profile=\"num1\",kind=\"cold\",measure=\"daily_cap\"} 40"));
  auto audit = api.call("GET", "/api/v1/workspaces/" + a.workspace_id + "/audit", nullptr, a.owner_auth());
  REQUIRE(audit.status == 200);
  bool seen = false;
  for (const auto& e : audit.body["data"]) seen = seen || e["action"] == "profile.sending_rules_changed";
  CHECK(seen);
}

// Profiles and their channel sessions through a real `switchboard serve`:
// /api/v1/workspaces/:workspace_id/profiles* and the dashboards'
// /api/v1/sessions* aliases, against the sandbox channel (and, for secrets,
// the config-channel fixture, whose schema marks "api_token" secret).
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include "tenancy/crypto.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using nlohmann::json;
using sb::test::count;
using sb::test::ApiHost;
using sb::test::ApiResult;
using sb::test::Headers;
using sb::test::require_error;
using sb::test::Tenant;
using sb::test::TempDir;

namespace {

// Generous limits: the tests poll, and the rate limiter has its own tests.
const json kFastLimits = {{"user_rate", 1000}, {"user_burst", 1000}, {"key_rate", 1000}, {"key_burst", 1000}};
constexpr const char* kSecretsKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string profiles(const Tenant& t) { return "/api/v1/workspaces/" + t.workspace_id + "/profiles"; }
std::string profile(const Tenant& t, const std::string& id) { return profiles(t) + "/" + id; }

json sandbox(const std::string& id, json config = json::object()) {
  return {{"id", id}, {"name", "Number " + id}, {"channel_plugin", "channel-sandbox"}, {"config", std::move(config)}};
}

std::string stored_config(const std::filesystem::path& db, const std::string& profile_id) {
  SQLite::Database d(db.string(), SQLite::OPEN_READONLY);
  d.setBusyTimeout(5000);
  SQLite::Statement q(d, "SELECT config_json FROM profiles WHERE id = ?");
  q.bind(1, profile_id);
  REQUIRE(q.executeStep());
  return q.getColumn(0).getString();
}

// A body the JSON writer would never produce.
ApiResult send_raw(ApiHost& api, const std::string& method, const std::string& path, const std::string& body,
                   const Headers& headers) {
  auto c = api.host().client();
  httplib::Headers h(headers.begin(), headers.end());
  auto res = method == "PATCH" ? c->Patch(path.c_str(), h, body, "application/json")
                               : c->Post(path.c_str(), h, body, "application/json");
  REQUIRE(res);
  ApiResult out;
  out.status = res->status;
  out.raw = res->body;
  out.body = json::parse(res->body, nullptr, false);
  if (out.body.is_discarded()) out.body = nullptr;
  return out;
}

void require_bad_field(const ApiResult& r, const std::string& field) {
  require_error(r, 400, "invalid_argument");
  CHECK(r.body["error"]["details"]["field"] == field);
}

// Polls the profile's status (slowly enough for any rate limit).
bool status_becomes(ApiHost& api, const std::string& path, const Headers& auth, const std::string& status) {
  return sb::test::eventually(
      [&] {
        auto r = api.call("GET", path + "/status", nullptr, auth);
        if (r.status == 200 && r.body["status"] == status) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(40));
        return false;
      },
      std::chrono::milliseconds(15000));
}

}  // namespace

TEST_CASE("profiles: a sandbox profile created through the API connects, shows its QR code and pairs", "[api]") {
  TempDir dir("sb-api-profiles");
  ApiHost api(dir.path(), kFastLimits);
  const Tenant a = api.make_tenant("a");

  auto made = api.call("POST", profiles(a), [] {
    json b = sandbox("a-sales", {{"phone", "+15551110000"}});
    b["connect"] = true;
    return b;
  }(), a.owner_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  CHECK(made.body["id"] == "a-sales");
  CHECK(made.body["workspace_id"] == a.workspace_id);
  CHECK(made.body["organization_id"] == a.organization_id);
  CHECK(made.body["channel_plugin"] == "channel-sandbox");
  CHECK(made.body["config"]["phone"] == "+15551110000");
  CHECK(made.body["config"]["receipt_delay_ms"] == 50);  // the schema's defaults are filled in
  CHECK(made.body["session"]["open"] == true);
  CHECK(made.body["session"]["failure"].is_null());

  // Without auto_pair the sandbox waits at QR_READY with a code.
  REQUIRE(status_becomes(api, profile(a, "a-sales"), a.owner_auth(), "QR_READY"));
  auto qr = api.call("GET", profile(a, "a-sales") + "/qr", nullptr, a.owner_auth());
  REQUIRE(qr.status == 200);
  CHECK(qr.body["status"] == "QR_READY");
  REQUIRE(qr.body["qr"].is_string());
  CHECK(qr.body["qr"].get<std::string>().rfind("sandbox-qr:a-sales:", 0) == 0);
  auto st = api.call("GET", profile(a, "a-sales") + "/status", nullptr, a.owner_auth());
  CHECK(st.body["qr"] == qr.body["qr"]);
  CHECK(st.body.contains("status_detail"));

  // The phone "scans" the code.
  auto pair = api.host().client()->Post("/hooks/channel-sandbox/a-sales/pair", "", "application/json");
  REQUIRE(pair);
  CHECK(pair->status == 202);
  REQUIRE(status_becomes(api, profile(a, "a-sales"), a.owner_auth(), "CONNECTED"));
  qr = api.call("GET", profile(a, "a-sales") + "/qr", nullptr, a.owner_auth());
  CHECK(qr.body["status"] == "CONNECTED");
  CHECK(qr.body["qr"].is_null());

  auto off = api.call("POST", profile(a, "a-sales") + "/disconnect", nullptr, a.owner_auth());
  INFO(off.raw);
  REQUIRE(off.status == 200);
  REQUIRE(status_becomes(api, profile(a, "a-sales"), a.owner_auth(), "DISCONNECTED"));

  // Connecting again reuses the open session.
  auto on = api.call("POST", profile(a, "a-sales") + "/connect", nullptr, a.owner_auth());
  INFO(on.raw);
  REQUIRE(on.status == 200);
  CHECK(on.body.contains("status"));
  REQUIRE(status_becomes(api, profile(a, "a-sales"), a.owner_auth(), "QR_READY"));

  // A second number, created idle and connected later, pairs by itself.
  auto quick = api.call("POST", profiles(a), sandbox("a-support", {{"auto_pair", true}}), a.key_auth());
  INFO(quick.raw);
  REQUIRE(quick.status == 201);
  CHECK(quick.body["status"] == "DISCONNECTED");
  CHECK(quick.body["session"]["open"] == true);
  REQUIRE(api.call("POST", profile(a, "a-support") + "/connect", nullptr, a.key_auth()).status == 200);
  REQUIRE(status_becomes(api, profile(a, "a-support"), a.owner_auth(), "CONNECTED"));

  // Both are listed, newest first, with their configs.
  auto list = api.call("GET", profiles(a), nullptr, a.owner_auth());
  REQUIRE(list.status == 200);
  REQUIRE(list.body["data"].size() == 2);
  CHECK(list.body["data"][0]["id"] == "a-support");
  CHECK(list.body["data"][1]["id"] == "a-sales");
  CHECK(list.body["data"][0]["config"]["auto_pair"] == true);
  auto page = api.call("GET", profiles(a) + "?limit=1", nullptr, a.owner_auth());
  REQUIRE(page.body["data"].size() == 1);
  REQUIRE(page.body["next_cursor"].is_string());
  auto rest = api.call("GET", profiles(a) + "?limit=1&cursor=" + page.body["next_cursor"].get<std::string>(), nullptr,
                       a.owner_auth());
  REQUIRE(rest.body["data"].size() == 1);
  CHECK(rest.body["data"][0]["id"] == "a-sales");

  // A rename keeps the session; a new config reopens it (and reconnects a live one).
  auto renamed = api.call("PATCH", profile(a, "a-support"), {{"name", "Support desk"}}, a.owner_auth());
  INFO(renamed.raw);
  REQUIRE(renamed.status == 200);
  CHECK(renamed.body["name"] == "Support desk");
  CHECK(renamed.body["config"]["auto_pair"] == true);
  auto reconf = api.call("PATCH", profile(a, "a-support"), {{"config", {{"auto_pair", true}, {"phone", "+15552220000"}}}},
                         a.owner_auth());
  INFO(reconf.raw);
  REQUIRE(reconf.status == 200);
  CHECK(reconf.body["config"]["phone"] == "+15552220000");
  CHECK(reconf.body["session"]["open"] == true);
  REQUIRE(status_becomes(api, profile(a, "a-support"), a.owner_auth(), "CONNECTED"));
  auto sbx = api.host().client()->Get("/hooks/channel-sandbox/a-support/status");
  REQUIRE(sbx);
  CHECK(json::parse(sbx->body)["phone"] == "+15552220000");

  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM audit_log WHERE action = 'profile.created' AND workspace_id = '" +
                                        a.workspace_id + "'") == 2);
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM audit_log WHERE action = 'profile.connected' AND target_id = "
                                    "'a-sales'") == 1);
}

TEST_CASE("profiles: a secret in a channel config is stored sealed and never comes back", "[api]") {
  TempDir dir("sb-api-profiles");
  ApiHost api(dir.path(), kFastLimits,
              {{"SWITCHBOARD_PLUGIN_PATH",
                std::string(SB_PLUGIN_DIR) + ":" + (std::filesystem::path(SB_TEST_PLUGIN_DIR) / "config-channel").string()},
               {"SWITCHBOARD_SECRETS_KEY", kSecretsKey}});
  const Tenant a = api.make_tenant("a");
  const std::string token = "tok-very-secret-0123456789";

  auto made = api.call("POST", profiles(a),
                       {{"id", "a-cfg"}, {"name", "Configured"}, {"channel_plugin", "config-channel"},
                        {"config", {{"api_token", token}, {"mode", "live"}}}, {"connect", true}},
                       a.owner_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  CHECK(made.body["config"]["api_token"] == "***");
  CHECK(made.body["config"]["mode"] == "live");
  CHECK(made.body["config"]["retries"] == 3);
  CHECK(made.body["session"]["open"] == true);  // the plugin got the opened config
  CHECK(made.raw.find(token) == std::string::npos);

  for (const std::string& path : {profile(a, "a-cfg"), profiles(a), std::string("/api/v1/sessions?tenantId=") + a.workspace_id,
                                  "/api/v1/sessions/a-cfg?tenantId=" + a.workspace_id}) {
    auto r = api.call("GET", path, nullptr, a.owner_auth());
    INFO(path << " " << r.raw);
    REQUIRE(r.status == 200);
    CHECK(r.raw.find(token) == std::string::npos);
    CHECK(r.raw.find("***") != std::string::npos);
  }

  const auto tenancy_box = sb::tenancy::SecretBox(
      sb::tenancy::load_or_create_key(std::string(kSecretsKey), dir.path() / "unused.key", "test key"));
  auto sealed_token = [&] {
    const json stored = json::parse(stored_config(api.host().db_path(), "a-cfg"));
    return stored["api_token"].get<std::string>();
  };
  CHECK(sealed_token().rfind("enc:v1:", 0) == 0);
  CHECK(stored_config(api.host().db_path(), "a-cfg").find(token) == std::string::npos);
  CHECK(tenancy_box.open(sealed_token()) == token);

  // Sending the redacted config back keeps the secret; a new one replaces it.
  json back = made.body["config"];
  back["mode"] = "test";
  auto kept = api.call("PATCH", profile(a, "a-cfg"), {{"config", back}}, a.owner_auth());
  INFO(kept.raw);
  REQUIRE(kept.status == 200);
  CHECK(kept.body["config"]["mode"] == "test");
  CHECK(kept.body["config"]["api_token"] == "***");
  CHECK(sealed_token().rfind("enc:v1:", 0) == 0);
  CHECK(tenancy_box.open(sealed_token()) == token);

  auto replaced = api.call("PATCH", profile(a, "a-cfg"), {{"config", {{"api_token", "tok-new-0123456789"}}}},
                           a.owner_auth());
  REQUIRE(replaced.status == 200);
  CHECK(replaced.raw.find("tok-new-0123456789") == std::string::npos);
  CHECK(tenancy_box.open(sealed_token()) == "tok-new-0123456789");

  // A placeholder with nothing behind it is refused.
  auto placeholder = api.call("POST", profiles(a),
                              {{"name", "No secret"}, {"channel_plugin", "config-channel"}, {"config", {{"api_token", "***"}}}},
                              a.owner_auth());
  require_bad_field(placeholder, "config");

  // A config without the required secret is refused and the old one stays.
  auto missing = api.call("PATCH", profile(a, "a-cfg"), {{"config", {{"mode", "live"}}}}, a.owner_auth());
  require_bad_field(missing, "config");
  CHECK(tenancy_box.open(sealed_token()) == "tok-new-0123456789");
}

TEST_CASE("profiles: bad input answers 400 naming the field and stores nothing", "[api]") {
  TempDir dir("sb-api-profiles");
  ApiHost api(dir.path(), kFastLimits);
  const Tenant a = api.make_tenant("a");
  const auto auth = a.owner_auth();

  require_bad_field(api.call("POST", profiles(a),
                             {{"name", "x"}, {"channel_plugin", "channel-nowhere"}}, auth), "channel_plugin");
  require_bad_field(api.call("POST", profiles(a),
                             {{"name", "x"}, {"channel_plugin", "storage-sqlite"}}, auth), "channel_plugin");
  auto bad_phone = api.call("POST", profiles(a), sandbox("a-x", {{"phone", "not a phone"}}), auth);
  require_bad_field(bad_phone, "config");
  CHECK(bad_phone.body["error"]["message"].get<std::string>().find("phone") != std::string::npos);
  require_bad_field(api.call("POST", profiles(a), sandbox("a-x", {{"colour", "blue"}}), auth), "config");
  require_bad_field(api.call("POST", profiles(a), sandbox("a-x", {{"receipt_delay_ms", -1}}), auth), "config");
  {
    json b = sandbox("a-x");
    b["colour"] = "blue";
    require_bad_field(api.call("POST", profiles(a), b, auth), "colour");
  }
  // The server refuses a body that is not JSON before any handler reads a field.
  require_error(send_raw(api, "POST", profiles(a), "{\"name\": \"x\",", auth), 400, "invalid_argument");
  require_error(send_raw(api, "POST", profiles(a), "[]", auth), 400, "invalid_argument");
  require_bad_field(api.call("POST", profiles(a), {{"channel_plugin", "channel-sandbox"}}, auth), "name");
  require_bad_field(api.call("POST", profiles(a), {{"name", "x"}}, auth), "channel_plugin");
  for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{
           {"name", 5}, {"channel_plugin", json::array()}, {"config", "phone=+1555"}, {"connect", "yes"}, {"id", 7}}) {
    json b = sandbox("a-x");
    b[field] = value;
    INFO(field);
    require_bad_field(api.call("POST", profiles(a), b, auth), field);
  }
  require_bad_field(api.call("POST", profiles(a), sandbox("-starts-with-a-dash"), auth), "id");
  require_bad_field(api.call("POST", profiles(a), sandbox("has space"), auth), "id");
  require_bad_field(api.call("POST", profiles(a), sandbox(std::string(65, 'x')), auth), "id");
  require_error(api.call("GET", profiles(a) + "?limit=0", nullptr, auth), 400, "invalid_argument");
  require_error(api.call("GET", profiles(a) + "?cursor=nonsense", nullptr, auth), 400, "invalid_argument");

  CHECK(api.call("GET", profiles(a), nullptr, auth).body["data"].empty());
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM profiles WHERE workspace_id = '" + a.workspace_id + "'") == 0);

  // A stored profile: a taken id conflicts; a bad change leaves it as it was.
  REQUIRE(api.call("POST", profiles(a), sandbox("a-one"), auth).status == 201);
  auto again = api.call("POST", profiles(a), sandbox("a-one"), auth);
  require_error(again, 409, "conflict");
  CHECK(again.body["error"]["details"]["field"] == "id");
  const std::string path = profile(a, "a-one");
  const std::string before = stored_config(api.host().db_path(), "a-one");
  require_bad_field(api.call("PATCH", path, {{"name", ""}}, auth), "name");
  require_bad_field(api.call("PATCH", path, {{"name", 3}}, auth), "name");
  require_bad_field(api.call("PATCH", path, {{"config", {{"phone", "abc"}}}}, auth), "config");
  require_bad_field(api.call("PATCH", path, {{"config", {{"colour", "blue"}}}}, auth), "config");
  require_bad_field(api.call("PATCH", path, {{"config", 12}}, auth), "config");
  require_bad_field(api.call("PATCH", path, {{"channel_plugin", "other"}}, auth), "channel_plugin");
  require_error(send_raw(api, "PATCH", path, "[1,", auth), 400, "invalid_argument");
  require_bad_field(api.call("POST", path + "/connect", {{"now", true}}, auth), "now");
  require_error(send_raw(api, "POST", path + "/disconnect", "nope", auth), 400, "invalid_argument");
  auto same = api.call("GET", path, nullptr, auth);
  CHECK(same.body["name"] == "Number a-one");
  CHECK(stored_config(api.host().db_path(), "a-one") == before);
  require_error(api.call("GET", profile(a, "a-none"), nullptr, auth), 404, "not_found");
}

TEST_CASE("profiles: another tenant's profile id is not found on every route and is left alone", "[api]") {
  TempDir dir("sb-api-profiles");
  ApiHost api(dir.path(), kFastLimits);
  const Tenant a = api.make_tenant("a");
  const Tenant b = api.make_tenant("b");
  REQUIRE(api.call("POST", profiles(a), sandbox("a-phone", {{"auto_pair", true}}), a.owner_auth()).status == 201);
  REQUIRE(api.call("POST", profile(a, "a-phone") + "/connect", nullptr, a.owner_auth()).status == 200);
  REQUIRE(status_becomes(api, profile(a, "a-phone"), a.owner_auth(), "CONNECTED"));

  const std::string in_b = profile(b, "a-phone");
  const std::string flat = "/api/v1/sessions/a-phone";
  const std::string b_query = "?tenantId=" + b.workspace_id;
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"GET", in_b},
      {"PATCH", in_b},
      {"DELETE", in_b},
      {"POST", in_b + "/connect"},
      {"POST", in_b + "/disconnect"},
      {"GET", in_b + "/qr"},
      {"GET", in_b + "/status"},
      {"GET", flat + b_query},
      {"DELETE", flat + b_query},
      {"POST", flat + "/connect" + b_query},
      {"POST", flat + "/disconnect" + b_query},
      {"GET", flat + "/qr" + b_query},
      // b may not see a's workspace at all.
      {"GET", profile(a, "a-phone")},
      {"DELETE", profile(a, "a-phone")},
      {"POST", profile(a, "a-phone") + "/disconnect"},
      {"GET", profiles(a)},
      {"GET", "/api/v1/sessions?tenantId=" + a.workspace_id},
      {"DELETE", flat + "?tenantId=" + a.workspace_id},
  };
  for (const auto& auth : {b.owner_auth(), b.key_auth()}) {
    for (const auto& [method, path] : calls) {
      INFO(method << " " << path);
      const json body = method == "PATCH" ? json{{"name", "taken"}} : json(nullptr);
      require_error(api.call(method, path, body, auth), 404, "not_found");
    }
  }
  auto mine = api.call("GET", profile(a, "a-phone"), nullptr, a.owner_auth());
  REQUIRE(mine.status == 200);
  CHECK(mine.body["name"] == "Number a-phone");
  CHECK(mine.body["status"] == "CONNECTED");
  CHECK(mine.body["session"]["open"] == true);
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM audit_log WHERE target_id = 'a-phone' AND action IN "
                                    "('profile.deleted', 'profile.updated', 'profile.disconnected')") == 0);
}

TEST_CASE("profiles: a viewer may read profiles but not create, change, connect or delete them", "[api]") {
  TempDir dir("sb-api-profiles");
  ApiHost api(dir.path(), kFastLimits);
  const Tenant a = api.make_tenant("a");
  REQUIRE(api.call("POST", profiles(a), sandbox("a-phone"), a.owner_auth()).status == 201);
  const Headers viewer = {{"Authorization", "Bearer " + api.add_member(a, "viewer@a.example.com", "viewer")}};

  CHECK(api.call("GET", profiles(a), nullptr, viewer).status == 200);
  CHECK(api.call("GET", profile(a, "a-phone"), nullptr, viewer).status == 200);
  CHECK(api.call("GET", profile(a, "a-phone") + "/status", nullptr, viewer).status == 200);
  CHECK(api.call("GET", profile(a, "a-phone") + "/qr", nullptr, viewer).status == 200);
  CHECK(api.call("GET", "/api/v1/sessions?tenantId=" + a.workspace_id, nullptr, viewer).status == 200);

  require_error(api.call("POST", profiles(a), sandbox("a-two"), viewer), 403, "forbidden");
  require_error(api.call("PATCH", profile(a, "a-phone"), {{"name", "mine now"}}, viewer), 403, "forbidden");
  require_error(api.call("POST", profile(a, "a-phone") + "/connect", nullptr, viewer), 403, "forbidden");
  require_error(api.call("POST", profile(a, "a-phone") + "/disconnect", nullptr, viewer), 403, "forbidden");
  require_error(api.call("DELETE", profile(a, "a-phone"), nullptr, viewer), 403, "forbidden");
  json flat = sandbox("a-three");
  flat["tenantId"] = a.workspace_id;
  require_error(api.call("POST", "/api/v1/sessions", flat, viewer), 403, "forbidden");

  auto list = api.call("GET", profiles(a), nullptr, a.owner_auth());
  REQUIRE(list.body["data"].size() == 1);
  CHECK(list.body["data"][0]["name"] == "Number a-phone");
  CHECK(list.body["data"][0]["session"]["open"] == true);
}

TEST_CASE("profiles: the dashboards' /api/v1/sessions aliases work with tenantId and refuse a wrong agencyId",
          "[api]") {
  TempDir dir("sb-api-profiles");
  ApiHost api(dir.path(), kFastLimits);
  const Tenant a = api.make_tenant("a");
  api.make_tenant("b");
  auto reg = api.call("POST", "/v1/internal/dashboard/register",
                      {{"agencyId", a.organization_id}, {"dashboardName", "Agency A"},
                       {"dashboardUrl", "http://127.0.0.1:9/events"},
                       {"webhookSecret", "whsec-0123456789abcdef0123456789abcdef"}},
                      {{"Authorization", std::string("PSK ") + ApiHost::kPsk}});
  INFO(reg.raw);
  REQUIRE(reg.status == 200);
  const Headers dash = {{"X-API-Key", reg.body["apiKey"].get<std::string>()}};
  const std::string q = "?agencyId=" + a.organization_id + "&tenantId=" + a.workspace_id;

  json body = sandbox("a-dash", {{"auto_pair", true}});
  body["tenantId"] = a.workspace_id;
  body["agencyId"] = a.organization_id;
  body["connect"] = true;
  auto made = api.call("POST", "/api/v1/sessions", body, dash);
  INFO(made.raw);
  REQUIRE(made.status == 201);
  CHECK(made.body["workspace_id"] == a.workspace_id);

  auto list = api.call("GET", "/api/v1/sessions" + q, nullptr, dash);
  REQUIRE(list.status == 200);
  REQUIRE(list.body["data"].size() == 1);
  CHECK(list.body["data"][0]["id"] == "a-dash");
  REQUIRE(sb::test::eventually([&] {
    auto r = api.call("GET", "/api/v1/sessions/a-dash" + q, nullptr, dash);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    return r.status == 200 && r.body["status"] == "CONNECTED";
  }));
  auto qr = api.call("GET", "/api/v1/sessions/a-dash/qr" + q, nullptr, dash);
  REQUIRE(qr.status == 200);
  CHECK(qr.body["status"] == "CONNECTED");
  CHECK(qr.body["qr"].is_null());
  // The workspace may come in the body too.
  auto off = api.call("POST", "/api/v1/sessions/a-dash/disconnect",
                      {{"tenantId", a.workspace_id}, {"agencyId", a.organization_id}}, dash);
  INFO(off.raw);
  REQUIRE(off.status == 200);
  REQUIRE(status_becomes(api, profile(a, "a-dash"), a.owner_auth(), "DISCONNECTED"));
  REQUIRE(api.call("POST", "/api/v1/sessions/a-dash/connect" + q, nullptr, dash).status == 200);
  REQUIRE(status_becomes(api, profile(a, "a-dash"), a.owner_auth(), "CONNECTED"));

  // The same rows as the nested routes.
  auto nested = api.call("GET", profile(a, "a-dash"), nullptr, a.owner_auth());
  CHECK(nested.body["id"] == "a-dash");

  // A wrong agency, another agency's workspace or no workspace at all.
  const std::string wrong = "?agencyId=b-org&tenantId=" + a.workspace_id;
  require_error(api.call("GET", "/api/v1/sessions" + wrong, nullptr, a.key_auth()), 404, "not_found");
  require_error(api.call("GET", "/api/v1/sessions/a-dash" + wrong, nullptr, a.key_auth()), 404, "not_found");
  require_error(api.call("DELETE", "/api/v1/sessions/a-dash" + wrong, nullptr, a.key_auth()), 404, "not_found");
  require_error(api.call("GET", "/api/v1/sessions?agencyId=" + a.organization_id + "&tenantId=b-ws", nullptr, dash),
                404, "not_found");
  json wrong_body = body;
  wrong_body["id"] = "a-dash-2";
  wrong_body["agencyId"] = "b-org";
  require_error(api.call("POST", "/api/v1/sessions", wrong_body, dash), 404, "not_found");
  require_bad_field(api.call("GET", "/api/v1/sessions", nullptr, dash), "tenantId");
  json no_tenant = sandbox("a-dash-3");
  require_bad_field(api.call("POST", "/api/v1/sessions", no_tenant, dash), "tenantId");
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM profiles WHERE id LIKE 'a-dash-%'") == 0);

  // The nested routes refuse the flat routes' tenant fields as unknown.
  json nested_body = sandbox("a-dash-4");
  nested_body["tenantId"] = a.workspace_id;
  require_bad_field(api.call("POST", profiles(a), nested_body, a.owner_auth()), "tenantId");

  auto gone = api.call("DELETE", "/api/v1/sessions/a-dash" + q, nullptr, dash);
  INFO(gone.raw);
  REQUIRE(gone.status == 204);
  require_error(api.call("GET", "/api/v1/sessions/a-dash" + q, nullptr, dash), 404, "not_found");
}

TEST_CASE("profiles: deleting a profile closes its session and removes its conversations and messages", "[api]") {
  TempDir dir("sb-api-profiles");
  ApiHost api(dir.path(), kFastLimits);
  const Tenant a = api.make_tenant("a");
  REQUIRE(api.call("POST", profiles(a), sandbox("a-del", {{"auto_pair", true}}), a.owner_auth()).status == 201);
  REQUIRE(api.call("POST", profiles(a), sandbox("a-keep", {{"auto_pair", true}}), a.owner_auth()).status == 201);

  auto c = api.host().client();
  for (const std::string id : {"a-del", "a-keep"}) {
    auto in = sb::test::post_inbound(*c, {{"from", "+15557770001"}, {"name", "Ana"}, {"text", "hi " + id}}, id);
    REQUIRE(in);
    INFO(in->body);
    REQUIRE(in->status == 200);
  }
  const auto db = api.host().db_path();
  auto rows = [&](const std::string& table, const std::string& id) {
    return count(db, "SELECT COUNT(*) FROM " + table + " WHERE profile_id = '" + id + "'");
  };
  REQUIRE(rows("conversations", "a-del") == 1);
  REQUIRE(rows("messages", "a-del") >= 1);

  auto del = api.call("DELETE", profile(a, "a-del"), nullptr, a.owner_auth());
  INFO(del.raw);
  REQUIRE(del.status == 204);
  CHECK(del.raw.empty());
  require_error(api.call("GET", profile(a, "a-del"), nullptr, a.owner_auth()), 404, "not_found");
  require_error(api.call("DELETE", profile(a, "a-del"), nullptr, a.owner_auth()), 404, "not_found");
  CHECK(count(db, "SELECT COUNT(*) FROM profiles WHERE id = 'a-del'") == 0);
  CHECK(rows("conversations", "a-del") == 0);
  CHECK(rows("messages", "a-del") == 0);
  CHECK(rows("outbox", "a-del") == 0);
  // The other number and the workspace's contacts stay.
  CHECK(rows("conversations", "a-keep") == 1);
  CHECK(count(db, "SELECT COUNT(*) FROM contacts WHERE workspace_id = '" + a.workspace_id + "'") == 1);
  CHECK(count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'profile.deleted' AND target_id = 'a-del'") == 1);

  // Its channel session is gone with it: the sandbox no longer answers for it.
  auto late = sb::test::post_inbound(*c, {{"from", "+15557770002"}, {"text", "anyone?"}}, "a-del");
  REQUIRE(late);
  CHECK(late->status == 404);
  CHECK(count(db, "SELECT COUNT(*) FROM messages WHERE profile_id = 'a-del'") == 0);
}

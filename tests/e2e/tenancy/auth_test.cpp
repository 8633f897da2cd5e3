// People and tokens through a real host: sign-up, login, refresh rotation
// with reuse detection, logout, password change, expiry, and the limits on
// logins.
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/temp_dir.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <thread>

using nlohmann::json;
using sb::test::count;
using sb::test::ApiHost;
using sb::test::require_error;
using sb::test::TempDir;

namespace {

sb::test::Headers bearer(const json& tokens) {
  return {{"Authorization", "Bearer " + tokens["access_token"].get<std::string>()}};
}

}  // namespace

TEST_CASE("the first owner signs up once, owns a new organization and logs in with the same password", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path());
  const json signup = {{"email", "Ana@Example.com"}, {"password", "long enough password"},
                       {"name", "Ana"}, {"organization_name", "Acme"}, {"workspace_name", "Support"}};
  auto first = api.call("POST", "/api/v1/auth/signup", signup);
  INFO(first.raw);
  REQUIRE(first.status == 201);
  CHECK(first.body["user"]["email"] == "ana@example.com");
  CHECK(first.body["user"]["engine_admin"] == true);
  CHECK_FALSE(first.body["user"].contains("password_hash"));
  CHECK(first.body["expires_in"] == 900);
  const std::string ws = first.body["workspace"]["id"];

  auto again = api.call("POST", "/api/v1/auth/signup", signup);
  require_error(again, 409, "conflict");

  auto me = api.call("GET", "/api/v1/me", nullptr, bearer(first.body));
  REQUIRE(me.status == 200);
  CHECK(me.body["memberships"][0]["role"] == "owner");
  CHECK(api.call("GET", "/api/v1/workspaces/" + ws, nullptr, bearer(first.body)).status == 200);

  auto login = api.call("POST", "/api/v1/auth/login", {{"email", "ana@example.com"}, {"password", "long enough password"}});
  REQUIRE(login.status == 200);
  CHECK(api.call("GET", "/api/v1/me", nullptr, bearer(login.body)).status == 200);

  require_error(api.call("POST", "/api/v1/auth/login", {{"email", "ana@example.com"}, {"password", "wrong password!"}}),
                401, "unauthorized");
  require_error(api.call("POST", "/api/v1/auth/login", {{"email", "nobody@example.com"}, {"password", "whatever pw"}}),
                401, "unauthorized");
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed'") == 2);
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM audit_log WHERE action = 'login'") == 1);
}

TEST_CASE("sign-up and login refuse bad input naming the field and store nothing", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path());
  auto c = api.host().client();
  auto malformed = c->Post("/api/v1/auth/signup", "{not json", "application/json");
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  struct Case {
    json body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{"password", "long enough password"}, {"organization_name", "Acme"}}, "email"},
      {{{"email", "not-an-email"}, {"password", "long enough password"}, {"organization_name", "Acme"}}, "email"},
      {{{"email", "a@b.c"}, {"password", "short"}, {"organization_name", "Acme"}}, "password"},
      {{{"email", "a@b.c"}, {"password", 12345678}, {"organization_name", "Acme"}}, "password"},
      {{{"email", "a@b.c"}, {"password", "long enough password"}}, "organization_name"},
      {{{"email", "a@b.c"}, {"password", "long enough password"}, {"organization_name", "A"}, {"admin", true}}, "admin"},
  };
  for (const auto& k : cases) {
    auto r = api.call("POST", "/api/v1/auth/signup", k.body);
    require_error(r, 400, "invalid_argument");
    CHECK(r.body["error"]["details"]["field"] == k.field);
  }
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM users") == 0);
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM organizations WHERE id <> 'demo'") == 0);
  auto wrong_type = c->Post("/api/v1/auth/login", "[1,2]", "application/json");
  REQUIRE(wrong_type);
  CHECK(wrong_type->status == 400);
  auto text = c->Post("/api/v1/auth/login", "email=a", "text/plain");
  REQUIRE(text);
  CHECK(text->status == 415);
}

TEST_CASE("a refresh token is rotated on every use, and presenting a used one revokes its whole family", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");

  auto r1 = api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", t.owner_refresh}});
  INFO(r1.raw);
  REQUIRE(r1.status == 200);
  const std::string second = r1.body["refresh_token"];
  CHECK(second != t.owner_refresh);
  CHECK(api.call("GET", "/api/v1/me", nullptr, bearer(r1.body)).status == 200);

  // The first token again: reuse. Refused, and the family goes with it.
  require_error(api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", t.owner_refresh}}), 401, "unauthorized");
  auto after = api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", second}});
  require_error(after, 401, "unauthorized");
  CHECK(after.body["error"]["message"].get<std::string>().find("revoked") != std::string::npos);
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM audit_log WHERE action = 'refresh.reuse_detected'") == 1);

  // A fresh login is a new family, untouched by the revocation.
  auto login = api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", t.owner_password}});
  REQUIRE(login.status == 200);
  CHECK(api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", login.body["refresh_token"]}}).status == 200);

  for (const std::string& bad : std::vector<std::string>{"rt_nothing.abc", "garbage", std::string(300, 'x')})
    require_error(api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", bad}}), bad.size() > 256 ? 400 : 401,
                  bad.size() > 256 ? "invalid_argument" : "unauthorized");
}

TEST_CASE("logout revokes the session's refresh token and a password change revokes every session", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  CHECK(api.call("POST", "/api/v1/auth/logout", {{"refresh_token", t.owner_refresh}}).status == 204);
  require_error(api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", t.owner_refresh}}), 401, "unauthorized");

  auto one = api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", t.owner_password}});
  auto two = api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", t.owner_password}});
  REQUIRE(one.status == 200);
  REQUIRE(two.status == 200);
  require_error(api.call("POST", "/api/v1/auth/password",
                         {{"current_password", "not it at all"}, {"new_password", "a new long password"}}, bearer(one.body)),
                401, "unauthorized");
  CHECK(api.call("POST", "/api/v1/auth/password",
                 {{"current_password", t.owner_password}, {"new_password", "a new long password"}}, bearer(one.body))
            .status == 204);
  require_error(api.call("POST", "/api/v1/auth/refresh", {{"refresh_token", two.body["refresh_token"]}}), 401,
                "unauthorized");
  require_error(api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", t.owner_password}}), 401,
                "unauthorized");
  CHECK(api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", "a new long password"}}).status ==
        200);
}

TEST_CASE("expired, tampered and foreign tokens are refused with 401", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path(), {{"access_token_ttl_s", 1}});
  auto t = api.make_tenant("a");
  const std::string path = "/api/v1/workspaces/" + t.workspace_id;
  std::string tampered = t.owner_token;
  tampered[tampered.find('.') + 3] ^= 1;
  require_error(api.call("GET", path, nullptr, {{"Authorization", "Bearer " + tampered}}), 401, "unauthorized");
  require_error(api.call("GET", path, nullptr, {{"Authorization", "Basic abc"}}), 401, "unauthorized");
  require_error(api.call("GET", path), 401, "unauthorized");
  require_error(api.call("GET", path, nullptr, {{"X-API-Key", "sbk_key_nope_nope"}}), 401, "unauthorized");
  // A token signed by another host's key (another data dir) is another audience.
  TempDir other_dir("sb-api-auth");
  ApiHost other(other_dir.path());
  auto o = other.make_tenant("a");
  require_error(api.call("GET", path, nullptr, o.owner_auth()), 401, "unauthorized");

  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto expired = api.call("GET", path, nullptr, t.owner_auth());
  require_error(expired, 401, "unauthorized");
  CHECK(expired.body["error"]["message"].get<std::string>().find("expired") != std::string::npos);
}

TEST_CASE("logins are limited per identity with 429 and Retry-After, and slowed after repeated failures", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path(), {{"login_rate", 0.01}, {"login_burst", 100}, {"login_free_failures", 2}});
  auto t = api.make_tenant("a");
  for (int i = 0; i < 2; ++i)
    require_error(api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", "wrong password"}}),
                  401, "unauthorized");
  // Two failures, both free: the next try must wait a second, even with the right password.
  auto slowed = api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", t.owner_password}});
  require_error(slowed, 429, "rate_limited");
  CHECK(std::stoi(slowed.headers["retry-after"]) >= 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", t.owner_password}}).status == 200);
  // The success cleared the count.
  CHECK(api.call("POST", "/api/v1/auth/login", {{"email", t.owner_email}, {"password", "wrong password"}}).status == 401);
  // Another identity is not slowed.
  CHECK(api.call("POST", "/api/v1/auth/login", {{"email", "x@y.z"}, {"password", "wrong password"}}).status == 401);
}

TEST_CASE("the login bucket answers 429 with Retry-After once an identity's burst is spent", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path(), {{"login_rate", 0.01}, {"login_burst", 3}});
  int limited = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = api.call("POST", "/api/v1/auth/login", {{"email", "a@b.c"}, {"password", "wrong password"}});
    if (r.status == 429) {
      ++limited;
      CHECK(r.headers.count("retry-after") == 1);
    }
  }
  CHECK(limited == 2);
}

TEST_CASE("API requests are limited per key and per user with 429 and Retry-After", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path(), {{"key_rate", 0.01}, {"key_burst", 5}, {"user_rate", 0.01}, {"user_burst", 8}});
  auto t = api.make_tenant("a");  // the owner spends one request of its 8 creating the key
  const std::string path = "/api/v1/workspaces/" + t.workspace_id;
  int ok = 0, limited = 0;
  for (int i = 0; i < 8; ++i) {
    auto r = api.call("GET", path, nullptr, t.key_auth());
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      CHECK(r.headers.count("retry-after") == 1);
    }
  }
  CHECK(ok == 5);
  CHECK(limited == 3);
  // The user's own bucket is separate from the key's.
  CHECK(api.call("GET", path, nullptr, t.owner_auth()).status == 200);
}

TEST_CASE("a bootstrap admin from the environment can log in as engine admin", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path(), json::object(),
              {{"SWITCHBOARD_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"},
               {"SWITCHBOARD_BOOTSTRAP_ADMIN_PASSWORD", "bootstrap password"}});
  auto login = api.call("POST", "/api/v1/auth/login", {{"email", "root@example.com"}, {"password", "bootstrap password"}});
  INFO(login.raw);
  REQUIRE(login.status == 200);
  CHECK(login.body["user"]["engine_admin"] == true);
  CHECK(api.call("GET", "/api/v1/admin/dashboards", nullptr, bearer(login.body)).status == 200);
  // Sign-up is closed once anyone exists, the bootstrap admin included.
  require_error(api.call("POST", "/api/v1/auth/signup",
                         {{"email", "b@example.com"}, {"password", "long enough password"}, {"organization_name", "B"}}),
                409, "conflict");
}

TEST_CASE("the signing key is generated into the data dir once, so tokens outlive a restart", "[api]") {
  TempDir dir("sb-api-auth");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  const auto key_file = api.host().data_dir() / "keys" / "token.key";
  REQUIRE(std::filesystem::exists(key_file));
  CHECK((std::filesystem::status(key_file).permissions() & std::filesystem::perms::others_read) ==
        std::filesystem::perms::none);
  api.host().stop();
  api.host().start();
  CHECK(api.call("GET", "/api/v1/workspaces/" + t.workspace_id, nullptr, t.owner_auth()).status == 200);
  CHECK(api.call("GET", "/api/v1/workspaces/" + t.workspace_id, nullptr, t.key_auth()).status == 200);
}

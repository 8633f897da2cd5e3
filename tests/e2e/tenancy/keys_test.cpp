// API keys: shown once, stored as a hash, scoped, listed with their last
// use, revocable, rotatable with an overlap; the master key acts as engine
// admin.
#include "support/api_host.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::require_error;
using sb::test::TempDir;

namespace {

std::string make_key(ApiHost& api, const sb::test::Tenant& t, const json& scopes) {
  auto r = api.call("POST", "/api/v1/workspaces/" + t.workspace_id + "/api-keys", {{"name", "k"}, {"scopes", scopes}},
                    t.owner_auth());
  INFO(r.raw);
  REQUIRE(r.status == 201);
  return r.body["key"];
}

}  // namespace

TEST_CASE("an API key is shown once, stored only as a hash, and listed with its last use", "[api]") {
  TempDir dir("sb-api-keys");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  const std::string base = "/api/v1/workspaces/" + t.workspace_id + "/api-keys";
  auto created = api.call("POST", base, {{"name", "crm sync"}, {"scopes", {"read"}}}, t.owner_auth());
  REQUIRE(created.status == 201);
  const std::string key = created.body["key"];
  const std::string id = created.body["id"];
  const std::string secret = key.substr(key.rfind('_') + 1);

  SQLite::Database d(api.host().db_path().string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(d, "SELECT secret_hash FROM api_keys WHERE id = ?");
  q.bind(1, id);
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getString().find(secret) == std::string::npos);
  CHECK(q.getColumn(0).getString().size() == 64);

  CHECK(api.call("GET", "/api/v1/workspaces/" + t.workspace_id, nullptr, {{"X-API-Key", key}}).status == 200);
  auto list = api.call("GET", base, nullptr, t.owner_auth());
  REQUIRE(list.status == 200);
  bool found = false;
  for (const auto& k : list.body["data"]) {
    CHECK_FALSE(k.contains("key"));
    CHECK_FALSE(k.contains("secret_hash"));
    if (k["id"] == id) {
      found = true;
      CHECK(k["name"] == "crm sync");
    }
  }
  CHECK(found);
  // The last use is stamped in the background.
  CHECK(sb::test::eventually([&] {
    auto l = api.call("GET", base, nullptr, t.owner_auth());
    for (const auto& k : l.body["data"])
      if (k["id"] == id) return k["last_used_at"].is_number();
    return false;
  }));

  for (const json& bad : {json{{"name", "x"}}, json{{"name", "x"}, {"scopes", json::array()}},
                          json{{"name", "x"}, {"scopes", {"admin"}}}, json{{"scopes", {"read"}}},
                          json{{"name", "x"}, {"scopes", "read"}}, json{{"name", "x"}, {"scopes", {"read"}}, {"y", 1}}})
    require_error(api.call("POST", base, bad, t.owner_auth()), 400, "invalid_argument");
}

TEST_CASE("API key scopes decide what a key may do", "[api]") {
  TempDir dir("sb-api-keys");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  const std::string ws = "/api/v1/workspaces/" + t.workspace_id;
  const std::string read = make_key(api, t, {"read"});
  const std::string send = make_key(api, t, {"send"});

  CHECK(api.call("GET", ws, nullptr, {{"X-API-Key", read}}).status == 200);
  require_error(api.call("GET", ws + "/api-keys", nullptr, {{"X-API-Key", read}}), 403, "forbidden");
  require_error(api.call("POST", ws + "/invitations", {{"email", "x@y.z"}, {"role", "viewer"}}, {{"X-API-Key", read}}),
                403, "forbidden");
  require_error(api.call("GET", ws, nullptr, {{"X-API-Key", send}}), 403, "forbidden");
  CHECK(api.call("GET", ws + "/api-keys", nullptr, t.key_auth()).status == 200);
  // A key cannot mint a key with more than it has.
  require_error(api.call("POST", ws + "/api-keys", {{"name", "x"}, {"scopes", {"manage"}}}, {{"X-API-Key", read}}), 403,
                "forbidden");
  // Organization-level routes need an organization key.
  require_error(api.call("GET", "/api/v1/organizations/" + t.organization_id + "/api-keys", nullptr, t.key_auth()), 403,
                "forbidden");
}

TEST_CASE("a revoked key is refused at once and a rotated key works until its overlap ends", "[api]") {
  TempDir dir("sb-api-keys");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  const std::string base = "/api/v1/workspaces/" + t.workspace_id + "/api-keys";
  const std::string ws = "/api/v1/workspaces/" + t.workspace_id;

  auto a = api.call("POST", base, {{"name", "a"}, {"scopes", {"read"}}}, t.owner_auth());
  REQUIRE(a.status == 201);
  auto revoked = api.call("DELETE", base + "/" + a.body["id"].get<std::string>(), nullptr, t.owner_auth());
  REQUIRE(revoked.status == 200);
  CHECK(revoked.body["revoked_at"].is_number());
  auto refused = api.call("GET", ws, nullptr, {{"X-API-Key", a.body["key"].get<std::string>()}});
  require_error(refused, 401, "unauthorized");
  CHECK(refused.body["error"]["message"].get<std::string>().find("revoked") != std::string::npos);

  auto b = api.call("POST", base, {{"name", "b"}, {"scopes", {"read"}}}, t.owner_auth());
  REQUIRE(b.status == 201);
  auto rotated = api.call("POST", base + "/" + b.body["id"].get<std::string>() + "/rotate", {{"overlap_seconds", 2}},
                          t.owner_auth());
  INFO(rotated.raw);
  REQUIRE(rotated.status == 201);
  const std::string old_key = b.body["key"], new_key = rotated.body["key"];
  CHECK(new_key != old_key);
  CHECK(rotated.body["scopes"] == json({"read"}));
  CHECK(api.call("GET", ws, nullptr, {{"X-API-Key", old_key}}).status == 200);  // still in its overlap
  CHECK(api.call("GET", ws, nullptr, {{"X-API-Key", new_key}}).status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  auto expired = api.call("GET", ws, nullptr, {{"X-API-Key", old_key}});
  require_error(expired, 401, "unauthorized");
  CHECK(expired.body["error"]["message"].get<std::string>().find("expired") != std::string::npos);
  CHECK(api.call("GET", ws, nullptr, {{"X-API-Key", new_key}}).status == 200);

  // Another tenant's key id: 404.
  auto other = api.make_tenant("b");
  require_error(api.call("DELETE", "/api/v1/workspaces/" + other.workspace_id + "/api-keys/" +
                                       rotated.body["id"].get<std::string>(),
                         nullptr, other.owner_auth()),
                404, "not_found");
  require_error(api.call("DELETE", base + "/key_nope", nullptr, t.owner_auth()), 404, "not_found");
}

TEST_CASE("the master key acts as engine admin and a wrong one is refused", "[api]") {
  TempDir dir("sb-api-keys");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  CHECK(api.call("GET", "/api/v1/workspaces/" + t.workspace_id, nullptr, api.master()).status == 200);
  auto orgs = api.call("GET", "/api/v1/organizations", nullptr, api.master());
  REQUIRE(orgs.status == 200);
  CHECK(orgs.body["data"].size() >= 2);  // demo and a
  require_error(api.call("GET", "/api/v1/organizations", nullptr, {{"X-API-Key", "test-master-key-0123456789abcdeX"}}),
                401, "unauthorized");
  // A tenant's owner sees only its own organization.
  auto mine = api.call("GET", "/api/v1/organizations", nullptr, t.owner_auth());
  REQUIRE(mine.status == 200);
  REQUIRE(mine.body["data"].size() == 1);
  CHECK(mine.body["data"][0]["id"] == t.organization_id);
  require_error(api.call("POST", "/api/v1/organizations", {{"name", "x"}}, t.owner_auth()), 403, "forbidden");
}

TEST_CASE("audit and key lists page through every entry exactly once, newest first", "[api]") {
  TempDir dir("sb-api-keys");
  ApiHost api(dir.path());
  auto t = api.make_tenant("a");
  const std::string base = "/api/v1/workspaces/" + t.workspace_id;
  for (int i = 0; i < 5; ++i)
    REQUIRE(api.call("POST", base + "/api-keys", {{"name", std::string("k").append(std::to_string(i))}, {"scopes", {"read"}}},
                     t.owner_auth())
                .status == 201);
  for (const std::string list : {"/audit", "/api-keys"}) {
    auto all = api.call("GET", base + list + "?limit=200", nullptr, t.owner_auth());
    REQUIRE(all.status == 200);
    REQUIRE(all.body["data"].size() >= 6);
    std::vector<json> walked;
    std::string cursor;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = api.call("GET", base + list + "?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), nullptr,
                           t.owner_auth());
      INFO(list << " " << page.raw);
      REQUIRE(page.status == 200);
      CHECK(page.body["data"].size() <= 2);
      for (const auto& item : page.body["data"]) walked.push_back(item);
      if (page.body["next_cursor"].is_null()) break;
      cursor = page.body["next_cursor"];
    }
    INFO(list);
    CHECK(walked == std::vector<json>(all.body["data"].begin(), all.body["data"].end()));
  }
  require_error(api.call("GET", base + "/audit?cursor=not-ours", nullptr, t.owner_auth()), 400, "invalid_argument");
}

#include "support/api_host.hpp"

#include <catch2/catch.hpp>

#include <fstream>

namespace sb::test {
namespace {

std::map<std::string, std::string> host_env(const std::filesystem::path& dir, const nlohmann::json& security,
                                            std::map<std::string, std::string> env) {
  std::filesystem::create_directories(dir);
  nlohmann::json sec = {{"password_cost", "min"}};
  for (const auto& [k, v] : security.items()) sec[k] = v;
  const auto config = dir / "api-test-config.json";
  std::ofstream(config) << nlohmann::json{{"security", sec}}.dump(2);
  env["SWITCHBOARD_CONFIG"] = config.string();
  env.emplace("ENGINE_API_KEY", ApiHost::kMasterKey);  // a test's own value (even "": off) wins
  env.emplace("WORKFLOW_ENGINE_INTERNAL_PSK", ApiHost::kPsk);
  return env;
}

}  // namespace

ApiHost::ApiHost(const std::filesystem::path& dir, nlohmann::json security, std::map<std::string, std::string> env)
    : host_(dir / "data", host_env(dir, security, std::move(env))) {
  host_.start();
}

ApiResult ApiHost::call(const std::string& method, const std::string& path, const nlohmann::json& body,
                        const Headers& headers) {
  auto c = host_.client();
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  const std::string payload = body.is_null() ? std::string() : body.dump();
  httplib::Result res(nullptr, httplib::Error::Unknown);
  if (method == "GET") res = c->Get(path.c_str(), h);
  else if (method == "DELETE") res = body.is_null() ? c->Delete(path.c_str(), h) : c->Delete(path.c_str(), h, payload, "application/json");
  else if (method == "POST") res = c->Post(path.c_str(), h, payload, "application/json");
  else if (method == "PUT") res = c->Put(path.c_str(), h, payload, "application/json");
  else if (method == "PATCH") res = c->Patch(path.c_str(), h, payload, "application/json");
  else FAIL("unknown method " << method);
  INFO(method << " " << path);
  REQUIRE(res);
  ApiResult out;
  out.status = res->status;
  out.raw = res->body;
  out.body = nlohmann::json::parse(res->body, nullptr, false);
  if (out.body.is_discarded()) out.body = nullptr;
  for (const auto& [k, v] : res->headers) {
    std::string name = k;
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.headers[name] = v;
  }
  return out;
}

Tenant ApiHost::make_tenant(const std::string& tag) {
  Tenant t;
  auto org = call("POST", "/api/v1/organizations", {{"id", tag + "-org"}, {"name", "Org " + tag}}, master());
  INFO(org.raw);
  REQUIRE(org.status == 201);
  t.organization_id = org.body["id"];
  auto ws = call("POST", "/api/v1/organizations/" + t.organization_id + "/workspaces",
                 {{"id", tag + "-ws"}, {"name", "Workspace " + tag}}, master());
  INFO(ws.raw);
  REQUIRE(ws.status == 201);
  t.workspace_id = ws.body["id"];
  t.owner_email = "owner@" + tag + ".example.com";
  t.owner_password = "password-of-" + tag;
  auto inv = call("POST", "/api/v1/workspaces/" + t.workspace_id + "/invitations",
                  {{"email", t.owner_email}, {"role", "owner"}}, master());
  INFO(inv.raw);
  REQUIRE(inv.status == 201);
  auto accepted = call("POST", "/api/v1/auth/invitations/accept",
                       {{"token", inv.body["token"]}, {"name", "Owner " + tag}, {"password", t.owner_password}});
  INFO(accepted.raw);
  REQUIRE(accepted.status == 200);
  t.owner_token = accepted.body["access_token"];
  t.owner_refresh = accepted.body["refresh_token"];
  auto key = call("POST", "/api/v1/workspaces/" + t.workspace_id + "/api-keys",
                  {{"name", "tests"}, {"scopes", {"read", "send", "manage"}}}, t.owner_auth());
  INFO(key.raw);
  REQUIRE(key.status == 201);
  t.manage_key = key.body["key"];
  return t;
}

std::string ApiHost::add_member(const Tenant& tenant, const std::string& email, const std::string& role) {
  auto inv = call("POST", "/api/v1/workspaces/" + tenant.workspace_id + "/invitations",
                  {{"email", email}, {"role", role}}, tenant.owner_auth());
  INFO(inv.raw);
  REQUIRE(inv.status == 201);
  auto accepted = call("POST", "/api/v1/auth/invitations/accept",
                       {{"token", inv.body["token"]}, {"name", email}, {"password", "member-password"}});
  INFO(accepted.raw);
  REQUIRE(accepted.status == 200);
  return accepted.body["access_token"];
}

void require_error(const ApiResult& r, int status, const std::string& code) {
  INFO("status " << r.status << " body " << r.raw);
  REQUIRE(r.status == status);
  REQUIRE(r.body.is_object());
  REQUIRE(r.body.contains("error"));
  CHECK(r.body["error"]["code"] == code);
  CHECK_FALSE(r.body["error"]["message"].get<std::string>().empty());
}

}  // namespace sb::test

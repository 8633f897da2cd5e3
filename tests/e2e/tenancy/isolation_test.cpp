// Tenant isolation, route by route: every route of the real router (read
// from GET /api/v1/admin/routes) is called with tenant A's ids and tenant
// B's credentials, and must answer 404 — or 403 where B may see the thing
// but not act (admin routes). Routes that write are also called with a
// viewer of A and must answer 403. A route with no entry in the table below
// fails the test, so a new route cannot be added without saying how it is
// isolated.
#include "support/api_host.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <regex>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::TempDir;

namespace {

// How a route is reached.
enum class Scope {
  tenant,  // a workspace's data: B gets 404
  org,     // an organization's: B gets 404
  admin,   // engine admins only: B gets 403
  psk,     // the PSK routes: B's credentials are not a PSK, 401
  self,    // about the caller itself (me, password, its own lists): nothing of A's to reach
  open,    // no credentials at all (login, metrics, health, ...): nothing tenant-scoped
};

struct Entry {
  Scope scope;
  bool writes = false;  // a viewer of A must get 403
  json body = nullptr;  // a valid body, so that the answer is about access, not input
};

json flow_doc(const std::string& id) {
  return {{"schema", "switchboard.flow/1"},
          {"id", id},
          {"rev", 1},
          {"name", "Isolation " + id},
          {"trigger", {{"type", "message"}}},
          {"start", "hi"},
          {"nodes", {{{"id", "hi"}, {"type", "send_text"}, {"typeVersion", 1}, {"name", "Hi"},
                      {"config", {{"text", "hello"}}}, {"ui", {{"x", 0}, {"y", 0}}}}}},
          {"edges", json::array()}};
}

std::map<std::string, Entry> isolation_table(const std::map<std::string, std::string>& a) {
  const std::string W = "/api/v1/workspaces/:workspace_id";
  const std::string O = "/api/v1/organizations/:organization_id";
  const std::string K = W + "/knowledge-bases";
  const json profile = {{"name", "x"}, {"channel_plugin", "channel-sandbox"}};
  return {
      {"GET /health", {Scope::open}},
      {"GET /ready", {Scope::open}},
      {"GET /metrics", {Scope::open}},
      {"GET /api/v1/openapi.json", {Scope::open}},
      {"POST /hooks/flows/:flow", {Scope::open}},  // its own X-Flow-Secret (tests/e2e/flow_webhook_test.cpp)
      {"POST /api/v1/auth/signup", {Scope::open}},
      {"POST /api/v1/auth/login", {Scope::open}},
      {"POST /api/v1/auth/refresh", {Scope::open}},
      {"POST /api/v1/auth/logout", {Scope::open}},
      {"POST /api/v1/auth/invitations/accept", {Scope::open}},
      {"POST /api/v1/auth/password", {Scope::self}},
      {"GET /api/v1/me", {Scope::self}},
      {"GET /api/v1/organizations", {Scope::self}},  // lists only the caller's (checked below)
      {"GET /api/v1/events", {Scope::self}},         // filtered per event (tests/e2e/api/events_test.cpp)
      {"POST /api/v1/organizations", {Scope::admin}},
      {"GET /api/v1/admin/routes", {Scope::admin}},
      {"GET /api/v1/admin/dashboards", {Scope::admin}},
      {"GET /api/v1/admin/dashboards/:agencyId", {Scope::admin}},
      {"GET /api/v1/admin/dashboards/:agencyId/sessions", {Scope::admin}},
      {"POST /api/v1/admin/dashboards/:agencyId/suspend", {Scope::admin}},
      {"POST /api/v1/admin/dashboards/:agencyId/activate", {Scope::admin}},
      {"POST /v1/internal/dashboard/register", {Scope::psk}},
      {"GET /v1/internal/dashboard/config", {Scope::psk}},
      {"PATCH /v1/internal/dashboard/config", {Scope::psk}},
      {"GET /v1/internal/dashboard/agencies", {Scope::psk}},

      {"GET " + O, {Scope::org}},
      {"PATCH " + O, {Scope::org, true, {{"name", "taken over"}}}},
      {"GET " + O + "/workspaces", {Scope::org}},
      {"POST " + O + "/workspaces", {Scope::org, true, {{"name", "intruder"}}}},
      {"GET " + O + "/api-keys", {Scope::org, true}},  // organization-wide admins only
      {"POST " + O + "/api-keys", {Scope::org, true, {{"name", "x"}, {"scopes", {"read"}}}}},
      {"DELETE " + O + "/api-keys/:key_id", {Scope::org, true}},
      {"POST " + O + "/api-keys/:key_id/rotate", {Scope::org, true, json::object()}},
      {"GET " + O + "/audit", {Scope::org, true}},

      {"GET " + W, {Scope::tenant}},
      {"PATCH " + W, {Scope::tenant, true, {{"name", "taken over"}}}},
      {"GET " + W + "/members", {Scope::tenant}},
      {"PUT " + W + "/members/:user_id", {Scope::tenant, true, {{"role", "admin"}}}},
      {"DELETE " + W + "/members/:user_id", {Scope::tenant, true}},
      {"GET " + W + "/invitations", {Scope::tenant, true}},
      {"POST " + W + "/invitations", {Scope::tenant, true, {{"email", "x@intruder.example.com"}, {"role", "viewer"}}}},
      {"DELETE " + W + "/invitations/:invitation_id", {Scope::tenant, true}},
      {"GET " + W + "/api-keys", {Scope::tenant, true}},
      {"POST " + W + "/api-keys", {Scope::tenant, true, {{"name", "x"}, {"scopes", {"read"}}}}},
      {"DELETE " + W + "/api-keys/:key_id", {Scope::tenant, true}},
      {"POST " + W + "/api-keys/:key_id/rotate", {Scope::tenant, true, json::object()}},
      {"GET " + W + "/audit", {Scope::tenant, true}},

      {"GET " + W + "/profiles", {Scope::tenant}},
      {"POST " + W + "/profiles", {Scope::tenant, true, profile}},
      {"GET " + W + "/profiles/:profile_id", {Scope::tenant}},
      {"PATCH " + W + "/profiles/:profile_id", {Scope::tenant, true, {{"name", "taken over"}}}},
      {"DELETE " + W + "/profiles/:profile_id", {Scope::tenant, true}},
      {"POST " + W + "/profiles/:profile_id/connect", {Scope::tenant, true}},
      {"POST " + W + "/profiles/:profile_id/disconnect", {Scope::tenant, true}},
      {"GET " + W + "/profiles/:profile_id/qr", {Scope::tenant}},
      {"GET " + W + "/profiles/:profile_id/status", {Scope::tenant}},
      {"GET " + W + "/profiles/:profile_id/sending-rules", {Scope::tenant}},
      {"PUT " + W + "/profiles/:profile_id/sending-rules", {Scope::tenant, true, {{"enabled", false}}}},
      {"GET " + W + "/profiles/:profile_id/groups", {Scope::tenant}},
      {"POST " + W + "/profiles/:profile_id/groups", {Scope::tenant, true, {{"subject", "intruders"}}}},
      {"GET " + W + "/profiles/:profile_id/groups/:group_id", {Scope::tenant}},
      {"PATCH " + W + "/profiles/:profile_id/groups/:group_id", {Scope::tenant, true, {{"subject", "taken over"}}}},
      {"POST " + W + "/profiles/:profile_id/groups/:group_id/participants",
       {Scope::tenant, true, {{"action", "add"}, {"participants", {"+15559990002"}}}}},
      {"POST " + W + "/profiles/:profile_id/groups/:group_id/messages", {Scope::tenant, true, {{"text", "intruder"}}}},
      {"GET /api/v1/sessions", {Scope::tenant}},
      {"POST /api/v1/sessions", {Scope::tenant, true, profile}},
      {"GET /api/v1/sessions/:profile_id", {Scope::tenant}},
      {"DELETE /api/v1/sessions/:profile_id", {Scope::tenant, true}},
      {"POST /api/v1/sessions/:profile_id/connect", {Scope::tenant, true}},
      {"POST /api/v1/sessions/:profile_id/disconnect", {Scope::tenant, true}},
      {"GET /api/v1/sessions/:profile_id/qr", {Scope::tenant}},

      {"GET " + W + "/contacts", {Scope::tenant}},
      {"POST " + W + "/contacts", {Scope::tenant, true, {{"phone", "+15559990000"}}}},
      {"GET " + W + "/contacts/:contact_id", {Scope::tenant}},
      {"PATCH " + W + "/contacts/:contact_id", {Scope::tenant, true, {{"name", "taken over"}}}},
      {"DELETE " + W + "/contacts/:contact_id", {Scope::tenant, true}},
      {"POST " + W + "/contacts/:contact_id/tags", {Scope::tenant, true, {{"tags", {"intruder"}}}}},
      {"DELETE " + W + "/contacts/:contact_id/tags/:tag", {Scope::tenant, true}},
      {"POST " + W + "/contacts/:contact_id/opt-out", {Scope::tenant, true, {{"reason", "intruder"}}}},
      {"POST " + W + "/contacts/:contact_id/opt-in", {Scope::tenant, true}},
      {"POST " + W + "/contacts/import", {Scope::tenant, true}},
      {"GET " + W + "/contacts/export", {Scope::tenant}},

      {"GET " + W + "/conversations", {Scope::tenant}},
      {"GET " + W + "/conversations/:conversation_id", {Scope::tenant}},
      {"POST " + W + "/conversations/:conversation_id/assign", {Scope::tenant, true, {{"assignee", nullptr}}}},
      {"POST " + W + "/conversations/:conversation_id/resolve", {Scope::tenant, true}},
      {"POST " + W + "/conversations/:conversation_id/reopen", {Scope::tenant, true}},
      {"POST " + W + "/conversations/:conversation_id/handback", {Scope::tenant, true}},
      {"POST " + W + "/conversations/:conversation_id/handoff", {Scope::tenant, true}},
      {"GET " + W + "/conversations/:conversation_id/messages", {Scope::tenant}},
      {"POST " + W + "/conversations/:conversation_id/messages", {Scope::tenant, true, {{"text", "intruder"}}}},
      {"GET " + W + "/messages", {Scope::tenant}},
      {"POST " + W + "/messages",
       {Scope::tenant, true, {{"profile_id", a.at("profile_id")}, {"to", "+15559990001"}, {"text", "intruder"}}}},

      {"GET " + W + "/flows", {Scope::tenant}},
      {"POST " + W + "/flows", {Scope::tenant, true, {{"document", flow_doc("intruder")}}}},
      {"POST " + W + "/flows/validate", {Scope::tenant, false, {{"document", flow_doc("intruder")}}}},
      {"GET " + W + "/flows/:flow_id", {Scope::tenant}},
      {"PUT " + W + "/flows/:flow_id", {Scope::tenant, true, {{"document", flow_doc(a.at("flow_id"))}}}},
      {"DELETE " + W + "/flows/:flow_id", {Scope::tenant, true}},
      {"POST " + W + "/flows/:flow_id/enable", {Scope::tenant, true}},
      {"POST " + W + "/flows/:flow_id/disable", {Scope::tenant, true}},
      {"POST " + W + "/flows/:flow_id/run", {Scope::tenant, true, json::object()}},
      {"GET " + W + "/flows/:flow_id/revisions", {Scope::tenant}},
      {"GET " + W + "/flows/:flow_id/revisions/:hash", {Scope::tenant}},
      {"GET " + W + "/executions", {Scope::tenant}},
      {"GET " + W + "/executions/:execution_id", {Scope::tenant}},

      {"GET " + W + "/campaigns", {Scope::tenant}},
      {"POST " + W + "/campaigns",
       {Scope::tenant, true, {{"name", "x"}, {"profile_id", "a-number"}, {"message", {{"text", "intruder"}}}}}},
      {"GET " + W + "/campaigns/:campaign_id", {Scope::tenant}},
      {"PATCH " + W + "/campaigns/:campaign_id", {Scope::tenant, true, {{"name", "taken over"}}}},
      {"DELETE " + W + "/campaigns/:campaign_id", {Scope::tenant, true}},
      {"GET " + W + "/campaigns/:campaign_id/recipients", {Scope::tenant}},
      {"POST " + W + "/campaigns/:campaign_id/recipients",
       {Scope::tenant, true, {{"contact_ids", {a.count("contact_id") ? a.at("contact_id") : "x"}}}}},
      {"GET " + W + "/campaigns/:campaign_id/progress", {Scope::tenant}},
      {"POST " + W + "/campaigns/:campaign_id/start", {Scope::tenant, true, json::object()}},
      {"POST " + W + "/campaigns/:campaign_id/pause", {Scope::tenant, true, json::object()}},
      {"POST " + W + "/campaigns/:campaign_id/resume", {Scope::tenant, true, json::object()}},
      {"POST " + W + "/campaigns/:campaign_id/cancel", {Scope::tenant, true, json::object()}},

      {"GET " + W + "/webhooks", {Scope::tenant, true}},
      {"POST " + W + "/webhooks", {Scope::tenant, true, {{"url", "http://127.0.0.1:9/intruder"}}}},
      {"GET " + W + "/webhooks/:webhook_id", {Scope::tenant, true}},
      {"PATCH " + W + "/webhooks/:webhook_id", {Scope::tenant, true, {{"url", "http://127.0.0.1:9/intruder"}}}},
      {"DELETE " + W + "/webhooks/:webhook_id", {Scope::tenant, true}},
      {"POST " + W + "/webhooks/:webhook_id/rotate-secret", {Scope::tenant, true}},
      {"POST " + W + "/webhooks/:webhook_id/pause", {Scope::tenant, true}},
      {"POST " + W + "/webhooks/:webhook_id/resume", {Scope::tenant, true}},
      {"POST " + W + "/webhooks/:webhook_id/test", {Scope::tenant, true}},
      {"GET " + W + "/webhook-deliveries", {Scope::tenant, true}},
      {"GET " + W + "/webhook-deliveries/:delivery_id", {Scope::tenant, true}},
      {"POST " + W + "/webhook-deliveries/:delivery_id/replay", {Scope::tenant, true}},
      {"POST " + W + "/webhook-deliveries/replay", {Scope::tenant, true, {{"from", 0}, {"to", 4102444800000LL}}}},

      {"GET " + K, {Scope::tenant}},
      {"POST " + K, {Scope::tenant, true, {{"name", "intruder"}}}},
      {"GET " + K + "/:kb_id", {Scope::tenant}},
      {"PATCH " + K + "/:kb_id", {Scope::tenant, true, {{"description", "taken over"}}}},
      {"DELETE " + K + "/:kb_id", {Scope::tenant, true}},
      {"GET " + K + "/:kb_id/status", {Scope::tenant}},
      {"GET " + K + "/:kb_id/documents", {Scope::tenant}},
      {"POST " + K + "/:kb_id/documents", {Scope::tenant, true, {{"urls", {"http://127.0.0.1:9/intruder.md"}}}}},
      {"GET " + K + "/:kb_id/documents/:document_id", {Scope::tenant}},
      {"PATCH " + K + "/:kb_id/documents/:document_id", {Scope::tenant, true, {{"tags", {"intruder"}}}}},
      {"DELETE " + K + "/:kb_id/documents/:document_id", {Scope::tenant, true}},
      {"GET " + K + "/:kb_id/documents/:document_id/chunks", {Scope::tenant}},
      {"POST " + K + "/:kb_id/documents/:document_id/reingest", {Scope::tenant, true}},
      {"POST " + K + "/:kb_id/search", {Scope::tenant, false, {{"query", "refund"}}}},
      {"POST " + K + "/:kb_id/ask", {Scope::tenant, true, {{"question", "refund?"}}}},
      {"POST " + K + "/:kb_id/classify", {Scope::tenant, true, {{"text", "hi"}, {"labels", {"greeting", "other"}}}}},
  };
}

std::string fill(const std::string& pattern, const std::map<std::string, std::string>& ids) {
  static const std::regex kParam(":([A-Za-z_][A-Za-z0-9_]*)");
  std::string out;
  size_t pos = 0;
  for (std::sregex_iterator it(pattern.begin(), pattern.end(), kParam), end; it != end; ++it) {
    out += pattern.substr(pos, it->position() - pos);
    const auto found = ids.find((*it)[1].str());
    INFO("no id for :" << (*it)[1].str() << " in " << pattern);
    REQUIRE(found != ids.end());
    out += found->second;
    pos = it->position() + it->length();
  }
  return out + pattern.substr(pos);
}

}  // namespace

TEST_CASE("every route answers another tenant's ids with 404 and a viewer's writes with 403", "[api]") {
  TempDir dir("sb-api-isolation");
  // Hundreds of calls in a few seconds: the limits are not what is tested here.
  ApiHost api(dir.path(), {{"user_rate", 10000}, {"user_burst", 10000}, {"key_rate", 10000}, {"key_burst", 10000}});
  auto a = api.make_tenant("a");
  auto b = api.make_tenant("b");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;

  // Tenant A gets one of everything.
  std::map<std::string, std::string> ids = {{"workspace_id", a.workspace_id}, {"organization_id", a.organization_id},
                                            {"agencyId", a.organization_id}, {"tag", "vip"}};
  REQUIRE(api.call("POST", W + "/flows", {{"document", flow_doc("greeter")}}, a.owner_auth()).status == 201);
  ids["flow_id"] = "greeter";
  auto profile = api.call("POST", W + "/profiles",
                          {{"id", "a-number"}, {"name", "A"}, {"channel_plugin", "channel-sandbox"}, {"connect", true}},
                          a.owner_auth());
  REQUIRE(profile.status == 201);
  ids["profile_id"] = "a-number";
  auto group = api.call("POST", W + "/profiles/a-number/groups", {{"subject", "Team A"}}, a.owner_auth());
  REQUIRE(group.status == 201);
  ids["group_id"] = group.body["group_id"];
  {
    auto c = api.host().client();
    auto in = sb::test::post_inbound(*c, {{"from", "+15551230000"}, {"name", "Ana"}, {"text", "hello"}}, "a-number");
    REQUIRE(in);
    REQUIRE(in->status == 200);
  }
  REQUIRE(eventually([&] {
    auto ex = api.call("GET", W + "/executions", nullptr, a.owner_auth());
    return ex.status == 200 && !ex.body["data"].empty();
  }));
  ids["execution_id"] = api.call("GET", W + "/executions", nullptr, a.owner_auth()).body["data"][0]["id"];
  auto conversations = api.call("GET", W + "/conversations", nullptr, a.owner_auth());
  REQUIRE(conversations.body["data"].size() == 1);
  ids["conversation_id"] = conversations.body["data"][0]["id"];
  ids["contact_id"] = conversations.body["data"][0]["contact_id"];
  REQUIRE(api.call("POST", W + "/contacts/" + ids["contact_id"] + "/tags", {{"tags", {"vip"}}}, a.owner_auth()).status ==
          200);
  auto revisions = api.call("GET", W + "/flows/greeter/revisions", nullptr, a.owner_auth());
  REQUIRE(revisions.status == 200);
  ids["hash"] = revisions.body["data"][0]["hash"];
  auto key = api.call("POST", W + "/api-keys", {{"name", "k"}, {"scopes", {"read"}}}, a.owner_auth());
  REQUIRE(key.status == 201);
  ids["key_id"] = key.body["id"];
  auto inv = api.call("POST", W + "/invitations", {{"email", "pending@a.example.com"}, {"role", "viewer"}}, a.owner_auth());
  REQUIRE(inv.status == 201);
  ids["invitation_id"] = inv.body["id"];
  auto webhook = api.call("POST", W + "/webhooks", {{"url", "http://127.0.0.1:9/hooks"}}, a.owner_auth());
  REQUIRE(webhook.status == 201);
  ids["webhook_id"] = webhook.body["id"];
  auto ping = api.call("POST", W + "/webhooks/" + ids["webhook_id"] + "/test", json::object(), a.owner_auth());
  REQUIRE(ping.status == 201);
  ids["delivery_id"] = ping.body["id"];
  auto campaign = api.call("POST", W + "/campaigns",
                           {{"id", "a-campaign"}, {"name", "A"}, {"profile_id", "a-number"},
                            {"message", {{"text", "hi {{name}}"}}}, {"audience", {{"contact_ids", {ids["contact_id"]}}}}},
                           a.owner_auth());
  REQUIRE(campaign.status == 201);
  ids["campaign_id"] = "a-campaign";
  auto kb = api.call("POST", W + "/knowledge-bases", {{"name", "a-kb"}}, a.owner_auth());
  REQUIRE(kb.status == 201);
  ids["kb_id"] = kb.body["id"];
  auto doc = api.call("POST", W + "/knowledge-bases/a-kb/documents", {{"urls", {"http://127.0.0.1:9/a.md"}}}, a.owner_auth());
  REQUIRE(doc.status == 202);
  ids["document_id"] = doc.body["data"][0]["id"];
  const std::string viewer = api.add_member(a, "viewer@a.example.com", "viewer");
  ids["user_id"] = api.call("GET", "/api/v1/me", nullptr, {{"Authorization", "Bearer " + viewer}}).body["user"]["id"];

  const auto table = isolation_table(ids);
  auto routes = api.call("GET", "/api/v1/admin/routes", nullptr, api.master());
  REQUIRE(routes.status == 200);
  REQUIRE(routes.body["data"].size() > 50);

  const std::vector<std::pair<std::string, sb::test::Headers>> intruders = {
      {"B's owner", b.owner_auth()}, {"B's manage key", b.key_auth()}};
  size_t walked = 0;
  for (const auto& r : routes.body["data"]) {
    const std::string method = r["method"], pattern = r["path"];
    const std::string name = method + " " + pattern;
    const auto entry = table.find(name);
    INFO("route " << name);
    if (entry == table.end()) FAIL("no isolation entry for " << name << ": add one to tests/e2e/tenancy/isolation_test.cpp");
    const Entry& e = entry->second;
    if (e.scope == Scope::open || e.scope == Scope::self) continue;
    std::string path = fill(pattern, ids);
    if (pattern.rfind("/api/v1/sessions", 0) == 0)
      path += "?tenantId=" + a.workspace_id + "&agencyId=" + a.organization_id;
    if (pattern == "/v1/internal/dashboard/config" && method == "GET") path += "?agencyId=" + a.organization_id;
    const json body = e.body.is_null() && method != "GET" && method != "DELETE" ? json::object() : e.body;
    for (const auto& [who, headers] : intruders) {
      auto res = api.call(method, path, body, headers);
      INFO(who << " -> " << res.status << " " << res.raw);
      const int expected = e.scope == Scope::admin ? 403 : e.scope == Scope::psk ? 401 : 404;
      CHECK(res.status == expected);
      for (const char* secret_field : {"data", "phone", "email"}) CHECK_FALSE(res.body.contains(secret_field));
      ++walked;
    }
    if (e.writes && (e.scope == Scope::tenant || e.scope == Scope::org)) {
      auto res = api.call(method, path, body, {{"Authorization", "Bearer " + viewer}});
      INFO("A's viewer -> " << res.status << " " << res.raw);
      CHECK(res.status == 403);
    }
  }
  CHECK(walked > 100);

  // B's walk and A's viewer changed nothing of A's.
  for (const std::string& p : {W + "/profiles/a-number", W + "/contacts/" + ids["contact_id"], W + "/flows/greeter",
                               W + "/conversations/" + ids["conversation_id"], W + "/campaigns/a-campaign",
                               W + "/knowledge-bases/" + ids["kb_id"] + "/documents/" + ids["document_id"]}) {
    auto res = api.call("GET", p, nullptr, a.owner_auth());
    INFO(p << " " << res.raw);
    CHECK(res.status == 200);
  }
  auto members = api.call("GET", W + "/members", nullptr, a.owner_auth());
  CHECK(members.body["data"].size() == 2);
  auto contact = api.call("GET", W + "/contacts/" + ids["contact_id"], nullptr, a.owner_auth());
  CHECK(contact.body["tags"] == json({"vip"}));
  auto keys = api.call("GET", W + "/api-keys", nullptr, a.owner_auth());
  for (const auto& k : keys.body["data"]) CHECK(k["revoked_at"].is_null());
  // B's lists never show A's rows.
  auto b_orgs = api.call("GET", "/api/v1/organizations", nullptr, b.owner_auth());
  REQUIRE(b_orgs.body["data"].size() == 1);
  CHECK(b_orgs.body["data"][0]["id"] == b.organization_id);
  auto b_conversations = api.call("GET", "/api/v1/workspaces/" + b.workspace_id + "/conversations", nullptr, b.owner_auth());
  CHECK(b_conversations.body["data"].empty());
}

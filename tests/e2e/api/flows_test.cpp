// Flows through the HTTP API of a real host: flows made through the API are
// files in the workspace's flows folder (and files copied in by hand are
// flows of the API), revisions, validation without saving, disable/enable,
// delete, executions with their step logs and the "flow.execution" event,
// tenant isolation and roles.
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using nlohmann::json;
using sb::test::count;
using sb::test::ApiHost;
using sb::test::ApiResult;
using sb::test::eventually;
using sb::test::Headers;
using sb::test::require_error;
using sb::test::TempDir;

namespace {

constexpr std::chrono::seconds kWait{15};  // a real process on a shared 2-core machine

// Polls an API (every 100 ms: the per-user rate limit is 20/s) until `done`.
bool poll(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

json keyword_flow(const std::string& id, const std::string& keyword, const std::string& text, int rev = 1) {
  return {{"schema", "switchboard.flow/1"},
          {"id", id},
          {"rev", rev},
          {"name", "Flow " + id},
          {"trigger", {{"type", "keyword"}, {"keywords", {keyword}}}},
          {"start", "say"},
          {"nodes", {{{"id", "say"}, {"type", "send_text"}, {"typeVersion", 1}, {"config", {{"text", text}}}}}},
          {"edges", json::array()}};
}

// Sets vars.greeting from vars.name: runs without a conversation.
json manual_flow(const std::string& id) {
  return {{"schema", "switchboard.flow/1"},
          {"id", id},
          {"rev", 1},
          {"name", "Manual " + id},
          {"trigger", {{"type", "manual"}}},
          {"start", "set"},
          {"nodes",
           {{{"id", "set"},
             {"type", "set"},
             {"typeVersion", 1},
             {"config", {{"variable", "greeting"}, {"value", "hello {{vars.name}}"}}}}}},
          {"edges", json::array()}};
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path flows_dir(ApiHost& api, const std::string& ws) { return api.host().data_dir() / "flows" / ws; }

const json* find_id(const json& data, const std::string& id) {
  for (const auto& item : data)
    if (item["id"] == id) return &item;
  return nullptr;
}

json executions_of(ApiHost& api, const std::string& ws, const std::string& flow_id, const Headers& auth) {
  auto r = api.call("GET", "/api/v1/workspaces/" + ws + "/executions?flow_id=" + flow_id, nullptr, auth);
  INFO(r.raw);
  REQUIRE(r.status == 200);
  return r.body["data"];
}

void inbound(ApiHost& api, const std::string& from, const std::string& text) {
  auto c = api.host().client();
  auto res = sb::test::post_inbound(*c, {{"from", from}, {"text", text}});
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
}

// GET /api/v1/events of one workspace, read on a thread into `text`.
class EventReader {
 public:
  EventReader(ApiHost& api, const std::string& workspace_id) {
    thread_ = std::thread([this, &api, workspace_id] {
      auto c = api.host().client();
      c->set_read_timeout(30, 0);
      httplib::Headers h{{"X-API-Key", ApiHost::kMasterKey}};
      c->Get(("/api/v1/events?workspace_id=" + workspace_id).c_str(), h, [this](const char* data, size_t n) {
        std::lock_guard<std::mutex> lock(mu_);
        text_.append(data, n);
        return !done_.load();
      });
    });
  }
  // Stops at the next chunk (an event or a heartbeat).
  ~EventReader() {
    done_ = true;
    thread_.join();
  }
  bool has(const std::vector<std::string>& parts) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& p : parts)
      if (text_.find(p) == std::string::npos) return false;
    return true;
  }

 private:
  std::mutex mu_;
  std::string text_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("a flow made through the API is a file of its workspace: created, listed, updated with revisions, deleted",
          "[api]") {
  TempDir dir("sb-api-flows");
  ApiHost api(dir.path());
  const auto a = api.make_tenant("a");
  const std::string base = "/api/v1/workspaces/" + a.workspace_id + "/flows";
  const json doc = keyword_flow("greet", "hello", "Hello there!");

  auto made = api.call("POST", base, {{"document", doc}}, a.owner_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  CHECK(made.body["id"] == "greet");
  CHECK(made.body["kind"] == "graph");
  CHECK(made.body["enabled"] == true);
  CHECK(made.body["rev"] == 1);
  CHECK(made.body["trigger"]["type"] == "keyword");
  CHECK(made.body["file"] == "greet.flow.json");
  CHECK(made.body["problems"].empty());
  CHECK(made.body["document"] == doc);
  const std::string first_hash = made.body["hash"];

  // On disk, where the hot reload and a restart find it.
  const auto file = flows_dir(api, a.workspace_id) / "greet.flow.json";
  REQUIRE(std::filesystem::exists(file));
  CHECK(json::parse(read_file(file)) == doc);
  CHECK_FALSE(std::filesystem::exists(file.string() + ".tmp"));

  require_error(api.call("POST", base, {{"document", doc}}, a.owner_auth()), 409, "conflict");

  auto list = api.call("GET", base, nullptr, a.owner_auth());
  REQUIRE(list.status == 200);
  REQUIRE(list.body["data"].size() == 1);
  CHECK(list.body["data"][0]["id"] == "greet");
  CHECK(list.body["data"][0]["hash"] == first_hash);
  CHECK_FALSE(list.body["data"][0].contains("document"));
  CHECK(list.body["next_cursor"].is_null());

  auto one = api.call("GET", base + "/greet", nullptr, a.key_auth());
  REQUIRE(one.status == 200);
  CHECK(one.body["document"] == doc);

  // A new revision.
  const json doc2 = keyword_flow("greet", "hello", "Hello again!", 2);
  auto put = api.call("PUT", base + "/greet", {{"document", doc2}}, a.owner_auth());
  INFO(put.raw);
  REQUIRE(put.status == 200);
  CHECK(put.body["rev"] == 2);
  CHECK(put.body["hash"] != first_hash);
  CHECK(json::parse(read_file(file)) == doc2);
  auto revisions = api.call("GET", base + "/greet/revisions", nullptr, a.owner_auth());
  INFO(revisions.raw);
  REQUIRE(revisions.status == 200);
  REQUIRE(revisions.body["data"].size() == 2);
  CHECK(revisions.body["data"][0]["hash"] == put.body["hash"]);
  CHECK(revisions.body["data"][0]["rev"] == 2);
  CHECK(revisions.body["data"][1]["hash"] == first_hash);
  CHECK(revisions.body["data"][1]["kind"] == "graph");
  auto paged = api.call("GET", base + "/greet/revisions?limit=1", nullptr, a.owner_auth());
  REQUIRE(paged.body["data"].size() == 1);
  REQUIRE(paged.body["next_cursor"].is_string());
  auto rest = api.call("GET", base + "/greet/revisions?limit=1&cursor=" + paged.body["next_cursor"].get<std::string>(),
                       nullptr, a.owner_auth());
  REQUIRE(rest.body["data"].size() == 1);
  CHECK(rest.body["data"][0]["hash"] == first_hash);
  auto old = api.call("GET", base + "/greet/revisions/" + first_hash, nullptr, a.owner_auth());
  REQUIRE(old.status == 200);
  CHECK(old.body["document"] == doc);
  require_error(api.call("GET", base + "/greet/revisions/" + std::string(64, 'f'), nullptr, a.owner_auth()), 404,
                "not_found");

  // The document's id must be the path's.
  auto wrong = api.call("PUT", base + "/greet", {{"document", keyword_flow("other", "x", "y")}}, a.owner_auth());
  require_error(wrong, 400, "invalid_argument");
  CHECK(wrong.body["error"]["details"]["field"] == "document.id");
  require_error(api.call("PUT", base + "/nope", {{"document", keyword_flow("nope", "x", "y")}}, a.owner_auth()), 404,
                "not_found");

  // A Lua flow is <id>.lua.
  const std::string lua =
      "return {name = 'Order', trigger = {type = 'keyword', keywords = {'order'}},\n"
      "        main = function(ctx) ctx.send('ok') end}\n";
  auto made_lua = api.call("POST", base, {{"lua", lua}, {"id", "order"}}, a.owner_auth());
  INFO(made_lua.raw);
  REQUIRE(made_lua.status == 201);
  CHECK(made_lua.body["kind"] == "lua");
  CHECK(made_lua.body["lua"] == lua);
  CHECK(read_file(flows_dir(api, a.workspace_id) / "order.lua") == lua);

  // A file copied in by hand is a flow of the API too (the hot reload).
  std::ofstream(flows_dir(api, a.workspace_id) / "by-hand.flow.json") << keyword_flow("by-hand", "hand", "hi").dump();
  REQUIRE(poll([&] {
    auto l = api.call("GET", base, nullptr, a.owner_auth());
    return l.status == 200 && find_id(l.body["data"], "by-hand") != nullptr;
  }));

  CHECK(api.call("DELETE", base + "/greet", nullptr, a.owner_auth()).status == 204);
  CHECK_FALSE(std::filesystem::exists(file));
  require_error(api.call("GET", base + "/greet", nullptr, a.owner_auth()), 404, "not_found");
  require_error(api.call("DELETE", base + "/greet", nullptr, a.owner_auth()), 404, "not_found");
  auto after = api.call("GET", base, nullptr, a.owner_auth());
  CHECK(find_id(after.body["data"], "greet") == nullptr);
  CHECK(after.body["data"].size() == 2);
  // Its revisions stay readable (executions may still run on them).
  CHECK(api.call("GET", base + "/greet/revisions", nullptr, a.owner_auth()).body["data"].size() == 2);

  const auto db = api.host().db_path();
  CHECK(count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'flow.created' AND workspace_id = 'a-ws'") == 2);
  CHECK(count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'flow.updated' AND target_id = 'greet'") == 1);
  CHECK(count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'flow.deleted' AND target_id = 'greet'") == 1);
}

TEST_CASE("an invalid flow is refused with every problem and nothing is written; bad input names the field",
          "[api]") {
  TempDir dir("sb-api-flows");
  ApiHost api(dir.path());
  const auto a = api.make_tenant("a");
  const std::string base = "/api/v1/workspaces/" + a.workspace_id + "/flows";
  json bad = keyword_flow("broken", "x", "y");
  bad["start"] = "missing";
  bad["nodes"][0]["type"] = "no_such_type";

  auto checked = api.call("POST", base + "/validate", {{"document", bad}}, a.owner_auth());
  INFO(checked.raw);
  REQUIRE(checked.status == 200);
  CHECK(checked.body["valid"] == false);
  REQUIRE(checked.body["problems"].size() >= 2);
  std::set<std::string> paths;
  for (const auto& p : checked.body["problems"]) {
    paths.insert(p["path"].get<std::string>());
    CHECK_FALSE(p["message"].get<std::string>().empty());
  }
  CHECK(paths.count("/start") == 1);
  CHECK(paths.count("/nodes/0/type") == 1);

  auto refused = api.call("POST", base, {{"document", bad}}, a.owner_auth());
  require_error(refused, 400, "invalid_argument");
  CHECK(refused.body["error"]["details"]["field"] == "document");
  CHECK(refused.body["error"]["details"]["problems"] == checked.body["problems"]);
  CHECK_FALSE(std::filesystem::exists(flows_dir(api, a.workspace_id) / "broken.flow.json"));
  CHECK(api.call("GET", base, nullptr, a.owner_auth()).body["data"].empty());

  auto fine = api.call("POST", base + "/validate", {{"document", keyword_flow("fine", "x", "y")}}, a.owner_auth());
  CHECK(fine.body["valid"] == true);
  CHECK(fine.body["problems"].empty());
  CHECK(fine.body["flow"]["id"] == "fine");
  CHECK_FALSE(std::filesystem::exists(flows_dir(api, a.workspace_id) / "fine.flow.json"));
  auto lua_bad = api.call("POST", base + "/validate", {{"lua", "return {trigger = {type = 'nope'}}"}}, a.owner_auth());
  CHECK(lua_bad.body["valid"] == false);
  CHECK(lua_bad.body["problems"].size() >= 2);  // the trigger, main, the id

  // A flow that exists is left as it was by a refused update.
  REQUIRE(api.call("POST", base, {{"document", keyword_flow("kept", "x", "y")}}, a.owner_auth()).status == 201);
  json bad_kept = keyword_flow("kept", "x", "y", 2);
  bad_kept["start"] = "missing";
  require_error(api.call("PUT", base + "/kept", {{"document", bad_kept}}, a.owner_auth()), 400, "invalid_argument");
  CHECK(api.call("GET", base + "/kept", nullptr, a.owner_auth()).body["rev"] == 1);
  CHECK(json::parse(read_file(flows_dir(api, a.workspace_id) / "kept.flow.json"))["rev"] == 1);

  struct Case {
    std::string method, path;
    json body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"POST", base, json::object(), "document"},
      {"POST", base, {{"document", "text"}}, "document"},
      {"POST", base, {{"document", keyword_flow("z", "x", "y")}, {"lua", "return {}"}}, "lua"},
      {"POST", base, {{"document", keyword_flow("z", "x", "y")}, {"nope", 1}}, "nope"},
      {"POST", base, {{"document", keyword_flow("z", "x", "y")}, {"id", "z"}}, "id"},
      {"POST", base, {{"lua", 12}}, "lua"},
      {"POST", base, {{"lua", "return {}"}}, "id"},
      {"POST", base, {{"lua", "return {id = 'a', trigger = {type = 'manual'}, main = function() end}"}, {"id", "b"}},
       "id"},
      {"POST", base + "/validate", {{"document", json::array()}}, "document"},
      {"PUT", base + "/kept", {{"lua", "return {}"}, {"id", "other"}}, "id"},
      {"POST", base + "/kept/disable", {{"x", 1}}, "x"},
      {"POST", base + "/kept/run", {{"vars", "no"}}, "vars"},
      {"POST", base + "/kept/run", {{"conversation_id", 5}}, "conversation_id"},
      {"GET", "/api/v1/workspaces/" + a.workspace_id + "/executions?status=bogus", nullptr, "status"},
      {"GET", "/api/v1/workspaces/" + a.workspace_id + "/executions?limit=0", nullptr, "limit"},
      {"GET", base + "?cursor=garbage", nullptr, "cursor"},
      {"GET", "/api/v1/workspaces/" + a.workspace_id + "/executions?state=failed", nullptr, "state"},
  };
  for (const auto& c : cases) {
    INFO(c.method << " " << c.path << " " << c.body.dump());
    auto r = api.call(c.method, c.path, c.body, a.owner_auth());
    require_error(r, 400, "invalid_argument");
    CHECK(r.body["error"]["details"]["field"] == c.field);
  }
  // Malformed JSON.
  auto client = api.host().client();
  httplib::Headers h{{"Authorization", "Bearer " + a.owner_token}};
  auto malformed = client->Post(base.c_str(), h, "{not json", "application/json");
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  // Ids no flow can have, and ids of nothing.
  require_error(api.call("GET", base + "/Not.An.Id", nullptr, a.owner_auth()), 404, "not_found");
  require_error(api.call("POST", base + "/missing/enable", nullptr, a.owner_auth()), 404, "not_found");
  require_error(api.call("GET", "/api/v1/workspaces/" + a.workspace_id + "/executions/exe_nope", nullptr,
                         a.owner_auth()),
                404, "not_found");
  // Nothing but "kept" was written.
  size_t files = 0;
  for ([[maybe_unused]] const auto& f : std::filesystem::directory_iterator(flows_dir(api, a.workspace_id))) ++files;
  CHECK(files == 1);
}

TEST_CASE("executions of a flow made through the API are listed with their step logs; disabled flows do not start",
          "[api]") {
  TempDir dir("sb-api-flows");
  ApiHost api(dir.path());
  // The demo workspace has a sandbox profile to take messages on.
  const Headers admin = api.master();
  const std::string base = "/api/v1/workspaces/demo/flows";
  REQUIRE(api.call("POST", base, {{"document", keyword_flow("api-hello", "hello-api", "hi from the API")}}, admin)
              .status == 201);

  // The SSE stream of the workspace, read on the side.
  EventReader events(api, "demo");
  REQUIRE(eventually([&] { return events.has({"retry:"}); }, kWait));

  inbound(api, "+15550101001", "hello-api");
  json runs;
  REQUIRE(poll([&] {
    runs = executions_of(api, "demo", "api-hello", admin);
    return runs.size() == 1 && runs[0]["status"] == "completed";
  }));
  const std::string execution_id = runs[0]["id"];
  CHECK_FALSE(runs[0].contains("steps"));
  CHECK_FALSE(runs[0].contains("state"));
  auto detail = api.call("GET", "/api/v1/workspaces/demo/executions/" + execution_id, nullptr, admin);
  INFO(detail.raw);
  REQUIRE(detail.status == 200);
  REQUIRE(detail.body["steps"].size() >= 1);
  CHECK(detail.body["steps"][0]["node"] == "say");
  CHECK(detail.body["conversation_id"].is_string());
  CHECK(detail.body["vars"].is_object());
  auto completed = api.call("GET", "/api/v1/workspaces/demo/executions?status=completed", nullptr, admin);
  CHECK(find_id(completed.body["data"], execution_id) != nullptr);

  // The event came on the stream.
  CHECK(eventually([&] { return events.has({"event: flow.execution", execution_id, "\"completed\""}); }, kWait));

  // Disabled: renamed aside, listed as disabled, and its keyword no longer
  // starts it (the demo's welcome menu answers instead).
  auto off = api.call("POST", base + "/api-hello/disable", nullptr, admin);
  INFO(off.raw);
  REQUIRE(off.status == 200);
  CHECK(off.body["enabled"] == false);
  CHECK(std::filesystem::exists(flows_dir(api, "demo") / "api-hello.flow.json.disabled"));
  CHECK_FALSE(std::filesystem::exists(flows_dir(api, "demo") / "api-hello.flow.json"));
  auto listed = api.call("GET", base, nullptr, admin);
  REQUIRE(find_id(listed.body["data"], "api-hello") != nullptr);
  CHECK((*find_id(listed.body["data"], "api-hello"))["enabled"] == false);
  require_error(api.call("POST", base + "/api-hello/run", nullptr, admin), 409, "conflict");
  const size_t welcome_before = executions_of(api, "demo", "welcome-menu", admin).size();
  inbound(api, "+15550101002", "hello-api");
  REQUIRE(poll([&] { return executions_of(api, "demo", "welcome-menu", admin).size() == welcome_before + 1; }));
  CHECK(executions_of(api, "demo", "api-hello", admin).size() == 1);
  // An update of a disabled flow keeps it disabled.
  auto put = api.call("PUT", base + "/api-hello",
                      {{"document", keyword_flow("api-hello", "hello-api", "hi again from the API", 2)}}, admin);
  INFO(put.raw);
  REQUIRE(put.status == 200);
  CHECK(put.body["enabled"] == false);
  CHECK(put.body["rev"] == 2);

  // The state is the file's name: a restart keeps it.
  api.host().stop();
  api.host().start();
  auto restarted = api.call("GET", base + "/api-hello", nullptr, admin);
  REQUIRE(restarted.status == 200);
  CHECK(restarted.body["enabled"] == false);
  CHECK(restarted.body["rev"] == 2);

  auto on = api.call("POST", base + "/api-hello/enable", nullptr, admin);
  REQUIRE(on.status == 200);
  CHECK(on.body["enabled"] == true);
  CHECK(on.body["rev"] == 2);
  CHECK(std::filesystem::exists(flows_dir(api, "demo") / "api-hello.flow.json"));
  inbound(api, "+15550101003", "hello-api");
  REQUIRE(poll([&] { return executions_of(api, "demo", "api-hello", admin).size() == 2; }));
  CHECK(executions_of(api, "demo", "api-hello", admin)[0]["flow_rev"] == 2);

  const auto db = api.host().db_path();
  CHECK(count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'flow.disabled' AND target_id = 'api-hello'") == 1);
  CHECK(count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'flow.enabled' AND target_id = 'api-hello'") == 1);
}

TEST_CASE("another tenant gets 404 for a workspace's flows and executions; a viewer reads but does not edit",
          "[api]") {
  TempDir dir("sb-api-flows");
  ApiHost api(dir.path());
  const auto a = api.make_tenant("a");
  const auto b = api.make_tenant("b");
  const std::string base = "/api/v1/workspaces/" + a.workspace_id + "/flows";
  REQUIRE(api.call("POST", base, {{"document", manual_flow("calc")}}, a.owner_auth()).status == 201);
  json hook = keyword_flow("hook", "x", "y");
  hook["trigger"] = {{"type", "webhook"}, {"secret", "a-webhook-secret-0123456789"}};
  REQUIRE(api.call("POST", base, {{"document", hook}}, a.owner_auth()).status == 201);

  // A run without a conversation.
  auto run = api.call("POST", base + "/calc/run", {{"vars", {{"name", "Ada"}}}}, a.owner_auth());
  INFO(run.raw);
  REQUIRE(run.status == 201);
  CHECK(run.body["status"] == "completed");
  CHECK(run.body["vars"]["greeting"] == "hello Ada");
  const std::string execution_id = run.body["id"];
  const std::string hash = api.call("GET", base + "/calc", nullptr, a.owner_auth()).body["hash"];
  require_error(api.call("POST", base + "/calc/run", {{"conversation_id", "conv_nope"}}, a.owner_auth()), 404,
                "not_found");

  // Tenant B, on A's workspace and on its own with A's ids.
  const json doc = manual_flow("calc");
  struct Route {
    std::string method, path;
    json body;
  };
  for (const std::string& ws : {a.workspace_id, b.workspace_id}) {
    const std::string p = "/api/v1/workspaces/" + ws;
    const std::vector<Route> routes = {
        {"GET", p + "/flows/calc", nullptr},
        {"PUT", p + "/flows/calc", {{"document", doc}}},
        {"DELETE", p + "/flows/calc", nullptr},
        {"POST", p + "/flows/calc/enable", nullptr},
        {"POST", p + "/flows/calc/disable", nullptr},
        {"POST", p + "/flows/calc/run", nullptr},
        {"GET", p + "/flows/calc/revisions", nullptr},
        {"GET", p + "/flows/calc/revisions/" + hash, nullptr},
        {"GET", p + "/executions/" + execution_id, nullptr},
    };
    for (const auto& r : routes) {
      INFO(r.method << " " << r.path);
      require_error(api.call(r.method, r.path, r.body, b.owner_auth()), 404, "not_found");
    }
  }
  for (const char* path : {"/flows", "/executions"}) {
    require_error(api.call("GET", "/api/v1/workspaces/" + a.workspace_id + path, nullptr, b.owner_auth()), 404,
                  "not_found");
    auto own = api.call("GET", "/api/v1/workspaces/" + b.workspace_id + path, nullptr, b.owner_auth());
    REQUIRE(own.status == 200);
    CHECK(own.body["data"].empty());
  }
  require_error(api.call("POST", base + "/validate", {{"document", doc}}, b.owner_auth()), 404, "not_found");
  require_error(api.call("POST", base, {{"document", manual_flow("intruder")}}, b.owner_auth()), 404, "not_found");
  CHECK_FALSE(std::filesystem::exists(flows_dir(api, a.workspace_id) / "intruder.flow.json"));

  // A viewer of A reads (webhook secrets hidden) but does not edit.
  const Headers viewer = {{"Authorization", "Bearer " + api.add_member(a, "viewer@a.example.com", "viewer")}};
  auto seen = api.call("GET", base, nullptr, viewer);
  REQUIRE(seen.status == 200);
  CHECK(seen.body["data"].size() == 2);
  CHECK((*find_id(seen.body["data"], "hook"))["trigger"]["secret"] == "********");
  CHECK(api.call("GET", base + "/hook", nullptr, viewer).body["document"]["trigger"]["secret"] == "********");
  CHECK(api.call("GET", base + "/hook", nullptr, a.owner_auth()).body["document"]["trigger"]["secret"] ==
        "a-webhook-secret-0123456789");
  CHECK(api.call("GET", base + "/calc/revisions", nullptr, viewer).status == 200);
  CHECK(api.call("GET", "/api/v1/workspaces/" + a.workspace_id + "/executions/" + execution_id, nullptr, viewer)
            .status == 200);
  CHECK(api.call("POST", base + "/validate", {{"document", doc}}, viewer).body["valid"] == true);
  const std::vector<Route> edits = {
      {"POST", base, {{"document", manual_flow("other")}}},
      {"PUT", base + "/calc", {{"document", doc}}},
      {"DELETE", base + "/calc", nullptr},
      {"POST", base + "/calc/enable", nullptr},
      {"POST", base + "/calc/disable", nullptr},
      {"POST", base + "/calc/run", nullptr},
  };
  for (const auto& r : edits) {
    INFO(r.method << " " << r.path);
    require_error(api.call(r.method, r.path, r.body, viewer), 403, "forbidden");
  }
  CHECK(api.call("GET", base + "/calc", nullptr, a.owner_auth()).body["enabled"] == true);
  CHECK(executions_of(api, a.workspace_id, "calc", a.owner_auth()).size() == 1);
}

// What else starts flows besides messages — events (tags, resolving,
// releasing a handoff), webhooks — and hot reload of the flows directory
// under running executions.
#include "runtime_test_host.hpp"
#include "support/error_code.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace sb::flows;
using nlohmann::json;
using sb::test::code_of;
using sb::test::graph_flow;
using sb::test::kWorkspace;
using sb::test::lua_reply_flow;
using sb::test::RuntimeHost;
using sb::test::RuntimeHostOptions;
using Strings = std::vector<std::string>;

namespace {

// A survey whose question and thanks name the revision.
std::string survey(int rev, const std::string& thanks) {
  return graph_flow("survey", {{"type", "keyword"}, {"keywords", {"survey"}}},
                    json::array({{{"id", "ask"}, {"type", "ask"},
                                  {"config", {{"text", "Question of rev " + std::to_string(rev)}, {"variable", "answer"}}}},
                                 {{"id", "thanks"}, {"type", "send_text"}, {"config", {{"text", thanks}}}}}),
                    {{"ask.reply", "thanks"}}, rev);
}

const FlowFileStatus* status_of(const std::vector<FlowFileStatus>& files, const std::string& name) {
  for (const auto& f : files) {
    if (f.path.filename() == name) return &f;
  }
  return nullptr;
}

constexpr const char* kSecret = "correct-horse-battery";

}  // namespace

TEST_CASE("a changed flow file runs for new conversations while waiting executions finish on their revision",
          "[flows][runtime][reload]") {
  RuntimeHost host(RuntimeHostOptions{.watch_flows_dir = true});
  host.write_flow_file("survey.flow.json", survey(1, "Thanks from rev 1"));
  host.start();
  REQUIRE(host.library().current(kWorkspace, "survey"));
  host.say("+15550100001", "survey");
  host.settle();

  host.write_flow_file("survey.flow.json", survey(2, "Thanks from revision two"));
  CHECK(host.runtime().reload());
  CHECK(host.library().current(kWorkspace, "survey")->rev == 2);
  host.say("+15550100002", "survey");
  host.settle();
  host.say("+15550100001", "fine");
  host.say("+15550100002", "good");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"Question of rev 1", "Thanks from rev 1"});
  CHECK(host.sent_to("+15550100002") == Strings{"Question of rev 2", "Thanks from revision two"});
  std::vector<int64_t> revs;
  for (const auto& e : host.executions("survey")) revs.push_back(e.flow_rev);
  std::sort(revs.begin(), revs.end());
  CHECK(revs == std::vector<int64_t>{1, 2});

  SECTION("a file changed to an invalid document keeps the previous revision running and shows its problems") {
    host.write_flow_file("survey.flow.json", R"({"schema": "switchboard.flow/1", "id": "survey", "rev": 3})");
    CHECK_FALSE(host.runtime().reload());
    const auto files = host.library().files();
    const auto* status = status_of(files, "survey.flow.json");
    REQUIRE(status);
    CHECK_FALSE(status->problems.empty());
    CHECK(status->flow_id == "survey");
    CHECK(status->hash == host.library().current(kWorkspace, "survey")->hash);
    host.say("+15550100003", "survey");
    host.settle();
    CHECK(host.sent_to("+15550100003") == Strings{"Question of rev 2"});

    // Fixed again: loads, and its problems are gone.
    host.write_flow_file("survey.flow.json", survey(4, "Thanks from rev 4"));
    CHECK(host.runtime().reload());
    CHECK(status_of(host.library().files(), "survey.flow.json")->problems.empty());
    CHECK(host.library().current(kWorkspace, "survey")->rev == 4);
  }

  SECTION("a removed file starts nothing more, and what waits on it still finishes") {
    host.say("+15550100003", "survey");
    host.settle();
    std::filesystem::remove(host.flows_dir() / kWorkspace / "survey.flow.json");
    CHECK(host.runtime().reload());
    CHECK_FALSE(host.library().current(kWorkspace, "survey"));
    CHECK(host.library().files().empty());
    const auto m = host.say("+15550100004", "survey");
    host.settle();
    CHECK(host.handled(m.message_id));
    CHECK(host.sent_to("+15550100004").empty());
    host.say("+15550100003", "still here");
    host.settle();
    CHECK(host.sent_to("+15550100003") == Strings{"Question of rev 2", "Thanks from revision two"});
  }
}

TEST_CASE("tagging a contact starts the flows of that tag, once per change", "[flows][runtime][events]") {
  RuntimeHost host;
  host.install("vip.lua", R"(
return {
  id = "vip",
  trigger = {type = "event", event = "contact.tagged", tag = "vip"},
  main = function(ctx) ctx.send("welcome, " .. ctx.trigger.data.tag .. " " .. ctx.contact.phone) end,
})");
  host.install("upgrade.lua", R"(
return {
  id = "upgrade",
  trigger = {type = "keyword", keywords = {"upgrade"}},
  main = function(ctx) ctx.tag("vip"); ctx.tag("customer") end,
})");
  host.start();
  const auto m = host.say("+15550100001", "upgrade");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"welcome, vip +15550100001"});
  CHECK(host.tags("+15550100001") == json::array({"customer", "vip"}));
  const auto vip = host.only_execution("vip");
  CHECK(vip.conversation_id == m.conversation_id);
  CHECK(vip.trigger["type"] == "event");
  CHECK(vip.trigger["event"] == "contact.tagged");
  CHECK(vip.trigger["depth"] == 1);

  // Already a vip: nothing changes, nothing starts.
  host.say("+15550100001", "upgrade");
  host.settle();
  CHECK(host.executions("vip").size() == 1);
  CHECK(host.executions("upgrade").size() == 2);
}

TEST_CASE("resolving a conversation and releasing a handoff start the flows of those events",
          "[flows][runtime][events]") {
  RuntimeHost host;
  host.install("agent.lua", R"(
return {
  id = "agent",
  trigger = {type = "keyword", keywords = {"agent"}},
  main = function(ctx) ctx.handoff{} end,
})");
  host.install("back.lua",
               lua_reply_flow("back", R"({type = "event", event = "handoff.released"})", "the bot is back"));
  host.install("bye.lua", lua_reply_flow("bye", R"({type = "event", event = "conversation.resolved"})", "bye"));
  host.start();
  const auto m = host.say("+15550100001", "agent");
  host.settle();
  REQUIRE(host.conversation(m.conversation_id)->mode == "human");

  host.runtime().release_handoff(kWorkspace, m.conversation_id);
  host.settle();
  CHECK(host.conversation(m.conversation_id)->mode == "bot");
  CHECK(host.sent_to("+15550100001") == Strings{"the bot is back"});
  CHECK(host.only_execution("back").conversation_id == m.conversation_id);

  host.runtime().resolve_conversation(kWorkspace, m.conversation_id);
  host.settle();
  CHECK(host.conversation(m.conversation_id)->status == "resolved");
  CHECK(host.sent_to("+15550100001") == Strings{"the bot is back", "bye"});
  CHECK(host.only_execution("bye").trigger["event"] == "conversation.resolved");
}

TEST_CASE("flows that tag on every tag stop after max_event_depth levels", "[flows][runtime][events]") {
  RuntimeHost host(RuntimeHostOptions{.max_event_depth = 4});
  host.install("looper.lua", R"(
return {
  id = "looper",
  trigger = {type = "event", event = "contact.tagged"},
  main = function(ctx) ctx.tag("t" .. ctx.trigger.depth) end,
})");
  host.install("go.lua", R"(
return {
  id = "go",
  trigger = {type = "keyword", keywords = {"go"}},
  main = function(ctx) ctx.tag("t0") end,
})");
  host.start();
  host.say("+15550100001", "go");
  host.settle();
  CHECK(host.executions("looper").size() == 4);
  CHECK(host.tags("+15550100001") == json::array({"t0", "t1", "t2", "t3", "t4"}));
}

TEST_CASE("a webhook with the right secret starts its flow, in the contact's conversation when given a phone",
          "[flows][runtime][webhook]") {
  RuntimeHost host;
  host.install("hook.lua", std::string(R"(
return {
  id = "hook",
  trigger = {type = "webhook", secret = ")") + kSecret + R"("},
  main = function(ctx)
    if ctx.contact then ctx.send("order " .. ctx.vars.order .. " shipped") end
    ctx.kv.set("last_hook", ctx.trigger.body)
  end,
})");
  host.install("menu.lua", lua_reply_flow("menu", R"({type = "keyword", keywords = {"menu"}})", "the menu"));
  host.start();

  const json body = {{"profile", "p1"}, {"phone", "+15550100009"}, {"vars", {{"order", "A-17"}}}};
  const json result = host.runtime().handle_webhook("hook", kSecret, body);
  CHECK(result["status"] == "completed");
  CHECK(result["error"].is_null());
  host.settle();
  CHECK(host.sent_to("+15550100009") == Strings{"order A-17 shipped"});
  const auto e = host.only_execution("hook");
  CHECK(e.id == result["execution_id"]);
  CHECK(e.profile_id == "p1");
  CHECK(e.trigger["type"] == "webhook");
  CHECK(e.state["vars"]["order"] == "A-17");
  const auto stored = host.db().read([](sb::store::Connection& c) { return flow_kv::get(c, kWorkspace, "last_hook"); });
  REQUIRE(stored);
  CHECK(*stored == body);

  // Without a phone it runs with no conversation.
  const json bare = host.runtime().handle_webhook("hook", kSecret, {{"vars", {{"order", "B-2"}}}});
  CHECK(bare["status"] == "completed");
  host.settle();
  CHECK(host.executions("hook").size() == 2);
  CHECK(host.outbound_count() == 1);

  CHECK(code_of([&] { host.runtime().handle_webhook("hook", "wrong-secret-wrong", json::object()); }) ==
        sb::ErrorCode::unauthorized);
  CHECK(code_of([&] { host.runtime().handle_webhook("hook", "", json::object()); }) == sb::ErrorCode::unauthorized);
  CHECK(code_of([&] { host.runtime().handle_webhook("nope", kSecret, json::object()); }) == sb::ErrorCode::not_found);
  CHECK(code_of([&] { host.runtime().handle_webhook("menu", kSecret, json::object()); }) == sb::ErrorCode::not_found);
  CHECK(code_of([&] { host.runtime().handle_webhook("hook", kSecret, {{"vars", "x"}}); }) ==
        sb::ErrorCode::invalid_argument);
  CHECK(code_of([&] { host.runtime().handle_webhook("hook", kSecret, {{"phone", "+15550100009"}}); }) ==
        sb::ErrorCode::invalid_argument);
  CHECK(code_of([&] {
          host.runtime().handle_webhook("hook", kSecret, {{"phone", "+15550100009"}, {"profile", "nope"}});
        }) == sb::ErrorCode::not_found);
  host.settle();
  CHECK(host.executions("hook").size() == 2);
}

TEST_CASE("a webhook for a contact whose conversation a human has is refused with conflict", "[flows][runtime][webhook]") {
  RuntimeHost host;
  host.install("hook.lua", lua_reply_flow("hook", std::string(R"({type = "webhook", secret = ")") + kSecret + "\"}",
                                          "from the hook"));
  host.install("agent.lua", R"(
return {
  id = "agent",
  trigger = {type = "keyword", keywords = {"agent"}},
  main = function(ctx) ctx.handoff{} end,
})");
  host.start();
  host.say("+15550100001", "agent");
  host.settle();
  const json body = {{"profile", "p1"}, {"phone", "+15550100001"}};
  CHECK(code_of([&] { host.runtime().handle_webhook("hook", kSecret, body); }) == sb::ErrorCode::conflict);
  host.settle();
  CHECK(host.executions("hook").empty());
  CHECK(host.outbound_count() == 0);
}

TEST_CASE("a webhook naming another tenant's profile is answered not_found and touches nothing there",
          "[flows][runtime][webhook]") {
  RuntimeHost host;
  host.install("hook.lua", lua_reply_flow("hook", std::string(R"({type = "webhook", secret = ")") + kSecret + "\"}",
                                          "from the hook"));
  host.start();
  host.db().write([](sb::store::Connection& c) {
    c.execute("INSERT INTO organizations (id, name, created_at) VALUES ('org_other', 'Other', 0)");
    c.execute("INSERT INTO workspaces (id, organization_id, name, created_at) VALUES ('ws_other', 'org_other', 'Other', 0)");
    c.execute(
        "INSERT INTO profiles (id, organization_id, workspace_id, name, channel_plugin, created_at, updated_at) "
        "VALUES ('prof_other', 'org_other', 'ws_other', 'Theirs', 'channel-sandbox', 0, 0)");
  });
  CHECK(code_of([&] {
          host.runtime().handle_webhook("hook", kSecret, {{"phone", "+15550100042"}, {"profile", "prof_other"}});
        }) == sb::ErrorCode::not_found);
  host.settle();
  const auto counts = host.db().read([](sb::store::Connection& c) {
    return std::pair{c.query_one("SELECT COUNT(*) AS n FROM contacts WHERE workspace_id = 'ws_other'")->integer("n"),
                     c.query_one("SELECT COUNT(*) AS n FROM conversations WHERE workspace_id = 'ws_other'")->integer("n")};
  });
  CHECK(counts.first == 0);
  CHECK(counts.second == 0);
  CHECK(host.executions("hook").empty());
}

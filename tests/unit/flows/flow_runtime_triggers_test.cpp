// Which flow gets a message (docs/flows.md): match_message_trigger and
// match_event_trigger on their own, then the whole order through a running
// runtime (human mode, a waiting ask, keywords, message triggers, nothing).
#include "flows/flow_document.hpp"
#include "flows/triggers.hpp"
#include "runtime_test_host.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace sb::flows;
using sb::test::lua_reply_flow;
using sb::test::RuntimeHost;
using Strings = std::vector<std::string>;

namespace {

FlowPtr flow_with(const std::string& id, const std::string& trigger) {
  ParseResult r = parse_flow_lua(lua_reply_flow(id, trigger, id), id);
  INFO(format_problems(r.problems));
  REQUIRE(r.ok());
  return r.flow;
}

std::string id_of(const FlowPtr& f) { return f ? f->id : "(none)"; }

std::string matched(const std::vector<FlowPtr>& flows, const std::string& text, const std::string& profile = "p1") {
  return id_of(match_message_trigger(flows, profile, text));
}

Strings ids(const std::vector<FlowPtr>& flows) {
  Strings out;
  for (const auto& f : flows) out.push_back(f->id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("a keyword trigger beats a message trigger whatever their priorities", "[flows][runtime][triggers]") {
  const std::vector<FlowPtr> flows = {
      flow_with("any", R"({type = "message", priority = 100})"),
      flow_with("menu", R"({type = "keyword", keywords = {"menu"}})"),
  };
  CHECK(matched(flows, "menu") == "menu");
  CHECK(matched(flows, "  MENU ") == "menu");  // trimmed, case-insensitive by default
  CHECK(matched(flows, "something else") == "any");
}

TEST_CASE("at equal priority exact beats starts_with beats contains beats regex, whatever the flow ids",
          "[flows][runtime][triggers]") {
  std::vector<FlowPtr> flows = {
      flow_with("a-regex", R"({type = "keyword", keywords = {"^hel+o$"}, match = "regex"})"),
      flow_with("b-contains", R"({type = "keyword", keywords = {"ell"}, match = "contains"})"),
      flow_with("c-starts", R"({type = "keyword", keywords = {"hel"}, match = "starts_with"})"),
      flow_with("d-exact", R"({type = "keyword", keywords = {"hello"}})"),
  };
  CHECK(matched(flows, "hello") == "d-exact");
  flows.pop_back();
  CHECK(matched(flows, "hello") == "c-starts");
  flows.pop_back();
  CHECK(matched(flows, "hello") == "b-contains");
  flows.pop_back();
  CHECK(matched(flows, "hello") == "a-regex");
  CHECK(matched(flows, "help") == "(none)");
}

TEST_CASE("a higher priority wins over a more specific match, and equal triggers go by flow id",
          "[flows][runtime][triggers]") {
  const std::vector<FlowPtr> flows = {
      flow_with("exact", R"({type = "keyword", keywords = {"order 42"}})"),
      flow_with("orders", R"({type = "keyword", keywords = {"^order \\d+$"}, match = "regex", priority = 5})"),
      flow_with("zeta", R"({type = "keyword", keywords = {"status"}})"),
      flow_with("alpha", R"({type = "keyword", keywords = {"status"}})"),
      flow_with("m-low", R"({type = "message", priority = 1})"),
      flow_with("m-high-b", R"({type = "message", priority = 2})"),
      flow_with("m-high-a", R"({type = "message", priority = 2})"),
  };
  CHECK(matched(flows, "order 42") == "orders");
  CHECK(matched(flows, "status") == "alpha");
  CHECK(matched(flows, "anything") == "m-high-a");
}

TEST_CASE("case_sensitive keywords compare letters as written", "[flows][runtime][triggers]") {
  const std::vector<FlowPtr> flows = {
      flow_with("sensitive", R"({type = "keyword", keywords = {"STOP"}, case_sensitive = true})"),
  };
  CHECK(matched(flows, "STOP") == "sensitive");
  CHECK(matched(flows, "stop") == "(none)");
}

TEST_CASE("a trigger with profiles only sees messages of those profiles", "[flows][runtime][triggers]") {
  const std::vector<FlowPtr> flows = {
      flow_with("p2-menu", R"({type = "keyword", keywords = {"menu"}, profiles = {"p2"}, priority = 9})"),
      flow_with("menu", R"({type = "keyword", keywords = {"menu"}})"),
      flow_with("p2-any", R"({type = "message", profiles = {"p2"}})"),
  };
  CHECK(matched(flows, "menu", "p2") == "p2-menu");
  CHECK(matched(flows, "menu", "p1") == "menu");
  CHECK(matched(flows, "hi", "p2") == "p2-any");
  CHECK(matched(flows, "hi", "p1") == "(none)");
}

TEST_CASE("event, schedule, webhook and manual triggers never take a message", "[flows][runtime][triggers]") {
  const std::vector<FlowPtr> flows = {
      flow_with("ev", R"({type = "event", event = "contact.tagged"})"),
      flow_with("cron", R"({type = "schedule", cron = "0 9 * * *"})"),
      flow_with("hook", R"({type = "webhook", secret = "0123456789abcdef"})"),
      flow_with("man", R"({type = "manual"})"),
  };
  CHECK(matched(flows, "hi") == "(none)");
}

TEST_CASE("match_event_trigger picks the flows of that event, and for contact.tagged those of that tag or of any tag",
          "[flows][runtime][triggers]") {
  const std::vector<FlowPtr> flows = {
      flow_with("vip", R"({type = "event", event = "contact.tagged", tag = "vip"})"),
      flow_with("any-tag", R"({type = "event", event = "contact.tagged"})"),
      flow_with("bye", R"({type = "event", event = "conversation.resolved"})"),
      flow_with("back", R"({type = "event", event = "handoff.released"})"),
      flow_with("menu", R"({type = "keyword", keywords = {"contact.tagged"}})"),
  };
  CHECK(ids(match_event_trigger(flows, "contact.tagged", "vip")) == Strings{"any-tag", "vip"});
  CHECK(ids(match_event_trigger(flows, "contact.tagged", "lead")) == Strings{"any-tag"});
  CHECK(ids(match_event_trigger(flows, "conversation.resolved")) == Strings{"bye"});
  CHECK(ids(match_event_trigger(flows, "handoff.released")) == Strings{"back"});
  CHECK(match_event_trigger(flows, "message.received").empty());
}

// ---- Through the runtime ----------------------------------------------------------

TEST_CASE("the runtime starts the keyword flow for its keyword and the message flow for anything else",
          "[flows][runtime]") {
  RuntimeHost host;
  host.install("any.lua", lua_reply_flow("any", R"({type = "message"})", "fallback"));
  host.install("menu.lua", lua_reply_flow("menu", R"({type = "keyword", keywords = {"menu"}})", "the menu"));
  host.install("p2.lua",
               lua_reply_flow("p2", R"({type = "keyword", keywords = {"menu"}, profiles = {"p2"}, priority = 1})",
                              "the p2 menu"));
  host.start();
  const auto a = host.say("+15550100001", "menu");
  host.settle();
  host.say("+15550100001", "what?");
  host.settle();
  host.say("+15550100002", "menu", "p2");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"the menu", "fallback"});
  CHECK(host.sent_to("+15550100002") == Strings{"the p2 menu"});
  CHECK(host.handled(a.message_id));
  const auto menu = host.only_execution("menu");
  CHECK(menu.status == "completed");
  CHECK(menu.conversation_id == a.conversation_id);
  CHECK(menu.trigger["type"] == "keyword");
  CHECK(menu.trigger["message_id"] == a.message_id);
}

TEST_CASE("a conversation waiting in ask gets the reply even when a keyword would match", "[flows][runtime]") {
  RuntimeHost host;
  host.install("survey.lua", R"(
return {
  id = "survey",
  trigger = {type = "keyword", keywords = {"survey"}},
  main = function(ctx)
    local answer = ctx.ask("How was it?", {timeout = 600})
    ctx.send("you said " .. answer.text)
  end,
})");
  host.install("menu.lua", lua_reply_flow("menu", R"({type = "keyword", keywords = {"menu"}, priority = 100})",
                                          "the menu"));
  host.start();
  host.say("+15550100001", "survey");
  host.settle();
  const auto reply = host.say("+15550100001", "menu");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"How was it?", "you said menu"});
  CHECK(host.executions("menu").empty());
  CHECK(host.only_execution("survey").status == "completed");
  CHECK(host.handled(reply.message_id));
  // Once it has ended, the keyword works again.
  host.say("+15550100001", "menu");
  host.settle();
  CHECK(host.sent_to("+15550100001").back() == "the menu");
}

TEST_CASE("a conversation a human has gets no bot answer and its messages are taken", "[flows][runtime]") {
  RuntimeHost host;
  host.install("agent.lua", R"(
return {
  id = "agent",
  trigger = {type = "keyword", keywords = {"agent"}},
  main = function(ctx)
    ctx.send("connecting you")
    ctx.handoff{note = "wants a person"}
  end,
})");
  host.install("any.lua", lua_reply_flow("any", R"({type = "message"})", "fallback"));
  host.start();
  const auto first = host.say("+15550100001", "agent");
  host.settle();
  REQUIRE(host.conversation(first.conversation_id)->mode == "human");
  const auto later = host.say("+15550100001", "hello?");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"connecting you"});
  CHECK(host.handled(later.message_id));
  CHECK(host.executions("any").empty());
  CHECK(host.only_execution("agent").status == "completed");
}

TEST_CASE("an ask waiting in a conversation a human took over gets nothing until the bot has it back",
          "[flows][runtime]") {
  RuntimeHost host;
  host.install("survey.lua", R"(
return {
  id = "survey",
  trigger = {type = "keyword", keywords = {"survey"}},
  main = function(ctx)
    local answer = ctx.ask("How was it?", {timeout = 600})
    ctx.send("you said " .. answer.text)
  end,
})");
  host.start();
  const auto start = host.say("+15550100001", "survey");
  host.settle();
  // An agent takes the conversation (as the API does).
  host.db().write([&](sb::store::Connection& c) {
    flow_effects::set_mode(c, sb::test::kWorkspace, start.conversation_id, "human", host.now());
  });
  const auto to_human = host.say("+15550100001", "is anyone there?");
  host.settle();
  CHECK(host.handled(to_human.message_id));
  CHECK(host.sent_to("+15550100001") == Strings{"How was it?"});
  CHECK(host.only_execution("survey").status == "waiting");

  host.runtime().release_handoff(sb::test::kWorkspace, start.conversation_id);
  host.settle();
  CHECK(host.conversation(start.conversation_id)->mode == "bot");
  host.say("+15550100001", "great");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"How was it?", "you said great"});
  CHECK(host.only_execution("survey").status == "completed");
}

TEST_CASE("a message no flow matches is taken and answered by nothing", "[flows][runtime]") {
  RuntimeHost host;
  host.install("menu.lua", lua_reply_flow("menu", R"({type = "keyword", keywords = {"menu"}})", "the menu"));
  host.start();
  const auto m = host.say("+15550100001", "hello");
  host.settle();
  CHECK(host.handled(m.message_id));
  CHECK(host.outbound_count() == 0);
  CHECK(host.executions().empty());
}

// The runtime's clock-driven side with a manual clock: ask timeouts and
// delays end exactly once, waits and unhandled messages survive a restart of
// the runtime, and schedule triggers fire at their local time.
#include "runtime_test_host.hpp"

#include <catch2/catch.hpp>

using namespace sb::flows;
using nlohmann::json;
using sb::test::kT0;
using sb::test::kWorkspace;
using sb::test::lua_reply_flow;
using sb::test::RuntimeHost;
using sb::test::RuntimeHostOptions;
using Strings = std::vector<std::string>;

namespace {

constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;

const char* kAskFlow = R"(
return {
  id = "name",
  trigger = {type = "keyword", keywords = {"start"}},
  main = function(ctx)
    local answer = ctx.ask("Your name?", {timeout = 600})
    if answer.timeout then ctx.send("too late") else ctx.send("hi " .. answer.text) end
  end,
})";

const char* kDelayFlow = R"(
return {
  id = "later",
  trigger = {type = "keyword", keywords = {"later"}},
  main = function(ctx)
    ctx.delay(3600)
    ctx.send("an hour later: " .. ctx.now())
  end,
})";

std::optional<int64_t> stored_next_at(RuntimeHost& host, const std::string& flow_id) {
  return host.db().read([&](sb::store::Connection& c) { return flow_schedules::next_at(c, kWorkspace, flow_id); });
}

}  // namespace

TEST_CASE("an ask answered before its timeout never times out afterwards", "[flows][runtime][timers]") {
  RuntimeHost host;
  host.install("name.lua", kAskFlow);
  host.start();
  host.say("+15550100001", "start");
  host.settle();
  CHECK(host.runtime().stats().armed_timers == 1);
  host.advance(5 * kMinute);
  host.say("+15550100001", "Ada");
  host.settle();
  const auto answered = host.only_execution("name");
  CHECK(answered.status == "completed");

  host.advance(20 * kMinute);  // well past the timeout: the timer fires and finds the wait over
  CHECK(host.runtime().stats().armed_timers == 0);
  CHECK(host.sent_to("+15550100001") == Strings{"Your name?", "hi Ada"});
  const auto after = host.only_execution("name");
  CHECK(after.status == "completed");
  CHECK(after.version == answered.version);
  CHECK(after.steps == answered.steps);
}

TEST_CASE("an ask that timed out is over: a later reply starts whatever it triggers", "[flows][runtime][timers]") {
  RuntimeHost host;
  host.install("name.lua", kAskFlow);
  host.install("any.lua", lua_reply_flow("any", R"({type = "message"})", "fallback"));
  host.start();
  host.say("+15550100001", "start");
  host.settle();
  host.advance(600 * kSecond - 1);
  CHECK(host.sent_to("+15550100001") == Strings{"Your name?"});
  host.advance(1);
  CHECK(host.sent_to("+15550100001") == Strings{"Your name?", "too late"});
  CHECK(host.only_execution("name").status == "completed");

  host.say("+15550100001", "Ada");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"Your name?", "too late", "fallback"});
  CHECK(host.executions("name").size() == 1);
  CHECK(host.only_execution("any").status == "completed");
}

TEST_CASE("a delay resumes at its deadline, once", "[flows][runtime][timers]") {
  RuntimeHost host;
  host.install("later.lua", kDelayFlow);
  host.start();
  host.say("+15550100001", "later");
  host.settle();
  const auto waiting = host.only_execution("later");
  CHECK(waiting.status == "waiting");
  CHECK(waiting.wait_kind == "delay");
  CHECK(waiting.deadline_at == kT0 + kHour);

  host.advance(kHour - 1);
  CHECK(host.sent_to("+15550100001").empty());
  host.advance(1);
  CHECK(host.sent_to("+15550100001") == Strings{"an hour later: " + std::to_string(kT0 + kHour)});
  host.advance(kDay);
  CHECK(host.sent_to("+15550100001").size() == 1);
  CHECK(host.only_execution("later").status == "completed");
}

TEST_CASE("waits and unhandled messages survive a restart of the runtime and end exactly once",
          "[flows][runtime][timers]") {
  RuntimeHost host;
  host.install("name.lua", kAskFlow);
  host.install("later.lua", kDelayFlow);
  host.install("ping.lua", lua_reply_flow("ping", R"({type = "keyword", keywords = {"ping"}})", "pong"));
  host.start();
  const std::string answers = "+15550100001", sleeps = "+15550100002", waits = "+15550100003",
                    offline = "+15550100004";
  host.say(answers, "start");
  host.say(sleeps, "start");
  host.say(waits, "later");
  host.settle();
  REQUIRE(host.executions("", "waiting").size() == 3);
  host.stop();

  // While no runtime runs, a message is stored and nobody takes it.
  const auto unanswered = host.say(offline, "ping");
  CHECK_FALSE(host.handled(unanswered.message_id));

  // A new library where the flows changed since: the waits finish on the
  // revisions they began with (read back from the database).
  host.install("name.lua", std::string(kAskFlow).replace(std::string(kAskFlow).find("hi "), 3, "hello "));
  host.restart();
  host.settle();
  CHECK(host.handled(unanswered.message_id));
  CHECK(host.sent_to(offline) == Strings{"pong"});

  host.say(answers, "Ada");
  host.settle();
  CHECK(host.sent_to(answers) == Strings{"Your name?", "hi Ada"});

  host.advance(600 * kSecond);
  CHECK(host.sent_to(sleeps) == Strings{"Your name?", "too late"});
  host.advance_to(kT0 + kHour);
  CHECK(host.sent_to(waits) == Strings{"an hour later: " + std::to_string(kT0 + kHour)});

  host.advance(kDay);
  CHECK(host.outbound_count() == 6);
  CHECK(host.executions("", "waiting").empty());
  CHECK(host.executions("", "completed").size() == 4);
  // A new start runs the new revision.
  host.say(answers, "start");
  host.say(answers, "Grace");
  host.settle();
  CHECK(host.sent_to(answers).back() == "hello Grace");
}

TEST_CASE("a deadline that passed while the runtime was down fires once when it starts", "[flows][runtime][timers]") {
  RuntimeHost host;
  host.install("later.lua", kDelayFlow);
  host.start();
  host.say("+15550100001", "later");
  host.settle();
  host.stop();
  host.set_clock(kT0 + 2 * kHour);  // the clock moves on while it is down
  host.restart();
  REQUIRE(host.runtime().check_timers(std::chrono::seconds(10)));
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"an hour later: " + std::to_string(kT0 + 2 * kHour)});
  host.restart();
  host.advance(kDay);
  CHECK(host.sent_to("+15550100001").size() == 1);
}

TEST_CASE("a schedule fires at its local time once a day and keeps its next time in flow_schedules",
          "[flows][runtime][timers]") {
  RuntimeHost host(RuntimeHostOptions{.timezone = "Europe/Berlin"});
  host.install("morning.lua", R"(
return {
  id = "morning",
  trigger = {type = "schedule", cron = "0 9 * * *"},
  main = function(ctx)
    local runs = ctx.kv.get("runs") or {}
    runs[#runs + 1] = ctx.trigger.at
    ctx.kv.set("runs", runs)
  end,
})");
  host.start();
  REQUIRE(host.runtime().check_timers(std::chrono::seconds(10)));
  // kT0 is Monday 11:00 in Berlin (UTC+1): the next 09:00 is Tuesday 08:00 UTC.
  const int64_t tuesday9 = kT0 + kDay - 2 * kHour;
  CHECK(stored_next_at(host, "morning") == tuesday9);

  auto runs = [&] {
    auto v = host.db().read([](sb::store::Connection& c) { return flow_kv::get(c, kWorkspace, "runs"); });
    return v ? *v : json::array();
  };
  host.advance_to(tuesday9 - 1);
  CHECK(runs().empty());
  host.advance_to(tuesday9);
  CHECK(runs() == json::array({tuesday9}));
  host.advance(30 * kMinute);
  CHECK(runs().size() == 1);
  CHECK(stored_next_at(host, "morning") == tuesday9 + kDay);
  // A restart takes the stored time: nothing fires early or again.
  host.restart();
  REQUIRE(host.runtime().check_timers(std::chrono::seconds(10)));
  CHECK(runs().size() == 1);
  host.advance_to(tuesday9 + kDay);
  CHECK(runs() == json::array({tuesday9, tuesday9 + kDay}));
  // Days missed while the host was down fire once, when it starts.
  host.stop();
  host.set_clock(tuesday9 + 4 * kDay + kHour);
  host.restart();
  REQUIRE(host.runtime().check_timers(std::chrono::seconds(10)));
  host.settle();
  CHECK(runs() == json::array({tuesday9, tuesday9 + kDay, tuesday9 + 2 * kDay}));
  CHECK(stored_next_at(host, "morning") == tuesday9 + 5 * kDay);
  const auto executions = host.executions("morning");
  CHECK(executions.size() == 3);
  for (const auto& e : executions) {
    CHECK(e.status == "completed");
    CHECK_FALSE(e.conversation_id);
    CHECK(e.trigger["type"] == "schedule");
  }
}

TEST_CASE("a schedule with profile and tag runs once per contact carrying the tag", "[flows][runtime][timers]") {
  RuntimeHost host(RuntimeHostOptions{.timezone = "Europe/Berlin"});
  host.install("digest.lua", R"(
return {
  id = "digest",
  trigger = {type = "schedule", cron = "0 9 * * *", profile = "p1", tag = "news"},
  main = function(ctx) ctx.send("news for " .. ctx.contact.phone) end,
})");
  host.start();
  for (const char* phone : {"+15550100001", "+15550100002", "+15550100003"}) host.say(phone, "hello");
  host.settle();
  host.db().write([&](sb::store::Connection& c) {
    for (const char* phone : {"+15550100001", "+15550100002"}) {
      const auto contact = sb::store::contacts::find_by_phone(c, kWorkspace, phone);
      flow_effects::add_tag(c, kWorkspace, contact->id, "news", host.now());
    }
  });
  REQUIRE(host.runtime().check_timers(std::chrono::seconds(10)));
  host.advance_to(kT0 + kDay - 2 * kHour);
  CHECK(host.sent_to("+15550100001") == Strings{"news for +15550100001"});
  CHECK(host.sent_to("+15550100002") == Strings{"news for +15550100002"});
  CHECK(host.sent_to("+15550100003").empty());
  host.advance(kHour);
  CHECK(host.executions("digest").size() == 2);
}

TEST_CASE("after a delay ctx.message is still the contact's last message, for Lua flows and graphs",
          "[flows][runtime][timers]") {
  RuntimeHost host;
  // The replay of main after the delay reads ctx.message again: it must be
  // the message it read the first time.
  host.install("later.lua", R"(
return {
  id = "later",
  trigger = {type = "keyword", keywords = {"later"}, match = "starts_with"},
  main = function(ctx)
    local text = ctx.message.text
    ctx.delay(60)
    ctx.send("you said " .. text)
  end,
})");
  host.install("graph.flow.json",
               sb::test::graph_flow(
                   "graph", {{"type", "keyword"}, {"keywords", {"graph"}}, {"match", "starts_with"}},
                   json::array({{{"id", "ask"}, {"type", "ask"}, {"config", {{"text", "Sure?"}, {"variable", "sure"}}}},
                                {{"id", "wait"}, {"type", "delay"}, {"config", {{"seconds", 60}}}},
                                {{"id", "say"}, {"type", "send_text"}, {"config", {{"text", "last: {{message.text}}"}}}}}),
                   {{"ask.reply", "wait"}, {"wait.next", "say"}}));
  host.start();
  host.say("+15550100001", "later please");
  host.say("+15550100002", "graph please");
  host.settle();
  host.say("+15550100002", "yes");
  host.settle();
  host.advance(60 * kSecond);
  CHECK(host.sent_to("+15550100001") == Strings{"you said later please"});
  CHECK(host.sent_to("+15550100002") == Strings{"Sure?", "last: yes"});
  CHECK(host.only_execution("later").status == "completed");
}

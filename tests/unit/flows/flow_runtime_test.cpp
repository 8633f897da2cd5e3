// The flow runtime over the real rooms: per-conversation order under
// concurrency, isolation of runaway flows and slow HTTP calls, and the step
// log an execution keeps.
#include "runtime_test_host.hpp"
#include "support/eventually.hpp"
#include "support/host_process.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <atomic>
#include <future>
#include <thread>

using namespace sb::flows;
using nlohmann::json;
using sb::test::eventually;
using sb::test::graph_flow;
using sb::test::lua_reply_flow;
using sb::test::RuntimeHost;
using sb::test::RuntimeHostOptions;
using Strings = std::vector<std::string>;

namespace {

std::string phone(int i) { return "+1555020" + std::to_string(1000 + i); }

constexpr const char* kSpinGraph = "spin";
std::string spin_flow() {
  return graph_flow(kSpinGraph, {{"type", "keyword"}, {"keywords", {"spin"}}},
                    json::array({{{"id", "loop"}, {"type", "lua"}, {"config", {{"code", "while true do end"}}}}}), {});
}

// A loopback HTTP server whose /slow answers only when the test says so.
class GatedServer {
 public:
  GatedServer() : released_(release_.get_future().share()) {
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      ++requests_;
      released_.wait_for(std::chrono::seconds(20));
      answered_ = true;
      res.set_content(R"({"ok": true})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~GatedServer() {
    open();
    server_.stop();
    thread_.join();
  }
  void open() {
    if (!opened_.exchange(true)) release_.set_value();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int requests() const { return requests_; }
  bool answered() const { return answered_; }

 private:
  httplib::Server server_;
  std::promise<void> release_;
  std::shared_future<void> released_;
  std::atomic<bool> opened_{false};
  std::atomic<int> requests_{0};
  std::atomic<bool> answered_{false};
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST_CASE("messages of one conversation are handled in order, each once, while conversations run in parallel",
          "[flows][runtime]") {
  RuntimeHost host(RuntimeHostOptions{.workers = 4});
  // Every message after the first resumes the conversation's waiting ask: a
  // message handled before the previous one's write committed would find a
  // stale execution, and one handled out of order would answer out of order.
  host.install("echo.lua", R"(
return {
  id = "echo",
  trigger = {type = "message"},
  main = function(ctx)
    while true do
      local answer = ctx.ask(nil, {timeout = 0})
      ctx.send("re: " .. answer.text)
    end
  end,
})");
  host.start();
  constexpr int kConversations = 20, kMessages = 20, kThreads = 4;
  std::vector<std::thread> senders;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      try {
        for (int m = -1; m < kMessages; ++m) {
          for (int c = t; c < kConversations; c += kThreads) {
            host.say(phone(c), m < 0 ? std::string("hello") : std::string("m").append(std::to_string(m)));
          }
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& s : senders) s.join();
  REQUIRE(failures == 0);
  host.settle();

  Strings expected;
  for (int m = 0; m < kMessages; ++m) expected.push_back("re: m" + std::to_string(m));
  for (int c = 0; c < kConversations; ++c) {
    INFO("conversation of " << phone(c));
    CHECK(host.sent_to(phone(c)) == expected);
  }
  const auto executions = host.executions("echo");
  CHECK(executions.size() == kConversations);
  for (const auto& e : executions) CHECK(e.status == "waiting");
  CHECK(host.outbound_count() == kConversations * kMessages);
  const int64_t unhandled = host.db().read([](sb::store::Connection& c) {
    return c.query_one("SELECT COUNT(*) AS n FROM messages WHERE direction = 'in' AND handled = 0")->integer("n");
  });
  CHECK(unhandled == 0);
  CHECK(host.runtime().stats().commit_errors == 0);
}

TEST_CASE("a lua node that never stops fails its execution with the instruction budget and harms nothing else",
          "[flows][runtime]") {
  RuntimeHostOptions options;
  options.limits.instructions = 2'000'000;
  RuntimeHost host(options);
  host.install("spin.flow.json", spin_flow());
  host.install("ping.lua", lua_reply_flow("ping", R"({type = "keyword", keywords = {"ping"}})", "pong"));
  host.start();
  const auto spin = host.say("+15550100001", "spin");
  host.say("+15550100002", "ping");
  host.settle();
  CHECK(host.sent_to("+15550100002") == Strings{"pong"});
  const auto failed = host.only_execution("spin");
  CHECK(failed.status == "failed");
  REQUIRE(failed.error);
  CHECK_THAT(*failed.error, Catch::Contains("node 'loop'") && Catch::Contains("instruction budget exceeded"));
  CHECK(host.handled(spin.message_id));
  CHECK(host.runtime().stats().failed == 1);
  // The worker's Lua state is still good for the next run.
  host.say("+15550100001", "ping");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"pong"});
}

TEST_CASE("another conversation is answered while a runaway flow uses up its time budget", "[flows][runtime]") {
  RuntimeHostOptions options;
  options.limits.instructions = 1'000'000'000'000;  // only the wall clock stops it
  options.limits.wall = std::chrono::milliseconds(3000);
  RuntimeHost host(options);
  host.install("spin.flow.json", spin_flow());
  host.install("ping.lua", lua_reply_flow("ping", R"({type = "keyword", keywords = {"ping"}})", "pong"));
  host.start();
  const auto spin = host.say("+15550100001", "spin");
  host.say("+15550100002", "ping");
  REQUIRE(eventually([&] { return host.sent_to("+15550100002") == Strings{"pong"}; },
                     std::chrono::milliseconds(2500)));
  // The runaway has not finished yet: nothing of it is committed.
  CHECK(host.executions("spin").empty());
  CHECK_FALSE(host.handled(spin.message_id));

  host.settle();
  const auto failed = host.only_execution("spin");
  CHECK(failed.status == "failed");
  REQUIRE(failed.error);
  CHECK_THAT(*failed.error, Catch::Contains("time budget exceeded"));
}

TEST_CASE("a slow HTTP call stalls neither other conversations nor its own, and its flow resumes on the answer",
          "[flows][runtime]") {
  GatedServer server;
  RuntimeHost host;
  host.install("fetch.flow.json",
               graph_flow("fetch", {{"type", "keyword"}, {"keywords", {"fetch"}}},
                          json::array({{{"id", "call"}, {"type", "http_request"},
                                        {"config", {{"url", server.url("/slow")}, {"timeout_seconds", 20}}}},
                                       {{"id", "got"}, {"type", "send_text"},
                                        {"config", {{"text", "got {{vars.http.status}} ok={{vars.http.json.ok}}"}}}}}),
                          {{"call.ok", "got"}}));
  host.install("ping.lua", lua_reply_flow("ping", R"({type = "keyword", keywords = {"ping"}})", "pong"));
  host.start();
  host.say("+15550100001", "fetch");
  REQUIRE(eventually([&] { return server.requests() == 1; }));
  REQUIRE(host.only_execution("fetch").status == "waiting");
  CHECK(host.only_execution("fetch").wait_kind == "http");

  host.say("+15550100002", "ping");
  // A message of the waiting conversation starts another flow meanwhile.
  host.say("+15550100001", "ping");
  REQUIRE(eventually([&] {
    return host.sent_to("+15550100002") == Strings{"pong"} && host.sent_to("+15550100001") == Strings{"pong"};
  }));
  CHECK_FALSE(server.answered());

  server.open();
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"pong", "got 200 ok=true"});
  CHECK(host.only_execution("fetch").status == "completed");
  CHECK(server.requests() == 1);
}

TEST_CASE("an HTTP node whose server is down takes its error port with status 0 and a reason", "[flows][runtime]") {
  const std::string url = "http://127.0.0.1:" + std::to_string(sb::test::free_port()) + "/leads?key=secret";
  RuntimeHost host;
  host.install("call.flow.json",
               graph_flow("call", {{"type", "keyword"}, {"keywords", {"call"}}},
                          json::array({{{"id", "call"}, {"type", "http_request"},
                                        {"config", {{"url", url}, {"timeout_seconds", 2}}}},
                                       {{"id", "up"}, {"type", "send_text"}, {"config", {{"text", "up"}}}},
                                       {{"id", "down"}, {"type", "send_text"},
                                        {"config", {{"text", "down {{vars.http.status}}"}}}}}),
                          {{"call.ok", "up"}, {"call.error", "down"}}));
  host.start();
  host.say("+15550100001", "call");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"down 0"});
  const auto e = host.only_execution("call");
  CHECK(e.status == "completed");
  const json vars = e.state.value("vars", json::object());
  CHECK(vars["http"]["status"] == 0);
  CHECK_FALSE(vars["http"].value("error", "").empty());
  // The step log says where it went, without the URL's query string.
  REQUIRE(e.steps.size() >= 2);
  const json& call = e.steps[e.steps.size() - 2];
  CHECK(call["node"] == "call");
  CHECK(call["port"] == "error");
  CHECK_THAT(call.dump(), !Catch::Contains("key=secret"));
}

TEST_CASE("an execution's step log records node, port, duration, log lines, and a failed node's error and traceback",
          "[flows][runtime]") {
  RuntimeHost host;
  host.install("steps.flow.json",
               graph_flow("steps", {{"type", "keyword"}, {"keywords", {"steps"}}},
                          json::array({{{"id", "greet"}, {"type", "send_text"}, {"config", {{"text", "hi"}}}},
                                       {{"id", "check"}, {"type", "lua"},
                                        {"config", {{"code", "ctx.log('checking ' .. ctx.message.text)\n"
                                                             "ctx.log('warn', 'careful')\n"
                                                             "local function deep() error('boom') end\n"
                                                             "deep()"}}}}}),
                          {{"greet.next", "check"}}));
  host.start();
  host.say("+15550100001", "steps");
  host.settle();
  const auto e = host.only_execution("steps");
  CHECK(e.status == "failed");
  REQUIRE(e.error);
  CHECK_THAT(*e.error, Catch::Contains("node 'check'") && Catch::Contains("boom"));
  CHECK(e.finished_at);
  // What ran before the failure stands.
  CHECK(host.sent_to("+15550100001") == Strings{"hi"});

  REQUIRE(e.steps.size() == 2);
  const json& greet = e.steps[0];
  CHECK(greet["node"] == "greet");
  CHECK(greet["type"] == "send_text");
  CHECK(greet["port"] == "next");
  CHECK(greet["outcome"] == "next");
  CHECK(greet["duration_us"].get<int64_t>() >= 0);
  CHECK(greet["at"] == sb::test::kT0);
  CHECK_FALSE(greet.contains("error"));

  const json& check = e.steps[1];
  CHECK(check["node"] == "check");
  CHECK(check["outcome"] == "error");
  CHECK(check["port"] == "");
  CHECK_THAT(check.value("error", ""), Catch::Contains("boom"));
  CHECK_THAT(check.value("traceback", ""), Catch::Contains("deep"));
  REQUIRE(check.contains("log"));
  CHECK(check["log"] == json::array({"info: checking steps", "warn: careful"}));
}

TEST_CASE("a failed node with an error edge goes on there and the step log shows the port taken", "[flows][runtime]") {
  RuntimeHost host;
  host.install("recover.flow.json",
               graph_flow("recover", {{"type", "keyword"}, {"keywords", {"go"}}},
                          json::array({{{"id", "risky"}, {"type", "lua"}, {"config", {{"code", "error('no luck')"}}}},
                                       {{"id", "sorry"}, {"type", "send_text"}, {"config", {{"text", "sorry"}}}}}),
                          {{"risky.error", "sorry"}}));
  host.start();
  host.say("+15550100001", "go");
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"sorry"});
  const auto e = host.only_execution("recover");
  CHECK(e.status == "completed");
  CHECK_FALSE(e.error);
  REQUIRE(e.steps.size() == 2);
  CHECK(e.steps[0]["node"] == "risky");
  CHECK(e.steps[0]["port"] == "error");
  CHECK_THAT(e.steps[0].value("error", ""), Catch::Contains("no luck"));
  CHECK(e.steps[1]["node"] == "sorry");
}

TEST_CASE("an execution keeps only the newest max_steps_kept entries of its step log", "[flows][runtime]") {
  RuntimeHost host(RuntimeHostOptions{.max_steps_kept = 5});
  host.install("loop.flow.json",
               graph_flow("loop", {{"type", "keyword"}, {"keywords", {"loop"}}},
                          json::array({{{"id", "ask"}, {"type", "ask"}, {"config", {{"variable", "said"}}}},
                                       {{"id", "echo"}, {"type", "send_text"}, {"config", {{"text", "{{vars.said}}"}}}}}),
                          {{"ask.reply", "echo"}, {"echo.next", "ask"}}));
  host.start();
  host.say("+15550100001", "loop");
  for (int i = 1; i <= 6; ++i) host.say("+15550100001", std::string("n").append(std::to_string(i)));
  host.settle();
  CHECK(host.sent_to("+15550100001") == Strings{"n1", "n2", "n3", "n4", "n5", "n6"});
  const auto e = host.only_execution("loop");
  CHECK(e.status == "waiting");
  REQUIRE(e.steps.size() == 5);
  CHECK(e.steps.back()["node"] == "ask");
  CHECK(e.steps.back()["outcome"] == "wait");
  CHECK(e.steps[e.steps.size() - 2]["node"] == "echo");
}

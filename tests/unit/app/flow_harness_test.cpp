// The private host behind `switchboard flow test` and `flow run`, and the
// scripted HTTP server a conversation fixture describes.
#include "app/flow_harness.hpp"
#include "app/scripted_http_server.hpp"
#include "support/error_code.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <string>
#include <vector>

using nlohmann::json;
using sb::app::FlowHarness;
using sb::app::FlowHarnessOptions;
using sb::app::ScriptedHttpServer;
using sb::test::code_of;

namespace {

constexpr int64_t kStart = 1'795'428'000'000;  // 2026-11-23T10:00:00Z

FlowHarnessOptions harness_options() {
  FlowHarnessOptions o;
  o.plugin_paths = {SB_PLUGIN_DIR};
  o.manual_clock_start_ms = kStart;
  o.timezone = "Europe/Berlin";
  return o;
}

std::vector<std::string> texts(const std::vector<sb::store::Message>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.text.value_or(""));
  return out;
}

void install(FlowHarness& harness, const std::string& file, const std::string& text) {
  const auto result = harness.install(file, text);
  INFO(sb::flows::format_problems(result.problems));
  REQUIRE(result.ok());
}

}  // namespace

TEST_CASE("ISO 8601 times and fixture durations parse to milliseconds", "[app][harness]") {
  CHECK(sb::app::parse_iso8601_ms("2026-11-23T10:00:00Z") == kStart);
  CHECK(sb::app::parse_iso8601_ms("2026-11-23T10:00:00.250Z") == kStart + 250);
  CHECK(sb::app::parse_iso8601_ms("2026-11-23T11:00:00+01:00") == kStart);
  CHECK(sb::app::parse_iso8601_ms("1970-01-01T00:00:00Z") == 0);
  CHECK(code_of([] { sb::app::parse_iso8601_ms("2026-11-23 10:00"); }) == sb::ErrorCode::invalid_argument);
  CHECK(code_of([] { sb::app::parse_iso8601_ms("2026-02-30T10:00:00Z"); }) == sb::ErrorCode::invalid_argument);

  CHECK(sb::app::parse_duration_ms("30s") == 30'000);
  CHECK(sb::app::parse_duration_ms("10m") == 600'000);
  CHECK(sb::app::parse_duration_ms("2h") == 7'200'000);
  CHECK(sb::app::parse_duration_ms("1d") == 86'400'000);
  CHECK(sb::app::parse_duration_ms("90") == 90'000);
  CHECK(code_of([] { sb::app::parse_duration_ms("soon"); }) == sb::ErrorCode::invalid_argument);
  CHECK(code_of([] { sb::app::parse_duration_ms("2 weeks"); }) == sb::ErrorCode::invalid_argument);
  CHECK(sb::app::format_duration(7'200'000) == "2h");
  CHECK(sb::app::format_duration(90'000) == "1m30s");
}

TEST_CASE("json_subset matches objects by the keys given and arrays in full", "[app][harness]") {
  const json body = {{"name", "Ada"}, {"tags", {"a", "b"}}, {"n", 1}, {"nested", {{"x", 1}, {"y", 2}}}};
  CHECK(sb::app::json_subset({{"name", "Ada"}}, body));
  CHECK(sb::app::json_subset({{"nested", {{"y", 2}}}, {"n", 1.0}}, body));
  CHECK_FALSE(sb::app::json_subset({{"name", "Grace"}}, body));
  CHECK_FALSE(sb::app::json_subset({{"missing", nullptr}}, body));
  CHECK_FALSE(sb::app::json_subset({{"tags", {"a"}}}, body));
  CHECK(sb::app::json_subset(json::object(), body));
}

TEST_CASE("a message to the harness runs the flow it triggers and the replies come back in the order sent",
          "[app][harness]") {
  FlowHarness harness(harness_options());
  install(harness, "count.lua", R"(
return {
  id = "count",
  trigger = {type = "keyword", keywords = {"count"}},
  main = function(ctx)
    for i = 1, 20 do ctx.send(tostring(i)) end
  end,
})");
  harness.start();
  harness.say("count");
  std::vector<std::string> expected;
  for (int i = 1; i <= 20; ++i) expected.push_back(std::to_string(i));
  CHECK(texts(harness.take_outbound()) == expected);
  CHECK(harness.take_outbound().empty());  // each reply is returned once
  const auto execution = harness.latest_execution();
  REQUIRE(execution);
  CHECK(execution->status == "completed");
  CHECK(harness.conversation_mode() == "bot");
}

TEST_CASE("advancing the clock fires waits one deadline at a time, each at its own time", "[app][harness]") {
  FlowHarness harness(harness_options());
  install(harness, "waits.lua", R"(
return {
  id = "waits",
  trigger = {type = "keyword", keywords = {"go"}},
  main = function(ctx)
    ctx.delay(3600)
    ctx.send("delay over at " .. ctx.now())
    local answer = ctx.ask("still there?", {timeout = 600})
    if answer.timeout then ctx.send("timed out at " .. ctx.now()) end
  end,
})");
  harness.start();
  harness.say("go");
  CHECK(harness.take_outbound().empty());
  CHECK(harness.latest_execution()->status == "waiting");

  // One jump past both: the ask's timeout is armed by the delay's end.
  harness.advance(2 * 3'600'000);
  CHECK(texts(harness.take_outbound()) ==
        std::vector<std::string>{"delay over at " + std::to_string(kStart + 3'600'000), "still there?",
                                 "timed out at " + std::to_string(kStart + 4'200'000)});
  CHECK(harness.latest_execution()->status == "completed");
  CHECK(harness.now() == kStart + 2 * 3'600'000);
}

TEST_CASE("the harness's data directory is gone once it is destroyed", "[app][harness]") {
  std::filesystem::path dir;
  {
    FlowHarness harness(harness_options());
    dir = harness.data_dir();
    CHECK(std::filesystem::exists(dir / "switchboard.db"));
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("a harness refuses an unknown time zone and plugin folders without the plugins it needs",
          "[app][harness]") {
  auto bad_zone = harness_options();
  bad_zone.timezone = "Mars/Olympus";
  CHECK(code_of([&] { FlowHarness h(bad_zone); }) == sb::ErrorCode::invalid_argument);
  auto no_plugins = harness_options();
  no_plugins.plugin_paths = {std::filesystem::temp_directory_path() / "sb-no-plugins-here"};
  CHECK(code_of([&] { FlowHarness h(no_plugins); }) == sb::ErrorCode::unavailable);
}

TEST_CASE("the scripted HTTP server answers in order and records what did not match", "[app][harness]") {
  ScriptedHttpServer server(json::parse(R"([
    {"method": "POST", "path": "/leads", "status": 201, "json": {"id": "lead_1"}, "expect_json": {"email": "ada@example.com"}},
    {"method": "GET", "path": "/status", "body": "fine"}
  ])"));
  httplib::Client client(server.base_url());
  auto first = client.Post("/leads", R"({"email": "grace@example.com", "name": "Grace"})", "application/json");
  REQUIRE(first);
  CHECK(first->status == 201);
  CHECK(json::parse(first->body) == json{{"id", "lead_1"}});
  auto second = client.Get("/other");
  REQUIRE(second);
  CHECK(second->body == "fine");
  auto third = client.Get("/status");
  REQUIRE(third);
  CHECK(third->status == 500);

  const auto failures = server.take_failures();
  REQUIRE(failures.size() == 3);
  CHECK(failures[0].find("expected the JSON body to hold {\"email\":\"ada@example.com\"}") != std::string::npos);
  CHECK(failures[1].find("expected GET /status, got GET /other") != std::string::npos);
  CHECK(failures[2].find("unexpected HTTP request GET /status") != std::string::npos);
  CHECK(server.answered() == 2);
  CHECK(server.take_failures().empty());
}

TEST_CASE("a scripted HTTP entry with an unknown field is refused before the test runs", "[app][harness]") {
  CHECK(code_of([] { ScriptedHttpServer s(json::parse(R"([{"method": "GET", "path": "/x", "reply": 1}])")); }) ==
        sb::ErrorCode::invalid_argument);
  CHECK(code_of([] { ScriptedHttpServer s(json::parse(R"([{"method": "GET", "path": "x"}])")); }) ==
        sb::ErrorCode::invalid_argument);
}

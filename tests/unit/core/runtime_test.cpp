#include "core/error.hpp"
#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/scheduler.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

using namespace sb;
using namespace std::chrono_literals;

TEST_CASE("ids are unique, prefixed and sort by creation time", "[core]") {
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 2000; ++i) {
    const auto id = new_id("msg");
    REQUIRE(id.rfind("msg_", 0) == 0);
    REQUIRE(id.size() == 4 + 26);
    REQUIRE(seen.insert(id).second);
    if (i % 500 == 0) {
      std::this_thread::sleep_for(2ms);
      if (!previous.empty()) CHECK(previous < id);
      previous = id;
    }
  }
  CHECK(iso8601(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso8601(1700000000123) == "2023-11-14T22:13:20.123Z");
}

TEST_CASE("errors map to HTTP statuses and carry the API's error shape", "[core]") {
  const Error e(ErrorCode::not_found, "no such profile", {{"id", "p1"}});
  CHECK(http_status(e.code()) == 404);
  const auto j = e.to_json();
  CHECK(j["error"]["code"] == "not_found");
  CHECK(j["error"]["message"] == "no such profile");
  CHECK(j["error"]["details"]["id"] == "p1");
  CHECK(http_status(ErrorCode::payload_too_large) == 413);
  CHECK(http_status(ErrorCode::unsupported_media_type) == 415);
  CHECK(http_status(ErrorCode::plugin_error) == 502);
}

TEST_CASE("the event bus delivers to exact and wildcard subscribers until they unsubscribe", "[core]") {
  EventBus bus;
  int exact = 0, any = 0;
  {
    auto s1 = bus.subscribe("message.received", [&](const Event&) { ++exact; });
    auto s2 = bus.subscribe("*", [&](const Event&) { ++any; });
    auto s3 = bus.subscribe("message.received", [](const Event&) { throw std::runtime_error("boom"); });
    bus.publish(Event{"message.received", "w", "p", {}, 0});
    bus.publish(Event{"session.status", "w", "p", {}, 0});
  }
  bus.publish(Event{"message.received", "w", "p", {}, 0});
  CHECK(exact == 1);
  CHECK(any == 2);
}

TEST_CASE("scheduler timers fire once, and a cancelled timer never fires", "[core]") {
  Scheduler scheduler(2);
  std::atomic<int> fired{0}, cancelled{0};
  scheduler.schedule(10ms, [&] { fired++; });
  const auto id = scheduler.schedule(200ms, [&] { cancelled++; });
  CHECK(scheduler.cancel(id));
  CHECK_FALSE(scheduler.cancel(id));
  std::atomic<bool> posted{false};
  scheduler.post([&] { posted = true; });
  std::this_thread::sleep_for(300ms);
  CHECK(fired == 1);
  CHECK(cancelled == 0);
  CHECK(posted);
}

TEST_CASE("cancelling a running timer waits for its callback to finish", "[core]") {
  Scheduler scheduler(2);
  std::atomic<bool> started{false}, finished{false};
  const auto id = scheduler.schedule(0ms, [&] {
    started = true;
    std::this_thread::sleep_for(100ms);
    finished = true;
  });
  while (!started) std::this_thread::sleep_for(1ms);
  CHECK_FALSE(scheduler.cancel(id));
  CHECK(finished);
}

TEST_CASE("secrets in a plugin config are redacted before logging", "[core]") {
  const nlohmann::json schema = {
      {"type", "object"},
      {"properties",
       {{"token", {{"type", "string"}, {"secret", true}}},
        {"url", {{"type", "string"}}},
        {"auth", {{"type", "object"}, {"properties", {{"password", {{"secret", true}}}}}}}}}};
  const nlohmann::json config = {{"token", "EAAB-very-secret"}, {"url", "https://x"}, {"auth", {{"password", "pw"}}}};
  const auto safe = redact_config(config, schema);
  CHECK(safe["token"] == "***");
  CHECK(safe["url"] == "https://x");
  CHECK(safe["auth"]["password"] == "***");
  CHECK(safe.dump().find("very-secret") == std::string::npos);
}

TEST_CASE("log levels and formats are validated", "[core]") {
  CHECK(parse_log_level("debug") == spdlog::level::debug);
  CHECK_THROWS_AS(parse_log_level("loud"), Error);
  CHECK_THROWS_AS(init_logging(LogOptions{"info", "xml"}), Error);
  CHECK_NOTHROW(init_logging(LogOptions{"warn", "json"}));
  CHECK_NOTHROW(init_logging(LogOptions{"warn", "human"}));
}

// Calling a channel through the loader: results are checked, a plugin's
// error message reaches the caller, a failure without one is reported as a
// plugin bug, and an instance's hooks and timers end with it.
#include "plugin_test_host.hpp"

#include "plugins/plugin_error.hpp"

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;
using nlohmann::json;
using sb::test::PluginTestHost;
using sb::test::RecordedEvent;
using sb::test::test_plugin_dir;

namespace {

const json kMessage = {{"message_id", "msg-1"}, {"idempotency_key", "k-1"}, {"to", "+15551234567"},
                       {"type", "text"},        {"text", "hello"}};

}  // namespace

TEST_CASE("a plain C channel answers send, status and capabilities", "[plugins][channel]") {
  PluginTestHost host({test_plugin_dir()});
  auto channel = host.registry.create_channel("good-c-channel", "p1", json::object());
  CHECK(channel->plugin_id() == "good-c-channel");
  CHECK(channel->instance_id() == "p1");
  CHECK(channel->send(kMessage) == json{{"external_id", "fx-1"}});
  CHECK(channel->send(kMessage) == json{{"external_id", "fx-2"}});
  CHECK(channel->status().at("status") == "CONNECTED");
  CHECK(channel->capabilities().at("groups") == false);
  CHECK_NOTHROW(channel->connect());
  CHECK_NOTHROW(channel->disconnect());
}

TEST_CASE("a failing create surfaces the plugin's own message", "[plugins][channel]") {
  PluginTestHost host({test_plugin_dir()});
  try {
    host.registry.create_channel("create-fails", "p1", json::object());
    FAIL("create should have failed");
  } catch (const sb::plugins::PluginError& e) {
    CHECK(e.status() == SB_ERR_INVALID_ARGUMENT);
    CHECK(e.plugin_id() == "create-fails");
    CHECK_THAT(e.what(), Contains("create-fails") && Contains("API token was rejected by the fake service"));
  }
}

TEST_CASE("routes registered by a create that then failed are removed", "[plugins][channel][hooks]") {
  PluginTestHost host({test_plugin_dir()});
  CHECK_THROWS(host.registry.create_channel("create-fails", "p1", json::object()));
  try {
    host.hook("create-fails", "p1", "GET", "ping");
    FAIL("the failed instance's route should be gone");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::not_found);
  }
}

TEST_CASE("malformed JSON from send is a plugin_error naming the plugin", "[plugins][channel]") {
  PluginTestHost host({test_plugin_dir()});
  auto channel = host.registry.create_channel("send-malformed", "p1", json::object());
  try {
    channel->send(kMessage);
    FAIL("send should have thrown");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::plugin_error);
    CHECK_THAT(e.what(), Contains("send-malformed") && Contains("malformed JSON"));
  }
}

TEST_CASE("a send that fails without set_error is reported as a plugin bug", "[plugins][channel]") {
  PluginTestHost host({test_plugin_dir()});
  auto channel = host.registry.create_channel("send-silent", "p1", json::object());
  try {
    channel->send(kMessage);
    FAIL("send should have thrown");
  } catch (const sb::plugins::PluginError& e) {
    CHECK(e.status() == SB_ERR_INTERNAL);
    CHECK(e.plugin_id() == "send-silent");
    CHECK_FALSE(e.transient());
    CHECK_THAT(e.what(), Contains("send-silent") && Contains("plugin bug"));
  }
}

TEST_CASE("an instance's hook routes answer while it lives", "[plugins][channel][hooks]") {
  PluginTestHost host({test_plugin_dir()});
  auto channel = host.registry.create_channel("good-c-channel", "p1", json::object());
  auto pong = host.hook("good-c-channel", "p1", "GET", "ping");
  CHECK(pong.status == 200);
  CHECK(json::parse(pong.body) == json{{"pong", true}, {"instance", "p1"}});

  auto echo = host.hook("good-c-channel", "p1", "POST", "echo", R"({"a":1})");
  CHECK(echo.body == R"({"a":1})");

  try {
    host.hook("good-c-channel", "p1", "DELETE", "ping");
    FAIL("DELETE ping is not registered");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::method_not_allowed);
  }
  try {
    host.hook("good-c-channel", "p2", "GET", "ping");
    FAIL("there is no instance p2");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::not_found);
  }
}

TEST_CASE("destroying an instance removes its hook routes", "[plugins][channel][hooks]") {
  PluginTestHost host({test_plugin_dir()});
  auto first = host.registry.create_channel("good-c-channel", "p1", json::object());
  auto second = host.registry.create_channel("good-c-channel", "p2", json::object());
  REQUIRE(host.hook("good-c-channel", "p1", "GET", "ping").status == 200);

  first.reset();
  try {
    host.hook("good-c-channel", "p1", "GET", "ping");
    FAIL("the destroyed instance's route should be gone");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::not_found);
  }
  // Another instance of the same plugin keeps its routes.
  CHECK(host.hook("good-c-channel", "p2", "GET", "ping").status == 200);
}

TEST_CASE("destroying an instance waits for its timer callback that is running", "[plugins][channel][timers]") {
  PluginTestHost host({test_plugin_dir()});
  auto channel = host.registry.create_channel("good-c-channel", "p1", json::object());
  REQUIRE(host.hook("good-c-channel", "p1", "POST", "slow-timer").status == 202);
  // The callback is now inside its 300 ms sleep.
  REQUIRE(host.sink.wait_for_count("fixture.timer_started", 1));

  channel.reset();
  // Had destroy not waited, the callback would still be sleeping on a freed
  // instance and its "done" event would not be there yet.
  CHECK(host.sink.events_of("fixture.timer_done").size() == 1);
}

// An instance's config is checked against the manifest's schema before the
// plugin sees it: unknown keys and wrong types are refused with the path that
// failed, and defaults are filled in.
#include "plugin_test_host.hpp"

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;
using nlohmann::json;
using sb::test::PluginTestHost;
using sb::test::test_plugin_dir;

namespace {

// The sb::Error that creating a config-channel with `config` throws.
sb::Error config_error(PluginTestHost& host, const json& config) {
  try {
    host.registry.create_channel("config-channel", "p1", config);
  } catch (const sb::Error& e) {
    return e;
  }
  FAIL("config " << config.dump() << " should have been refused");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("defaults are filled in before the plugin's create sees the config", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  auto channel = host.registry.create_channel("config-channel", "p1", {{"api_token", "t0k"}});
  const json expected = {{"api_token", "t0k"}, {"mode", "test"}, {"retries", 3}, {"options", {{"verbose", false}}}};
  CHECK(channel->config() == expected);
  // The fixture reports the config it was created with.
  CHECK(channel->status().at("config") == expected);
}

TEST_CASE("values given in the config are kept over defaults", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  auto channel = host.registry.create_channel(
      "config-channel", "p1", {{"api_token", "t"}, {"mode", "live"}, {"retries", 0}, {"options", {{"verbose", true}}}});
  CHECK(channel->config().at("mode") == "live");
  CHECK(channel->config().at("retries") == 0);
  CHECK(channel->config().at("options").at("verbose") == true);
}

TEST_CASE("an unknown config key is refused, naming the key and the plugin", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  auto e = config_error(host, {{"api_token", "t"}, {"colour", "blue"}});
  CHECK(e.code() == sb::ErrorCode::invalid_argument);
  CHECK_THAT(e.what(), Contains("config-channel") && Contains("colour"));
}

TEST_CASE("an unknown key in a nested object is refused too", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  auto e = config_error(host, {{"api_token", "t"}, {"options", {{"verbos", true}}}});
  CHECK(e.code() == sb::ErrorCode::invalid_argument);
  CHECK_THAT(e.what(), Contains("verbos"));
}

TEST_CASE("a value of the wrong type is refused, naming its path", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  auto e = config_error(host, {{"api_token", "t"}, {"retries", "three"}});
  CHECK(e.code() == sb::ErrorCode::invalid_argument);
  CHECK_THAT(e.what(), Contains("retries"));

  auto nested = config_error(host, {{"api_token", "t"}, {"options", {{"verbose", "yes"}}}});
  CHECK_THAT(nested.what(), Contains("options") && Contains("verbose"));
}

TEST_CASE("a value outside the enum is refused, naming its path", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  auto e = config_error(host, {{"api_token", "t"}, {"mode", "staging"}});
  CHECK(e.code() == sb::ErrorCode::invalid_argument);
  CHECK_THAT(e.what(), Contains("mode"));
}

TEST_CASE("a missing required key is refused, naming it", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  auto e = config_error(host, json::object());
  CHECK(e.code() == sb::ErrorCode::invalid_argument);
  CHECK_THAT(e.what(), Contains("api_token"));
}

TEST_CASE("a config that is not a JSON object is refused", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  auto e = config_error(host, json::array({1, 2}));
  CHECK(e.code() == sb::ErrorCode::invalid_argument);
  CHECK_THAT(e.what(), Contains("config-channel"));
}

TEST_CASE("a refused config never reaches the plugin: no instance, no routes", "[plugins][config]") {
  PluginTestHost host({test_plugin_dir()});
  config_error(host, {{"colour", "blue"}});
  CHECK_THROWS_AS(host.hook("config-channel", "p1", "GET", "ping"), sb::Error);
}

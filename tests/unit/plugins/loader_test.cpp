// Discovery and loading: every plugin found is listed; a broken one is
// skipped with a reason that names it, its file and what is wrong.
#include "plugin_test_host.hpp"

#include <switchboard/plugin.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

using Catch::Matchers::Contains;
using sb::test::PluginTestHost;
using sb::test::test_plugin_dir;

namespace {

const std::string kHostAbi =
    std::to_string(SB_ABI_VERSION_MAJOR) + "." + std::to_string(SB_ABI_VERSION_MINOR);

// Discovers the fixtures once per test and returns what is listed for `id`.
sb::plugins::PluginInfo listed(PluginTestHost& host, const std::string& id) {
  auto info = host.info(id);
  INFO("plugin " << id << " should be listed");
  REQUIRE(info.has_value());
  return *info;
}

void require_refused(PluginTestHost& host, const std::string& id, const std::string& reason) {
  auto info = listed(host, id);
  INFO(id << ": " << info.error);
  CHECK_FALSE(info.loaded);
  CHECK_FALSE(host.registry.loaded(id));
  CHECK_THAT(info.error, Contains(id));
  CHECK_THAT(info.error, Contains(reason, Catch::CaseSensitive::No));
}

}  // namespace

TEST_CASE("every plugin folder found is listed, whether it loaded or not", "[plugins][loader]") {
  PluginTestHost host({test_plugin_dir()});
  for (const char* id : {"good-c-channel", "config-channel", "create-fails", "send-malformed", "send-silent",
                         "abi-major-2", "abi-minor-too-new", "abi-lying-manifest", "missing-symbol", "small-table",
                         "id-mismatch", "bad-not-json", "bad-missing-fields", "bad-unknown-kind",
                         "bad-no-config-schema", "bad-library-missing"}) {
    INFO(id);
    CHECK(host.info(id).has_value());
  }
}

TEST_CASE("a plugin's load error names its folder, so an admin can find it", "[plugins][loader]") {
  PluginTestHost host({test_plugin_dir()});
  for (const auto& info : host.registry.list()) {
    if (info.loaded) continue;
    INFO(info.id << ": " << info.error);
    CHECK_FALSE(info.error.empty());
    CHECK_THAT(info.error, Contains(info.manifest_file.parent_path().string()));
  }
}

TEST_CASE("good plugins load and are listed with kind, version and ABI", "[plugins][loader]") {
  PluginTestHost host({test_plugin_dir()});
  // Those that break only when called load fine.
  for (const char* id : {"good-c-channel", "config-channel", "create-fails", "send-malformed", "send-silent"}) {
    auto info = listed(host, id);
    INFO(id << ": " << info.error);
    CHECK(info.loaded);
    CHECK(info.error.empty());
    CHECK(info.kind == "channel");
    CHECK(info.version == "1.0.0");
    CHECK(info.abi == "1.0");
    CHECK(host.registry.loaded(id));
  }
}

TEST_CASE("a manifest that is not JSON is refused before any code is loaded", "[plugins][loader][manifest]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "bad-not-json", "not valid JSON");
  CHECK_THAT(listed(host, "bad-not-json").error, Contains("plugin.json"));
}

TEST_CASE("a manifest missing required fields names each one", "[plugins][loader][manifest]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "bad-missing-fields", "missing");
  auto error = listed(host, "bad-missing-fields").error;
  for (const char* field : {"\"version\"", "\"kind\"", "\"abi\"", "\"library\""}) CHECK_THAT(error, Contains(field));
}

TEST_CASE("a manifest with an unknown kind is refused, quoting the kind", "[plugins][loader][manifest]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "bad-unknown-kind", "teleporter");
  CHECK_THAT(listed(host, "bad-unknown-kind").error, Contains("\"kind\""));
}

TEST_CASE("a manifest without a config schema is refused", "[plugins][loader][manifest]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "bad-no-config-schema", "\"config\"");
}

TEST_CASE("a manifest naming a library that does not exist is refused, naming the file", "[plugins][loader]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "bad-library-missing", "does not exist");
  CHECK_THAT(listed(host, "bad-library-missing").error, Contains("libbad-library-missing.so"));
}

TEST_CASE("a library without sb_plugin_init is refused, naming the symbol", "[plugins][loader]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "missing-symbol", SB_PLUGIN_INIT_SYMBOL);
}

TEST_CASE("a plugin built for ABI major 2 is refused, naming both ABIs", "[plugins][loader][abi]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "abi-major-2", "2.0");
  CHECK_THAT(listed(host, "abi-major-2").error, Contains(kHostAbi));
}

TEST_CASE("a plugin needing a newer minor ABI than the host's is refused, naming both", "[plugins][loader][abi]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "abi-minor-too-new", "1.99");
  CHECK_THAT(listed(host, "abi-minor-too-new").error, Contains(kHostAbi));
}

TEST_CASE("the library's own ABI version is checked even when plugin.json claims 1.0", "[plugins][loader][abi]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "abi-lying-manifest", "2.0");
  CHECK_THAT(listed(host, "abi-lying-manifest").error, Contains(kHostAbi));
}

TEST_CASE("a channel table too small for the required callbacks is refused", "[plugins][loader][abi]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "small-table", "table");
  auto error = listed(host, "small-table").error;
  CHECK_THAT(error, Contains(std::to_string(offsetof(sb_channel_api, send))));
}

TEST_CASE("a library whose descriptor id differs from plugin.json is refused", "[plugins][loader]") {
  PluginTestHost host({test_plugin_dir()});
  require_refused(host, "id-mismatch", "someone-else");
}

TEST_CASE("creating an instance of a plugin that did not load says why", "[plugins][loader]") {
  PluginTestHost host({test_plugin_dir()});
  try {
    host.registry.create_channel("missing-symbol", "p1", nlohmann::json::object());
    FAIL("create_channel should have thrown");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::not_found);
    CHECK_THAT(e.what(), Contains("missing-symbol") && Contains(SB_PLUGIN_INIT_SYMBOL));
  }
  try {
    host.registry.create_channel("no-such-plugin", "p1", nlohmann::json::object());
    FAIL("create_channel should have thrown");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::not_found);
    CHECK_THAT(e.what(), Contains("no-such-plugin"));
  }
}

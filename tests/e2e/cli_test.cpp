// The `switchboard` command line, run as a real process.
#include "support/temp_dir.hpp"

#include "support/run_cli.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <switchboard/plugin.h>

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace {

sb::test::CliOutput run(const std::string& args, const std::string& shell_input = "") {
  return sb::test::run_switchboard(args, shell_input);
}

}  // namespace

TEST_CASE("plugins list run from the build tree finds the first-party plugins and says they loaded", "[e2e][cli]") {
  const auto out = run("plugins list --json");
  INFO(out.text);
  REQUIRE(out.status == 0);
  const auto list = nlohmann::json::parse(out.text);
  bool sandbox = false, sqlite = false;
  for (const auto& p : list) {
    if (p["id"] == "channel-sandbox") sandbox = p["loaded"].get<bool>() && p["kind"] == "channel";
    if (p["id"] == "storage-sqlite") sqlite = p["loaded"].get<bool>() && p["kind"] == "storage";
    // First-party plugins are built with this SDK: the host's own ABI.
    CHECK(p["abi"] == std::to_string(SB_ABI_VERSION_MAJOR) + "." + std::to_string(SB_ABI_VERSION_MINOR));
  }
  CHECK(sandbox);
  CHECK(sqlite);
}

TEST_CASE("plugins list shows a broken plugin with its reason and still lists the good ones", "[e2e][cli]") {
  const auto out = run(std::string("plugins list --plugin-path ") + SB_PLUGIN_DIR + ":" + SB_TEST_PLUGIN_DIR);
  INFO(out.text);
  REQUIRE(out.status == 0);
  CHECK(out.text.find("channel-sandbox") != std::string::npos);
  CHECK(out.text.find("NOT LOADED") != std::string::npos);
}

TEST_CASE("plugins check creates and destroys an instance, and refuses a config that fails the schema",
          "[e2e][cli]") {
  const auto ok = run("plugins check channel-sandbox");
  INFO(ok.text);
  CHECK(ok.status == 0);
  CHECK(ok.text.find("\"created\": true") != std::string::npos);

  const auto bad = run("plugins check channel-sandbox --config '{\"no_such_key\": 1}'");
  INFO(bad.text);
  CHECK(bad.status != 0);
  CHECK(bad.text.find("no_such_key") != std::string::npos);
}

TEST_CASE("unknown commands and options are refused with a message and a non-zero status", "[e2e][cli]") {
  const auto out = run("frobnicate");
  CHECK(out.status != 0);
  CHECK(out.text.find("unknown command") != std::string::npos);
  const auto opt = run("serve --bogus");
  CHECK(opt.status != 0);
  CHECK(opt.text.find("unknown option") != std::string::npos);
}

TEST_CASE("serve refuses a configuration file with an unknown key, naming the key", "[e2e][cli]") {
  sb::test::TempDir dir("sb-cli");
  {
    FILE* f = fopen((dir / "bad.json").c_str(), "w");
    fputs(R"({"listen": "127.0.0.1:0", "colour": "blue"})", f);
    fclose(f);
  }
  const auto out = run("serve --config " + (dir / "bad.json").string());
  CHECK(out.status != 0);
  CHECK(out.text.find("colour") != std::string::npos);
}

TEST_CASE("serve refuses storage settings that fail the storage plugin's schema, naming the setting", "[e2e][cli]") {
  sb::test::TempDir dir;
  {
    FILE* f = fopen((dir / "bad.json").c_str(), "w");
    fprintf(f, R"({"listen": "127.0.0.1:0", "data_dir": "%s", "storage": {"synchronous": "SOMETIMES"}})",
            (dir / "data").c_str());
    fclose(f);
  }
  const auto out = run("serve --config " + (dir / "bad.json").string());
  INFO(out.text);
  CHECK(out.status != 0);
  CHECK(out.text.find("storage-sqlite") != std::string::npos);
  CHECK(out.text.find("synchronous") != std::string::npos);
}

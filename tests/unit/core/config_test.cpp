#include "core/config.hpp"
#include "core/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>

using namespace sb;

namespace {
EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values](const char* name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST_CASE("config defaults serve the embedded demo on loopback", "[core]") {
  const Config c = load_config(std::nullopt, env_of({}));
  CHECK(c.data_dir == "data");
  CHECK(c.listen_host == "127.0.0.1");
  CHECK(c.listen_port == 8080);
  CHECK(c.demo);
  CHECK(c.storage_plugin == "storage-sqlite");
  CHECK(c.plugin_paths.empty());
}

TEST_CASE("environment overrides win over the config file", "[core]") {
  test::TempDir dir;
  {
    std::ofstream f(dir / "c.json");
    f << R"({"data_dir": "/from/file", "listen": "0.0.0.0:9000", "log": {"level": "debug", "format": "json"},
             "http_threads": 16, "plugin_paths": ["/a"]})";
  }
  const Config c = load_config(dir / "c.json", env_of({{"SWITCHBOARD_DATA_DIR", "/from/env"},
                                                       {"SWITCHBOARD_LISTEN", "127.0.0.2:7000"},
                                                       {"SWITCHBOARD_PLUGIN_PATH", "/x:/y::/z"},
                                                       {"SWITCHBOARD_LOG_LEVEL", "warn"}}));
  CHECK(c.data_dir == "/from/env");
  CHECK(c.listen_host == "127.0.0.2");
  CHECK(c.listen_port == 7000);
  CHECK(c.plugin_paths == std::vector<std::filesystem::path>{"/x", "/y", "/z"});
  CHECK(c.log.level == "warn");
  CHECK(c.log.format == "json");
  CHECK(c.http_threads == 16);
  REQUIRE(c.source);
}

TEST_CASE("SWITCHBOARD_CONFIG names the config file when none is given", "[core]") {
  test::TempDir dir;
  {
    std::ofstream f(dir / "c.json");
    f << R"({"demo": false})";
  }
  const Config c = load_config(std::nullopt, env_of({{"SWITCHBOARD_CONFIG", (dir / "c.json").string()}}));
  CHECK_FALSE(c.demo);
}

TEST_CASE("bad configuration is refused with a message naming the key and the file", "[core]") {
  test::TempDir dir;
  auto refuse = [&](const std::string& text, const std::string& needle) {
    {
      std::ofstream f(dir / "bad.json");
      f << text;
    }
    try {
      load_config(dir / "bad.json", env_of({}));
      FAIL("accepted: " << text);
    } catch (const Error& e) {
      INFO(e.what());
      CHECK(e.code() == ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
      CHECK(std::string(e.what()).find("bad.json") != std::string::npos);
    }
  };
  refuse(R"({"colour": 1})", "colour");
  refuse(R"({"listen": "nohost"})", "listen");
  refuse(R"({"listen": "h:99999"})", "listen");
  refuse(R"({"http_threads": "many"})", "http_threads");
  refuse(R"({"log": {"level": "loud"}})", "loud");
  refuse(R"({"log": {"format": "xml"}})", "log.format");
  refuse(R"([1])", "JSON object");
  refuse(R"({oops)", "not valid JSON");
  CHECK_THROWS_AS(load_config(dir / "missing.json", env_of({})), Error);
  CHECK_THROWS_AS(load_config(std::nullopt, env_of({{"SWITCHBOARD_LISTEN", "x"}})), Error);
  CHECK_THROWS_AS(load_config(std::nullopt, env_of({{"SWITCHBOARD_LOG_LEVEL", "chatty"}})), Error);
}

TEST_CASE("the storage plugin's settings pass through the config file as an object", "[core]") {
  test::TempDir dir;
  {
    std::ofstream f(dir / "c.json");
    f << R"({"storage": {"synchronous": "FULL"}})";
  }
  const Config c = load_config(dir / "c.json", env_of({}));
  CHECK(c.storage["synchronous"] == "FULL");
  {
    std::ofstream f(dir / "bad.json");
    f << R"({"storage": "FULL"})";
  }
  CHECK_THROWS_AS(load_config(dir / "bad.json", env_of({})), Error);
}

TEST_CASE("flow settings come from the config file and SWITCHBOARD_FLOWS_DIR, within their ranges", "[core]") {
  test::TempDir dir;
  {
    std::ofstream f(dir / "c.json");
    f << R"({"flows_dir": "/srv/flows", "flow_workers": 8, "flow_instructions": 500000, "flow_time_ms": 250,
            "flow_memory_mib": 16, "flow_retention_days": 7})";
  }
  Config c = load_config(dir / "c.json", env_of({}));
  CHECK(c.flows_dir == std::filesystem::path("/srv/flows"));
  CHECK(c.flow_workers == 8);
  CHECK(c.flow_instructions == 500000);
  CHECK(c.flow_time_ms == 250);
  CHECK(c.flow_memory_mib == 16);
  CHECK(c.flow_retention_days == 7);
  c = load_config(dir / "c.json", env_of({{"SWITCHBOARD_FLOWS_DIR", "/etc/flows"}}));
  CHECK(c.flows_dir == std::filesystem::path("/etc/flows"));
  CHECK_FALSE(load_config(std::nullopt, env_of({})).flows_dir.has_value());  // <data_dir>/flows
  for (const char* bad : {R"({"flow_workers": 0})", R"({"flow_memory_mib": 1})", R"({"flows_dir": 3})"}) {
    {
      std::ofstream f(dir / "bad.json");
      f << bad;
    }
    INFO(bad);
    CHECK_THROWS_AS(load_config(dir / "bad.json", env_of({})), Error);
  }
}

TEST_CASE("security settings come from the file and the seed documents' environment names", "[core]") {
  Config c;
  apply_config_json(c, {{"security", {{"key_rate", 5}, {"cors_origins", {"https://a.example.com"}},
                                      {"password_cost", "min"}, {"access_token_ttl_s", 60}}}},
                    "test.json");
  CHECK(c.security.key_rate == 5);
  CHECK(c.security.cors_origins == std::vector<std::string>{"https://a.example.com"});
  CHECK(c.security.access_token_ttl_s == 60);
  CHECK_FALSE(c.security.engine_api_key.has_value());

  const Config from_env = load_config(std::nullopt, env_of({{"ENGINE_API_KEY", "master"},
                                                            {"WORKFLOW_ENGINE_INTERNAL_PSK", "psk"},
                                                            {"SWITCHBOARD_SECRETS_KEY", ""}}));
  CHECK(from_env.security.engine_api_key == "master");
  CHECK(from_env.security.internal_psk == "psk");
  CHECK_FALSE(from_env.security.secrets_key.has_value());  // empty counts as unset

  CHECK_THROWS_WITH(apply_config_json(c, {{"security", {{"keyrate", 5}}}}, "test.json"),
                    Catch::Contains("test.json") && Catch::Contains("security.keyrate"));
  CHECK_THROWS_WITH(apply_config_json(c, {{"security", {{"password_cost", "cheap"}}}}, "test.json"),
                    Catch::Contains("security.password_cost"));
  CHECK_THROWS_WITH(apply_config_json(c, {{"security", {{"key_rate", -1}}}}, "test.json"),
                    Catch::Contains("security.key_rate"));
}

#pragma once
// Host configuration: defaults, then an optional JSON file, then environment
// overrides (SWITCHBOARD_DATA_DIR, SWITCHBOARD_LISTEN, SWITCHBOARD_PLUGIN_PATH,
// SWITCHBOARD_LOG_LEVEL, SWITCHBOARD_LOG_FORMAT, SWITCHBOARD_CONFIG).
// docs/operations.md lists every key.
#include "core/log.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sb {

struct Config {
  std::filesystem::path data_dir = "data";        // holds switchboard.db, blobs, keys
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::vector<std::filesystem::path> plugin_paths;  // empty: next to the executable
  LogOptions log;
  unsigned http_threads = 128;           // each keep-alive connection holds one
  size_t max_body_bytes = 1024 * 1024;   // request bodies above this get 413
  unsigned scheduler_threads = 2;
  unsigned db_readers = 4;               // read connections in the pool
  bool demo = true;                      // seed the demo workspace and profile "demo"
  // Flows: files under flows_dir/<workspace id>/ (default <data_dir>/flows),
  // run by flow_workers workers (each with its own Lua state).
  std::optional<std::filesystem::path> flows_dir;
  unsigned flow_workers = 4;
  uint64_t flow_instructions = 10'000'000;  // per run segment
  unsigned flow_time_ms = 5000;             // wall clock per run segment
  unsigned flow_memory_mib = 64;            // per Lua state
  unsigned flow_retention_days = 30;        // finished executions and their step logs
  std::string storage_plugin = "storage-sqlite";
  // The storage plugin's own config (validated against its plugin.json);
  // "path" defaults to <data_dir>/switchboard.db.
  nlohmann::json storage = nlohmann::json::object();

  // The file the config was read from, if any (for messages).
  std::optional<std::filesystem::path> source;
};

using EnvLookup = std::function<std::optional<std::string>(const char*)>;

// The process environment.
std::optional<std::string> process_env(const char* name);

// Defaults <- `file` (if given, else $SWITCHBOARD_CONFIG if set) <- environment.
// Throws sb::Error(invalid_argument) naming the key and the file on bad input.
Config load_config(const std::optional<std::filesystem::path>& file, const EnvLookup& env = process_env);

// Applies a JSON object of config keys onto `config` (unknown keys rejected).
void apply_config_json(Config& config, const nlohmann::json& json, const std::string& origin);

// Plugin directories to search when none are configured: the build tree's
// ../plugins and the install tree's ../lib/switchboard/plugins, relative to
// the running executable.
std::vector<std::filesystem::path> default_plugin_paths();

}  // namespace sb

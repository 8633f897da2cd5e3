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
  // Channel webhooks (Meta batches up to a few MB) and uploads (CSV
  // imports, campaign audiences) may be this large instead.
  size_t max_upload_bytes = 16 * 1024 * 1024;
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
  // Knowledge bases (docs/operations.md, "Knowledge bases"): indexes in
  // <data_dir>/knowledge.
  struct Knowledge {
    unsigned ingest_threads = 1;         // documents ingested at once
    unsigned embed_batch = 64;           // chunks per embed call to the provider
    unsigned max_document_chunks = 50'000;
    uint64_t exact_until = 5'000;        // vectors searched exactly up to this many per base
    std::string approximate = "lsh";     // past it: lsh, ivf or hnsw (host/knowledge/vector_index.hpp)
  } knowledge;
  std::string storage_plugin = "storage-sqlite";
  // The storage plugin's own config (validated against its plugin.json);
  // "path" defaults to <data_dir>/switchboard.db.
  nlohmann::json storage = nlohmann::json::object();

  // The API's security settings (docs/operations.md, "Security").
  struct Security {
    std::optional<std::string> engine_api_key;  // ENGINE_API_KEY: X-API-Key of the engine admin
    std::optional<std::string> internal_psk;    // WORKFLOW_ENGINE_INTERNAL_PSK: dashboard registration
    std::optional<std::string> token_key;       // SWITCHBOARD_TOKEN_KEY; else <data_dir>/keys/token.key
    std::optional<std::string> secrets_key;     // SWITCHBOARD_SECRETS_KEY; else <data_dir>/keys/secrets.key
    std::optional<std::string> bootstrap_admin_email;     // SWITCHBOARD_BOOTSTRAP_ADMIN_EMAIL
    std::optional<std::string> bootstrap_admin_password;  // SWITCHBOARD_BOOTSTRAP_ADMIN_PASSWORD
    std::string password_cost = "interactive";  // min | interactive | moderate | sensitive
    unsigned access_token_ttl_s = 900;          // 15 minutes
    unsigned refresh_token_ttl_s = 7 * 24 * 3600;
    std::vector<std::string> cors_origins;      // besides the registered dashboards' origins
    double key_rate = 50, key_burst = 100;      // requests/s per API key
    double user_rate = 20, user_burst = 60;     // requests/s per user
    double login_rate = 0.2, login_burst = 10;  // login attempts/s per email and per address
    unsigned login_free_failures = 5;           // failed logins before each try must wait
    unsigned sse_heartbeat_ms = 15000;
  } security;

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

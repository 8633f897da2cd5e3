#pragma once
// Structured logging over spdlog. One process-wide logger; "human" lines for
// a terminal or "json" lines ({"ts","level","logger","msg",...}) for
// collectors, chosen by config. Never pass secrets to a log call: use
// redact_config() for plugin configs.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <string>
#include <string_view>

namespace sb {

struct LogOptions {
  std::string level = "info";    // trace, debug, info, warn, error, off
  std::string format = "human";  // human | json
};

// Installs the process-wide logger (safe to call again to reconfigure).
void init_logging(const LogOptions& options);

// Parses "info", "warn", ...; throws sb::Error(invalid_argument) otherwise.
spdlog::level::level_enum parse_log_level(std::string_view level);

// A copy of `config` with every property whose schema says "secret": true
// replaced by "***", recursively. Safe to log.
nlohmann::json redact_config(const nlohmann::json& config, const nlohmann::json& schema);

// A copy of `config` with `fn` applied to the value of every property whose
// schema says "secret": true, recursively (what redact_config and the
// sealing of secrets at rest share).
nlohmann::json map_secret_values(const nlohmann::json& config, const nlohmann::json& schema,
                                 const std::function<nlohmann::json(const nlohmann::json&)>& fn);

}  // namespace sb

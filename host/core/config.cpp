#include "core/config.hpp"

#include "core/error.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace sb {
namespace {

void parse_listen(Config& config, const std::string& text, const std::string& origin) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 >= text.size()) {
    throw Error(ErrorCode::invalid_argument, origin + ": listen must be host:port, got \"" + text + "\"");
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) {
    throw Error(ErrorCode::invalid_argument, origin + ": listen port must be 0..65535, got \"" + port_text + "\"");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  config.listen_host = host.empty() ? "0.0.0.0" : host;
  config.listen_port = static_cast<uint16_t>(port);
}

std::vector<std::filesystem::path> split_paths(const std::string& text) {
  std::vector<std::filesystem::path> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ':')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

template <class T>
T get_number(const nlohmann::json& value, const std::string& key, const std::string& origin, T min, T max) {
  if (!value.is_number_integer() || value.get<int64_t>() < static_cast<int64_t>(min) ||
      value.get<int64_t>() > static_cast<int64_t>(max)) {
    throw Error(ErrorCode::invalid_argument, origin + ": \"" + key + "\" must be an integer from " +
                                                 std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<T>(value.get<int64_t>());
}

std::string get_string(const nlohmann::json& value, const std::string& key, const std::string& origin) {
  if (!value.is_string()) throw Error(ErrorCode::invalid_argument, origin + ": \"" + key + "\" must be a string");
  return value.get<std::string>();
}

double get_rate(const nlohmann::json& value, const std::string& key, const std::string& origin) {
  if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1e6)
    throw Error(ErrorCode::invalid_argument, origin + ": \"" + key + "\" must be a number from 0 to 1000000");
  return value.get<double>();
}

void apply_security_json(Config::Security& s, const nlohmann::json& json, const std::string& origin) {
  if (!json.is_object()) throw Error(ErrorCode::invalid_argument, origin + ": \"security\" must be an object");
  for (const auto& [k, v] : json.items()) {
    const std::string key = "security." + k;
    if (k == "engine_api_key") s.engine_api_key = get_string(v, key, origin);
    else if (k == "internal_psk") s.internal_psk = get_string(v, key, origin);
    else if (k == "token_key") s.token_key = get_string(v, key, origin);
    else if (k == "secrets_key") s.secrets_key = get_string(v, key, origin);
    else if (k == "bootstrap_admin_email") s.bootstrap_admin_email = get_string(v, key, origin);
    else if (k == "bootstrap_admin_password") s.bootstrap_admin_password = get_string(v, key, origin);
    else if (k == "password_cost") {
      s.password_cost = get_string(v, key, origin);
      if (s.password_cost != "min" && s.password_cost != "interactive" && s.password_cost != "moderate" &&
          s.password_cost != "sensitive")
        throw Error(ErrorCode::invalid_argument,
                    origin + ": \"" + key + "\" must be min, interactive, moderate or sensitive");
    } else if (k == "access_token_ttl_s") s.access_token_ttl_s = get_number<unsigned>(v, key, origin, 1, 86400);
    else if (k == "refresh_token_ttl_s") s.refresh_token_ttl_s = get_number<unsigned>(v, key, origin, 60, 31'536'000);
    else if (k == "cors_origins") {
      if (!v.is_array()) throw Error(ErrorCode::invalid_argument, origin + ": \"" + key + "\" must be an array");
      s.cors_origins.clear();
      for (const auto& o : v) s.cors_origins.push_back(get_string(o, key + "[]", origin));
    } else if (k == "key_rate") s.key_rate = get_rate(v, key, origin);
    else if (k == "key_burst") s.key_burst = get_rate(v, key, origin);
    else if (k == "user_rate") s.user_rate = get_rate(v, key, origin);
    else if (k == "user_burst") s.user_burst = get_rate(v, key, origin);
    else if (k == "login_rate") s.login_rate = get_rate(v, key, origin);
    else if (k == "login_burst") s.login_burst = get_rate(v, key, origin);
    else if (k == "login_free_failures") s.login_free_failures = get_number<unsigned>(v, key, origin, 1, 1000);
    else if (k == "sse_heartbeat_ms") s.sse_heartbeat_ms = get_number<unsigned>(v, key, origin, 100, 600'000);
    else throw Error(ErrorCode::invalid_argument, origin + ": unknown key \"" + key + "\"");
  }
}

}  // namespace

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

void apply_config_json(Config& config, const nlohmann::json& json, const std::string& origin) {
  if (!json.is_object()) throw Error(ErrorCode::invalid_argument, origin + ": the configuration must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (key == "data_dir") {
      config.data_dir = get_string(value, key, origin);
    } else if (key == "listen") {
      parse_listen(config, get_string(value, key, origin), origin);
    } else if (key == "plugin_paths") {
      if (!value.is_array()) throw Error(ErrorCode::invalid_argument, origin + ": \"plugin_paths\" must be an array");
      config.plugin_paths.clear();
      for (const auto& p : value) config.plugin_paths.emplace_back(get_string(p, "plugin_paths[]", origin));
    } else if (key == "log") {
      if (!value.is_object()) throw Error(ErrorCode::invalid_argument, origin + ": \"log\" must be an object");
      for (const auto& [k, v] : value.items()) {
        if (k == "level") {
          config.log.level = get_string(v, "log.level", origin);
          try {
            parse_log_level(config.log.level);
          } catch (const Error& e) {
            throw Error(ErrorCode::invalid_argument, origin + ": log.level: " + e.what());
          }
        } else if (k == "format") {
          config.log.format = get_string(v, "log.format", origin);
        } else {
          throw Error(ErrorCode::invalid_argument, origin + ": unknown key \"log." + k + "\"");
        }
      }
    } else if (key == "http_threads") {
      config.http_threads = get_number<unsigned>(value, key, origin, 2, 4096);
    } else if (key == "max_body_bytes") {
      config.max_body_bytes = get_number<size_t>(value, key, origin, 1024, size_t{1} << 30);
    } else if (key == "max_upload_bytes") {
      config.max_upload_bytes = get_number<size_t>(value, key, origin, 1024, size_t{1} << 30);
    } else if (key == "scheduler_threads") {
      config.scheduler_threads = get_number<unsigned>(value, key, origin, 1, 64);
    } else if (key == "flows_dir") {
      config.flows_dir = get_string(value, key, origin);
    } else if (key == "flow_workers") {
      config.flow_workers = get_number<unsigned>(value, key, origin, 1, 256);
    } else if (key == "flow_instructions") {
      config.flow_instructions = get_number<uint64_t>(value, key, origin, 10'000, 10'000'000'000ULL);
    } else if (key == "flow_time_ms") {
      config.flow_time_ms = get_number<unsigned>(value, key, origin, 10, 600'000);
    } else if (key == "flow_memory_mib") {
      config.flow_memory_mib = get_number<unsigned>(value, key, origin, 4, 4096);
    } else if (key == "flow_retention_days") {
      config.flow_retention_days = get_number<unsigned>(value, key, origin, 1, 3650);
    } else if (key == "db_readers") {
      config.db_readers = get_number<unsigned>(value, key, origin, 1, 64);
    } else if (key == "demo") {
      if (!value.is_boolean()) throw Error(ErrorCode::invalid_argument, origin + ": \"demo\" must be true or false");
      config.demo = value.get<bool>();
    } else if (key == "storage_plugin") {
      config.storage_plugin = get_string(value, key, origin);
    } else if (key == "storage") {
      if (!value.is_object()) {
        throw Error(ErrorCode::invalid_argument, origin + ": \"storage\" must be an object (the storage plugin's config)");
      }
      config.storage = value;
    } else if (key == "security") {
      apply_security_json(config.security, value, origin);
    } else if (key == "knowledge") {
      if (!value.is_object()) throw Error(ErrorCode::invalid_argument, origin + ": \"knowledge\" must be an object");
      for (const auto& [k, v] : value.items()) {
        const std::string name = "knowledge." + k;
        if (k == "ingest_threads") {
          config.knowledge.ingest_threads = get_number<unsigned>(v, name, origin, 1, 64);
        } else if (k == "embed_batch") {
          config.knowledge.embed_batch = get_number<unsigned>(v, name, origin, 1, 4096);
        } else if (k == "max_document_chunks") {
          config.knowledge.max_document_chunks = get_number<unsigned>(v, name, origin, 1, 10'000'000);
        } else if (k == "exact_until") {
          config.knowledge.exact_until = get_number<uint64_t>(v, name, origin, 0, 100'000'000ULL);
        } else if (k == "approximate") {
          config.knowledge.approximate = get_string(v, name, origin);
          const std::string& a = config.knowledge.approximate;
          if (a != "lsh" && a != "ivf" && a != "hnsw") {
            throw Error(ErrorCode::invalid_argument, origin + ": knowledge.approximate must be \"lsh\", \"ivf\" or \"hnsw\"");
          }
        } else {
          throw Error(ErrorCode::invalid_argument, origin + ": unknown key \"" + name + "\"");
        }
      }
    } else {
      throw Error(ErrorCode::invalid_argument, origin + ": unknown configuration key \"" + key + "\"");
    }
  }
  if (config.log.format != "human" && config.log.format != "json") {
    throw Error(ErrorCode::invalid_argument, origin + ": log.format must be \"human\" or \"json\"");
  }
}

Config load_config(const std::optional<std::filesystem::path>& file, const EnvLookup& env) {
  Config config;
  std::optional<std::filesystem::path> path = file;
  if (!path) {
    if (auto from_env = env("SWITCHBOARD_CONFIG"); from_env && !from_env->empty()) path = *from_env;
  }
  if (path) {
    std::ifstream in(*path);
    if (!in) throw Error(ErrorCode::invalid_argument, "cannot read the configuration file " + path->string());
    nlohmann::json json;
    try {
      in >> json;
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(ErrorCode::invalid_argument, path->string() + ": not valid JSON: " + e.what());
    }
    apply_config_json(config, json, path->string());
    config.source = path;
  }
  if (auto v = env("SWITCHBOARD_DATA_DIR"); v && !v->empty()) config.data_dir = *v;
  if (auto v = env("SWITCHBOARD_LISTEN"); v && !v->empty()) parse_listen(config, *v, "SWITCHBOARD_LISTEN");
  if (auto v = env("SWITCHBOARD_FLOWS_DIR"); v && !v->empty()) config.flows_dir = *v;
  if (auto v = env("SWITCHBOARD_PLUGIN_PATH"); v && !v->empty()) config.plugin_paths = split_paths(*v);
  // The seed documents' names for the two shared secrets, and ours for the rest.
  if (auto v = env("ENGINE_API_KEY"); v && !v->empty()) config.security.engine_api_key = *v;
  if (auto v = env("WORKFLOW_ENGINE_INTERNAL_PSK"); v && !v->empty()) config.security.internal_psk = *v;
  if (auto v = env("SWITCHBOARD_TOKEN_KEY"); v && !v->empty()) config.security.token_key = *v;
  if (auto v = env("SWITCHBOARD_SECRETS_KEY"); v && !v->empty()) config.security.secrets_key = *v;
  if (auto v = env("SWITCHBOARD_BOOTSTRAP_ADMIN_EMAIL"); v && !v->empty()) config.security.bootstrap_admin_email = *v;
  if (auto v = env("SWITCHBOARD_BOOTSTRAP_ADMIN_PASSWORD"); v && !v->empty())
    config.security.bootstrap_admin_password = *v;
  if (auto v = env("SWITCHBOARD_LOG_LEVEL"); v && !v->empty()) {
    parse_log_level(*v);
    config.log.level = *v;
  }
  if (auto v = env("SWITCHBOARD_LOG_FORMAT"); v && !v->empty()) {
    if (*v != "human" && *v != "json") {
      throw Error(ErrorCode::invalid_argument, "SWITCHBOARD_LOG_FORMAT must be \"human\" or \"json\"");
    }
    config.log.format = *v;
  }
  return config;
}

std::vector<std::filesystem::path> default_plugin_paths() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {std::filesystem::path("plugins")};
  const auto dir = exe.parent_path();
  return {dir.parent_path() / "plugins", dir.parent_path() / "lib" / "switchboard" / "plugins"};
}

}  // namespace sb

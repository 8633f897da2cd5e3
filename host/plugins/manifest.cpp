#include "plugins/manifest.hpp"

#include "core/error.hpp"
#include "core/json_schema.hpp"

#include <switchboard/plugin.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace sb::plugins {

std::string_view to_string(PluginKind kind) {
  switch (kind) {
    case PluginKind::channel: return "channel";
    case PluginKind::ai: return "ai";
    case PluginKind::crm: return "crm";
    case PluginKind::storage: return "storage";
  }
  return "?";
}

std::optional<PluginKind> parse_kind(std::string_view text) {
  if (text == "channel") return PluginKind::channel;
  if (text == "ai") return PluginKind::ai;
  if (text == "crm") return PluginKind::crm;
  if (text == "storage") return PluginKind::storage;
  return std::nullopt;
}

int32_t to_sb_kind(PluginKind kind) {
  switch (kind) {
    case PluginKind::channel: return SB_KIND_CHANNEL;
    case PluginKind::ai: return SB_KIND_AI;
    case PluginKind::crm: return SB_KIND_CRM;
    case PluginKind::storage: return SB_KIND_STORAGE;
  }
  return 0;
}

std::optional<uint32_t> parse_abi(std::string_view text) {
  static const std::regex kAbi(R"(^(\d{1,4})\.(\d{1,4})$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(text.begin(), text.end(), m, kAbi)) return std::nullopt;
  return SB_ABI_MAKE(std::stoul(m[1].str()), std::stoul(m[2].str()));
}

std::string format_abi(uint32_t abi) {
  return std::to_string(SB_ABI_MAJOR(abi)) + "." + std::to_string(SB_ABI_MINOR(abi));
}

namespace {

std::vector<std::string> validate(const JsonSchema& schema, const nlohmann::json& doc) {
  std::vector<std::string> problems;
  for (const auto& v : schema.validate(doc)) problems.push_back((v.path.empty() ? "/" : v.path) + ": " + v.message);
  return problems;
}

}  // namespace

Manifest read_manifest(const std::filesystem::path& file) {
  const std::string where = file.string();
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::invalid_argument, where + ": cannot read the manifest");
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::invalid_argument, where + ": the manifest is not valid JSON: " + e.what());
  }
  if (!doc.is_object()) throw Error(ErrorCode::invalid_argument, where + ": the manifest must be a JSON object");

  std::vector<std::string> problems;
  auto string_field = [&](const char* key, bool required) -> std::string {
    auto it = doc.find(key);
    if (it == doc.end()) {
      if (required) problems.push_back(std::string("\"") + key + "\" is missing");
      return {};
    }
    if (!it->is_string() || it->get<std::string>().empty()) {
      problems.push_back(std::string("\"") + key + "\" must be a non-empty string");
      return {};
    }
    return it->get<std::string>();
  };

  Manifest m;
  m.file = file;
  m.dir = file.parent_path();
  m.id = string_field("id", true);
  m.name = string_field("name", false);
  m.version = string_field("version", true);
  m.description = string_field("description", false);
  m.library = string_field("library", true);
  const std::string kind = string_field("kind", true);
  const std::string abi = string_field("abi", true);
  if (m.name.empty()) m.name = m.id;

  static const std::regex kId("^[a-z0-9][a-z0-9._-]{0,63}$");
  if (!m.id.empty() && !std::regex_match(m.id, kId)) {
    problems.push_back("\"id\" must be lower-case letters, digits, '.', '_' or '-' (got \"" + m.id + "\")");
  }
  if (!kind.empty()) {
    if (auto k = parse_kind(kind)) {
      m.kind = *k;
    } else {
      problems.push_back("\"kind\" must be channel, ai, crm or storage (got \"" + kind + "\")");
    }
  }
  if (!abi.empty()) {
    if (auto v = parse_abi(abi)) {
      m.abi = *v;
    } else {
      problems.push_back("\"abi\" must look like \"1.0\" (got \"" + abi + "\")");
    }
  }
  if (!m.library.empty() && m.library.find('/') != std::string::npos) {
    problems.push_back("\"library\" must be a file name in the plugin's folder, not a path");
  }
  auto config = doc.find("config");
  if (config == doc.end()) {
    problems.push_back("\"config\" (the JSON Schema of an instance's configuration) is missing");
  } else if (!config->is_object() || config->value("type", "") != "object") {
    problems.push_back("\"config\" must be a JSON Schema object with \"type\": \"object\"");
  } else {
    try {
      JsonSchema{*config};  // compiles it, to refuse a broken schema now
      m.config_schema = *config;
    } catch (const std::exception& e) {
      problems.push_back(std::string("\"config\" is ") + e.what());
    }
  }
  if (!problems.empty()) {
    std::string message = where + ": invalid manifest: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    throw Error(ErrorCode::invalid_argument, message, nlohmann::json{{"problems", problems}});
  }
  return m;
}

nlohmann::json validate_plugin_config(const Manifest& manifest, const nlohmann::json& config) {
  if (!config.is_object()) {
    throw Error(ErrorCode::invalid_argument, "plugin " + manifest.id + ": the configuration must be a JSON object");
  }
  nlohmann::json filled = config;
  fill_schema_defaults(filled, manifest.config_schema);
  const auto problems = validate(JsonSchema(close_schema_objects(manifest.config_schema)), filled);
  if (!problems.empty()) {
    std::string message = "plugin " + manifest.id + ": invalid configuration: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    throw Error(ErrorCode::invalid_argument, message, nlohmann::json{{"plugin", manifest.id}, {"problems", problems}});
  }
  return filled;
}

}  // namespace sb::plugins

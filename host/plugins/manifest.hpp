#pragma once
// plugin.json: what the host reads and checks before it loads any code.
//
//   {"id": "channel-sandbox", "name": "...", "version": "1.0.0",
//    "kind": "channel|ai|crm|storage", "abi": "1.0",
//    "library": "libchannel-sandbox.so", "description": "...",
//    "config": { JSON Schema of an instance's config }}
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sb::plugins {

enum class PluginKind { channel, ai, crm, storage };
std::string_view to_string(PluginKind kind);
std::optional<PluginKind> parse_kind(std::string_view text);
int32_t to_sb_kind(PluginKind kind);  // SB_KIND_*

struct Manifest {
  std::string id;
  std::string name;
  std::string version;
  std::string description;
  PluginKind kind = PluginKind::channel;
  uint32_t abi = 0;                 // SB_ABI_MAKE(major, minor): the host ABI it needs
  std::string library;              // file name, relative to dir
  nlohmann::json config_schema;     // JSON Schema of an instance's config
  std::filesystem::path dir;        // the folder holding plugin.json
  std::filesystem::path file;       // plugin.json itself
};

// Reads and checks `file`. Throws sb::Error(invalid_argument) whose message
// names the file and every problem found.
Manifest read_manifest(const std::filesystem::path& file);

// "1.0" -> SB_ABI_MAKE(1, 0); nullopt when malformed.
std::optional<uint32_t> parse_abi(std::string_view text);
std::string format_abi(uint32_t abi);

// Validates an instance's config against the manifest's schema: unknown keys
// are rejected (objects are closed unless the schema opens them), defaults
// are filled. Returns the completed config; throws sb::Error(invalid_argument)
// naming the plugin and each failing path.
nlohmann::json validate_plugin_config(const Manifest& manifest, const nlohmann::json& config);

}  // namespace sb::plugins

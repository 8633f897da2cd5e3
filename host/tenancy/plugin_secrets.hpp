#pragma once
// Secrets inside plugin configs (a profile's channel config, an AI
// provider's key) are kept sealed at rest: every value the plugin's
// manifest schema marks "secret": true is stored as a SecretBox value and
// opened only when the config is handed to the plugin.
#include "plugins/registry.hpp"
#include "tenancy/crypto.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace sb::tenancy {

// Seals (`seal` true) or opens the string values the plugin's schema marks
// secret; other values pass through. Unknown plugin: unchanged.
nlohmann::json transform_plugin_secrets(const plugins::PluginRegistry& registry, const std::string& plugin_id,
                                        const nlohmann::json& config, const SecretBox& box, bool seal);

}  // namespace sb::tenancy

#include "tenancy/plugin_secrets.hpp"

#include "core/log.hpp"

namespace sb::tenancy {

nlohmann::json transform_plugin_secrets(const plugins::PluginRegistry& registry, const std::string& plugin_id,
                                        const nlohmann::json& config, const SecretBox& box, bool seal) {
  const plugins::Manifest* manifest = registry.manifest(plugin_id);
  if (!manifest) return config;
  return map_secret_values(config, manifest->config_schema, [&](const nlohmann::json& v) -> nlohmann::json {
    if (!v.is_string()) return v;
    const std::string text = v.get<std::string>();
    if (seal) return SecretBox::is_sealed(text) ? v : nlohmann::json(box.seal(text));
    return SecretBox::is_sealed(text) ? nlohmann::json(box.open(text)) : v;
  });
}

}  // namespace sb::tenancy

#include "plugins/secret_config.hpp"

#include "core/error.hpp"
#include "core/log.hpp"

namespace sb::plugins {

nlohmann::json keep_redacted_secrets(const nlohmann::json& incoming, const nlohmann::json& stored,
                                     const nlohmann::json& schema) {
  if (!incoming.is_object() || !stored.is_object() || !schema.is_object()) return incoming;
  const auto props = schema.find("properties");
  if (props == schema.end() || !props->is_object()) return incoming;
  nlohmann::json out = incoming;
  for (auto it = out.begin(); it != out.end(); ++it) {
    const auto prop = props->find(it.key());
    const auto old = stored.find(it.key());
    if (prop == props->end() || old == stored.end()) continue;
    if (prop->value("secret", false)) {
      if (it.value() == kRedactedSecret) it.value() = *old;
    } else if (it.value().is_object()) {
      it.value() = keep_redacted_secrets(it.value(), *old, *prop);
    }
  }
  return out;
}

void refuse_placeholder_secrets(const nlohmann::json& config, const nlohmann::json& schema, const std::string& field) {
  map_secret_values(config, schema, [&field](const nlohmann::json& v) -> nlohmann::json {
    if (v == kRedactedSecret) {
      throw Error(ErrorCode::invalid_argument,
                  "\"" + field + "\": a secret is \"***\" but there is no stored value to keep; send the secret itself",
                  {{"field", field}});
    }
    return v;
  });
}

}  // namespace sb::plugins

#pragma once
// Plugin configs as the API takes them back: every answer shows a secret
// (a property the plugin's schema marks "secret": true) as "***", so a
// config sent back unchanged must keep its stored secrets, and a "***" with
// nothing stored behind it must be refused rather than stored as the secret.
// Used for profiles' channel configs and knowledge bases' provider configs.
//
// Pure functions: safe on any thread.
#include <nlohmann/json.hpp>

#include <string>

namespace sb::plugins {

// What answers show in place of a secret (core/log.hpp's redact_config).
inline constexpr const char* kRedactedSecret = "***";

// `incoming` with every secret sent as "***" replaced by its value in
// `stored` (both in the clear), walked through the schema's properties.
nlohmann::json keep_redacted_secrets(const nlohmann::json& incoming, const nlohmann::json& stored,
                                     const nlohmann::json& schema);

// Throws sb::Error(invalid_argument) naming `field` when a secret of
// `config` is still "***".
void refuse_placeholder_secrets(const nlohmann::json& config, const nlohmann::json& schema, const std::string& field);

}  // namespace sb::plugins

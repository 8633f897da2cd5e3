#pragma once
// A failed plugin call: an sb::Error that keeps the plugin's sb_status so
// callers can tell transient failures (retry) from permanent ones.
#include "core/error.hpp"

#include <switchboard/plugin.h>

#include <string>
#include <string_view>

namespace sb::plugins {

class PluginError : public Error {
 public:
  PluginError(sb_status status, const std::string& plugin_id, const std::string& message);
  sb_status status() const noexcept { return status_; }
  const std::string& plugin_id() const noexcept { return plugin_id_; }
  // UNAVAILABLE, BUSY and TIMEOUT: worth retrying later.
  bool transient() const noexcept;

 private:
  sb_status status_;
  std::string plugin_id_;
};

std::string_view status_name(sb_status status);  // "SB_ERR_UNAVAILABLE", ...
ErrorCode error_code_for(sb_status status);

}  // namespace sb::plugins

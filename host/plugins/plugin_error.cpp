#include "plugins/plugin_error.hpp"

namespace sb::plugins {

std::string_view status_name(sb_status status) {
  switch (status) {
    case SB_OK: return "SB_OK";
    case SB_ERR_INVALID_ARGUMENT: return "SB_ERR_INVALID_ARGUMENT";
    case SB_ERR_NOT_FOUND: return "SB_ERR_NOT_FOUND";
    case SB_ERR_UNSUPPORTED: return "SB_ERR_UNSUPPORTED";
    case SB_ERR_UNAVAILABLE: return "SB_ERR_UNAVAILABLE";
    case SB_ERR_PERMANENT: return "SB_ERR_PERMANENT";
    case SB_ERR_CONFLICT: return "SB_ERR_CONFLICT";
    case SB_ERR_BUSY: return "SB_ERR_BUSY";
    case SB_ERR_TIMEOUT: return "SB_ERR_TIMEOUT";
    case SB_ERR_INTERNAL: return "SB_ERR_INTERNAL";
    default: return "SB_ERR_UNKNOWN";
  }
}

ErrorCode error_code_for(sb_status status) {
  switch (status) {
    case SB_ERR_INVALID_ARGUMENT: return ErrorCode::invalid_argument;
    case SB_ERR_NOT_FOUND: return ErrorCode::not_found;
    case SB_ERR_UNSUPPORTED: return ErrorCode::invalid_argument;
    case SB_ERR_UNAVAILABLE: return ErrorCode::unavailable;
    case SB_ERR_PERMANENT: return ErrorCode::plugin_error;
    case SB_ERR_CONFLICT: return ErrorCode::conflict;
    case SB_ERR_BUSY: return ErrorCode::rate_limited;
    case SB_ERR_TIMEOUT: return ErrorCode::timeout;
    default: return ErrorCode::plugin_error;
  }
}

PluginError::PluginError(sb_status status, const std::string& plugin_id, const std::string& message)
    : Error(error_code_for(status), message, nlohmann::json{{"plugin", plugin_id}, {"status", status_name(status)}}),
      status_(status),
      plugin_id_(plugin_id) {}

bool PluginError::transient() const noexcept {
  return status_ == SB_ERR_UNAVAILABLE || status_ == SB_ERR_BUSY || status_ == SB_ERR_TIMEOUT;
}

}  // namespace sb::plugins

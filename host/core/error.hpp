#pragma once
// The one error type of the host. Every failure a user can see is an
// sb::Error with a code (mapped to an HTTP status by the api room) and a
// message a user understands.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace sb {

enum class ErrorCode {
  invalid_argument,        // 400: the request or input is malformed
  unauthorized,            // 401
  forbidden,               // 403
  not_found,               // 404: also for ids of another tenant
  method_not_allowed,      // 405
  conflict,                // 409
  payload_too_large,       // 413
  unsupported_media_type,  // 415
  rate_limited,            // 429
  plugin_error,            // 502: a plugin failed or returned garbage
  unavailable,             // 503: a dependency is down; retry later
  timeout,                 // 504
  internal,                // 500
};

// "invalid_argument", "not_found", ... as used in the API's error shape.
std::string_view to_string(ErrorCode code);
int http_status(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, nlohmann::json details = nullptr)
      : std::runtime_error(message), code_(code), details_(std::move(details)) {}

  ErrorCode code() const noexcept { return code_; }
  const nlohmann::json& details() const noexcept { return details_; }
  // {"error": {"code": ..., "message": ..., "details": ...}}
  nlohmann::json to_json() const;

 private:
  ErrorCode code_;
  nlohmann::json details_;
};

}  // namespace sb

#pragma once
// The host's outbound HTTP client, offered to plugins through
// sb_host_api.http_request and used by host services alike.
#include <nlohmann/json.hpp>

namespace sb::plugins {

// request:  {"method": "GET", "url": "https://...", "headers": {}, "body": "", "timeout_ms": 10000}
// response: {"status": 200, "headers": {}, "body": "..."}
// Throws sb::Error: invalid_argument for a malformed request, unavailable
// when no connection could be made, timeout when none came in time.
nlohmann::json perform_http_request(const nlohmann::json& request);

}  // namespace sb::plugins

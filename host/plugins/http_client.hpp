#pragma once
// The host's outbound HTTP client, offered to plugins through
// sb_host_api.http_request and used by host services alike.
#include <nlohmann/json.hpp>

#include <functional>
#include <string_view>

namespace sb::plugins {

// request:  {"method": "GET", "url": "https://...", "headers": {}, "body": "", "timeout_ms": 10000}
// response: {"status": 200, "headers": {}, "body": "..."}
// Throws sb::Error: invalid_argument for a malformed request, unavailable
// when no connection could be made, timeout when none came in time.
nlohmann::json perform_http_request(const nlohmann::json& request);

// The same request, with the response read as it arrives: `on_head` gets
// {"status","headers"} once before any of the body, `on_body` each piece of
// the body, both on this thread. "timeout_ms" bounds each wait for data;
// "total_timeout_ms" (optional) the whole stream (then it is a timeout).
// Throws like perform_http_request (unavailable / timeout also when the
// stream breaks off after the head).
void perform_http_stream(const nlohmann::json& request, const std::function<void(const nlohmann::json&)>& on_head,
                         const std::function<void(std::string_view)>& on_body);

}  // namespace sb::plugins

#pragma once
// What an OpenAI-compatible server's refusal means: its error body parsed
// leniently and its HTTP status mapped onto an ABI status.
//
//   {"error":{"message","type","param","code"}}   OpenAI (code a string or null)
//   {"error":{"code":400,"message","type"}}       llama.cpp (code the HTTP status, an integer)
//   {"error":"..."}                               Ollama's native routes
//   anything else                                 the start of the body is the message
//
//   429                         -> SB_ERR_BUSY, retried
//   408, 5xx, no connection     -> SB_ERR_UNAVAILABLE, retried
//   400, 401, 403, 404, other   -> SB_ERR_PERMANENT, not retried
//
// Messages name the server and the status and quote the server's message;
// the caller redacts the API key from everything it reports.
#include "retry_policy.hpp"

#include <nlohmann/json.hpp>
#include <switchboard/plugin.h>

#include <optional>
#include <string>
#include <string_view>

namespace openai {

struct ServerError {
  std::string message;  // "" when the body said nothing usable
  std::string type;
  std::string code;     // a string code ("model_not_found"); integer codes are not repeated
};

ServerError parse_error_body(std::string_view body);

// A failed attempt: its status, a sentence for the user, and whether (and
// after how long, when the server said so) it is worth trying again.
struct Failure {
  sb_status status = SB_ERR_UNAVAILABLE;
  std::string message;
  bool retryable = false;
  std::optional<Millis> retry_after;
};

// The failure for a non-2xx answer. `server` names the server for the
// message ("the server at http://localhost:11434"); `headers` is the host's
// response header object (for Retry-After).
Failure failure_for_response(int http_status, std::string_view body, const nlohmann::json& headers,
                             std::string_view server);

// A header of the host's response header object, by case-insensitive name.
std::optional<std::string> header_value(const nlohmann::json& headers, std::string_view name);

// `text` with every occurrence of `secret` replaced by "***" (nothing when
// the secret is empty).
std::string redact(std::string text, std::string_view secret);

}  // namespace openai

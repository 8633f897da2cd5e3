#include "api_error.hpp"

#include <algorithm>
#include <cctype>

namespace openai {
namespace {

using nlohmann::json;

constexpr size_t kQuotedBodyLimit = 200;

std::string quoted_body(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kQuotedBodyLimit)) out.push_back(std::iscntrl(static_cast<unsigned char>(c)) ? ' ' : c);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  while (!out.empty() && out.front() == ' ') out.erase(out.begin());
  if (body.size() > kQuotedBodyLimit) out += "...";
  return out;
}

std::string string_or_empty(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ServerError parse_error_body(std::string_view body) {
  ServerError out;
  const json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    auto error = doc.find("error");
    if (error != doc.end() && error->is_object()) {
      out.message = string_or_empty(*error, "message");
      out.type = string_or_empty(*error, "type");
      out.code = string_or_empty(*error, "code");  // null or an integer (llama.cpp) leave it empty
    } else if (error != doc.end() && error->is_string()) {
      out.message = error->get<std::string>();
    } else {
      out.message = string_or_empty(doc, "message");
    }
  }
  if (out.message.empty()) out.message = quoted_body(body);
  return out;
}

std::optional<std::string> header_value(const json& headers, std::string_view name) {
  if (!headers.is_object()) return std::nullopt;
  for (const auto& [key, value] : headers.items()) {
    if (key.size() != name.size() || !value.is_string()) continue;
    const bool same = std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
    if (same) return value.get<std::string>();
  }
  return std::nullopt;
}

Failure failure_for_response(int http_status, std::string_view body, const json& headers, std::string_view server) {
  const ServerError error = parse_error_body(body);
  std::string detail = error.message.empty() ? "no details" : error.message;
  if (!error.code.empty() && detail.find(error.code) == std::string::npos) detail += " [" + error.code + "]";
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "(" + to_string(...).
  std::string status = "(";
  status += std::to_string(http_status);
  status += "): ";
  const std::string who(server);

  Failure f;
  if (http_status == 429) {
    f.status = SB_ERR_BUSY;
    f.retryable = true;
    f.message = who + " is rate limiting requests " + status + detail;
  } else if (http_status >= 500 || http_status == 408) {
    f.status = SB_ERR_UNAVAILABLE;
    f.retryable = true;
    f.message = who + " failed " + status + detail;
  } else if (http_status == 401) {
    f.status = SB_ERR_PERMANENT;
    f.message = who + " refused the API key " + status + detail;
  } else if (http_status == 403) {
    f.status = SB_ERR_PERMANENT;
    f.message = who + " refused access " + status + detail;
  } else if (http_status == 404) {
    f.status = SB_ERR_PERMANENT;
    f.message = who + (error.code == "model_not_found" ? " does not know the model " : " has no such model or endpoint ") +
                status + detail;
  } else if (http_status == 400 || http_status == 422) {
    f.status = SB_ERR_PERMANENT;
    f.message = who + " refused the request " + status + detail;
  } else {
    f.status = SB_ERR_PERMANENT;
    f.message = who + " answered HTTP " + std::to_string(http_status) + ": " + detail;
  }
  if (f.retryable) {
    if (auto value = header_value(headers, "retry-after")) f.retry_after = parse_retry_after(*value);
  }
  return f;
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

}  // namespace openai

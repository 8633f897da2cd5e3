#include "plugins/http_client.hpp"

#include "core/base64.hpp"
#include "core/error.hpp"

#include <httplib.h>

#include <regex>

namespace sb::plugins {
namespace {

// Binary bodies travel as "body_base64" (core/base64.hpp): a JSON string
// must be UTF-8.
std::string body_from_base64(std::string_view text) {
  auto out = base64_decode(text);
  if (!out) throw Error(ErrorCode::invalid_argument, "body_base64 is not base64");
  return *out;
}

}  // namespace

nlohmann::json perform_http_request(const nlohmann::json& request) {
  if (!request.is_object()) throw Error(ErrorCode::invalid_argument, "the HTTP request must be a JSON object");
  const std::string method = request.value("method", "GET");
  const std::string url = request.value("url", "");
  static const std::regex kUrl(R"(^(https?)://([^/?#]+)([^#]*)$)");
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) {
    throw Error(ErrorCode::invalid_argument, "the HTTP request needs an absolute http(s) URL");
  }
  const std::string origin = m[1].str() + "://" + m[2].str();
  std::string target = m[3].str();
  if (target.empty()) target = "/";
  const int64_t timeout_ms = request.value("timeout_ms", int64_t{10000});
  if (timeout_ms <= 0 || timeout_ms > 300000) {
    throw Error(ErrorCode::invalid_argument, "timeout_ms must be between 1 and 300000");
  }

  httplib::Client client(origin);
  client.set_tcp_nodelay(true);
  const auto secs = static_cast<time_t>(timeout_ms / 1000);
  const auto usecs = static_cast<time_t>((timeout_ms % 1000) * 1000);
  client.set_connection_timeout(secs, usecs);
  client.set_read_timeout(secs, usecs);
  client.set_write_timeout(secs, usecs);

  httplib::Headers headers;
  std::string content_type = "application/octet-stream";
  if (auto h = request.find("headers"); h != request.end() && h->is_object()) {
    for (const auto& [name, value] : h->items()) {
      if (!value.is_string()) throw Error(ErrorCode::invalid_argument, "header " + name + " must be a string");
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-type") {
        content_type = value.get<std::string>();
      } else {
        headers.emplace(name, value.get<std::string>());
      }
    }
  }
  const std::string body = request.contains("body_base64") ? body_from_base64(request.value("body_base64", ""))
                                                            : request.value("body", "");

  httplib::Result result{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    result = client.Get(target, headers);
  } else if (method == "DELETE") {
    result = client.Delete(target, headers, body, content_type);
  } else if (method == "POST") {
    result = client.Post(target, headers, body, content_type);
  } else if (method == "PUT") {
    result = client.Put(target, headers, body, content_type);
  } else if (method == "PATCH") {
    result = client.Patch(target, headers, body, content_type);
  } else {
    throw Error(ErrorCode::invalid_argument, "unsupported HTTP method " + method);
  }
  if (!result) {
    const auto err = result.error();
    const std::string what = "HTTP " + method + " " + origin + " failed: " + httplib::to_string(err);
    if (err == httplib::Error::Read || err == httplib::Error::Write) throw Error(ErrorCode::timeout, what);
    throw Error(ErrorCode::unavailable, what);
  }
  nlohmann::json response_headers = nlohmann::json::object();
  for (const auto& [name, value] : result->headers) response_headers[name] = value;
  if (request.value("response_body", std::string()) == "base64") {
    return {{"status", result->status}, {"headers", response_headers}, {"body_base64", base64_encode(result->body)}};
  }
  return {{"status", result->status}, {"headers", response_headers}, {"body", result->body}};
}

}  // namespace sb::plugins

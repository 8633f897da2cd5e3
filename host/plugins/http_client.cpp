#include "plugins/http_client.hpp"

#include "core/base64.hpp"
#include "core/error.hpp"

#include <httplib.h>

#include <chrono>
#include <memory>
#include <regex>
#include <set>

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

namespace {

// A request description checked and split into what httplib needs.
struct PreparedRequest {
  std::string method, origin, target, content_type = "application/octet-stream", body;
  httplib::Headers headers;
  int64_t timeout_ms = 10000;
};

PreparedRequest prepare(const nlohmann::json& request) {
  if (!request.is_object()) throw Error(ErrorCode::invalid_argument, "the HTTP request must be a JSON object");
  PreparedRequest p;
  p.method = request.value("method", "GET");
  const std::string url = request.value("url", "");
  static const std::regex kUrl(R"(^(https?)://([^/?#]+)([^#]*)$)");
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) {
    throw Error(ErrorCode::invalid_argument, "the HTTP request needs an absolute http(s) URL");
  }
  p.origin = m[1].str() + "://" + m[2].str();
  p.target = m[3].str();
  if (p.target.empty()) p.target = "/";
  p.timeout_ms = request.value("timeout_ms", int64_t{10000});
  if (p.timeout_ms <= 0 || p.timeout_ms > 300000) {
    throw Error(ErrorCode::invalid_argument, "timeout_ms must be between 1 and 300000");
  }
  static const std::set<std::string> kMethods = {"GET", "DELETE", "POST", "PUT", "PATCH"};
  if (!kMethods.count(p.method)) throw Error(ErrorCode::invalid_argument, "unsupported HTTP method " + p.method);
  if (auto h = request.find("headers"); h != request.end() && h->is_object()) {
    for (const auto& [name, value] : h->items()) {
      if (!value.is_string()) throw Error(ErrorCode::invalid_argument, "header " + name + " must be a string");
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-type") {
        p.content_type = value.get<std::string>();
      } else {
        p.headers.emplace(name, value.get<std::string>());
      }
    }
  }
  p.body = request.contains("body_base64") ? body_from_base64(request.value("body_base64", ""))
                                           : request.value("body", "");
  return p;
}

std::unique_ptr<httplib::Client> client_for(const PreparedRequest& p) {
  auto client = std::make_unique<httplib::Client>(p.origin);
  client->set_tcp_nodelay(true);
  const auto secs = static_cast<time_t>(p.timeout_ms / 1000);
  const auto usecs = static_cast<time_t>((p.timeout_ms % 1000) * 1000);
  client->set_connection_timeout(secs, usecs);
  client->set_read_timeout(secs, usecs);
  client->set_write_timeout(secs, usecs);
  return client;
}

Error failure(const PreparedRequest& p, httplib::Error err) {
  const std::string what = "HTTP " + p.method + " " + p.origin + " failed: " + httplib::to_string(err);
  if (err == httplib::Error::Read || err == httplib::Error::Write) return Error(ErrorCode::timeout, what);
  return Error(ErrorCode::unavailable, what);
}

nlohmann::json headers_json(const httplib::Headers& headers) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : headers) out[name] = value;
  return out;
}

}  // namespace

nlohmann::json perform_http_request(const nlohmann::json& request) {
  const PreparedRequest p = prepare(request);
  auto client = client_for(p);
  httplib::Result result{nullptr, httplib::Error::Unknown};
  if (p.method == "GET") {
    result = client->Get(p.target, p.headers);
  } else if (p.method == "DELETE") {
    result = client->Delete(p.target, p.headers, p.body, p.content_type);
  } else if (p.method == "POST") {
    result = client->Post(p.target, p.headers, p.body, p.content_type);
  } else if (p.method == "PUT") {
    result = client->Put(p.target, p.headers, p.body, p.content_type);
  } else {
    result = client->Patch(p.target, p.headers, p.body, p.content_type);
  }
  if (!result) throw failure(p, result.error());
  const nlohmann::json response_headers = headers_json(result->headers);
  if (request.value("response_body", std::string()) == "base64") {
    return {{"status", result->status}, {"headers", response_headers}, {"body_base64", base64_encode(result->body)}};
  }
  return {{"status", result->status}, {"headers", response_headers}, {"body", result->body}};
}

void perform_http_stream(const nlohmann::json& request, const std::function<void(const nlohmann::json&)>& on_head,
                         const std::function<void(std::string_view)>& on_body) {
  const PreparedRequest p = prepare(request);
  auto client = client_for(p);
  httplib::Request req;
  req.method = p.method;
  req.path = p.target;
  req.headers = p.headers;
  if (!p.body.empty() || p.method != "GET") {
    req.body = p.body;
    req.headers.emplace("Content-Type", p.content_type);
  }
  // A callback's exception must not unwind through httplib: it is kept and
  // rethrown once the request has been abandoned.
  // "total_timeout_ms": the whole stream ends by then (timeout_ms bounds each wait).
  const int64_t total_ms = request.value("total_timeout_ms", int64_t{0});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(total_ms);
  bool out_of_time = false;
  std::exception_ptr callback_error;
  req.response_handler = [&](const httplib::Response& response) {
    try {
      on_head({{"status", response.status}, {"headers", headers_json(response.headers)}});
      return true;
    } catch (...) {
      callback_error = std::current_exception();
      return false;
    }
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    if (total_ms > 0 && std::chrono::steady_clock::now() >= deadline) {
      out_of_time = true;
      return false;
    }
    try {
      on_body(std::string_view(data, len));
      return true;
    } catch (...) {
      callback_error = std::current_exception();
      return false;
    }
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool ok = client->send(req, res, err);
  if (callback_error) std::rethrow_exception(callback_error);
  if (out_of_time) {
    throw Error(ErrorCode::timeout, "HTTP " + p.method + " " + p.origin + ": the stream went on past " +
                                        std::to_string(total_ms) + " ms");
  }
  if (!ok) throw failure(p, err);
}

}  // namespace sb::plugins

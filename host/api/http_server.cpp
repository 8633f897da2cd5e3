#include "api/http_server.hpp"
#include "core/text.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <sys/socket.h>

namespace sb::api {
namespace {

std::string request_id_for(const httplib::Request& req) {
  auto id = req.get_header_value("X-Request-Id");
  // Accept a caller's id only when it is short and plain, so logs stay clean.
  static const std::regex kPlain("^[A-Za-z0-9._:-]{1,64}$");
  if (!id.empty() && std::regex_match(id, kPlain)) return id;
  return new_id("req");
}

void write_error(httplib::Response& res, const Error& e, const std::string& request_id) {
  res.status = http_status(e.code());
  auto body = e.to_json();
  body["error"]["request_id"] = request_id;
  res.set_content(body.dump(), "application/json");
}

ErrorCode code_for_status(int status) {
  switch (status) {
    case 400: return ErrorCode::invalid_argument;
    case 401: return ErrorCode::unauthorized;
    case 403: return ErrorCode::forbidden;
    case 404: return ErrorCode::not_found;
    case 405: return ErrorCode::method_not_allowed;
    case 409: return ErrorCode::conflict;
    case 413: return ErrorCode::payload_too_large;
    case 415: return ErrorCode::unsupported_media_type;
    case 429: return ErrorCode::rate_limited;
    case 503: return ErrorCode::unavailable;
    default: return status >= 500 ? ErrorCode::internal : ErrorCode::invalid_argument;
  }
}

std::string message_for_status(int status, const httplib::Request& req, size_t max_body) {
  switch (status) {
    case 404: return "no route for " + req.method + " " + req.path;
    case 405: return req.method + " is not allowed on " + req.path;
    case 413: return "the request body is larger than the limit of " + std::to_string(max_body) + " bytes";
    case 414: return "the request URI is too long";
    case 400: return "the request could not be parsed";
    default: return "the request failed with HTTP status " + std::to_string(status);
  }
}

ApiRequest to_api_request(const httplib::Request& req, const std::string& request_id) {
  ApiRequest r;
  r.method = req.method;
  r.path = req.path;
  r.body = req.body;
  r.request_id = request_id;
  r.remote_addr = req.remote_addr;
  for (const auto& [k, v] : req.params) r.query.emplace(k, v);
  for (const auto& [k, v] : req.headers) r.headers[ascii_lower(k)] = v;
  for (const auto& [k, part] : req.files) {
    r.form_parts.emplace(k, part.content);
    r.form_files.emplace(k, ApiRequest::FormFile{part.filename, part.content_type, part.content});
  }
  return r;
}

// "/api/v1/things/:id" -> a regex with one capture per ":name".
std::pair<std::string, std::vector<std::string>> compile_pattern(const std::string& pattern) {
  std::string regex = "^";
  std::vector<std::string> names;
  static const std::regex kParam(":([A-Za-z_][A-Za-z0-9_]*)");
  size_t pos = 0;
  for (std::sregex_iterator it(pattern.begin(), pattern.end(), kParam), end; it != end; ++it) {
    regex += std::regex_replace(pattern.substr(pos, it->position() - pos), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
    regex += "([^/]+)";
    names.push_back((*it)[1].str());
    pos = it->position() + it->length();
  }
  regex += std::regex_replace(pattern.substr(pos), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
  regex += "$";
  return {regex, names};
}

// Headers every response carries: the API serves JSON to programs and
// dashboards, never pages to frame or sniff.
void set_security_headers(httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  res.set_header("Cache-Control", "no-store");
}

constexpr const char* kCorsHeaders = "Authorization, Content-Type, X-API-Key, X-Request-Id, Last-Event-ID";
constexpr const char* kCorsMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS";

}  // namespace

nlohmann::json ApiRequest::json_body() const {
  const std::string type = ascii_lower(header("content-type"));
  if (type.rfind("application/json", 0) != 0) {
    throw Error(ErrorCode::unsupported_media_type,
                "the request body must be JSON with content-type application/json" +
                    (type.empty() ? std::string() : " (got " + type + ")"));
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::invalid_argument, std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw Error(ErrorCode::invalid_argument, "the request body must be a JSON object");
  return doc;
}

std::string ApiRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

ApiResponse ApiResponse::json(int status, const nlohmann::json& body) {
  return ApiResponse{status, "application/json", body.dump()};
}

HttpServer::HttpServer(ServerOptions options, plugins::HostServices& hooks)
    : options_(std::move(options)), hooks_(hooks), server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  // Without TCP_NODELAY cpp-httplib 0.11 stalls each response ~40 ms.
  s.set_tcp_nodelay(true);
  const unsigned threads = options_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib refuses what is over the larger limit before reading it; each
  // route checks its own (route()).
  options_.max_upload_bytes = std::max(options_.max_upload_bytes, options_.max_body_bytes);
  s.set_payload_max_length(options_.max_upload_bytes);
  s.set_keep_alive_max_count(100000);
  // Keep the default SO_REUSEADDR and remember the listening socket:
  // cpp-httplib 0.11 listens with a backlog of 5, so a burst of new clients
  // overflows it and waits a second for SYN retries; start() raises it.
  s.set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_socket_ = sock;
  });
  s.set_read_timeout(30, 0);
  s.set_write_timeout(30, 0);

  // CORS preflight: an allowed origin gets the methods and headers it may
  // use; any other gets no CORS headers, so the browser refuses.
  s.Options(".*", [this](const httplib::Request& req, httplib::Response& res) {
    set_security_headers(res);
    apply_cors(req, res);
    if (res.has_header("Access-Control-Allow-Origin")) {
      res.set_header("Access-Control-Allow-Methods", kCorsMethods);
      res.set_header("Access-Control-Allow-Headers", kCorsHeaders);
      res.set_header("Access-Control-Max-Age", "600");
    }
    res.status = 204;
  });

  // Fills the error shape for failures httplib produces itself (unknown
  // route, body too large, unparsable request) and logs every error.
  s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    set_security_headers(res);
    apply_cors(req, res);
    if (options_.observe && res.status == 404) options_.observe(req.method, "unmatched", res.status, 0.0);
    if (res.body.empty()) {
      const std::string id = request_id_for(req);
      write_error(res, Error(code_for_status(res.status), message_for_status(res.status, req, options_.max_upload_bytes)),
                  id);
      res.set_header("X-Request-Id", id);
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    const std::string id = request_id_for(req);
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("request {} {} {} failed: {}", id, req.method, req.path, what);
    write_error(res, Error(ErrorCode::internal, "internal error; see the host log for request " + id), id);
  });

  // Plugin hooks: /hooks/<plugin>/<instance>/<path...>, any method.
  auto hook = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = request_id_for(req);
    res.set_header("X-Request-Id", id);
    const auto start = std::chrono::steady_clock::now();
    try {
      plugins::HookRequest hr;
      hr.method = req.method;
      hr.path = req.matches[3].str();
      hr.body = req.body;
      hr.request_id = id;
      for (const auto& [k, v] : req.params) hr.query[k] = v;
      for (const auto& [k, v] : req.headers) hr.headers[ascii_lower(k)] = v;
      const auto r = hooks_.dispatch_hook(req.matches[1].str(), req.matches[2].str(), hr);
      res.status = r.status;
      res.set_content(r.body, r.content_type.empty() ? "application/octet-stream" : r.content_type.c_str());
    } catch (const Error& e) {
      write_error(res, e, id);
    } catch (const std::exception& e) {
      spdlog::error("request {} {} {} failed: {}", id, req.method, req.path, e.what());
      write_error(res, Error(ErrorCode::internal, "internal error; see the host log for request " + id), id);
    }
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    spdlog::debug("request {} {} {} -> {} in {} us", id, req.method, req.path, res.status, us.count());
  };
  const char* kHook = R"(/hooks/([a-z0-9][a-z0-9._-]*)/([A-Za-z0-9._-]+)/(.+))";
  s.Get(kHook, hook);
  s.Post(kHook, hook);
  s.Put(kHook, hook);
  s.Patch(kHook, hook);
  s.Delete(kHook, hook);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::apply_cors(const httplib::Request& req, httplib::Response& res) const {
  const std::string origin = req.get_header_value("Origin");
  if (origin.empty() || !options_.cors_allowed || !options_.cors_allowed(origin)) return;
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
  res.set_header("Vary", "Origin");
}

void HttpServer::route(const std::string& method, const std::string& pattern, Handler handler, BodyLimit limit) {
  const auto [regex, names] = compile_pattern(pattern);
  routes_.push_back({method, pattern});
  const size_t max_body = limit == BodyLimit::upload ? options_.max_upload_bytes : options_.max_body_bytes;
  auto wrapped = [this, handler = std::move(handler), names = names, pattern, max_body](const httplib::Request& req,
                                                                                       httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    const std::string id = request_id_for(req);
    res.set_header("X-Request-Id", id);
    set_security_headers(res);
    apply_cors(req, res);
    try {
      if (req.body.size() > max_body)
        throw Error(ErrorCode::payload_too_large, "the request body is larger than the limit of " +
                                                      std::to_string(max_body) + " bytes for " + pattern);
      ApiRequest r = to_api_request(req, id);
      r.route = pattern;
      for (size_t i = 0; i < names.size() && i + 1 < req.matches.size(); ++i) {
        r.path_params[names[i]] = req.matches[i + 1].str();
      }
      ApiResponse out = handler(r);
      res.status = out.status;
      for (const auto& [k, v] : out.headers) res.set_header(k.c_str(), v);
      if (out.stream) {
        auto stream = std::make_shared<std::function<void(const StreamWriter&)>>(std::move(out.stream));
        res.set_chunked_content_provider(out.content_type.c_str(), [stream](size_t, httplib::DataSink& sink) {
          (*stream)([&sink](const std::string& chunk) { return sink.is_writable() && sink.write(chunk.data(), chunk.size()); });
          sink.done();
          return true;
        });
      } else {
        res.set_content(out.body, out.content_type.c_str());
      }
    } catch (const Error& e) {
      if (http_status(e.code()) >= 500) spdlog::error("request {} {} {} failed: {}", id, req.method, req.path, e.what());
      write_error(res, e, id);
      if (e.code() == ErrorCode::rate_limited && e.details().is_object() && e.details().contains("retry_after")) {
        res.set_header("Retry-After", std::to_string(e.details()["retry_after"].get<int64_t>()));
      }
    } catch (const std::exception& e) {
      spdlog::error("request {} {} {} failed: {}", id, req.method, req.path, e.what());
      write_error(res, Error(ErrorCode::internal, "internal error; see the host log for request " + id), id);
    }
    if (options_.observe) {
      options_.observe(req.method, pattern, res.status,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  };
  auto& s = *server_;
  if (method == "GET") s.Get(regex, wrapped);
  else if (method == "POST") s.Post(regex, wrapped);
  else if (method == "PUT") s.Put(regex, wrapped);
  else if (method == "PATCH") s.Patch(regex, wrapped);
  else if (method == "DELETE") s.Delete(regex, wrapped);
  else throw Error(ErrorCode::internal, "unsupported method in route(): " + method);
}

void HttpServer::start() {
  auto& s = *server_;
  if (options_.port == 0) {
    const int port = s.bind_to_any_port(options_.host);
    if (port <= 0) throw Error(ErrorCode::unavailable, "cannot bind " + options_.host + " on any port");
    port_ = static_cast<uint16_t>(port);
  } else {
    if (!s.bind_to_port(options_.host, options_.port)) {
      throw Error(ErrorCode::unavailable, "cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                                              " (is another process using it?)");
    }
    port_ = options_.port;
  }
  if (listen_socket_ >= 0) ::listen(listen_socket_, kListenBacklog);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void HttpServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sb::api

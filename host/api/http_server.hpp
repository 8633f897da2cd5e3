#pragma once
// The host's one HTTP server (cpp-httplib). Owns routing, request ids, the
// body-size limit, the error shape {"error":{"code","message"}} for every
// failure, and dispatch of /hooks/<plugin>/<instance>/<path> to the routes
// plugins registered. Resource handlers plug in through route(); they see
// ApiRequest/ApiResponse, never httplib.
//
// Threads: handlers run on httplib's worker pool (Options::threads); each
// keep-alive connection holds one worker while open, so size it for the
// expected concurrent connections.
#include "plugins/host_services.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace sb::api {

struct ApiRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> path_params;  // from ":name" segments
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;      // lower-case names
  std::string body;
  // multipart/form-data: each part's content by its field name (httplib
  // parses such a body into parts; `body` is then empty).
  std::multimap<std::string, std::string> form_parts;
  // The same parts with the file name and content type each was sent with.
  struct FormFile {
    std::string filename;
    std::string content_type;
    std::string content;
  };
  std::multimap<std::string, FormFile> form_files;
  std::string request_id;
  std::string remote_addr;
  std::string route;  // the pattern that matched, e.g. "/api/v1/workspaces/:workspace_id"

  // The body parsed as a JSON object; throws sb::Error (415 for another
  // content type, 400 for malformed JSON or a non-object).
  nlohmann::json json_body() const;
  std::string header(const std::string& lower_name) const;
};

// Writes one chunk of a streamed response; false once the client is gone.
using StreamWriter = std::function<bool(const std::string& chunk)>;

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra response headers
  // When set, the response is streamed (chunked) instead of `body`: the
  // server calls it once on the handler's worker thread, which it holds
  // until it returns (Server-Sent Events).
  std::function<void(const StreamWriter&)> stream;
  static ApiResponse json(int status, const nlohmann::json& body);
};

using Handler = std::function<ApiResponse(const ApiRequest&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port
  unsigned threads = 128;
  size_t max_body_bytes = 1024 * 1024;
  // Plugin hooks and routes registered with BodyLimit::upload take bodies
  // up to this size (at least max_body_bytes).
  size_t max_upload_bytes = 16 * 1024 * 1024;
  // Browser origins allowed to call the API (CORS), e.g. a dashboard's
  // "https://app.example.com"; asked on every request with an Origin.
  std::function<bool(const std::string& origin)> cors_allowed;
  // Called after every response: method, the matched route pattern
  // ("unmatched" when none), status, seconds taken (metrics).
  std::function<void(const std::string&, const std::string&, int, double)> observe;
};

// Which body limit a route takes: max_body_bytes (JSON) or max_upload_bytes
// (CSV imports and other uploads).
enum class BodyLimit { json, upload };

struct RouteInfo {
  std::string method;
  std::string pattern;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, plugins::HostServices& hooks);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for METHOD + pattern ("/api/v1/things/:id"). Call
  // before start(). A thrown sb::Error becomes its status and the error shape.
  // A body over the route's limit is answered 413 naming the limit.
  void route(const std::string& method, const std::string& pattern, Handler handler,
             BodyLimit limit = BodyLimit::json);
  // Every route registered with route(), in registration order.
  const std::vector<RouteInfo>& routes() const { return routes_; }

  // Binds and starts serving on a background thread. Throws sb::Error if
  // the address cannot be bound.
  void start();
  void stop();
  uint16_t port() const { return port_; }
  const ServerOptions& options() const { return options_; }

 private:
  void apply_cors(const httplib::Request& req, httplib::Response& res) const;

  ServerOptions options_;
  plugins::HostServices& hooks_;
  std::unique_ptr<httplib::Server> server_;
  std::vector<RouteInfo> routes_;
  std::thread thread_;
  uint16_t port_ = 0;
  int listen_socket_ = -1;  // set when httplib creates it
  static constexpr int kListenBacklog = 1024;
};

}  // namespace sb::api

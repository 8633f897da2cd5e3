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

namespace httplib {
class Server;
}

namespace sb::api {

struct ApiRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> path_params;  // from ":name" segments
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;      // lower-case names
  std::string body;
  std::string request_id;

  // The body parsed as a JSON object; throws sb::Error (415 for another
  // content type, 400 for malformed JSON or a non-object).
  nlohmann::json json_body() const;
  std::string header(const std::string& lower_name) const;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  static ApiResponse json(int status, const nlohmann::json& body);
};

using Handler = std::function<ApiResponse(const ApiRequest&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port
  unsigned threads = 128;
  size_t max_body_bytes = 1024 * 1024;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, plugins::HostServices& hooks);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for METHOD + pattern ("/api/v1/things/:id"). Call
  // before start(). A thrown sb::Error becomes its status and the error shape.
  void route(const std::string& method, const std::string& pattern, Handler handler);

  // Binds and starts serving on a background thread. Throws sb::Error if
  // the address cannot be bound.
  void start();
  void stop();
  uint16_t port() const { return port_; }
  const ServerOptions& options() const { return options_; }

 private:
  ServerOptions options_;
  plugins::HostServices& hooks_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  int listen_socket_ = -1;  // set when httplib creates it
  static constexpr int kListenBacklog = 1024;
};

}  // namespace sb::api

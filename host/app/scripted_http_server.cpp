#include "app/scripted_http_server.hpp"

#include "core/error.hpp"

#include <httplib.h>

#include <set>

namespace sb::app {

bool json_subset(const nlohmann::json& expected, const nlohmann::json& actual) {
  if (expected.is_object()) {
    if (!actual.is_object()) return false;
    for (const auto& [key, value] : expected.items()) {
      if (!actual.contains(key) || !json_subset(value, actual[key])) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) return false;
    for (size_t i = 0; i < expected.size(); ++i) {
      if (!json_subset(expected[i], actual[i])) return false;
    }
    return true;
  }
  if (expected.is_number() && actual.is_number()) return expected.get<double>() == actual.get<double>();
  return expected == actual;
}

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

ScriptedHttpServer::ScriptedHttpServer(const nlohmann::json& entries) : server_(std::make_unique<httplib::Server>()) {
  if (!entries.is_array()) throw Error(ErrorCode::invalid_argument, "\"http\" must be an array of requests");
  static const std::set<std::string> kKeys = {"method", "path", "status", "json", "body", "headers", "expect_json"};
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const std::string where = "http[" + std::to_string(i) + "]";
    auto bad = [&](const std::string& why) { return Error(ErrorCode::invalid_argument, where + ": " + why); };
    if (!e.is_object()) throw bad("must be an object");
    for (const auto& [key, value] : e.items()) {
      if (!kKeys.count(key)) throw bad("unknown field \"" + key + "\"");
    }
    Entry entry;
    if (!e.contains("method") || !e["method"].is_string()) throw bad("needs a \"method\" (a string)");
    if (!e.contains("path") || !e["path"].is_string() || e["path"].get<std::string>().rfind('/', 0) != 0)
      throw bad("needs a \"path\" starting with /");
    entry.method = upper(e["method"].get<std::string>());
    entry.path = e["path"].get<std::string>();
    if (e.contains("status")) {
      if (!e["status"].is_number_integer() || e["status"].get<int>() < 100 || e["status"].get<int>() > 599)
        throw bad("\"status\" must be an HTTP status code");
      entry.status = e["status"].get<int>();
    }
    if (e.contains("json") && e.contains("body")) throw bad("give \"json\" or \"body\", not both");
    if (e.contains("json")) {
      entry.body = e["json"].dump();
      entry.content_type = "application/json";
    } else if (e.contains("body")) {
      if (!e["body"].is_string()) throw bad("\"body\" must be a string (use \"json\" for JSON)");
      entry.body = e["body"].get<std::string>();
      entry.content_type = "text/plain";
    }
    entry.headers = e.value("headers", nlohmann::json::object());
    if (!entry.headers.is_object()) throw bad("\"headers\" must be an object of strings");
    for (const auto& [name, value] : entry.headers.items()) {
      if (!value.is_string()) throw bad("header \"" + name + "\" must be a string");
    }
    if (e.contains("expect_json")) entry.expect_json = e["expect_json"];
    entries_.push_back(std::move(entry));
  }

  auto& s = *server_;
  s.set_tcp_nodelay(true);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string seen = req.method + " " + req.path;
    std::lock_guard<std::mutex> lock(mu_);
    if (next_ >= entries_.size()) {
      failures_.push_back("an unexpected HTTP request " + seen + " (the fixture scripts " +
                          std::to_string(entries_.size()) + ")");
      log_.push_back(seen + " -> 500 (not in the script)");
      res.status = 500;
      res.set_content(R"({"error":"not in the fixture's http script"})", "application/json");
      return;
    }
    const size_t index = next_++;
    const Entry& entry = entries_[index];
    const std::string where = "HTTP request " + std::to_string(index + 1);
    // The script's path may carry a query string; compare like for like.
    const bool with_query = entry.path.find('?') != std::string::npos;
    std::string target = req.path;
    if (with_query && !req.params.empty()) {
      const auto q = req.target.find('?');
      if (q != std::string::npos) target += req.target.substr(q);
    }
    if (req.method != entry.method || target != entry.path) {
      failures_.push_back(where + ": expected " + entry.method + " " + entry.path + ", got " + req.method + " " +
                          target);
    } else if (!entry.expect_json.is_null()) {
      const auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded()) {
        failures_.push_back(where + " (" + seen + "): expected a JSON body holding " + entry.expect_json.dump() +
                            ", got " + (req.body.empty() ? std::string("an empty body") : "\"" + req.body + "\""));
      } else if (!json_subset(entry.expect_json, body)) {
        failures_.push_back(where + " (" + seen + "): expected the JSON body to hold " + entry.expect_json.dump() +
                            ", got " + body.dump());
      }
    }
    log_.push_back(seen + " -> " + std::to_string(entry.status));
    res.status = entry.status;
    for (const auto& [name, value] : entry.headers.items()) res.set_header(name, value.get<std::string>());
    if (!entry.content_type.empty()) res.set_content(entry.body, entry.content_type.c_str());
  };
  s.Get(".*", handler);
  s.Post(".*", handler);
  s.Put(".*", handler);
  s.Patch(".*", handler);
  s.Delete(".*", handler);
  s.Options(".*", handler);
  port_ = s.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw Error(ErrorCode::unavailable, "cannot start the fixture's HTTP server on 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ScriptedHttpServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> ScriptedHttpServer::take_log() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(log_, {});
}

std::vector<std::string> ScriptedHttpServer::take_failures() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(failures_, {});
}

size_t ScriptedHttpServer::answered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_;
}

}  // namespace sb::app

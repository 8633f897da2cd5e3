#pragma once
// A local HTTP server that plays a conversation fixture's "http" script
// (docs/flows.md, "Testing a flow offline"): each entry answers one request,
// in order, and checks it (method, path, and expect_json as a subset of the
// request's JSON body). What does not match is answered all the same (so the
// flow goes on) and recorded as a failure for the test to report.
//
//   {"method": "POST", "path": "/leads", "status": 201, "json": {"ok": true},
//    "expect_json": {"email": "ada@example.com"}}
//
// An entry may give "body" (a string) instead of "json", and "headers".
//
// Threads: requests are answered on the server's own threads; the members
// are thread-safe.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace sb::app {

// True when `actual` holds everything `expected` says: objects by their
// given keys (recursively), arrays element by element with the same length,
// anything else equal (numbers by value).
bool json_subset(const nlohmann::json& expected, const nlohmann::json& actual);

class ScriptedHttpServer {
 public:
  // Checks the entries (invalid_argument naming the entry and field) and
  // listens on a free loopback port.
  explicit ScriptedHttpServer(const nlohmann::json& entries);
  ~ScriptedHttpServer();  // stops and joins
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  // "http://127.0.0.1:<port>"
  std::string base_url() const;

  // Lines for the transcript about requests answered since the last call
  // ("POST /leads -> 201").
  std::vector<std::string> take_log();
  // What went wrong since the last call: a request that did not match its
  // entry, or one that came after the script ran out.
  std::vector<std::string> take_failures();

  size_t expected() const { return entries_.size(); }
  size_t answered() const;

 private:
  struct Entry {
    std::string method, path;
    int status = 200;
    std::string body, content_type;
    nlohmann::json headers;      // object of string values
    nlohmann::json expect_json;  // null: not checked
  };

  std::vector<Entry> entries_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  size_t next_ = 0;
  std::vector<std::string> log_, failures_;
};

}  // namespace sb::app

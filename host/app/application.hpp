#pragma once
// The composition root: builds every room in dependency order (core <-
// plugins <- store <- messaging <- api), wires the seams between them, and
// takes them down in reverse order.
#include "core/config.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace sb::app {

// The demo workspace's "ping" flow (a keyword flow answering ping with
// pong), as the demo seeds it into <flows_dir>/demo/ping.flow.json.
std::string_view demo_ping_flow();

class Application {
 public:
  explicit Application(Config config);
  ~Application();  // stop()
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

  // Loads plugins, opens and migrates the database, seeds the demo
  // workspace when configured, starts messaging and the HTTP server.
  // Throws sb::Error with a message for the operator when anything fails.
  void start();
  // Blocks until SIGINT or SIGTERM.
  void wait_for_signal();
  // Stops accepting requests, drains the senders, closes the database.
  void stop();

  uint16_t port() const;
  const Config& config() const { return config_; }

 private:
  struct Rooms;
  Config config_;
  std::unique_ptr<Rooms> rooms_;
};


}  // namespace sb::app

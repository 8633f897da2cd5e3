#pragma once
// Runs the real `switchboard serve` executable as a child process on a free
// loopback port with its own data directory, for end-to-end tests.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>

namespace sb::test {

// A loopback port nobody listens on right now.
uint16_t free_port();

class HostProcess {
 public:
  explicit HostProcess(std::filesystem::path data_dir, std::map<std::string, std::string> extra_env = {});
  ~HostProcess();  // SIGKILL if still running
  HostProcess(const HostProcess&) = delete;
  HostProcess& operator=(const HostProcess&) = delete;

  // Starts the host and waits until GET /ready answers 200 (fails the test
  // with the host's log tail after `timeout_ms`).
  void start(int timeout_ms = 20000);
  // SIGTERM and wait: a clean shutdown.
  void stop();
  // SIGKILL and wait: a crash.
  void kill9();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::filesystem::path db_path() const { return data_dir_ / "switchboard.db"; }
  std::string log_tail(size_t bytes = 4000) const;

  // A fresh client with TCP_NODELAY and short timeouts.
  std::unique_ptr<httplib::Client> client() const;

 private:
  std::filesystem::path data_dir_;
  std::map<std::string, std::string> env_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// Posts a sandbox inbound message to profile `profile`.
httplib::Result post_inbound(httplib::Client& client, const nlohmann::json& body, const std::string& profile = "demo");

}  // namespace sb::test

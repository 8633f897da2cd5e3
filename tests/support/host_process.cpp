#include "support/host_process.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace sb::test {

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

HostProcess::HostProcess(std::filesystem::path data_dir, std::map<std::string, std::string> extra_env)
    : data_dir_(std::move(data_dir)), env_(std::move(extra_env)) {}

HostProcess::~HostProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::unique_ptr<httplib::Client> HostProcess::client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(15, 0);
  c->set_write_timeout(15, 0);
  return c;
}

std::string HostProcess::log_tail(size_t bytes) const {
  std::ifstream in(data_dir_ / "host.log");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

void HostProcess::start(int timeout_ms) {
  REQUIRE(pid_ <= 0);
  std::filesystem::create_directories(data_dir_);
  port_ = free_port();
  std::map<std::string, std::string> env = {
      {"SWITCHBOARD_DATA_DIR", data_dir_.string()},
      {"SWITCHBOARD_LISTEN", "127.0.0.1:" + std::to_string(port_)},
      {"SWITCHBOARD_LOG_LEVEL", "info"},
  };
  for (const auto& [k, v] : env_) env[k] = v;
  const std::string log_path = (data_dir_ / "host.log").string();

  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    // Only what the test says: nothing inherited from the developer's shell.
    ::unsetenv("SWITCHBOARD_CONFIG");
    ::unsetenv("SWITCHBOARD_PLUGIN_PATH");
    ::unsetenv("SWITCHBOARD_LOG_FORMAT");
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execl(SB_SWITCHBOARD_EXE, SB_SWITCHBOARD_EXE, "serve", static_cast<char*>(nullptr));
    std::_Exit(127);
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("the host exited during start-up; its log:\n" << log_tail());
    }
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(0, 200000);
    if (auto res = c.Get("/ready"); res && res->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("the host did not become ready in " << timeout_ms << " ms; its log:\n" << log_tail());
}

void HostProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  INFO("host exit status " << status << (WIFSIGNALED(status) ? " (killed by signal " + std::to_string(WTERMSIG(status)) + ")" : "")
                           << "; its log:\n" << log_tail());
  CHECK(WIFEXITED(status));
  if (WIFEXITED(status)) CHECK(WEXITSTATUS(status) == 0);
}

void HostProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

httplib::Result post_inbound(httplib::Client& client, const nlohmann::json& body, const std::string& profile) {
  return client.Post(("/hooks/channel-sandbox/" + profile + "/inbound").c_str(), body.dump(), "application/json");
}

}  // namespace sb::test

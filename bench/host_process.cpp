#include "host_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

extern char** environ;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace bench {

HostProcess::~HostProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void HostProcess::start(const HostLaunch& launch) {
  std::vector<std::string> args{launch.executable, "serve"};
  args.insert(args.end(), launch.serve_args.begin(), launch.serve_args.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The child's environment is built here: between fork and exec only
  // async-signal-safe calls are allowed (the bench already has threads).
  std::vector<std::string> ours{"SWITCHBOARD_DATA_DIR=", "SWITCHBOARD_LISTEN=", "SWITCHBOARD_LOG_LEVEL=",
                                "SWITCHBOARD_CONFIG="};
  for (const auto& entry : launch.env) ours.push_back(entry.substr(0, entry.find('=') + 1));
  std::vector<std::string> env;
  for (char** entry = environ; *entry; ++entry) {
    const std::string_view text(*entry);
    bool replaced = false;
    for (const auto& name : ours) replaced = replaced || text.rfind(name, 0) == 0;
    if (!replaced) env.emplace_back(text);
  }
  env.insert(env.end(), launch.env.begin(), launch.env.end());
  env.push_back("SWITCHBOARD_DATA_DIR=" + launch.data_dir.string());
  env.push_back("SWITCHBOARD_LISTEN=127.0.0.1:" + std::to_string(launch.port));
  env.push_back("SWITCHBOARD_LOG_LEVEL=" + launch.log_level);
  if (launch.config) env.push_back("SWITCHBOARD_CONFIG=" + *launch.config);
  std::vector<char*> envp;
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);

  const int log_fd = ::open(launch.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot create " + launch.log_path.string() + ": " + std::strerror(errno));
  static constexpr char kExecFailed[] = "bench: cannot execute the host\n";
  const pid_t parent = ::getpid();

  const pid_t child = ::fork();
  if (child < 0) {
    ::close(log_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    // Own process group: a Ctrl-C reaches the bench, which then stops the
    // host cleanly. If the bench dies, the host goes with it.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, kExecFailed, sizeof kExecFailed - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = child;
}

bool HostProcess::running() {
  if (pid_ <= 0 || exited_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    record_exit(status);
    return false;
  }
  return true;
}

std::string HostProcess::stop() {
  if (!running()) return "had already exited (" + exit_description_ + ")";
  const auto begin = Clock::now();
  ::kill(pid_, SIGTERM);
  while (Clock::now() - begin < kHostStopGrace) {
    if (!running()) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count();
      return "stopped by SIGTERM in " + std::to_string(ms) + " ms (" + exit_description_ + ")";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  record_exit(status);
  return "did not stop within " + std::to_string(kHostStopGrace.count()) + " s of SIGTERM; killed";
}

void HostProcess::record_exit(int status) {
  exited_ = true;
  if (WIFEXITED(status)) {
    exit_description_ = "exit status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    exit_description_ = std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
  } else {
    exit_description_ = "ended";
  }
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error(std::string("finding a free port: ") + std::strerror(error));
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

fs::path own_directory() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::current_path() : self.parent_path();
}

std::string tail_of_file(const fs::path& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string text;
  for (const auto& line : last) text += "  | " + line + "\n";
  return text;
}

std::optional<long> peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return std::nullopt;
}

std::optional<double> cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // Fields after the command name (which may hold spaces, so skip past its
  // closing parenthesis): state is field 3, utime 14, stime 15.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (n == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (ticks <= 0) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(ticks);
}

std::optional<double> machine_busy_cpu_seconds() {
  std::ifstream in("/proc/stat");
  std::string label;
  // cpu  user nice system idle iowait irq softirq steal ... (in ticks)
  if (!(in >> label) || label != "cpu") return std::nullopt;
  unsigned long long value = 0, busy = 0;
  for (int field = 0; field < 8 && in >> value; ++field) {
    if (field != 3 && field != 4) busy += value;  // not idle, not iowait
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (ticks <= 0) return std::nullopt;
  return static_cast<double>(busy) / static_cast<double>(ticks);
}

}  // namespace bench

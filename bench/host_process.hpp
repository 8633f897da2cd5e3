#pragma once
// A bench's host: a `switchboard serve` child process on a data
// directory and a loopback port of the bench's choosing, plus the small
// /proc and file helpers around it. Failures throw std::runtime_error.
//
// Threads: a HostProcess is used from the bench's main thread only.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace bench {

// How long stop() waits after SIGTERM before SIGKILL.
inline constexpr auto kHostStopGrace = std::chrono::seconds(30);

struct HostLaunch {
  std::string executable;               // the switchboard binary
  std::vector<std::string> serve_args;  // after "serve"
  std::filesystem::path data_dir;       // SWITCHBOARD_DATA_DIR
  int port = 0;                         // SWITCHBOARD_LISTEN=127.0.0.1:<port>
  std::string log_level = "warn";       // SWITCHBOARD_LOG_LEVEL
  std::optional<std::string> config;    // SWITCHBOARD_CONFIG
  std::filesystem::path log_path;       // the child's stdout and stderr
  // More NAME=value entries for the child (e.g. ENGINE_API_KEY); they
  // replace the bench's own variables of the same names.
  std::vector<std::string> env;
};

class HostProcess {
 public:
  HostProcess() = default;
  HostProcess(const HostProcess&) = delete;
  HostProcess& operator=(const HostProcess&) = delete;
  ~HostProcess();  // SIGKILL if still running

  // Forks and executes the host in its own process group; it dies with the
  // bench (PR_SET_PDEATHSIG).
  void start(const HostLaunch& launch);
  pid_t pid() const { return pid_; }
  // False once the process has exited (and then `exit_description` says how).
  bool running();
  const std::string& exit_description() const { return exit_description_; }
  // SIGTERM, then SIGKILL after kHostStopGrace. Returns what happened.
  std::string stop();

 private:
  void record_exit(int status);

  pid_t pid_ = -1;
  bool exited_ = false;
  std::string exit_description_;
};

// A loopback port that was free a moment ago (the host binds it right after).
int free_loopback_port();
// The directory of the running executable (the current one if unknown).
std::filesystem::path own_directory();
// The last `lines` lines of a file, each indented with "  | ".
std::string tail_of_file(const std::filesystem::path& path, size_t lines);
// VmHWM (peak resident set) of a process, in KiB.
std::optional<long> peak_rss_kib(pid_t pid);
// CPU time (user + system, all threads) a process has used so far, in
// seconds; on a busy machine CPU per message compares runs better than
// messages per second.
std::optional<double> cpu_seconds(pid_t pid);
// CPU time all processes of the machine have used so far (every core's
// non-idle time in /proc/stat), in seconds: what the host and the bench did
// not use of it tells how busy the neighbours kept the machine.
std::optional<double> machine_busy_cpu_seconds();

}  // namespace bench

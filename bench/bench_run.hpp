#pragma once
// What every load bench needs around its load: the Ctrl-C flag, a watchdog
// that bounds the whole run, and the latency figures it prints.
//
// Threads: interrupted() may be read from any thread; the rest is used from
// the main thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

Clock::duration from_seconds(double seconds);

// Ignores SIGPIPE (a closed keep-alive socket must not end the bench) and
// turns SIGINT/SIGTERM into interrupted() == true, so the run stops early,
// prints what it has and stops its host cleanly.
void install_signal_handlers();
bool interrupted();

// Ends the process (exit status 3) if it is still alive at `deadline`: a
// hung host or a stuck socket must not keep a bench running forever; a host
// the bench started dies with it (PR_SET_PDEATHSIG).
class Watchdog {
 public:
  explicit Watchdog(Clock::time_point deadline);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog();

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

// The p-th percentile (nearest rank) of sorted latencies in µs, in ms.
double percentile_ms(const std::vector<uint32_t>& sorted_us, double p);
// `value` with `decimals` digits after the point.
std::string fixed(double value, int decimals);

}  // namespace bench

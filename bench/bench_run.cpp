#include "bench_run.hpp"

#include "bench_args.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace bench {

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) { g_interrupted.store(true); }
}  // namespace

Clock::duration from_seconds(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void install_signal_handlers() {
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction interrupt {};
  interrupt.sa_handler = on_interrupt;
  ::sigaction(SIGINT, &interrupt, nullptr);
  ::sigaction(SIGTERM, &interrupt, nullptr);
}

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

Watchdog::Watchdog(Clock::time_point deadline)
    : thread_([this, deadline] {
        std::unique_lock lock(mutex_);
        if (!done_cv_.wait_until(lock, deadline, [this] { return done_; })) {
          std::fprintf(stderr, "%s: watchdog: the run overran its time bound; giving up\n", program_name().c_str());
          std::_Exit(3);
        }
      }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  done_cv_.notify_all();
  thread_.join();
}

double percentile_ms(const std::vector<uint32_t>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted_us.size())));
  return sorted_us[std::min(sorted_us.size() - 1, rank == 0 ? 0 : rank - 1)] / 1000.0;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace bench

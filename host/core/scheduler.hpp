#pragma once
// The host's background executor: one boost::asio::io_context run by a small
// pool of threads, for timers and background work. Thread-safe.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sb {

class Scheduler {
 public:
  explicit Scheduler(unsigned threads = 2);
  ~Scheduler();  // stops and joins
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `fn` soon on a pool thread. Exceptions are logged and dropped.
  void post(std::function<void()> fn);

  // Runs `fn` once after `delay`; returns a timer id for cancel().
  uint64_t schedule(std::chrono::milliseconds delay, std::function<void()> fn);

  // Cancels a pending timer. Returns false if the timer already ran or is
  // unknown; if it is running right now, waits for it to finish first
  // (unless called from that very callback) and returns false.
  bool cancel(uint64_t timer_id);

  // Stops accepting work, cancels pending timers and joins the threads.
  void stop();

  boost::asio::io_context& io() { return io_; }

 private:
  struct Timer;
  boost::asio::io_context io_;
  std::unique_ptr<void, void (*)(void*)> guard_;  // keeps io_ running while idle
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Timer>> timers_;
  uint64_t next_id_ = 1;
  bool stopped_ = false;
};

}  // namespace sb

#pragma once
// Polls `done` until it holds or `timeout` passes; returns its last answer.
// For outcomes that arrive on other threads (receipts, senders, restarts).
#include <chrono>
#include <functional>
#include <thread>

namespace sb::test {

inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace sb::test

#include "tenancy/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace sb::tenancy {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

RateLimiter::RateLimiter(double rate, double burst, std::function<double()> clock)
    : rate_(rate), burst_(std::max(1.0, burst)), clock_(std::move(clock)) {}

double RateLimiter::now() const { return clock_ ? clock_() : steady_seconds(); }

void RateLimiter::prune(double at) {
  if (at - last_prune_ < 60) return;
  last_prune_ = at;
  const double full_after = burst_ / rate_;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (at - it->second.at > full_after) it = buckets_.erase(it);
    else ++it;
  }
}

std::optional<double> RateLimiter::take(const std::string& key) {
  if (rate_ <= 0) return std::nullopt;
  const double at = now();
  std::lock_guard<std::mutex> lock(mu_);
  prune(at);
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, at});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + (at - b.at) * rate_);
    b.at = at;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  return (1.0 - b.tokens) / rate_;
}

LoginThrottle::LoginThrottle(int free_failures, double max_delay_seconds, std::function<double()> clock)
    : free_(free_failures), max_delay_(max_delay_seconds), clock_(std::move(clock)) {}

double LoginThrottle::now() const { return clock_ ? clock_() : steady_seconds(); }

std::optional<double> LoginThrottle::check(const std::string& identity) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(identity);
  if (it == entries_.end() || it->second.failures < free_) return std::nullopt;
  const double delay = std::min(max_delay_, std::pow(2.0, it->second.failures - free_));
  const double wait = it->second.last + delay - now();
  if (wait <= 0) return std::nullopt;
  return wait;
}

void LoginThrottle::failed(const std::string& identity) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& e = entries_[identity];
  ++e.failures;
  e.last = now();
  if (entries_.size() > 100000) entries_.clear();  // a flood of made-up identities: forget rather than grow
}

void LoginThrottle::succeeded(const std::string& identity) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(identity);
}

}  // namespace sb::tenancy

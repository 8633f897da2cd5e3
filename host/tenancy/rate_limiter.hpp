#pragma once
// Token buckets by key: `rate` tokens a second refill a bucket of `burst`;
// a request takes one. What the API uses for per-key, per-user and
// per-login-identity limits (429 with Retry-After), and LoginThrottle for
// the slowing after repeated failed logins.
//
// Threads: one mutex per limiter; safe from any thread. Buckets idle long
// enough to be full again are dropped, so memory stays bounded by the
// number of recently active keys.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace sb::tenancy {

class RateLimiter {
 public:
  // `clock`: seconds (steady); tests move it.
  RateLimiter(double rate, double burst, std::function<double()> clock = {});
  // nullopt when allowed (a token was taken), else the seconds until one is free.
  std::optional<double> take(const std::string& key);
  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens;
    double at;
  };
  double now() const;
  void prune(double at);
  double rate_, burst_;
  std::function<double()> clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  double last_prune_ = 0;
};

// After `free_failures` failed logins for one identity, each further attempt
// must wait 2^(failures - free_failures) seconds (at most `max_delay`) since
// the last failure; a success clears the count.
class LoginThrottle {
 public:
  LoginThrottle(int free_failures = 5, double max_delay_seconds = 900, std::function<double()> clock = {});
  // nullopt when an attempt may be made now, else the seconds to wait.
  std::optional<double> check(const std::string& identity);
  void failed(const std::string& identity);
  void succeeded(const std::string& identity);

 private:
  struct Entry {
    int failures = 0;
    double last = 0;
  };
  double now() const;
  int free_;
  double max_delay_;
  std::function<double()> clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace sb::tenancy

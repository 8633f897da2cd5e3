#include "core/scheduler.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>

namespace sb {

namespace {
thread_local uint64_t t_running_timer = 0;

void run_guarded(const std::function<void()>& fn, const char* what) {
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", what, e.what());
  } catch (...) {
    spdlog::error("{} failed with an unknown exception", what);
  }
}
}  // namespace

struct Scheduler::Timer {
  explicit Timer(boost::asio::io_context& io) : timer(io) {}
  enum class State { pending, running, done };
  boost::asio::steady_timer timer;
  std::function<void()> fn;
  State state = State::pending;
  std::mutex mu;
  std::condition_variable cv;
};

using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

Scheduler::Scheduler(unsigned threads)
    : guard_(new WorkGuard(io_.get_executor()), [](void* p) { delete static_cast<WorkGuard*>(p); }) {
  if (threads == 0) threads = 1;
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::post(std::function<void()> fn) {
  boost::asio::post(io_, [fn = std::move(fn)] { run_guarded(fn, "background task"); });
}

uint64_t Scheduler::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<Timer>(io_);
  timer->fn = std::move(fn);
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return 0;
    id = next_id_++;
    timers_.emplace(id, timer);
  }
  timer->timer.expires_after(delay);
  timer->timer.async_wait([this, id, timer](const boost::system::error_code& ec) {
    {
      std::lock_guard lock(timer->mu);
      if (ec || timer->state != Timer::State::pending) return;
      timer->state = Timer::State::running;
    }
    t_running_timer = id;
    run_guarded(timer->fn, "timer");
    t_running_timer = 0;
    {
      std::lock_guard lock(timer->mu);
      timer->state = Timer::State::done;
      timer->fn = nullptr;
    }
    timer->cv.notify_all();
    std::lock_guard lock(mu_);
    timers_.erase(id);
  });
  return id;
}

bool Scheduler::cancel(uint64_t timer_id) {
  std::shared_ptr<Timer> timer;
  {
    std::lock_guard lock(mu_);
    auto it = timers_.find(timer_id);
    if (it == timers_.end()) return false;
    timer = it->second;
  }
  std::unique_lock lock(timer->mu);
  if (timer->state == Timer::State::pending) {
    timer->state = Timer::State::done;
    timer->fn = nullptr;
    timer->timer.cancel();
    lock.unlock();
    std::lock_guard map_lock(mu_);
    timers_.erase(timer_id);
    return true;
  }
  if (timer->state == Timer::State::running && t_running_timer != timer_id) {
    timer->cv.wait(lock, [&] { return timer->state == Timer::State::done; });
  }
  return false;
}

void Scheduler::stop() {
  std::unordered_map<uint64_t, std::shared_ptr<Timer>> pending;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    pending.swap(timers_);
  }
  for (auto& [id, timer] : pending) {
    std::lock_guard lock(timer->mu);
    if (timer->state == Timer::State::pending) {
      timer->state = Timer::State::done;
      timer->timer.cancel();
    }
  }
  guard_.reset();
  io_.stop();
  for (auto& t : threads_) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
  threads_.clear();
}

}  // namespace sb

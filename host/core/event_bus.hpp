#pragma once
// In-process publish/subscribe. publish() calls every matching handler
// synchronously on the publisher's thread, in subscription order; handlers
// must be quick and must not throw (a throwing handler is logged and
// skipped). Subscribing and publishing are thread-safe.
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sb {

struct Event {
  std::string type;           // "message.received", "message.status", "session.status", ...
  std::string workspace_id;   // tenant the event belongs to ("" for engine events)
  std::string profile_id;     // "" when not about a profile
  nlohmann::json data;        // the payload
  int64_t at_ms = 0;          // when it happened
};

class EventBus {
 public:
  using Handler = std::function<void(const Event&)>;

  // A handle that unsubscribes when destroyed.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(EventBus* bus, uint64_t id) : bus_(bus), id_(id) {}
    Subscription(Subscription&& o) noexcept : bus_(o.bus_), id_(o.id_) { o.bus_ = nullptr; }
    Subscription& operator=(Subscription&& o) noexcept;
    ~Subscription();

   private:
    EventBus* bus_ = nullptr;
    uint64_t id_ = 0;
  };

  // `type` is an exact event type or "*" for every event.
  [[nodiscard]] Subscription subscribe(std::string type, Handler handler);
  void publish(const Event& event);

 private:
  struct Entry {
    uint64_t id;
    std::string type;
    std::shared_ptr<Handler> handler;
  };
  void unsubscribe(uint64_t id);

  std::mutex mu_;
  std::vector<Entry> entries_;
  uint64_t next_id_ = 1;
};

}  // namespace sb

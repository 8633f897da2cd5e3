#include "core/event_bus.hpp"

#include <spdlog/spdlog.h>

namespace sb {

EventBus::Subscription& EventBus::Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    if (bus_) bus_->unsubscribe(id_);
    bus_ = o.bus_;
    id_ = o.id_;
    o.bus_ = nullptr;
  }
  return *this;
}

EventBus::Subscription::~Subscription() {
  if (bus_) bus_->unsubscribe(id_);
}

EventBus::Subscription EventBus::subscribe(std::string type, Handler handler) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  entries_.push_back(Entry{id, std::move(type), std::make_shared<Handler>(std::move(handler))});
  return Subscription(this, id);
}

void EventBus::unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  std::erase_if(entries_, [id](const Entry& e) { return e.id == id; });
}

void EventBus::publish(const Event& event) {
  // Copy the matching handlers so that handlers may (un)subscribe.
  std::vector<std::shared_ptr<Handler>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) {
      if (e.type == "*" || e.type == event.type) targets.push_back(e.handler);
    }
  }
  for (const auto& handler : targets) {
    try {
      (*handler)(event);
    } catch (const std::exception& ex) {
      spdlog::error("event handler for {} failed: {}", event.type, ex.what());
    } catch (...) {
      spdlog::error("event handler for {} failed with an unknown exception", event.type);
    }
  }
}

}  // namespace sb

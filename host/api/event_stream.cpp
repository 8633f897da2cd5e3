#include "api/event_stream.hpp"

#include "core/ids.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace sb::api {
namespace {

using nlohmann::json;

// Ids copied out of the ring per lock taken in read_after.
constexpr uint64_t kBatch = 256;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

// The ring: slot (id - 1) % capacity holds event `id` for every id in
// [oldest, latest]; ids are contiguous because only streamed events get one.
struct EventHub::Ring {
  explicit Ring(size_t cap) : capacity(cap), slots(cap) {}

  const size_t capacity;
  mutable std::mutex mu;
  std::condition_variable cv;                                // signalled on push and shutdown
  std::vector<std::shared_ptr<const StreamedEvent>> slots;   // guarded by mu
  uint64_t latest = 0;                                       // guarded by mu
  bool shut_down = false;                                    // guarded by mu

  uint64_t oldest_locked() const {
    if (latest == 0) return 0;
    return latest > capacity ? latest - capacity + 1 : 1;
  }
  const std::shared_ptr<const StreamedEvent>& slot(uint64_t id) const { return slots[(id - 1) % capacity]; }

  void on_event(const Event& e) {
    std::string type = public_type(e.type);
    if (type.empty()) return;
    auto ev = std::make_shared<StreamedEvent>();
    ev->type = std::move(type);
    ev->workspace_id = e.workspace_id;
    ev->profile_id = e.profile_id;
    ev->data = e.data;
    ev->at_ms = e.at_ms != 0 ? e.at_ms : now_ms();
    const char* change = e.type == "conversation.resolved" ? "resolved"
                         : e.type == "handoff.released"    ? "handoff_released"
                                                           : nullptr;
    if (change) {
      if (ev->data.is_null()) ev->data = json::object();
      else if (!ev->data.is_object()) ev->data = json{{"value", std::move(ev->data)}};
      ev->data["change"] = change;
    }
    std::shared_ptr<const StreamedEvent> dropped;  // freed after the lock is released
    {
      std::lock_guard lock(mu);
      ev->id = ++latest;
      auto& s = slots[(ev->id - 1) % capacity];
      dropped = std::exchange(s, std::move(ev));
    }
    cv.notify_all();
  }
};

EventHub::EventHub(EventBus& bus, size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)), ring_(std::make_shared<Ring>(capacity_)) {
  // The handler owns the ring too: the bus may still run it for a publish
  // that began before the subscription is dropped.
  sub_ = bus.subscribe("*", [ring = ring_](const Event& e) { ring->on_event(e); });
}

EventHub::~EventHub() { shutdown(); }

std::string EventHub::public_type(const std::string& bus_type) {
  if (bus_type == "message.received" || bus_type == "message.status" || bus_type == "session.status" ||
      bus_type == "conversation.updated" || bus_type == "flow.execution" || bus_type == "conversation.created" ||
      bus_type == "contact.created" || bus_type == "contact.updated" || bus_type == "contact.imported" ||
      bus_type == "campaign.progress" || bus_type == "sending.breaker" || bus_type.rfind("knowledge.document.", 0) == 0)
    return bus_type;
  if (bus_type == "conversation.resolved" || bus_type == "handoff.released") return "conversation.updated";
  return {};
}

ReadResult EventHub::read_after(uint64_t last_id, const std::function<bool(const StreamedEvent&)>& visible,
                                size_t max, std::chrono::milliseconds wait, bool zero_is_now) {
  Ring& ring = *ring_;
  const size_t limit = std::max<size_t>(max, 1);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  ReadResult r;
  std::vector<std::shared_ptr<const StreamedEvent>> batch;

  std::unique_lock lock(ring.mu);
  uint64_t cursor = last_id;
  if (last_id == 0 && zero_is_now) {
    cursor = ring.latest;  // from now
  } else if (last_id > ring.latest) {
    // An id from an earlier process: everything buffered is new to the caller.
    r.gap = true;
    cursor = ring.latest == 0 ? 0 : ring.oldest_locked() - 1;
  }

  for (;;) {
    if (ring.shut_down) {
      r.shut_down = true;
      break;
    }
    if (cursor < ring.latest) {
      const uint64_t oldest = ring.oldest_locked();
      if (cursor + 1 < oldest) {
        if (!r.events.empty()) break;  // the next call reports the gap
        r.gap = true;
        cursor = oldest - 1;
      }
      const uint64_t end = std::min(ring.latest, cursor + kBatch);
      for (uint64_t id = cursor + 1; id <= end; ++id) batch.push_back(ring.slot(id));
      lock.unlock();
      for (const auto& e : batch) {
        cursor = e->id;
        if (visible(*e)) {
          r.events.push_back(*e);
          if (r.events.size() == limit) break;
        }
      }
      batch.clear();
      lock.lock();
      if (r.events.size() == limit) break;
      continue;
    }
    if (!r.events.empty()) break;
    const bool woken =
        ring.cv.wait_until(lock, deadline, [&] { return ring.shut_down || ring.latest > cursor; });
    if (!woken) break;
  }
  r.last_id = cursor;
  return r;
}

uint64_t EventHub::latest_id() const {
  std::lock_guard lock(ring_->mu);
  return ring_->latest;
}

uint64_t EventHub::oldest_id() const {
  std::lock_guard lock(ring_->mu);
  return ring_->oldest_locked();
}

void EventHub::shutdown() {
  {
    std::lock_guard lock(ring_->mu);
    ring_->shut_down = true;
  }
  ring_->cv.notify_all();
}

bool EventHub::is_shut_down() const {
  std::lock_guard lock(ring_->mu);
  return ring_->shut_down;
}

std::string EventHub::format_sse(const StreamedEvent& event) {
  std::string out;
  out.reserve(128);
  const std::string id = std::to_string(event.id);
  out += "id: " + id + "\nevent: " + event.type + "\ndata: {\"id\":" + id;
  out += ",\"type\":" + dump(event.type);
  out += ",\"workspace_id\":" + dump(event.workspace_id);
  out += ",\"profile_id\":" + dump(event.profile_id);
  out += ",\"data\":" + dump(event.data);
  out += ",\"at\":" + std::to_string(event.at_ms);
  out += "}\n\n";
  return out;
}

std::string EventHub::heartbeat() { return ": heartbeat\n\n"; }

}  // namespace sb::api

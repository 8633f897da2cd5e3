#pragma once
// EventHub: the buffer behind GET /api/v1/events (Server-Sent Events with
// Last-Event-ID resume).
//
// The hub subscribes to every bus event and keeps the last `capacity` of the
// streamed ones, each under a new id: 1, 2, 3, ... in publish order, never
// reused in a process (ids keep growing when the ring wraps). Streamed bus
// types and the type a client sees:
//
//   message.received                    -> message.received
//   message.status                      -> message.status
//   session.status                      -> session.status  {profile_id,status,qr,detail}
//   conversation.updated                -> conversation.updated
//   conversation.resolved               -> conversation.updated + data.change "resolved"
//   handoff.released                    -> conversation.updated + data.change "handoff_released"
//   flow.execution                      -> flow.execution
//
// Every other bus type is ignored (and costs one lookup on the publisher's
// thread). A non-object payload of a mapped type is wrapped as {"value": ...}
// so that "change" has somewhere to go.
//
// Cursors (what read_after takes and returns):
//   - N > 0: "I have seen every event up to id N": events N+1, N+2, ...
//     If N+1 is older than the oldest buffered event, the result says gap
//     and starts at the oldest buffered one.
//   - 0: "from now": exactly read_after(latest_id()), with latest_id() read
//     under the same lock, so an event is either at or before that point
//     (not returned) or after it (returned, or found by the next call).
//     Nothing buffered before the call is returned and gap is false.
//     Caveat: while nothing has ever been streamed, result.last_id is 0 too,
//     and passing that back means "from now" again, so a reader could miss
//     an event published between two such calls (e.g. while it writes a
//     heartbeat). Once any event has been streamed, cursors are never 0.
//     A stream avoids that by resolving "from now" once (latest_id()) and
//     then reading with zero_is_now = false, where 0 means "before id 1".
//   - N > latest_id(): an id from an earlier process (ids restart at 1 when
//     the host restarts). Treated as a gap: everything buffered is returned,
//     from the oldest, since events may have been lost across the restart.
//
// Threads: the bus handler runs on every publisher's thread; it builds the
// StreamedEvent outside the lock, then locks mu_ only to assign the id,
// push it into the ring (dropping the oldest when full) and notify.
// read_after may be called from any number of threads at once: it copies
// shared pointers out of the ring under mu_ and runs `visible` and the copy
// into the result outside it, so a slow filter never holds up publishers.
// The hub must outlive every read_after call in progress (call shutdown()
// and let the SSE handlers end before destroying it); the bus handler holds
// the ring by shared pointer, so a publish racing the destructor is safe.
#include "core/event_bus.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sb::api {

struct StreamedEvent {
  uint64_t id = 0;            // 1, 2, 3, ... per process
  std::string type;           // the public type (see the table above)
  std::string workspace_id;   // "" for engine events
  std::string profile_id;     // "" when not about a profile
  nlohmann::json data;
  int64_t at_ms = 0;          // the bus event's at_ms (now when it had none)
};

struct ReadResult {
  std::vector<StreamedEvent> events;  // ids increasing, all accepted by `visible`
  // The requested cursor was older than the buffer (or from an earlier
  // process): events were lost between it and events.front() / last_id.
  bool gap = false;
  // The cursor to pass to the next read_after: the id of the last event
  // examined, visible or not, so filtered events are not scanned again.
  uint64_t last_id = 0;
  // shutdown() was called: the caller should end its stream.
  bool shut_down = false;
};

class EventHub {
 public:
  // capacity < 1 is treated as 1.
  explicit EventHub(EventBus& bus, size_t capacity = 10000);
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Events with id > last_id (see "Cursors") that `visible` accepts, at most
  // `max` (0 is treated as 1). When none is available it waits up to `wait`
  // in total for new ones, returning as soon as one it accepts arrives, or
  // on shutdown(), or at the deadline with no events (last_id then still
  // advances over events it examined and rejected). A gap is reported on
  // the call that skips the lost events; if events fall out of the ring
  // while a call is collecting, it returns what it has and the next call
  // reports the gap. `visible` is called outside the hub's lock, possibly
  // many times per call; it must not call back into the hub.
  ReadResult read_after(uint64_t last_id, const std::function<bool(const StreamedEvent&)>& visible, size_t max,
                        std::chrono::milliseconds wait,
                        bool zero_is_now = true);

  // The id of the newest streamed event, 0 when none has been streamed yet.
  uint64_t latest_id() const;
  // The id of the oldest event still buffered, 0 when none.
  uint64_t oldest_id() const;
  size_t capacity() const { return capacity_; }

  // Wakes every read_after in progress; every later one returns at once with
  // no events and shut_down set. Events published afterwards are still
  // buffered (cheaply) but no longer delivered. Idempotent.
  void shutdown();
  bool is_shut_down() const;

  // "id: N\nevent: TYPE\ndata: {\"id\",\"type\",\"workspace_id\",
  // \"profile_id\",\"data\",\"at\"}\n\n" — the JSON on one line (newlines in
  // strings are escaped; invalid UTF-8 is replaced with U+FFFD).
  static std::string format_sse(const StreamedEvent& event);
  // An SSE comment line that keeps proxies from closing an idle stream.
  static std::string heartbeat();

  // The public type for a bus type, or "" when the type is not streamed.
  static std::string public_type(const std::string& bus_type);

 private:
  struct Ring;  // guarded by Ring::mu; shared with the bus handler
  const size_t capacity_;
  std::shared_ptr<Ring> ring_;
  EventBus::Subscription sub_;  // last: unsubscribes before ring_ is released
};

}  // namespace sb::api

#include "api/event_stream.hpp"

#include "core/event_bus.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <set>
#include <thread>

using namespace sb;
using sb::api::EventHub;
using sb::api::StreamedEvent;
using namespace std::chrono_literals;

namespace {

const auto kAll = [](const StreamedEvent&) { return true; };

void publish(EventBus& bus, const std::string& type, const std::string& workspace = "ws_a",
             nlohmann::json data = nlohmann::json::object(), const std::string& profile = "pr_1") {
  bus.publish(Event{type, workspace, profile, std::move(data), 1700000000000});
}

std::vector<uint64_t> ids(const api::ReadResult& r) {
  std::vector<uint64_t> out;
  for (const auto& e : r.events) out.push_back(e.id);
  return out;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("event hub: streamed events get strictly increasing ids from 1; other types are ignored",
          "[event_stream]") {
  EventBus bus;
  EventHub hub(bus);
  CHECK(hub.latest_id() == 0);
  CHECK(hub.oldest_id() == 0);

  publish(bus, "message.received", "ws_a", {{"text", "hi"}});
  publish(bus, "contact.tagged");   // not streamed
  publish(bus, "message.inbound");  // not streamed
  publish(bus, "message.status", "ws_a", {{"status", "sent"}});
  publish(bus, "session.status", "ws_a", {{"profile_id", "pr_1"}, {"status", "QR_READY"}, {"qr", "2@abc"},
                                          {"detail", nullptr}});
  publish(bus, "conversation.updated");
  publish(bus, "flow.execution", "ws_a", {{"execution_id", "ex_1"}});

  CHECK(hub.latest_id() == 5);
  const auto r = hub.read_after(0, kAll, 100, 0ms);  // 0 is "from now"
  CHECK(r.events.empty());
  CHECK(r.last_id == 5);
  CHECK_FALSE(r.gap);

  const auto from1 = hub.read_after(1, kAll, 100, 0ms);
  REQUIRE(ids(from1) == range(2, 5));
  CHECK(from1.events[0].type == "message.status");
  CHECK(from1.events[1].type == "session.status");
  CHECK(from1.events[1].data["qr"] == "2@abc");
  CHECK(from1.events[1].data["profile_id"] == "pr_1");
  CHECK(from1.events[1].profile_id == "pr_1");
  CHECK(from1.events[1].workspace_id == "ws_a");
  CHECK(from1.events[1].at_ms == 1700000000000);
  CHECK(from1.events[2].type == "conversation.updated");
  CHECK(from1.events[3].type == "flow.execution");
  CHECK(from1.last_id == 5);

  CHECK(EventHub::public_type("message.received") == "message.received");
  CHECK(EventHub::public_type("handoff.released") == "conversation.updated");
  CHECK(EventHub::public_type("contact.tagged").empty());
  CHECK(EventHub::public_type("campaign.progress") == "campaign.progress");
  CHECK(EventHub::public_type("conversation.created") == "conversation.created");
}

TEST_CASE("event hub: resuming after id N returns exactly N+1.., in batches of max", "[event_stream]") {
  EventBus bus;
  EventHub hub(bus, 100);
  for (int i = 0; i < 20; ++i) publish(bus, "message.received", "ws_a", {{"n", i}});

  const auto r = hub.read_after(7, kAll, 100, 0ms);
  CHECK_FALSE(r.gap);
  REQUIRE(ids(r) == range(8, 20));
  CHECK(r.events.front().data["n"] == 7);
  CHECK(r.last_id == 20);

  // max bounds a batch; last_id is where the next one starts.
  uint64_t cursor = 7;
  std::vector<uint64_t> seen;
  for (;;) {
    const auto b = hub.read_after(cursor, kAll, 4, 0ms);
    if (b.events.empty()) {
      CHECK(b.last_id == cursor);
      break;
    }
    CHECK(b.events.size() <= 4);
    for (const auto& e : b.events) seen.push_back(e.id);
    CHECK(b.last_id == b.events.back().id);
    cursor = b.last_id;
  }
  CHECK(seen == range(8, 20));

  // Caught up: nothing, no gap, and the cursor stays.
  const auto none = hub.read_after(20, kAll, 100, 0ms);
  CHECK(none.events.empty());
  CHECK_FALSE(none.gap);
  CHECK(none.last_id == 20);
}

TEST_CASE("event hub: a cursor older than the ring reports a gap; ids survive the wraparound", "[event_stream]") {
  EventBus bus;
  EventHub hub(bus, 5);
  for (int i = 0; i < 12; ++i) publish(bus, "message.received", "ws_a", {{"n", i}});
  CHECK(hub.latest_id() == 12);
  CHECK(hub.oldest_id() == 8);

  const auto lost = hub.read_after(2, kAll, 100, 0ms);
  CHECK(lost.gap);
  REQUIRE(ids(lost) == range(8, 12));
  CHECK(lost.events.front().data["n"] == 7);  // id 8 is the 8th event, not a reused slot's old one
  CHECK(lost.last_id == 12);

  // The cursor just before the oldest buffered event is no gap.
  const auto edge = hub.read_after(7, kAll, 100, 0ms);
  CHECK_FALSE(edge.gap);
  CHECK(ids(edge) == range(8, 12));

  const auto one_short = hub.read_after(6, kAll, 100, 0ms);
  CHECK(one_short.gap);

  // An id this process never gave out (the host restarted): a gap, and
  // everything buffered.
  const auto stale = hub.read_after(5000, kAll, 100, 0ms);
  CHECK(stale.gap);
  CHECK(ids(stale) == range(8, 12));

  // "From now" is never a gap.
  const auto now = hub.read_after(0, kAll, 100, 0ms);
  CHECK_FALSE(now.gap);
  CHECK(now.last_id == 12);

  // Capacity 0 is treated as 1.
  EventHub tiny(bus, 0);
  CHECK(tiny.capacity() == 1);
  publish(bus, "message.received");
  publish(bus, "message.received");
  CHECK(tiny.latest_id() == 2);
  CHECK(tiny.oldest_id() == 2);
  CHECK(ids(tiny.read_after(1, kAll, 10, 0ms)) == std::vector<uint64_t>{2});
}

TEST_CASE("event hub: a tenant's reader never sees another tenant's events, and skips them once",
          "[event_stream]") {
  EventBus bus;
  EventHub hub(bus);
  std::atomic<int> examined{0};
  const auto only_a = [&](const StreamedEvent& e) {
    ++examined;
    return e.workspace_id == "ws_a";
  };
  for (int i = 0; i < 10; ++i) publish(bus, "message.received", i % 3 == 0 ? "ws_a" : "ws_b", {{"n", i}});
  publish(bus, "message.received", "ws_b");  // the newest is B's

  const auto now = hub.read_after(0, only_a, 100, 0ms);  // from now: nothing
  CHECK(now.events.empty());
  CHECK(now.last_id == 11);

  const auto from_start = hub.read_after(1, only_a, 100, 0ms);  // ids 2..11
  for (const auto& e : from_start.events) CHECK(e.workspace_id == "ws_a");
  CHECK(ids(from_start) == std::vector<uint64_t>{4, 7, 10});
  CHECK(from_start.last_id == 11);  // past B's last event: it is not scanned again

  examined = 0;
  const auto again = hub.read_after(from_start.last_id, only_a, 100, 0ms);
  CHECK(again.events.empty());
  CHECK(examined == 0);

  // max counts visible events only; last_id stops at the last one returned.
  const auto two = hub.read_after(1, only_a, 1, 0ms);
  CHECK(ids(two) == std::vector<uint64_t>{4});
  CHECK(two.last_id == 4);

  // A waiting reader is not returned by another tenant's event; it goes on
  // waiting and returns with its own.
  const uint64_t start = hub.latest_id();
  auto reader = std::async(std::launch::async, [&] { return hub.read_after(start, only_a, 100, 60s); });
  publish(bus, "message.received", "ws_b", {{"secret", true}});
  std::this_thread::sleep_for(20ms);
  publish(bus, "message.received", "ws_a", {{"mine", true}});
  REQUIRE(reader.wait_for(10s) == std::future_status::ready);
  const auto got = reader.get();
  REQUIRE(got.events.size() == 1);
  CHECK(got.events[0].workspace_id == "ws_a");
  CHECK(got.events[0].data["mine"] == true);
  CHECK(got.last_id == start + 2);
}

TEST_CASE("event hub: a waiting reader is woken by a publish from another thread", "[event_stream]") {
  EventBus bus;
  EventHub hub(bus);
  publish(bus, "message.received");
  const uint64_t start = hub.latest_id();

  auto reader = std::async(std::launch::async, [&] { return hub.read_after(start, kAll, 100, 60s); });
  std::thread publisher([&] {
    std::this_thread::sleep_for(20ms);
    publish(bus, "message.status", "ws_a", {{"status", "delivered"}});
  });
  REQUIRE(reader.wait_for(10s) == std::future_status::ready);  // long before the 60 s wait ends
  publisher.join();
  const auto r = reader.get();
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].id == start + 1);
  CHECK(r.events[0].type == "message.status");
  CHECK_FALSE(r.shut_down);

  // "From now" waits too, and gets only what comes after the call: keep
  // publishing until the reader (whenever it began) has something.
  const uint64_t before = hub.latest_id();
  auto fresh = std::async(std::launch::async, [&] { return hub.read_after(0, kAll, 100, 60s); });
  for (int i = 0; i < 500 && fresh.wait_for(20ms) != std::future_status::ready; ++i)
    publish(bus, "flow.execution", "ws_a", {{"execution_id", "ex_" + std::to_string(i)}});
  REQUIRE(fresh.wait_for(10s) == std::future_status::ready);
  const auto f = fresh.get();
  REQUIRE_FALSE(f.events.empty());
  CHECK(f.events.front().id > before);
  CHECK(f.events.front().type == "flow.execution");

  // A wait that sees nothing returns at its deadline with no events.
  const auto quiet = hub.read_after(hub.latest_id(), kAll, 100, 10ms);
  CHECK(quiet.events.empty());
  CHECK(quiet.last_id == hub.latest_id());
}

TEST_CASE("event hub: shutdown wakes every waiter and later reads return at once", "[event_stream]") {
  EventBus bus;
  EventHub hub(bus);
  publish(bus, "message.received");
  std::vector<std::future<api::ReadResult>> readers;
  for (int i = 0; i < 4; ++i)
    readers.push_back(std::async(std::launch::async, [&] { return hub.read_after(hub.latest_id(), kAll, 10, 60s); }));
  std::this_thread::sleep_for(20ms);
  hub.shutdown();
  for (auto& reader : readers) {
    REQUIRE(reader.wait_for(10s) == std::future_status::ready);
    const auto r = reader.get();
    CHECK(r.shut_down);
    CHECK(r.events.empty());
  }
  CHECK(hub.is_shut_down());
  auto later = std::async(std::launch::async, [&] { return hub.read_after(0, kAll, 10, 60s); });
  REQUIRE(later.wait_for(10s) == std::future_status::ready);
  CHECK(later.get().shut_down);
  hub.shutdown();  // idempotent
}

TEST_CASE("event hub: conversation.resolved and handoff.released become conversation.updated with a change",
          "[event_stream]") {
  EventBus bus;
  EventHub hub(bus);
  publish(bus, "message.received");
  bus.publish(Event{"conversation.resolved", "ws_a", "", {{"conversation_id", "cv_1"}}, 1700000000001});
  bus.publish(Event{"handoff.released", "ws_a", "", {{"conversation_id", "cv_2"}}, 1700000000002});
  bus.publish(Event{"conversation.resolved", "ws_a", "", nullptr, 0});

  const auto r = hub.read_after(1, kAll, 10, 0ms);
  REQUIRE(r.events.size() == 3);
  CHECK(r.events[0].type == "conversation.updated");
  CHECK(r.events[0].data == nlohmann::json{{"conversation_id", "cv_1"}, {"change", "resolved"}});
  CHECK(r.events[0].profile_id.empty());
  CHECK(r.events[0].at_ms == 1700000000001);
  CHECK(r.events[1].type == "conversation.updated");
  CHECK(r.events[1].data == nlohmann::json{{"conversation_id", "cv_2"}, {"change", "handoff_released"}});
  CHECK(r.events[2].data == nlohmann::json{{"change", "resolved"}});
  CHECK(r.events[2].at_ms > 0);  // a bus event without a time gets now
}

TEST_CASE("event hub: SSE framing and heartbeat", "[event_stream]") {
  StreamedEvent e;
  e.id = 42;
  e.type = "message.received";
  e.workspace_id = "ws_a";
  e.profile_id = "pr_1";
  e.data = {{"text", "two\nlines \"quoted\""}};
  e.at_ms = 1700000000000;
  const std::string sse = EventHub::format_sse(e);
  CHECK(sse ==
        "id: 42\nevent: message.received\ndata: "
        "{\"id\":42,\"type\":\"message.received\",\"workspace_id\":\"ws_a\",\"profile_id\":\"pr_1\","
        "\"data\":{\"text\":\"two\\nlines \\\"quoted\\\"\"},\"at\":1700000000000}\n\n");
  // The data line is one JSON document.
  const auto data_at = sse.find("data: ") + 6;
  const auto line = sse.substr(data_at, sse.find('\n', data_at) - data_at);
  const auto doc = nlohmann::json::parse(line);
  CHECK(doc["data"]["text"] == "two\nlines \"quoted\"");
  CHECK(doc["id"] == 42);

  e.data = {{"bad", std::string("\xff\xfe")}};  // invalid UTF-8 does not throw
  CHECK_NOTHROW(EventHub::format_sse(e));
  CHECK(EventHub::heartbeat() == ": heartbeat\n\n");
}

TEST_CASE("event hub: concurrent publishers and a reader see every id once, in order", "[event_stream]") {
  EventBus bus;
  EventHub hub(bus, 100000);
  publish(bus, "message.received");  // the reader resumes after id 1
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::atomic<bool> go{false};
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < kEach; ++i) publish(bus, "message.received", "ws_" + std::to_string(t), {{"i", i}});
    });
  }
  auto reader = std::async(std::launch::async, [&] {
    std::vector<uint64_t> seen;
    uint64_t cursor = 1;
    while (seen.size() < static_cast<size_t>(kThreads * kEach)) {
      const auto r = hub.read_after(cursor, kAll, 300, 5s);
      if (r.events.empty()) break;  // stalled
      CHECK_FALSE(r.gap);
      for (const auto& e : r.events) seen.push_back(e.id);
      cursor = r.last_id;
    }
    return seen;
  });
  go = true;
  for (auto& p : publishers) p.join();
  REQUIRE(reader.wait_for(30s) == std::future_status::ready);
  const auto seen = reader.get();
  CHECK(seen == range(2, kThreads * kEach + 1));
  CHECK(hub.latest_id() == static_cast<uint64_t>(kThreads * kEach + 1));
}

TEST_CASE("event hub: destroying the hub unsubscribes it", "[event_stream]") {
  EventBus bus;
  {
    EventHub hub(bus);
    publish(bus, "message.received");
    CHECK(hub.latest_id() == 1);
  }
  CHECK_NOTHROW(publish(bus, "message.received"));
}

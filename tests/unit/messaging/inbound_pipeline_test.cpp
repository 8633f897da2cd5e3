// The inbound pipeline, driven through the real sandbox channel's hook route
// (and, for input the sandbox itself would refuse, through the event sink).
#include "support/error_code.hpp"
#include "core/error.hpp"
#include "messaging_test_host.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

using nlohmann::json;
using sb::ErrorCode;
using sb::test::code_of;
using sb::test::EventRecorder;
using sb::test::MessagingHost;
using sb::test::TempDir;

namespace {

// The count of every row the inbound pipeline writes.
int64_t rows_written(MessagingHost& host) {
  return host.count("SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM contacts) + "
                    "(SELECT COUNT(*) FROM conversations) AS n");
}

}  // namespace

TEST_CASE("an inbound message injected twice with the same id is stored once", "[messaging][inbound]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  EventRecorder recorder(host.bus, {"message.received"});
  host.messaging->start();

  const json body = {{"from", "+15551234567"}, {"name", "Ana"}, {"text", "hi"}, {"id", "wamid-1"}};
  auto first = host.inject("p1", body);
  auto second = host.inject("p1", body);
  REQUIRE(first.status == 200);
  REQUIRE(second.status == 200);
  const json a = json::parse(first.body);
  const json b = json::parse(second.body);

  CHECK(a["duplicate"] == false);
  CHECK(b["duplicate"] == true);
  CHECK(a["message_id"] == b["message_id"]);
  CHECK(a["conversation_id"] == b["conversation_id"]);
  CHECK(a["contact_id"] == b["contact_id"]);

  CHECK(host.count("SELECT COUNT(*) AS n FROM messages WHERE profile_id = 'p1'") == 1);
  CHECK(host.count("SELECT COUNT(*) AS n FROM contacts") == 1);
  CHECK(host.count("SELECT COUNT(*) AS n FROM conversations") == 1);
  auto msg = host.row("SELECT * FROM messages WHERE id = ?", {a["message_id"].get<std::string>()});
  REQUIRE(msg);
  CHECK(msg->text("direction") == "in");
  CHECK(msg->text("status") == "received");
  CHECK(msg->text("external_id") == "wamid-1");
  CHECK(msg->text("text") == "hi");
  CHECK(msg->text("organization_id") == sb::test::kOrg);
  CHECK(msg->text("workspace_id") == sb::test::kWorkspace);
  auto contact = host.row("SELECT * FROM contacts");
  CHECK(contact->text("phone") == "+15551234567");
  CHECK(contact->text("name") == "Ana");
  auto conversation = host.row("SELECT * FROM conversations");
  CHECK(conversation->text("status") == "open");
  CHECK(conversation->integer("last_message_at") == msg->integer("created_at"));

  // Only the first delivery is news.
  auto received = recorder.events();
  REQUIRE(received.size() == 1);
  CHECK(received[0].workspace_id == sb::test::kWorkspace);
  CHECK(received[0].profile_id == "p1");
  CHECK(received[0].data["id"] == a["message_id"]);
  CHECK(received[0].data["from"] == "+15551234567");
  CHECK(received[0].data["text"] == "hi");
}

TEST_CASE("a second message from the same sender joins the same contact and conversation", "[messaging][inbound]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  host.messaging->start();

  auto a = json::parse(host.inject("p1", {{"from", "+15551234567"}, {"text", "one"}}).body);
  auto b = json::parse(host.inject("p1", {{"from", "+15551234567"}, {"text", "two"}}).body);
  auto c = json::parse(host.inject("p1", {{"from", "+15559876543"}, {"text", "someone else"}}).body);

  CHECK(a["message_id"] != b["message_id"]);
  CHECK(a["contact_id"] == b["contact_id"]);
  CHECK(a["conversation_id"] == b["conversation_id"]);
  CHECK(c["contact_id"] != a["contact_id"]);
  CHECK(c["conversation_id"] != a["conversation_id"]);
  CHECK(host.count("SELECT COUNT(*) AS n FROM contacts") == 2);
  CHECK(host.count("SELECT COUNT(*) AS n FROM conversations") == 2);
}

TEST_CASE("bad inbound input is refused with a clear error and nothing is written", "[messaging][inbound]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  host.seed_profile("other", "messaging-flaky-channel", json::object());
  host.messaging->start();
  auto& sink = host.messaging->event_sink();
  const json good = {{"external_id", "x1"}, {"from", "+15551234567"}, {"from_name", "Ana"},
                     {"type", "text"},      {"text", "hi"},           {"timestamp", 1700000000}};

  SECTION("through the sandbox route: missing from, missing text, unknown profile") {
    CHECK(host.inject("p1", {{"text", "hi"}}).status == 400);
    CHECK(host.inject("p1", {{"from", "+15551234567"}}).status == 400);
    CHECK(host.inject("p1", {{"from", "+15551234567"}, {"text", ""}}).status == 400);
    CHECK(code_of([&] { host.inject("nobody", {{"from", "+15551234567"}, {"text", "hi"}}); }) ==
          ErrorCode::not_found);
    CHECK(rows_written(host) == 0);
  }

  SECTION("through the pipeline itself") {
    auto refused = [&](json event, std::string_view type = "message.inbound",
                       const std::string& profile = "p1", const std::string& plugin = "channel-sandbox") {
      return code_of([&] { sink.on_plugin_event(plugin, profile, type, event); });
    };
    json e = good;
    e.erase("from");
    CHECK(refused(e) == ErrorCode::invalid_argument);
    e = good;
    e["from"] = "15551234567";  // no "+": not E.164
    CHECK(refused(e) == ErrorCode::invalid_argument);
    e = good;
    e["from"] = 15551234567;
    CHECK(refused(e) == ErrorCode::invalid_argument);
    e = good;
    e.erase("text");
    CHECK(refused(e) == ErrorCode::invalid_argument);
    e = good;
    e["text"] = "   ";
    CHECK(refused(e) == ErrorCode::invalid_argument);
    e = good;
    e.erase("external_id");
    CHECK(refused(e) == ErrorCode::invalid_argument);
    e = good;
    e["type"] = "hologram";
    CHECK(refused(e) == ErrorCode::invalid_argument);
    CHECK(refused(json::array()) == ErrorCode::invalid_argument);
    CHECK(refused(good, "message.teleported") == ErrorCode::invalid_argument);
    CHECK(refused(good, "message.inbound", "nobody") == ErrorCode::not_found);
    // A plugin speaks only for its own profiles, for every kind of event
    // (receipts go through the pipeline's cache of profile identities).
    CHECK(refused(good, "message.inbound", "other") == ErrorCode::not_found);
    const json receipt = {{"external_id", "x1"}, {"status", "read"}};
    CHECK(refused(receipt, "message.status", "other") == ErrorCode::not_found);
    CHECK(refused(receipt, "message.status", "p1", "messaging-flaky-channel") == ErrorCode::not_found);
    CHECK(refused({{"status", "CONNECTED"}}, "session.status", "other") == ErrorCode::not_found);

    try {
      e = good;
      e.erase("from");
      sink.on_plugin_event("channel-sandbox", "p1", "message.inbound", e);
    } catch (const sb::Error& err) {
      CHECK_THAT(err.what(), Catch::Contains("from"));
    }
    CHECK(rows_written(host) == 0);
    // The good event still goes through afterwards.
    CHECK(sink.on_plugin_event("channel-sandbox", "p1", "message.inbound", good)["duplicate"] == false);
    CHECK(rows_written(host) == 3);
  }
}

TEST_CASE("a media message without text is stored with its payload", "[messaging][inbound]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  host.messaging->start();

  auto r = host.inject("p1", {{"from", "+15551234567"},
                              {"type", "image"},
                              {"media", {{"url", "https://example.test/cat.jpg"}}},
                              {"id", "img-1"}});
  REQUIRE(r.status == 200);
  auto msg = host.row("SELECT * FROM messages WHERE external_id = 'img-1'");
  REQUIRE(msg);
  CHECK(msg->text("type") == "image");
  CHECK(msg->is_null("text"));
  CHECK(msg->json("payload_json")["media"]["url"] == "https://example.test/cat.jpg");
}

TEST_CASE("concurrent inbound from many threads stores every message exactly once", "[messaging][inbound]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  host.messaging->start();

  constexpr int kThreads = 8;
  constexpr int kMessages = 60;  // distinct ids; each is injected by two threads
  std::atomic<int> failures{0};
  std::atomic<int> duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kMessages; ++i) {
        // Threads t and t^1 inject the same ids; senders rotate over 5 phones.
        const int n = (t / 2) * kMessages + i;
        const json body = {{"from", "+1555000000" + std::to_string(n % 5)},
                           {"text", "message " + std::to_string(n)},
                           {"id", "ext-" + std::to_string(n)}};
        try {
          auto r = host.inject("p1", body);
          if (r.status != 200) {
            ++failures;
            continue;
          }
          if (json::parse(r.body)["duplicate"] == true) ++duplicates;
        } catch (...) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  const int distinct = kThreads / 2 * kMessages;
  CHECK(failures == 0);
  CHECK(duplicates == distinct);
  CHECK(host.count("SELECT COUNT(*) AS n FROM messages") == distinct);
  CHECK(host.count("SELECT COUNT(DISTINCT external_id) AS n FROM messages") == distinct);
  CHECK(host.count("SELECT COUNT(*) AS n FROM contacts") == 5);
  CHECK(host.count("SELECT COUNT(*) AS n FROM conversations") == 5);
}

TEST_CASE("session status events update the profile and are published", "[messaging][inbound][session]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  EventRecorder recorder(host.bus, {"session.status"});
  host.messaging->start();  // connect: the sandbox waits at QR_READY

  auto profile_status = [&] {
    return host.row("SELECT status FROM profiles WHERE id = 'p1'")->text("status");
  };
  REQUIRE(sb::test::eventually([&] { return profile_status() == "QR_READY"; }));
  CHECK_THAT(host.row("SELECT qr FROM profiles WHERE id = 'p1'")->text("qr"), Catch::StartsWith("sandbox-qr:p1:"));

  host.services.dispatch_hook("channel-sandbox", "p1", {.method = "POST", .path = "pair"});
  REQUIRE(sb::test::eventually([&] { return profile_status() == "CONNECTED"; }));
  CHECK(host.row("SELECT qr FROM profiles WHERE id = 'p1'")->is_null("qr"));

  std::vector<std::string> seen;
  for (const auto& e : recorder.events()) seen.push_back(e.data["status"].get<std::string>());
  CHECK(std::find(seen.begin(), seen.end(), "QR_READY") != seen.end());
  CHECK(seen.back() == "CONNECTED");
  CHECK(recorder.events().back().workspace_id == sb::test::kWorkspace);

  // An unknown status is refused.
  CHECK(code_of([&] {
          host.messaging->event_sink().on_plugin_event("channel-sandbox", "p1", "session.status",
                                                       {{"status", "DANCING"}});
        }) == ErrorCode::invalid_argument);
}

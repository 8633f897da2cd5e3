// The outbox under sending rules, on a clock the test moves: cold budgets
// hold rows back while replies go on, quiet hours, the breaker (kept across
// a restart), opt-out enforcement and withdrawing a campaign's rows.
#include "messaging_test_host.hpp"
#include "store/outbox_repository.hpp"
#include "support/error_code.hpp"

#include <catch2/catch.hpp>

#include <atomic>

using nlohmann::json;
using sb::test::EventRecorder;
using sb::test::eventually;
using sb::test::MessagingHost;
using sb::test::TempDir;

namespace {

// 2026-12-04 12:00:00 UTC.
constexpr int64_t kNoonUtc = 1796385600000;

struct Clock {
  std::atomic<int64_t> now{kNoonUtc};
};

sb::messaging::MessagingOptions options_with(Clock& clock) {
  auto o = sb::test::fast_messaging_options();
  o.outbox.clock = [&clock] { return clock.now.load(); };
  return o;
}

sb::messaging::OutgoingMessage text_to(const std::string& to, const std::string& text) {
  sb::messaging::OutgoingMessage m;
  m.profile_id = "p1";
  m.to = to;
  m.text = text;
  return m;
}

std::string phone(int i) { return std::string("+1555010").append(std::to_string(1000 + i)); }

int64_t sent_count(MessagingHost& host, const std::string& kind) {
  return host.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = ? AND state = 'sent'", {kind});
}

}  // namespace

TEST_CASE("a cold budget holds outreach back while replies go on", "[messaging][outbox][rules]") {
  TempDir dir("sb-rules");
  Clock clock;
  MessagingHost host(dir.path(), options_with(clock));
  host.seed_profile("p1");
  auto& outbox = host.messaging->outbox();
  outbox.set_sending_rules("p1", {{"enabled", true}, {"cold", {{"per_minute", 3}}}});
  host.messaging->start();

  for (int i = 0; i < 5; ++i) {
    auto q = outbox.enqueue(text_to(phone(i), "offer"));
    CHECK(q.kind == "cold");  // nobody wrote to us: outreach
  }
  REQUIRE(eventually([&] { return sent_count(host, "cold") == 3; }));

  // A contact writes in: the answer is a reply and is not held back.
  auto in = host.inject("p1", {{"id", "wamid.in1"}, {"from", "+15559990000"}, {"type", "text"}, {"text", "hi"}});
  REQUIRE(in.status == 200);
  const std::string conversation = json::parse(in.body)["conversation_id"];
  sb::messaging::OutgoingMessage reply;
  reply.profile_id = "p1";
  reply.conversation_id = conversation;
  reply.contact_id = json::parse(in.body)["contact_id"];
  reply.text = "hello back";
  CHECK(outbox.enqueue(reply).kind == "reply");
  REQUIRE(eventually([&] { return sent_count(host, "reply") == 1; }));
  CHECK(sent_count(host, "cold") == 3);

  const json state = outbox.sending_rules("p1")["state"];
  CHECK(state["cold"]["sent_last_minute"] == 3);
  CHECK(state["cold"]["blocked_by"] == "per_minute");
  CHECK(state["reply"]["sent_today"] == 1);

  // A minute later the window has room again.
  clock.now += 60 * 1000;
  outbox.wake("p1");
  REQUIRE(eventually([&] { return sent_count(host, "cold") == 5; }));
}

TEST_CASE("quiet hours keep cold rows until they end", "[messaging][outbox][rules]") {
  TempDir dir("sb-rules");
  Clock clock;
  clock.now = kNoonUtc + 10 * 3600 * 1000;  // 22:00 UTC
  MessagingHost host(dir.path(), options_with(clock));
  host.seed_profile("p1");
  auto& outbox = host.messaging->outbox();
  outbox.set_sending_rules("p1", {{"enabled", true}, {"quiet_hours", {{"start", "21:00"}, {"end", "08:00"}}}});
  host.messaging->start();
  outbox.enqueue(text_to(phone(1), "good night offer"));
  const json state = outbox.sending_rules("p1")["state"];
  CHECK(state["quiet_hours"]["active"] == true);
  CHECK(state["quiet_hours"]["until"] == kNoonUtc + 20 * 3600 * 1000);  // 08:00 UTC
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the sender had its chance
  CHECK(sent_count(host, "cold") == 0);
  clock.now = kNoonUtc + 20 * 3600 * 1000;  // 08:00
  outbox.wake("p1");
  REQUIRE(eventually([&] { return sent_count(host, "cold") == 1; }));
}

TEST_CASE("the breaker stops cold sending when refusals rise, and survives a restart", "[messaging][outbox][rules]") {
  TempDir dir("sb-rules");
  Clock clock;
  const json rules = {{"enabled", true},
                      {"breaker", {{"window", 4}, {"min_samples", 4}, {"max_failure_ratio", 0.5}, {"cooldown_ms", 600000}}}};
  const std::vector<std::string> refused = {phone(1), phone(2), phone(3)};
  {
    MessagingHost host(dir.path(), options_with(clock));
    host.seed_profile("p1", "channel-sandbox", {{"fail_to", refused}});
    EventRecorder recorder(host.bus, {"sending.breaker"});
    auto& outbox = host.messaging->outbox();
    outbox.set_sending_rules("p1", rules);
    host.messaging->start();
    // Two refused, then one fine, then one refused: 3 of 4 failed -> open.
    for (int i : {1, 2, 4, 3, 5, 6, 7}) outbox.enqueue(text_to(phone(i), "offer"));
    REQUIRE(eventually([&] { return !recorder.of_type("sending.breaker").empty(); }));
    const auto e = recorder.of_type("sending.breaker").front();
    CHECK(e.data["state"] == "open");
    CHECK(e.data["until"] == kNoonUtc + 600000);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(host.count("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'") == 3);
    CHECK(outbox.sending_rules("p1")["state"]["breaker"]["state"] == "open");
    CHECK(host.row("SELECT breaker_state FROM profile_sending_rules WHERE profile_id = 'p1'")->text("breaker_state") ==
          "open");
  }
  {
    // After a restart the breaker is still open and nothing cold goes.
    MessagingHost host(dir.path(), options_with(clock));
    host.messaging->start();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(host.count("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'") == 3);
    // The cool-down ends: a probe goes, succeeds, and the rest follow.
    clock.now += 600000;
    host.messaging->outbox().wake("p1");
    REQUIRE(eventually([&] { return host.count("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'") == 0; }));
    CHECK(host.messaging->outbox().sending_rules("p1")["state"]["breaker"]["state"] == "closed");
  }
}

TEST_CASE("an opted-out contact gets no outreach, but still its answers", "[messaging][outbox][optout]") {
  TempDir dir("sb-rules");
  Clock clock;
  MessagingHost host(dir.path(), options_with(clock));
  host.seed_profile("p1");
  auto& outbox = host.messaging->outbox();
  EventRecorder recorder(host.bus, {"message.status"});

  // Queued before the opt-out, failed by the sender after it.
  auto early = outbox.enqueue(text_to(phone(1), "offer"));
  host.db->write([&](sb::store::Connection& c) {
    c.execute("UPDATE contacts SET opted_out = 1 WHERE id = ?", {early.contact_id});
  });
  // Refused at once now.
  CHECK(sb::test::code_of([&] { outbox.enqueue(text_to(phone(1), "another offer")); }) == sb::ErrorCode::conflict);
  host.messaging->start();
  REQUIRE(eventually([&] {
    return host.row("SELECT status FROM messages WHERE id = ?", {early.message_id})->text("status") == "failed";
  }));
  CHECK_THAT(host.row("SELECT error FROM messages WHERE id = ?", {early.message_id})->text("error"),
             Catch::StartsWith("opted out"));
  CHECK(host.sandbox_outbound("p1").empty());

  // The contact writes (say, to ask something): the answer goes out.
  auto in = host.inject("p1", {{"id", "wamid.in2"}, {"from", phone(1)}, {"type", "text"}, {"text", "question"}});
  sb::messaging::OutgoingMessage reply;
  reply.profile_id = "p1";
  reply.contact_id = early.contact_id;
  reply.conversation_id = json::parse(in.body)["conversation_id"];
  reply.text = "answer";
  auto answered = outbox.enqueue(reply);
  REQUIRE(eventually([&] { return host.sandbox_outbound("p1").size() == 1; }));
  CHECK(answered.kind == "reply");
}

TEST_CASE("withdrawing a campaign removes its rows that were not sent", "[messaging][outbox]") {
  TempDir dir("sb-rules");
  Clock clock;
  MessagingHost host(dir.path(), options_with(clock));
  host.seed_profile("p1");
  auto& outbox = host.messaging->outbox();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto m = text_to(phone(i), "campaign");
    m.campaign_id = "cmp_1";
    m.not_before = kNoonUtc + 3600 * 1000;  // an hour from now
    auto q = outbox.enqueue(m);
    CHECK(q.kind == "cold");
    ids.push_back(q.message_id);
  }
  auto other = outbox.enqueue(text_to(phone(9), "not a campaign"));
  host.messaging->start();
  REQUIRE(eventually([&] { return host.sandbox_outbound("p1").size() == 1; }));
  auto withdrawn = host.db->write([&](sb::store::Connection& c) { return outbox.withdraw_campaign(c, "cmp_1"); });
  std::sort(withdrawn.begin(), withdrawn.end());
  std::sort(ids.begin(), ids.end());
  CHECK(withdrawn == ids);
  CHECK(host.count("SELECT COUNT(*) AS n FROM outbox WHERE campaign_id = 'cmp_1'") == 0);
  CHECK(host.count("SELECT COUNT(*) AS n FROM messages WHERE id IN (?, ?, ?)", {ids[0], ids[1], ids[2]}) == 0);
  CHECK(host.row("SELECT status FROM messages WHERE id = ?", {other.message_id}));
}

// Campaigns over the real outbox and sandbox channel: recipients' texts
// with variables, skipped reasons, pause/resume/cancel, progress and its
// events, replies attributed to the campaign.
#include "core/error.hpp"
#include "messaging/campaigns.hpp"
#include "messaging_test_host.hpp"
#include "store/contact_repository.hpp"

#include <catch2/catch.hpp>

#include <set>

using nlohmann::json;
using sb::test::EventRecorder;
using sb::test::eventually;
using sb::test::MessagingHost;
using sb::test::TempDir;

namespace {

sb::store::Workspace workspace() { return {sb::test::kWorkspace, sb::test::kOrg, "Messaging tests", "UTC", 0}; }

std::string add_contact(MessagingHost& host, const std::string& phone, const std::string& name, json metadata,
                        bool opted_out = false) {
  return host.db->write([&](sb::store::Connection& c) {
    sb::store::Contact ct;
    ct.organization_id = sb::test::kOrg;
    ct.workspace_id = sb::test::kWorkspace;
    ct.phone = phone;
    ct.name = name;
    ct.metadata = std::move(metadata);
    ct.opted_out = opted_out;
    return sb::store::contacts::create(c, std::move(ct), sb::now_ms()).id;
  });
}

std::string phone_of(int i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "+1202555%04d", 1000 + i);
  return buf;
}

sb::messaging::CampaignSpec spec(const std::string& text, int64_t rate = 600) {
  sb::messaging::CampaignSpec s;
  s.profile_id = "p1";
  s.name = "Spring";
  s.message = {{"type", "text"}, {"text", text}};
  s.rate_per_minute = rate;
  return s;
}

json progress(MessagingHost& host, const std::string& id) {
  return host.messaging->campaigns().progress(workspace(), id);
}

std::string state(MessagingHost& host, const std::string& id) {
  return host.messaging->campaigns().find(workspace(), id)->state;
}

}  // namespace

TEST_CASE("each recipient gets its own text and duplicates, unknown contacts, invalid phones, opted-out contacts and "
          "missing variables are skipped with the reason",
          "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  EventRecorder recorder(host.bus, {"campaign.progress"});
  const std::string ana = add_contact(host, phone_of(1), "Ana", {{"city", "Lyon"}});
  const std::string nameless = add_contact(host, phone_of(2), "", {{"city", "Paris"}});
  const std::string cityless = add_contact(host, phone_of(3), "Cid", json::object());
  const std::string out = add_contact(host, phone_of(4), "Dee", {{"city", "Rome"}}, true);

  sb::messaging::Audience audience;
  audience.contact_ids = {ana, nameless, cityless, out, ana, "ct_nobody"};
  audience.csv = "phone,name,city\n" + phone_of(5) + ",Eve,Oslo\nnot-a-phone,X,Y\n" + phone_of(1) + ",Ana,Lyon\n";
  sb::messaging::AudienceReport report;
  auto& campaigns = host.messaging->campaigns();
  const auto campaign =
      campaigns.create(workspace(), spec("Hi {{name|there}}, see you in {{metadata.city}}"), audience, &report);
  CHECK(campaign.state == "draft");
  CHECK(report.added == 3);
  CHECK(report.contacts_created == 1);
  CHECK(report.skipped_by_reason == std::map<std::string, int64_t>{{"duplicate", 2},
                                                                   {"invalid phone", 1},
                                                                   {"missing variable metadata.city", 1},
                                                                   {"opted out", 1},
                                                                   {"unknown contact", 1}});
  const json before = progress(host, campaign.id);
  CHECK(before["total"] == 9);
  CHECK(before["pending"] == 3);
  CHECK(before["skipped"] == 6);

  host.messaging->start();
  campaigns.start(workspace(), campaign.id);
  REQUIRE(eventually([&] { return state(host, campaign.id) == "completed"; }));
  std::multiset<std::string> texts;
  for (const auto& m : host.sandbox_outbound("p1")) texts.insert(m["text"].get<std::string>());
  CHECK(texts == std::multiset<std::string>{"Hi Ana, see you in Lyon", "Hi there, see you in Paris",
                                            "Hi Eve, see you in Oslo"});
  // The sandbox reports delivered and read for each.
  REQUIRE(eventually([&] { return progress(host, campaign.id)["read"] == 3; }));
  const json after = progress(host, campaign.id);
  CHECK(after["sent"] == 3);
  CHECK(after["delivered"] == 3);
  CHECK(after["pending"] == 0);
  CHECK(after["queued"] == 0);
  CHECK(after["failed"] == 0);
  CHECK(after["skipped_by_reason"]["opted out"] == 1);

  // campaign.progress: at the start, at completion, and in between at most once a second.
  REQUIRE(eventually([&] {
    auto events = recorder.of_type("campaign.progress");
    return !events.empty() && events.back().data["read"] == 3;
  }));
  const auto events = recorder.of_type("campaign.progress");
  CHECK(events.front().data["state"] == "running");
  bool saw_completed = false;
  for (const auto& e : events) saw_completed = saw_completed || e.data["state"] == "completed";
  CHECK(saw_completed);
  for (const auto& e : events) CHECK(e.workspace_id == sb::test::kWorkspace);
  const int64_t span = events.back().at_ms - events.front().at_ms;
  CHECK(static_cast<int64_t>(events.size()) <= span / 1000 + 4);
}

TEST_CASE("a message with an unknown variable, an unclosed placeholder or a bad shape is refused at create",
          "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  auto& campaigns = host.messaging->campaigns();
  for (const char* text : {"Hi {{nme}}", "Hi {{name", ""}) {
    INFO(text);
    CHECK_THROWS_AS(campaigns.create(workspace(), spec(text), {}), sb::Error);
  }
  auto bad_rate = spec("hi");
  bad_rate.rate_per_minute = 0;
  CHECK_THROWS_AS(campaigns.create(workspace(), bad_rate, {}), sb::Error);
  auto other_profile = spec("hi");
  other_profile.profile_id = "nobody";
  CHECK_THROWS_AS(campaigns.create(workspace(), other_profile, {}), sb::Error);
  CHECK(host.count("SELECT COUNT(*) AS n FROM campaigns") == 0);
}

TEST_CASE("pause withdraws what was queued ahead, resume goes on, cancel skips the rest and nobody gets two",
          "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  sb::messaging::Audience audience;
  for (int i = 0; i < 40; ++i) audience.contact_ids.push_back(add_contact(host, phone_of(i), "C", json::object()));
  auto& campaigns = host.messaging->campaigns();
  const auto campaign = campaigns.create(workspace(), spec("Hello {{name}}", 120), audience);  // 2 a second
  host.messaging->start();
  campaigns.start(workspace(), campaign.id);
  REQUIRE(eventually([&] { return progress(host, campaign.id)["sent"] >= 2; }));
  CHECK(progress(host, campaign.id)["queued"] > 1);  // the next seconds wait in the outbox

  CHECK(campaigns.pause(workspace(), campaign.id).state == "paused");
  REQUIRE(eventually([&] { return progress(host, campaign.id)["queued"] == 0; }));
  const json paused = progress(host, campaign.id);
  CHECK(paused["pending"] > 20);
  CHECK(host.count("SELECT COUNT(*) AS n FROM outbox WHERE campaign_id = ?", {campaign.id}) == paused["sent"]);
  const size_t sent_at_pause = host.sandbox_outbound("p1").size();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // nothing may be sent meanwhile
  CHECK(host.sandbox_outbound("p1").size() == sent_at_pause);
  CHECK_THROWS_AS(campaigns.pause(workspace(), campaign.id), sb::Error);

  campaigns.resume(workspace(), campaign.id);
  REQUIRE(eventually([&] { return host.sandbox_outbound("p1").size() >= sent_at_pause + 2; }));
  campaigns.cancel(workspace(), campaign.id);
  CHECK(state(host, campaign.id) == "cancelled");
  REQUIRE(eventually([&] { return progress(host, campaign.id)["queued"] == 0; }));
  const json cancelled = progress(host, campaign.id);
  CHECK(cancelled["pending"] == 0);
  CHECK(cancelled["skipped_by_reason"]["cancelled"] > 10);
  CHECK(cancelled["sent"].get<int64_t>() + cancelled["skipped"].get<int64_t>() == 40);
  const size_t sent_at_cancel = host.sandbox_outbound("p1").size();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  CHECK(host.sandbox_outbound("p1").size() == sent_at_cancel);
  std::set<std::string> to;
  for (const auto& m : host.sandbox_outbound("p1")) CHECK(to.insert(m["to"].get<std::string>()).second);
  CHECK(static_cast<int64_t>(to.size()) == cancelled["sent"]);
}

TEST_CASE("a message from a recipient after the campaign message counts as its reply", "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  sb::messaging::Audience audience;
  audience.contact_ids = {add_contact(host, phone_of(1), "Ana", json::object()),
                          add_contact(host, phone_of(2), "Bo", json::object())};
  auto& campaigns = host.messaging->campaigns();
  const auto campaign = campaigns.create(workspace(), spec("Hi {{name}}"), audience);
  host.messaging->start();
  campaigns.start(workspace(), campaign.id);
  REQUIRE(eventually([&] { return state(host, campaign.id) == "completed"; }));
  CHECK(progress(host, campaign.id)["replied"] == 0);

  REQUIRE(host.inject("p1", {{"from", phone_of(1)}, {"text", "yes please"}}).status == 200);
  REQUIRE(eventually([&] { return progress(host, campaign.id)["replied"] == 1; }));
  const auto rows = campaigns.recipients(workspace(), campaign.id, std::nullopt, -1, 10);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].replied_at.has_value());
  CHECK_FALSE(rows[1].replied_at.has_value());

  // A later campaign reaches Bo too: Bo's answer is the later campaign's reply.
  sb::messaging::Audience again;
  again.contact_ids = {audience.contact_ids[1]};
  const auto second = campaigns.create(workspace(), spec("Still there, {{name}}?"), again);
  campaigns.start(workspace(), second.id);
  REQUIRE(eventually([&] { return state(host, second.id) == "completed"; }));
  REQUIRE(host.inject("p1", {{"from", phone_of(2)}, {"text", "yes"}}).status == 200);
  REQUIRE(eventually([&] { return progress(host, second.id)["replied"] == 1; }));
  CHECK(progress(host, campaign.id)["replied"] == 1);
}

TEST_CASE("a scheduled campaign starts at its time and sends nothing before", "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  sb::messaging::Audience audience;
  audience.contact_ids = {add_contact(host, phone_of(1), "Ana", json::object())};
  auto& campaigns = host.messaging->campaigns();
  const auto campaign = campaigns.create(workspace(), spec("Hi {{name}}"), audience);
  host.messaging->start();
  const int64_t at = sb::now_ms() + 1500;
  CHECK(campaigns.start(workspace(), campaign.id, at).state == "scheduled");
  CHECK_THROWS_AS(campaigns.resume(workspace(), campaign.id), sb::Error);
  REQUIRE(eventually([&] { return state(host, campaign.id) == "completed"; }));
  const auto sent = host.row("SELECT MIN(updated_at) AS at FROM outbox WHERE campaign_id = ?", {campaign.id});
  REQUIRE(sent);
  CHECK(sent->integer("at") >= at);
  CHECK(host.messaging->campaigns().find(workspace(), campaign.id)->started_at >= at);
}

TEST_CASE("a running campaign queues only the next seconds of sends in the outbox", "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  sb::messaging::Audience audience;
  for (int i = 0; i < 100; ++i) audience.contact_ids.push_back(add_contact(host, phone_of(i), "C", json::object()));
  auto& campaigns = host.messaging->campaigns();
  const auto campaign = campaigns.create(workspace(), spec("Hello {{name}}", 60), audience);  // 1 a second
  host.messaging->start();
  campaigns.start(workspace(), campaign.id);
  REQUIRE(eventually([&] { return progress(host, campaign.id)["queued"] >= 4; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few feeder ticks
  const json p = progress(host, campaign.id);
  CHECK(p["queued"] <= 7);  // ~5 s ahead at 1 a second
  CHECK(p["pending"] >= 90);
  // Each queued row waits for its paced time, one second apart.
  std::vector<int64_t> due;
  host.db->read([&](sb::store::Connection& c) {
    for (const auto& r : c.query("SELECT next_attempt_at FROM outbox WHERE campaign_id = ? AND state = 'pending' "
                                 "ORDER BY next_attempt_at",
                                 {campaign.id}))
      due.push_back(r.integer("next_attempt_at"));
  });
  REQUIRE(due.size() >= 3);
  for (size_t i = 1; i < due.size(); ++i) CHECK(std::abs(due[i] - due[i - 1] - 1000) <= 2);
  campaigns.cancel(workspace(), campaign.id);
}

TEST_CASE("a recipient the channel refuses fails with its reason and one who opts out once queued is skipped",
          "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1", "channel-sandbox", {{"fail_to", {phone_of(1)}}});
  sb::messaging::Audience audience;
  for (int i = 0; i < 6; ++i) audience.contact_ids.push_back(add_contact(host, phone_of(i), "C", json::object()));
  auto& campaigns = host.messaging->campaigns();
  const auto campaign = campaigns.create(workspace(), spec("Hello {{name}}", 60), audience);  // 1 a second
  host.messaging->start();
  campaigns.start(workspace(), campaign.id);
  // The last one waits about 5 s in the outbox: it opts out meanwhile.
  REQUIRE(eventually([&] { return progress(host, campaign.id)["pending"] == 0; }));
  host.db->write([&](sb::store::Connection& c) {
    REQUIRE(sb::store::contacts::opt_out(c, sb::test::kWorkspace, audience.contact_ids[5], "api", sb::now_ms()));
  });
  REQUIRE(eventually([&] { return state(host, campaign.id) == "completed"; }, std::chrono::seconds(20)));
  const json p = progress(host, campaign.id);
  CHECK(p["sent"] == 4);
  CHECK(p["failed"] == 1);
  CHECK(p["failed_by_reason"].size() == 1);
  CHECK(p["skipped_by_reason"]["opted out"] == 1);
  for (const auto& m : host.sandbox_outbound("p1")) CHECK(m["to"] != phone_of(5));
}

TEST_CASE("a CSV audience without a phone column is refused and no campaign is left behind", "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  sb::messaging::Audience audience;
  audience.csv = "name,city\nAna,Lyon\n";
  try {
    host.messaging->campaigns().create(workspace(), spec("Hi {{name}}"), audience);
    FAIL("accepted");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("phone") != std::string::npos);
  }
  CHECK(host.count("SELECT COUNT(*) AS n FROM campaigns") == 0);
}

TEST_CASE("a WhatsApp group kept as a contact is skipped by a broadcast", "[messaging][campaigns]") {
  TempDir dir("sb-cmp");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  const std::string person = add_contact(host, phone_of(1), "Ana", json::object());
  // As routes_groups.cpp keeps a group: its id as phone and wa_id.
  const std::string group = host.db->write([](sb::store::Connection& c) {
    const std::string id = "120363000000000001@g.us";
    return sb::store::contacts::upsert_seen(c, {sb::test::kOrg, sb::test::kWorkspace, id, "Team", id}, sb::now_ms())
        .contact.id;
  });
  sb::messaging::Audience audience;
  audience.contact_ids = {person, group};
  sb::messaging::AudienceReport report;
  host.messaging->campaigns().create(workspace(), spec("Hello"), audience, &report);
  CHECK(report.added == 1);
  CHECK(report.skipped_by_reason == std::map<std::string, int64_t>{{"a group", 1}});
}

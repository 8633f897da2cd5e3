// Exactly once across kill -9: the real host sends a campaign through the
// recording channel (which keeps its sends in a file and dedupes by the
// outbox's idempotency key) and is killed 20 times at random moments while
// it sends. At the end the file holds one line per recipient and the API
// shows every recipient sent.
#include "campaign_host.hpp"

#include <random>
#include <set>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::TempDir;

TEST_CASE("a campaign killed 20 times while it sends messages every recipient exactly once", "[campaigns][e2e]") {
  constexpr int kRecipients = 300;
  constexpr int kKills = 20;
  TempDir dir("sb-cmp-kill");
  ApiHost api(dir.path(), sb::test::fast_limits(), sb::test::recording_env());
  const auto a = api.make_tenant("a");
  const auto file = dir.path() / "sends.jsonl";
  sb::test::make_recording_profile(api, a, "a-rec", file);

  auto made = api.call("POST", sb::test::workspace_path(a) + "/campaigns",
                       {{"name", "Kill test"},
                        {"profile_id", "a-rec"},
                        {"message", {{"type", "text"}, {"text", "Hi {{name}} from {{metadata.city}}"}}},
                        {"rate_per_minute", 600},
                        {"audience", {{"csv", sb::test::campaign_csv(0, kRecipients)}}},
                        {"start", true}},
                       a.key_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  REQUIRE(made.body["audience_report"]["added"] == kRecipients);
  const std::string id = made.body["id"];

  const size_t lines_before_last_kill =
      sb::test::kill_and_restart(api, kKills, 150, 1200, [&] { return sb::test::recorded_sends(file).size(); });
  WARN(lines_before_last_kill << " of " << kRecipients << " sent when the last kill came");
  CHECK(lines_before_last_kill > 0);
  CHECK(lines_before_last_kill < static_cast<size_t>(kRecipients));  // the kills came while it was sending

  const bool completed = eventually(
      [&] { return sb::test::campaign_progress(api, a, id).value("state", "") == "completed"; },
      std::chrono::seconds(90));
  INFO(api.host().log_tail());
  REQUIRE(completed);

  const auto sends = sb::test::recorded_sends(file);
  std::set<std::string> phones, keys;
  for (const auto& s : sends) {
    phones.insert(s["to"].get<std::string>());
    keys.insert(s["idempotency_key"].get<std::string>());
  }
  CHECK(sends.size() == static_cast<size_t>(kRecipients));
  CHECK(phones.size() == static_cast<size_t>(kRecipients));
  CHECK(keys.size() == static_cast<size_t>(kRecipients));
  const json progress = sb::test::campaign_progress(api, a, id);
  CHECK(progress["total"] == kRecipients);
  CHECK(progress["sent"] == kRecipients);
  CHECK(progress["failed"] == 0);
  CHECK(progress["skipped"] == 0);
  CHECK(progress["pending"] == 0);
  CHECK(progress["queued"] == 0);
}

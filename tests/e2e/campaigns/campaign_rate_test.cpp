// Rate accuracy, measured where it matters: the recording channel's own
// timestamps of each send, over a few hundred messages.
#include "campaign_host.hpp"

#include <algorithm>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::TempDir;

namespace {

// Sends per minute between the first and the last of `sends`.
double measured_rate(const std::vector<json>& sends) {
  std::vector<int64_t> at;
  for (const auto& s : sends) at.push_back(s["at_ms"].get<int64_t>());
  std::sort(at.begin(), at.end());
  return static_cast<double>(at.size() - 1) * 60000.0 / static_cast<double>(at.back() - at.front());
}

void check_rate(double jitter) {
  constexpr int kRecipients = 300;
  constexpr double kRate = 1200;  // 20 a second: 15 s for the campaign
  TempDir dir("sb-cmp-rate");
  ApiHost api(dir.path(), sb::test::fast_limits(), sb::test::recording_env());
  const auto a = api.make_tenant("a");
  const auto file = dir.path() / "sends.jsonl";
  sb::test::make_recording_profile(api, a, "a-rec", file);
  auto made = api.call("POST", sb::test::workspace_path(a) + "/campaigns",
                       {{"name", "Rate"},
                        {"profile_id", "a-rec"},
                        {"message", {{"type", "text"}, {"text", "Hello {{name}}"}}},
                        {"rate_per_minute", static_cast<int64_t>(kRate)},
                        {"jitter", jitter},
                        {"audience", {{"csv", sb::test::campaign_csv(0, kRecipients)}}},
                        {"start", true}},
                       a.key_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  const std::string id = made.body["id"];
  REQUIRE(eventually([&] { return sb::test::campaign_progress(api, a, id).value("state", "") == "completed"; },
                     std::chrono::seconds(60)));
  const auto sends = sb::test::recorded_sends(file);
  REQUIRE(sends.size() == static_cast<size_t>(kRecipients));
  const double rate = measured_rate(sends);
  WARN("jitter " << jitter << ": " << rate << " sends/minute for a target of " << kRate << " ("
                 << (rate / kRate - 1) * 100 << " %)");
  CHECK(rate >= kRate * 0.98);
  CHECK(rate <= kRate * 1.02);
}

}  // namespace

TEST_CASE("a campaign sends at its configured rate within 2 percent", "[campaigns][e2e]") { check_rate(0); }

TEST_CASE("jitter spreads the sends but keeps the rate within 2 percent", "[campaigns][e2e]") { check_rate(0.5); }

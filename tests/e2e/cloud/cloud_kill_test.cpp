// Exactly once through the WhatsApp Cloud API channel across kill -9: the
// real host sends a template campaign to the fake Graph API, which behaves
// like Meta after it accepts a message (a signed `sent` status webhook
// carrying the send's biz_opaque_callback_data, retried until the host
// answers 200). The host is killed at random moments while it sends and
// restarted each time (on a new port: the fake is retargeted). At the end
// the fake has received one send per recipient and the API shows every
// recipient sent.
//
// What makes this hold (plugins/channel-whatsapp-cloud/README.md,
// "Idempotency"): a send killed between Meta taking it and the plugin
// recording its wamid leaves an "attempted" marker; the outbox's retry waits
// (ambiguous_send_wait_ms) for the status webhook, which records the wamid.
#include "e2e/campaigns/campaign_host.hpp"
#include "fakes/fake_graph_api.hpp"
#include "support/db_count.hpp"

#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::FakeGraphApi;
using sb::test::TempDir;

namespace {

constexpr const char* kAppSecret = "meta-app-secret-for-kill-tests";
constexpr const char* kProfile = "cloud-k";
const std::string kHook = std::string("/hooks/channel-whatsapp-cloud/") + kProfile + "/webhook";

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

std::string whole_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("cloud: a template campaign killed 18 times while it sends reaches Meta once per recipient",
          "[cloud][campaigns][e2e]") {
  constexpr int kRecipients = 240;
  constexpr int kKills = 18;
  TempDir dir("sb-cloud-kill");
  FakeGraphApi graph;
  graph.set_templates({{"spring_promo"}});
  // Meta takes a message some time before its answer arrives: a kill in
  // that window leaves a send the host never heard back about.
  graph.set_send_latency(std::chrono::milliseconds(60));
  ApiHost api(dir.path(), sb::test::fast_limits());
  graph.deliver_statuses(api.host().base_url(), kHook, kAppSecret);
  const auto a = api.make_tenant("a");

  const json config = {{"phone_number_id", graph.phone_number_id()},
                       {"access_token", graph.access_token()},
                       {"app_secret", kAppSecret},
                       {"verify_token", "vt"},
                       {"graph_base_url", graph.base_url()},
                       {"waba_id", graph.waba_id()},
                       {"timeout_ms", 3000},
                       {"ambiguous_send_wait_ms", 3000}};
  auto profile = api.call("POST", sb::test::workspace_path(a) + "/profiles",
                          {{"id", kProfile}, {"name", "Cloud"}, {"channel_plugin", "channel-whatsapp-cloud"},
                           {"connect", true}, {"config", config}},
                          a.owner_auth());
  INFO(profile.raw);
  REQUIRE(profile.status == 201);
  REQUIRE(eventually([&] {
    auto r = api.call("GET", sb::test::workspace_path(a) + "/profiles/" + kProfile + "/status", nullptr, a.owner_auth());
    return r.status == 200 && r.body["status"] == "CONNECTED";
  }, std::chrono::seconds(20)));

  auto made = api.call(
      "POST", sb::test::workspace_path(a) + "/campaigns",
      {{"name", "Cloud kill test"},
       {"profile_id", kProfile},
       {"message", {{"type", "template"}, {"payload", {{"template", {{"name", "spring_promo"}, {"language", "en_US"}}}}}}},
       {"rate_per_minute", 600},
       {"audience", {{"csv", sb::test::campaign_csv(0, kRecipients)}}},
       {"start", true}},
      a.key_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  REQUIRE(made.body["audience_report"]["added"] == kRecipients);
  const std::string id = made.body["id"];

  const size_t sent_before_last_kill = sb::test::kill_and_restart(
      api, kKills, 200, 1500, [&] { return graph.sent_count(); },
      [&] { graph.deliver_statuses(api.host().base_url(), kHook, kAppSecret); });
  WARN(sent_before_last_kill << " of " << kRecipients << " at the fake Graph API when the last kill came");
  CHECK(sent_before_last_kill > 0);
  CHECK(sent_before_last_kill < static_cast<size_t>(kRecipients));  // the kills came while it was sending

  const bool completed = eventually(
      [&] { return sb::test::campaign_progress(api, a, id).value("state", "") == "completed"; },
      std::chrono::seconds(90));
  INFO(api.host().log_tail());
  REQUIRE(completed);

  // Each recipient exactly once at Meta.
  std::map<std::string, int> per_recipient;
  for (const auto& s : graph.sent()) {
    std::string to = s["to"];
    if (!to.empty() && to.front() == '+') to.erase(0, 1);
    ++per_recipient[to];
    CHECK(s["template"]["name"] == "spring_promo");
    CHECK(s.value("biz_opaque_callback_data", std::string()) != "");
  }
  for (int i = 0; i < kRecipients; ++i) {
    const std::string phone = sb::test::campaign_phone(i).substr(1);
    INFO("recipient " << phone);
    CHECK(per_recipient[phone] == 1);
  }
  CHECK(per_recipient.size() == static_cast<size_t>(kRecipients));
  CHECK(graph.sent_count() == static_cast<size_t>(kRecipients));

  const json progress = sb::test::campaign_progress(api, a, id);
  CHECK(progress["total"] == kRecipients);
  CHECK(progress["sent"] == kRecipients);
  CHECK(progress["failed"] == 0);
  CHECK(progress["skipped"] == 0);
  CHECK(progress["pending"] == 0);
  CHECK(progress["queued"] == 0);

  // How the sends cut by a kill came out (optional numbers): the outbox
  // found them in 'sending' at start-up and sent them again; the plugin
  // answered from its records (the wamid, by its own answer or the status
  // webhook) or told the outbox to wait for the status (more than one
  // attempt); "sending again" would be a blind re-send after the wait.
  const std::string log = whole_file(api.host().data_dir() / "host.log");
  int64_t recovered = 0;
  const std::regex cut(R"((\d+) message\(s\) were being sent when the host stopped)");
  for (std::sregex_iterator it(log.begin(), log.end(), cut), end; it != end; ++it) recovered += std::stoll((*it)[1]);
  const int64_t waited = sb::test::count(api.host().db_path(), "SELECT COUNT(*) FROM outbox WHERE attempts > 1");
  WARN("sends cut by a kill and re-sent: " << recovered << "; of them told to wait for a status: " << waited
                                           << "; sent again blind after the wait: " << occurrences(log, "sending again")
                                           << "; status webhooks delivered: " << graph.statuses_delivered());
}

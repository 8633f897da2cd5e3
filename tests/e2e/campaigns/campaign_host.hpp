#pragma once
// The real `switchboard serve` with the recording channel on its plugin
// path, a tenant, and a profile whose channel appends every send to a file
// in the test's directory (tests/plugins/recording-channel).
#include "support/api_host.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <thread>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sb::test {

inline std::map<std::string, std::string> recording_env() {
  return {{"SWITCHBOARD_PLUGIN_PATH",
           std::string(SB_PLUGIN_DIR) + ":" + (std::filesystem::path(SB_TEST_PLUGIN_DIR) / "recording-channel").string()}};
}

inline const nlohmann::json& fast_limits() {
  static const nlohmann::json limits = {
      {"user_rate", 10000}, {"user_burst", 10000}, {"key_rate", 10000}, {"key_burst", 10000}};
  return limits;
}

// Valid US numbers (libphonenumber's strict check), distinct for i < 100,000.
inline std::string campaign_phone(int i) {
  static const int kAreas[] = {202, 212, 213, 312, 415, 617, 646, 718, 305, 404};
  char buf[24];
  std::snprintf(buf, sizeof buf, "+1%d555%04d", kAreas[(i / 10000) % 10], i % 10000);
  return buf;
}

// kill -9 the host `kills` times, each after a random uptime in
// [min_uptime_ms, max_uptime_ms], restarting it each time and calling
// `after_start` (e.g. to re-point a fake at the new port). Returns what
// `sent` (the far side's count) said right after the last kill.
inline size_t kill_and_restart(ApiHost& api, int kills, int min_uptime_ms, int max_uptime_ms,
                               const std::function<size_t()>& sent,
                               const std::function<void()>& after_start = [] {}) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> uptime_ms(min_uptime_ms, max_uptime_ms);
  size_t sent_before_last_kill = 0;
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(uptime_ms(rng)));
    api.host().kill9();
    sent_before_last_kill = sent();
    api.host().start();
    after_start();
  }
  return sent_before_last_kill;
}

// "phone,name,city" and `count` rows from `first`.
inline std::string campaign_csv(int first, int count) {
  std::string csv = "phone,name,city\n";
  for (int i = first; i < first + count; ++i)
    csv.append(campaign_phone(i)).append(",Person ").append(std::to_string(i)).append(",City\n");
  return csv;
}

// Every line of the recording channel's file, parsed.
inline std::vector<nlohmann::json> recorded_sends(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

inline std::string workspace_path(const Tenant& t) { return "/api/v1/workspaces/" + t.workspace_id; }

// A connected recording-channel profile `id` of `t` writing to `file`.
inline void make_recording_profile(ApiHost& api, const Tenant& t, const std::string& id,
                                   const std::filesystem::path& file) {
  auto made = api.call("POST", workspace_path(t) + "/profiles",
                       {{"id", id},
                        {"name", "Recorder"},
                        {"channel_plugin", "recording-channel"},
                        {"config", {{"file", file.string()}}},
                        {"connect", true}},
                       t.owner_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
}

inline nlohmann::json campaign_progress(ApiHost& api, const Tenant& t, const std::string& id) {
  auto r = api.call("GET", workspace_path(t) + "/campaigns/" + id + "/progress", nullptr, t.key_auth());
  return r.status == 200 ? r.body : nlohmann::json::object();
}

}  // namespace sb::test

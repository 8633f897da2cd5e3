#include "api_workspace.hpp"

#include "bench_run.hpp"
#include "host_process.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kSetupThreads = 8;  // contacts are created this many at a time

}  // namespace

std::unique_ptr<httplib::Client> api_client(const Target& target, const std::string& key) {
  auto client = std::make_unique<httplib::Client>(target.host, target.port);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(30, 0);
  client->set_write_timeout(10, 0);
  client->set_default_headers({{"X-API-Key", key}});
  return client;
}

json post(httplib::Client& client, const std::string& path, const json& body, int expected) {
  auto response = client.Post(path, body.dump(), "application/json");
  if (!response) throw std::runtime_error("POST " + path + ": " + httplib::to_string(response.error()));
  if (response->status != expected) {
    throw std::runtime_error("POST " + path + " answered " + std::to_string(response->status) + " (expected " +
                             std::to_string(expected) + "): " + response->body.substr(0, 400));
  }
  return json::parse(response->body);
}

std::string phone_of(uint64_t n) {
  char text[32];
  // Valid numbers (the contacts API checks them with libphonenumber):
  // +1 202 EEE NNNN with the exchange from 300 up, 10,000 numbers each.
  std::snprintf(text, sizeof text, "+1202%03llu%04llu", static_cast<unsigned long long>(300 + n / 10000),
                static_cast<unsigned long long>(n % 10000));
  return text;
}

Setup set_up(const Target& target, uint64_t contacts) {
  auto admin = api_client(target, kMasterKey);
  Setup setup;
  setup.organization_id = post(*admin, "/api/v1/organizations", {{"name", "Bench"}}, 201).at("id").get<std::string>();
  setup.workspace_id =
      post(*admin, "/api/v1/organizations/" + setup.organization_id + "/workspaces", {{"name", "Bench"}}, 201)
          .at("id")
          .get<std::string>();
  const std::string ws = "/api/v1/workspaces/" + setup.workspace_id;
  setup.profile_id =
      post(*admin, ws + "/profiles", {{"name", "bench"}, {"channel_plugin", "channel-sandbox"}, {"connect", true}}, 201)
          .at("id")
          .get<std::string>();
  setup.api_key = post(*admin, ws + "/api-keys", {{"name", "bench"}, {"scopes", json::array({"read", "send"})}}, 201)
                      .at("key")
                      .get<std::string>();

  // The contacts, a few connections at a time (each is one write job).
  const auto begin = Clock::now();
  std::atomic<uint64_t> next{0};
  std::mutex error_mutex;
  std::string first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < kSetupThreads; ++t) {
    threads.emplace_back([&] {
      auto client = api_client(target, kMasterKey);
      for (uint64_t n = next++; n < contacts && !interrupted(); n = next++) {
        try {
          char name[32];
          std::snprintf(name, sizeof name, "Bench %05llu", static_cast<unsigned long long>(n));
          post(*client, ws + "/contacts", {{"phone", phone_of(n)}, {"name", name}, {"tags", json::array({"bench"})}},
               201);
        } catch (const std::exception& e) {
          std::lock_guard lock(error_mutex);
          if (first_error.empty()) first_error = e.what();
          next = contacts;  // stop the others too
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (!first_error.empty()) throw std::runtime_error("creating contacts: " + first_error);
  if (interrupted()) throw std::runtime_error("interrupted while creating contacts");
  setup.contacts_seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  return setup;
}

Stored read_stored(const fs::path& database, const std::string& workspace_id) {
  SQLite::Database db(database.string(), SQLite::OPEN_READONLY);
  db.exec("PRAGMA busy_timeout = 5000");
  SQLite::Statement query(db,
                          "SELECT status, count(*) FROM messages WHERE workspace_id = ? AND direction = 'out' "
                          "GROUP BY status");
  query.bind(1, workspace_id);
  Stored stored;
  while (query.executeStep()) {
    const int64_t count = query.getColumn(1).getInt64();
    stored.status[query.getColumn(0).getString()] = count;
    stored.outbound += count;
  }
  return stored;
}

Stored wait_for_outbox(const fs::path& database, const std::string& workspace_id, uint64_t accepted,
                       double timeout_seconds, std::optional<pid_t> host_pid) {
  const std::optional<double> cpu_before = host_pid ? cpu_seconds(*host_pid) : std::nullopt;
  const auto begin = Clock::now();
  const auto deadline = begin + from_seconds(timeout_seconds);
  Stored stored;
  for (;;) {
    stored = read_stored(database, workspace_id);
    const auto queued = stored.status.find("queued");
    stored.drained = static_cast<uint64_t>(stored.outbound) >= accepted &&
                     (queued == stored.status.end() || queued->second == 0);
    if (stored.drained || Clock::now() >= deadline || interrupted()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stored.waited_seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  const std::optional<double> cpu_after = host_pid ? cpu_seconds(*host_pid) : std::nullopt;
  if (cpu_before && cpu_after) stored.host_cpu_seconds = *cpu_after - *cpu_before;
  return stored;
}

}  // namespace bench

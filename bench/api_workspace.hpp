#pragma once
// bench_api's workspace: what it sets up through the API with the master key
// before the load (an organization, a workspace, a sandbox profile, a
// workspace API key with the read and send scopes, contacts), and what the
// host stored after the send phase (its SQLite file, opened read-only; the
// host's WAL lets it keep writing meanwhile).
//
// Threads: set_up() runs a few client threads of its own; everything else is
// called from bench_api's main thread, except api_client(), which each load
// thread calls for its own client. Failures throw std::runtime_error (or
// SQLite::Exception for the database).
#include "target.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace bench {

// Only the bench knows these; the host lives on loopback for the run.
inline constexpr const char* kMasterKey = "bench-master-key-0123456789abcdef";
inline constexpr const char* kPsk = "bench-internal-psk-0123456789abcdef";

// A keep-alive client (TCP_NODELAY: without it cpp-httplib 0.11 waits ~40 ms
// per response) that sends `key` as X-API-Key.
std::unique_ptr<httplib::Client> api_client(const Target& target, const std::string& key);

// POSTs `body` and returns the answer's JSON; throws naming the call unless
// the status is `expected`.
nlohmann::json post(httplib::Client& client, const std::string& path, const nlohmann::json& body, int expected);

// The n-th contact's phone: a valid US number, +1 202 3xx xxxx.
std::string phone_of(uint64_t n);

struct Setup {
  std::string organization_id;
  std::string workspace_id;
  std::string profile_id;
  std::string api_key;  // the workspace key, read + send
  double contacts_seconds = 0;
};
// Everything with the master key; `contacts` contacts with phone_of(0...),
// created eight at a time.
Setup set_up(const Target& target, uint64_t contacts);

struct Stored {
  int64_t outbound = 0;                   // the workspace's outbound messages
  std::map<std::string, int64_t> status;  // status -> count
  bool drained = false;                   // none queued any more
  double waited_seconds = 0;
  std::optional<double> host_cpu_seconds;  // during the wait
};
Stored read_stored(const std::filesystem::path& database, const std::string& workspace_id);
// Polls read_stored() until the database holds `accepted` outbound messages
// and none is still queued, or until `timeout_seconds`; counts the host's
// CPU meanwhile.
Stored wait_for_outbox(const std::filesystem::path& database, const std::string& workspace_id, uint64_t accepted,
                       double timeout_seconds, std::optional<pid_t> host_pid);

}  // namespace bench

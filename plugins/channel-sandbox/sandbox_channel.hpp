#pragma once
// channel-sandbox: a simulated WhatsApp number that lives inside the host.
//
// Tests and admins drive it through hook routes under
// /hooks/channel-sandbox/<profile>/ (inbound, outbound, pair, status; see
// README.md); the host drives it through the channel table (connect, send,
// status, capabilities). Sent messages are kept in memory and acknowledged
// with simulated delivered/read receipts.
//
// Threads: HTTP worker threads (routes), host threads (channel calls) and
// scheduler threads (timers) call in concurrently. `state_mu_` guards every field
// below it; it is never held while calling into the host (emit, timers, kv).
#include "outbound_log.hpp"
#include "sandbox_groups.hpp"

#include <switchboard/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sandbox {

struct SandboxConfig {
  std::string phone = "+15550000000";
  std::chrono::milliseconds receipt_delay{50};
  bool auto_pair = false;
  std::vector<std::string> fail_to;  // digits only, for comparison

  // Parses the instance config (validated by the host, defaults filled);
  // throws switchboard::Error(SB_ERR_INVALID_ARGUMENT) on a wrong type.
  static SandboxConfig parse(std::string_view config_json);
};

class SandboxChannel final : public switchboard::Channel {
 public:
  // How many sent messages GET outbound can show; older ones are dropped.
  static constexpr std::size_t kOutboundCapacity = 10000;
  // The pause between two steps of the simulated QR pairing.
  static constexpr std::chrono::milliseconds kPairingStep{50};

  SandboxChannel(switchboard::Host host, std::string_view config_json);

  void connect() override;
  void disconnect() override;
  std::string send(std::string_view message_json) override;
  std::string status() override;
  std::string capabilities() override;
  // group.list, group.create, group.rename, group.participants, group.info
  // (sandbox_groups.hpp); any other op is SB_ERR_UNSUPPORTED.
  std::string call(std::string_view op, std::string_view request_json) override;

 private:
  enum class PairingEnd { at_qr, connected };

  void handle_inbound(const switchboard::Request& req, switchboard::Response& resp);
  void handle_outbound(const switchboard::Request& req, switchboard::Response& resp);
  void handle_pair(const switchboard::Request& req, switchboard::Response& resp);
  void handle_status(const switchboard::Request& req, switchboard::Response& resp);
  void handle_fail(const switchboard::Request& req, switchboard::Response& resp);

  // Sets CONNECTING now and schedules the rest of the walk; a new walk,
  // connect or disconnect makes the pending steps of an older walk no-ops.
  void start_pairing(PairingEnd end);
  void pairing_step(uint64_t generation, std::string next_status, PairingEnd end);
  // Emits {"status": ...} later on a timer unless `generation` is stale.
  void announce_status_later(uint64_t generation);

  void schedule_receipt(uint64_t seq, std::string external_id, std::string status);
  void deliver_receipt(uint64_t seq, const std::string& external_id, const std::string& status);

  // host().emit that logs instead of throwing: for timers, where nobody
  // could act on the error.
  void emit_quietly(std::string_view type, const nlohmann::json& event);
  // Needs state_mu_ (or the constructor): it draws from rng_.
  std::string random_hex(std::size_t chars);
  nlohmann::json status_json_locked() const;
  // Saves the groups (SandboxGroups::to_json) in the host's per-instance
  // state; needs save_mu_, not state_mu_.
  void save_groups(const std::string& snapshot);

  // Sends that are told to fail (POST fail): the next `remaining` sends
  // (to `to_digits` only, when set) fail transiently (SB_ERR_UNAVAILABLE,
  // not recorded: the outbox retries) or permanently (recorded as failed).
  struct FailurePlan {
    bool transient = true;
    int64_t remaining = 0;
    std::string error;
    std::string to_digits;
  };

  const SandboxConfig config_;
  const std::string profile_id_;

  std::mutex save_mu_;  // orders the saves of group changes (call)

  mutable std::mutex state_mu_;
  std::mt19937_64 rng_;
  std::string status_ = "DISCONNECTED";
  std::string qr_;
  uint64_t generation_ = 0;  // bumped by every connect, disconnect and pairing walk
  OutboundLog outbound_;
  FailurePlan fail_plan_;
  int64_t transient_failures_ = 0;  // sends failed by the plan, ever
  SandboxGroups groups_;
};

}  // namespace sandbox

#pragma once
// channel-whatsapp-cloud: one WhatsApp Business number on Meta's Cloud API.
//
// Inbound: Meta calls GET /hooks/channel-whatsapp-cloud/<profile>/webhook
// for the subscription handshake and POSTs notifications there, signed with
// the app secret (X-Hub-Signature-256). A POST is answered only after every
// message and status it carries is durable in the host (emit), so a 200
// means nothing is lost; a host that refused for a transient reason gets
// Meta a 5xx and Meta retries (the host dedupes on the message id). A bad
// signature is a 401, logged without the body. A malformed notification is
// answered 200 (Meta would retry it forever) and logged as an error; it is
// checked as a whole before anything is emitted, so it is never half-stored.
// Media is fetched through the Graph API into the host's blob store before
// the message is emitted.
//
// Outbound: send() posts to /<phone_number_id>/messages; the Graph error
// codes map onto ABI statuses (graph.hpp). The Cloud API has no idempotency
// key, so the wamid of each send is kept in the plugin's kv state under its
// idempotency key, in a bounded table of `idempotency_slots` entries, before
// send returns: a re-send of a key already answered is answered from there.
// The window that remains: a crash after Graph accepted the message and
// before the kv write sends it twice.
//
// Threads: HTTP workers (webhooks), the outbox (send, call), the host
// (connect, status) and scheduler threads (the reconnect timer) call in
// concurrently. `mu_` guards the status fields; it is never held while
// calling the host or the Graph API.
#include "graph.hpp"

#include <nlohmann/json.hpp>
#include <switchboard/plugin.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace cloud {

class CloudChannel final : public switchboard::Channel {
 public:
  CloudChannel(switchboard::Host host, std::string_view config_json);

  void connect() override;
  void disconnect() override;
  std::string send(std::string_view message_json) override;
  std::string status() override;
  std::string capabilities() override;
  std::string call(std::string_view op, std::string_view request_json) override;

 private:
  void handle_handshake(const switchboard::Request& req, switchboard::Response& resp);
  void handle_notification(const switchboard::Request& req, switchboard::Response& resp);

  // Checks the credentials; reports CONNECTED, or FAILED for a refused
  // token, or retries later when the Graph API is unreachable.
  void check_credentials(uint64_t generation);
  void set_status(const std::string& status, const std::string& detail, bool announce);
  void on_token_invalid(const std::string& detail);

  // The wamid recorded for `key`, if any (bounded table in kv state).
  // The remembered state of a send by its idempotency key: done (with
  // the wamid), or attempted (pending_since, ms) with no answer recorded —
  // the host may have died while Meta took it.
  struct RecordedSend {
    std::string external_id;  // empty while pending
    int64_t pending_since = 0;
  };
  std::optional<RecordedSend> recorded_send(const std::string& key) const;
  void record_send(const std::string& key, const std::string& external_id) const;
  void record_pending(const std::string& key, int64_t now_ms) const;
  // A status webhook named the key of a pending send: record its wamid.
  void resolve_pending(const std::string& key, const std::string& external_id) const;

  const CloudConfig config_;
  const std::string app_secret_;
  const std::string verify_token_;
  GraphClient graph_;

  mutable std::mutex mu_;
  std::string status_ = "DISCONNECTED";
  std::string detail_;
  uint64_t generation_ = 0;  // bumped by connect/disconnect: stale retries do nothing
  int retry_delay_ms_ = 1000;

  std::atomic<uint64_t> accepted_{0}, malformed_{0}, bad_signature_{0}, refused_{0};
};

}  // namespace cloud

#pragma once
// Campaigns and their recipients (migration 010): the rows the campaign
// service (messaging/campaigns.hpp) reads and writes. Free functions over a
// Connection, composed inside the service's write jobs; every lookup a
// caller reaches through the API filters on the workspace.
#include "store/database.hpp"
#include "store/page.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::store {

struct Campaign {
  std::string id;
  std::string organization_id;
  std::string workspace_id;
  std::string profile_id;
  std::string name;
  std::string state = "draft";  // draft | scheduled | running | paused | completed | cancelled
  nlohmann::json message = nlohmann::json::object();  // {"type","text","payload"}
  nlohmann::json audience = nlohmann::json::array();  // what the recipients were made from
  int64_t rate_per_minute = 60;
  double jitter = 0;
  std::optional<int64_t> scheduled_at;
  std::optional<int64_t> started_at;
  std::optional<int64_t> completed_at;
  std::optional<int64_t> pace_origin_at;
  int64_t pace_count = 0;
  int64_t next_seq = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct CampaignRecipient {
  std::string campaign_id;
  int64_t seq = 0;
  std::optional<std::string> contact_id;
  std::string phone;
  nlohmann::json variables = nlohmann::json::object();
  std::string state = "pending";  // pending | queued | sent | delivered | read | failed | skipped
  std::optional<std::string> reason;
  std::optional<std::string> message_id;
  std::optional<std::string> conversation_id;
  std::optional<int64_t> replied_at;
  int64_t updated_at = 0;
};

// Everything but the pacing fields (internal).
nlohmann::json to_json(const Campaign& campaign);
// {"seq","contact_id","phone","state","reason","message_id","conversation_id","replied_at","updated_at"}
nlohmann::json to_json(const CampaignRecipient& recipient);

namespace campaigns {

void insert(Connection& c, const Campaign& campaign);
std::optional<Campaign> find(Connection& c, const std::string& workspace_id, const std::string& id);
std::optional<Campaign> find_any(Connection& c, const std::string& id);  // internal: any workspace
// Newest first; `state` filters when set.
Page<Campaign> page(Connection& c, const std::string& workspace_id, const std::optional<std::string>& state,
                    const PageRequest& request);
// Writes every mutable field of `campaign` (found by id).
void save(Connection& c, const Campaign& campaign);
// Ids of the campaigns in `state`, any workspace.
std::vector<std::string> ids_in_state(Connection& c, const std::string& state);
// Deletes the campaign and its recipients.
void remove(Connection& c, const std::string& id);

void insert_recipient(Connection& c, const CampaignRecipient& recipient);
// Whether the campaign already has a recipient row for the contact.
bool has_contact(Connection& c, const std::string& campaign_id, const std::string& contact_id);
// How many recipients are in `state` (one index range).
int64_t count_in_state(Connection& c, const std::string& campaign_id, const std::string& state);
// The first `limit` pending recipients in seq order.
std::vector<CampaignRecipient> pending(Connection& c, const std::string& campaign_id, int64_t limit);
void mark_queued(Connection& c, const std::string& campaign_id, int64_t seq, const std::string& message_id,
                 const std::string& conversation_id, int64_t now);
void set_state(Connection& c, const std::string& campaign_id, int64_t seq, const std::string& state,
               const std::optional<std::string>& reason, int64_t now);
// Recipients queued with one of `message_ids` (withdrawn from the outbox)
// go back to pending, their message id cleared. Returns how many.
int64_t requeue_messages(Connection& c, const std::string& campaign_id, const std::vector<std::string>& message_ids,
                         int64_t now);
// Every pending recipient -> skipped with `reason`. Returns how many.
int64_t skip_pending(Connection& c, const std::string& campaign_id, const std::string& reason, int64_t now);
// Queued recipients whose message id is among `message_ids` -> skipped with `reason`.
int64_t skip_messages(Connection& c, const std::string& campaign_id, const std::vector<std::string>& message_ids,
                      const std::string& reason, int64_t now);

// The recipient that was sent `message_id`, if any.
std::optional<CampaignRecipient> by_message(Connection& c, const std::string& message_id);
// The recipients whose campaign message went into `conversation_id`.
std::vector<CampaignRecipient> by_conversation(Connection& c, const std::string& conversation_id);
void mark_replied(Connection& c, const std::string& campaign_id, int64_t seq, int64_t at);

// Recipients in seq order after `after_seq` (-1: from the start), at most
// `limit`; `state` filters when set.
std::vector<CampaignRecipient> recipients(Connection& c, const std::string& campaign_id,
                                          const std::optional<std::string>& state, int64_t after_seq, int64_t limit);

struct Counts {
  std::map<std::string, int64_t> by_state;           // every state, 0 when none
  std::map<std::string, int64_t> skipped_by_reason;  // reason -> count
  std::map<std::string, int64_t> failed_by_reason;
  int64_t replied = 0;
  int64_t total = 0;
};
Counts counts(Connection& c, const std::string& campaign_id);

// Queued/sent/delivered recipients whose message has moved on in the
// messages table (an event lost to a crash): (seq, status, error).
struct Lagging {
  int64_t seq = 0;
  std::string status;
  std::optional<std::string> error;
};
std::vector<Lagging> lagging(Connection& c, const std::string& campaign_id, int64_t limit);

}  // namespace campaigns
}  // namespace sb::store

#pragma once
// Campaigns: one message, with variables, sent to an audience through one
// profile at a set rate, through the outbox (kind "cold").
//
// A campaign is created as a draft with its message and an audience (contact
// ids, a tag query or a CSV of phones and variables; more audience may be
// added while it is a draft). Each audience member becomes a recipient row,
// in chunked write jobs; duplicates, invalid phones, opted-out contacts and
// contacts the message cannot be rendered for (a variable without value and
// without default) become skipped rows with the reason. Then:
//
//   draft --start--> running --pause--> paused --resume--> running
//   draft --start(at)--> scheduled --(at)--> running
//   running --(no recipient pending or queued)--> completed
//   draft | scheduled | running | paused --cancel--> cancelled
//
// The feeder (a thread of its own) keeps the next `feed_ahead` of each
// running campaign's sends queued in the outbox, each with not_before = its
// paced time (pace_origin_at + n * 60000 / rate, plus jitter that averages
// out), and marks the recipient queued with its message id IN THE SAME
// write job as the enqueue. That is what makes a crash at any moment safe:
// a recipient is either pending with no outbox row, or queued with one,
// and the outbox sends each row once; after a restart the feeder goes on
// from the first pending recipient. Pause and cancel withdraw the outbox
// rows not yet handed to the channel (Outbox::withdraw_campaign) and put
// their recipients back to pending (pause) or skip them "cancelled".
//
// Recipients follow the outbox's "message.status" events (sent, delivered,
// read, failed with the reason; a send refused because the contact opted
// out meanwhile is skipped "opted out"), and "message.received" in a
// recipient's conversation after its message was sent counts as a reply.
// Events are queued by the bus handlers and applied by the feeder thread in
// batches; a status lost to a crash is caught up from the messages table.
// "campaign.progress" is published at most once per `progress_interval` per
// campaign that changed, and at every state change.
//
// Threads: the public methods run on any thread (HTTP workers); the feeder
// thread owns feeding and event application. `mu_` guards the event queue,
// the dirty set and the run flags; campaigns and recipients live in the
// database only.
#include "core/event_bus.hpp"
#include "messaging/outbox.hpp"
#include "store/campaign_repository.hpp"
#include "store/contact_repository.hpp"
#include "store/database.hpp"
#include "store/page.hpp"
#include "store/tenancy_repository.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sb::messaging {

struct CampaignOptions {
  std::chrono::milliseconds tick{200};                  // the feeder looks at least this often
  std::chrono::milliseconds feed_ahead{5000};           // sends queued ahead in the outbox
  std::chrono::milliseconds progress_interval{1000};    // campaign.progress at most this often
  int64_t chunk = 2000;                                 // recipients per write job when adding
  std::function<int64_t()> clock;                       // empty: now_ms()
};

// What a campaign is made of (create; update changes what is set).
struct CampaignSpec {
  std::string id;           // empty: "cmp_..."
  std::string profile_id;
  std::string name;
  nlohmann::json message;   // {"type": "text", "text": ..., "payload": {...}}
  int64_t rate_per_minute = 60;
  double jitter = 0;        // 0..0.9: each send moves up to this share of the spacing, either way
};

struct CampaignPatch {
  std::optional<std::string> name;
  std::optional<nlohmann::json> message;  // draft and scheduled only
  std::optional<int64_t> rate_per_minute;
  std::optional<double> jitter;
};

// Who receives it. Any combination; each given part is added in turn.
struct Audience {
  std::vector<std::string> contact_ids;
  std::optional<store::TagQuery> tags;
  nlohmann::json tags_spec;               // what `tags` was made from, for the record
  std::optional<std::string> csv;         // header row with "phone", then name / any column (-> metadata)
  std::string default_region;             // for CSV phones without "+"
  bool empty() const { return contact_ids.empty() && !tags && !csv; }
};

// What adding an audience did.
struct AudienceReport {
  int64_t added = 0;                           // recipients pending
  int64_t skipped = 0;
  std::map<std::string, int64_t> skipped_by_reason;
  int64_t contacts_created = 0;                // by the CSV
  nlohmann::json errors = nlohmann::json::array();  // first 100: {"line"|"contact_id", "phone", "reason"}
  nlohmann::json to_json() const;
};

// The variables a campaign message uses ({"type","text","payload"}); checks
// its template and a sample rendering against the message types' rules.
// Throws sb::Error(invalid_argument) naming the field.
std::set<std::string> campaign_message_variables(const nlohmann::json& message);

class Campaigns {
 public:
  Campaigns(store::Database& db, Outbox& outbox, EventBus& bus, CampaignOptions options = {});
  ~Campaigns();  // stop()
  Campaigns(const Campaigns&) = delete;
  Campaigns& operator=(const Campaigns&) = delete;

  // A draft with `audience` added. Throws sb::Error: invalid_argument for a
  // bad message (its template checked), rate or jitter; not_found for a
  // profile outside the workspace; conflict for a taken id.
  store::Campaign create(const store::Workspace& ws, const CampaignSpec& spec, const Audience& audience,
                         AudienceReport* report = nullptr);
  // More recipients for a draft (conflict otherwise).
  AudienceReport add_audience(const store::Workspace& ws, const std::string& id, const Audience& audience);
  store::Campaign update(const store::Workspace& ws, const std::string& id, const CampaignPatch& patch);
  // Drafts, completed and cancelled campaigns only (conflict otherwise).
  void remove(const store::Workspace& ws, const std::string& id);

  std::optional<store::Campaign> find(const store::Workspace& ws, const std::string& id);
  store::Page<store::Campaign> list(const store::Workspace& ws, const std::optional<std::string>& state,
                                    const store::PageRequest& page);
  // {"total","pending","queued","sent","delivered","read","replied","failed","skipped",
  //  "skipped_by_reason":{},"failed_by_reason":{}} from the database. "sent" counts
  // every recipient whose message went out (sent, delivered or read), "delivered"
  // those delivered or read.
  nlohmann::json progress(const store::Workspace& ws, const std::string& id);
  // Recipients by seq after `after_seq`, at most `limit`.
  std::vector<store::CampaignRecipient> recipients(const store::Workspace& ws, const std::string& id,
                                                   const std::optional<std::string>& state, int64_t after_seq,
                                                   int64_t limit);

  // State changes; each returns the campaign as stored and throws
  // sb::Error(conflict) naming the current state when not allowed.
  // start(): draft -> running now, or scheduled when `at` is in the future.
  store::Campaign start(const store::Workspace& ws, const std::string& id, std::optional<int64_t> at = std::nullopt);
  store::Campaign pause(const store::Workspace& ws, const std::string& id);
  store::Campaign resume(const store::Workspace& ws, const std::string& id);
  store::Campaign cancel(const store::Workspace& ws, const std::string& id);

  // Subscribes to the bus, catches up statuses, re-bases the pacing of
  // running campaigns and starts the feeder. Call after the outbox started.
  void start();
  // Stops the feeder (a feed in flight commits first). Safe to call twice.
  void stop();

  // Asks the feeder to look now (tests; state changes do it themselves).
  void wake();

 private:
  // `campaign` goes running at `t`: started then (unless it had started
  // before), its pacing counted from `t`. Start, resume and a due
  // scheduled start all do this.
  static void run_from(store::Campaign& campaign, int64_t t);
  struct PendingEvent {
    bool reply = false;  // message.received; else message.status
    std::string message_id;
    std::string conversation_id;
    std::string status;
    std::optional<std::string> error;
    int64_t at = 0;
  };

  int64_t now() const;
  store::Campaign require(store::Connection& c, const store::Workspace& ws, const std::string& id);
  void add_audience_chunks(const store::Campaign& campaign, const Audience& audience, AudienceReport& report);
  void publish_state(const store::Campaign& campaign);
  nlohmann::json progress_of(store::Connection& c, const store::Campaign& campaign);

  void feeder_loop();
  void start_due_scheduled();
  // Feeds one running campaign up to the window; true if it completed.
  void feed(const std::string& campaign_id);
  void apply_events(std::vector<PendingEvent> events);
  void catch_up(const std::string& campaign_id);
  void publish_dirty(bool force);

  store::Database& db_;
  Outbox& outbox_;
  EventBus& bus_;
  const CampaignOptions options_;

  EventBus::Subscription on_status_;
  EventBus::Subscription on_received_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PendingEvent> events_;
  std::set<std::string> dirty_;                        // campaigns whose progress changed
  std::map<std::string, int64_t> last_published_;      // campaign -> when (steady ms)
  bool stopping_ = false;
  bool running_ = false;
  bool woken_ = false;
  std::thread feeder_;
};

}  // namespace sb::messaging

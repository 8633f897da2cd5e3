// Campaigns: reading them, their progress and recipients, and their state
// changes. Adding the audience is in campaigns_audience.cpp, the feeder and
// the events in campaigns_feeder.cpp.
#include "messaging/campaigns.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "messaging/template_vars.hpp"

namespace sb::messaging {
namespace {

using nlohmann::json;

Error wrong_state(const store::Campaign& c, const std::string& action, const std::string& allowed) {
  return Error(ErrorCode::conflict,
               "campaign " + c.id + " is " + c.state + "; only a " + allowed + " campaign can be " + action,
               {{"state", c.state}});
}

}  // namespace

Campaigns::Campaigns(store::Database& db, Outbox& outbox, EventBus& bus, CampaignOptions options)
    : db_(db), outbox_(outbox), bus_(bus), options_(std::move(options)) {}

Campaigns::~Campaigns() { stop(); }

int64_t Campaigns::now() const { return options_.clock ? options_.clock() : now_ms(); }

store::Campaign Campaigns::require(store::Connection& c, const store::Workspace& ws, const std::string& id) {
  auto campaign = store::campaigns::find(c, ws.id, id);
  if (!campaign)
    throw Error(ErrorCode::not_found, "campaign " + id + " not found in this workspace", {{"field", "campaign_id"}});
  return *campaign;
}

std::optional<store::Campaign> Campaigns::find(const store::Workspace& ws, const std::string& id) {
  return db_.read([&](store::Connection& c) { return store::campaigns::find(c, ws.id, id); });
}

store::Page<store::Campaign> Campaigns::list(const store::Workspace& ws, const std::optional<std::string>& state,
                                             const store::PageRequest& page) {
  return db_.read([&](store::Connection& c) { return store::campaigns::page(c, ws.id, state, page); });
}

store::Campaign Campaigns::update(const store::Workspace& ws, const std::string& id, const CampaignPatch& patch) {
  if (patch.name && (patch.name->empty() || patch.name->size() > 200))
    throw Error(ErrorCode::invalid_argument, "\"name\" must be 1 to 200 characters", {{"field", "name"}});
  if (patch.rate_per_minute && (*patch.rate_per_minute < 1 || *patch.rate_per_minute > 60000))
    throw Error(ErrorCode::invalid_argument, "\"rate_per_minute\" must be 1 to 60000", {{"field", "rate_per_minute"}});
  if (patch.jitter && !(*patch.jitter >= 0 && *patch.jitter <= 0.9))
    throw Error(ErrorCode::invalid_argument, "\"jitter\" must be 0 to 0.9", {{"field", "jitter"}});
  store::Campaign out = db_.write([&](store::Connection& c) {
    store::Campaign campaign = require(c, ws, id);
    if (campaign.state == "completed" || campaign.state == "cancelled")
      throw wrong_state(campaign, "edited", "draft, scheduled, running or paused");
    if (patch.message) {
      if (campaign.state != "draft")
        throw Error(ErrorCode::conflict, "the message of campaign " + id + " is fixed once it left the draft state",
                    {{"state", campaign.state}});
      // Recipients were checked against the old message's variables.
      const std::set<std::string> new_set = campaign_message_variables(*patch.message);
      const std::set<std::string> old_set = campaign_message_variables(campaign.message);
      if (new_set != old_set && campaign.next_seq > 0)
        throw Error(ErrorCode::conflict,
                    "the new message uses other variables than the one the recipients were checked against; "
                    "create a new campaign",
                    {{"field", "message"}});
      campaign.message = {{"type", patch.message->value("type", std::string("text"))},
                          {"text", patch.message->value("text", std::string())},
                          {"payload", patch.message->value("payload", json::object())}};
    }
    if (patch.name) campaign.name = *patch.name;
    if (patch.rate_per_minute && *patch.rate_per_minute != campaign.rate_per_minute) {
      campaign.rate_per_minute = *patch.rate_per_minute;
      // The new spacing starts from now (what is queued ahead keeps its times).
      if (campaign.state == "running") {
        campaign.pace_origin_at.reset();
        campaign.pace_count = 0;
      }
    }
    if (patch.jitter) campaign.jitter = *patch.jitter;
    campaign.updated_at = now();
    store::campaigns::save(c, campaign);
    return campaign;
  });
  wake();
  return out;
}

void Campaigns::remove(const store::Workspace& ws, const std::string& id) {
  db_.write([&](store::Connection& c) {
    const store::Campaign campaign = require(c, ws, id);
    if (campaign.state != "draft" && campaign.state != "completed" && campaign.state != "cancelled")
      throw wrong_state(campaign, "deleted", "draft, completed or cancelled");
    store::campaigns::remove(c, id);
  });
}

json Campaigns::progress_of(store::Connection& c, const store::Campaign& campaign) {
  const store::campaigns::Counts n = store::campaigns::counts(c, campaign.id);
  auto at = [&](const char* s) { return n.by_state.at(s); };
  return {{"campaign_id", campaign.id},
          {"name", campaign.name},
          {"state", campaign.state},
          {"total", n.total},
          {"pending", at("pending")},
          {"queued", at("queued")},
          {"sent", at("sent") + at("delivered") + at("read")},
          {"delivered", at("delivered") + at("read")},
          {"read", at("read")},
          {"replied", n.replied},
          {"failed", at("failed")},
          {"skipped", at("skipped")},
          {"skipped_by_reason", n.skipped_by_reason},
          {"failed_by_reason", n.failed_by_reason}};
}

json Campaigns::progress(const store::Workspace& ws, const std::string& id) {
  return db_.read([&](store::Connection& c) { return progress_of(c, require(c, ws, id)); });
}

std::vector<store::CampaignRecipient> Campaigns::recipients(const store::Workspace& ws, const std::string& id,
                                                            const std::optional<std::string>& state,
                                                            int64_t after_seq, int64_t limit) {
  return db_.read([&](store::Connection& c) {
    require(c, ws, id);
    return store::campaigns::recipients(c, id, state, after_seq, limit);
  });
}

void Campaigns::run_from(store::Campaign& campaign, int64_t t) {
  campaign.state = "running";
  if (!campaign.started_at) campaign.started_at = t;
  campaign.pace_origin_at = t;
  campaign.pace_count = 0;
}

store::Campaign Campaigns::start(const store::Workspace& ws, const std::string& id, std::optional<int64_t> at) {
  store::Campaign out = db_.write([&](store::Connection& c) {
    store::Campaign campaign = require(c, ws, id);
    if (campaign.state != "draft" && campaign.state != "scheduled") throw wrong_state(campaign, "started", "draft or scheduled");
    const int64_t t = now();
    if (at && *at > t) {
      campaign.state = "scheduled";
      campaign.scheduled_at = at;
    } else {
      run_from(campaign, t);
    }
    campaign.updated_at = t;
    store::campaigns::save(c, campaign);
    return campaign;
  });
  publish_state(out);
  wake();
  return out;
}

store::Campaign Campaigns::pause(const store::Workspace& ws, const std::string& id) {
  store::Campaign out = db_.write([&](store::Connection& c) {
    store::Campaign campaign = require(c, ws, id);
    if (campaign.state != "running" && campaign.state != "scheduled")
      throw wrong_state(campaign, "paused", "running or scheduled");
    const int64_t t = now();
    const std::vector<std::string> withdrawn = outbox_.withdraw_campaign(c, id);
    store::campaigns::requeue_messages(c, id, withdrawn, t);
    campaign.state = "paused";
    campaign.updated_at = t;
    store::campaigns::save(c, campaign);
    return campaign;
  });
  publish_state(out);
  return out;
}

store::Campaign Campaigns::resume(const store::Workspace& ws, const std::string& id) {
  store::Campaign out = db_.write([&](store::Connection& c) {
    store::Campaign campaign = require(c, ws, id);
    if (campaign.state != "paused") throw wrong_state(campaign, "resumed", "paused");
    const int64_t t = now();
    run_from(campaign, t);
    campaign.updated_at = t;
    store::campaigns::save(c, campaign);
    return campaign;
  });
  publish_state(out);
  wake();
  return out;
}

store::Campaign Campaigns::cancel(const store::Workspace& ws, const std::string& id) {
  store::Campaign out = db_.write([&](store::Connection& c) {
    store::Campaign campaign = require(c, ws, id);
    if (campaign.state == "completed" || campaign.state == "cancelled")
      throw wrong_state(campaign, "cancelled", "draft, scheduled, running or paused");
    const int64_t t = now();
    const std::vector<std::string> withdrawn = outbox_.withdraw_campaign(c, id);
    store::campaigns::skip_messages(c, id, withdrawn, "cancelled", t);
    store::campaigns::skip_pending(c, id, "cancelled", t);
    campaign.state = "cancelled";
    campaign.completed_at = t;
    campaign.updated_at = t;
    store::campaigns::save(c, campaign);
    return campaign;
  });
  publish_state(out);
  return out;
}

void Campaigns::publish_state(const store::Campaign& campaign) {
  json data;
  try {
    data = db_.read([&](store::Connection& c) { return progress_of(c, campaign); });
  } catch (const std::exception&) {
    return;  // the state is in the database; the next event will carry it
  }
  Event e;
  e.type = "campaign.progress";
  e.workspace_id = campaign.workspace_id;
  e.profile_id = campaign.profile_id;
  e.at_ms = now_ms();
  e.data = std::move(data);
  bus_.publish(e);
  std::lock_guard lock(mu_);
  dirty_.erase(campaign.id);
  last_published_[campaign.id] = e.at_ms;
}

}  // namespace sb::messaging

// Campaigns: the feeder thread (paced enqueues into the outbox), the
// recipients' statuses and replies from the bus, and campaign.progress.
#include "messaging/campaigns.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "messaging/template_vars.hpp"
#include "plugins/plugin_error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace sb::messaging {
namespace {

using nlohmann::json;

constexpr int64_t kFeedBatch = 500;          // enqueues per write job at most
constexpr int64_t kBehindToleranceMs = 1000;  // further behind than this: re-base the pacing (after a restart)

int rank(const std::string& state) {
  if (state == "queued") return 0;
  if (state == "sent") return 1;
  if (state == "delivered") return 2;
  if (state == "read") return 3;
  return -1;
}

// Whether a recipient in `from` takes the message status `to`.
bool advances(const std::string& from, const std::string& to) {
  if (from == "skipped" || from == "failed" || from == "pending") return false;
  if (to == "failed") return from == "queued" || from == "sent";
  return rank(to) > rank(from);
}

// The recipient state for a message status (an opt-out refusal is a skip).
std::pair<std::string, std::optional<std::string>> recipient_state(const std::string& status,
                                                                   const std::optional<std::string>& error) {
  if (status == "failed" && error && error->rfind("opted out", 0) == 0) return {"skipped", "opted out"};
  if (status == "failed") return {"failed", error ? *error : std::string("failed")};
  return {status, std::nullopt};
}

}  // namespace

void Campaigns::start() {
  {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
  }
  on_status_ = bus_.subscribe("message.status", [this](const Event& e) {
    PendingEvent p;
    p.message_id = e.data.value("message_id", std::string());
    p.status = e.data.value("status", std::string());
    if (e.data.contains("error") && e.data["error"].is_string()) p.error = e.data["error"].get<std::string>();
    if (p.message_id.empty()) return;
    std::lock_guard lock(mu_);
    events_.push_back(std::move(p));
    cv_.notify_one();
  });
  on_received_ = bus_.subscribe("message.received", [this](const Event& e) {
    PendingEvent p;
    p.reply = true;
    p.conversation_id = e.data.value("conversation_id", std::string());
    p.at = e.data.value("created_at", e.at_ms);
    if (p.conversation_id.empty()) return;
    std::lock_guard lock(mu_);
    events_.push_back(std::move(p));
    cv_.notify_one();
  });
  // Statuses that a crash kept from reaching the recipients.
  try {
    std::vector<std::string> open;
    db_.read([&](store::Connection& c) {
      for (const char* s : {"running", "paused"})
        for (auto& id : store::campaigns::ids_in_state(c, s)) open.push_back(id);
    });
    for (const auto& id : open) catch_up(id);
    if (!open.empty()) spdlog::info("campaigns: {} running or paused campaign(s) resume", open.size());
  } catch (const std::exception& e) {
    spdlog::warn("campaigns: catching up statuses failed: {}", e.what());
  }
  feeder_ = std::thread([this] { feeder_loop(); });
}

void Campaigns::stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (feeder_.joinable()) feeder_.join();
  on_status_ = {};
  on_received_ = {};
  std::lock_guard lock(mu_);
  running_ = false;
}

void Campaigns::wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_one();
}

void Campaigns::feeder_loop() {
  for (;;) {
    std::vector<PendingEvent> events;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.tick, [this] { return stopping_ || woken_ || !events_.empty(); });
      if (stopping_) return;
      woken_ = false;
      events.swap(events_);
    }
    try {
      if (!events.empty()) apply_events(std::move(events));
      start_due_scheduled();
      std::vector<std::string> running =
          db_.read([](store::Connection& c) { return store::campaigns::ids_in_state(c, "running"); });
      for (const auto& id : running) {
        {
          std::lock_guard lock(mu_);
          if (stopping_) return;
        }
        feed(id);
      }
      publish_dirty(false);
    } catch (const std::exception& e) {
      // The database may be busy or closing; the next tick tries again.
      spdlog::warn("campaigns: feeder: {}", e.what());
    }
  }
}

void Campaigns::start_due_scheduled() {
  const int64_t t = now();
  std::vector<store::Campaign> started = db_.write([&](store::Connection& c) {
    std::vector<store::Campaign> out;
    for (const auto& id : store::campaigns::ids_in_state(c, "scheduled")) {
      auto campaign = store::campaigns::find_any(c, id);
      if (!campaign || !campaign->scheduled_at || *campaign->scheduled_at > t) continue;
      run_from(*campaign, t);
      campaign->updated_at = t;
      store::campaigns::save(c, *campaign);
      out.push_back(*campaign);
    }
    return out;
  });
  for (const auto& c : started) publish_state(c);
}

void Campaigns::feed(const std::string& campaign_id) {
  std::mt19937_64 rng(std::random_device{}());
  for (;;) {
    struct Fed {
      int64_t enqueued = 0;
      bool more = false;
      std::optional<store::Campaign> completed;
    };
    const Fed fed = db_.write([&](store::Connection& c) {
      Fed out;
      auto campaign = store::campaigns::find_any(c, campaign_id);
      if (!campaign || campaign->state != "running") return out;
      const int64_t t = now();
      const double interval = 60000.0 / static_cast<double>(std::max<int64_t>(1, campaign->rate_per_minute));
      auto due = [&] {
        return *campaign->pace_origin_at + static_cast<int64_t>(std::llround(interval * campaign->pace_count));
      };
      // After a restart (or a rate change) the spacing starts again from
      // now rather than catching up with a burst.
      if (!campaign->pace_origin_at || due() < t - kBehindToleranceMs) {
        campaign->pace_origin_at = t;
        campaign->pace_count = 0;
      }
      const int64_t horizon = t + options_.feed_ahead.count();
      if (due() > horizon) return out;
      // When the outbox holds sends back (budgets, quiet hours, the breaker),
      // the campaign waits instead of piling its whole audience into it: at
      // most two windows' worth are queued at once.
      const int64_t window = static_cast<int64_t>(std::ceil(static_cast<double>(options_.feed_ahead.count()) / interval));
      const int64_t in_flight_cap = std::max<int64_t>(10, 2 * window);
      const int64_t in_flight = store::campaigns::count_in_state(c, campaign_id, "queued");
      if (in_flight >= in_flight_cap) return out;
      const int64_t asked = std::min(kFeedBatch, in_flight_cap - in_flight);
      const auto rows = store::campaigns::pending(c, campaign_id, asked);
      if (rows.empty()) {
        // Nothing left to feed: done once nothing is in flight either.
        const auto n = store::campaigns::counts(c, campaign_id);
        if (n.by_state.at("queued") == 0) {
          campaign->state = "completed";
          campaign->completed_at = t;
          campaign->updated_at = t;
          store::campaigns::save(c, *campaign);
          out.completed = *campaign;
        }
        return out;
      }
      std::uniform_real_distribution<double> spread(-1.0, 1.0);
      const std::string text = campaign->message.value("text", std::string());
      const json payload = campaign->message.value("payload", json::object());
      size_t i = 0;
      for (; i < rows.size(); ++i) {
        const store::CampaignRecipient& r = rows[i];
        const int64_t at = due();
        if (at > horizon) break;
        auto skip = [&](const std::string& reason) {
          store::campaigns::set_state(c, campaign_id, r.seq, "skipped", reason, t);
        };
        auto contact = r.contact_id ? store::contacts::find(c, campaign->workspace_id, *r.contact_id) : std::nullopt;
        if (!contact) { skip("contact deleted"); continue; }
        if (contact->opted_out) { skip("opted out"); continue; }
        TemplateValues values;
        for (const auto& [k, v] : r.variables.items())
          if (v.is_string()) values[k] = v.get<std::string>();
        std::string missing;
        auto rendered_text = render_template(text, values, &missing);
        auto rendered_payload = render_template_json(payload, values, &missing);
        if (!rendered_text || !rendered_payload) { skip("missing variable " + missing); continue; }

        OutgoingMessage m;
        m.profile_id = campaign->profile_id;
        m.contact_id = contact->id;
        m.type = campaign->message.value("type", std::string("text"));
        m.text = std::move(*rendered_text);
        m.payload = std::move(*rendered_payload);
        m.kind = "cold";
        m.campaign_id = campaign_id;
        const double offset = campaign->jitter > 0 ? spread(rng) * campaign->jitter * interval : 0.0;
        m.not_before = at + static_cast<int64_t>(std::llround(offset));
        // The enqueue and the recipient's mark commit together or not at
        // all; a refused message rolls back only its own savepoint.
        c.exec("SAVEPOINT campaign_send");
        try {
          const EnqueuedMessage q = outbox_.enqueue(c, m);
          store::campaigns::mark_queued(c, campaign_id, r.seq, q.message_id, q.conversation_id, t);
          c.exec("RELEASE SAVEPOINT campaign_send");
          ++campaign->pace_count;
          ++out.enqueued;
        } catch (const plugins::PluginError&) {
          // The database itself failed: not this recipient's fault. The job
          // fails and the next tick tries again.
          c.exec("ROLLBACK TO SAVEPOINT campaign_send");
          c.exec("RELEASE SAVEPOINT campaign_send");
          throw;
        } catch (const Error& e) {
          c.exec("ROLLBACK TO SAVEPOINT campaign_send");
          c.exec("RELEASE SAVEPOINT campaign_send");
          const std::string why = e.what();
          if (why.find("opted out") != std::string::npos) skip("opted out");
          else store::campaigns::set_state(c, campaign_id, r.seq, "failed", why.substr(0, 500), t);
        } catch (const std::exception& e) {
          // Not an error a user caused or can fix: fail the recipient rather
          // than retry it on every tick.
          c.exec("ROLLBACK TO SAVEPOINT campaign_send");
          c.exec("RELEASE SAVEPOINT campaign_send");
          store::campaigns::set_state(c, campaign_id, r.seq, "failed",
                                      std::string("internal error: ") + std::string(e.what()).substr(0, 400), t);
        }
      }
      out.more = i == rows.size() && static_cast<int64_t>(rows.size()) == asked &&
                 in_flight + out.enqueued < in_flight_cap;
      campaign->updated_at = t;
      store::campaigns::save(c, *campaign);
      return out;
    });
    if (fed.completed) {
      publish_state(*fed.completed);
      return;
    }
    if (fed.enqueued > 0) {
      std::lock_guard lock(mu_);
      dirty_.insert(campaign_id);
    }
    if (!fed.more) break;
  }
  // Nothing pending: a status lost to a crash must not keep it from completing.
  const bool drained = db_.read([&](store::Connection& c) {
    auto n = store::campaigns::counts(c, campaign_id);
    return n.by_state.at("pending") == 0 && n.by_state.at("queued") > 0;
  });
  if (drained) catch_up(campaign_id);
}

void Campaigns::apply_events(std::vector<PendingEvent> events) {
  // Most messages are not a campaign's: find the ones that are on a reader
  // first, so that the writer sees only campaign work.
  struct Relevant {
    const PendingEvent* event;
    std::vector<store::CampaignRecipient> recipients;
  };
  std::vector<Relevant> relevant = db_.read([&](store::Connection& c) {
    std::vector<Relevant> out;
    for (const auto& e : events) {
      std::vector<store::CampaignRecipient> found;
      if (e.reply) {
        // The reply belongs to the latest campaign message that went out in
        // the conversation (message ids sort by creation time).
        const store::CampaignRecipient* latest = nullptr;
        const auto in_conversation = store::campaigns::by_conversation(c, e.conversation_id);
        for (const auto& r : in_conversation)
          if (rank(r.state) >= 1 && r.message_id && (!latest || *r.message_id > *latest->message_id)) latest = &r;
        if (latest && !latest->replied_at) found.push_back(*latest);
      } else if (auto r = store::campaigns::by_message(c, e.message_id)) {
        found.push_back(std::move(*r));
      }
      if (!found.empty()) out.push_back({&e, std::move(found)});
    }
    return out;
  });
  if (relevant.empty()) return;
  std::set<std::string> touched = db_.write([&](store::Connection& c) {
    std::set<std::string> out;
    const int64_t t = now();
    for (const auto& rel : relevant) {
      const PendingEvent& e = *rel.event;
      for (const auto& stale : rel.recipients) {
        // Re-read inside the job: an earlier event of this batch may have moved it.
        auto rows = store::campaigns::recipients(c, stale.campaign_id, std::nullopt, stale.seq - 1, 1);
        if (rows.empty() || rows[0].seq != stale.seq) continue;
        const store::CampaignRecipient& r = rows[0];
        if (e.reply) {
          if (r.replied_at || rank(r.state) < 1) continue;
          store::campaigns::mark_replied(c, r.campaign_id, r.seq, e.at ? e.at : t);
          out.insert(r.campaign_id);
        } else {
          if (r.message_id != e.message_id || !advances(r.state, e.status)) continue;
          const auto [state, reason] = recipient_state(e.status, e.error);
          store::campaigns::set_state(c, r.campaign_id, r.seq, state, reason, t);
          out.insert(r.campaign_id);
        }
      }
    }
    return out;
  });
  std::lock_guard lock(mu_);
  dirty_.insert(touched.begin(), touched.end());
}

void Campaigns::catch_up(const std::string& campaign_id) {
  constexpr int64_t kPage = 1000;
  for (;;) {
    struct Pass {
      size_t seen = 0;
      int64_t applied = 0;
    };
    const Pass pass = db_.write([&](store::Connection& c) {
      Pass out;
      const auto rows = store::campaigns::lagging(c, campaign_id, kPage);
      out.seen = rows.size();
      const int64_t t = now();
      for (const auto& l : rows) {
        auto r = store::campaigns::recipients(c, campaign_id, std::nullopt, l.seq - 1, 1);
        if (r.empty() || !advances(r[0].state, l.status)) continue;
        const auto [state, reason] = recipient_state(l.status, l.error);
        store::campaigns::set_state(c, campaign_id, l.seq, state, reason, t);
        ++out.applied;
      }
      return out;
    });
    if (pass.applied > 0) {
      std::lock_guard lock(mu_);
      dirty_.insert(campaign_id);
    }
    if (static_cast<int64_t>(pass.seen) < kPage || pass.applied == 0) return;
  }
}

void Campaigns::publish_dirty(bool force) {
  std::vector<std::string> due;
  {
    std::lock_guard lock(mu_);
    const int64_t t = now_ms();
    for (auto it = dirty_.begin(); it != dirty_.end();) {
      const auto last = last_published_.find(*it);
      if (force || last == last_published_.end() || t - last->second >= options_.progress_interval.count()) {
        due.push_back(*it);
        it = dirty_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& id : due) {
    auto campaign = db_.read([&](store::Connection& c) { return store::campaigns::find_any(c, id); });
    if (campaign) publish_state(*campaign);
  }
}

}  // namespace sb::messaging

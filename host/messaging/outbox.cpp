#include "messaging/outbox.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "messaging/message_rules.hpp"
#include "messaging/phone.hpp"
#include "messaging/status_events.hpp"
#include "plugins/plugin_error.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/message_repository.hpp"
#include "store/outbox_repository.hpp"
#include "store/profile_repository.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace sb::messaging {

namespace {

constexpr int kRecordAttempts = 3;

// A claimed row with what its send needs.
struct Claimed {
  store::OutboxRow row;
  store::Message message;
  std::string to;
};

// What happened to one claimed row.
struct Outcome {
  enum class Kind { sent, retry, failed, unsent };
  Kind kind = Kind::unsent;
  std::string external_id;  // sent
  std::string error;        // retry, failed
};

// What a sent or failed row tells the event bus, after commit.
struct StatusChange {
  store::Message message;
  std::string status;
  std::optional<std::string> error;
};

nlohmann::json channel_message(const Claimed& c) {
  nlohmann::json m = nlohmann::json::object();
  if (c.message.payload.is_object()) m = c.message.payload;  // type-specific fields first ...
  m["message_id"] = c.message.id;                              // ... the host's fields win
  m["idempotency_key"] = c.row.idempotency_key;
  m["to"] = c.to;
  m["conversation_id"] = c.message.conversation_id;
  m["contact_id"] = c.message.contact_id;
  m["type"] = c.message.type;
  m["text"] = c.message.text.value_or("");
  return m;
}

// Superseded by publish_status_change (messaging/status_events.hpp); unused.
[[maybe_unused]] Event status_event(const StatusChange& change) {
  Event e;
  e.type = "message.status";
  e.workspace_id = change.message.workspace_id;
  e.profile_id = change.message.profile_id;
  e.at_ms = sb::now_ms();
  e.data = {{"message_id", change.message.id},
            {"external_id", change.message.external_id ? nlohmann::json(*change.message.external_id)
                                                       : nlohmann::json(nullptr)},
            {"conversation_id", change.message.conversation_id},
            {"contact_id", change.message.contact_id},
            {"direction", "out"},
            {"status", change.status},
            {"error", change.error ? nlohmann::json(*change.error) : nlohmann::json(nullptr)}};
  return e;
}

}  // namespace

std::chrono::milliseconds retry_delay(const OutboxOptions& options, int64_t attempts) {
  const double base = static_cast<double>(std::max<int64_t>(options.base_backoff.count(), 1));
  const double cap = static_cast<double>(std::max(options.max_backoff, options.base_backoff).count());
  const int exponent = static_cast<int>(std::clamp<int64_t>(attempts - 1, 0, 40));
  const double delay = std::min(cap, base * static_cast<double>(int64_t{1} << std::min(exponent, 40)));
  // Jitter spreads the retries of many messages that failed together.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(delay / 2, delay);
  return std::chrono::milliseconds(static_cast<int64_t>(jitter(rng)));
}

Outbox::Outbox(store::Database& db, ChannelSessions& sessions, EventBus& bus, OutboxOptions options)
    : db_(db), sessions_(sessions), bus_(bus), options_(options) {}

Outbox::~Outbox() { stop(); }

// ---- Enqueue -------------------------------------------------------------------

EnqueuedMessage Outbox::enqueue(store::Connection& c, const OutgoingMessage& out) {
  if (out.profile_id.empty()) throw Error(ErrorCode::invalid_argument, "an outgoing message needs a profile_id");
  auto profile = store::profiles::get(c, out.profile_id);
  if (!profile) throw Error(ErrorCode::not_found, "profile " + out.profile_id + " not found");
  const int64_t now = this->now();

  store::Contact contact;
  if (!out.contact_id.empty()) {
    auto found = store::contacts::find(c, profile->workspace_id, out.contact_id);
    if (!found) throw Error(ErrorCode::not_found, "contact " + out.contact_id + " not found");
    contact = std::move(*found);
  } else {
    store::ContactSighting seen{profile->organization_id, profile->workspace_id, normalize_phone(out.to, "to"), "",
                                std::nullopt};
    contact = store::contacts::upsert_seen(c, seen, now).contact;
  }

  store::Conversation conversation;
  if (!out.conversation_id.empty()) {
    auto found = store::conversations::find(c, profile->workspace_id, out.conversation_id);
    if (!found) throw Error(ErrorCode::not_found, "conversation " + out.conversation_id + " not found");
    if (found->profile_id != profile->id || found->contact_id != contact.id)
      throw Error(ErrorCode::invalid_argument, "conversation " + out.conversation_id +
                                                   " is not between profile " + profile->id + " and contact " +
                                                   contact.id);
    conversation = std::move(*found);
  } else {
    conversation = store::conversations::find_or_open(c, profile->organization_id, profile->workspace_id,
                                                      profile->id, contact.id, now)
                       .conversation;
  }

  return enqueue(c, conversation, out);
}

EnqueuedMessage Outbox::enqueue(store::Connection& c, const store::Conversation& conversation,
                                const OutgoingMessage& out) {
  if (!is_message_type(out.type))
    throw Error(ErrorCode::invalid_argument, "\"" + out.type + "\" is not a message type");
  if (out.type == "text" && out.text.empty())
    throw Error(ErrorCode::invalid_argument, "a text message needs a non-empty text");
  if (!out.payload.is_object()) throw Error(ErrorCode::invalid_argument, "the message payload must be an object");
  if (!out.kind.empty() && !is_send_kind(out.kind))
    throw Error(ErrorCode::invalid_argument, "\"" + out.kind + "\" is not a kind of send (use \"reply\" or \"cold\")");
  const int64_t now = this->now();

  // Outreach (cold) has its own budget and never goes to a contact who opted out.
  const std::string kind = send_kind(c, conversation, out);
  if (kind == "cold") {
    if (store::contacts::is_opted_out(c, conversation.contact_id))
      throw Error(ErrorCode::conflict, "contact " + conversation.contact_id +
                                           " opted out: it receives no campaign or outreach message (answers inside "
                                           "a conversation it opened within 24 hours still go out)",
                  {{"reason", "opted_out"}});
  }

  store::Message m = store::new_message(conversation, "out", "queued", now);
  if (!out.message_id.empty()) m.id = out.message_id;
  m.type = out.type;
  if (!out.text.empty()) m.text = out.text;
  m.payload = out.payload;
  store::messages::insert(c, m);

  store::OutboxRow row;
  row.id = new_id("obx");
  row.organization_id = m.organization_id;
  row.workspace_id = m.workspace_id;
  row.profile_id = m.profile_id;
  row.conversation_id = m.conversation_id;
  row.message_id = m.id;
  row.next_attempt_at = out.not_before ? std::max(now, *out.not_before) : now;
  row.kind = kind;
  if (!out.campaign_id.empty()) row.campaign_id = out.campaign_id;
  // The channel dedupes on this key: a row re-sent after a crash is sent once.
  row.idempotency_key = row.id;
  row.created_at = now;
  row.updated_at = now;
  store::outbox::insert(c, row);
  store::conversations::touch(c, conversation.id, now);

  // Waking before this job commits is safe: the sender's claim is a later
  // write job, so it returns only once this one is committed (or fails with it).
  wake(m.profile_id);
  return {m.id, row.id, conversation.id, conversation.contact_id, m.workspace_id, kind};
}

std::string Outbox::send_kind(store::Connection& c, const store::Conversation& conversation,
                              const OutgoingMessage& out) const {
  // A reply is a message into a conversation the contact wrote to within
  // the last 24 hours (WhatsApp's customer service window); anything else
  // is outreach.
  if (!out.kind.empty()) return out.kind;
  if (!out.campaign_id.empty()) return "cold";
  // Walks messages_by_conversation backwards and stops at the newest
  // inbound message: a reply costs a few index steps, not a read of the
  // whole conversation (MAX over the direction filter would be).
  auto last_in = c.query_one(
      "SELECT created_at AS at FROM messages WHERE conversation_id = ? AND workspace_id = ? AND direction = 'in' "
      "ORDER BY created_at DESC LIMIT 1",
      {conversation.id, conversation.workspace_id});
  auto at = last_in ? last_in->optional_integer("at") : std::nullopt;
  return at && *at >= now() - 24 * 60 * 60 * 1000 ? "reply" : "cold";
}

std::vector<std::string> Outbox::withdraw_campaign(store::Connection& c, const std::string& campaign_id) {
  std::vector<std::string> ids = store::outbox::withdraw_pending(c, campaign_id);
  // Never handed to a channel: the queued messages go with their rows.
  for (const std::string& id : ids) c.execute("DELETE FROM messages WHERE id = ? AND status = 'queued'", {id});
  return ids;
}

EnqueuedMessage Outbox::enqueue(const OutgoingMessage& message) {
  return db_.write([this, message](store::Connection& c) { return enqueue(c, message); });
}

// ---- Lifecycle -------------------------------------------------------------------

int64_t Outbox::recover() {
  const int64_t recovered = db_.write([this](store::Connection& c) {
    const int64_t now = this->now();
    // Receipts nobody claimed within a day will not be claimed any more.
    store::messages::drop_receipts_before(c, now - 24 * 60 * 60 * 1000);
    return store::outbox::recover_sending(c, now);
  });
  if (recovered > 0)
    spdlog::warn("outbox: {} message(s) were being sent when the host stopped; sending them again", recovered);
  return recovered;
}

void Outbox::start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
    const unsigned n = std::max(1u, options_.sender_threads);
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { sender_loop(); });
  }
  for (const std::string& profile : db_.read([](store::Connection& c) { return store::outbox::profiles_with_pending(c); }))
    wake(profile);
}

void Outbox::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) t.join();
  std::lock_guard lock(mu_);
  started_ = false;
}

void Outbox::wake(const std::string& profile_id) {
  std::lock_guard lock(mu_);
  Slot& slot = slots_[profile_id];
  if (slot.running) {
    slot.rerun = true;
  } else if (!slot.queued) {
    slot.queued = true;
    ready_.push_back(profile_id);
    cv_.notify_one();
  }
}

void Outbox::schedule_wake(const std::string& profile_id, int64_t at) {
  std::lock_guard lock(mu_);
  Slot& slot = slots_[profile_id];
  slot.due_at = slot.due_at ? std::min(*slot.due_at, at) : at;
  cv_.notify_all();  // a waiting thread may need to wake earlier
}

// ---- Sender threads ------------------------------------------------------------------

std::string Outbox::next_profile(std::unique_lock<std::mutex>& lock) {
  while (!stopping_) {
    const int64_t now = this->now();
    std::optional<int64_t> earliest;
    for (auto& [profile_id, slot] : slots_) {
      if (!slot.due_at) continue;
      if (*slot.due_at > now) {
        earliest = earliest ? std::min(*earliest, *slot.due_at) : *slot.due_at;
        continue;
      }
      slot.due_at.reset();
      if (slot.running) {
        slot.rerun = true;
      } else if (!slot.queued) {
        slot.queued = true;
        ready_.push_back(profile_id);
      }
    }
    if (!ready_.empty()) {
      std::string profile_id = std::move(ready_.front());
      ready_.pop_front();
      Slot& slot = slots_[profile_id];
      slot.queued = false;
      slot.running = true;
      return profile_id;
    }
    if (earliest) {
      cv_.wait_for(lock, std::chrono::milliseconds(*earliest - now));
    } else {
      cv_.wait(lock);
    }
  }
  return {};
}

void Outbox::sender_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    const std::string profile_id = next_profile(lock);
    if (profile_id.empty()) return;
    lock.unlock();
    BatchOutcome outcome;
    try {
      outcome = send_batch(profile_id);
    } catch (const std::exception& e) {
      spdlog::error("outbox: sending for profile {} failed: {}", profile_id, e.what());
      outcome.next_due_at = now() + options_.base_backoff.count();
    }
    lock.lock();
    Slot& slot = slots_[profile_id];
    slot.running = false;
    if (outcome.next_due_at) slot.due_at = slot.due_at ? std::min(*slot.due_at, *outcome.next_due_at) : *outcome.next_due_at;
    if ((outcome.more || slot.rerun) && !stopping_) {
      slot.rerun = false;
      slot.queued = true;
      ready_.push_back(profile_id);
    }
  }
}

// ---- Sending rules ------------------------------------------------------------------

std::shared_ptr<Outbox::Gate> Outbox::gate_for(const std::string& profile_id) {
  std::shared_ptr<Gate> gate;
  {
    std::lock_guard lock(gates_mu_);
    auto& slot = gates_[profile_id];
    if (!slot) slot = std::make_shared<Gate>();
    gate = slot;
  }
  std::lock_guard lock(gate->mu);
  if (gate->gate) return gate;
  // First use: the stored rules, the workspace's zone, today's counts.
  db_.read([&](store::Connection& c) {
    auto profile = store::profiles::get(c, profile_id);
    if (!profile) throw Error(ErrorCode::not_found, "profile " + profile_id + " not found");
    auto ws = c.query_one("SELECT timezone FROM workspaces WHERE id = ?", {profile->workspace_id});
    std::string tz = ws ? ws->text("timezone") : "UTC";
    std::optional<LocalTime> zone;
    try {
      zone.emplace(tz);
    } catch (const std::exception&) {
      spdlog::warn("outbox: workspace {} has an unknown time zone '{}'; its sending rules use UTC",
                   profile->workspace_id, tz);
      zone.emplace("UTC");
    }
    SendingRules rules;
    std::optional<int64_t> warmup_started_at;
    auto row = c.query_one(
        "SELECT rules_json, warmup_started_at, breaker_state, breaker_until, breaker_reason "
        "FROM profile_sending_rules WHERE profile_id = ?",
        {profile_id});
    if (row) {
      try {
        rules = parse_sending_rules(nlohmann::json::parse(row->text("rules_json")));
      } catch (const std::exception& e) {
        spdlog::error("outbox: the stored sending rules of profile {} are unusable ({}); sending without rules",
                      profile_id, e.what());
      }
      warmup_started_at = row->optional_integer("warmup_started_at");
    }
    gate->workspace_id = profile->workspace_id;
    gate->gate.emplace(rules, *zone, warmup_started_at);
    const int64_t t = now();
    const int64_t day = zone->day_start(t);
    for (const char* kind : {"reply", "cold"})
      gate->gate->seed_today(kind, day, store::outbox::count_sent_since(c, profile_id, kind, day));
    if (row && row->text("breaker_state") == "open" && row->optional_integer("breaker_until"))
      gate->gate->restore_breaker(*row->optional_integer("breaker_until"),
                                  row->optional_text("breaker_reason").value_or(""));
  });
  return gate;
}

void Outbox::persist_breaker(const std::string& profile_id, RuleGate& gate) {
  const bool open = gate.breaker_until().has_value();
  const auto until = gate.breaker_until();
  const std::string reason = gate.breaker_reason();
  try {
    db_.write([&](store::Connection& c) {
      c.execute(
          "UPDATE profile_sending_rules SET breaker_state = ?, breaker_until = ?, breaker_reason = ?, updated_at = ? "
          "WHERE profile_id = ?",
          {open ? "open" : "closed", until, open ? std::optional<std::string>(reason) : std::nullopt, now(),
           profile_id});
    });
  } catch (const std::exception& e) {
    spdlog::warn("outbox: could not store the circuit breaker of profile {}: {}", profile_id, e.what());
  }
}

nlohmann::json Outbox::sending_rules(const std::string& profile_id) {
  auto gate = gate_for(profile_id);
  std::lock_guard lock(gate->mu);
  return {{"profile_id", profile_id}, {"rules", to_json(gate->gate->rules())}, {"state", gate->gate->state(now())}};
}

nlohmann::json Outbox::set_sending_rules(const std::string& profile_id, const nlohmann::json& json) {
  SendingRules rules = parse_sending_rules(json);
  auto gate = gate_for(profile_id);
  const int64_t t = now();
  std::optional<int64_t> warmup_started_at = db_.write([&](store::Connection& c) {
    auto profile = store::profiles::get(c, profile_id);
    if (!profile) throw Error(ErrorCode::not_found, "profile " + profile_id + " not found");
    auto row = c.query_one("SELECT warmup_started_at FROM profile_sending_rules WHERE profile_id = ?", {profile_id});
    std::optional<int64_t> started = row ? row->optional_integer("warmup_started_at") : std::nullopt;
    if (rules.enabled && rules.warmup.enabled && !started) started = t;
    const std::string text = to_json(rules).dump();
    if (row) {
      c.execute("UPDATE profile_sending_rules SET rules_json = ?, warmup_started_at = ?, updated_at = ? "
                "WHERE profile_id = ?",
                {text, started, t, profile_id});
    } else {
      c.execute("INSERT INTO profile_sending_rules (profile_id, organization_id, workspace_id, rules_json, "
                "warmup_started_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                {profile_id, profile->organization_id, profile->workspace_id, text, started, t, t});
    }
    return started;
  });
  {
    std::lock_guard lock(gate->mu);
    gate->gate->set_rules(rules, warmup_started_at);
  }
  wake(profile_id);  // looser rules may let rows go now
  return sending_rules(profile_id);
}

std::vector<std::pair<std::string, nlohmann::json>> Outbox::rule_states() {
  std::vector<std::pair<std::string, std::shared_ptr<Gate>>> gates;
  {
    std::lock_guard lock(gates_mu_);
    for (const auto& [id, gate] : gates_) gates.emplace_back(id, gate);
  }
  std::vector<std::pair<std::string, nlohmann::json>> out;
  const int64_t t = now();
  for (auto& [id, gate] : gates) {
    std::lock_guard lock(gate->mu);
    if (gate->gate) out.emplace_back(id, gate->gate->state(t));
  }
  return out;
}

// ---- One batch -------------------------------------------------------------------------

Outbox::BatchOutcome Outbox::send_batch(const std::string& profile_id) {
  std::shared_ptr<Gate> gate = gate_for(profile_id);
  const auto kinds = {std::string("reply"), std::string("cold")};

  // 1. Claim: one write job marks the batch sending and gathers what the
  //    sends need, as many rows of each kind as the rules allow now. A row
  //    whose message or contact vanished, or a cold row whose contact
  //    opted out since it was queued, fails here without reaching the channel.
  std::vector<StatusChange> early_failures;
  std::vector<Claimed> batch = db_.write([&](store::Connection& c) {
    early_failures.clear();
    const int64_t t = now();
    std::vector<store::OutboxRow> rows;
    for (const std::string& kind : kinds) {
      int64_t want = options_.batch_size - static_cast<int64_t>(rows.size());
      if (want <= 0) break;
      {
        std::lock_guard lock(gate->mu);
        want = gate->gate->allow(kind, t, want).count;
      }
      if (want <= 0) continue;
      for (store::OutboxRow& row : store::outbox::claim_due(c, profile_id, kind, t, want)) rows.push_back(std::move(row));
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
    std::vector<Claimed> claimed;
    for (store::OutboxRow& row : rows) {
      auto found = store::messages::find_with_phone(c, row.workspace_id, row.message_id);
      std::optional<std::string> error;
      if (!found) {
        error = "the message or its recipient no longer exists";
      } else if (row.kind == "cold") {
        if (store::contacts::is_opted_out(c, found->first.contact_id))
          error = "opted out: the contact asked to receive no more campaign or outreach messages";
      }
      if (error) {
        store::outbox::mark_failed(c, row.id, row.attempts, *error, t);
        if (auto message = store::messages::find(c, row.workspace_id, row.message_id)) {
          store::messages::set_status(c, message->id, "failed", *error, t);
          early_failures.push_back({*message, "failed", *error});
        }
        continue;
      }
      claimed.push_back({std::move(row), std::move(found->first), std::move(found->second)});
    }
    return claimed;
  });
  for (const StatusChange& change : early_failures) publish_status_change(bus_, change.message, change.status, change.error);

  // 2. Send, in order. No database lock is held: a channel may take its time.
  std::vector<Outcome> outcomes(batch.size());
  std::shared_ptr<plugins::ChannelInstance> session = batch.empty() ? nullptr : sessions_.find(profile_id);
  bool halted = false;       // a transient failure or shutdown: leave the rest unsent
  bool cold_halted = false;  // the breaker opened: leave the remaining cold rows unsent
  bool breaker_changed = false;
  for (size_t i = 0; i < batch.size() && !halted; ++i) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    const bool cold = batch[i].row.kind == "cold";
    if (cold && cold_halted) continue;
    Outcome& outcome = outcomes[i];
    if (!session) {
      // Nothing reaches a channel, so every row takes the attempt: they all
      // give up together rather than one after another.
      auto why = sessions_.failure(profile_id);
      outcome.kind = Outcome::Kind::retry;
      outcome.error = "profile " + profile_id + " has no channel session" + (why ? ": " + *why : std::string());
      continue;
    }
    try {
      nlohmann::json result = session->send(channel_message(batch[i]));
      auto ext = result.find("external_id");
      if (ext == result.end() || !ext->is_string() || ext->get<std::string>().empty())
        throw Error(ErrorCode::plugin_error,
                    "plugin " + session->plugin_id() + " answered send without an \"external_id\"");
      outcome.kind = Outcome::Kind::sent;
      outcome.external_id = ext->get<std::string>();
    } catch (const plugins::PluginError& e) {
      outcome.kind = e.transient() ? Outcome::Kind::retry : Outcome::Kind::failed;
      outcome.error = e.what();
      halted = e.transient();
    } catch (const std::exception& e) {
      outcome.kind = Outcome::Kind::failed;
      outcome.error = e.what();
    }
    const int64_t t = now();
    std::lock_guard lock(gate->mu);
    gate->gate->sent(batch[i].row.kind, t);
    if (!cold) continue;
    const bool was_open = gate->gate->breaker_until().has_value();
    if (gate->gate->cold_outcome(outcome.kind == Outcome::Kind::sent, t)) {
      cold_halted = true;
      breaker_changed = true;
      spdlog::warn("outbox: cold sending of profile {} paused until {}: {}", profile_id,
                   gate->gate->breaker_until().value_or(0), gate->gate->breaker_reason());
    } else if (was_open && !gate->gate->breaker_until()) {
      breaker_changed = true;  // the probe after the cool-down went through
      spdlog::info("outbox: cold sending of profile {} resumed", profile_id);
    }
  }
  if (breaker_changed) {
    std::optional<int64_t> until;
    std::string reason;
    {
      std::lock_guard lock(gate->mu);
      persist_breaker(profile_id, *gate->gate);
      until = gate->gate->breaker_until();
      reason = gate->gate->breaker_reason();
    }
    Event e;
    e.type = "sending.breaker";
    e.workspace_id = gate->workspace_id;
    e.profile_id = profile_id;
    e.at_ms = now();
    e.data = {{"profile_id", profile_id}, {"state", until ? "open" : "closed"},
              {"until", until ? nlohmann::json(*until) : nlohmann::json(nullptr)}, {"reason", reason}};
    bus_.publish(e);
  }

  // 3. Record every outcome in one write job. Should that fail, the rows
  //    stay in sending and hold their conversations back until the next
  //    start's recovery, so try a little harder than once.
  std::vector<StatusChange> changes;
  auto record = [&](store::Connection& c) {
    changes.clear();
    const int64_t t = now();
    std::optional<int64_t> retry_at;  // when the unsent rows of a halted batch are due
    for (size_t i = 0; i < batch.size(); ++i) {
      const Claimed& item = batch[i];
      const Outcome& outcome = outcomes[i];
      store::Message message = item.message;
      const int64_t attempts = item.row.attempts + 1;
      switch (outcome.kind) {
        case Outcome::Kind::sent: {
          store::messages::mark_sent(c, message.id, outcome.external_id, t);
          store::outbox::mark_sent(c, item.row.id, attempts, t);
          message.external_id = outcome.external_id;
          message.status = "sent";
          changes.push_back({message, "sent", std::nullopt});
          // Receipts the channel reported before we knew the external id.
          for (const store::Receipt& receipt : store::messages::take_receipts(c, profile_id, outcome.external_id)) {
            if (!status_advances(message.status, receipt.status)) continue;
            store::messages::set_status(c, message.id, receipt.status, receipt.error, t);
            message.status = receipt.status;
            changes.push_back({message, receipt.status, receipt.error});
          }
          break;
        }
        case Outcome::Kind::retry: {
          if (attempts >= options_.max_attempts) {
            const std::string error =
                "gave up after " + std::to_string(attempts) + " attempts: " + outcome.error;
            store::outbox::mark_failed(c, item.row.id, attempts, error, t);
            store::messages::set_status(c, message.id, "failed", error, t);
            changes.push_back({message, "failed", error});
          } else {
            const int64_t at = t + retry_delay(options_, attempts).count();
            retry_at = retry_at ? std::min(*retry_at, at) : at;
            store::outbox::reschedule(c, item.row.id, attempts, at, outcome.error, t);
          }
          break;
        }
        case Outcome::Kind::failed:
          store::outbox::mark_failed(c, item.row.id, attempts, outcome.error, t);
          store::messages::set_status(c, message.id, "failed", outcome.error, t);
          changes.push_back({message, "failed", outcome.error});
          break;
        case Outcome::Kind::unsent:
          // Not attempted: no attempt is counted. After a transient failure
          // they wait as long as the failed row; after a shutdown or the
          // breaker opening, not at all (the rules hold them back).
          store::outbox::reschedule(c, item.row.id, item.row.attempts, retry_at.value_or(t), std::nullopt, t);
          break;
      }
    }
  };
  if (!batch.empty()) {
    for (int attempt = 1;; ++attempt) {
      try {
        db_.write(record);
        break;
      } catch (const std::exception& e) {
        if (attempt == kRecordAttempts) throw;
        spdlog::warn("outbox: recording sends for profile {} failed ({}); trying again", profile_id, e.what());
        std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      }
    }
  }
  for (const StatusChange& change : changes) publish_status_change(bus_, change.message, change.status, change.error);

  // 4. What next: more now, or a time to look again — the earliest retry,
  //    or when the rules let a kind with due rows go again.
  BatchOutcome result;
  const int64_t t = now();
  result.next_due_at = db_.read([&](store::Connection& c) {
    std::optional<int64_t> next = store::outbox::next_due_after(c, profile_id, t);
    if (halted) return next;
    for (const std::string& kind : kinds) {
      if (!store::outbox::has_due(c, profile_id, kind, t)) continue;
      Allowance a;
      {
        std::lock_guard lock(gate->mu);
        a = gate->gate->allow(kind, t, 1);
      }
      if (a.count > 0) {
        result.more = true;
      } else if (a.next_at) {
        next = next ? std::min(*next, *a.next_at) : *a.next_at;
      }
    }
    return next;
  });
  return result;
}

}  // namespace sb::messaging

// FlowRuntime: what wakes executions up besides messages — deadlines,
// schedules, HTTP responses, events, webhooks — and recovery at start.
#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/cron.hpp"
#include "flows/flow_runtime_internal.hpp"
#include "flows/triggers.hpp"
#include "plugins/http_client.hpp"
#include "store/contact_repository.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <future>

namespace sb::flows {

std::shared_ptr<FlowRuntime::Task> FlowRuntime::Task::message(std::string workspace_id, std::string message_id,
                                                             std::string conversation_id) {
  auto task = std::make_shared<Task>();
  task->kind = Kind::message;
  task->workspace_id = std::move(workspace_id);
  task->message_id = std::move(message_id);
  task->lane = std::move(conversation_id);
  return task;
}

std::shared_ptr<FlowRuntime::Task> FlowRuntime::Task::resume(std::string workspace_id, std::string lane,
                                                            std::string execution_id, int64_t expected_version,
                                                            std::string wait_kind, nlohmann::json value) {
  auto task = std::make_shared<Task>();
  task->kind = Kind::resume;
  task->workspace_id = std::move(workspace_id);
  task->lane = std::move(lane);
  task->execution_id = std::move(execution_id);
  task->expected_version = expected_version;
  task->wait_kind = std::move(wait_kind);
  task->resume_value = std::move(value);
  return task;
}

std::shared_ptr<FlowRuntime::Task> FlowRuntime::Task::start(std::string workspace_id, std::string flow_id,
                                                           std::string conversation_id, nlohmann::json trigger) {
  auto task = std::make_shared<Task>();
  task->kind = Kind::start;
  task->workspace_id = std::move(workspace_id);
  task->flow_id = std::move(flow_id);
  task->lane = conversation_id.empty() ? new_id("lane") : conversation_id;
  task->conversation_id = std::move(conversation_id);
  task->trigger = std::move(trigger);
  return task;
}

std::string FlowRuntime::timezone_of(const std::string& workspace_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = timezones_.find(workspace_id); it != timezones_.end()) return it->second;
  }
  std::string tz = db_.read([&](store::Connection& c) {
    auto row = c.query_one("SELECT timezone FROM workspaces WHERE id = ?", {workspace_id});
    return row ? row->text("timezone") : std::string("UTC");
  });
  if (!is_valid_timezone(tz)) tz = "UTC";
  std::lock_guard<std::mutex> lock(mu_);
  timezones_[workspace_id] = tz;
  return tz;
}

void FlowRuntime::after_commit(const Segment& s, uint64_t) {
  const ExecutionRecord& r = s.record;
  if (r.status != "waiting" || !r.wait_kind) return;
  // The version the row has now: insert writes the record's, update bumps it.
  const int64_t version = s.is_new ? r.version : s.expected_version + 1;
  if (is_call(*r.wait_kind)) {
    queue_call(*r.wait_kind, r.workspace_id, r.id, s.lane, r.conversation_id, version,
               r.state.value(*r.wait_kind + "_request", nlohmann::json()));
    return;
  }
  if (r.deadline_at) arm_timer(*r.deadline_at, TimerEntry{r.workspace_id, r.id, s.lane, *r.wait_kind, version});
}

void FlowRuntime::arm_timer(int64_t at, TimerEntry entry) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  timers_.emplace(at, std::move(entry));
  timers_poked_ = true;  // the timer thread may sleep past this deadline: wake it to look again
  timer_cv_.notify_all();
}

void FlowRuntime::poke_timers() {
  std::lock_guard<std::mutex> lock(mu_);
  timers_poked_ = true;
  timer_cv_.notify_all();
}

bool FlowRuntime::check_timers(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!started_ || stopping_) return false;
  const uint64_t ticket = ++checks_requested_;
  timers_poked_ = true;
  timer_cv_.notify_all();
  return idle_cv_.wait_for(lock, timeout, [&] { return stopping_ || checks_done_ >= ticket; }) &&
         checks_done_ >= ticket;
}

bool FlowRuntime::reload() {
  const bool changed = library_.rescan();
  if (changed) poke_timers();
  return changed;
}

void FlowRuntime::timer_loop() {
  auto last_reload = std::chrono::steady_clock::now();
  auto last_purge = std::chrono::steady_clock::time_point{};
  for (;;) {
    uint64_t checks_seen = 0;  // check_timers() requests this pass serves
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;
      // Sleep until the earliest deadline (by the runtime's clock, which may
      // be a test clock: then only poke_timers() moves it), a poke, or the
      // next hot-reload look.
      auto wait = options_.reload_interval;
      const int64_t now = clock_();
      int64_t next = INT64_MAX;
      if (!timers_.empty()) next = timers_.begin()->first;
      for (const auto& [key, at] : schedules_) next = std::min(next, at);
      if (next != INT64_MAX) {
        wait = std::min(wait, std::chrono::milliseconds(std::max<int64_t>(0, next - now)));
      }
      if (wait.count() > 0 && !timers_poked_) {
        timer_cv_.wait_for(lock, wait, [this] { return stopping_ || timers_poked_; });
      }
      timers_poked_ = false;
      checks_seen = checks_requested_;
      if (stopping_) return;
    }
    fire_due();
    {
      std::lock_guard<std::mutex> lock(mu_);
      checks_done_ = std::max(checks_done_, checks_seen);
      idle_cv_.notify_all();
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_reload >= options_.reload_interval) {
      last_reload = now;
      try {
        library_.rescan();
      } catch (const std::exception& e) {
        spdlog::error("flows: reloading the flows directory failed: {}", e.what());
      }
    }
    if (now - last_purge >= std::chrono::hours(1)) {
      last_purge = now;
      const int64_t before = clock_() - options_.retention.count();
      try {
        const int64_t n = db_.write([before](store::Connection& c) { return executions::purge_finished_before(c, before); });
        if (n > 0) spdlog::info("flows: removed {} execution(s) finished before the retention period", n);
      } catch (const std::exception& e) {
        spdlog::warn("flows: purging old executions failed: {}", e.what());
      }
    }
  }
}

void FlowRuntime::fire_due() {
  rebuild_schedules();
  const int64_t now = clock_();
  std::vector<TimerEntry> due;
  std::vector<std::pair<std::string, std::string>> due_schedules;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!timers_.empty() && timers_.begin()->first <= now) {
      due.push_back(std::move(timers_.begin()->second));
      timers_.erase(timers_.begin());
    }
    for (const auto& [key, at] : schedules_) {
      if (at <= now) due_schedules.push_back(key);
    }
  }
  for (auto& t : due) {
    nlohmann::json value = t.wait_kind == "reply" ? nlohmann::json{{"timeout", true}} : nlohmann::json(true);
    enqueue(Task::resume(t.workspace_id, t.lane, t.execution_id, t.version, t.wait_kind, std::move(value)));
  }
  for (const auto& [ws, flow] : due_schedules) {
    try {
      fire_schedule(ws, flow, now);
    } catch (const std::exception& e) {
      spdlog::error("flows: schedule of flow {} failed: {}", flow, e.what());
    }
  }
}

// The schedule table follows the library: one entry per flow with a
// schedule trigger, its next time taken from flow_schedules when the cron is
// unchanged (so a time missed while the host was down fires once at start).
void FlowRuntime::rebuild_schedules() {
  const uint64_t generation = library_.generation();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == schedules_generation_) return;
    schedules_generation_ = generation;
  }
  std::map<std::pair<std::string, std::string>, int64_t> table;
  const int64_t now = clock_();
  for (const auto& ws : library_.workspaces()) {
    for (const auto& flow : library_.flows(ws)) {
      if (flow->trigger.value("type", "") != "schedule") continue;
      try {
        const std::string cron = flow->trigger.value("cron", "");
        const std::string tz = flow->trigger.value("timezone", timezone_of(ws));
        auto stored = db_.read([&](store::Connection& c) -> std::optional<int64_t> {
          auto row = c.query_one("SELECT next_at, cron FROM flow_schedules WHERE workspace_id = ? AND flow_id = ?",
                                 {ws, flow->id});
          if (!row || row->text("cron") != cron) return std::nullopt;
          return row->integer("next_at");
        });
        std::optional<int64_t> next = stored ? stored : CronSchedule::parse(cron).next_after(now, tz);
        if (next) {
          table[{ws, flow->id}] = *next;
          if (!stored) {
            db_.write([&](store::Connection& c) { flow_schedules::set_next_at(c, ws, flow->id, cron, *next, now); });
          }
        }
      } catch (const std::exception& e) {
        spdlog::error("flows: the schedule of flow {} cannot be armed: {}", flow->id, e.what());
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  schedules_ = std::move(table);
}

void FlowRuntime::fire_schedule(const std::string& ws, const std::string& flow_id, int64_t now) {
  FlowPtr flow = library_.current(ws, flow_id);
  if (!flow) return;
  const std::string cron = flow->trigger.value("cron", "");
  const std::string tz = flow->trigger.value("timezone", timezone_of(ws));
  const int64_t fired_at = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = schedules_.find({ws, flow_id});
    return it == schedules_.end() ? now : it->second;
  }();
  auto next = CronSchedule::parse(cron).next_after(std::max(now, fired_at), tz);
  // Which conversations it runs in: every contact carrying the tag (on the
  // trigger's profile), or none.
  std::vector<std::string> conversations;
  const std::string tag = flow->trigger.value("tag", "");
  const std::string profile = flow->trigger.value("profile", "");
  db_.write([&](store::Connection& c) {
    if (!tag.empty() && !profile.empty()) {
      auto prof = c.query_one("SELECT organization_id FROM profiles WHERE id = ? AND workspace_id = ?", {profile, ws});
      if (prof) {
        std::string after;
        for (;;) {
          auto contacts = flow_effects::contacts_with_tag(c, ws, tag, 500, after);
          for (const auto& contact_id : contacts) {
            auto opened = store::conversations::find_or_open(c, prof->text("organization_id"), ws, profile, contact_id, now);
            conversations.push_back(opened.conversation.id);
          }
          if (contacts.size() < 500) break;
          after = contacts.back();
        }
      }
    }
    if (next) flow_schedules::set_next_at(c, ws, flow_id, cron, *next, now);
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next) schedules_[{ws, flow_id}] = *next; else schedules_.erase({ws, flow_id});
  }
  const nlohmann::json trigger = {{"type", "schedule"}, {"at", fired_at}};
  if (tag.empty() || profile.empty()) conversations.push_back("");
  for (const auto& conversation : conversations) {
    enqueue(Task::start(ws, flow_id, conversation, trigger));
  }
}

bool FlowRuntime::is_call(const std::string& kind) const { return kind == "http" || options_.calls.count(kind) > 0; }

void FlowRuntime::queue_call(const std::string& kind, const std::string& workspace_id, const std::string& execution_id,
                             const std::string& lane, const std::optional<std::string>& conversation_id,
                             int64_t version, nlohmann::json request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  call_queues_[kind].push_back(CallJob{workspace_id, execution_id, lane, conversation_id, version, std::move(request)});
  calls_cv_.notify_all();
}

namespace {

// ctx.http's answer: {status, headers, body, json?} or {status = 0, error}.
nlohmann::json http_call(const nlohmann::json& request) {
  nlohmann::json result;
  try {
    nlohmann::json response = plugins::perform_http_request(request);
    result = {{"status", response.value("status", 0)},
              {"headers", response.value("headers", nlohmann::json::object())},
              {"body", response.value("body", "")}};
    auto parsed = nlohmann::json::parse(result["body"].get<std::string>(), nullptr, false);
    if (!parsed.is_discarded()) result["json"] = parsed;
  } catch (const std::exception& e) {
    result = {{"status", 0}, {"error", e.what()}};
  }
  return result;
}

}  // namespace

void FlowRuntime::call_loop(const std::string& kind) {
  const auto handler = options_.calls.find(kind);
  for (;;) {
    CallJob job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto& queue = call_queues_[kind];
      calls_cv_.wait(lock, [&] { return stopping_ || !queue.empty(); });
      if (stopping_) return;
      job = std::move(queue.front());
      queue.pop_front();
      ++calls_in_flight_;
    }
    nlohmann::json result;
    if (handler == options_.calls.end()) {
      result = http_call(job.request);
    } else {
      try {
        result = handler->second.handler(CallContext{job.workspace_id, job.execution_id, job.conversation_id}, job.request);
      } catch (const std::exception& e) {
        result = {{"error", e.what()}};
      }
    }
    enqueue(Task::resume(job.workspace_id, job.lane, job.execution_id, job.version, kind, std::move(result)));
    std::lock_guard<std::mutex> lock(mu_);
    --calls_in_flight_;
    idle_cv_.notify_all();
  }
}

void FlowRuntime::on_event(const Event& event) {
  if (event.type == "message.received") {
    const auto& d = event.data;
    if (d.value("direction", "in") != "in") return;
    const std::string id = d.value("id", ""), conversation = d.value("conversation_id", "");
    if (!id.empty() && !conversation.empty()) enqueue(Task::message(event.workspace_id, id, conversation));
    return;
  }
  // Events that start flows: contact.tagged, conversation.resolved, handoff.released.
  const int depth = event.data.value("depth", 0);
  if (depth > options_.max_event_depth) {
    spdlog::warn("flows: {} not passed to flows: event chains stop after {} levels", event.type, options_.max_event_depth);
    return;
  }
  const std::string conversation = event.data.value("conversation_id", "");
  for (const auto& flow : match_event_trigger(library_.flows(event.workspace_id), event.type, event.data.value("tag", ""))) {
    enqueue(Task::start(event.workspace_id, flow->id, conversation,
                        {{"type", "event"}, {"event", event.type}, {"data", event.data}, {"depth", depth}}));
  }
}

void FlowRuntime::recover() {
  int64_t after_created = 0;
  std::string after_id;
  size_t armed = 0, calls = 0;
  for (;;) {
    auto page = db_.read([&](store::Connection& c) { return executions::list_waiting(c, 500, after_created, after_id); });
    for (const auto& r : page) {
      const std::string lane = r.conversation_id.value_or(r.id);
      if (r.wait_kind && is_call(*r.wait_kind)) {
        queue_call(*r.wait_kind, r.workspace_id, r.id, lane, r.conversation_id, r.version,
                   r.state.value(*r.wait_kind + "_request", nlohmann::json()));
        ++calls;
      } else if (r.deadline_at) {
        arm_timer(*r.deadline_at, TimerEntry{r.workspace_id, r.id, lane, r.wait_kind.value_or(""), r.version});
        ++armed;
      }
    }
    if (page.size() < 500) break;
    after_created = page.back().created_at;
    after_id = page.back().id;
  }
  if (armed || calls) spdlog::info("flows: {} waiting execution(s) re-armed, {} call(s) re-issued", armed, calls);
}

void FlowRuntime::sweep_unhandled() {
  int64_t after_created = 0;
  std::string after_id;
  size_t n = 0;
  for (;;) {
    auto page = db_.read([&](store::Connection& c) {
      return store::messages::unhandled_inbound(c, after_created, after_id, 500);
    });
    for (const auto& m : page) {
      enqueue(Task::message(m.workspace_id, m.id, m.conversation_id));
      ++n;
    }
    if (page.size() < 500) break;
    after_created = page.back().created_at;
    after_id = page.back().id;
  }
  if (n) spdlog::info("flows: {} unhandled inbound message(s) dispatched again", n);
}

nlohmann::json FlowRuntime::start_flow(const std::string& workspace_id, const std::string& flow_id,
                                       const std::string& conversation_id, nlohmann::json vars, nlohmann::json trigger) {
  auto promise = std::make_shared<std::promise<nlohmann::json>>();
  auto future = promise->get_future();
  auto task = Task::start(workspace_id, flow_id, conversation_id, std::move(trigger));
  task->vars = std::move(vars);
  task->on_committed = [promise](nlohmann::json result) { promise->set_value(std::move(result)); };
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) throw Error(ErrorCode::unavailable, "the flow runtime is not running");
  }
  enqueue(std::move(task));
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    throw Error(ErrorCode::timeout, "the flow did not finish its first step within 30 s");
  }
  nlohmann::json result;
  try {
    result = future.get();
  } catch (const std::future_error&) {
    // stop() dropped the task before it ran.
    throw Error(ErrorCode::unavailable, "the flow runtime stopped before the flow could start");
  }
  if (result.value("status", "") == "refused") {
    const ErrorCode code = result.value("code", "") == "conflict" ? ErrorCode::conflict : ErrorCode::not_found;
    throw Error(code, result.value("error", "refused"));
  }
  return result;
}

nlohmann::json FlowRuntime::handle_webhook(const std::string& flow_id, const std::string& secret,
                                           const nlohmann::json& body) {
  FlowPtr flow;
  std::string workspace;
  for (const auto& ws : library_.workspaces()) {
    FlowPtr f = library_.current(ws, flow_id);
    if (!f || f->trigger.value("type", "") != "webhook") continue;
    const std::string expected = f->trigger.value("secret", "");
    if (expected.size() == secret.size() && CRYPTO_memcmp(expected.data(), secret.data(), secret.size()) == 0) {
      flow = f;
      workspace = ws;
      break;
    }
    if (!flow) workspace = "?";  // a webhook flow exists, the secret is wrong
  }
  if (!flow) {
    if (workspace == "?") throw Error(ErrorCode::unauthorized, "wrong or missing X-Flow-Secret for flow '" + flow_id + "'");
    throw Error(ErrorCode::not_found, "no flow '" + flow_id + "' with a webhook trigger");
  }
  if (!body.is_object()) throw Error(ErrorCode::invalid_argument, "the body must be a JSON object");
  nlohmann::json vars = body.value("vars", nlohmann::json::object());
  if (!vars.is_object()) throw Error(ErrorCode::invalid_argument, "\"vars\" must be an object");
  std::string conversation;
  if (body.contains("phone")) {
    if (!body["phone"].is_string() || !body.contains("profile") || !body["profile"].is_string()) {
      throw Error(ErrorCode::invalid_argument, "\"phone\" needs \"profile\" (the profile id to talk on), both strings");
    }
    const std::string phone = body["phone"], profile = body["profile"];
    conversation = db_.write([&](store::Connection& c) {
      auto prof = c.query_one("SELECT organization_id FROM profiles WHERE id = ? AND workspace_id = ?", {profile, workspace});
      if (!prof) throw Error(ErrorCode::not_found, "no profile '" + profile + "' in the flow's workspace");
      const int64_t now = now_ms();
      store::ContactSighting seen{prof->text("organization_id"), workspace, phone, "", std::nullopt};
      auto contact = store::contacts::upsert_seen(c, seen, now);
      return store::conversations::find_or_open(c, seen.organization_id, workspace, profile, contact.contact.id, now)
          .conversation.id;
    });
  }
  return start_flow(workspace, flow_id, conversation, vars, {{"type", "webhook"}, {"body", body}});
}

void FlowRuntime::release_handoff(const std::string& workspace_id, const std::string& conversation_id) {
  const int64_t now = clock_();
  db_.write([&](store::Connection& c) { flow_effects::set_mode(c, workspace_id, conversation_id, "bot", now); });
  bus_.publish(Event{"handoff.released", workspace_id, "", {{"conversation_id", conversation_id}}, now});
}

void FlowRuntime::resolve_conversation(const std::string& workspace_id, const std::string& conversation_id) {
  const int64_t now = clock_();
  db_.write([&](store::Connection& c) { flow_effects::set_status(c, workspace_id, conversation_id, "resolved", now); });
  bus_.publish(Event{"conversation.resolved", workspace_id, "", {{"conversation_id", conversation_id}}, now});
}

}  // namespace sb::flows

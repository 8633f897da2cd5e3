#include "flows/flow_runtime.hpp"

#include "flows/auto_reply.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/flow_runtime_internal.hpp"
#include "flows/triggers.hpp"

#include <spdlog/spdlog.h>

namespace sb::flows {

nlohmann::json message_context(const store::Message& m) {
  nlohmann::json j = {{"id", m.id}, {"type", m.type}, {"text", m.text.value_or("")}, {"payload", m.payload},
                      {"at", m.created_at}};
  // The id of the button or list row a reply picked, however the channel
  // reported it (Cloud API interactive replies, or a plain reply_id).
  const auto& p = m.payload;
  auto id_at = [&](const nlohmann::json& j2, const char* a, const char* b) -> std::optional<std::string> {
    if (j2.contains(a) && j2[a].is_object() && j2[a].contains(b) && j2[a][b].is_string()) return j2[a][b].get<std::string>();
    return std::nullopt;
  };
  std::optional<std::string> reply;
  if (p.contains("reply_id") && p["reply_id"].is_string()) reply = p["reply_id"].get<std::string>();
  if (!reply && p.contains("interactive") && p["interactive"].is_object()) {
    reply = id_at(p["interactive"], "button_reply", "id");
    if (!reply) reply = id_at(p["interactive"], "list_reply", "id");
  }
  if (!reply) reply = id_at(p, "button", "payload");
  if (reply) j["reply_id"] = *reply;
  return j;
}

nlohmann::json contact_context(const store::Contact& c) {
  return {{"id", c.id},     {"phone", c.phone}, {"name", c.name}, {"email", c.email ? nlohmann::json(*c.email) : nullptr},
          {"tags", c.tags}, {"metadata", c.metadata}};
}

nlohmann::json conversation_context(const store::Conversation& c) {
  return {{"id", c.id}, {"status", c.status}, {"mode", c.mode}, {"profile_id", c.profile_id}};
}

FlowRuntime::FlowRuntime(store::Database& db, EventBus& bus, messaging::Outbox& outbox, FlowLibrary& library,
                         FlowRuntimeOptions options)
    : db_(db), bus_(bus), outbox_(outbox), library_(library), options_(std::move(options)),
      clock_(options_.clock ? options_.clock : [] { return now_ms(); }),
      host_(std::make_unique<Host>(db, library)) {}

FlowRuntime::~FlowRuntime() { stop(); }

void FlowRuntime::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
  }
  if (options_.flows_dir) library_.load_directory(*options_.flows_dir);
  for (unsigned i = 0; i < std::max(1u, options_.workers); ++i) {
    auto w = std::make_unique<Worker>();
    w->engine = std::make_unique<FlowEngine>(library_.catalog(), *host_, options_.limits);
    workers_.push_back(std::move(w));
  }
  received_sub_ = bus_.subscribe("message.received", [this](const Event& e) { on_event(e); });
  tagged_sub_ = bus_.subscribe("contact.tagged", [this](const Event& e) { on_event(e); });
  resolved_sub_ = bus_.subscribe("conversation.resolved", [this](const Event& e) { on_event(e); });
  released_sub_ = bus_.subscribe("handoff.released", [this](const Event& e) { on_event(e); });
  for (auto& w : workers_) threads_.emplace_back([this, worker = w.get()] { worker_loop(*worker); });
  for (unsigned i = 0; i < std::max(1u, options_.http_threads); ++i) call_threads_.emplace_back([this] { call_loop("http"); });
  for (const auto& [kind, call] : options_.calls) {
    for (unsigned i = 0; i < std::max(1u, call.threads); ++i) {
      call_threads_.emplace_back([this, k = kind] { call_loop(k); });
    }
  }
  recover();
  // Messages stored before the stop are queued before the timer thread can
  // fire deadlines that passed meanwhile: a conversation's work runs in
  // order, so an answer that came in time reaches its ask before the
  // timeout, which then finds the execution moved on.
  sweep_unhandled();
  timer_thread_ = std::thread([this] { timer_loop(); });
}

void FlowRuntime::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
  }
  received_sub_ = {};
  tagged_sub_ = {};
  resolved_sub_ = {};
  released_sub_ = {};
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    // Queued work is dropped (it is in the database); writes under way finish.
    for (auto& [id, lane] : lanes_) lane.tasks.clear();
    ready_.clear();
    work_cv_.notify_all();
    timer_cv_.notify_all();
    calls_cv_.notify_all();
  }
  for (auto& t : threads_) t.join();
  for (auto& t : call_threads_) t.join();
  if (timer_thread_.joinable()) timer_thread_.join();
  {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait_for(lock, std::chrono::seconds(30), [this] { return pending_writes_ == 0; });
    threads_.clear();
    call_threads_.clear();
    workers_.clear();
    lanes_.clear();
    timers_.clear();
    schedules_.clear();
    schedules_generation_ = ~uint64_t{0};
    call_queues_.clear();
    started_ = false;
  }
}

void FlowRuntime::enqueue(std::shared_ptr<Task> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || !started_) return;
  const std::string lane_id = task->lane;
  Lane& lane = lanes_[lane_id];
  const bool was_empty = lane.tasks.empty();
  lane.tasks.push_back(std::move(task));
  // A lane that is busy is made ready again by finish_lane(); one that had
  // tasks is in ready_ already.
  if (!lane.busy && was_empty) {
    ready_.push_back(lane_id);
    work_cv_.notify_one();
  }
}

void FlowRuntime::finish_lane(const std::string& lane_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = lanes_.find(lane_id);
  if (it == lanes_.end()) return;
  it->second.busy = false;
  if (!it->second.tasks.empty() && !stopping_) {
    ready_.push_back(lane_id);
    work_cv_.notify_one();
  } else if (it->second.tasks.empty()) {
    lanes_.erase(it);
  }
  idle_cv_.notify_all();
}

void FlowRuntime::worker_loop(Worker& worker) {
  for (;;) {
    std::shared_ptr<Task> task;
    std::string lane_id;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
      if (stopping_) return;
      lane_id = std::move(ready_.front());
      ready_.pop_front();
      auto it = lanes_.find(lane_id);
      if (it == lanes_.end() || it->second.tasks.empty() || it->second.busy) continue;
      it->second.busy = true;
      task = std::move(it->second.tasks.front());
      it->second.tasks.pop_front();
    }
    bool lane_released = false;  // a pending write releases it when it commits
    try {
      process(worker, *task, lane_released);
    } catch (const std::exception& e) {
      spdlog::error("flows: {} in lane {} failed: {}",
                    task->kind == Task::Kind::message ? "message " + task->message_id : "task", lane_id, e.what());
    }
    if (!lane_released) finish_lane(lane_id);
  }
}

void FlowRuntime::process(Worker& worker, Task& task, bool& lane_released) {
  switch (task.kind) {
    case Task::Kind::message: return process_message(worker, task, lane_released);
    case Task::Kind::resume: return process_resume(worker, task, lane_released);
    case Task::Kind::start: return process_start(worker, task, lane_released);
  }
}

namespace {

nlohmann::json workspace_context(const std::string& id, const std::string& tz) {
  return {{"id", id}, {"timezone", tz}};
}

}  // namespace

void FlowRuntime::process_message(Worker& worker, Task& task, bool& lane_released) {
  struct Read {
    Snapshot snap;
    std::optional<ExecutionRecord> waiting;
    nlohmann::json auto_reply;  // the profile's setting
  };
  Read read = db_.read([&](store::Connection& c) {
    Read r;
    r.snap.message = store::messages::find(c, task.workspace_id, task.message_id);
    if (!r.snap.message || r.snap.message->handled) return r;
    r.snap.conversation = store::conversations::find(c, task.workspace_id, r.snap.message->conversation_id);
    if (r.snap.conversation) {
      r.snap.contact = store::contacts::find(c, task.workspace_id, r.snap.conversation->contact_id);
      r.waiting = executions::find_waiting_reply(c, r.snap.conversation->id);
    }
    if (auto profile = store::profiles::get(c, task.workspace_id, r.snap.message->profile_id)) {
      r.auto_reply = profile->auto_reply;
    }
    return r;
  });
  if (!read.snap.message || read.snap.message->handled) return;  // handled already (a sweep raced the event)
  const store::Message& message = *read.snap.message;

  Segment segment;
  segment.lane = task.lane;
  segment.workspace_id = task.workspace_id;
  segment.handled_message_id = message.id;
  segment.conversation = read.snap.conversation;

  FlowPtr flow;
  const bool human = read.snap.conversation && read.snap.conversation->mode == "human";
  if (!human && read.waiting) {
    segment.record = *read.waiting;
    segment.is_new = false;
    segment.expected_version = read.waiting->version;
    flow = library_.revision(task.workspace_id, segment.record.flow_id, segment.record.flow_hash);
    segment.input.resume = nlohmann::json{{"text", message.text.value_or("")}, {"message", message_context(message)}};
    segment.input.state = segment.record.state;
  } else if (!human && read.snap.conversation) {
    // Keywords first; then the profile's auto_reply; then a catch-all.
    const auto flows = library_.flows(task.workspace_id);
    flow = match_keyword_trigger(flows, message.profile_id, message.text.value_or(""));
    if (!flow && auto_reply_enabled(read.auto_reply)) {
      try {
        flow = library_.built_in(task.workspace_id, auto_reply_flow(read.auto_reply));
        segment.record.trigger = {{"type", "auto_reply"}, {"message_id", message.id}};
      } catch (const std::exception& e) {
        spdlog::error("flows: the auto_reply of profile {} cannot run: {}", message.profile_id, e.what());
      }
    }
    if (!flow) flow = match_any_message_trigger(flows, message.profile_id);
    if (flow && segment.record.trigger.empty()) {
      segment.record.trigger = {{"type", flow->trigger.value("type", "message")}, {"message_id", message.id}};
    }
  }
  if (!flow) {
    // Nothing to run (a human has it, or no trigger matches), or the
    // revision a waiting execution needs is gone: the message is taken.
    if (read.waiting && !human) {
      segment.outcome.status = RunOutcome::Status::failed;
      segment.outcome.error = "revision " + segment.record.flow_hash.substr(0, 12) + " of flow '" +
                              segment.record.flow_id + "' is no longer available";
      segment.input.now_ms = clock_();
      run_and_commit(worker, std::move(segment), lane_released);
      return;
    }
    const std::string id = message.id, ws = task.workspace_id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++pending_writes_;
    }
    lane_released = true;
    db_.write_async([id](store::Connection& c) { store::messages::mark_handled(c, id, now_ms()); },
                    [this, lane = task.lane](std::exception_ptr) {
                      finish_lane(lane);
                      std::lock_guard<std::mutex> lock(mu_);
                      --pending_writes_;
                      idle_cv_.notify_all();
                    });
    return;
  }
  if (segment.is_new) {
    segment.record.id = new_id("exe");
    segment.record.organization_id = message.organization_id;
    segment.record.workspace_id = task.workspace_id;
    segment.record.flow_id = flow->id;
    segment.record.flow_hash = flow->hash;
    segment.record.flow_rev = flow->rev;
    segment.record.profile_id = message.profile_id;
    segment.record.conversation_id = message.conversation_id;
    segment.record.contact_id = message.contact_id;
  }
  segment.input.flow = flow;
  segment.input.workspace_id = task.workspace_id;
  segment.input.context = {{"message", message_context(message)},
                           {"trigger", segment.record.trigger},
                           {"workspace", workspace_context(task.workspace_id, timezone_of(task.workspace_id))}};
  if (read.snap.contact) segment.input.context["contact"] = contact_context(*read.snap.contact);
  if (read.snap.conversation) segment.input.context["conversation"] = conversation_context(*read.snap.conversation);
  segment.input.now_ms = clock_();
  segment.outcome = worker.engine->run(segment.input);
  run_and_commit(worker, std::move(segment), lane_released);
}

void FlowRuntime::process_resume(Worker& worker, Task& task, bool& lane_released) {
  struct Read {
    std::optional<ExecutionRecord> execution;
    Snapshot snap;
  };
  Read read = db_.read([&](store::Connection& c) {
    Read r;
    r.execution = executions::find(c, task.workspace_id, task.execution_id);
    if (r.execution && r.execution->conversation_id) {
      r.snap.conversation = store::conversations::find(c, task.workspace_id, *r.execution->conversation_id);
      if (r.snap.conversation) r.snap.contact = store::contacts::find(c, task.workspace_id, r.snap.conversation->contact_id);
    }
    return r;
  });
  // Exactly once: only the wait the task was armed for, in the version it had.
  if (!read.execution || read.execution->status != "waiting" || read.execution->version != task.expected_version ||
      read.execution->wait_kind.value_or("") != task.wait_kind) {
    return;
  }
  Segment segment;
  segment.lane = task.lane;
  segment.workspace_id = task.workspace_id;
  segment.record = *read.execution;
  segment.is_new = false;
  segment.expected_version = read.execution->version;
  segment.conversation = read.snap.conversation;
  FlowPtr flow = library_.revision(task.workspace_id, segment.record.flow_id, segment.record.flow_hash);
  segment.input.now_ms = clock_();
  if (!flow) {
    segment.outcome.status = RunOutcome::Status::failed;
    segment.outcome.error = "revision " + segment.record.flow_hash.substr(0, 12) + " of flow '" +
                            segment.record.flow_id + "' is no longer available";
    run_and_commit(worker, std::move(segment), lane_released);
    return;
  }
  segment.input.flow = flow;
  segment.input.workspace_id = task.workspace_id;
  segment.input.state = segment.record.state;
  segment.input.resume = task.resume_value;
  segment.input.context = {{"trigger", segment.record.trigger},
                           {"workspace", workspace_context(task.workspace_id, timezone_of(task.workspace_id))}};
  if (segment.record.state.contains("message")) segment.input.context["message"] = segment.record.state["message"];
  if (read.snap.contact) segment.input.context["contact"] = contact_context(*read.snap.contact);
  if (read.snap.conversation) segment.input.context["conversation"] = conversation_context(*read.snap.conversation);
  segment.outcome = worker.engine->run(segment.input);
  run_and_commit(worker, std::move(segment), lane_released);
}

void FlowRuntime::process_start(Worker& worker, Task& task, bool& lane_released) {
  Snapshot snap;
  std::optional<std::string> organization;
  db_.read([&](store::Connection& c) {
    if (!task.conversation_id.empty()) {
      snap.conversation = store::conversations::find(c, task.workspace_id, task.conversation_id);
      if (snap.conversation) snap.contact = store::contacts::find(c, task.workspace_id, snap.conversation->contact_id);
    }
    if (auto row = c.query_one("SELECT organization_id FROM workspaces WHERE id = ?", {task.workspace_id})) {
      organization = row->text("organization_id");
    }
  });
  FlowPtr flow = library_.current(task.workspace_id, task.flow_id);
  auto refuse = [&](const char* code, std::string why) {
    if (task.on_committed) {
      task.on_committed({{"execution_id", nullptr}, {"status", "refused"}, {"code", code}, {"error", why}});
    }
  };
  if (!flow || !organization) return refuse("not_found", "no flow '" + task.flow_id + "' in this workspace");
  if (!task.conversation_id.empty() && !snap.conversation) {
    return refuse("not_found", "no conversation '" + task.conversation_id + "'");
  }
  // A conversation a human has gets no bot flow, whatever started it.
  if (snap.conversation && snap.conversation->mode == "human" && task.trigger.value("type", "") != "manual") {
    return refuse("conflict", "a human has the conversation; the bot takes it back when the handoff is released");
  }
  Segment segment;
  segment.lane = task.lane;
  segment.workspace_id = task.workspace_id;
  segment.on_committed = std::move(task.on_committed);
  segment.conversation = snap.conversation;
  ExecutionRecord& r = segment.record;
  r.id = new_id("exe");
  r.organization_id = *organization;
  r.workspace_id = task.workspace_id;
  r.flow_id = flow->id;
  r.flow_hash = flow->hash;
  r.flow_rev = flow->rev;
  r.trigger = task.trigger;
  if (snap.conversation) {
    r.profile_id = snap.conversation->profile_id;
    r.conversation_id = snap.conversation->id;
    r.contact_id = snap.conversation->contact_id;
  }
  segment.input.flow = flow;
  segment.input.workspace_id = task.workspace_id;
  segment.input.initial_vars = task.vars.is_object() ? task.vars : nlohmann::json::object();
  segment.input.context = {{"trigger", task.trigger},
                           {"workspace", workspace_context(task.workspace_id, timezone_of(task.workspace_id))}};
  if (snap.contact) segment.input.context["contact"] = contact_context(*snap.contact);
  if (snap.conversation) segment.input.context["conversation"] = conversation_context(*snap.conversation);
  segment.input.now_ms = clock_();
  segment.outcome = worker.engine->run(segment.input);
  run_and_commit(worker, std::move(segment), lane_released);
}

namespace {

const char* status_name(RunOutcome::Status s) {
  switch (s) {
    case RunOutcome::Status::waiting: return "waiting";
    case RunOutcome::Status::completed: return "completed";
    case RunOutcome::Status::failed: return "failed";
  }
  return "failed";
}

// Writes the execution row as the outcome leaves it.
void settle_record(ExecutionRecord& r, const RunOutcome& o, int64_t now, size_t max_steps) {
  r.status = status_name(o.status);
  r.updated_at = now;
  if (r.created_at == 0) r.created_at = now;
  if (o.status == RunOutcome::Status::waiting && o.wait) {
    r.wait_kind = o.wait->kind;
    r.deadline_at = o.wait->deadline_at;
    r.state = o.state;
    // The variables as they are now, for display (the engine resumes from
    // "vars", those of the waiting scope's start).
    r.state["current_vars"] = o.vars.is_object() ? o.vars : nlohmann::json::object();
    // A call's request (ctx.http, ctx.ai) is kept, so that a restart can
    // make the call again.
    if (!o.wait->request.is_null()) r.state[o.wait->kind + "_request"] = o.wait->request;
  } else {
    r.wait_kind.reset();
    r.deadline_at.reset();
    r.state = {{"vars", o.vars.is_object() ? o.vars : nlohmann::json::object()}};
    r.finished_at = now;
  }
  if (o.status == RunOutcome::Status::failed) r.error = o.error;
  if (!r.steps.is_array()) r.steps = nlohmann::json::array();
  for (const auto& s : o.steps) r.steps.push_back(to_json(s));
  if (r.steps.size() > max_steps) {
    nlohmann::json kept = nlohmann::json::array();
    for (size_t i = r.steps.size() - max_steps; i < r.steps.size(); ++i) kept.push_back(std::move(r.steps[i]));
    r.steps = std::move(kept);
  }
}

// "flow.execution" on the bus (and so on the SSE stream) once an execution's
// segment has committed as waiting, completed or failed.
void publish_execution(EventBus& bus, const ExecutionRecord& r, int64_t at) {
  Event ev;
  ev.type = "flow.execution";
  ev.workspace_id = r.workspace_id;
  ev.profile_id = r.profile_id.value_or("");
  ev.data = {{"execution_id", r.id},
             {"flow_id", r.flow_id},
             {"status", r.status},
             {"error", r.error ? nlohmann::json(*r.error) : nlohmann::json(nullptr)},
             {"conversation_id", r.conversation_id ? nlohmann::json(*r.conversation_id) : nlohmann::json(nullptr)}};
  ev.at_ms = at;
  bus.publish(ev);
}

messaging::OutgoingMessage outgoing_of(const nlohmann::json& effect) {
  messaging::OutgoingMessage out;
  const nlohmann::json& m = effect.at("message");
  out.message_id = effect.value("id", "");
  out.type = m.value("type", "text");
  out.text = m.contains("text") && m["text"].is_string() ? m["text"].get<std::string>() : "";
  out.payload = m;
  out.payload.erase("type");
  out.payload.erase("text");
  return out;
}

}  // namespace

void FlowRuntime::run_and_commit(Worker&, Segment segment, bool& lane_released) {
  const int64_t now = clock_();
  settle_record(segment.record, segment.outcome, now, options_.max_steps_kept);
  // The message this segment saw stays ctx.message when a delay, an HTTP
  // response or a timeout resumes it: a replayed Lua flow must find what it
  // read before the wait, and a graph's {{message.text}} still means the
  // contact's last message.
  if (segment.record.status == "waiting" && segment.input.context.contains("message")) {
    segment.record.state["message"] = segment.input.context["message"];
  }
  auto shared = std::make_shared<Segment>(std::move(segment));
  const uint64_t steps = shared->outcome.steps.size();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++pending_writes_;
    ++stats_.segments;
    stats_.steps += steps;
    if (shared->outcome.status == RunOutcome::Status::failed) ++stats_.failed;
  }
  if (shared->outcome.status == RunOutcome::Status::failed) {
    spdlog::warn("flows: execution {} of flow {} failed: {}", shared->record.id, shared->record.flow_id,
                 shared->outcome.error);
  }
  lane_released = true;
  // Effects that changed something, reported on the bus after commit.
  auto changed_tags = std::make_shared<std::vector<std::string>>();
  db_.write_async(
      [this, shared, changed_tags, now](store::Connection& c) {
        Segment& s = *shared;
        ExecutionRecord& r = s.record;
        if (s.is_new) {
          executions::insert(c, r);
        } else if (!executions::update(c, r, s.expected_version)) {
          throw Error(ErrorCode::conflict, "execution " + r.id + " changed meanwhile");
        }
        for (const Effect& e : s.outcome.effects) {
          switch (e.kind) {
            case Effect::Kind::send:
              if (s.conversation) outbox_.enqueue(c, *s.conversation, outgoing_of(e.data));
              break;
            case Effect::Kind::tag:
            case Effect::Kind::untag: {
              if (!r.contact_id) break;
              const std::string tag = e.data.value("tag", "");
              const bool changed = e.kind == Effect::Kind::tag
                                       ? flow_effects::add_tag(c, r.workspace_id, *r.contact_id, tag, now)
                                       : flow_effects::remove_tag(c, r.workspace_id, *r.contact_id, tag, now);
              if (changed && e.kind == Effect::Kind::tag) changed_tags->push_back(tag);
              break;
            }
            case Effect::Kind::handoff:
              if (r.conversation_id) flow_effects::set_mode(c, r.workspace_id, *r.conversation_id, "human", now);
              break;
            case Effect::Kind::kv_set:
              flow_kv::set(c, r.organization_id, r.workspace_id, e.data.value("key", ""), e.data["value"], now);
              break;
            case Effect::Kind::kv_delete:
              flow_kv::remove(c, r.workspace_id, e.data.value("key", ""));
              break;
          }
        }
        if (s.handled_message_id) store::messages::mark_handled(c, *s.handled_message_id, now);
      },
      [this, shared, changed_tags, steps](std::exception_ptr error) {
        Segment& s = *shared;
        if (error) {
          std::string why;
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            why = e.what();
          }
          spdlog::error("flows: could not save execution {} of flow {}: {}", s.record.id, s.record.flow_id, why);
          {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.commit_errors;
          }
          // What the segment did is undone; the execution is recorded as
          // failed (its effects could not be saved) and its message taken,
          // so that a sweep does not run it again and again.
          const bool conflict = why.find("changed meanwhile") != std::string::npos;
          if (!conflict) {
            auto record = s.record;
            record.status = "failed";
            record.error = "its effects could not be saved: " + why;
            record.wait_kind.reset();
            record.deadline_at.reset();
            record.finished_at = clock_();
            const bool is_new = s.is_new;
            const int64_t expected = s.expected_version;
            const auto handled = s.handled_message_id;
            try {
              db_.write_async(
                  [record, is_new, expected, handled](store::Connection& c) {
                    if (is_new) executions::insert(c, record); else executions::update(c, record, expected);
                    if (handled) store::messages::mark_handled(c, *handled, now_ms());
                  },
                  [](std::exception_ptr) {});
            } catch (const std::exception&) {
            }
            // Here rather than after that write: this callback is the last
            // one the runtime waits for (stop()).
            publish_execution(bus_, record, clock_());
          }
          if (s.on_committed) s.on_committed({{"execution_id", s.record.id}, {"status", "failed"}, {"error", why}});
        } else {
          after_commit(s, steps);
          if (s.record.status != "running") publish_execution(bus_, s.record, clock_());
          for (const auto& tag : *changed_tags) {
            Event ev;
            ev.type = "contact.tagged";
            ev.workspace_id = s.workspace_id;
            ev.profile_id = s.record.profile_id.value_or("");
            ev.data = {{"contact_id", s.record.contact_id.value_or("")},
                       {"conversation_id", s.record.conversation_id.value_or("")},
                       {"tag", tag},
                       {"depth", s.record.trigger.value("depth", 0) + 1}};
            ev.at_ms = clock_();
            bus_.publish(ev);
          }
          if (s.on_committed) {
            s.on_committed({{"execution_id", s.record.id},
                            {"status", s.record.status},
                            {"error", s.record.error ? nlohmann::json(*s.record.error) : nlohmann::json(nullptr)}});
          }
        }
        finish_lane(s.lane);
        std::lock_guard<std::mutex> lock(mu_);
        --pending_writes_;
        idle_cv_.notify_all();
      });
}

bool FlowRuntime::wait_until_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] {
    if (pending_writes_ != 0 || calls_in_flight_ != 0 || !ready_.empty()) return false;
    for (const auto& [kind, queue] : call_queues_) {
      if (!queue.empty()) return false;
    }
    for (const auto& [id, lane] : lanes_) {
      if (lane.busy || !lane.tasks.empty()) return false;
    }
    return true;
  });
}

FlowRuntime::Stats FlowRuntime::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.armed_timers = timers_.size();
  return s;
}

}  // namespace sb::flows

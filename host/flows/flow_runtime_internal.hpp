#pragma once
// FlowRuntime's private types, shared by its two source files
// (flow_runtime.cpp: lanes, workers, segments and commits;
// flow_runtime_timers.cpp: deadlines, schedules, HTTP calls, recovery,
// events and webhooks).
#include "flows/execution_repository.hpp"
#include "flows/flow_runtime.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/message_repository.hpp"

namespace sb::flows {

struct FlowRuntime::Task {
  enum class Kind { message, resume, start };
  Kind kind = Kind::message;
  std::string workspace_id;
  std::string lane;
  std::string message_id;  // message
  // resume: the execution, the version it had when it began to wait, what
  // it waits for, and what came (for a reply the message id instead).
  std::string execution_id;
  int64_t expected_version = 0;
  std::string wait_kind;
  nlohmann::json resume_value;
  // start
  std::string flow_id;
  std::string conversation_id;
  nlohmann::json trigger;
  nlohmann::json vars = nlohmann::json::object();
  std::function<void(nlohmann::json)> on_committed;  // {"execution_id","status","error"}

  // An inbound message for its conversation's lane.
  static std::shared_ptr<Task> message(std::string workspace_id, std::string message_id, std::string conversation_id);
  // The end of a wait: what came (`value`) for the execution in `lane`.
  static std::shared_ptr<Task> resume(std::string workspace_id, std::string lane, std::string execution_id,
                                      int64_t expected_version, std::string wait_kind, nlohmann::json value);
  // A new execution of `flow_id`, in `conversation_id`'s lane or (none) a lane of its own.
  static std::shared_ptr<Task> start(std::string workspace_id, std::string flow_id, std::string conversation_id,
                                     nlohmann::json trigger);
};

// A conversation as a segment sees it, read before it runs.
struct FlowRuntime::Snapshot {
  std::optional<store::Conversation> conversation;
  std::optional<store::Contact> contact;
  std::optional<store::Message> message;
};

struct FlowRuntime::Segment {
  std::string lane;
  std::string workspace_id;
  ExecutionRecord record;
  bool is_new = true;
  int64_t expected_version = 0;
  RunInput input;
  std::optional<store::Conversation> conversation;
  std::optional<std::string> handled_message_id;
  std::function<void(nlohmann::json)> on_committed;
  RunOutcome outcome;
};

// The EngineHost every worker's engine uses.
class FlowRuntime::Host final : public EngineHost {
 public:
  Host(store::Database& db, FlowLibrary& library) : db_(db), library_(library) {}
  FlowPtr current_flow(const std::string& workspace_id, const std::string& flow_id) override {
    return library_.current(workspace_id, flow_id);
  }
  FlowPtr flow_revision(const std::string& workspace_id, const std::string& flow_id,
                        const std::string& hash) override {
    return library_.revision(workspace_id, flow_id, hash);
  }
  std::optional<nlohmann::json> kv_get(const std::string& workspace_id, const std::string& key) override {
    return db_.read([&](store::Connection& c) { return flow_kv::get(c, workspace_id, key); });
  }

 private:
  store::Database& db_;
  FlowLibrary& library_;
};

struct FlowRuntime::Worker {
  std::unique_ptr<FlowEngine> engine;
};

// The context a segment's ctx is built from (docs/flows.md, "Data").
nlohmann::json message_context(const store::Message& m);
nlohmann::json contact_context(const store::Contact& c);
nlohmann::json conversation_context(const store::Conversation& c);

}  // namespace sb::flows

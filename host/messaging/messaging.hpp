#pragma once
// The messaging room as the app sees it: the inbound pipeline (the plugins'
// event sink), the channel sessions and the outbox, wired together and
// started and stopped in the right order. Answering messages is not done
// here: the flow runtime (flows/flow_runtime.hpp) listens to
// "message.received" and enqueues its replies through outbox().
//
//   Messaging messaging(registry, db, bus, scheduler, options);
//   services.set_event_sink(&messaging.event_sink());  // before any session exists
//   messaging.start();
//   ...
//   messaging.stop();  // before db, bus, scheduler and registry go away
//
// Threads: start() and stop() are called by the app's main thread. The parts
// document their own threads; the facade adds one periodic housekeeping task
// on the Scheduler (pruning of stale early receipts).
#include "core/event_bus.hpp"
#include "core/scheduler.hpp"
#include "messaging/campaigns.hpp"
#include "messaging/channel_sessions.hpp"
#include "messaging/inbound_pipeline.hpp"
#include "messaging/outbox.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

namespace sb::messaging {

struct MessagingOptions {
  OutboxOptions outbox;
  CampaignOptions campaigns;
  bool connect_sessions = true;  // connect every session at start
  std::chrono::milliseconds housekeeping_interval{60 * 1000};
};

class Messaging {
 public:
  Messaging(plugins::PluginRegistry& registry, store::Database& db, EventBus& bus, Scheduler& scheduler,
            MessagingOptions options = {});
  ~Messaging();  // stop()
  Messaging(const Messaging&) = delete;
  Messaging& operator=(const Messaging&) = delete;

  // What plugins emit goes here (HostServices::set_event_sink).
  plugins::PluginEventSink& event_sink() { return inbound_; }
  InboundPipeline& inbound() { return inbound_; }
  ChannelSessions& sessions() { return sessions_; }
  Outbox& outbox() { return outbox_; }
  Campaigns& campaigns() { return campaigns_; }

  // Recovers the outbox (rows left in sending go back to pending), opens a
  // session for every profile and starts the sender, then the campaigns'
  // feeder (running campaigns resume).
  void start();
  // Ordered shutdown: the campaigns' feeder stops, the sender finishes
  // the send under way and stops, then the sessions (their routes and
  // timers) are destroyed. Inbound
  // events that still arrive meanwhile are stored as usual. Safe to call
  // twice.
  void stop();

 private:
  void schedule_housekeeping();
  void housekeeping();

  store::Database& db_;
  Scheduler& scheduler_;
  const MessagingOptions options_;

  InboundPipeline inbound_;
  ChannelSessions sessions_;
  Outbox outbox_;
  Campaigns campaigns_;

  std::mutex mu_;  // guards the two below
  bool running_ = false;
  uint64_t housekeeping_timer_ = 0;
};

}  // namespace sb::messaging

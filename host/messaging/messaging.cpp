#include "messaging/messaging.hpp"

#include "core/ids.hpp"
#include "store/message_repository.hpp"

#include <spdlog/spdlog.h>

namespace sb::messaging {

namespace {
constexpr int64_t kReceiptLifetimeMs = 24 * 60 * 60 * 1000;
}

Messaging::Messaging(plugins::PluginRegistry& registry, store::Database& db, EventBus& bus, Scheduler& scheduler,
                     MessagingOptions options)
    : db_(db),
      scheduler_(scheduler),
      options_(std::move(options)),
      inbound_(db, bus),
      sessions_(registry, db, bus),
      outbox_(db, sessions_, bus, options_.outbox),
      campaigns_(db, outbox_, bus, options_.campaigns) {}

Messaging::~Messaging() { stop(); }

void Messaging::start() {
  {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
  }
  outbox_.recover();
  const size_t opened = sessions_.open_all(options_.connect_sessions);
  spdlog::info("messaging: {} channel session(s) open", opened);
  outbox_.start();
  campaigns_.start();
  schedule_housekeeping();
}

void Messaging::stop() {
  uint64_t timer = 0;
  {
    // Each part stops idempotently, so this also tidies up after a test
    // that drove the parts by hand without start().
    std::lock_guard lock(mu_);
    running_ = false;
    timer = housekeeping_timer_;
    housekeeping_timer_ = 0;
  }
  if (timer) scheduler_.cancel(timer);
  campaigns_.stop();
  outbox_.stop();
  sessions_.stop_all();
}

void Messaging::schedule_housekeeping() {
  if (options_.housekeeping_interval.count() <= 0) return;
  std::lock_guard lock(mu_);
  if (!running_) return;
  housekeeping_timer_ = scheduler_.schedule(options_.housekeeping_interval, [this] {
    housekeeping();
    schedule_housekeeping();
  });
}

void Messaging::housekeeping() {
  try {
    db_.write([](store::Connection& c) { store::messages::drop_receipts_before(c, now_ms() - kReceiptLifetimeMs); });
  } catch (const std::exception& e) {
    spdlog::warn("messaging: pruning early receipts failed: {}", e.what());
  }
}

}  // namespace sb::messaging

#include "messaging/auto_reply.hpp"

#include "core/ids.hpp"
#include "store/conversation_repository.hpp"
#include "store/message_repository.hpp"
#include "store/profile_repository.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace sb::messaging {

namespace {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

AutoReply::AutoReply(store::Database& db, EventBus& bus, Outbox& outbox, AutoReplyOptions options)
    : db_(db), bus_(bus), outbox_(outbox), options_(options) {}

AutoReply::~AutoReply() { stop(); }

std::optional<std::string> AutoReply::match(const nlohmann::json& rules, std::string_view text) {
  if (!rules.is_array()) return std::nullopt;
  const std::string haystack = ascii_lower(text);
  for (const nlohmann::json& rule : rules) {
    if (!rule.is_object()) continue;
    auto keyword = rule.find("keyword");
    auto reply = rule.find("reply");
    if (keyword == rule.end() || reply == rule.end() || !keyword->is_string() || !reply->is_string()) continue;
    const std::string needle = ascii_lower(keyword->get<std::string>());
    if (needle.empty() || reply->get<std::string>().empty()) continue;
    if (haystack.find(needle) != std::string::npos) return reply->get<std::string>();
  }
  return std::nullopt;
}

void AutoReply::start() {
  {
    std::lock_guard lock(mu_);
    if (worker_.joinable()) return;
    stopping_ = false;
    // Messages stored while no worker listened (a crash, a stop) come first.
    sweep_requested_ = true;
    worker_ = std::thread([this] { worker_loop(); });
  }
  if (!inline_) subscription_ = bus_.subscribe("message.received", [this](const Event& e) { on_received(e); });
}

void AutoReply::attach_inline(InboundPipeline& pipeline) {
  inline_ = true;
  pipeline.set_inline_automation([this](store::Connection& c, const InboundPipeline::InboundContext& in) {
    if (!in.message.text || in.message.text->empty()) return;
    reply(c, in.conversation, in.profile.auto_reply, *in.message.text);
  });
}

void AutoReply::reply(store::Connection& c, const store::Conversation& conversation, const nlohmann::json& rules,
                      const std::string& text) {
  if (conversation.mode == "human") return;
  auto answer = match(rules, text);
  if (!answer) return;
  OutgoingMessage out;
  out.type = "text";
  out.text = *answer;
  outbox_.enqueue(c, conversation, out);
}

void AutoReply::stop() {
  subscription_ = EventBus::Subscription();
  std::thread worker;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    worker.swap(worker_);
  }
  cv_.notify_all();
  if (worker.joinable()) worker.join();
  std::lock_guard lock(mu_);
  queue_.clear();
  sweep_requested_ = false;
  busy_ = false;
  idle_cv_.notify_all();
}

void AutoReply::request_sweep() {
  {
    std::lock_guard lock(mu_);
    sweep_requested_ = true;
  }
  cv_.notify_one();
}

bool AutoReply::wait_until_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout,
                           [&] { return stopping_ || (queue_.empty() && !sweep_requested_ && !busy_); });
}

void AutoReply::on_received(const Event& event) {
  const nlohmann::json& data = event.data;
  if (!data.is_object() || data.value("direction", "") != "in" || !data.contains("id")) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= options_.queue_capacity) {
      // Dropped from memory only: the message is unhandled in the database,
      // and the sweep this asks for finds it.
      sweep_requested_ = true;
    } else {
      queue_.push_back({event.workspace_id, data["id"].get<std::string>()});
    }
  }
  cv_.notify_one();
}

void AutoReply::worker_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || sweep_requested_ || !queue_.empty(); });
    if (stopping_) return;
    busy_ = true;
    if (sweep_requested_) {
      sweep_requested_ = false;
      lock.unlock();
      sweep();
    } else {
      std::vector<Item> items;
      while (!queue_.empty() && items.size() < options_.batch_size) {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      lock.unlock();
      handle(items);
    }
    lock.lock();
    busy_ = false;
    if (queue_.empty() && !sweep_requested_) idle_cv_.notify_all();
  }
}

void AutoReply::sweep() {
  int64_t after_created_at = -1;
  std::string after_id;
  size_t found = 0;
  for (;;) {
    std::vector<store::Message> page;
    try {
      page = db_.read([&](store::Connection& c) {
        return store::messages::unhandled_inbound(c, after_created_at, after_id, options_.sweep_page);
      });
    } catch (const std::exception& e) {
      spdlog::error("auto-reply: reading unhandled messages failed: {}", e.what());
      return;
    }
    if (page.empty()) break;
    after_created_at = page.back().created_at;
    after_id = page.back().id;
    found += page.size();
    for (size_t i = 0; i < page.size(); i += options_.batch_size) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      std::vector<Item> items;
      for (size_t j = i; j < std::min(page.size(), i + options_.batch_size); ++j)
        items.push_back({page[j].workspace_id, page[j].id});
      handle(items);
    }
    if (static_cast<int64_t>(page.size()) < options_.sweep_page) break;
  }
  if (found > 0) spdlog::info("auto-reply: re-dispatched {} unhandled inbound message(s)", found);
}

void AutoReply::handle(const std::vector<Item>& items) {
  if (items.empty()) return;
  try {
    db_.write([&](store::Connection& c) {
      const int64_t now = now_ms();
      RulesCache rules;
      for (const Item& item : items) handle_one(c, item, now, rules);
    });
    return;
  } catch (const std::exception& e) {
    if (items.size() == 1) {
      spdlog::error("auto-reply: message {} failed: {} (it stays unhandled)", items.front().message_id, e.what());
      return;
    }
    spdlog::warn("auto-reply: a batch of {} failed ({}); handling them one by one", items.size(), e.what());
  }
  for (const Item& item : items) {
    try {
      db_.write([&](store::Connection& c) {
        RulesCache rules;
        handle_one(c, item, now_ms(), rules);
      });
    } catch (const std::exception& e) {
      spdlog::error("auto-reply: message {} failed: {} (it stays unhandled)", item.message_id, e.what());
    }
  }
}

void AutoReply::handle_one(store::Connection& c, const Item& item, int64_t now, RulesCache& rules) {
  // The handled flag makes this idempotent: the same message may come from
  // the bus and from a sweep, and only the first one acts.
  auto message = store::messages::find(c, item.workspace_id, item.message_id);
  if (!message || message->direction != "in" || message->handled) return;
  store::messages::mark_handled(c, message->id, now);
  if (!message->text || message->text->empty()) return;

  auto conversation = store::conversations::find(c, message->workspace_id, message->conversation_id);
  if (!conversation || conversation->mode == "human") return;
  auto cached = rules.find(message->profile_id);
  if (cached == rules.end()) {
    auto profile = store::profiles::get(c, message->profile_id);
    if (!profile) return;
    cached = rules.emplace(message->profile_id, std::move(*profile)).first;
  }
  reply(c, *conversation, cached->second.auto_reply, *message->text);
}

}  // namespace sb::messaging

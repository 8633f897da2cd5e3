#include "outbound_log.hpp"

#include <algorithm>
#include <utility>

namespace sandbox {
namespace {

int rank(std::string_view status) {
  if (status == "sent") return 1;
  if (status == "delivered") return 2;
  if (status == "read") return 3;
  return 0;
}

}  // namespace

OutboundLog::OutboundLog(std::string id_prefix, std::size_t capacity)
    : id_prefix_(std::move(id_prefix)), capacity_(std::max<std::size_t>(capacity, 1)) {}

const OutboundRecord* OutboundLog::find_by_key(std::string_view key) const {
  if (key.empty()) return nullptr;
  auto it = by_key_.find(std::string(key));
  if (it == by_key_.end() || records_.empty()) return nullptr;
  uint64_t first = records_.front().seq;
  if (it->second < first) return nullptr;
  return &records_[static_cast<std::size_t>(it->second - first)];
}

OutboundRecord* OutboundLog::find(uint64_t seq) {
  if (records_.empty()) return nullptr;
  uint64_t first = records_.front().seq;
  if (seq < first || seq - first >= records_.size()) return nullptr;
  return &records_[static_cast<std::size_t>(seq - first)];
}

OutboundRecord OutboundLog::append(OutboundRecord record) {
  record.seq = next_seq_++;
  if (record.status != "failed") record.external_id = id_prefix_ + std::to_string(record.seq);
  if (!record.idempotency_key.empty()) by_key_[record.idempotency_key] = record.seq;
  records_.push_back(std::move(record));
  while (records_.size() > capacity_) {
    const OutboundRecord& oldest = records_.front();
    auto it = by_key_.find(oldest.idempotency_key);
    if (it != by_key_.end() && it->second == oldest.seq) by_key_.erase(it);
    records_.pop_front();
  }
  return records_.back();
}

bool OutboundLog::advance_status(uint64_t seq, std::string_view status) {
  OutboundRecord* r = find(seq);
  if (!r || r->status == "failed" || rank(status) <= rank(r->status)) return false;
  r->status = std::string(status);
  return true;
}

nlohmann::json OutboundLog::to_json(std::size_t limit) const {
  nlohmann::json messages = nlohmann::json::array();
  std::size_t n = std::min(limit, records_.size());
  for (auto it = records_.end() - static_cast<std::ptrdiff_t>(n); it != records_.end(); ++it) {
    nlohmann::json m = it->message.is_object() ? it->message : nlohmann::json::object();
    m["external_id"] = it->external_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(it->external_id);
    m["status"] = it->status;
    m["sent_at"] = it->sent_at;
    if (!it->error.empty()) m["error"] = it->error;
    messages.push_back(std::move(m));
  }
  return {{"messages", std::move(messages)}};
}

}  // namespace sandbox

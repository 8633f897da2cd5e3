#pragma once
// The sandbox's record of what it was asked to send, newest last, bounded to
// the most recent `capacity` messages. Also the idempotency index: a key seen
// before maps to its first record for as long as that record is kept.
// Not thread-safe: the owning channel guards it with its own mutex.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sandbox {

struct OutboundRecord {
  uint64_t seq = 0;
  std::string external_id;      // empty when the channel refused the message
  std::string idempotency_key;  // may be empty
  nlohmann::json message;       // the host's message, as sent
  std::string status;           // sent | delivered | read | failed
  std::string error;            // why it failed, for status "failed"
  int64_t sent_at = 0;          // unix seconds
};

class OutboundLog {
 public:
  // External ids are `id_prefix` + a sequence number.
  OutboundLog(std::string id_prefix, std::size_t capacity);

  // The record kept for `key`, or nullptr (also for an empty key).
  const OutboundRecord* find_by_key(std::string_view key) const;

  // Appends a record, giving it a sequence number and, unless its status is
  // "failed", an external id; drops the oldest record beyond capacity.
  // Returns a copy of the stored record.
  OutboundRecord append(OutboundRecord record);

  // Moves a record forward (sent -> delivered -> read); never backwards and
  // never out of "failed". False when the record is gone or did not move.
  bool advance_status(uint64_t seq, std::string_view status);

  // {"messages": [...]} with at most `limit` of the newest records, newest
  // last; each is the message as sent plus external_id, status, sent_at
  // (and error when failed).
  nlohmann::json to_json(std::size_t limit) const;

  std::size_t size() const { return records_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  OutboundRecord* find(uint64_t seq);

  std::string id_prefix_;
  std::size_t capacity_;
  uint64_t next_seq_ = 1;
  std::deque<OutboundRecord> records_;  // contiguous sequence numbers
  std::unordered_map<std::string, uint64_t> by_key_;
};

}  // namespace sandbox

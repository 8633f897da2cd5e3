#pragma once
// Messages, inbound and outbound, and the receipts that arrive early.
//
// A message belongs to one conversation of one profile. Inbound messages are
// unique on (profile, external id) so a redelivered one is stored once;
// outbound ones get their external id when the channel accepted them.
//
// Free functions take a Connection (compose inside one write job);
// MessageRepository wraps them over a Database. Lookups by id filter on the
// workspace; lookups by external id on the profile.
#include "store/conversation_repository.hpp"
#include "store/database.hpp"
#include "store/page.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sb::store {

struct Message {
  std::string id;
  std::string organization_id;
  std::string workspace_id;
  std::string profile_id;
  std::string conversation_id;
  std::string contact_id;
  std::string direction;  // "in" | "out"
  std::optional<std::string> external_id;
  std::string type = "text";
  std::optional<std::string> text;
  nlohmann::json payload = nlohmann::json::object();
  std::string status;  // queued | sent | delivered | read | failed | received
  std::optional<std::string> error;
  bool handled = false;  // inbound: the automations have taken it
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// A new message in `conversation` (a fresh id, its tenant, profile and
// contact taken from the conversation), created and updated at `now`.
Message new_message(const Conversation& conversation, std::string direction, std::string status, int64_t now);

// {"id","organization_id","workspace_id","profile_id","conversation_id",
//  "contact_id","direction","external_id","type","text","payload","status",
//  "error","handled","created_at","updated_at"}
nlohmann::json to_json(const Message& message);

// A status receipt parked until the outbound message it names is known.
struct Receipt {
  std::string status;
  std::optional<std::string> error;
};

// What search() keeps; every field set must match (nullopt: any).
struct MessageQuery {
  std::optional<std::string> conversation_id;
  std::optional<std::string> contact_id;
  std::optional<std::string> profile_id;
  std::optional<std::string> direction;  // in | out
  std::optional<std::string> status;     // queued | sent | delivered | read | failed | received
};

namespace messages {

// Inserts `m` as given (id and times included). A second inbound message
// with the same (profile, external id) violates the unique key.
void insert(Connection& c, const Message& m);

std::optional<Message> find(Connection& c, const std::string& workspace_id, const std::string& id);
// The message and its contact's phone number, in one query; nullopt if
// either is gone.
std::optional<std::pair<Message, std::string>> find_with_phone(Connection& c, const std::string& workspace_id,
                                                               const std::string& id);
std::optional<Message> find_by_external_id(Connection& c, const std::string& profile_id,
                                           const std::string& external_id);

// Sets status and error (error cleared when nullopt).
void set_status(Connection& c, const std::string& id, const std::string& status,
                const std::optional<std::string>& error, int64_t now);
// The channel accepted an outbound message: external id recorded, status sent.
void mark_sent(Connection& c, const std::string& id, const std::string& external_id, int64_t now);
// The automations have taken an inbound message. Returns false if it was
// already handled (or does not exist).
bool mark_handled(Connection& c, const std::string& id, int64_t now);

// Inbound messages not yet handled, oldest first, after the cursor
// (created_at, id) — across every tenant, for recovery after a restart.
std::vector<Message> unhandled_inbound(Connection& c, int64_t after_created_at, const std::string& after_id,
                                       int64_t limit);

// A conversation's messages, oldest first.
std::vector<Message> list_by_conversation(Connection& c, const std::string& workspace_id,
                                          const std::string& conversation_id, int64_t limit = 100,
                                          int64_t offset = 0);

// A conversation's messages by (created_at, id), newest first; empty when
// the conversation is not in `workspace_id`. Throws
// sb::Error(invalid_argument) for a page limit outside 1..1000.
Page<Message> page_by_conversation(Connection& c, const std::string& workspace_id,
                                   const std::string& conversation_id, const PageRequest& page);

// A workspace's messages matching `q`, by (created_at, id) newest first.
// With a conversation_id this reads that conversation's rows only; without
// one it reads the workspace's newest rows until the page is full (a
// contact or profile with few messages in a busy workspace costs a longer
// walk). Throws sb::Error(invalid_argument) for an unknown direction or
// status in `q`, or a page limit outside 1..1000.
Page<Message> search(Connection& c, const std::string& workspace_id, const MessageQuery& q, const PageRequest& page);

// Early receipts (see migration 002): park one; take (and delete) those
// for (profile, external id); drop those older than `cutoff`.
void park_receipt(Connection& c, const std::string& organization_id, const std::string& workspace_id,
                  const std::string& profile_id, const std::string& external_id, const Receipt& receipt,
                  int64_t now);
std::vector<Receipt> take_receipts(Connection& c, const std::string& profile_id, const std::string& external_id);
int64_t drop_receipts_before(Connection& c, int64_t cutoff);

}  // namespace messages

class MessageRepository {
 public:
  explicit MessageRepository(Database& db) : db_(db) {}
  std::optional<Message> find(const std::string& workspace_id, const std::string& id);
  std::optional<Message> find_by_external_id(const std::string& profile_id, const std::string& external_id);
  std::vector<Message> list_by_conversation(const std::string& workspace_id, const std::string& conversation_id,
                                            int64_t limit = 100, int64_t offset = 0);
  Page<Message> page_by_conversation(const std::string& workspace_id, const std::string& conversation_id,
                                     const PageRequest& page);
  Page<Message> search(const std::string& workspace_id, const MessageQuery& q, const PageRequest& page);

 private:
  Database& db_;
};

}  // namespace sb::store

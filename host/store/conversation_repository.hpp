#pragma once
// Conversations: the thread between one profile (WhatsApp number) and one
// contact. At most one is active (open or pending) per (profile, contact);
// a new inbound message joins it, or opens a new one once the last was
// resolved.
//
// Free functions take a Connection (compose inside one write job);
// ConversationRepository wraps them over a Database. Lookups by id filter on
// the workspace.
#include "store/database.hpp"
#include "store/page.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::store {

struct Conversation {
  std::string id;
  std::string organization_id;
  std::string workspace_id;
  std::string profile_id;
  std::string contact_id;
  std::string status = "open";  // open | pending | resolved
  std::string mode = "bot";     // bot | human
  std::optional<std::string> assignee;
  std::optional<int64_t> last_message_at;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// {"id","organization_id","workspace_id","profile_id","contact_id","status",
//  "mode","assignee","last_message_at","created_at","updated_at"}
nlohmann::json to_json(const Conversation& conversation);

// What search() keeps; every field set must match (nullopt: any).
struct ConversationQuery {
  std::optional<std::string> status;    // open | pending | resolved
  std::optional<std::string> assignee;  // "" means unassigned
  std::optional<std::string> mode;      // bot | human
  std::optional<std::string> profile_id;
  std::optional<std::string> contact_id;
};

namespace conversations {

std::optional<Conversation> find(Connection& c, const std::string& workspace_id, const std::string& id);
// The open or pending conversation of (profile, contact), if any.
std::optional<Conversation> find_active(Connection& c, const std::string& profile_id, const std::string& contact_id);

struct Opened {
  Conversation conversation;
  bool created = false;
};
// The active conversation of (profile, contact), opened when there is none.
Opened find_or_open(Connection& c, const std::string& organization_id, const std::string& workspace_id,
                    const std::string& profile_id, const std::string& contact_id, int64_t now);

// Records that a message was added at `at` (never moves backwards).
void touch(Connection& c, const std::string& id, int64_t at);

// Most recently active first.
std::vector<Conversation> list(Connection& c, const std::string& workspace_id, int64_t limit = 100,
                               int64_t offset = 0);

// A workspace's conversations matching `q`, by (updated_at, id) most
// recently changed first. updated_at moves with every message: a
// conversation that changes while a client pages jumps ahead of the
// cursor, so it is on no later page (a fresh first page shows it). None is
// ever repeated.
// Throws sb::Error(invalid_argument) for an unknown status or mode in `q`
// or a page limit outside 1..1000.
Page<Conversation> search(Connection& c, const std::string& workspace_id, const ConversationQuery& q,
                          const PageRequest& page);

// Sets the assignee (nullopt or "" clears it) and updated_at = now; returns
// the conversation as stored, nullopt when the workspace has no such one.
std::optional<Conversation> assign(Connection& c, const std::string& workspace_id, const std::string& id,
                                   const std::optional<std::string>& assignee, int64_t now);

// Sets the status (open | pending | resolved; updated_at = now when it
// changes); returns the conversation as stored, nullopt when the workspace
// has no such one. Throws sb::Error: invalid_argument for another status;
// conflict when reopening a resolved conversation while another one of the
// same (profile, contact) is active (index conversations_one_active), with
// the message and details {"conversation_id"} naming that one.
std::optional<Conversation> set_status(Connection& c, const std::string& workspace_id, const std::string& id,
                                       const std::string& status, int64_t now);

// Sets the mode (bot | human; updated_at = now when it changes); returns
// the conversation as stored, nullopt when the workspace has no such one.
// Throws sb::Error(invalid_argument) for another mode.
std::optional<Conversation> set_mode(Connection& c, const std::string& workspace_id, const std::string& id,
                                     const std::string& mode, int64_t now);

}  // namespace conversations

class ConversationRepository {
 public:
  explicit ConversationRepository(Database& db) : db_(db) {}
  std::optional<Conversation> find(const std::string& workspace_id, const std::string& id);
  std::optional<Conversation> find_active(const std::string& profile_id, const std::string& contact_id);
  std::vector<Conversation> list(const std::string& workspace_id, int64_t limit = 100, int64_t offset = 0);
  Page<Conversation> search(const std::string& workspace_id, const ConversationQuery& q, const PageRequest& page);
  std::optional<Conversation> assign(const std::string& workspace_id, const std::string& id,
                                     const std::optional<std::string>& assignee);
  std::optional<Conversation> set_status(const std::string& workspace_id, const std::string& id,
                                         const std::string& status);
  std::optional<Conversation> set_mode(const std::string& workspace_id, const std::string& id,
                                       const std::string& mode);

 private:
  Database& db_;
};

}  // namespace sb::store

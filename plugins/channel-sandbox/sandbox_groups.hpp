#pragma once
// The sandbox's WhatsApp groups: an in-memory model of what a real number's
// groups look like (an id, a subject, participants who are members or
// admins), answering the group.* operations of sb_channel_api.call. The
// creator (the sandbox's own number) is the first admin.
//
// Not thread-safe: the owning channel guards it with its own mutex, and
// saves to_json() in the host's per-instance state after every change so
// that groups outlive a restart.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sandbox {

class SandboxGroups {
 public:
  static constexpr std::size_t kMaxGroups = 1000;
  static constexpr std::size_t kMaxParticipants = 1024;  // WhatsApp's group size
  static constexpr std::size_t kMaxSubject = 100;         // characters

  explicit SandboxGroups(std::string own_phone) : own_phone_(std::move(own_phone)) {}

  // The group.* operations; `request` is the op's JSON object (plugin.h).
  // Throw switchboard::Error: INVALID_ARGUMENT for a bad request,
  // NOT_FOUND for an unknown group, UNSUPPORTED for an unknown op.
  nlohmann::json call(const std::string& op, const nlohmann::json& request, const std::string& new_id);

  bool exists(const std::string& group_id) const { return groups_.count(group_id) != 0; }

  // {"next": n, "groups": [...]}: what `load` reads back.
  nlohmann::json to_json() const;
  // Replaces the groups with a saved state; ignores one it cannot read.
  void load(const nlohmann::json& saved);

 private:
  struct Group {
    std::string id;
    std::string subject;
    std::map<std::string, std::string> participants;  // phone -> "admin" | "member"
    int64_t created_at = 0;
  };

  Group& find(const nlohmann::json& request);
  nlohmann::json info(const Group& g) const;

  std::string own_phone_;
  std::map<std::string, Group> groups_;
};

}  // namespace sandbox

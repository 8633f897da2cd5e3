#pragma once
// Roles, API key scopes and the permission table: who may do what in a
// workspace. docs/api.md shows the same table; roles_test checks that the
// two agree.
//
//   owner > admin > operator > viewer     (a user's role per workspace)
//   read, send, manage                    (an API key's scopes)
//
// Constant data: safe from any thread.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::tenancy {

enum class Role { viewer = 0, operator_ = 1, admin = 2, owner = 3 };
std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

enum class Scope { read, send, manage };
std::string_view to_string(Scope scope);
std::optional<Scope> parse_scope(std::string_view text);

enum class Permission {
  read,                 // see profiles, contacts, conversations, messages, flows, executions
  send,                 // send messages
  handle_conversations, // assign, resolve, reopen, hand back to the bot; edit contacts
  edit_flows,           // create, change, enable, disable, delete flows
  connect_numbers,      // create, connect, disconnect, delete profiles
  manage_members,       // invite, change roles, remove members
  manage_keys,          // create, rotate, revoke API keys
  read_audit,           // read the audit log
  manage_workspace,     // rename or configure the workspace
};
std::string_view to_string(Permission permission);
const std::vector<Permission>& all_permissions();

// The lowest role that has `permission`.
Role minimum_role(Permission permission);
// The scope an API key needs for `permission`: read for read, send for
// send, manage for everything else.
Scope required_scope(Permission permission);

inline bool allows(Role role, Permission permission) {
  return static_cast<int>(role) >= static_cast<int>(minimum_role(permission));
}

}  // namespace sb::tenancy

#include "tenancy/roles.hpp"

#include <array>
#include <utility>

namespace sb::tenancy {
namespace {

struct Row {
  Permission permission;
  std::string_view name;
  Role minimum;
};

// The permission table. Keep docs/api.md ("Roles and permissions") in step.
constexpr std::array kTable = {
    Row{Permission::read, "read", Role::viewer},
    Row{Permission::send, "send", Role::operator_},
    Row{Permission::handle_conversations, "handle_conversations", Role::operator_},
    Row{Permission::edit_flows, "edit_flows", Role::admin},
    Row{Permission::connect_numbers, "connect_numbers", Role::admin},
    Row{Permission::manage_members, "manage_members", Role::admin},
    Row{Permission::manage_keys, "manage_keys", Role::admin},
    Row{Permission::read_audit, "read_audit", Role::admin},
    Row{Permission::manage_workspace, "manage_workspace", Role::owner},
};

const Row& row(Permission p) {
  for (const Row& r : kTable)
    if (r.permission == p) return r;
  return kTable[0];
}

}  // namespace

std::string_view to_string(Role role) {
  switch (role) {
    case Role::viewer: return "viewer";
    case Role::operator_: return "operator";
    case Role::admin: return "admin";
    case Role::owner: return "owner";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role r : {Role::viewer, Role::operator_, Role::admin, Role::owner})
    if (to_string(r) == text) return r;
  return std::nullopt;
}

std::string_view to_string(Scope scope) {
  switch (scope) {
    case Scope::read: return "read";
    case Scope::send: return "send";
    case Scope::manage: return "manage";
  }
  return "read";
}

std::optional<Scope> parse_scope(std::string_view text) {
  for (Scope s : {Scope::read, Scope::send, Scope::manage})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

std::string_view to_string(Permission permission) { return row(permission).name; }

const std::vector<Permission>& all_permissions() {
  static const std::vector<Permission> all = [] {
    std::vector<Permission> v;
    for (const Row& r : kTable) v.push_back(r.permission);
    return v;
  }();
  return all;
}

Role minimum_role(Permission permission) { return row(permission).minimum; }

Scope required_scope(Permission permission) {
  switch (permission) {
    case Permission::read: return Scope::read;
    case Permission::send: return Scope::send;
    default: return Scope::manage;
  }
}

}  // namespace sb::tenancy

#pragma once
// A numbered schema migration compiled into the binary from
// host/store/migrations/NNN_description.sql (see cmake/EmbedMigrations.cmake).
#include <string_view>
#include <vector>

namespace sb::store {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

// Every migration file in ascending version order.
const std::vector<Migration>& embedded_migrations();

}  // namespace sb::store

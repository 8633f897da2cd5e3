#include "store/migrator.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

namespace sb::store {

namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " description TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";

std::string label(const Migration& m) {
  char number[16];
  std::snprintf(number, sizeof number, "%03d", m.version);
  return std::string(number) + "_" + std::string(m.description);
}

void check_order(const std::vector<Migration>& migrations) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      throw Error(ErrorCode::internal, "schema migrations " + label(migrations[i - 1]) + " and " +
                                           label(migrations[i]) + " are out of order or share a version number");
    }
  }
}

void apply_one(Connection& conn, const Migration& m) {
  conn.exec("BEGIN");
  try {
    conn.exec(m.sql);
    conn.execute("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                 {m.version, m.description, now_ms()});
    conn.exec("COMMIT");
  } catch (const std::exception& e) {
    try {
      conn.exec("ROLLBACK");
    } catch (...) {
      // The failure above is the one worth reporting.
    }
    throw Error(ErrorCode::internal, "schema migration " + label(m) + " failed and was rolled back: " + e.what());
  }
}

}  // namespace

int recorded_schema_version(Connection& conn) {
  conn.exec(kCreateTable);
  auto row = conn.query_one("SELECT MAX(version) AS version FROM schema_migrations");
  return row ? static_cast<int>(row->integer("version")) : 0;
}

int apply_migrations(Connection& conn, const std::vector<Migration>& migrations) {
  check_order(migrations);
  conn.exec(kCreateTable);

  std::set<int> applied;
  for (const Row& row : conn.query("SELECT version FROM schema_migrations")) {
    applied.insert(static_cast<int>(row.integer("version")));
  }
  const int known = migrations.empty() ? 0 : migrations.back().version;
  if (!applied.empty() && *applied.rbegin() > known) {
    throw Error(ErrorCode::conflict,
                "the database schema is at version " + std::to_string(*applied.rbegin()) +
                    " but this Switchboard build knows versions up to " + std::to_string(known) +
                    ": the database was written by a newer Switchboard. Run that version (or newer), or restore a "
                    "backup made for this one.");
  }

  // Every missing migration runs, including one older than the newest
  // applied (two branches merged): each is self-contained.
  for (const Migration& m : migrations) {
    if (applied.count(m.version)) continue;
    apply_one(conn, m);
    spdlog::info("database: applied schema migration {}", label(m));
  }
  return std::max(known, applied.empty() ? 0 : *applied.rbegin());
}

}  // namespace sb::store

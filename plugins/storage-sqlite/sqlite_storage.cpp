#include "sqlite_storage.hpp"

#include "sqlite_error.hpp"
#include "sqlite_statement.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <system_error>

namespace sb_sqlite {

namespace {

constexpr std::string_view kMemoryPath = ":memory:";

switchboard::Error bad_config(const std::string& message) {
  return switchboard::Error(SB_ERR_INVALID_ARGUMENT, "storage-sqlite config: " + message);
}

// SQLiteCpp reports failures as SQLite::Exception; the host wants statuses.
switchboard::Error translate(const SQLite::Exception& e, const std::string& context) {
  return make_error(e.getExtendedErrorCode(), context + ": " + e.what());
}

void create_parent_directory(const std::string& path) {
  if (path == kMemoryPath) return;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    throw switchboard::Error(SB_ERR_UNAVAILABLE,
                             "cannot create the database directory " + parent.string() + ": " + ec.message());
  }
}

}  // namespace

SqliteConfig SqliteConfig::parse(std::string_view config_json) {
  nlohmann::json j = nlohmann::json::parse(config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_config("expected a JSON object");
  SqliteConfig c;
  // The host validated the schema already; these checks keep the plugin
  // safe when driven by anything else.
  auto path = j.find("path");
  if (path == j.end() || !path->is_string() || path->get<std::string>().empty()) {
    throw bad_config("\"path\" (the database file) is required");
  }
  c.path = path->get<std::string>();
  if (auto it = j.find("busy_timeout_ms"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 600000) {
      throw bad_config("\"busy_timeout_ms\" must be an integer between 0 and 600000");
    }
    c.busy_timeout_ms = it->get<int>();
  }
  if (auto it = j.find("synchronous"); it != j.end()) {
    if (!it->is_string() || (*it != "NORMAL" && *it != "FULL")) {
      throw bad_config("\"synchronous\" must be NORMAL or FULL");
    }
    c.synchronous = it->get<std::string>();
  }
  if (auto it = j.find("cache_size_kib"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
      throw bad_config("\"cache_size_kib\" must be a positive integer");
    }
    c.cache_size_kib = it->get<int64_t>();
  }
  if (auto it = j.find("wal_checkpoint_pages"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 1000000) {
      throw bad_config("\"wal_checkpoint_pages\" must be an integer between 0 and 1000000");
    }
    c.wal_checkpoint_pages = it->get<int>();
  }
  return c;
}

SqliteStorage::SqliteStorage(switchboard::Host host, std::string_view config_json)
    : SqliteStorage(host, SqliteConfig::parse(config_json)) {}

SqliteStorage::SqliteStorage(switchboard::Host host, const SqliteConfig& config)
    : Storage(host), db_(open(config)) {
  configure(config);
}

SQLite::Database SqliteStorage::open(const SqliteConfig& config) {
  create_parent_directory(config.path);
  try {
    // NOMUTEX: the host never shares a connection between threads at once.
    return SQLite::Database(config.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
                            config.busy_timeout_ms);
  } catch (const SQLite::Exception& e) {
    throw translate(e, "cannot open database " + config.path);
  }
}

void SqliteStorage::configure(const SqliteConfig& config) {
  try {
    // WAL lets the readers work while the writer commits, and is persistent
    // in the file; an in-memory database reports "memory" and stays so.
    std::string mode = db_.execAndGet("PRAGMA journal_mode=WAL").getString();
    if (mode != "wal" && config.path != kMemoryPath) {
      throw switchboard::Error(SB_ERR_UNAVAILABLE,
                               "database " + config.path + " could not switch to WAL mode (it reports \"" + mode + "\")");
    }
    db_.exec("PRAGMA synchronous=" + config.synchronous);
    db_.exec("PRAGMA foreign_keys=ON");
    // The host runs each write job in a savepoint; SQLite journals the pages
    // a savepoint changes in a temporary file unless told to keep it in
    // memory, and those writes were a third of the writer's time.
    db_.exec("PRAGMA temp_store=MEMORY");
    // A negative cache_size is a size in KiB rather than in pages.
    db_.exec("PRAGMA cache_size=-" + std::to_string(config.cache_size_kib));
    if (config.wal_checkpoint_pages > 0 && config.path != kMemoryPath) {
      checkpointer_ = WalCheckpointer::for_path(config.path, config.wal_checkpoint_pages);
      checkpointer_->attach(db_.getHandle());
    }
  } catch (const SQLite::Exception& e) {
    throw translate(e, "configuring database " + config.path);
  }
  host().debug("opened " + config.path + " (WAL, synchronous=" + config.synchronous + ")");
}

void SqliteStorage::exec(std::string_view sql) {
  try {
    db_.exec(std::string(sql));
  } catch (const SQLite::Exception& e) {
    throw make_error(e.getExtendedErrorCode(), std::string(e.what()) + " in: " + excerpt(sql));
  }
}

std::unique_ptr<switchboard::Statement> SqliteStorage::prepare(std::string_view sql) {
  return std::make_unique<SqliteStatement>(db_.getHandle(), sql);
}

int64_t SqliteStorage::changes() { return sqlite3_changes64(db_.getHandle()); }

int64_t SqliteStorage::last_insert_id() { return db_.getLastInsertRowid(); }

}  // namespace sb_sqlite

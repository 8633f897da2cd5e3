#pragma once
// One SQLite connection behind the SDK's Storage interface: opened in WAL
// mode (readers never block the writer), with a busy timeout and foreign
// keys enforced.
//
// Threads: used by one thread at a time (the host gives each thread its own
// connection); its statements belong to the same thread.
#include <switchboard/plugin.hpp>

#include "wal_checkpointer.hpp"

#include <SQLiteCpp/Database.h>

#include <memory>

#include <string>
#include <string_view>

namespace sb_sqlite {

// The instance config, as validated by the host against plugin.json.
struct SqliteConfig {
  std::string path;
  int busy_timeout_ms = 5000;
  std::string synchronous = "NORMAL";  // NORMAL | FULL
  int64_t cache_size_kib = 16384;
  int wal_checkpoint_pages = 4000;  // 0: SQLite checkpoints inside commits

  // Throws switchboard::Error(SB_ERR_INVALID_ARGUMENT) naming the bad key.
  static SqliteConfig parse(std::string_view config_json);
};

class SqliteStorage final : public switchboard::Storage {
 public:
  SqliteStorage(switchboard::Host host, std::string_view config_json);

  void exec(std::string_view sql) override;
  std::unique_ptr<switchboard::Statement> prepare(std::string_view sql) override;
  int64_t changes() override;
  int64_t last_insert_id() override;
  std::string_view dialect() override { return "sqlite"; }

 private:
  SqliteStorage(switchboard::Host host, const SqliteConfig& config);
  static SQLite::Database open(const SqliteConfig& config);
  void configure(const SqliteConfig& config);

  // Declared before db_: the connection closes before its checkpointer stops.
  std::shared_ptr<WalCheckpointer> checkpointer_;
  SQLite::Database db_;
};

}  // namespace sb_sqlite

#pragma once
// A host for tests over a real database (store, flows, ...): the real
// storage-sqlite plugin loaded from the build tree, and a fresh directory
// for database files. Members are destroyed in reverse order (registry
// before scheduler); a test destroys its Database before the fixture goes.
#include "core/scheduler.hpp"
#include "plugins/host_services.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"
#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace sb::test {

struct StoreTestHost {
  StoreTestHost() { registry.discover({SB_PLUGIN_DIR}); }

  // The database file lives in a subdirectory the plugin has to create.
  std::string db_path(const std::string& name = "switchboard.db") const { return (dir / "data" / name).string(); }

  store::DatabaseOptions options(const std::string& name = "switchboard.db") const {
    store::DatabaseOptions o;
    o.config = {{"path", db_path(name)}};
    o.readers = 2;
    return o;
  }

  std::unique_ptr<store::Database> open(const std::string& name = "switchboard.db") {
    return store::Database::open(registry, options(name));
  }

  // A bare connection, for tests below the Database (migrations, plugin).
  std::unique_ptr<store::Connection> connect(const std::string& name = "switchboard.db") {
    return std::make_unique<store::Connection>(
        registry.create_storage("storage-sqlite", "test", {{"path", db_path(name)}}));
  }

  TempDir dir{"sb-store"};
  Scheduler scheduler{1};
  plugins::HostServices services{scheduler};
  plugins::PluginRegistry registry{services};
};

}  // namespace sb::test

// storage-sqlite: the exported entry points (see sqlite_storage.hpp).
#include "sqlite_storage.hpp"

SWITCHBOARD_STORAGE_PLUGIN(sb_sqlite::SqliteStorage, "storage-sqlite", "1.0.0")

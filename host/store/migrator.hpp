#pragma once
// Brings a database's schema up to date: every migration not yet recorded in
// schema_migrations runs in its own transaction together with its record,
// so a crash leaves each migration either fully applied or not at all.
//
// Threads: runs on whichever thread owns `conn` (Database::open runs it on
// the writer connection before the writer thread starts).
#include "store/database.hpp"
#include "store/migration.hpp"

#include <vector>

namespace sb::store {

// The highest version recorded in schema_migrations, 0 for none (also
// when the table does not exist yet).
int recorded_schema_version(Connection& conn);

// Applies the migrations `conn`'s database lacks, in ascending version
// order; returns the schema version afterwards. Throws sb::Error:
//  - conflict, when the database already has a version newer than any in
//    `migrations` (it was written by a newer Switchboard; running an older
//    binary on it could corrupt data), before changing anything;
//  - internal, naming the migration, when one fails (it is rolled back;
//    those before it stay applied).
int apply_migrations(Connection& conn, const std::vector<Migration>& migrations);

}  // namespace sb::store

// The storage-sqlite plugin as the host sees it: through the registry and a
// store::Connection.
#include "support/error_code.hpp"
#include "core/error.hpp"
#include "plugins/plugin_error.hpp"
#include "support/store_test_host.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

using sb::ErrorCode;
using sb::test::code_of;
using sb::store::Connection;


TEST_CASE("storage-sqlite opens its file in WAL mode with foreign keys on, creating the directory",
          "[store][sqlite]") {
  sb::test::StoreTestHost host;
  REQUIRE_FALSE(std::filesystem::exists(host.dir / "data"));
  auto conn = host.connect();

  CHECK(std::filesystem::exists(host.db_path()));
  CHECK(conn->query_one("PRAGMA journal_mode")->text("journal_mode") == "wal");
  CHECK(conn->query_one("PRAGMA foreign_keys")->integer("foreign_keys") == 1);
  CHECK(conn->query_one("PRAGMA busy_timeout")->integer("timeout") == 5000);
  CHECK(conn->dialect() == "sqlite");
}

TEST_CASE("storage-sqlite applies the tuning the config asks for", "[store][sqlite]") {
  sb::test::StoreTestHost host;
  Connection conn(host.registry.create_storage(
      "storage-sqlite", "tuned",
      {{"path", host.db_path()}, {"busy_timeout_ms", 250}, {"synchronous", "FULL"}, {"cache_size_kib", 2048}}));
  CHECK(conn.query_one("PRAGMA busy_timeout")->integer("timeout") == 250);
  CHECK(conn.query_one("PRAGMA synchronous")->integer("synchronous") == 2);  // FULL
  CHECK(conn.query_one("PRAGMA cache_size")->integer("cache_size") == -2048);
}

TEST_CASE("a storage config that fails the plugin's schema is refused before the plugin runs", "[store][sqlite]") {
  sb::test::StoreTestHost host;
  CHECK(code_of([&] {
          host.registry.create_storage("storage-sqlite", "bad", {{"path", host.db_path()}, {"journal", "off"}});
        }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { host.registry.create_storage("storage-sqlite", "bad", nlohmann::json::object()); }) ==
        ErrorCode::invalid_argument);
  CHECK(code_of([&] {
          host.registry.create_storage("storage-sqlite", "bad", {{"path", host.db_path()}, {"synchronous", "OFF"}});
        }) == ErrorCode::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(host.db_path()));

  auto options = host.options();
  options.config["unknown_key"] = 1;
  CHECK(code_of([&] { sb::store::Database::open(host.registry, options); }) == ErrorCode::invalid_argument);
}

TEST_CASE("a duplicate key comes back as a conflict carrying SQLite's message", "[store][sqlite]") {
  sb::test::StoreTestHost host;
  auto conn = host.connect();
  conn->exec("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)");
  conn->execute("INSERT INTO t (id, n) VALUES (?, ?)", {"a", 1});
  try {
    conn->execute("INSERT INTO t (id, n) VALUES (?, ?)", {"a", 2});
    FAIL("the duplicate insert succeeded");
  } catch (const sb::plugins::PluginError& e) {
    CHECK(e.code() == ErrorCode::conflict);
    CHECK(e.status() == SB_ERR_CONFLICT);
    CHECK_THAT(e.what(), Catch::Contains("UNIQUE constraint failed: t.id"));
  }
  // The statement is usable again right after the failure.
  CHECK(conn->execute("INSERT INTO t (id, n) VALUES (?, ?)", {"b", 2}) == 1);
}

TEST_CASE("bad SQL and misuse are invalid arguments with SQLite's message", "[store][sqlite]") {
  sb::test::StoreTestHost host;
  auto conn = host.connect();
  try {
    conn->query("SELEC 1");
    FAIL("bad SQL was accepted");
  } catch (const sb::plugins::PluginError& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("syntax error"));
  }
  CHECK(code_of([&] { conn->query("SELECT * FROM no_such_table"); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { conn->query("SELECT ?", {1, 2}); }) == ErrorCode::invalid_argument);  // no parameter 2
  CHECK(code_of([&] { conn->exec("CREATE TABLE"); }) == ErrorCode::invalid_argument);
}

TEST_CASE("prepare refuses SQL holding a second statement, which would never run", "[store][sqlite]") {
  sb::test::StoreTestHost host;
  auto conn = host.connect();
  conn->exec("CREATE TABLE t (n INTEGER)");
  CHECK(code_of([&] { conn->execute("INSERT INTO t VALUES (1); DELETE FROM t"); }) == ErrorCode::invalid_argument);
  // Trailing blanks, semicolons and comments are fine.
  CHECK(conn->execute("INSERT INTO t VALUES (1);  -- one row\n") == 1);
  CHECK(conn->query_one("SELECT COUNT(*) AS n FROM t")->integer("n") == 1);
}

TEST_CASE("a NOT NULL violation is bad input, not a conflict", "[store][sqlite]") {
  sb::test::StoreTestHost host;
  auto conn = host.connect();
  conn->exec("CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL)");
  CHECK(code_of([&] { conn->execute("INSERT INTO t VALUES (?, ?)", {"a", nullptr}); }) ==
        ErrorCode::invalid_argument);
}

TEST_CASE("values of every type survive the trip through the plugin", "[store][sqlite]") {
  sb::test::StoreTestHost host;
  auto conn = host.connect();
  conn->exec("CREATE TABLE v (i INTEGER, r REAL, t TEXT, b BLOB, z TEXT, e TEXT, eb BLOB)");
  const std::string binary("\0\x01\xff tail", 8);
  conn->execute("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?)",
                {int64_t{9007199254740993}, 2.5, "héllo", sb::store::Blob{binary}, nullptr, "", sb::store::Blob{}});
  auto row = conn->query_one("SELECT * FROM v");
  REQUIRE(row);
  CHECK(row->integer("i") == 9007199254740993);
  CHECK(row->real("r") == 2.5);
  CHECK(row->text("t") == "héllo");
  CHECK(std::get<sb::store::Blob>(row->at("b")).bytes == binary);
  CHECK(row->is_null("z"));
  CHECK_FALSE(row->optional_text("z"));
  CHECK(row->optional_text("e") == std::string());  // an empty string is not NULL
  CHECK_FALSE(row->is_null("eb"));                  // nor is an empty blob
  CHECK(row->text("z").empty());
  CHECK(row->integer("z") == 0);
  CHECK(row->json("z").is_null());
  CHECK_THROWS_AS(row->at("missing"), sb::Error);
}

TEST_CASE("the statement cache stays bounded and keeps working past its size", "[store][sqlite]") {
  sb::test::StoreTestHost host;
  auto conn = host.connect();
  for (int i = 0; i < 600; ++i) {
    auto row = conn->query_one("SELECT " + std::to_string(i) + " AS n");
    REQUIRE(row->integer("n") == i);
  }
  CHECK(conn->query_one("SELECT 1 AS n")->integer("n") == 1);
}

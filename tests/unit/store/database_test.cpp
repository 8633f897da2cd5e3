// The database facade: migrations, the group-commit writer and the readers.
#include "core/error.hpp"
#include "store/migration.hpp"
#include "store/migrator.hpp"
#include "support/store_test_host.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using sb::ErrorCode;
using sb::store::Connection;
using sb::store::Database;
using namespace std::chrono_literals;

namespace {

// Long enough for threads started just before to have queued their writes.
// Waits until `n` write jobs wait for the (gated) writer, however slowly
// their threads start on a loaded machine.
void wait_until_queued(Database& db, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (db.queued_writes() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(db.queued_writes() == n);
}

void create_items_table(Database& db) {
  db.write([](Connection& c) { c.exec("CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL)"); });
}

int64_t count_items(Database& db) {
  return db.read([](Connection& c) { return c.query_one("SELECT COUNT(*) AS n FROM items")->integer("n"); });
}

bool item_exists(Database& db, const std::string& id) {
  return db.read([&](Connection& c) { return c.query_one("SELECT id FROM items WHERE id = ?", {id}).has_value(); });
}

// Holds the writer thread inside a job until release(), so that the writes
// queued meanwhile form the next group together.
class WriterGate {
 public:
  explicit WriterGate(Database& db) {
    done_ = std::async(std::launch::async, [&db, opened = opened_.get_future().share(), this]() mutable {
      db.write([&](Connection&) {
        entered_.set_value();
        opened.wait();
      });
    });
    entered_.get_future().wait();
  }
  void release() {
    opened_.set_value();
    done_.get();
  }

 private:
  std::promise<void> entered_;
  std::promise<void> opened_;
  std::future<void> done_;
};

}  // namespace

TEST_CASE("migrations are applied once and reopening is a no-op", "[store][database]") {
  sb::test::StoreTestHost host;
  const auto& migrations = sb::store::embedded_migrations();
  REQUIRE_FALSE(migrations.empty());
  CHECK(migrations.front().version == 1);

  std::vector<int64_t> applied_at;
  {
    auto db = host.open();
    CHECK(db->schema_version() == migrations.back().version);
    auto rows = db->read([](Connection& c) { return c.query("SELECT version, applied_at FROM schema_migrations ORDER BY version"); });
    REQUIRE(rows.size() == migrations.size());
    for (const auto& r : rows) applied_at.push_back(r.integer("applied_at"));
    // 001_core's tables exist.
    db->read([](Connection& c) {
      for (const char* table : {"organizations", "workspaces", "profiles", "plugin_state"}) {
        CHECK_NOTHROW(c.query(std::string("SELECT * FROM ") + table));
      }
    });
  }
  auto db = host.open();
  auto rows = db->read([](Connection& c) { return c.query("SELECT version, applied_at FROM schema_migrations ORDER BY version"); });
  REQUIRE(rows.size() == applied_at.size());
  for (size_t i = 0; i < rows.size(); ++i) CHECK(rows[i].integer("applied_at") == applied_at[i]);
  CHECK(db->schema_version() == migrations.back().version);
}

TEST_CASE("a database written by a newer Switchboard is refused untouched", "[store][database]") {
  sb::test::StoreTestHost host;
  {
    auto db = host.open();
    db->write([](Connection& c) {
      c.execute("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                {9999, "from the future", 0});
    });
  }
  try {
    host.open();
    FAIL("the newer database was opened");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::conflict);
    CHECK_THAT(e.what(), Catch::Contains("9999") && Catch::Contains("newer"));
  }
}

TEST_CASE("a failing migration is rolled back and named; the ones before it stay", "[store][database]") {
  sb::test::StoreTestHost host;
  auto conn = host.connect();
  const std::vector<sb::store::Migration> migrations = {
      {1, "first", "CREATE TABLE a (n INTEGER);"},
      {2, "broken", "CREATE TABLE b (n INTEGER); INSERT INTO nowhere VALUES (1);"},
  };
  try {
    sb::store::apply_migrations(*conn, migrations);
    FAIL("the broken migration succeeded");
  } catch (const sb::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("002_broken"));
  }
  CHECK(sb::store::recorded_schema_version(*conn) == 1);
  CHECK_NOTHROW(conn->query("SELECT * FROM a"));
  CHECK_THROWS(conn->query("SELECT * FROM b"));  // rolled back with its migration

  // Fixed, it applies on the next start; the first is not run again.
  const std::vector<sb::store::Migration> fixed = {
      {1, "first", "CREATE TABLE a (n INTEGER);"},
      {2, "fixed", "CREATE TABLE b (n INTEGER);"},
  };
  CHECK(sb::store::apply_migrations(*conn, fixed) == 2);
  CHECK_NOTHROW(conn->query("SELECT * FROM b"));
}

TEST_CASE("write returns the job's result once committed, and readers see it", "[store][database]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  create_items_table(*db);
  int64_t changed = db->write([](Connection& c) { return c.execute("INSERT INTO items VALUES (?, ?)", {"a", 1}); });
  CHECK(changed == 1);
  CHECK(item_exists(*db, "a"));
  CHECK(db->ping());
  CHECK(db->dialect() == "sqlite");
}

TEST_CASE("a job that throws leaves nothing behind and its exception reaches the caller", "[store][database]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  create_items_table(*db);
  CHECK_THROWS_WITH(db->write([](Connection& c) {
    c.execute("INSERT INTO items VALUES (?, ?)", {"ghost", 1});
    throw std::runtime_error("changed my mind");
  }),
                    "changed my mind");
  CHECK_FALSE(item_exists(*db, "ghost"));
  // The writer goes on.
  db->write([](Connection& c) { c.execute("INSERT INTO items VALUES (?, ?)", {"real", 1}); });
  CHECK(count_items(*db) == 1);
}

TEST_CASE("a unique violation fails only its own job, not the others of its group", "[store][database]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  create_items_table(*db);
  db->write([](Connection& c) { c.execute("INSERT INTO items VALUES (?, ?)", {"taken", 0}); });

  WriterGate gate(*db);
  auto insert = [&](std::string id) {
    return std::async(std::launch::async, [&db, id] {
      return db->write([&](Connection& c) {
        c.execute("INSERT INTO items VALUES (?, ?)", {id, 1});
        return db->write_stats().commits;  // the same for every job of one group
      });
    });
  };
  auto before = insert("before");
  auto duplicate = insert("taken");
  auto after = insert("after");
  wait_until_queued(*db, 3);
  gate.release();

  const uint64_t group = before.get();
  try {
    duplicate.get();
    FAIL("the duplicate was accepted");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::conflict);
  }
  CHECK(after.get() == group);
  CHECK(item_exists(*db, "before"));
  CHECK(item_exists(*db, "after"));
  CHECK(db->read([](Connection& c) { return c.query_one("SELECT n FROM items WHERE id = 'taken'")->integer("n"); }) ==
        0);
}

TEST_CASE("when a group's COMMIT fails, every job of the group fails and nothing is kept", "[store][database]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  create_items_table(*db);
  // A deferred foreign key is checked only at COMMIT.
  db->write([](Connection& c) {
    c.exec("CREATE TABLE parents (id TEXT PRIMARY KEY);"
           "CREATE TABLE children (id TEXT PRIMARY KEY,"
           " parent_id TEXT REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)");
  });

  WriterGate gate(*db);
  auto innocent = std::async(std::launch::async, [&] {
    db->write([](Connection& c) { c.execute("INSERT INTO items VALUES (?, ?)", {"innocent", 1}); });
  });
  auto orphan = std::async(std::launch::async, [&] {
    db->write([](Connection& c) { c.execute("INSERT INTO children VALUES (?, ?)", {"orphan", "nobody"}); });
  });
  wait_until_queued(*db, 2);
  const auto failed_before = db->write_stats().failed_commits;
  gate.release();

  CHECK_THROWS_AS(orphan.get(), sb::Error);
  CHECK_THROWS_AS(innocent.get(), sb::Error);
  CHECK(db->write_stats().failed_commits == failed_before + 1);
  CHECK_FALSE(item_exists(*db, "innocent"));
  // The writer recovers for the next group.
  db->write([](Connection& c) { c.execute("INSERT INTO items VALUES (?, ?)", {"later", 1}); });
  CHECK(item_exists(*db, "later"));
}

TEST_CASE("many concurrent writers are all committed, in far fewer commits than writes", "[store][database]") {
  constexpr int kThreads = 8;
  constexpr int kWritesPerThread = 500;
  sb::test::StoreTestHost host;
  auto db = host.open();
  create_items_table(*db);
  const auto before = db->write_stats();

  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        try {
          db->write([&](Connection& c) {
            c.execute("INSERT INTO items VALUES (?, ?)", {"t" + std::to_string(t) + "-" + std::to_string(i), i});
          });
        } catch (...) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  const auto after = db->write_stats();
  CHECK(failures == 0);
  CHECK(count_items(*db) == kThreads * kWritesPerThread);
  CHECK(after.jobs - before.jobs == kThreads * kWritesPerThread);
  const auto commits = after.commits - before.commits;
  INFO("commits: " << commits << ", largest group: " << after.largest_group);
  CHECK(commits < static_cast<uint64_t>(kThreads * kWritesPerThread) / 2);
  CHECK(after.largest_group > 1);
}

TEST_CASE("writes queued while the writer is busy are committed together, at most max_batch at a time",
          "[store][database]") {
  sb::test::StoreTestHost host;
  auto options = host.options();
  options.max_batch = 4;
  auto db = Database::open(host.registry, options);
  create_items_table(*db);

  WriterGate gate(*db);
  const auto before = db->write_stats();
  std::vector<std::future<void>> writes;
  for (int i = 0; i < 12; ++i) {
    writes.push_back(std::async(std::launch::async, [&db, i] {
      db->write([i](Connection& c) { c.execute("INSERT INTO items VALUES (?, ?)", {std::to_string(i), i}); });
    }));
  }
  wait_until_queued(*db, 12);
  gate.release();
  for (auto& w : writes) w.get();

  const auto after = db->write_stats();
  CHECK(count_items(*db) == 12);
  CHECK(after.largest_group == 4);
  CHECK(after.commits - before.commits >= 1 + 3);  // the gate, then groups of 4
  CHECK(after.commits - before.commits <= 1 + 4);
}

TEST_CASE("readers are not blocked by an open write and never see it uncommitted", "[store][database]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  create_items_table(*db);

  std::promise<void> inserted, go_on;
  auto writer = std::async(std::launch::async, [&] {
    db->write([&](Connection& c) {
      c.execute("INSERT INTO items VALUES (?, ?)", {"pending", 1});
      inserted.set_value();
      go_on.get_future().wait();
    });
  });
  inserted.get_future().wait();
  CHECK_FALSE(item_exists(*db, "pending"));
  go_on.set_value();
  writer.get();
  CHECK(item_exists(*db, "pending"));
}

TEST_CASE("data survives closing and reopening the database", "[store][database]") {
  sb::test::StoreTestHost host;
  {
    auto db = host.open();
    create_items_table(*db);
    for (int i = 0; i < 10; ++i) {
      db->write([i](Connection& c) { c.execute("INSERT INTO items VALUES (?, ?)", {std::to_string(i), i}); });
    }
  }
  auto db = host.open();
  CHECK(count_items(*db) == 10);
  CHECK(db->read([](Connection& c) { return c.query_one("SELECT SUM(n) AS s FROM items")->integer("s"); }) == 45);
}

TEST_CASE("a write job may not start another write (it would wait for itself)", "[store][database]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  try {
    db->write([&](Connection&) { db->write([](Connection&) {}); });
    FAIL("the nested write was accepted");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::internal);
  }
  CHECK_NOTHROW(db->write([](Connection&) {}));
}

TEST_CASE("more concurrent reads than reader connections wait their turn", "[store][database]") {
  sb::test::StoreTestHost host;
  auto db = host.open();  // two readers
  create_items_table(*db);
  db->write([](Connection& c) { c.execute("INSERT INTO items VALUES (?, ?)", {"x", 7}); });
  std::vector<std::future<int64_t>> reads;
  for (int i = 0; i < 16; ++i) {
    reads.push_back(std::async(std::launch::async, [&] {
      return db->read([](Connection& c) {
        std::this_thread::sleep_for(5ms);
        return c.query_one("SELECT n FROM items WHERE id = 'x'")->integer("n");
      });
    }));
  }
  for (auto& r : reads) CHECK(r.get() == 7);
}

TEST_CASE("a released reader goes to the thread that has waited longest, not back to the one that let go",
          "[store][database]") {
  sb::test::StoreTestHost host;
  auto options = host.options();
  options.readers = 1;
  auto db = sb::store::Database::open(host.registry, options);
  std::mutex mu;
  std::vector<int> order;
  auto record = [&](int who) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(who);
  };
  std::promise<void> holding, go;
  auto released = go.get_future().share();
  // The holder keeps the only reader until told, then at once asks again.
  auto holder = std::async(std::launch::async, [&] {
    db->read([&](Connection&) {
      holding.set_value();
      released.wait();
    });
    db->read([&](Connection&) { record(99); });
  });
  holding.get_future().wait();
  std::vector<std::future<void>> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.push_back(std::async(std::launch::async, [&, i] { db->read([&, i](Connection&) { record(i); }); }));
    std::this_thread::sleep_for(30ms);  // each queues well after the one before
  }
  go.set_value();
  holder.get();
  for (auto& w : waiters) w.get();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 99});
}

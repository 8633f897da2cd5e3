#pragma once
// The database facade over the storage plugin (a small SQL driver ABI), so
// that services never see SQLite or PostgreSQL.
//
// Writes go through one writer connection owned by one writer thread, which
// takes every write job waiting, runs each in its own SAVEPOINT inside one
// transaction, and commits the group once: throughput is not one fsync per
// message. write() returns only after the group holding the job committed,
// so a caller that acknowledges after write() never acknowledges something
// a crash can lose. A job that throws rolls back its own savepoint only; the
// exception reaches its caller. Reads run on a pool of reader connections.
//
// Threads: the writer connection is touched only by the writer thread; each
// reader connection by one thread at a time (the pool hands them out).
#include "plugins/registry.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

namespace sb::store {

struct Blob {
  std::string bytes;
};

// A bound parameter or a column value.
using Value = std::variant<std::nullptr_t, int64_t, double, std::string, Blob>;

// A parameter list: db.query("... WHERE id = ? AND n > ?", {id, 3}).
class Param {
 public:
  Param(std::nullptr_t) : v_(nullptr) {}
  Param(int v) : v_(int64_t{v}) {}
  Param(long v) : v_(int64_t{v}) {}
  Param(long long v) : v_(int64_t{v}) {}
  Param(unsigned v) : v_(int64_t{v}) {}
  Param(unsigned long v) : v_(static_cast<int64_t>(v)) {}
  Param(unsigned long long v) : v_(static_cast<int64_t>(v)) {}
  Param(bool v) : v_(int64_t{v ? 1 : 0}) {}
  Param(double v) : v_(v) {}
  Param(const char* v) : v_(std::string(v)) {}
  Param(std::string_view v) : v_(std::string(v)) {}
  Param(const std::string& v) : v_(v) {}
  Param(std::string&& v) : v_(std::move(v)) {}
  Param(Blob v) : v_(std::move(v)) {}
  template <class T>
  Param(const std::optional<T>& v) : v_(nullptr) {
    if (v) *this = Param(*v);
  }
  const Value& value() const { return v_; }

 private:
  Value v_;
};
using Params = std::vector<Param>;

// One result row, with columns by index or name.
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> names, std::vector<Value> values)
      : names_(std::move(names)), values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  const Value& at(size_t index) const;
  const Value& at(std::string_view name) const;  // throws sb::Error(internal) if absent
  bool is_null(std::string_view name) const;

  // Typed reads; NULL reads as 0 / "" / nullopt.
  int64_t integer(std::string_view name) const;
  double real(std::string_view name) const;
  std::string text(std::string_view name) const;
  std::optional<std::string> optional_text(std::string_view name) const;
  std::optional<int64_t> optional_integer(std::string_view name) const;
  // The column's text parsed as JSON (NULL -> null).
  nlohmann::json json(std::string_view name) const;

 private:
  std::shared_ptr<const std::vector<std::string>> names_;
  std::vector<Value> values_;
};

// One connection with a prepared-statement cache. Used by one thread at a
// time (the writer thread, or the holder of a pooled reader).
class Connection {
 public:
  explicit Connection(std::unique_ptr<plugins::StorageConnection> conn);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL without parameters or results (may hold several statements).
  void exec(std::string_view sql);
  // Runs one statement; returns the rows it produced.
  std::vector<Row> query(std::string_view sql, const Params& params = {});
  std::optional<Row> query_one(std::string_view sql, const Params& params = {});
  // Runs one statement; returns the number of rows changed.
  int64_t execute(std::string_view sql, const Params& params = {});
  int64_t last_insert_id();
  std::string dialect();

 private:
  struct Statement;
  Statement& prepared(std::string_view sql);
  // Throws the plugin's error (a plugins::PluginError) unless `status` is SB_OK.
  void check(sb_status status, std::string_view what) const;
  void bind(Statement& stmt, const Params& params);
  // Rewinds `stmt` so it holds no read snapshot or lock between uses.
  void rewind(Statement& stmt) noexcept;
  Row read_row(Statement& stmt);
  void evict_least_recently_used();

  std::unique_ptr<plugins::StorageConnection> conn_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
  uint64_t use_clock_ = 0;  // orders cache entries by last use
};

struct DatabaseOptions {
  std::string plugin_id = "storage-sqlite";
  nlohmann::json config = nlohmann::json::object();  // the storage plugin's config, e.g. {"path": ...}
  unsigned readers = 4;
  size_t max_batch = 512;  // write jobs per group commit at most
};

class Database {
 public:
  // Opens the writer and the readers through the storage plugin, and brings
  // the schema up to date with embedded_migrations() (in one transaction per
  // migration, recorded in schema_migrations).
  static std::unique_ptr<Database> open(plugins::PluginRegistry& registry, const DatabaseOptions& options);
  ~Database();  // finishes queued writes, then closes

  // Runs `fn(Connection&)` on the writer thread inside the group transaction
  // and returns its result once the group has committed. Rethrows what `fn`
  // threw (only its savepoint is rolled back) or an sb::Error if the commit
  // failed. Must not be called from inside another write job.
  template <class Fn>
  auto write(Fn&& fn) -> std::invoke_result_t<Fn&, Connection&> {
    using R = std::invoke_result_t<Fn&, Connection&>;
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    enqueue([fn = std::forward<Fn>(fn), promise](Connection& c) mutable -> std::function<void()> {
      if constexpr (std::is_void_v<R>) {
        fn(c);
        return [promise] { promise->set_value(); };
      } else {
        auto result = std::make_shared<R>(fn(c));
        return [promise, result] { promise->set_value(std::move(*result)); };
      }
    }, [promise](std::exception_ptr e) { promise->set_exception(e); });
    return future.get();
  }

  // Runs `fn(Connection&)` on the writer thread like write(), without
  // waiting: `done(nullptr)` is called once the group committed, or
  // `done(error)` when `fn` threw or the commit failed. `done` runs on the
  // writer thread, so it must be quick and must not call write().
  void write_async(std::function<void(Connection&)> fn, std::function<void(std::exception_ptr)> done) {
    auto shared_done = std::make_shared<std::function<void(std::exception_ptr)>>(std::move(done));
    enqueue([fn = std::move(fn), shared_done](Connection& c) -> std::function<void()> {
      fn(c);
      return [shared_done] { (*shared_done)(nullptr); };
    }, [shared_done](std::exception_ptr e) { (*shared_done)(e); });
  }

  // Runs `fn(Connection&)` on a pooled reader connection on this thread;
  // waits while every reader is in use. A reader sees committed data only:
  // inside a write job, read through the job's Connection instead.
  template <class Fn>
  auto read(Fn&& fn) -> std::invoke_result_t<Fn&, Connection&> {
    auto lease = acquire_reader();
    return fn(*lease.conn);
  }

  // True when the database answers a trivial query.
  bool ping();
  int schema_version();
  std::string dialect();

  // What the writer thread has done so far: `jobs` write jobs ran in
  // `commits` committed groups (jobs / commits is the mean group size).
  struct WriteStats {
    uint64_t jobs = 0;
    uint64_t commits = 0;
    uint64_t failed_commits = 0;  // groups whose COMMIT failed (every job of them failed)
    uint64_t largest_group = 0;
  };
  WriteStats write_stats() const;
  // Write jobs waiting for the writer thread right now.
  size_t queued_writes() const;

 private:
  // A write job runs on the writer thread and returns what to do after
  // commit; `fail` is called instead if the job or the commit failed.
  using Job = std::function<std::function<void()>(Connection&)>;
  using Fail = std::function<void(std::exception_ptr)>;
  void enqueue(Job job, Fail fail);

  struct Lease {
    Database* db;
    Connection* conn;
    ~Lease();
  };
  Lease acquire_reader();

  Database() = default;
  void migrate();

  DatabaseOptions options_;
  std::unique_ptr<Connection> writer_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::vector<Connection*> idle_readers_;
  struct ReaderWaiter {
    Connection* conn = nullptr;  // set by the releasing thread
    std::condition_variable cv;
  };
  std::deque<ReaderWaiter*> reader_waiters_;  // oldest first; each lives on its waiting thread's stack
  std::mutex readers_mu_;  // guards idle_readers_ and reader_waiters_

  struct Pending {
    Job job;
    Fail fail;
  };
  void writer_loop();
  // Runs `batch` as one transaction and settles every job it ran. Returns
  // the jobs it did not get to because the transaction broke under them;
  // they have not run and go into the next group.
  std::vector<Pending> run_group(std::vector<Pending> batch);
  std::string dialect_;  // read once at open(): the writer belongs to its thread
  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread writer_thread_;

  // Written by the writer thread only; read by anyone.
  std::atomic<uint64_t> stat_jobs_{0};
  std::atomic<uint64_t> stat_commits_{0};
  std::atomic<uint64_t> stat_failed_commits_{0};
  std::atomic<uint64_t> stat_largest_group_{0};
};

}  // namespace sb::store

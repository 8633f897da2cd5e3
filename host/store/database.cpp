#include "store/database.hpp"

#include "core/error.hpp"
#include "store/migrator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sb::store {

namespace {

// One name serves every job: savepoints nest, but a job's savepoint is
// always released (or rolled back to and released) before the next begins.
// Run through the statement cache (execute, not exec): the writer runs
// these around every job, and parsing them each time showed in profiles.
constexpr std::string_view kSavepoint = "SAVEPOINT sb_write_job";
constexpr std::string_view kRelease = "RELEASE SAVEPOINT sb_write_job";
constexpr std::string_view kRollbackTo = "ROLLBACK TO SAVEPOINT sb_write_job";

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown error";
  }
}

// Settles a job's caller. Promises cannot throw here in practice, but the
// writer thread must survive anything a caller's callback does.
void settle(const std::function<void()>& fn) noexcept {
  try {
    if (fn) fn();
  } catch (...) {
    spdlog::error("database: settling a write job threw; the caller may not be told");
  }
}

void settle_failure(const std::function<void(std::exception_ptr)>& fail, std::exception_ptr e) noexcept {
  try {
    if (fail) fail(std::move(e));
  } catch (...) {
    spdlog::error("database: failing a write job threw; the caller may not be told");
  }
}

void try_rollback(Connection& conn) noexcept {
  try {
    conn.exec("ROLLBACK");
  } catch (...) {
    // Nothing to do: either no transaction is left, or the connection is
    // broken and the next BEGIN reports it.
  }
}

}  // namespace

std::unique_ptr<Database> Database::open(plugins::PluginRegistry& registry, const DatabaseOptions& options) {
  std::unique_ptr<Database> db(new Database());
  db->options_ = options;
  db->options_.readers = std::max(1u, options.readers);
  db->options_.max_batch = std::max<size_t>(1, options.max_batch);

  db->writer_ = std::make_unique<Connection>(registry.create_storage(options.plugin_id, "db-writer", options.config));
  db->dialect_ = db->writer_->dialect();
  // Before the writer thread exists, so this thread may use the writer.
  db->migrate();

  for (unsigned i = 1; i <= db->options_.readers; ++i) {
    db->readers_.push_back(std::make_unique<Connection>(
        registry.create_storage(options.plugin_id, "db-reader-" + std::to_string(i), options.config)));
    db->idle_readers_.push_back(db->readers_.back().get());
  }
  db->writer_thread_ = std::thread([raw = db.get()] { raw->writer_loop(); });
  return db;
}

Database::~Database() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  readers_.clear();
  writer_.reset();
}

void Database::migrate() {
  const int version = apply_migrations(*writer_, embedded_migrations());
  spdlog::info("database: {} schema at version {}", dialect_, version);
}

void Database::enqueue(Job job, Fail fail) {
  // The writer thread waiting for its own job would wait forever.
  if (std::this_thread::get_id() == writer_thread_.get_id()) {
    throw Error(ErrorCode::internal,
                "Database::write was called from inside a write job; use the Connection the job was given");
  }
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) throw Error(ErrorCode::unavailable, "the database is shutting down");
    queue_.push_back(Pending{std::move(job), std::move(fail)});
  }
  queue_cv_.notify_one();
}

void Database::writer_loop() {
  std::vector<Pending> batch;
  for (;;) {
    if (batch.empty()) {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every queued write is done
      // Whatever arrived while the last group committed forms the next
      // group: the busier the writers, the bigger the groups.
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    batch = run_group(std::move(batch));
  }
}

std::vector<Database::Pending> Database::run_group(std::vector<Pending> batch) {
  Connection& conn = *writer_;
  try {
    conn.execute("BEGIN");
  } catch (...) {
    auto error = std::current_exception();
    stat_failed_commits_.fetch_add(1, std::memory_order_relaxed);
    for (auto& p : batch) settle_failure(p.fail, error);
    return {};
  }

  struct Outcome {
    std::function<void()> on_commit;
    std::exception_ptr error;
  };
  std::vector<Outcome> outcomes(batch.size());
  std::exception_ptr broken;  // the transaction itself failed under a job
  size_t ran = 0;
  while (ran < batch.size() && !broken) {
    Outcome& out = outcomes[ran];
    Pending& job = batch[ran];
    ++ran;
    try {
      conn.execute(kSavepoint);
    } catch (...) {
      out.error = broken = std::current_exception();
      break;
    }
    try {
      out.on_commit = job.job(conn);
      conn.execute(kRelease);
    } catch (...) {
      out.on_commit = nullptr;
      out.error = std::current_exception();
      try {
        conn.execute(kRollbackTo);
        conn.execute(kRelease);
      } catch (...) {
        // Some failures (SQLite: disk full, I/O error) roll back the whole
        // transaction, taking the savepoint and every job before with it.
        broken = std::current_exception();
      }
    }
  }

  std::exception_ptr group_error = broken;
  if (!group_error) {
    try {
      conn.execute("COMMIT");
    } catch (...) {
      group_error = std::current_exception();
    }
  }
  if (group_error) {
    try_rollback(conn);
    auto lost = std::make_exception_ptr(
        Error(ErrorCode::unavailable, "the write was not saved: its transaction failed (" + describe(group_error) + ")"));
    // Statistics first, so that a woken caller already sees them.
    stat_jobs_.fetch_add(ran, std::memory_order_relaxed);
    stat_failed_commits_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("database: a group of {} writes failed: {}", ran, describe(group_error));
    for (size_t i = 0; i < ran; ++i) settle_failure(batch[i].fail, outcomes[i].error ? outcomes[i].error : lost);
    // Jobs the broken transaction never reached have not run: retry them.
    return std::vector<Pending>(std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(ran)),
                                std::make_move_iterator(batch.end()));
  }

  // Committed: only now may callers learn their write is durable.
  stat_jobs_.fetch_add(ran, std::memory_order_relaxed);
  stat_commits_.fetch_add(1, std::memory_order_relaxed);
  if (ran > stat_largest_group_.load(std::memory_order_relaxed)) {
    stat_largest_group_.store(ran, std::memory_order_relaxed);
  }
  for (size_t i = 0; i < ran; ++i) {
    if (outcomes[i].error) {
      settle_failure(batch[i].fail, outcomes[i].error);
    } else {
      settle(outcomes[i].on_commit);
    }
  }
  return {};
}

size_t Database::queued_writes() const {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return queue_.size();
}

Database::WriteStats Database::write_stats() const {
  WriteStats s;
  s.jobs = stat_jobs_.load(std::memory_order_relaxed);
  s.commits = stat_commits_.load(std::memory_order_relaxed);
  s.failed_commits = stat_failed_commits_.load(std::memory_order_relaxed);
  s.largest_group = stat_largest_group_.load(std::memory_order_relaxed);
  return s;
}

Database::Lease Database::acquire_reader() {
  std::unique_lock<std::mutex> lock(readers_mu_);
  if (!idle_readers_.empty() && reader_waiters_.empty()) {
    Connection* conn = idle_readers_.back();
    idle_readers_.pop_back();
    return Lease{this, conn};
  }
  // First come, first served: a released reader is handed to the oldest
  // waiter, so a thread that just gave one back cannot take it again ahead
  // of threads already waiting (under load that made the slowest reads
  // wait many times longer than the rest).
  ReaderWaiter me;
  reader_waiters_.push_back(&me);
  me.cv.wait(lock, [&me] { return me.conn != nullptr; });
  return Lease{this, me.conn};
}

Database::Lease::~Lease() {
  std::lock_guard<std::mutex> lock(db->readers_mu_);
  if (!db->reader_waiters_.empty()) {
    ReaderWaiter* next = db->reader_waiters_.front();
    db->reader_waiters_.pop_front();
    next->conn = conn;
    next->cv.notify_one();  // under the lock: `next` lives until it has woken and returned
    return;
  }
  db->idle_readers_.push_back(conn);
}

bool Database::ping() {
  try {
    return read([](Connection& c) { return c.query_one("SELECT 1 AS ok").has_value(); });
  } catch (const std::exception& e) {
    spdlog::warn("database: ping failed: {}", e.what());
    return false;
  }
}

int Database::schema_version() {
  return read([](Connection& c) {
    auto row = c.query_one("SELECT MAX(version) AS version FROM schema_migrations");
    return row ? static_cast<int>(row->integer("version")) : 0;
  });
}

std::string Database::dialect() { return dialect_; }

}  // namespace sb::store

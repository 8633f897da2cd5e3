#include "wal_checkpointer.hpp"

#include <chrono>
#include <map>

namespace sb_sqlite {
namespace {

std::mutex g_registry_mu;
std::map<std::string, std::weak_ptr<WalCheckpointer>>& registry() {
  static std::map<std::string, std::weak_ptr<WalCheckpointer>> r;
  return r;
}

}  // namespace

std::shared_ptr<WalCheckpointer> WalCheckpointer::for_path(const std::string& path, int threshold_pages) {
  std::lock_guard lock(g_registry_mu);
  auto& r = registry();
  if (auto it = r.find(path); it != r.end()) {
    if (auto existing = it->second.lock()) return existing;
  }
  std::shared_ptr<WalCheckpointer> created(new WalCheckpointer(path, threshold_pages));
  r[path] = created;
  return created;
}

WalCheckpointer::WalCheckpointer(std::string path, int threshold_pages)
    : path_(std::move(path)), threshold_pages_(threshold_pages) {
  thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WalCheckpointer::attach(sqlite3* db) {
  sqlite3_wal_autocheckpoint(db, 0);
  sqlite3_wal_hook(db, &WalCheckpointer::on_commit, this);
}

int WalCheckpointer::on_commit(void* self, sqlite3*, const char*, int pages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (pages >= c->threshold_pages_) {
    {
      std::lock_guard lock(c->mu_);
      c->requested_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mu_);
  return checkpoints_;
}

void WalCheckpointer::run() {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    // Without its own connection it cannot help; SQLite's files stay
    // consistent, the log just grows until a connection closes.
    sqlite3_close(db);
    return;
  }
  sqlite3_busy_timeout(db, 1000);
  sqlite3_wal_autocheckpoint(db, 0);
  std::unique_lock lock(mu_);
  for (;;) {
    // Also wake now and then, so a log left large by a burst shrinks later.
    cv_.wait_for(lock, std::chrono::seconds(5), [this] { return requested_ || stopping_; });
    if (stopping_) break;
    requested_ = false;
    lock.unlock();
    int log_pages = 0, done_pages = 0;
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &done_pages);
    lock.lock();
    ++checkpoints_;
  }
  lock.unlock();
  sqlite3_close(db);
}

}  // namespace sb_sqlite

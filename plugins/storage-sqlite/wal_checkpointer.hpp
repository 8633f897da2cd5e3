#pragma once
// Checkpoints a WAL database on a background thread, so that no commit ever
// waits for one. SQLite's automatic checkpoint runs inside the commit that
// pushes the log past its limit, and that commit then waits for the copy and
// its fsync; under a steady write load this stalled the host's single writer
// several times a second.
//
// Every connection to the file turns the automatic checkpoint off and reports
// the log's size after each commit (sqlite3_wal_hook). Past `threshold_pages`
// the checkpointer thread, on a connection of its own, copies the log back
// with PASSIVE checkpoints, which never block writers or readers.
//
// Threads: the wal hook runs on whichever thread commits and only signals;
// the checkpoint runs on the checkpointer's own thread. One checkpointer per
// database file, shared by its connections and stopped with the last one.
#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sb_sqlite {

class WalCheckpointer {
 public:
  // The checkpointer of `path`, started on first use.
  static std::shared_ptr<WalCheckpointer> for_path(const std::string& path, int threshold_pages);
  ~WalCheckpointer();  // stops and joins the thread
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Hands `db`'s checkpoints to this checkpointer. `db` must be closed
  // before the checkpointer is destroyed.
  void attach(sqlite3* db);

  // How many checkpoints ran (for tests).
  uint64_t checkpoints() const;

 private:
  WalCheckpointer(std::string path, int threshold_pages);
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void run();

  const std::string path_;
  const int threshold_pages_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stopping_ = false;
  uint64_t checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace sb_sqlite

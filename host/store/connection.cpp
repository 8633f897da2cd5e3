#include "store/database.hpp"

#include "core/error.hpp"
#include "plugins/host_services.hpp"

#include <algorithm>
#include <limits>

namespace sb::store {

namespace {

// Repositories use a fixed set of statements; the bound only matters for
// SQL built at run time (IN lists of varying length), which would
// otherwise grow the cache without end.
constexpr size_t kMaxCachedStatements = 256;

sb_str to_sb(std::string_view s) { return sb_str{s.data(), s.size()}; }
std::string_view view(sb_str s) { return s.data ? std::string_view(s.data, s.len) : std::string_view(); }

}  // namespace

struct Connection::Statement {
  void* handle = nullptr;
  // Column names of the last result, shared by every Row read from it.
  std::shared_ptr<const std::vector<std::string>> names;
  uint64_t last_used = 0;
};

Connection::Connection(std::unique_ptr<plugins::StorageConnection> conn) : conn_(std::move(conn)) {
  if (!conn_ || !conn_->api() || !conn_->handle()) {
    throw Error(ErrorCode::internal, "a database connection was opened without a storage instance");
  }
}

Connection::~Connection() {
  // The plugin requires every statement finalized before destroy, which
  // runs when conn_ goes.
  for (auto& [sql, stmt] : cache_) conn_->api()->finalize(stmt->handle);
  cache_.clear();
}

void Connection::check(sb_status status, std::string_view what) const {
  if (status != SB_OK) conn_->check(status, what);
}

void Connection::exec(std::string_view sql) {
  plugins::HostServices::begin_call();
  check(conn_->api()->exec(conn_->handle(), to_sb(sql)), "exec");
}

Connection::Statement& Connection::prepared(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCachedStatements) evict_least_recently_used();
    void* handle = nullptr;
    plugins::HostServices::begin_call();
    check(conn_->api()->prepare(conn_->handle(), to_sb(sql), &handle), "prepare");
    auto stmt = std::make_unique<Statement>();
    stmt->handle = handle;
    it = cache_.emplace(std::string(sql), std::move(stmt)).first;
  }
  it->second->last_used = ++use_clock_;
  return *it->second;
}

void Connection::evict_least_recently_used() {
  auto oldest = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
    return a.second->last_used < b.second->last_used;
  });
  if (oldest == cache_.end()) return;
  conn_->api()->finalize(oldest->second->handle);
  cache_.erase(oldest);
}

void Connection::bind(Statement& stmt, const Params& params) {
  const sb_storage_api* api = conn_->api();
  if (params.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw Error(ErrorCode::invalid_argument, "too many SQL parameters");
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const auto index = static_cast<int32_t>(i + 1);
    plugins::HostServices::begin_call();
    const sb_status status = std::visit(
        [&](const auto& v) -> sb_status {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return api->bind_null(stmt.handle, index);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return api->bind_int64(stmt.handle, index, v);
          } else if constexpr (std::is_same_v<T, double>) {
            return api->bind_double(stmt.handle, index, v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            return api->bind_text(stmt.handle, index, to_sb(v));
          } else {
            return api->bind_blob(stmt.handle, index, v.bytes.data(), v.bytes.size());
          }
        },
        params[i].value());
    check(status, "bind");
  }
}

void Connection::rewind(Statement& stmt) noexcept {
  // reset also clears the bindings. Its status only repeats the error of
  // the step that failed, which the caller has already seen.
  plugins::HostServices::begin_call();
  conn_->api()->reset(stmt.handle);
  plugins::HostServices::take_error();
}

Row Connection::read_row(Statement& stmt) {
  const sb_storage_api* api = conn_->api();
  const int32_t count = api->column_count(stmt.handle);
  // Names are fetched once per statement and shared; they are re-read only
  // if the statement's shape changed (a schema change re-prepares it).
  bool same_names = stmt.names && stmt.names->size() == static_cast<size_t>(count);
  for (int32_t c = 0; same_names && c < count; ++c) {
    same_names = (*stmt.names)[static_cast<size_t>(c)] == view(api->column_name(stmt.handle, c));
  }
  if (!same_names) {
    auto names = std::make_shared<std::vector<std::string>>();
    names->reserve(static_cast<size_t>(count));
    for (int32_t c = 0; c < count; ++c) names->emplace_back(view(api->column_name(stmt.handle, c)));
    stmt.names = std::move(names);
  }
  std::vector<Value> values;
  values.reserve(static_cast<size_t>(count));
  for (int32_t c = 0; c < count; ++c) {
    switch (api->column_type(stmt.handle, c)) {
      case SB_SQL_INTEGER: values.emplace_back(api->column_int64(stmt.handle, c)); break;
      case SB_SQL_REAL: values.emplace_back(api->column_double(stmt.handle, c)); break;
      case SB_SQL_TEXT: values.emplace_back(std::string(view(api->column_text(stmt.handle, c)))); break;
      case SB_SQL_BLOB: values.emplace_back(Blob{std::string(view(api->column_blob(stmt.handle, c)))}); break;
      default: values.emplace_back(nullptr); break;
    }
  }
  return Row(stmt.names, std::move(values));
}

std::vector<Row> Connection::query(std::string_view sql, const Params& params) {
  Statement& stmt = prepared(sql);
  std::vector<Row> rows;
  try {
    bind(stmt, params);
    for (;;) {
      int32_t has_row = 0;
      plugins::HostServices::begin_call();
      check(conn_->api()->step(stmt.handle, &has_row), "step");
      if (!has_row) break;
      rows.push_back(read_row(stmt));
    }
  } catch (...) {
    rewind(stmt);
    throw;
  }
  rewind(stmt);
  return rows;
}

std::optional<Row> Connection::query_one(std::string_view sql, const Params& params) {
  Statement& stmt = prepared(sql);
  std::optional<Row> row;
  try {
    bind(stmt, params);
    int32_t has_row = 0;
    plugins::HostServices::begin_call();
    check(conn_->api()->step(stmt.handle, &has_row), "step");
    if (has_row) row = read_row(stmt);
  } catch (...) {
    rewind(stmt);
    throw;
  }
  rewind(stmt);
  return row;
}

int64_t Connection::execute(std::string_view sql, const Params& params) {
  Statement& stmt = prepared(sql);
  try {
    bind(stmt, params);
    // Step to the end: a statement with RETURNING yields rows first.
    for (int32_t has_row = 1; has_row;) {
      plugins::HostServices::begin_call();
      check(conn_->api()->step(stmt.handle, &has_row), "step");
    }
  } catch (...) {
    rewind(stmt);
    throw;
  }
  rewind(stmt);
  return conn_->api()->changes(conn_->handle());
}

int64_t Connection::last_insert_id() { return conn_->api()->last_insert_id(conn_->handle()); }

std::string Connection::dialect() { return std::string(view(conn_->api()->dialect(conn_->handle()))); }

}  // namespace sb::store

#include "store/plugin_state_store.hpp"

#include "core/ids.hpp"

namespace sb::store {

namespace plugin_state {

std::optional<std::string> get(Connection& c, const std::string& plugin_id, const std::string& instance_id,
                               const std::string& key) {
  auto row = c.query_one("SELECT value FROM plugin_state WHERE plugin_id = ? AND instance_id = ? AND key = ?",
                         {plugin_id, instance_id, key});
  if (!row) return std::nullopt;
  return row->text("value");
}

void put(Connection& c, const std::string& plugin_id, const std::string& instance_id, const std::string& key,
         const std::string& value, int64_t now) {
  // ON CONFLICT ... DO UPDATE reads the same in SQLite and PostgreSQL.
  c.execute(
      "INSERT INTO plugin_state (plugin_id, instance_id, key, value, updated_at) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (plugin_id, instance_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      {plugin_id, instance_id, key, value, now});
}

void erase(Connection& c, const std::string& plugin_id, const std::string& instance_id, const std::string& key) {
  c.execute("DELETE FROM plugin_state WHERE plugin_id = ? AND instance_id = ? AND key = ?",
            {plugin_id, instance_id, key});
}

int64_t erase_instance(Connection& c, const std::string& plugin_id, const std::string& instance_id) {
  return c.execute("DELETE FROM plugin_state WHERE plugin_id = ? AND instance_id = ?", {plugin_id, instance_id});
}

}  // namespace plugin_state

std::optional<std::string> PluginStateStore::get(const std::string& plugin_id, const std::string& instance_id,
                                                         const std::string& key) {
  return db_.read([&](Connection& c) { return plugin_state::get(c, plugin_id, instance_id, key); });
}

void PluginStateStore::put(const std::string& plugin_id, const std::string& instance_id,
                                   const std::string& key, const std::string& value) {
  db_.write([&](Connection& c) { plugin_state::put(c, plugin_id, instance_id, key, value, now_ms()); });
}

void PluginStateStore::erase(const std::string& plugin_id, const std::string& instance_id,
                                     const std::string& key) {
  db_.write([&](Connection& c) { plugin_state::erase(c, plugin_id, instance_id, key); });
}

}  // namespace sb::store

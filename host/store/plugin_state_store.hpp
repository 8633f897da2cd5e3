#pragma once
// Durable per-instance key-value state for plugins (the host services'
// kv_get / kv_put / kv_delete), kept in the plugin_state table.
//
// The free functions in `plugin_state::` take a Connection so that services
// can compose them inside one write job; store::PluginStateStore is what
// HostServices::set_state_store() is given. Thread-safe (every call goes
// through the Database); a put returns once it is committed.
#include "plugins/host_services.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace sb::store {

namespace plugin_state {

std::optional<std::string> get(Connection& c, const std::string& plugin_id, const std::string& instance_id,
                               const std::string& key);
// Inserts or replaces the value.
void put(Connection& c, const std::string& plugin_id, const std::string& instance_id, const std::string& key,
         const std::string& value, int64_t now);
// Removes the key; removing a missing key is not an error.
void erase(Connection& c, const std::string& plugin_id, const std::string& instance_id, const std::string& key);
// Removes every key of one instance (e.g. when its profile is deleted or
// logged out). Returns how many keys went.
int64_t erase_instance(Connection& c, const std::string& plugin_id, const std::string& instance_id);

}  // namespace plugin_state

class PluginStateStore final : public plugins::PluginStateStore {
 public:
  explicit PluginStateStore(Database& db) : db_(db) {}

  std::optional<std::string> get(const std::string& plugin_id, const std::string& instance_id,
                                 const std::string& key) override;
  void put(const std::string& plugin_id, const std::string& instance_id, const std::string& key,
           const std::string& value) override;
  void erase(const std::string& plugin_id, const std::string& instance_id, const std::string& key) override;

 private:
  Database& db_;
};

}  // namespace sb::store

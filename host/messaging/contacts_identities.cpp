#include "messaging/contacts_identities.hpp"

#include "core/error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace sb::messaging {

namespace {

constexpr size_t kMaxIdentities = 10;
constexpr size_t kMaxKindLength = 32;
constexpr size_t kMaxValueLength = 200;

// A kind is a short lower-case word ("wa_id", "bsuid", "lid").
bool good_kind(const std::string& kind) {
  return !kind.empty() && kind.size() <= kMaxKindLength && std::all_of(kind.begin(), kind.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
  });
}

bool good_value(const std::string& value) {
  return !value.empty() && value.size() <= kMaxValueLength &&
         std::none_of(value.begin(), value.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
}

}  // namespace

int record_reported_identities(store::Connection& c, const store::Contact& contact, const std::string& channel,
                               const nlohmann::json& payload, int64_t now) {
  if (!payload.is_object()) return 0;
  std::vector<std::pair<std::string, std::string>> reported;
  if (auto wa = payload.find("wa_id"); wa != payload.end() && wa->is_string())
    reported.emplace_back("wa_id", wa->get<std::string>());
  if (auto list = payload.find("identities"); list != payload.end() && list->is_array()) {
    for (const auto& item : *list) {
      if (!item.is_object()) continue;
      const auto kind = item.find("kind");
      const auto value = item.find("value");
      if (kind == item.end() || value == item.end() || !kind->is_string() || !value->is_string()) continue;
      reported.emplace_back(kind->get<std::string>(), value->get<std::string>());
    }
  }
  int added = 0;
  size_t seen = 0;
  for (const auto& [kind, value] : reported) {
    if (++seen > kMaxIdentities) break;
    if (!good_kind(kind) || !good_value(value)) continue;
    try {
      if (store::contacts::add_identity(c, contact.workspace_id, {contact.id, channel, "", kind, value, now}, now))
        ++added;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::conflict) throw;
      spdlog::debug("contact {}: the {} reported by {} belongs to another contact; kept there", contact.id, kind,
                    channel);
    }
  }
  return added;
}

}  // namespace sb::messaging

#pragma once
// A real `switchboard serve` process set up for API tests: a master key, an
// internal PSK, fast password hashing, and helpers to make tenants (an
// organization, a workspace, its owner with an access token, and API keys)
// and to call the API with JSON in and out.
//
//   ApiHost api(dir.path());
//   auto a = api.make_tenant("a");
//   auto res = api.call("GET", "/api/v1/workspaces/" + a.workspace_id + "/contacts", nullptr, a.owner_auth());
//   CHECK(res.status == 200);
#include "support/host_process.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>

namespace sb::test {

struct ApiResult {
  int status = 0;
  nlohmann::json body;  // null when the body is empty or not JSON
  std::string raw;
  std::map<std::string, std::string> headers;  // lower-case names
};

using Headers = std::map<std::string, std::string>;

struct Tenant {
  std::string organization_id;
  std::string workspace_id;
  std::string owner_email;
  std::string owner_password;
  std::string owner_token;    // access token of the workspace's owner
  std::string owner_refresh;  // its refresh token
  std::string manage_key;     // a workspace API key with read, send, manage
  Headers owner_auth() const { return {{"Authorization", "Bearer " + owner_token}}; }
  Headers key_auth() const { return {{"X-API-Key", manage_key}}; }
};

class ApiHost {
 public:
  static constexpr const char* kMasterKey = "test-master-key-0123456789abcdef";
  static constexpr const char* kPsk = "test-internal-psk-0123456789abcdef";

  // `security`: extra keys for the config's "security" object (rate limits, ...).
  explicit ApiHost(const std::filesystem::path& dir, nlohmann::json security = nlohmann::json::object(),
                   std::map<std::string, std::string> env = {});

  HostProcess& host() { return host_; }
  Headers master() const { return {{"X-API-Key", kMasterKey}}; }

  // `body` null sends no body; otherwise JSON.
  ApiResult call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr,
                 const Headers& headers = {});

  // A new organization + workspace (ids "<tag>-org", "<tag>-ws"), its owner
  // (invited by the master key, then accepted) and a manage API key.
  Tenant make_tenant(const std::string& tag);
  // A user invited into `tenant`'s workspace with `role`; returns its access token.
  std::string add_member(const Tenant& tenant, const std::string& email, const std::string& role);

 private:
  HostProcess host_;
};

// REQUIREs the error shape: status, error.code, a non-empty message.
void require_error(const ApiResult& r, int status, const std::string& code);

}  // namespace sb::test

#pragma once
// Standard Webhooks signing (shared/protocols/standard-webhooks.md): the
// signed content is "<webhook-id>.<webhook-timestamp>.<body>", the
// signature HMAC-SHA256 with the secret, sent as "v1,<base64>".
//
// Stateless: safe from any thread.
#include <cstdint>
#include <string>

namespace sb::webhooks {

// "v1,<base64>" for `secret` over "<id>.<timestamp>.<body>". A "whsec_..."
// secret is base64-decoded first (the Standard Webhooks convention); any
// other secret (a dashboard's webhookSecret) is used as given.
std::string standard_webhook_signature(const std::string& secret, const std::string& id, int64_t timestamp,
                                       const std::string& body);

// A new subscription secret: "whsec_" + base64 of 32 random bytes.
std::string new_webhook_secret();

}  // namespace sb::webhooks

#pragma once
// Embeddings in both directions: the host's embed request (plugin.h,
// sb_ai_api.embed) cut into /v1/embeddings bodies, and each answer checked
// and put back in input order.
#include "provider_config.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace openai {

using Vector = std::vector<float>;

// The request's "texts"; throws switchboard::Error(SB_ERR_INVALID_ARGUMENT)
// unless it is an array of strings.
std::vector<std::string> texts_of(const nlohmann::json& request);

// {"model","input":[...],"encoding_format":"float"} plus "dimensions" when
// the config sets them.
nlohmann::json embeddings_request_body(const std::vector<std::string>& texts, size_t first, size_t count,
                                       const ProviderConfig& config);

// The vectors of an answer to a request for `expected` texts, ordered by
// their "index". Throws switchboard::Error(SB_ERR_PERMANENT) when the body
// is not an embedding list, holds another number of vectors than texts
// ("the server answered 2 embeddings for 3 texts"), repeats or skips an
// index, or mixes dimensions.
std::vector<Vector> parse_embeddings(std::string_view body, size_t expected, std::string_view server);

// "ai-openai/<embedding model>", plus "/<dimensions>" when set: the host
// rebuilds its indexes when this changes.
std::string embedding_model_name(const ProviderConfig& config);

// The host's result: {"model","dimension","vectors"} or, when `base64`,
// {"model","dimension","vectors_base64"} (little-endian float32, base64).
nlohmann::json embed_result(const std::string& model, size_t dimension, const std::vector<Vector>& vectors,
                            bool base64);

}  // namespace openai

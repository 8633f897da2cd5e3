// The ai-local plugin, loaded from disk by the real registry: hashed n-gram
// embeddings (deterministic, unit length, both encodings), extractive
// answers quoted from the context with their citations (or none),
// nearest-example classification, and the refusals of bad requests and
// bad configs.
#include "core/base64.hpp"
#include "core/error.hpp"
#include "plugins/plugin_error.hpp"
#include "unit/plugins/plugin_test_host.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Catch::Matchers::Contains;
using nlohmann::json;
using sb::plugins::AiInstance;
using sb::plugins::PluginError;
using sb::test::PluginTestHost;

constexpr const char* kLocal = "ai-local";

struct LocalProvider {
  explicit LocalProvider(const json& config = json::object()) {
    REQUIRE(host.info(kLocal));
    INFO(host.info(kLocal)->error);
    REQUIRE(host.info(kLocal)->loaded);
    ai = host.registry.create_ai(kLocal, "ai-local-test", config);
  }

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) {
    const json result = ai->embed({{"texts", texts}, {"purpose", "document"}});
    std::vector<std::vector<float>> vectors;
    for (const json& v : result.at("vectors")) vectors.push_back(v.get<std::vector<float>>());
    return vectors;
  }

  PluginTestHost host{{std::filesystem::path(SB_PLUGIN_DIR) / kLocal}};
  std::unique_ptr<AiInstance> ai;
};

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

double norm(const std::vector<float>& v) { return std::sqrt(dot(v, v)); }

// The status and message of the PluginError that `fn` throws.
template <class Fn>
std::pair<sb_status, std::string> plugin_failure(Fn&& fn) {
  try {
    fn();
  } catch (const PluginError& e) {
    return {e.status(), e.what()};
  }
  FAIL("the call did not fail");
  return {};
}

// A shop's retrieved passages, in rank order, each on its own subject.
json shop_context() {
  return json::array({
      {{"id", "hours#0"},
       {"title", "Opening hours"},
       {"text",
        "The shop is open from Tuesday to Saturday. On weekdays we open at 9:30 and close at 18:30.\n\n"
        "On Saturdays we close at 17:00. We are closed on Sundays and Mondays."}},
      {{"id", "returns#2"},
       {"title", "Returns"},
       {"text",
        "We want you to be happy with what you bought. Accessories and clothing can be returned within 30 days "
        "of purchase for a full refund, as long as they are unused and you bring the receipt. Helmets that have "
        "been worn cannot be returned, for reasons of hygiene."}},
      {{"id", "delivery#1"},
       {"title", "Delivery"},
       {"text",
        "Standard delivery costs 4.95 euros and takes 2 to 4 working days. It is free for orders over 60 euros. "
        "We do not deliver abroad."}},
  });
}

json question(const std::string& text) {
  return {{"messages", json::array({{{"role", "system"}, {"content", "Answer from the passages."}},
                                    {{"role", "user"}, {"content", "Hello there"}},
                                    {{"role", "assistant"}, {"content", "Hi! How can I help?"}},
                                    {{"role", "user"}, {"content", text}}})},
          {"context", shop_context()},
          {"max_tokens", 300},
          {"temperature", 0.2}};
}

}  // namespace

TEST_CASE("ai-local embeds texts as deterministic unit vectors of the configured dimension",
          "[knowledge][ai-local]") {
  LocalProvider local(json{{"dimension", 256}});
  const std::vector<std::string> texts = {"Our workshop repairs every brand of bike.",
                                          "Winter storage runs from November to March.",
                                          "Ünïcödé wörds and ASCII words: Ärger, café, naïve."};
  const json result = local.ai->embed({{"texts", texts}});
  CHECK(result.at("model") == "ai-local/hashing-v1/d256");
  CHECK(result.at("dimension") == 256);
  REQUIRE(result.at("vectors").size() == texts.size());

  const auto first = local.embed(texts);
  for (const auto& v : first) {
    REQUIRE(v.size() == 256);
    CHECK(norm(v) == Approx(1.0).epsilon(1e-5));
  }
  // The same texts give the same bits, in another batch and another instance.
  LocalProvider other(json{{"dimension", 256}});
  CHECK(other.embed({texts[1]}).front() == first[1]);
  CHECK(local.embed(texts) == first);
  // Different texts give different vectors.
  CHECK(first[0] != first[1]);
}

TEST_CASE("ai-local embeds a text without words as the zero vector and an empty batch as no vectors",
          "[knowledge][ai-local]") {
  LocalProvider local;
  const auto vectors = local.embed({"?! -- ...", ""});
  REQUIRE(vectors.size() == 2);
  CHECK(vectors[0].size() == 512);
  CHECK(norm(vectors[0]) == 0.0);
  CHECK(norm(vectors[1]) == 0.0);

  const json empty = local.ai->embed({{"texts", json::array()}});
  CHECK(empty.at("vectors") == json::array());
  CHECK(empty.at("dimension") == 512);
}

TEST_CASE("ai-local's base64 vectors hold exactly the floats of its plain vectors", "[knowledge][ai-local]") {
  LocalProvider local(json{{"dimension", 64}});
  const std::vector<std::string> texts = {"Can I pay in instalments?", "Gift cards are valid for three years.", "ok"};
  const json plain = local.ai->embed({{"texts", texts}, {"encoding", "float"}});
  const json packed = local.ai->embed({{"texts", texts}, {"encoding", "base64"}});
  CHECK(packed.at("model") == plain.at("model"));
  CHECK_FALSE(packed.contains("vectors"));
  REQUIRE(packed.at("vectors_base64").size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto bytes = sb::base64_decode(packed["vectors_base64"][i].get<std::string>());
    REQUIRE(bytes);
    REQUIRE(bytes->size() == 64 * 4);
    std::vector<float> decoded(64);
    for (std::size_t d = 0; d < 64; ++d) {
      const auto* p = reinterpret_cast<const unsigned char*>(bytes->data()) + d * 4;
      const uint32_t bits = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
      std::memcpy(&decoded[d], &bits, sizeof bits);
    }
    CHECK(decoded == plain["vectors"][i].get<std::vector<float>>());
  }
}

TEST_CASE("ai-local puts a paraphrase nearer than an unrelated text", "[knowledge][ai-local]") {
  LocalProvider local;
  struct Triple {
    std::string text, paraphrase, unrelated;
  };
  const std::vector<Triple> triples = {
      {"What time does the shop open on Saturday?", "When do you open on Saturdays?",
       "The cargo bike has a wooden box for two children."},
      {"I want to return the helmet I bought", "Can I return a helmet that I purchased?",
       "The weather will be sunny tomorrow afternoon."},
      {"My package arrived damaged", "The parcel was damaged when it arrived", "Please book your repair online."},
      {"How much does a puncture repair cost?", "What is the price of a puncture repair?",
       "Our dog Pixel comes to the shop most days."},
  };
  for (const auto& t : triples) {
    INFO(t.text);
    const auto v = local.embed({t.text, t.paraphrase, t.unrelated});
    const double near = dot(v[0], v[1]);
    const double far = dot(v[0], v[2]);
    CHECK(near > 0.3);
    CHECK(near > far + 0.25);
  }
}

TEST_CASE("ai-local refuses a malformed embed request with its reason", "[knowledge][ai-local]") {
  LocalProvider local;
  SECTION("a text that is not a string") {
    const auto [status, message] =
        plugin_failure([&] { local.ai->embed({{"texts", json::array({"fine", 42, "also fine"})}}); });
    CHECK(status == SB_ERR_INVALID_ARGUMENT);
    CHECK_THAT(message, Contains("texts[1] is number"));
  }
  SECTION("no texts at all") {
    const auto [status, message] = plugin_failure([&] { local.ai->embed({{"input", "hello"}}); });
    CHECK(status == SB_ERR_INVALID_ARGUMENT);
    CHECK_THAT(message, Contains("\"texts\" must be an array of strings"));
  }
  SECTION("an encoding it does not know") {
    const auto [status, message] =
        plugin_failure([&] { local.ai->embed({{"texts", json::array({"a"})}, {"encoding", "int8"}}); });
    CHECK(status == SB_ERR_INVALID_ARGUMENT);
    CHECK_THAT(message, Contains("\"encoding\" must be \"float\" or \"base64\""));
  }
}

TEST_CASE("ai-local takes any timeout_ms without failing", "[knowledge][ai-local]") {
  LocalProvider local;
  std::vector<std::string> texts(200, "A chunk of a document about bikes, repairs and opening hours.");
  const json embedded = local.ai->embed({{"texts", texts}, {"timeout_ms", 1}});
  CHECK(embedded.at("vectors").size() == 200);
  json ask = question("How long do I have to return accessories?");
  ask["timeout_ms"] = 1;
  CHECK_FALSE(local.ai->chat(ask).at("text").get<std::string>().empty());
  CHECK(local.ai->classify({{"text", "hi"}, {"labels", json::array({"greeting", "other"})}, {"timeout_ms", 0}}).contains("label"));
}

TEST_CASE("ai-local answers with the sentence that answers the question and cites its passage",
          "[knowledge][ai-local]") {
  LocalProvider local;
  const json answer = local.ai->chat(question("How long do I have to return accessories I bought?"));
  const std::string text = answer.at("text");
  INFO(text);
  CHECK_THAT(text, Contains("Accessories and clothing can be returned within 30 days of purchase for a full refund"));
  // Quoted from the second passage, so marked [2] and cited by its id.
  CHECK_THAT(text, Contains("[2]"));
  CHECK(answer.at("citations") == json::array({"returns#2"}));
  // Nothing from the passages that do not answer it.
  CHECK_FALSE(Contains("Saturday").match(text));
  CHECK_FALSE(Contains("delivery").match(text));
  CHECK_FALSE(Contains("[1]").match(text));
  CHECK_FALSE(Contains("[3]").match(text));
  CHECK(answer.at("model") == "ai-local/extractive-v1/hashing-v1/d512");

  // Another question, answered from the third passage.
  const json delivery = local.ai->chat(question("How much does standard delivery cost?"));
  CHECK_THAT(delivery.at("text").get<std::string>(), Contains("Standard delivery costs 4.95 euros"));
  CHECK_THAT(delivery.at("text").get<std::string>(), Contains("[3]"));
  CHECK(delivery.at("citations") == json::array({"delivery#1"}));
}

TEST_CASE("ai-local answers from an FAQ's answer, not from its question", "[knowledge][ai-local]") {
  LocalProvider local;
  const json faq = {{"id", 17},
                    {"title", "FAQ"},
                    {"text",
                     "**Do you repair e-bikes?**\n\nYes. Our technician is certified for Bosch and Shimano drive "
                     "systems.\n\n**Do you sell gift cards?**\n\nWe sell gift cards from 10 euros, valid for three "
                     "years."}};
  const json answer = local.ai->chat(
      {{"messages", json::array({{{"role", "user"}, {"content", "Can you repair my e-bike?"}}})},
       {"context", json::array({faq})}});
  const std::string text = answer.at("text");
  INFO(text);
  CHECK_THAT(text, Contains("Yes. Our technician is certified for Bosch and Shimano drive systems. [1]"));
  CHECK_FALSE(Contains("?").match(text));
  CHECK_FALSE(Contains("gift").match(text));
  CHECK(answer.at("citations") == json::array({17}));
}

TEST_CASE("ai-local gives no answer when nothing in the context is relevant", "[knowledge][ai-local]") {
  LocalProvider local;
  for (const std::string q : {"What is the capital of France?", "Do you sell pizza?", "thanks!"}) {
    INFO(q);
    const json answer = local.ai->chat(question(q));
    CHECK(answer.at("text") == "");
    CHECK(answer.at("citations") == json::array());
  }
  // No context at all: no answer either.
  const json bare =
      local.ai->chat({{"messages", json::array({{{"role", "user"}, {"content", "When do you open?"}}})}});
  CHECK(bare.at("text") == "");
  CHECK(bare.at("citations") == json::array());
}

TEST_CASE("ai-local refuses a chat request without a user message", "[knowledge][ai-local]") {
  LocalProvider local;
  const auto [status, message] = plugin_failure([&] {
    local.ai->chat({{"messages", json::array({{{"role", "system"}, {"content", "Be brief."}}})},
                    {"context", shop_context()}});
  });
  CHECK(status == SB_ERR_INVALID_ARGUMENT);
  CHECK_THAT(message, Contains("no user message"));
}

TEST_CASE("ai-local streams the same answer as chat, sentence by sentence", "[knowledge][ai-local]") {
  LocalProvider local(json{{"max_sentences", 2}});
  const json ask = question("When do you open and close on weekdays and on Saturdays?");
  const json whole = local.ai->chat(ask);
  std::vector<std::string> pieces;
  const json streamed = local.ai->chat_stream(ask, [&](std::string_view piece) { pieces.emplace_back(piece); });
  REQUIRE_FALSE(whole.at("text").get<std::string>().empty());
  CHECK(streamed == whole);
  CHECK(pieces.size() >= 2);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  CHECK(joined == whole.at("text"));
}

TEST_CASE("ai-local classifies a text as the label whose examples are nearest", "[knowledge][ai-local]") {
  LocalProvider local;
  const json labels = json::array({
      {{"label", "billing"},
       {"description", "Payments, invoices and refunds"},
       {"examples", {"I was charged twice for my order", "Can I get a refund on my payment?"}}},
      {{"label", "delivery"},
       {"description", "Where an order is"},
       {"examples", {"Where is my parcel?", "The package has not arrived yet"}}},
      "opening hours",
  });
  const json result = local.ai->classify({{"text", "My parcel still has not arrived, where is it?"}, {"labels", labels}});
  CHECK(result.at("label") == "delivery");
  const json& scores = result.at("scores");
  REQUIRE(scores.size() == 3);
  for (const auto& [label, score] : scores.items()) {
    INFO(label);
    CHECK(score.get<double>() >= 0.0);
    CHECK(score.get<double>() <= 1.0);
  }
  CHECK(result.at("score") == scores.at("delivery"));
  CHECK(scores.at("delivery").get<double>() > scores.at("billing").get<double>());
  CHECK(scores.at("delivery").get<double>() > scores.at("opening hours").get<double>());

  const json hours = local.ai->classify({{"text", "What are your opening hours on Sunday?"}, {"labels", labels}});
  CHECK(hours.at("label") == "opening hours");
}

TEST_CASE("ai-local refuses to classify without labels", "[knowledge][ai-local]") {
  LocalProvider local;
  for (const json& request : {json{{"text", "hello"}, {"labels", json::array()}}, json{{"text", "hello"}}}) {
    const auto [status, message] = plugin_failure([&] { local.ai->classify(request); });
    CHECK(status == SB_ERR_INVALID_ARGUMENT);
    CHECK_THAT(message, Contains("\"labels\" must be a non-empty array"));
  }
}

TEST_CASE("ai-local refuses a dimension outside 32..4096 at create", "[knowledge][ai-local]") {
  PluginTestHost host({std::filesystem::path(SB_PLUGIN_DIR) / kLocal});
  for (const int dimension : {16, 31, 4097}) {
    INFO(dimension);
    try {
      host.registry.create_ai(kLocal, "bad", {{"dimension", dimension}});
      FAIL("created with dimension " << dimension);
    } catch (const sb::Error& e) {
      CHECK(e.code() == sb::ErrorCode::invalid_argument);
      CHECK_THAT(std::string(e.what()), Contains("dimension"));
    }
  }
  CHECK_THROWS_AS(host.registry.create_ai(kLocal, "bad", {{"temperature", 0.5}}), sb::Error);
  // The bounds themselves are fine.
  auto smallest = host.registry.create_ai(kLocal, "small", {{"dimension", 32}});
  CHECK(smallest->embed({{"texts", json::array({"x y z"})}}).at("dimension") == 32);
  auto largest = host.registry.create_ai(kLocal, "large", {{"dimension", 4096}});
  CHECK(largest->embed({{"texts", json::array({"x y z"})}}).at("dimension") == 4096);
}

TEST_CASE("ai-local answers concurrent calls on one instance as it answers them one by one",
          "[knowledge][ai-local]") {
  LocalProvider local;
  const std::vector<std::string> texts = {"Standard delivery costs 4.95 euros.", "We are closed on Mondays.",
                                          "Helmets that have been worn cannot be returned."};
  const json expected_vectors = local.ai->embed({{"texts", texts}}).at("vectors");
  const json ask = question("How much does standard delivery cost?");
  const json expected_answer = local.ai->chat(ask);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      // Catch's assertions are not thread-safe: count here, check after.
      try {
        for (int i = 0; i < 25; ++i) {
          if (local.ai->embed({{"texts", texts}}).at("vectors") != expected_vectors) ++mismatches;
          if (local.ai->chat(ask) != expected_answer) ++mismatches;
        }
      } catch (const std::exception&) {
        ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(mismatches == 0);
}

// Prints ai-local's embedding throughput on this repository's own docs and
// sources cut into chunks of the host's size; asserts only that every chunk
// was embedded (timing depends on the machine).
TEST_CASE("ai-local embedding throughput (printed)", "[knowledge][ai-local]") {
  std::string corpus;
  for (const char* dir : {"docs", "host", "plugins", "tests/data"}) {
    const auto root = std::filesystem::path(SB_SOURCE_DIR) / dir;
    if (!std::filesystem::exists(root)) continue;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".md" && ext != ".cpp" && ext != ".hpp" && ext != ".txt")) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      corpus += ss.str();
      if (corpus.size() > (4u << 20)) break;
    }
  }
  REQUIRE(corpus.size() > (256u << 10));
  // Chunks of about 900 bytes, each cut before a UTF-8 lead byte.
  std::vector<std::string> chunks;
  for (std::size_t pos = 0; pos < corpus.size();) {
    std::size_t end = std::min(pos + 900, corpus.size());
    while (end < corpus.size() && (static_cast<unsigned char>(corpus[end]) & 0xC0) == 0x80) --end;
    chunks.push_back(corpus.substr(pos, end - pos));
    pos = end;
  }

  LocalProvider local;
  const auto wall_start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  std::size_t embedded = 0;
  for (std::size_t i = 0; i < chunks.size(); i += 64) {
    const std::vector<std::string> batch(chunks.begin() + static_cast<std::ptrdiff_t>(i),
                                         chunks.begin() + static_cast<std::ptrdiff_t>(std::min(i + 64, chunks.size())));
    embedded += local.ai->embed({{"texts", batch}, {"encoding", "base64"}}).at("vectors_base64").size();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  CHECK(embedded == chunks.size());
  const double mb = static_cast<double>(corpus.size()) / 1e6;
  std::printf("ai-local embed: %.2f MB in %zu chunks of 900 bytes, batches of 64, base64, d512: "
              "%.1f MB/s wall, %.1f MB/s CPU\n",
              mb, chunks.size(), mb / wall, mb / std::max(cpu, 1e-9));
}

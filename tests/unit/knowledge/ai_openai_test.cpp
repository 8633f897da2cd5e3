// The ai-openai plugin, loaded from disk by the real registry, against the
// fake OpenAI-compatible server (tests/fakes/fake_openai.hpp): what it sends,
// what it makes of the answers, its retries and its errors. Also the host's
// http_stream, which the plugin's streaming rests on.
#include "core/base64.hpp"
#include "fakes/fake_openai.hpp"
#include "plugins/http_client.hpp"
#include "unit/plugins/plugin_test_host.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using sb::plugins::AiInstance;
using sb::plugins::PluginError;
using sb::test::FakeOpenAi;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

const char* kKey = "sk-test-4711-very-secret";

struct Provider {
  explicit Provider(const FakeOpenAi& fake, json config = json::object(), const std::string& key = kKey)
      : host({std::filesystem::path(SB_PLUGIN_DIR) / "ai-openai"}) {
    config["base_url"] = config.value("base_url", fake.base_url());
    config["api_key"] = key;
    ai = host.registry.create_ai("ai-openai", "kb-test", config);
  }
  sb::test::PluginTestHost host;
  std::unique_ptr<AiInstance> ai;
};

json question(const std::string& text = "When do you open?") {
  return {{"messages",
           json::array({{{"role", "system"}, {"content", "Answer from the context. [1] Opening hours: 9 to 5."}},
                        {{"role", "user"}, {"content", text}}})},
          {"context", json::array({{{"id", "chunk-a"}, {"title", "Hours"}, {"text", "Opening hours: 9 to 5."}},
                                   {{"id", "chunk-b"}, {"title", "Prices"}, {"text", "Coffee costs 2 euros."}},
                                   {{"id", "chunk-c"}, {"title", "Place"}, {"text", "We are at the harbour."}}})}};
}

// The PluginError that `fn` throws (the test fails when it throws none).
template <class Fn>
PluginError failure_of(Fn&& fn) {
  try {
    fn();
  } catch (const PluginError& e) {
    return e;
  }
  FAIL("the call succeeded, a PluginError was expected");
  throw std::logic_error("unreachable");
}

int64_t ms_between(const sb::test::OpenAiRequest& a, const sb::test::OpenAiRequest& b) {
  return std::chrono::duration_cast<Millis>(b.at - a.at).count();
}

int64_t ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<Millis>(Clock::now() - start).count();
}

std::vector<float> floats_of(const std::string& bytes) {
  std::vector<float> out(bytes.size() / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= uint32_t(uint8_t(bytes[i * 4 + b])) << (8 * b);
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}

std::string http_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace

TEST_CASE("ai-openai loads as an AI plugin of ABI 1.2", "[knowledge][ai-openai]") {
  sb::test::PluginTestHost host({std::filesystem::path(SB_PLUGIN_DIR) / "ai-openai"});
  auto info = host.info("ai-openai");
  REQUIRE(info);
  INFO(info->error);
  CHECK(info->loaded);
  CHECK(info->kind == "ai");
  CHECK(info->abi == "1.2");
}

TEST_CASE("embed posts batches of embedding_batch texts and answers the vectors in input order",
          "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.set_reverse_embedding_order(true);  // the plugin must order by "index", not by position
  Provider p(fake, {{"embedding_batch", 2}});
  const std::vector<std::string> texts = {"alpha", "beta", "gamma", "delta", "epsilon"};

  const json result = p.ai->embed({{"texts", texts}, {"purpose", "document"}});

  const auto requests = fake.requests_to("/v1/embeddings");
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].json == json{{"model", "text-embedding-3-small"},
                                 {"input", {"alpha", "beta"}},
                                 {"encoding_format", "float"}});
  CHECK(requests[1].json["input"] == json{"gamma", "delta"});
  CHECK(requests[2].json["input"] == json{"epsilon"});
  CHECK(result["model"] == "ai-openai/text-embedding-3-small");
  CHECK(result["dimension"] == 64);
  REQUIRE(result["vectors"].size() == texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    CHECK(result["vectors"][i].get<std::vector<float>>() == FakeOpenAi::embedding_for(texts[i], 64));
  }
}

TEST_CASE("the API key is sent as a Bearer token, and an empty key as a placeholder", "[knowledge][ai-openai]") {
  SECTION("a configured key") {
    FakeOpenAi fake(kKey);
    Provider p(fake);
    p.ai->embed({{"texts", {"hello"}}});
    CHECK(fake.requests().at(0).header("authorization") == std::string("Bearer ") + kKey);
  }
  SECTION("no key: the header is still sent, as Ollama requires") {
    FakeOpenAi fake;  // like Ollama: any token, but an Authorization header
    Provider p(fake, json::object(), "");
    const json result = p.ai->chat(question());
    CHECK(fake.requests().at(0).header("authorization") == "Bearer sk-no-key-required");
    CHECK(result["text"] == "The shop opens at 9 am on weekdays [1].");
  }
}

TEST_CASE("embedding_dimensions is sent as dimensions and named in the model", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake, {{"embedding_dimensions", 16}});

  const json result = p.ai->embed({{"texts", {"one", "two"}}});

  CHECK(fake.requests().at(0).json["dimensions"] == 16);
  CHECK(result["dimension"] == 16);
  CHECK(result["model"] == "ai-openai/text-embedding-3-small/16");
  CHECK(result["vectors"][1].get<std::vector<float>>() == FakeOpenAi::embedding_for("two", 16));
}

TEST_CASE("embeddings of another dimension than configured are refused", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.set_honour_dimensions(false);  // a server that does not know "dimensions"
  Provider p(fake, {{"embedding_dimensions", 16}});

  const auto e = failure_of([&] { p.ai->embed({{"texts", {"one"}}}); });

  CHECK(e.status() == SB_ERR_PERMANENT);
  CHECK_THAT(e.what(), Catch::Contains("dimension 64") && Catch::Contains("embedding_dimensions is 16"));
}

TEST_CASE("embed answers base64 vectors when asked", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake);

  const json result = p.ai->embed({{"texts", {"one", "two"}}, {"encoding", "base64"}});

  REQUIRE(result.contains("vectors_base64"));
  REQUIRE(result["vectors_base64"].size() == 2);
  auto bytes = sb::base64_decode(result["vectors_base64"][1].get<std::string>());
  REQUIRE(bytes);
  CHECK(floats_of(*bytes) == FakeOpenAi::embedding_for("two", 64));
}

TEST_CASE("an embedding list with fewer vectors than texts is a permanent error", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.fail_next(FakeOpenAi::Failure::short_embeddings);
  Provider p(fake);

  const auto e = failure_of([&] { p.ai->embed({{"texts", {"one", "two", "three"}}}); });

  CHECK(e.status() == SB_ERR_PERMANENT);
  CHECK_THAT(e.what(), Catch::Contains("answered 2 embeddings for 3 texts"));
  CHECK(fake.requests().size() == 1);
}

TEST_CASE("chat sends the messages with the model and settings, and answers text, citations and usage",
          "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.set_reply("We open at 9 [1]. Coffee is 2 euros [2, 1]; see also [9] and [0].");
  Provider p(fake);
  json request = question();
  request["temperature"] = 0.7;
  request["max_tokens"] = 100;

  const json result = p.ai->chat(request);

  const auto sent = fake.requests_to("/v1/chat/completions").at(0).json;
  CHECK(sent["model"] == "gpt-4o-mini");
  CHECK(sent["messages"] == request["messages"]);
  CHECK(sent["temperature"] == 0.7);
  CHECK(sent["max_tokens"] == 100);
  CHECK_FALSE(sent.contains("stream"));
  CHECK_FALSE(sent.contains("context"));
  CHECK(result["text"] == "We open at 9 [1]. Coffee is 2 euros [2, 1]; see also [9] and [0].");
  CHECK(result["citations"] == json{"chunk-a", "chunk-b"});  // [9] and [0] are outside the context
  CHECK(result["model"] == "ai-openai/gpt-4o-mini");
  CHECK(result["finish_reason"] == "stop");
  CHECK(result["usage"]["completion_tokens"] == 16);
}

TEST_CASE("chat takes temperature and max_tokens from the config when the request has none",
          "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake, {{"temperature", 0.0}, {"max_tokens", 3}, {"chat_model", "llama3.1"}});

  const json result = p.ai->chat(question());

  const auto sent = fake.requests().at(0).json;
  CHECK(sent["temperature"] == 0.0);
  CHECK(sent["max_tokens"] == 3);
  CHECK(sent["model"] == "llama3.1");
  CHECK(result["text"] == "The shop opens ");
  CHECK(result["finish_reason"] == "length");
}

TEST_CASE("a base_url that ends in /v1/ reaches the same endpoints", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake, {{"base_url", fake.base_url() + "/v1/"}});

  p.ai->chat(question());
  p.ai->embed({{"texts", {"x"}}});

  REQUIRE(fake.requests().size() == 2);
  CHECK(fake.requests()[0].path == "/v1/chat/completions");
  CHECK(fake.requests()[1].path == "/v1/embeddings");
}

TEST_CASE("chat_stream hands each piece over while the answer is still streaming", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.hold_streams(true);  // the server waits after its first word until released
  Provider p(fake);
  std::vector<std::string> pieces;
  bool server_was_holding = false;

  const json result = p.ai->chat_stream(question(), [&](std::string_view piece) {
    if (pieces.empty()) {
      server_was_holding = fake.stream_held();
      fake.release_streams();
    }
    pieces.emplace_back(piece);
  });

  CHECK(server_was_holding);  // the first piece came before the server had sent the rest
  CHECK(pieces.size() == 9);
  std::string joined;
  for (const auto& piece : pieces) joined += piece;
  CHECK(joined == "The shop opens at 9 am on weekdays [1].");
  CHECK(result["text"] == joined);
  CHECK(result["citations"] == json{"chunk-a"});
  CHECK(result["finish_reason"] == "stop");
  CHECK(result["usage"]["completion_tokens"] == 9);
  CHECK(result["usage"]["total_tokens"].get<int>() > 9);
  const auto sent = fake.requests().at(0).json;
  CHECK(sent["stream"] == true);
  CHECK(sent["stream_options"] == json{{"include_usage", true}});
}

TEST_CASE("chat_stream reads events cut anywhere and with CRLF line ends", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.set_ragged_events(true);
  fake.set_reply("one two three");
  Provider p(fake);
  std::vector<std::string> pieces;

  const json result = p.ai->chat_stream(question(), [&](std::string_view piece) { pieces.emplace_back(piece); });

  CHECK(pieces == std::vector<std::string>{"one ", "two ", "three"});
  CHECK(result["text"] == "one two three");
  CHECK(result["usage"]["completion_tokens"] == 3);
}

TEST_CASE("a stream cut off before [DONE] is an error, not a partial answer", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake);

  SECTION("the connection breaks") {
    fake.fail_next(FakeOpenAi::Failure::stream_cut_off);
    const auto e = failure_of([&] { p.ai->chat_stream(question(), [](std::string_view) {}); });
    CHECK(e.status() == SB_ERR_UNAVAILABLE);
    CHECK_THAT(e.what(), Catch::Contains("broke off"));
  }
  SECTION("the body ends without [DONE]") {
    fake.fail_next(FakeOpenAi::Failure::stream_without_done);
    const auto e = failure_of([&] { p.ai->chat_stream(question(), [](std::string_view) {}); });
    CHECK(e.status() == SB_ERR_UNAVAILABLE);
    CHECK_THAT(e.what(), Catch::Contains("without [DONE]"));
  }
  // Pieces were already handed on, so the stream is not tried again.
  CHECK(fake.requests().size() == 1);
}

TEST_CASE("a 429 is retried after the server's Retry-After, then succeeds", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake);

  SECTION("Retry-After in seconds") {
    fake.fail_next({.failure = FakeOpenAi::Failure::rate_limit, .retry_after = "1"});
    const json result = p.ai->chat(question());
    CHECK(result["text"] == "The shop opens at 9 am on weekdays [1].");
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].status == 429);
    CHECK(ms_between(requests[0], requests[1]) >= 1000);
    CHECK(ms_between(requests[0], requests[1]) < 2500);
  }
  SECTION("Retry-After as an HTTP date") {
    const auto at = std::chrono::system_clock::now() + std::chrono::seconds(2);
    fake.fail_next({.failure = FakeOpenAi::Failure::rate_limit, .retry_after = http_date(at)});
    p.ai->embed({{"texts", {"x"}}});
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    // The date has whole seconds: the wait is between 1 and 2 s.
    CHECK(ms_between(requests[0], requests[1]) >= 950);
    CHECK(ms_between(requests[0], requests[1]) < 3000);
  }
}

TEST_CASE("a Retry-After beyond the call's deadline fails at once as busy", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.fail_next({.failure = FakeOpenAi::Failure::rate_limit, .retry_after = "30"});
  Provider p(fake);
  json request = question();
  request["timeout_ms"] = 3000;
  const auto start = Clock::now();

  const auto e = failure_of([&] { p.ai->chat(request); });

  CHECK(e.status() == SB_ERR_BUSY);
  CHECK(e.transient());
  CHECK(ms_since(start) < 1000);
  CHECK(fake.requests().size() == 1);
}

TEST_CASE("a 500 is retried with backoff, then succeeds", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.fail_next(FakeOpenAi::Failure::server_error);
  Provider p(fake);

  const json result = p.ai->embed({{"texts", {"x"}}});

  CHECK(result["vectors"].size() == 1);
  const auto requests = fake.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].status == 500);
  CHECK(ms_between(requests[0], requests[1]) >= 250);  // the first backoff is 250-500 ms
}

TEST_CASE("failing every time ends in a transient error after max_retries", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake, {{"max_retries", 2}});

  SECTION("500 -> unavailable") {
    fake.fail_next(FakeOpenAi::Failure::server_error, 100);
    const auto e = failure_of([&] { p.ai->chat(question()); });
    CHECK(e.status() == SB_ERR_UNAVAILABLE);
    CHECK_THAT(e.what(), Catch::Contains("(500)") && Catch::Contains("after 3 attempts"));
  }
  SECTION("429 -> busy") {
    fake.fail_next({.failure = FakeOpenAi::Failure::rate_limit, .retry_after = "0"}, 100);
    const auto e = failure_of([&] { p.ai->chat(question()); });
    CHECK(e.status() == SB_ERR_BUSY);
    CHECK_THAT(e.what(), Catch::Contains("rate limiting"));
  }
  CHECK(fake.requests().size() == 3);
}

TEST_CASE("a server that cannot be reached is retried, then unavailable", "[knowledge][ai-openai]") {
  std::string closed_url;
  {
    FakeOpenAi gone;
    closed_url = gone.base_url();  // nothing listens there once it is destroyed
  }
  FakeOpenAi unused(kKey);
  Provider p(unused, {{"base_url", closed_url}, {"max_retries", 1}});

  const auto e = failure_of([&] { p.ai->embed({{"texts", {"x"}}}); });

  CHECK(e.status() == SB_ERR_UNAVAILABLE);
  CHECK_THAT(e.what(), Catch::Contains("could not reach the server at " + closed_url) &&
                           Catch::Contains("after 2 attempts"));
}

TEST_CASE("retries end by the call's timeout_ms", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.fail_next(FakeOpenAi::Failure::server_error, 100);
  Provider p(fake, {{"max_retries", 10}});
  json request = question();
  request["timeout_ms"] = 1500;
  const auto start = Clock::now();

  const auto e = failure_of([&] { p.ai->chat(request); });

  CHECK(e.status() == SB_ERR_UNAVAILABLE);
  CHECK(ms_since(start) <= 1700);
  CHECK(fake.requests().size() >= 2);
  CHECK(fake.requests().size() < 11);
}

TEST_CASE("a refused API key is permanent, not retried, and the key is never repeated", "[knowledge][ai-openai]") {
  FakeOpenAi fake("sk-the-right-one");  // its 401 message repeats the token it was given
  Provider p(fake);

  const auto e = failure_of([&] { p.ai->chat(question()); });

  CHECK(e.status() == SB_ERR_PERMANENT);
  CHECK_THAT(e.what(), Catch::Contains("refused the API key (401)") && Catch::Contains("Incorrect API key"));
  CHECK_THAT(e.what(), !Catch::Contains(kKey));
  CHECK(fake.requests().size() == 1);
  CHECK_THAT(fake.requests()[0].body, !Catch::Contains(kKey));  // only in the header
}

TEST_CASE("an unknown model is a permanent error naming it", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake, {{"embedding_model", "no-such-embedder"}});

  const auto e = failure_of([&] { p.ai->embed({{"texts", {"x"}}}); });

  CHECK(e.status() == SB_ERR_PERMANENT);
  CHECK_THAT(e.what(), Catch::Contains("(404)") && Catch::Contains("no-such-embedder"));
  CHECK(fake.requests().size() == 1);
}

TEST_CASE("a server slower than timeout_ms ends in SB_ERR_TIMEOUT within the budget", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.fail_next({.failure = FakeOpenAi::Failure::slow, .delay = Millis(5000)});
  Provider p(fake);
  json request = question();
  request["timeout_ms"] = 600;
  const auto start = Clock::now();
  const bool streamed = GENERATE(false, true);

  const auto e = failure_of([&] {
    if (streamed) {
      p.ai->chat_stream(request, [](std::string_view) {});
    } else {
      p.ai->chat(request);
    }
  });

  const auto elapsed = ms_since(start);
  CHECK(e.status() == SB_ERR_TIMEOUT);
  CHECK(elapsed >= 550);
  CHECK(elapsed < 1100);
  CHECK(fake.requests().size() == 1);
}

TEST_CASE("a 200 whose body is not the expected JSON is a permanent error", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake);

  SECTION("chat") {
    fake.fail_next(FakeOpenAi::Failure::garbage);
    const auto e = failure_of([&] { p.ai->chat(question()); });
    CHECK(e.status() == SB_ERR_PERMANENT);
    CHECK_THAT(e.what(), Catch::Contains("not a chat completion"));
  }
  SECTION("chat_stream") {
    fake.fail_next(FakeOpenAi::Failure::garbage);
    const auto e = failure_of([&] { p.ai->chat_stream(question(), [](std::string_view) {}); });
    CHECK(e.status() == SB_ERR_PERMANENT);
    CHECK_THAT(e.what(), Catch::Contains("not a chat completion"));
  }
  SECTION("embed") {
    fake.fail_next(FakeOpenAi::Failure::garbage);
    const auto e = failure_of([&] { p.ai->embed({{"texts", {"x"}}}); });
    CHECK(e.status() == SB_ERR_PERMANENT);
    CHECK_THAT(e.what(), Catch::Contains("not an embedding list"));
  }
  CHECK(fake.requests().size() == 1);
}

TEST_CASE("llama.cpp's errors with an integer code are understood", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake);

  SECTION("400: permanent, with the server's message") {
    fake.fail_next({.failure = FakeOpenAi::Failure::llama_cpp_error, .status = 400});
    const auto e = failure_of([&] { p.ai->chat(question()); });
    CHECK(e.status() == SB_ERR_PERMANENT);
    CHECK_THAT(e.what(), Catch::Contains("(400): the request exceeds the available context size"));
    CHECK(fake.requests().size() == 1);
  }
  SECTION("503 while the model loads: retried") {
    fake.fail_next({.failure = FakeOpenAi::Failure::llama_cpp_error, .status = 503, .message = "Loading model"});
    const json result = p.ai->chat(question());
    CHECK(result["text"] == "The shop opens at 9 am on weekdays [1].");
    CHECK(fake.requests().size() == 2);
  }
}

TEST_CASE("classify asks for one of the labels and matches the answer", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  Provider p(fake);
  const json request = {
      {"text", "Where is my invoice for March?"},
      {"labels", json::array({{{"label", "billing"},
                               {"description", "invoices and payments"},
                               {"examples", {"I was charged twice"}}},
                              "shipping"})}};

  SECTION("an answer that is a label, in other case and with punctuation") {
    fake.set_reply(" \"Billing.\"");
    const json result = p.ai->classify(request);
    CHECK(result["label"] == "billing");
    CHECK(result["score"] == 1.0);
    CHECK(result["scores"] == json{{"billing", 1.0}, {"shipping", 0.0}});
    const auto sent = fake.requests().at(0).json;
    CHECK(sent["temperature"] == 0);
    CHECK(sent["model"] == "gpt-4o-mini");
    const std::string system = sent["messages"][0]["content"];
    CHECK_THAT(system, Catch::Contains("- billing: invoices and payments") &&
                           Catch::Contains("\"I was charged twice\"") && Catch::Contains("- shipping"));
    CHECK(sent["messages"][1] == json{{"role", "user"}, {"content", "Where is my invoice for March?"}});
  }
  SECTION("an answer that is no label") {
    fake.set_reply("I am not sure what you mean.");
    const json result = p.ai->classify(request);
    CHECK(result["label"] == "");
    CHECK(result["score"] == 0.0);
  }
}

TEST_CASE("the host's http_stream hands body pieces over before the body has ended", "[knowledge][ai-openai]") {
  FakeOpenAi fake(kKey);
  fake.hold_streams(true);
  const json body = {{"model", "gpt-4o-mini"},
                     {"stream", true},
                     {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  const json request = {{"method", "POST"},
                        {"url", fake.base_url() + "/v1/chat/completions"},
                        {"headers", {{"Authorization", std::string("Bearer ") + kKey}, {"Content-Type", "application/json"}}},
                        {"body", body.dump()},
                        {"timeout_ms", 5000}};
  json head;
  std::string received;
  bool held_when_first_word_arrived = false, released = false;

  sb::plugins::perform_http_stream(
      request, [&](const json& h) { head = h; },
      [&](std::string_view piece) {
        received.append(piece);
        if (!released && received.find("\"The \"") != std::string::npos) {
          held_when_first_word_arrived = fake.stream_held();
          fake.release_streams();
          released = true;
        }
      });

  CHECK(head["status"] == 200);
  CHECK(held_when_first_word_arrived);
  CHECK_THAT(received, Catch::EndsWith("data: [DONE]\n\n"));
}

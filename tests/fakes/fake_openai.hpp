#pragma once
// A stand-in for an OpenAI-compatible server (OpenAI, Ollama, llama.cpp
// server, vLLM), on loopback, for the ai-openai tests. It speaks the wire
// format of shared/protocols/openai-compatible.md:
//
//   POST /v1/embeddings        {"model","input": "text" | ["text", ...],
//                               "encoding_format"?: "float"|"base64","dimensions"?}
//        -> {"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage"}
//   POST /v1/chat/completions  {"model","messages":[{"role","content"}],"temperature"?,
//                               "max_tokens"?,"stream"?,"stream_options"?}
//        -> {"id","object":"chat.completion","created","model","choices":[{"index":0,
//            "message":{"role":"assistant","content"},"finish_reason"}],"usage"}
//        or, with "stream": true, Server-Sent Events: a chunk with the role,
//        one chunk per word of the reply (a short pause between them, so that
//        streaming is observable), a chunk with the finish_reason, a chunk
//        with empty choices and the usage when stream_options.include_usage,
//        then "data: [DONE]".
//
// It checks what it receives as the real ones do and refuses with their error
// bodies {"error":{"message","type","param","code"}}: 401 invalid_api_key
// when a key is configured and the Bearer token differs (an Authorization
// header is required even without a key, as Ollama does); 400 for a body that
// is not JSON, a missing model, messages that are not [{role in
// system|user|assistant, content string}], an input that is not a string or
// an array of strings, a bad temperature/max_tokens/encoding_format/dimensions,
// stream_options without stream; 404 model_not_found for an unknown model.
// Deliberately unlike OpenAI (which masks it), the 401 message repeats the
// token it was given, as a careless proxy might: the tests check that the
// plugin never passes a key on.
//
// Embeddings are deterministic (embedding_for: a hash of the text spread over
// the dimension, L2-normalized); the reply is programmable. Failures can be
// programmed for the next N requests (any endpoint): 429 with Retry-After,
// 500, an answer slower than the client's timeout, a 200 with garbage, a
// stream cut off or ended without [DONE], a llama.cpp-style error with an
// integer code, an embedding list one short. Every request is recorded with its arrival time.
//
// Thread-safe: the server's threads (handlers and streams) and the test's
// thread share every member under `mu_`; `cv_` wakes pauses, held streams and
// slow answers when the test releases them or the fake stops.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sb::test {

struct OpenAiRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  nlohmann::json json;                         // the parsed body, null when it is not JSON
  std::chrono::steady_clock::time_point at;    // when it arrived
  int status = 0;                              // what the fake answered (a stream's head status)

  std::string header(const std::string& lower_case_name) const {
    auto it = headers.find(lower_case_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class FakeOpenAi {
 public:
  enum class Failure {
    rate_limit,           // 429 with Retry-After and a rate_limit_exceeded body
    server_error,         // 500 with a server_error body
    slow,                 // the normal answer, but only after `delay`
    garbage,              // 200, Content-Type text/html, a body that is not JSON
    stream_cut_off,       // (stream) the connection closes after the first word: no last chunk, no [DONE]
    stream_without_done,  // (stream) every chunk, a proper end of the body, but no [DONE]
    llama_cpp_error,      // `status` with llama.cpp's {"error":{"code":<status>,"message","type"}}
    short_embeddings,     // (embeddings) a 200 with one embedding fewer than inputs
  };
  struct Fault {
    Failure failure;
    std::string retry_after = "1";          // rate_limit: the Retry-After value ("" sends none)
    std::chrono::milliseconds delay{5000};  // slow
    int status = 400;                       // llama_cpp_error
    std::string message;                    // llama_cpp_error: "" for a context-size message
  };

  // With a non-empty `api_key`, requests must carry "Authorization: Bearer <api_key>".
  explicit FakeOpenAi(std::string api_key = "");
  ~FakeOpenAi();
  FakeOpenAi(const FakeOpenAi&) = delete;
  FakeOpenAi& operator=(const FakeOpenAi&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Known models (default gpt-4o-mini, text-embedding-3-small, llama3.1,
  // nomic-embed-text); any other gets 404 model_not_found.
  void add_model(const std::string& name);

  // The embeddings' dimension when a request sets no "dimensions" (default 64).
  void set_embedding_dimension(size_t dimension);
  // false: "dimensions" is accepted but ignored, as by servers that do not know it.
  void set_honour_dimensions(bool honour);
  // true: "data" lists the embeddings last index first (clients must order by "index").
  void set_reverse_embedding_order(bool reverse);
  // The vector the fake answers for `text`.
  static std::vector<float> embedding_for(const std::string& text, size_t dimension);

  // What the assistant says (default "The shop opens at 9 am on weekdays [1].").
  void set_reply(std::string reply);
  // Or computed from each chat request body (set_reply clears it).
  void set_reply_fn(std::function<std::string(const nlohmann::json& request)> fn);

  // The pause between a stream's content chunks (default 15 ms).
  void set_stream_pause(std::chrono::milliseconds pause);
  // true: every event is written in two pieces cut inside its data line,
  // with "\r\n" line ends instead of "\n".
  void set_ragged_events(bool ragged);
  // true: each stream stops after its first content chunk until
  // release_streams() (or 10 s), so a test can see that a piece arrived
  // before the answer ended.
  void hold_streams(bool hold);
  void release_streams();
  // A stream is waiting at the hold now.
  bool stream_held() const;

  // The next `times` requests (any endpoint, those refused for their
  // key or body excepted) fail so.
  void fail_next(const Fault& fault, int times = 1);
  void fail_next(Failure failure, int times = 1) { fail_next(Fault{failure}, times); }
  void clear_failures();

  std::vector<OpenAiRequest> requests() const;
  // Requests to `path` ("/v1/embeddings"), oldest first.
  std::vector<OpenAiRequest> requests_to(const std::string& path) const;

 private:
  struct Programmed {
    Fault fault;
    int times;
  };

  void handle(const httplib::Request& req, httplib::Response& res, bool chat);
  // True when the real server would refuse `body` sent to `path`; then
  // `status` and `error` (an OpenAI error body) say how.
  bool refuse(const std::string& path, const nlohmann::json& body, int& status, nlohmann::json& error) const;
  void answer_embeddings(const nlohmann::json& body, httplib::Response& res, bool one_short);
  void answer_chat(const nlohmann::json& body, httplib::Response& res, const Fault* fault);
  // Waits up to `d` unless the fake stops first; false when it stopped.
  bool pause(std::chrono::milliseconds d);
  std::string reply_for(const nlohmann::json& body);
  void set_status(size_t index, int status);

  const std::string api_key_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<OpenAiRequest> requests_;
  std::deque<Programmed> failures_;
  std::set<std::string> models_{"gpt-4o-mini", "text-embedding-3-small", "llama3.1", "nomic-embed-text"};
  size_t dimension_ = 64;
  bool honour_dimensions_ = true;
  bool reverse_order_ = false;
  std::string reply_ = "The shop opens at 9 am on weekdays [1].";
  std::function<std::string(const nlohmann::json&)> reply_fn_;
  std::chrono::milliseconds stream_pause_{15};
  bool ragged_ = false;
  bool hold_ = false, held_ = false;
  uint64_t releases_ = 0;  // counts release_streams(), so a hold knows it was released
  uint64_t next_id_ = 1;
};

}  // namespace sb::test

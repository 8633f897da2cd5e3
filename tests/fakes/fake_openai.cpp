#include "fakes/fake_openai.hpp"

#include "core/base64.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>

namespace sb::test {
namespace {

using nlohmann::json;
using Millis = std::chrono::milliseconds;

json openai_error(const std::string& message, const std::string& type, const json& param, const json& code) {
  return {{"error", {{"message", message}, {"type", type}, {"param", param}, {"code", code}}}};
}

json invalid_request(const std::string& message, const json& param = nullptr, const json& code = nullptr) {
  return openai_error(message, "invalid_request_error", param, code);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The reply cut into words, each with the spaces after it: the stream's pieces.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    current.push_back(text[i]);
    const bool space = text[i] == ' ';
    const bool next_is_word = i + 1 < text.size() && text[i + 1] != ' ';
    if (space && next_is_word) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

size_t count_words(const std::string& text) {
  size_t n = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c));
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string float_bytes(const std::vector<float>& v) {
  std::string bytes;
  for (float f : v) {
    uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<char>((bits >> shift) & 0xFF));
  }
  return bytes;
}

// One Server-Sent Event.
std::string sse(const std::string& data) { return "data: " + data + "\n\n"; }

// Writes one event; a ragged one with "\r\n" line ends and in two pieces
// cut inside its data line, a moment apart so that they arrive apart.
bool write_event(httplib::DataSink& sink, const std::string& event, bool ragged) {
  if (!ragged) return sink.write(event.data(), event.size());
  std::string crlf;
  for (char c : event) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const size_t cut = crlf.size() / 2;
  if (!sink.write(crlf.data(), cut)) return false;
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  return sink.write(crlf.data() + cut, crlf.size() - cut);
}

}  // namespace

FakeOpenAi::FakeOpenAi(std::string api_key) : api_key_(std::move(api_key)) {
  server_.set_tcp_nodelay(true);
  server_.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, false); });
  server_.Post("/v1/chat/completions",
               [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, true); });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("the fake OpenAI server could not bind a loopback port");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(Millis(1));
}

FakeOpenAi::~FakeOpenAi() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeOpenAi::add_model(const std::string& name) {
  std::lock_guard lock(mu_);
  models_.insert(name);
}

void FakeOpenAi::set_embedding_dimension(size_t dimension) {
  std::lock_guard lock(mu_);
  dimension_ = dimension;
}

void FakeOpenAi::set_honour_dimensions(bool honour) {
  std::lock_guard lock(mu_);
  honour_dimensions_ = honour;
}

void FakeOpenAi::set_reverse_embedding_order(bool reverse) {
  std::lock_guard lock(mu_);
  reverse_order_ = reverse;
}

std::vector<float> FakeOpenAi::embedding_for(const std::string& text, size_t dimension) {
  uint64_t seed = 1469598103934665603ull;  // FNV-1a of the text
  for (unsigned char c : text) seed = (seed ^ c) * 1099511628211ull;
  std::vector<float> v(dimension);
  double norm = 0;
  for (size_t i = 0; i < dimension; ++i) {
    const uint64_t r = splitmix64(seed + i);
    v[i] = static_cast<float>(static_cast<double>(r >> 11) / static_cast<double>(1ull << 53) * 2.0 - 1.0);
    norm += static_cast<double>(v[i]) * v[i];
  }
  norm = std::sqrt(norm);
  if (norm > 0)
    for (auto& x : v) x = static_cast<float>(x / norm);
  return v;
}

void FakeOpenAi::set_reply(std::string reply) {
  std::lock_guard lock(mu_);
  reply_ = std::move(reply);
  reply_fn_ = nullptr;
}

void FakeOpenAi::set_reply_fn(std::function<std::string(const json&)> fn) {
  std::lock_guard lock(mu_);
  reply_fn_ = std::move(fn);
}

void FakeOpenAi::set_stream_pause(Millis pause) {
  std::lock_guard lock(mu_);
  stream_pause_ = pause;
}

void FakeOpenAi::set_ragged_events(bool ragged) {
  std::lock_guard lock(mu_);
  ragged_ = ragged;
}

void FakeOpenAi::hold_streams(bool hold) {
  std::lock_guard lock(mu_);
  hold_ = hold;
}

void FakeOpenAi::release_streams() {
  {
    std::lock_guard lock(mu_);
    ++releases_;
  }
  cv_.notify_all();
}

bool FakeOpenAi::stream_held() const {
  std::lock_guard lock(mu_);
  return held_;
}

void FakeOpenAi::fail_next(const Fault& fault, int times) {
  std::lock_guard lock(mu_);
  failures_.push_back({fault, times});
}

void FakeOpenAi::clear_failures() {
  std::lock_guard lock(mu_);
  failures_.clear();
}

std::vector<OpenAiRequest> FakeOpenAi::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<OpenAiRequest> FakeOpenAi::requests_to(const std::string& path) const {
  std::vector<OpenAiRequest> out;
  for (auto& r : requests())
    if (r.path == path) out.push_back(r);
  return out;
}

void FakeOpenAi::set_status(size_t index, int status) {
  std::lock_guard lock(mu_);
  if (index < requests_.size()) requests_[index].status = status;
}

bool FakeOpenAi::pause(Millis d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

std::string FakeOpenAi::reply_for(const json& body) {
  std::function<std::string(const json&)> fn;
  {
    std::lock_guard lock(mu_);
    if (!reply_fn_) return reply_;
    fn = reply_fn_;
  }
  return fn(body);
}

bool FakeOpenAi::refuse(const std::string& path, const json& body, int& status, json& error) const {
  status = 400;
  if (!body.is_object()) {
    error = invalid_request(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
        "library correctly.)");
    return true;
  }
  if (!body.contains("model") || !body["model"].is_string() || body["model"].get<std::string>().empty()) {
    error = invalid_request("you must provide a model parameter");
    return true;
  }
  const std::string model = body["model"].get<std::string>();
  {
    std::lock_guard lock(mu_);
    if (!models_.count(model)) {
      status = 404;
      error = invalid_request("The model `" + model + "` does not exist or you do not have access to it.", nullptr,
                              "model_not_found");
      return true;
    }
  }
  if (path == "/v1/embeddings") {
    const json* input = body.contains("input") ? &body["input"] : nullptr;
    bool ok = input && (input->is_string() || (input->is_array() && !input->empty() && input->size() <= 2048));
    if (ok && input->is_array())
      for (const auto& t : *input) ok = ok && t.is_string();
    if (!ok) {
      error = invalid_request("'input' must be a string or an array of 1 to 2048 strings", "input", "invalid_value");
      return true;
    }
    if (body.contains("encoding_format") && body["encoding_format"] != "float" && body["encoding_format"] != "base64") {
      error = invalid_request("'encoding_format' must be 'float' or 'base64'", "encoding_format", "invalid_value");
      return true;
    }
    if (body.contains("dimensions") && (!body["dimensions"].is_number_integer() || body["dimensions"].get<int64_t>() < 1)) {
      error = invalid_request("'dimensions' must be a positive integer", "dimensions", "invalid_value");
      return true;
    }
    return false;
  }
  const json* messages = body.contains("messages") ? &body["messages"] : nullptr;
  if (!messages || !messages->is_array() || messages->empty()) {
    error = invalid_request("'messages' must be a non-empty array", "messages", "invalid_value");
    return true;
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      error = invalid_request("Missing required parameter: '" + where + ".role'.", where + ".role", "missing_required_parameter");
      return true;
    }
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant") {
      error = invalid_request("Invalid value: '" + role + "'. Supported values are: 'system', 'assistant' and 'user'.",
                              where + ".role", "invalid_value");
      return true;
    }
    if (!m.contains("content") || !m["content"].is_string()) {
      error = invalid_request("Invalid type for '" + where + ".content': expected a string.", where + ".content",
                              "invalid_type");
      return true;
    }
  }
  if (body.contains("temperature") &&
      (!body["temperature"].is_number() || body["temperature"].get<double>() < 0 || body["temperature"].get<double>() > 2)) {
    error = invalid_request("'temperature' must be a number from 0 to 2", "temperature", "invalid_value");
    return true;
  }
  if (body.contains("max_tokens") && (!body["max_tokens"].is_number_integer() || body["max_tokens"].get<int64_t>() < 1)) {
    error = invalid_request("'max_tokens' must be a positive integer", "max_tokens", "invalid_value");
    return true;
  }
  if (body.contains("stream") && !body["stream"].is_boolean()) {
    error = invalid_request("'stream' must be a boolean", "stream", "invalid_type");
    return true;
  }
  if (body.contains("stream_options") && !body.value("stream", false)) {
    error = invalid_request("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                            "stream_options", "invalid_value");
    return true;
  }
  return false;
}

void FakeOpenAi::handle(const httplib::Request& req, httplib::Response& res, bool chat) {
  OpenAiRequest record;
  record.method = req.method;
  record.path = req.path;
  for (const auto& [name, value] : req.headers) record.headers[lower(name)] = value;
  record.body = req.body;
  record.json = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (record.json.is_discarded()) record.json = nullptr;
  record.at = std::chrono::steady_clock::now();
  size_t index = 0;
  {
    std::lock_guard lock(mu_);
    index = requests_.size();
    requests_.push_back(record);
  }
  auto answer = [&](int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
    set_status(index, status);
  };

  const std::string authorization = record.header("authorization");
  if (authorization.rfind("Bearer ", 0) != 0) {
    answer(401, invalid_request("You didn't provide an API key. You need to provide your API key in an "
                                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."));
    return;
  }
  const std::string token = authorization.substr(7);
  if (!api_key_.empty() && token != api_key_) {
    answer(401, invalid_request("Incorrect API key provided: " + token +
                                    ". You can find your API key at https://platform.openai.com/account/api-keys.",
                                nullptr, "invalid_api_key"));
    return;
  }
  int refusal = 0;
  json error;
  if (refuse(req.path, record.json, refusal, error)) {
    answer(refusal, error);
    return;
  }

  std::optional<Fault> fault;
  {
    std::lock_guard lock(mu_);
    if (!failures_.empty()) {
      fault = failures_.front().fault;
      if (--failures_.front().times <= 0) failures_.pop_front();
    }
  }
  if (fault) {
    switch (fault->failure) {
      case Failure::rate_limit:
        if (!fault->retry_after.empty()) res.set_header("Retry-After", fault->retry_after);
        answer(429, openai_error("Rate limit reached for requests. Please try again later.", "requests", "requests",
                                 "rate_limit_exceeded"));
        return;
      case Failure::server_error:
        answer(500, openai_error("The server had an error while processing your request. Sorry about that!",
                                 "server_error", nullptr, nullptr));
        return;
      case Failure::garbage:
        res.status = 200;
        res.set_content("<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html");
        set_status(index, 200);
        return;
      case Failure::llama_cpp_error: {
        const std::string message = fault->message.empty()
                                        ? "the request exceeds the available context size, try increasing it"
                                        : fault->message;
        const std::string type = fault->status >= 500 ? "unavailable_error" : "exceed_context_size_error";
        answer(fault->status, {{"error", {{"code", fault->status}, {"message", message}, {"type", type}}}});
        return;
      }
      case Failure::slow:
        if (!pause(fault->delay)) return;
        break;
      case Failure::stream_cut_off:
      case Failure::stream_without_done:
      case Failure::short_embeddings:
        break;  // applied by the answer below
    }
  }
  set_status(index, 200);
  if (chat) {
    answer_chat(record.json, res, fault ? &*fault : nullptr);
  } else {
    answer_embeddings(record.json, res, fault && fault->failure == Failure::short_embeddings);
  }
}

void FakeOpenAi::answer_embeddings(const json& body, httplib::Response& res, bool one_short) {
  size_t dimension = 0;
  bool reverse = false;
  {
    std::lock_guard lock(mu_);
    dimension = dimension_;
    if (honour_dimensions_ && body.contains("dimensions")) dimension = body["dimensions"].get<size_t>();
    reverse = reverse_order_;
  }
  std::vector<std::string> texts;
  if (body["input"].is_string()) {
    texts.push_back(body["input"].get<std::string>());
  } else {
    for (const auto& t : body["input"]) texts.push_back(t.get<std::string>());
  }
  if (one_short && !texts.empty()) texts.pop_back();
  const bool base64 = body.value("encoding_format", "float") == "base64";
  json data = json::array();
  size_t tokens = 0;
  for (size_t k = 0; k < texts.size(); ++k) {
    const size_t i = reverse ? texts.size() - 1 - k : k;
    const auto v = embedding_for(texts[i], dimension);
    json embedding = base64 ? json(sb::base64_encode(float_bytes(v))) : json(v);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
    tokens += count_words(texts[i]);
  }
  const json out = {{"object", "list"},
                    {"data", std::move(data)},
                    {"model", body["model"]},
                    {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  res.status = 200;
  res.set_content(out.dump(), "application/json");
}

void FakeOpenAi::answer_chat(const json& body, httplib::Response& res, const Fault* fault) {
  std::vector<std::string> words = words_of(reply_for(body));
  std::string finish_reason = "stop";
  const size_t max_tokens = body.contains("max_tokens") ? body["max_tokens"].get<size_t>() : SIZE_MAX;
  if (words.size() > max_tokens) {
    words.resize(max_tokens);
    finish_reason = "length";
  }
  std::string text;
  for (const auto& w : words) text += w;
  size_t prompt_tokens = 0;
  for (const auto& m : body["messages"]) prompt_tokens += count_words(m["content"].get<std::string>());
  const json usage = {{"prompt_tokens", prompt_tokens},
                      {"completion_tokens", words.size()},
                      {"total_tokens", prompt_tokens + words.size()}};
  std::string id;
  {
    std::lock_guard lock(mu_);
    id = "chatcmpl-fake" + std::to_string(next_id_++);
  }
  const json model = body["model"];
  const int64_t created = unix_now();

  if (!body.value("stream", false)) {
    const json out = {{"id", id},
                      {"object", "chat.completion"},
                      {"created", created},
                      {"model", model},
                      {"choices",
                       json::array({{{"index", 0},
                                     {"message", {{"role", "assistant"}, {"content", text}}},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finish_reason}}})},
                      {"usage", usage}};
    res.status = 200;
    res.set_content(out.dump(), "application/json");
    return;
  }

  // The events of the stream, in order, as OpenAI sends them.
  const bool include_usage = body.contains("stream_options") && body["stream_options"].value("include_usage", false);
  auto chunk = [&](const json& choices) {
    json c = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
              {"choices", choices}};
    if (include_usage) c["usage"] = nullptr;
    return c;
  };
  auto plan = std::make_shared<std::vector<std::string>>();
  plan->push_back(sse(chunk(json::array({{{"index", 0},
                                           {"delta", {{"role", "assistant"}, {"content", ""}}},
                                           {"finish_reason", nullptr}}}))
                          .dump()));
  for (const auto& w : words) {
    plan->push_back(
        sse(chunk(json::array({{{"index", 0}, {"delta", {{"content", w}}}, {"finish_reason", nullptr}}})).dump()));
  }
  plan->push_back(
      sse(chunk(json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", finish_reason}}})).dump()));
  if (include_usage) {
    json last = chunk(json::array());
    last["usage"] = usage;
    plan->push_back(sse(last.dump()));
  }
  const bool cut_off = fault && fault->failure == Failure::stream_cut_off;
  if (!(fault && fault->failure == Failure::stream_without_done)) plan->push_back(sse("[DONE]"));
  const size_t first_content = words.empty() ? 0 : 1;

  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [this, plan, cut_off, first_content](size_t, httplib::DataSink& sink) {
    Millis stream_pause;
    bool ragged = false;
    {
      std::lock_guard lock(mu_);
      stream_pause = stream_pause_;
      ragged = ragged_;
    }
    for (size_t i = 0; i < plan->size(); ++i) {
      if (i > 0 && !pause(stream_pause)) return false;
      // A hold starts before the first word is written: a client that sees
      // the word may release it at once.
      bool holding = false;
      uint64_t releases_seen = 0;
      if (i == first_content) {
        std::lock_guard lock(mu_);
        holding = held_ = hold_;
        releases_seen = releases_;
      }
      const bool written = write_event(sink, (*plan)[i], ragged);
      if (holding) {
        std::unique_lock lock(mu_);
        if (written) cv_.wait_for(lock, std::chrono::seconds(10), [&] { return stopping_ || releases_ != releases_seen; });
        held_ = false;
      }
      if (!written) return false;
      // The connection closes after the first word: no last chunk, no [DONE].
      if (i == first_content && cut_off) return false;
    }
    sink.done();
    return true;
  });
}

}  // namespace sb::test

// GET /api/v1/events: Server-Sent Events filtered to what the caller may
// see, resumable with Last-Event-ID, with a heartbeat.
#include "support/api_host.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::require_error;
using sb::test::TempDir;

namespace {

struct Sse {
  uint64_t id = 0;
  std::string type;
  json data;
};

// Reads an event stream on its own thread until stop() (or the server ends it).
class StreamReader {
 public:
  StreamReader(uint16_t port, const sb::test::Headers& headers, const std::string& path = "/api/v1/events") {
    thread_ = std::thread([this, port, headers, path] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(30, 0);
      httplib::Headers h;
      for (const auto& [k, v] : headers) h.emplace(k, v);
      auto res = c.Get(path.c_str(), h, [&](const char* data, size_t n) {
        std::lock_guard<std::mutex> lock(mu_);
        raw_.append(data, n);
        return !stop_.load();
      });
      std::lock_guard<std::mutex> lock(mu_);
      if (res) status_ = res->status;
      ended_ = true;
    });
  }
  ~StreamReader() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::string raw() {
    std::lock_guard<std::mutex> lock(mu_);
    return raw_;
  }
  std::vector<Sse> events() {
    std::vector<Sse> out;
    const std::string text = raw();
    static const std::regex kBlock(R"(id: (\d+)\nevent: ([^\n]+)\ndata: ([^\n]+)\n\n)");
    for (std::sregex_iterator it(text.begin(), text.end(), kBlock), end; it != end; ++it)
      out.push_back({std::stoull((*it)[1]), (*it)[2], json::parse((*it)[3].str())});
    return out;
  }

 private:
  std::thread thread_;
  std::mutex mu_;
  std::string raw_;
  std::atomic<bool> stop_{false};
  int status_ = 0;
  bool ended_ = false;
};

void inbound(ApiHost& api, const std::string& from, const std::string& text) {
  auto c = api.host().client();
  auto r = sb::test::post_inbound(*c, {{"from", from}, {"text", text}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

size_t count_type(const std::vector<Sse>& events, const std::string& type) {
  return static_cast<size_t>(std::count_if(events.begin(), events.end(), [&](const Sse& e) { return e.type == type; }));
}

}  // namespace

TEST_CASE("the event stream shows a workspace's events to those who may see them and nobody else", "[api]") {
  TempDir dir("sb-api-events");
  ApiHost api(dir.path(), {{"sse_heartbeat_ms", 200}});
  auto b = api.make_tenant("b");
  StreamReader admin(api.host().port(), api.master());
  StreamReader outsider(api.host().port(), b.owner_auth());
  // Both streams are open once each has had its first heartbeat.
  REQUIRE(eventually([&] { return admin.raw().find(": heartbeat") != std::string::npos; }));
  REQUIRE(eventually([&] { return outsider.raw().find(": heartbeat") != std::string::npos; }));

  inbound(api, "+15550001111", "hello");  // the demo workspace (not b's)
  REQUIRE(eventually([&] { return count_type(admin.events(), "message.received") == 1; }));
  const auto events = admin.events();
  for (const auto& e : events) CHECK(e.data["workspace_id"] == "demo");
  // Ids increase strictly.
  for (size_t i = 1; i < events.size(); ++i) CHECK(events[i].id > events[i - 1].id);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(outsider.events().empty());

  // Asking for another tenant's workspace is 404 before any stream opens.
  require_error(api.call("GET", "/api/v1/events?workspace_id=demo", nullptr, b.owner_auth()), 404, "not_found");
  require_error(api.call("GET", "/api/v1/events"), 401, "unauthorized");
  require_error(api.call("GET", "/api/v1/events", nullptr, {{"Last-Event-ID", "abc"}, {"X-API-Key", ApiHost::kMasterKey}}),
                400, "invalid_argument");
}

TEST_CASE("a stream resumed with Last-Event-ID gets exactly the events after that id", "[api]") {
  TempDir dir("sb-api-events");
  ApiHost api(dir.path(), {{"sse_heartbeat_ms", 200}});
  uint64_t resume_after = 0;
  std::vector<Sse> first_seen;
  {
    StreamReader first(api.host().port(), api.master());
    REQUIRE(eventually([&] { return first.raw().find(": heartbeat") != std::string::npos; }));
    inbound(api, "+15550002222", "one");
    REQUIRE(eventually([&] { return count_type(first.events(), "message.received") == 1; }));
    first_seen = first.events();
    resume_after = first_seen.back().id;
  }
  // While nobody listens: more events.
  inbound(api, "+15550002222", "two");
  inbound(api, "+15550003333", "three");
  StreamReader resumed(api.host().port(),
                       {{"X-API-Key", ApiHost::kMasterKey}, {"Last-Event-ID", std::to_string(resume_after)}});
  REQUIRE(eventually([&] { return count_type(resumed.events(), "message.received") >= 2; }));
  const auto events = resumed.events();
  CHECK(events.front().id == resume_after + 1);
  std::vector<std::string> texts;
  for (const auto& e : events) {
    CHECK(e.id > resume_after);
    if (e.type == "message.received") texts.push_back(e.data["data"]["text"]);
  }
  CHECK(texts == std::vector<std::string>{"two", "three"});
  CHECK(resumed.raw().find("events.lost") == std::string::npos);
}

TEST_CASE("a stream resumed from further back than the buffer is told that events were lost", "[api]") {
  TempDir dir("sb-api-events");
  ApiHost api(dir.path(), {{"sse_heartbeat_ms", 200}});
  // An id from a previous process (ids start again at 1 after a restart).
  StreamReader resumed(api.host().port(), {{"X-API-Key", ApiHost::kMasterKey}, {"Last-Event-ID", "999999"}});
  REQUIRE(eventually([&] { return resumed.raw().find("event: events.lost") != std::string::npos; }));
}

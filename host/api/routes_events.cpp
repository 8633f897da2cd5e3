// GET /api/v1/events: Server-Sent Events of what the caller may see, with
// Last-Event-ID resume from the EventHub's bounded buffer and a heartbeat.
//
//   ?workspace_id=ws_...   only this workspace (default: every one the caller sees)
//   Last-Event-ID: N       (or ?last_event_id=N) resume after event N
//
// A resume from further back than the buffer holds first gets an
// "events.lost" event, so a client knows to reload instead of trusting
// the stream to be complete. Each open stream holds one HTTP worker.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "store/tenancy_repository.hpp"

#include <atomic>
#include <map>
#include <memory>

namespace sb::api {
namespace {

std::atomic<int64_t> g_open_streams{0};

uint64_t parse_event_id(const std::string& text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || text[0] == '-')
    throw Error(ErrorCode::invalid_argument, "Last-Event-ID must be an event id (a non-negative integer)",
                {{"field", "Last-Event-ID"}});
  return v;
}

}  // namespace

void register_event_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  s.metrics.add_gauge("switchboard_sse_streams", "Open Server-Sent Event streams (GET /api/v1/events)",
                      [] { return static_cast<double>(g_open_streams.load()); });

  routes.get("/api/v1/events", [&s](Call& call) {
    std::optional<std::string> only = call.query("workspace_id");
    if (!only) only = call.query("tenantId");
    if (only) call.workspace(tenancy::Permission::read);  // 404 / 403 before the stream opens
    uint64_t last = 0;
    if (auto h = call.request.header("last-event-id"); !h.empty()) last = parse_event_id(h);
    else if (auto q = call.query("last_event_id")) last = parse_event_id(*q);
    if (last == 0) last = s.events.latest_id();

    ApiResponse res;
    res.content_type = "text/event-stream";
    res.headers["X-Accel-Buffering"] = "no";  // proxies: do not buffer the stream
    auto principal = std::make_shared<tenancy::Principal>(call.principal);
    res.stream = [&s, principal, only, last](const StreamWriter& write) mutable {
      ++g_open_streams;
      struct Closed {
        ~Closed() { --g_open_streams; }
      } closed;
      // Visibility of each workspace, looked up once per stream.
      std::map<std::string, bool> visible_ws;
      auto visible = [&](const StreamedEvent& e) {
        if (e.workspace_id.empty()) return principal->engine_admin;
        if (only && e.workspace_id != *only) return false;
        auto it = visible_ws.find(e.workspace_id);
        if (it != visible_ws.end()) return it->second;
        bool ok = false;
        try {
          auto ws = s.db.read([&](store::Connection& c) { return store::tenancy::get_workspace(c, e.workspace_id); });
          ok = ws && s.access.can_see(*principal, ws->organization_id, ws->id);
        } catch (const std::exception&) {
          return false;  // not cached: asked again next time
        }
        visible_ws[e.workspace_id] = ok;
        return ok;
      };
      if (!write("retry: 3000\n\n")) return;
      while (true) {
        auto r = s.events.read_after(last, visible, 100, s.sse_heartbeat, /*zero_is_now=*/false);
        if (r.shut_down) return;
        if (r.gap) {
          const nlohmann::json lost = {{"after", last}, {"oldest_available", s.events.oldest_id()}};
          if (!write("event: events.lost\ndata: " + lost.dump() + "\n\n")) return;
        }
        last = r.last_id;
        if (r.events.empty()) {
          if (!write(EventHub::heartbeat())) return;
          continue;
        }
        std::string chunk;
        for (const auto& e : r.events) chunk += EventHub::format_sse(e);
        if (!write(chunk)) return;
      }
    };
    return res;
  });
}

}  // namespace sb::api

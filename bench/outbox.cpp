// bench_outbox — how fast the outbox sends, and how closely a paced
// campaign keeps its rate.
//
// In process, no HTTP: the real Messaging room (outbox, sessions) over a real
// SQLite file in a temporary directory, with the real sandbox channel loaded
// from the build tree (receipts pushed an hour out, so they do not compete).
//
// Phase "throughput": --messages rows (to --contacts contacts, so to that
// many conversations) are queued in write jobs of 1,000 with the sender
// stopped — the enqueue rate is printed — then the sender starts and the
// clock runs until every row is sent: sent messages per second with the
// sending rules off.
//
// Phase "rate": --campaign rows of one campaign paced at --rate per minute
// the way the campaign feeder does it (each row's not_before = start +
// i × 60000 / rate), rules on but generous; the achieved rate is
// (n − 1) / (last send − first send) from the outbox's send times (ms), and
// the worst lag of a send behind its slot.
//
//   bench_outbox [--messages N] [--contacts N] [--campaign N] [--rate PER_MIN]
//                [--phase throughput|rate|both] [--json]
#include "bench_args.hpp"
#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "core/scheduler.hpp"
#include "messaging/messaging.hpp"
#include "plugins/host_services.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"
#include "store/profile_repository.hpp"
#include "store/tenancy_repository.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int64_t messages = 50000;
  int64_t contacts = 1000;
  int64_t campaign = 600;
  double rate = 1200;  // per minute
  std::string phase = "both";
  bool json = false;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string phone(int64_t i) { return std::string("+1555").append(std::to_string(1000000 + i)); }

// One in-process host: the rooms Messaging needs, over `dir`.
struct Host {
  explicit Host(const fs::path& dir) {
    registry.discover({SB_PLUGIN_DIR});
    sb::store::DatabaseOptions db_options;
    db_options.config = {{"path", (dir / "switchboard.db").string()}};
    db_options.readers = 2;
    db = sb::store::Database::open(registry, db_options);
    sb::messaging::MessagingOptions options;
    options.housekeeping_interval = std::chrono::milliseconds(0);
    messaging = std::make_unique<sb::messaging::Messaging>(registry, *db, bus, scheduler, options);
    services.set_event_sink(&messaging->event_sink());
    db->write([](sb::store::Connection& c) {
      const int64_t now = sb::now_ms();
      sb::store::tenancy::ensure_organization(c, {"org_bench", "Bench", 0}, now);
      sb::store::tenancy::ensure_workspace(c, {"ws_bench", "org_bench", "Bench", "UTC", 0}, now);
      sb::store::Profile p;
      p.id = "bench";
      p.organization_id = "org_bench";
      p.workspace_id = "ws_bench";
      p.name = "Bench";
      p.channel_plugin = "channel-sandbox";
      p.config = {{"receipt_delay_ms", 3600000}, {"auto_pair", true}};
      sb::store::profiles::create(c, std::move(p), now);
    });
  }
  ~Host() {
    messaging->stop();
    messaging.reset();
    services.set_event_sink(nullptr);
  }
  int64_t count(const std::string& sql) {
    return db->read([&](sb::store::Connection& c) { return c.query_one(sql)->integer("n"); });
  }

  sb::Scheduler scheduler{2};
  sb::plugins::HostServices services{scheduler};
  sb::plugins::PluginRegistry registry{services};
  std::unique_ptr<sb::store::Database> db;
  sb::EventBus bus;
  std::unique_ptr<sb::messaging::Messaging> messaging;
};

// Queues `n` messages in write jobs of 1,000; `make(i)` builds message i.
template <class Make>
void enqueue_all(Host& host, int64_t n, Make make) {
  for (int64_t done = 0; done < n;) {
    const int64_t until = std::min(n, done + 1000);
    host.db->write([&](sb::store::Connection& c) {
      for (int64_t i = done; i < until; ++i) host.messaging->outbox().enqueue(c, make(i));
    });
    done = until;
  }
}

void wait_for_sent(Host& host, int64_t n, double timeout_s) {
  const auto t0 = Clock::now();
  while (host.count("SELECT COUNT(*) AS n FROM outbox WHERE state = 'sent'") < n) {
    if (seconds_since(t0) > timeout_s) bench::fail("timed out waiting for the outbox to send everything");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

json throughput(const fs::path& dir, const Options& o) {
  Host host(dir / "throughput");
  const auto t0 = Clock::now();
  enqueue_all(host, o.messages, [&](int64_t i) {
    sb::messaging::OutgoingMessage m;
    m.profile_id = "bench";
    m.to = phone(i % o.contacts);
    m.text = std::string("message ").append(std::to_string(i));
    m.kind = "reply";
    return m;
  });
  const double enqueue_s = seconds_since(t0);
  const auto t1 = Clock::now();
  host.messaging->start();
  wait_for_sent(host, o.messages, 600);
  const double send_s = seconds_since(t1);
  const int64_t failed = host.count("SELECT COUNT(*) AS n FROM outbox WHERE state = 'failed'");
  return {{"messages", o.messages},
          {"contacts", o.contacts},
          {"enqueue_per_s", static_cast<double>(o.messages) / enqueue_s},
          {"sent_per_s", static_cast<double>(o.messages) / send_s},
          {"send_seconds", send_s},
          {"failed", failed}};
}

json rate(const fs::path& dir, const Options& o) {
  Host host(dir / "rate");
  auto& outbox = host.messaging->outbox();
  outbox.set_sending_rules("bench", {{"enabled", true}, {"cold", {{"per_second", 1000}}}});
  host.messaging->start();
  const double interval = 60000.0 / o.rate;
  const int64_t start = sb::now_ms() + 500;
  enqueue_all(host, o.campaign, [&](int64_t i) {
    sb::messaging::OutgoingMessage m;
    m.profile_id = "bench";
    m.to = phone(i);
    m.text = "campaign";
    m.campaign_id = "cmp_bench";
    m.not_before = start + static_cast<int64_t>(static_cast<double>(i) * interval);
    return m;
  });
  const double expected_s = static_cast<double>(o.campaign) * interval / 1000.0;
  wait_for_sent(host, o.campaign, expected_s * 2 + 30);
  std::vector<int64_t> times;
  host.db->read([&](sb::store::Connection& c) {
    for (const auto& r : c.query("SELECT updated_at FROM outbox WHERE state = 'sent' ORDER BY updated_at"))
      times.push_back(r.integer("updated_at"));
  });
  // Each row's send is recorded with its batch; the lag is the recorded
  // time behind the row's slot.
  int64_t worst_lag = 0;
  for (size_t i = 0; i < times.size(); ++i)
    worst_lag = std::max(worst_lag, times[i] - (start + static_cast<int64_t>(static_cast<double>(i) * interval)));
  const double span_min = static_cast<double>(times.back() - times.front()) / 60000.0;
  const double achieved = static_cast<double>(times.size() - 1) / span_min;
  return {{"recipients", o.campaign},
          {"target_per_min", o.rate},
          {"achieved_per_min", achieved},
          {"error_percent", (achieved - o.rate) / o.rate * 100.0},
          {"worst_lag_ms", worst_lag}};
}

}  // namespace

int main(int argc, char** argv) {
  bench::set_program_name("bench_outbox");
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bench::fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--messages") o.messages = static_cast<int64_t>(bench::parse_number(a, value(), 1, 10'000'000));
    else if (a == "--contacts") o.contacts = static_cast<int64_t>(bench::parse_number(a, value(), 1, 10'000'000));
    else if (a == "--campaign") o.campaign = static_cast<int64_t>(bench::parse_number(a, value(), 2, 1'000'000));
    else if (a == "--rate") o.rate = bench::parse_number(a, value(), 1, 600000);
    else if (a == "--phase") o.phase = value();
    else if (a == "--json") o.json = true;
    else if (a == "--help" || a == "-h") {
      std::cout << "bench_outbox [--messages N] [--contacts N] [--campaign N] [--rate PER_MIN] "
                   "[--phase throughput|rate|both] [--json]\n";
      return 0;
    } else bench::fail("unknown option " + a);
  }
  if (o.phase != "throughput" && o.phase != "rate" && o.phase != "both")
    bench::fail("--phase must be throughput, rate or both");

  const fs::path dir = fs::temp_directory_path() / ("sb-bench-outbox-" + std::to_string(getpid()));
  fs::create_directories(dir);
  json out = json::object();
  try {
    if (o.phase != "rate") out["throughput"] = throughput(dir, o);
    if (o.phase != "throughput") out["rate"] = rate(dir, o);
  } catch (const std::exception& e) {
    fs::remove_all(dir);
    bench::fail(e.what());
  }
  fs::remove_all(dir);
  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (out.contains("throughput")) {
    const json& t = out["throughput"];
    std::printf("outbox, rules off: %lld messages to %lld conversations\n", static_cast<long long>(o.messages),
                static_cast<long long>(o.contacts));
    std::printf("  enqueue  %10.0f msgs/s (write jobs of 1,000)\n", t["enqueue_per_s"].get<double>());
    std::printf("  sent     %10.0f msgs/s through the sandbox channel (%.2f s, %lld failed)\n",
                t["sent_per_s"].get<double>(), t["send_seconds"].get<double>(),
                static_cast<long long>(t["failed"].get<int64_t>()));
  }
  if (out.contains("rate")) {
    const json& r = out["rate"];
    std::printf("paced campaign: %lld recipients at %.0f/min\n", static_cast<long long>(o.campaign), o.rate);
    std::printf("  achieved %10.1f /min (%+.2f%%), worst lag behind a slot %lld ms\n",
                r["achieved_per_min"].get<double>(), r["error_percent"].get<double>(),
                static_cast<long long>(r["worst_lag_ms"].get<int64_t>()));
  }
  return 0;
}

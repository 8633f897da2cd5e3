// bench_inbound — how many inbound WhatsApp messages per second a Switchboard
// host persists, and how long each webhook waits for its acknowledgement.
//
// By default it starts the host itself (the `switchboard` next to this
// binary) on a fresh temporary data directory and a free loopback port, waits
// for GET /ready, then keeps N keep-alive connections busy posting sandbox
// inbound messages to /hooks/channel-sandbox/<profile>/inbound. The host
// acknowledges a webhook only after the message is committed, so every 200 is
// a persisted message. Flows answer asynchronously, after the 200: which
// flows the demo workspace has is chosen with --flows (the welcome menu, the
// "ping" keyword flow, a flow that answers nothing, none, or the demo's own
// seeding), and after the load
// the bench waits until the host's database shows every message handled and
// every reply sent, and says how long that took.
//
// With --format cloud the same load goes to a channel-whatsapp-cloud profile
// ("bench-cloud" in the demo workspace, created through the API with a
// master key the bench gives the host) as Meta's signed webhooks: one
// message per notification, X-Hub-Signature-256 computed per request, so the
// figures include the plugin's signature check and parsing. The Graph API is
// not needed (no media, no replies: --flows defaults to none there).
//
// Everything is bounded: only loopback targets, a capped run time, a capped
// request count, and a watchdog that ends the run if anything hangs.
//
//   bench_inbound [--seconds S | --messages M] [--connections N] [--warmup S]
//                 [--switchboard PATH] [--url http://127.0.0.1:PORT --pid PID]
//                 [--flows demo|none|ping|welcome|silent] [--drain-timeout S]
//                 [--format sandbox|cloud] [--json] [--keep-data] [-- serve args...]
#include "bench_args.hpp"
#include "bench_run.hpp"
#include "host_process.hpp"
#include "inbound_flows.hpp"
#include "target.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using bench::Clock;

namespace {

using bench::fail;
using bench::fixed;
using bench::from_seconds;
using bench::interrupted;
using bench::parse_number;
using bench::percentile_ms;
using bench::Target;

// Hard limits, whatever the command line says.
constexpr int kMaxConnections = 1024;
constexpr double kMaxSeconds = 600;            // measured phase
constexpr double kMaxWarmupSeconds = 60;
constexpr uint64_t kMaxMessages = 10'000'000;  // measured requests
constexpr uint64_t kMaxRequests = 20'000'000;  // warm-up + measured, all connections
constexpr double kMaxStartupSeconds = 120;
constexpr double kMaxDrainSeconds = 300;
constexpr size_t kMaxErrorSamples = 5;

struct Options {
  std::string switchboard;         // host executable to start (own-host mode)
  std::string url;                 // drive this running host instead
  std::optional<pid_t> pid;        // its pid, for the peak RSS
  std::optional<std::string> config;  // SWITCHBOARD_CONFIG for the started host
  std::string host_log_level = "warn";
  std::vector<std::string> serve_args;
  std::string profile = "demo";
  int connections = 64;
  double seconds = 10;
  std::optional<uint64_t> messages;
  double warmup = 1;
  uint64_t contacts = 1000;
  double startup_timeout = 60;
  bool json = false;
  bool keep_data = false;
  std::optional<bench::FlowsMode> flows;  // own host only; unset = demo (none for cloud)
  double drain_timeout = 30;
  bool cloud = false;  // --format cloud: signed Cloud API webhooks
};

// The cloud profile the bench creates, and what it is configured with.
constexpr const char* kCloudProfile = "bench-cloud";
constexpr const char* kCloudAppSecret = "bench-cloud-app-secret";
constexpr const char* kCloudPhoneNumberId = "100200300400";
constexpr const char* kBenchMasterKey = "bench-master-key-0123456789abcdef";

// Meta's X-Hub-Signature-256 over `body`.
std::string cloud_signature(const char* body, size_t len) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), kCloudAppSecret, static_cast<int>(std::strlen(kCloudAppSecret)),
       reinterpret_cast<const unsigned char*>(body), len, digest, &n);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xF]);
  }
  return out;
}

// Creates the cloud profile through the API (master key). Its Graph API
// base URL points at a closed loopback port: connecting retries in the
// background, webhooks work regardless.
void create_cloud_profile(const Target& target) {
  httplib::Client client(target.host, target.port);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  const nlohmann::json body = {{"id", kCloudProfile},
                               {"name", "bench cloud"},
                               {"channel_plugin", "channel-whatsapp-cloud"},
                               {"connect", false},
                               {"config",
                                {{"phone_number_id", kCloudPhoneNumberId},
                                 {"access_token", "bench-token"},
                                 {"app_secret", kCloudAppSecret},
                                 {"verify_token", "bench-verify"},
                                 {"graph_base_url", "http://127.0.0.1:9"}}}};
  auto res = client.Post("/api/v1/workspaces/demo/profiles", {{"X-API-Key", kBenchMasterKey}}, body.dump(),
                         "application/json");
  if (!res) fail("creating the cloud profile: no answer: " + httplib::to_string(res.error()));
  if (res->status != 201) fail("creating the cloud profile answered " + std::to_string(res->status) + ": " + res->body);
}

void print_usage() {
  std::cout <<
      R"(usage: bench_inbound [options] [-- switchboard serve args...]

Drives a Switchboard host over loopback HTTP with sandbox inbound messages and
prints messages sent, persisted messages/second, latency percentiles, errors
and the host's peak RSS.

Target (default: start the host itself on a temp data dir and a free port):
  --switchboard PATH    host executable (default: switchboard next to this binary)
  --config FILE         SWITCHBOARD_CONFIG for the started host (default: none)
  --host-log-level L    SWITCHBOARD_LOG_LEVEL for the started host (default: warn)
  --keep-data           keep the temp data dir and host log
  --flows MODE          the demo workspace's flows in the started host:
                        demo (default: what the host seeds, welcome menu + ping),
                        none (no flow: messages are stored and marked handled),
                        ping (keyword "ping" -> "pong"),
                        welcome (the welcome menu: buttons for every message),
                        silent (a one-node flow that takes every message and
                        answers nothing)
  --drain-timeout S     after the load, wait up to S s for every message to be
                        handled and every reply sent (default 30; 0: don't wait)
  --url URL             drive an already running host (loopback only),
                        e.g. http://127.0.0.1:8080
  --pid PID             that host's pid, to report its peak RSS

Load:
  --connections N       concurrent keep-alive connections, one thread each (default 64, max 1024)
  --seconds S           measured duration (default 10, max 600)
  --messages M          measure M messages instead of a duration (max 10000000)
  --warmup S            warm-up seconds before measuring (default 1)
  --contacts K          distinct senders the messages rotate through (default 1000)
  --profile ID          sandbox profile (default demo)
  --format F            sandbox (default: the sandbox's inbound hook) or cloud
                        (signed WhatsApp Cloud API webhooks to a
                        channel-whatsapp-cloud profile the bench creates; own host only)
  --startup-timeout S   how long to wait for GET /ready (default 60)

Output:
  --json                also print the results as one JSON line
)";
}

Options parse_args(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      print_usage();
      std::exit(0);
    } else if (arg == "--") {
      for (++i; i < argc; ++i) options.serve_args.emplace_back(argv[i]);
    } else if (arg == "--switchboard") {
      options.switchboard = value();
    } else if (arg == "--url") {
      options.url = value();
    } else if (arg == "--pid") {
      options.pid = static_cast<pid_t>(parse_number(arg, value(), 1, 1 << 30));
    } else if (arg == "--config") {
      options.config = value();
    } else if (arg == "--host-log-level") {
      options.host_log_level = value();
    } else if (arg == "--keep-data") {
      options.keep_data = true;
    } else if (arg == "--connections") {
      options.connections = static_cast<int>(parse_number(arg, value(), 1, kMaxConnections));
    } else if (arg == "--seconds") {
      options.seconds = parse_number(arg, value(), 0.1, kMaxSeconds);
    } else if (arg == "--messages") {
      options.messages = static_cast<uint64_t>(parse_number(arg, value(), 1, static_cast<double>(kMaxMessages)));
    } else if (arg == "--warmup") {
      options.warmup = parse_number(arg, value(), 0, kMaxWarmupSeconds);
    } else if (arg == "--contacts") {
      options.contacts = static_cast<uint64_t>(parse_number(arg, value(), 1, 9'999'999));
    } else if (arg == "--profile") {
      options.profile = value();
    } else if (arg == "--startup-timeout") {
      options.startup_timeout = parse_number(arg, value(), 1, kMaxStartupSeconds);
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--flows") {
      const std::string mode = value();
      options.flows = bench::parse_flows_mode(mode);
      if (!options.flows) fail("--flows wants demo, none, ping, welcome or silent, got '" + mode + "'");
    } else if (arg == "--format") {
      const std::string format = value();
      if (format != "sandbox" && format != "cloud") fail("--format wants sandbox or cloud, got '" + format + "'");
      options.cloud = format == "cloud";
    } else if (arg == "--drain-timeout") {
      options.drain_timeout = parse_number(arg, value(), 0, kMaxDrainSeconds);
    } else {
      fail("unknown argument '" + arg + "' (see --help)");
    }
  }
  if (!options.url.empty() && !options.switchboard.empty()) fail("--url and --switchboard exclude each other");
  if (options.url.empty() && options.pid) fail("--pid goes with --url (the started host's pid is known)");
  if (!options.url.empty() && !options.serve_args.empty()) fail("serve args only apply to a host the bench starts");
  if (!options.url.empty() && options.flows) fail("--flows only applies to a host the bench starts");
  if (!options.url.empty() && options.cloud) fail("--format cloud only applies to a host the bench starts");
  for (char c : options.profile) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) fail("--profile: letters, digits, - and _ only");
  }
  return options;
}

// Sends one "ping" and looks for the flows' reply in the outbound list, to
// say what the figures include. `expected` is a text the reply contains;
// empty: no reply is expected, and the list must stay empty for a second.
// Informational only. The probe comes from a number outside the rotating
// senders, so no benchmark contact starts with a waiting execution.
std::string check_auto_reply(const Target& target, const std::string& profile, const std::string& run_id,
                             const std::string& expected) {
  httplib::Client client(target.host, target.port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  const std::string hooks = "/hooks/channel-sandbox/" + profile;
  const std::string body = R"({"from":"+15540000000","name":"Bench","text":"ping probe","id":"bench-)" + run_id +
                           R"(-probe"})";
  auto posted = client.Post(hooks + "/inbound", body, "application/json");
  if (!posted) return "probe failed: " + httplib::to_string(posted.error());
  if (posted->status != 200) {
    return "probe answered " + std::to_string(posted->status) + ": " + posted->body.substr(0, 200);
  }
  const auto begin = Clock::now();
  const auto wait = expected.empty() ? std::chrono::seconds(1) : std::chrono::seconds(5);
  std::string last_body;
  while (Clock::now() - begin < wait) {
    auto outbound = client.Get(hooks + "/outbound");
    if (outbound && outbound->status == 200) {
      last_body = outbound->body;
      if (!expected.empty() && last_body.find(expected) != std::string::npos) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count();
        return "on (\"" + expected + "\" in the outbound list " + std::to_string(ms) + " ms after the probe)";
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (expected.empty()) {
    const bool silent = last_body.find("\"type\"") == std::string::npos;
    return silent ? "off (no reply 1 s after a \"ping\" probe, as expected)"
                  : "UNEXPECTED: a reply to the probe although no flow should answer";
  }
  return "NOT seen: no \"" + expected + "\" in the outbound list 5 s after a \"ping\" probe";
}

// ---- The load ----

struct Plan {
  Target target;
  std::string path;
  std::string run_id;
  uint64_t contacts = 1000;
  Clock::time_point measure_begin;  // end of warm-up
  Clock::time_point measure_end;    // end of the measured phase (a cap in --messages mode)
  std::optional<uint64_t> messages;
  bool cloud = false;
};

struct Shared {
  std::atomic<uint64_t> sequence{0};  // every request, warm-up included
  std::atomic<uint64_t> measured{0};  // measured requests handed out (--messages)
  std::atomic<bool> hit_request_cap{false};
  std::mutex samples_mutex;
  std::vector<std::string> error_samples;
  uint64_t error_sample_total = 0;

  void sample_error(const std::string& what) {
    std::lock_guard lock(samples_mutex);
    ++error_sample_total;
    if (error_samples.size() < kMaxErrorSamples) error_samples.push_back(what);
  }
};

struct WorkerResult {
  std::vector<uint32_t> latencies_us;  // measured 200s only
  uint64_t sent = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;   // answered, but not 200
  uint64_t transport = 0;  // no answer (connect, read, write errors)
  uint64_t warmup_sent = 0;
  Clock::time_point last_end{};
};

void run_connection(const Plan& plan, Shared& shared, WorkerResult& result) {
  httplib::Client client(plan.target.host, plan.target.port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // without it cpp-httplib 0.11 waits ~40 ms per response
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  client.set_write_timeout(10, 0);
  if (plan.messages) result.latencies_us.reserve(std::min<uint64_t>(*plan.messages, 1 << 20));

  char body[1024];
  while (!interrupted()) {
    const auto now = Clock::now();
    const bool measuring = now >= plan.measure_begin;  // decided once per request
    if (measuring && now >= plan.measure_end) break;
    if (measuring && plan.messages && shared.measured.fetch_add(1) >= *plan.messages) break;
    const uint64_t n = shared.sequence.fetch_add(1);
    if (n >= kMaxRequests) {
      shared.hit_request_cap.store(true);
      break;
    }
    int length;
    httplib::Headers headers;
    if (plan.cloud) {
      length = std::snprintf(
          body, sizeof body,
          R"({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{)"
          R"("messaging_product":"whatsapp","metadata":{"display_phone_number":"15550100000","phone_number_id":"%s"},)"
          R"("contacts":[{"profile":{"name":"Bench"},"wa_id":"1555%07llu"}],)"
          R"("messages":[{"from":"1555%07llu","id":"wamid.bench-%s-%llu","timestamp":"1763910000","type":"text",)"
          R"("text":{"body":"ping %llu"}}]}}]}]})",
          kCloudPhoneNumberId, static_cast<unsigned long long>(n % plan.contacts),
          static_cast<unsigned long long>(n % plan.contacts), plan.run_id.c_str(), static_cast<unsigned long long>(n),
          static_cast<unsigned long long>(n));
      // Signed per request, as Meta does: the client's cost, not the host's.
      headers.emplace("X-Hub-Signature-256", cloud_signature(body, static_cast<size_t>(length)));
    } else {
      length = std::snprintf(
          body, sizeof body,
          R"({"from":"+1555%07llu","name":"Bench","text":"ping %llu","id":"bench-%s-%llu"})",
          static_cast<unsigned long long>(n % plan.contacts), static_cast<unsigned long long>(n),
          plan.run_id.c_str(), static_cast<unsigned long long>(n));
    }

    const auto begin = Clock::now();
    auto response = client.Post(plan.path, headers, body, static_cast<size_t>(length), "application/json");
    const auto end = Clock::now();

    const bool counted = measuring;
    if (!counted) {
      ++result.warmup_sent;
    } else {
      ++result.sent;
      result.last_end = end;
    }
    if (!response) {
      if (counted) ++result.transport;
      shared.sample_error("no answer: " + httplib::to_string(response.error()));
      if (response.error() == httplib::Error::Connection) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // don't spin on a dead host
      }
    } else if (response->status != 200) {
      if (counted) ++result.rejected;
      shared.sample_error("HTTP " + std::to_string(response->status) + ": " + response->body.substr(0, 200));
    } else if (counted) {
      ++result.accepted;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(end - begin).count();
      result.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::set_program_name("bench_inbound");
  Options options = parse_args(argc, argv);
  bench::install_signal_handlers();

  const std::string run_id = std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count());

  // Every phase has a bound; the watchdog holds the sum plus slack.
  const double measured_bound = options.messages ? kMaxSeconds : options.seconds;
  const double total_bound = options.startup_timeout + 10 + options.warmup + measured_bound + 60 +
                             options.drain_timeout + std::chrono::duration<double>(bench::kHostStopGrace).count() + 30;
  bench::Watchdog watchdog(Clock::now() + from_seconds(total_bound));

  bench::HostProcess host;
  Target target;
  fs::path temp_dir;
  fs::path log_path;
  std::optional<pid_t> host_pid = options.pid;
  const bench::FlowsMode flows_mode =
      options.flows.value_or(options.cloud ? bench::FlowsMode::none : bench::FlowsMode::demo);
  if (options.url.empty()) {
    if (options.switchboard.empty()) options.switchboard = (bench::own_directory() / "switchboard").string();
    if (::access(options.switchboard.c_str(), X_OK) != 0) {
      fail("no host executable at " + options.switchboard + " (build it, or pass --switchboard PATH or --url URL)");
    }
    std::string pattern = (fs::temp_directory_path() / "switchboard-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) fail(std::string("mkdtemp: ") + std::strerror(errno));
    temp_dir = pattern;
    log_path = temp_dir / "host.log";
    try {
      target = Target{"127.0.0.1", bench::free_loopback_port()};
      bench::prepare_demo_flows(temp_dir / "data", flows_mode);
      bench::HostLaunch launch{options.switchboard, options.serve_args, temp_dir / "data", target.port,
                               options.host_log_level, options.config, log_path, {}};
      // The cloud profile is created through the API: the host gets a master key.
      if (options.cloud) launch.env = {std::string("ENGINE_API_KEY=") + kBenchMasterKey};
      host.start(launch);
    } catch (const std::exception& e) {
      fail(e.what());
    }
    host_pid = host.pid();
    std::cout << "host     " << options.switchboard << " serve (pid " << host.pid() << ", data "
              << (temp_dir / "data").string() << ", log level " << options.host_log_level << ")\n";
    std::cout << "flows    " << bench::to_string(flows_mode) << " (flows/demo/ of the data dir)\n";
  } else {
    target = bench::parse_url(options.url);
  }
  auto cleanup = [&] {
    if (!temp_dir.empty() && !options.keep_data) {
      std::error_code ignored;
      fs::remove_all(temp_dir, ignored);
    } else if (!temp_dir.empty()) {
      std::cout << "kept     " << temp_dir.string() << " (data/ and host.log)\n";
    }
  };

  const std::string hook_path = options.cloud ? std::string("/hooks/channel-whatsapp-cloud/") + kCloudProfile + "/webhook"
                                              : "/hooks/channel-sandbox/" + options.profile + "/inbound";
  std::cout << "target   " << target.display() << hook_path << (options.cloud ? " (signed Cloud API webhooks)" : "")
            << "\n";
  std::string why;
  if (!bench::wait_until_ready(target, options.startup_timeout, options.url.empty() ? &host : nullptr, why)) {
    std::cerr << "bench_inbound: " << why << "\n";
    if (!log_path.empty()) std::cerr << "host log (last lines):\n" << bench::tail_of_file(log_path, 40);
    if (options.url.empty()) host.stop();
    cleanup();
    return 2;
  }
  if (options.cloud) {
    try {
      create_cloud_profile(target);
    } catch (...) {
      host.stop();
      cleanup();
      throw;
    }
  }
  const std::string auto_reply = check_auto_reply(target, options.profile, run_id, bench::expected_reply(flows_mode));
  std::cout << "auto-reply " << auto_reply << "\n";

  std::cout << "load     " << options.connections << " connections, warm-up " << fixed(options.warmup, 1) << " s, then ";
  if (options.messages) {
    std::cout << *options.messages << " messages (at most " << kMaxSeconds << " s)\n";
  } else {
    std::cout << fixed(options.seconds, 1) << " s\n";
  }
  std::cout.flush();

  Plan plan;
  plan.target = target;
  plan.path = hook_path;
  plan.cloud = options.cloud;
  plan.run_id = run_id;
  plan.contacts = options.contacts;
  plan.messages = options.messages;
  const std::optional<double> host_cpu_before = host_pid ? bench::cpu_seconds(*host_pid) : std::nullopt;
  const auto start = Clock::now();
  plan.measure_begin = start + from_seconds(options.warmup);
  plan.measure_end = plan.measure_begin + from_seconds(measured_bound);

  Shared shared;
  std::vector<WorkerResult> results(static_cast<size_t>(options.connections));
  {
    std::vector<std::thread> threads;
    threads.reserve(results.size());
    for (auto& result : results) {
      threads.emplace_back([&plan, &shared, &result] { run_connection(plan, shared, result); });
    }
    for (auto& thread : threads) thread.join();
  }

  const int64_t load_stopped_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch()).count();

  // The flows answer after the 200: let them catch up, and count what they did.
  std::optional<bench::Drain> drain;
  std::string drain_error;
  if (options.url.empty() && options.drain_timeout > 0 && !interrupted()) {
    try {
      const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.drain_timeout * 1000));
      drain = bench::wait_for_drain(temp_dir / "data" / "switchboard.db", timeout, load_stopped_ms);
    } catch (const std::exception& e) {
      drain_error = e.what();
    }
  }

  // Read the peak RSS while the host still runs (load and drain).
  const long rss_kib = host_pid ? bench::peak_rss_kib(*host_pid).value_or(-1) : -1;  // KiB, -1: unknown
  const std::optional<double> host_cpu_after = host_pid ? bench::cpu_seconds(*host_pid) : std::nullopt;
  std::string host_stop;
  if (options.url.empty()) host_stop = host.stop();

  WorkerResult total;
  std::vector<uint32_t> latencies;
  for (auto& result : results) {
    total.sent += result.sent;
    total.accepted += result.accepted;
    total.rejected += result.rejected;
    total.transport += result.transport;
    total.warmup_sent += result.warmup_sent;
    total.last_end = std::max(total.last_end, result.last_end);
    latencies.insert(latencies.end(), result.latencies_us.begin(), result.latencies_us.end());
  }
  std::sort(latencies.begin(), latencies.end());
  const double elapsed = total.sent == 0 ? 0 : std::chrono::duration<double>(total.last_end - plan.measure_begin).count();
  const double rate = elapsed > 0 ? static_cast<double>(total.accepted) / elapsed : 0;
  const uint64_t errors = total.rejected + total.transport;

  std::cout << "\n";
  std::cout << "messages sent          " << total.sent << " (plus " << total.warmup_sent << " in warm-up)\n";
  std::cout << "accepted (200)         " << total.accepted << " in " << fixed(elapsed, 2) << " s\n";
  std::cout << "persisted msgs/s       " << fixed(rate, 0) << "\n";
  std::cout << "latency ms             p50 " << fixed(percentile_ms(latencies, 50), 2) << "  p90 "
            << fixed(percentile_ms(latencies, 90), 2) << "  p99 " << fixed(percentile_ms(latencies, 99), 2) << "  max "
            << fixed(latencies.empty() ? 0 : latencies.back() / 1000.0, 2) << "\n";
  std::cout << "errors                 " << errors << " (non-200: " << total.rejected << ", no answer: " << total.transport
            << ")\n";
  if (rss_kib >= 0) {
    std::cout << "host peak RSS          " << fixed(static_cast<double>(rss_kib) / 1024.0, 1) << " MiB (VmHWM, pid "
              << *host_pid << ")\n";
  } else {
    std::cout << "host peak RSS          n/a" << (host_pid ? " (cannot read /proc/<pid>/status)" : " (pass --pid)") << "\n";
  }
  // Every request of the load, warm-up included, against the host's CPU
  // over the same span (load, and the drain when there was one).
  const uint64_t posted = total.sent + total.warmup_sent;
  std::optional<double> cpu_us_per_message;
  if (host_cpu_before && host_cpu_after && posted > 0) {
    const double cpu = *host_cpu_after - *host_cpu_before;
    cpu_us_per_message = cpu * 1e6 / static_cast<double>(posted);
    std::cout << "host CPU per message   " << fixed(*cpu_us_per_message, 0) << " µs (" << fixed(cpu, 2)
              << " CPU s for " << posted << " messages, warm-up" << (drain ? " and drain" : "") << " included)\n";
  }
  nlohmann::json drain_json = nullptr;
  if (drain) {
    std::cout << bench::describe(*drain);
    drain_json = bench::to_json(*drain);
  } else if (!drain_error.empty()) {
    std::cout << "database               not read: " << drain_error << "\n";
  }
  if (!host_stop.empty()) std::cout << "host                   " << host_stop << "\n";
  if (interrupted()) std::cout << "note                   interrupted: figures cover the part that ran\n";
  if (shared.hit_request_cap.load()) std::cout << "note                   stopped at the request cap (" << kMaxRequests << ")\n";
  if (options.messages && total.sent < *options.messages && !interrupted()) {
    std::cout << "note                   stopped at the time cap (" << kMaxSeconds << " s) before " << *options.messages
              << " messages\n";
  }
  if (!shared.error_samples.empty()) {
    std::cout << "first errors (" << shared.error_sample_total << " in all, warm-up included):\n";
    for (const auto& sample : shared.error_samples) std::cout << "  " << sample << "\n";
    if (!log_path.empty()) std::cout << "host log (last lines):\n" << bench::tail_of_file(log_path, 20);
  }

  if (options.json) {
    nlohmann::json out = {
        {"connections", options.connections},
        {"warmup_seconds", options.warmup},
        {"seconds", elapsed},
        {"sent", total.sent},
        {"accepted", total.accepted},
        {"messages_per_second", rate},
        {"latency_ms",
         {{"p50", percentile_ms(latencies, 50)},
          {"p90", percentile_ms(latencies, 90)},
          {"p99", percentile_ms(latencies, 99)},
          {"max", latencies.empty() ? 0.0 : latencies.back() / 1000.0}}},
        {"errors", {{"non_200", total.rejected}, {"no_answer", total.transport}}},
        {"host_peak_rss_kib", rss_kib >= 0 ? nlohmann::json(rss_kib) : nlohmann::json(nullptr)},
        {"host_cpu_us_per_message", cpu_us_per_message ? nlohmann::json(*cpu_us_per_message) : nlohmann::json(nullptr)},
        {"auto_reply", auto_reply},
        {"flows", options.url.empty() ? nlohmann::json(bench::to_string(flows_mode)) : nlohmann::json(nullptr)},
        {"format", options.cloud ? "cloud" : "sandbox"},
        {"after_load", drain_json},
    };
    std::cout << out.dump() << "\n";
  }

  cleanup();
  return errors == 0 && total.accepted > 0 && !interrupted() ? 0 : 1;
}

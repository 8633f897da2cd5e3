// bench_api — requests/second and latency of the HTTP API with an API key:
// an authenticated list call (GET /api/v1/workspaces/:ws/contacts?limit=50)
// and a send call (POST /api/v1/workspaces/:ws/messages), each over N
// keep-alive connections in a closed loop (or, with --rate, an open loop).
//
// It starts the host itself (the `switchboard` next to this binary) on a
// fresh temporary data directory and a free loopback port, with a master key
// (ENGINE_API_KEY), an internal PSK, the cheapest password hashing and the
// per-key rate limit off (security.key_rate 0), so that it measures the API
// and not the limiter. With the master key it creates an organization, a
// workspace, a sandbox profile, a workspace API key with the read and send
// scopes, and K contacts; the load then uses only that workspace key.
//
// After the send phase it waits until the outbox has sent what it accepted
// and checks, in the host's SQLite database (opened read-only), that there is
// one stored outbound message per accepted (202) send.
//
// Everything is bounded: a loopback host of its own, capped run times and
// request counts, and a watchdog that ends the run if anything hangs.
//
//   bench_api [--phase list|send|both] [--seconds S] [--connections N]
//             [--rate R] [--warmup S] [--contacts K] [--db-readers N] [--json]
//             [--switchboard PATH] [--keep-data] [-- serve args...]
#include "api_workspace.hpp"
#include "bench_args.hpp"
#include "bench_run.hpp"
#include "host_process.hpp"
#include "target.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using bench::Clock;
using nlohmann::json;

namespace {

using bench::fail;
using bench::fixed;
using bench::from_seconds;
using bench::interrupted;
using bench::parse_number;
using bench::percentile_ms;
using bench::Target;
using bench::api_client;
using bench::kMasterKey;
using bench::kPsk;
using bench::phone_of;
using bench::Setup;
using bench::Stored;

// Hard limits, whatever the command line says.
constexpr int kMaxConnections = 1024;
constexpr double kMaxSeconds = 600;            // measured part of a phase
constexpr double kMaxWarmupSeconds = 60;
constexpr uint64_t kMaxRequests = 20'000'000;  // warm-up + measured, one phase
constexpr uint64_t kMaxContacts = 100'000;
constexpr double kMaxStartupSeconds = 120;
constexpr double kMaxDrainSeconds = 300;
constexpr double kSetupSeconds = 300;          // organization ... contacts


struct Options {
  std::string switchboard;
  std::string host_log_level = "warn";
  std::vector<std::string> serve_args;
  bool keep_data = false;
  int connections = 64;
  double seconds = 10;
  double warmup = 1;
  bool list = true;
  bool send = true;
  uint64_t contacts = 1000;
  std::optional<unsigned> db_readers;
  std::optional<unsigned> http_threads;
  double startup_timeout = 60;
  double drain_timeout = 30;
  std::optional<double> rate;  // open loop: requests/s over all connections
  bool json = false;
};

void print_usage() {
  std::cout <<
      R"(usage: bench_api [options] [-- switchboard serve args...]

Starts a Switchboard host (master key, PSK, per-key rate limit off), sets up a
workspace with a sandbox profile, a read+send API key and K contacts through
the API, then loads it with the workspace key over N keep-alive connections
and prints requests/s, latency percentiles, errors and the host's CPU per
request for each phase:
  list   GET  /api/v1/workspaces/:ws/contacts?limit=50
  send   POST /api/v1/workspaces/:ws/messages {"profile_id","to","type":"text","text":"bench"}
After the send phase it checks that the host stored one outbound message per
accepted send.

Load:
  --phase P             list, send or both (default both, list first)
  --connections N       concurrent keep-alive connections, one thread each (default 64, max 1024)
  --seconds S           measured duration of each phase (default 10, max 600)
  --warmup S            warm-up seconds before each phase is measured (default 1)
  --contacts K          contacts created, and the phones the sends rotate through (default 1000)
  --rate R              open loop instead: R requests/s in all, each connection sending on a fixed
                        schedule; latency counts from the planned time (default: closed loop, each
                        connection sends its next request as soon as it has the answer)

Host:
  --switchboard PATH    host executable (default: switchboard next to this binary)
  --db-readers N        the host's SQLite read connections (config db_readers; default: the host's, 4)
  --http-threads N      the host's HTTP worker threads (config http_threads; default: the host's, 128)
  --host-log-level L    SWITCHBOARD_LOG_LEVEL (default warn)
  --startup-timeout S   how long to wait for GET /ready (default 60)
  --drain-timeout S     after the send phase, wait up to S s for the outbox to send
                        every accepted message (default 30)
  --keep-data           keep the temp data dir, the config and the host log

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
    } else if (arg == "--phase") {
      const std::string phase = value();
      if (phase != "list" && phase != "send" && phase != "both") fail("--phase wants list, send or both, got '" + phase + "'");
      options.list = phase != "send";
      options.send = phase != "list";
    } else if (arg == "--connections") {
      options.connections = static_cast<int>(parse_number(arg, value(), 1, kMaxConnections));
    } else if (arg == "--seconds") {
      options.seconds = parse_number(arg, value(), 0.1, kMaxSeconds);
    } else if (arg == "--warmup") {
      options.warmup = parse_number(arg, value(), 0, kMaxWarmupSeconds);
    } else if (arg == "--contacts") {
      options.contacts = static_cast<uint64_t>(parse_number(arg, value(), 1, static_cast<double>(kMaxContacts)));
    } else if (arg == "--rate") {
      options.rate = parse_number(arg, value(), 1, 1'000'000);
    } else if (arg == "--db-readers") {
      options.db_readers = static_cast<unsigned>(parse_number(arg, value(), 1, 64));
    } else if (arg == "--http-threads") {
      options.http_threads = static_cast<unsigned>(parse_number(arg, value(), 2, 4096));
    } else if (arg == "--switchboard") {
      options.switchboard = value();
    } else if (arg == "--host-log-level") {
      options.host_log_level = value();
    } else if (arg == "--startup-timeout") {
      options.startup_timeout = parse_number(arg, value(), 1, kMaxStartupSeconds);
    } else if (arg == "--drain-timeout") {
      options.drain_timeout = parse_number(arg, value(), 0, kMaxDrainSeconds);
    } else if (arg == "--keep-data") {
      options.keep_data = true;
    } else if (arg == "--json") {
      options.json = true;
    } else {
      fail("unknown argument '" + arg + "' (see --help)");
    }
  }
  if (options.http_threads && static_cast<int>(*options.http_threads) < options.connections + 4) {
    std::cerr << "bench_api: warning: --http-threads " << *options.http_threads << " < connections + 4: each "
              << "keep-alive connection holds a host thread, so some requests will wait for one\n";
  }
  return options;
}

// ---- The machine ----

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// ---- The load ----

// One request of a phase on a connection's client; `n` numbers the phase's
// requests, warm-up included.
using Request = std::function<httplib::Result(httplib::Client&, uint64_t n)>;

struct Phase {
  std::string name;
  std::string description;  // METHOD path, for the report
  Request request;
};

struct PhaseResult {
  std::string name;
  std::string description;
  uint64_t requests = 0;      // measured
  uint64_t ok = 0;            // measured 2xx
  uint64_t non_2xx = 0;       // measured
  uint64_t no_answer = 0;     // measured
  uint64_t warmup = 0;        // requests in the warm-up
  uint64_t warmup_ok = 0;
  std::vector<uint32_t> latencies_us;  // measured 2xx, sorted
  double seconds = 0;         // measured span
  std::optional<double> host_cpu_seconds;  // over warm-up and measured part
  std::optional<double> bench_cpu_seconds;  // this process (the load generator), same span
  std::optional<double> machine_cpu_seconds;  // every process of the machine, same span
  double span_seconds = 0;                    // warm-up and measured part
  std::string first_error;
  uint64_t error_total = 0;   // warm-up included
  bool hit_request_cap = false;

  uint64_t errors() const { return non_2xx + no_answer; }
  uint64_t accepted() const { return ok + warmup_ok; }  // every 2xx of the phase
  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  std::optional<double> cpu_us_per_request(const std::optional<double>& cpu_seconds) const {
    const uint64_t all = requests + warmup;
    if (!cpu_seconds || all == 0) return std::nullopt;
    return *cpu_seconds * 1e6 / static_cast<double>(all);
  }
};

struct Connection {
  std::vector<uint32_t> latencies_us;
  uint64_t requests = 0, ok = 0, non_2xx = 0, no_answer = 0, warmup = 0, warmup_ok = 0;
  Clock::time_point last_end{};
};

struct Shared {
  std::atomic<uint64_t> sequence{0};
  std::atomic<bool> hit_request_cap{false};
  std::mutex error_mutex;
  std::string first_error;
  uint64_t error_total = 0;

  void error(const std::string& what) {
    std::lock_guard lock(error_mutex);
    if (error_total++ == 0) first_error = what;
  }
};

// When a connection sends. Closed loop (interval zero): the next request
// right after the answer. Open loop: one request every `interval` from
// `first`, whether the host kept up or not, and the latency counts from the
// planned time, so that a host falling behind shows as latency instead of
// as fewer requests (no coordinated omission).
struct Schedule {
  Clock::time_point measure_begin;
  Clock::time_point measure_end;
  Clock::time_point first;
  Clock::duration interval{};
};

void run_connection(const Target& target, const std::string& key, const Phase& phase, const Schedule& schedule,
                    Shared& shared, Connection& result) {
  auto client = api_client(target, key);
  result.latencies_us.reserve(1 << 16);
  const bool open_loop = schedule.interval.count() > 0;
  for (uint64_t k = 0; !interrupted(); ++k) {
    Clock::time_point begin = Clock::now();
    if (open_loop) {
      const auto planned = schedule.first + schedule.interval * static_cast<int64_t>(k);
      if (planned >= schedule.measure_end) break;
      if (planned > begin) std::this_thread::sleep_until(planned);
      begin = planned;
    }
    const bool measuring = begin >= schedule.measure_begin;  // decided once per request
    if (begin >= schedule.measure_end) break;
    const uint64_t n = shared.sequence.fetch_add(1, std::memory_order_relaxed);
    if (n >= kMaxRequests) {
      shared.hit_request_cap.store(true);
      break;
    }
    auto response = phase.request(*client, n);
    const auto end = Clock::now();
    const bool ok = response && response->status >= 200 && response->status < 300;
    if (measuring) {
      ++result.requests;
      result.last_end = end;
      if (ok) {
        ++result.ok;
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(end - begin).count();
        result.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
      } else if (response) {
        ++result.non_2xx;
      } else {
        ++result.no_answer;
      }
    } else {
      ++result.warmup;
      if (ok) ++result.warmup_ok;
    }
    if (!response) {
      shared.error("no answer: " + httplib::to_string(response.error()));
      if (response.error() == httplib::Error::Connection) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // don't spin on a dead host
      }
    } else if (!ok) {
      shared.error("HTTP " + std::to_string(response->status) + ": " + response->body.substr(0, 300));
    }
  }
}

PhaseResult run_phase(const Target& target, const std::string& key, const Phase& phase, const Options& options,
                      std::optional<pid_t> host_pid) {
  const std::optional<double> cpu_before = host_pid ? bench::cpu_seconds(*host_pid) : std::nullopt;
  const std::optional<double> own_cpu_before = bench::cpu_seconds(::getpid());
  const std::optional<double> machine_before = bench::machine_busy_cpu_seconds();
  const auto start = Clock::now();
  const auto measure_begin = start + from_seconds(options.warmup);
  const auto measure_end = measure_begin + from_seconds(options.seconds);
  // Open loop: each connection sends every connections/rate seconds, the
  // connections evenly staggered.
  const Clock::duration interval =
      options.rate ? from_seconds(options.connections / *options.rate) : Clock::duration::zero();
  Shared shared;
  std::vector<Connection> connections(static_cast<size_t>(options.connections));
  {
    std::vector<std::thread> threads;
    threads.reserve(connections.size());
    for (size_t i = 0; i < connections.size(); ++i) {
      const Schedule schedule{measure_begin, measure_end, start + interval * static_cast<int64_t>(i) / options.connections,
                              interval};
      threads.emplace_back([&, schedule, i] { run_connection(target, key, phase, schedule, shared, connections[i]); });
    }
    for (auto& thread : threads) thread.join();
  }
  const std::optional<double> cpu_after = host_pid ? bench::cpu_seconds(*host_pid) : std::nullopt;
  const std::optional<double> own_cpu_after = bench::cpu_seconds(::getpid());
  const std::optional<double> machine_after = bench::machine_busy_cpu_seconds();

  PhaseResult result;
  result.span_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (machine_before && machine_after) result.machine_cpu_seconds = *machine_after - *machine_before;
  result.name = phase.name;
  result.description = phase.description;
  Clock::time_point last_end{};
  for (auto& c : connections) {
    result.requests += c.requests;
    result.ok += c.ok;
    result.non_2xx += c.non_2xx;
    result.no_answer += c.no_answer;
    result.warmup += c.warmup;
    result.warmup_ok += c.warmup_ok;
    last_end = std::max(last_end, c.last_end);
    result.latencies_us.insert(result.latencies_us.end(), c.latencies_us.begin(), c.latencies_us.end());
  }
  std::sort(result.latencies_us.begin(), result.latencies_us.end());
  result.seconds = result.requests == 0 ? 0 : std::chrono::duration<double>(last_end - measure_begin).count();
  if (cpu_before && cpu_after) result.host_cpu_seconds = *cpu_after - *cpu_before;
  if (own_cpu_before && own_cpu_after) result.bench_cpu_seconds = *own_cpu_after - *own_cpu_before;
  result.first_error = shared.first_error;
  result.error_total = shared.error_total;
  result.hit_request_cap = shared.hit_request_cap.load();
  return result;
}

// ---- Report ----

void print_phase(const PhaseResult& r) {
  std::cout << "\n== " << r.name << ": " << r.description << "\n";
  std::cout << "requests               " << r.requests << " in " << fixed(r.seconds, 2) << " s (plus " << r.warmup
            << " in warm-up)\n";
  std::cout << "requests/s             " << fixed(r.rate(), 0) << " (2xx only)\n";
  const auto& l = r.latencies_us;
  std::cout << "latency ms             p50 " << fixed(percentile_ms(l, 50), 2) << "  p90 " << fixed(percentile_ms(l, 90), 2)
            << "  p99 " << fixed(percentile_ms(l, 99), 2) << "  max " << fixed(l.empty() ? 0 : l.back() / 1000.0, 2)
            << "\n";
  std::cout << "errors                 " << r.errors() << " (non-2xx: " << r.non_2xx << ", no answer: " << r.no_answer
            << ")\n";
  if (auto cpu = r.cpu_us_per_request(r.host_cpu_seconds)) {
    std::cout << "host CPU per request   " << fixed(*cpu, 0) << " µs (" << fixed(*r.host_cpu_seconds, 2) << " CPU s for "
              << r.requests + r.warmup << " requests, warm-up included)\n";
  }
  // On the same cores: what the host could not use.
  if (auto cpu = r.cpu_us_per_request(r.bench_cpu_seconds)) {
    std::cout << "bench CPU per request  " << fixed(*cpu, 0) << " µs (the load generator, same span)\n";
  }
  // Neighbours (builds, other tests) on the same cores make a run noisy.
  if (r.machine_cpu_seconds && r.host_cpu_seconds && r.bench_cpu_seconds && r.span_seconds > 0) {
    const double others = std::max(0.0, *r.machine_cpu_seconds - *r.host_cpu_seconds - *r.bench_cpu_seconds);
    std::cout << "machine                " << fixed(*r.machine_cpu_seconds / r.span_seconds, 2) << " of "
              << std::thread::hardware_concurrency() << " cores busy; other processes and the kernel "
              << fixed(others / r.span_seconds, 2) << " cores\n";
  }
  if (r.error_total > 0) {
    std::cout << "first error            " << r.first_error << " (" << r.error_total << " in all, warm-up included)\n";
  }
  if (r.hit_request_cap) std::cout << "note                   stopped at the request cap (" << kMaxRequests << ")\n";
}

json phase_json(const PhaseResult& r) {
  const auto& l = r.latencies_us;
  const auto cpu = r.cpu_us_per_request(r.host_cpu_seconds);
  const auto own = r.cpu_us_per_request(r.bench_cpu_seconds);
  return {{"requests", r.requests},
          {"warmup_requests", r.warmup},
          {"seconds", r.seconds},
          {"requests_per_second", r.rate()},
          {"latency_ms",
           {{"p50", percentile_ms(l, 50)},
            {"p90", percentile_ms(l, 90)},
            {"p99", percentile_ms(l, 99)},
            {"max", l.empty() ? 0.0 : l.back() / 1000.0}}},
          {"errors", {{"non_2xx", r.non_2xx}, {"no_answer", r.no_answer}}},
          {"first_error", r.first_error.empty() ? json(nullptr) : json(r.first_error)},
          {"host_cpu_us_per_request", cpu ? json(*cpu) : json(nullptr)},
          {"bench_cpu_us_per_request", own ? json(*own) : json(nullptr)},
          {"machine_busy_cores", r.machine_cpu_seconds && r.span_seconds > 0 ? json(*r.machine_cpu_seconds / r.span_seconds)
                                                                              : json(nullptr)}};
}

}  // namespace

int main(int argc, char** argv) {
  bench::set_program_name("bench_api");
  Options options = parse_args(argc, argv);
  bench::install_signal_handlers();

  const int phases = (options.list ? 1 : 0) + (options.send ? 1 : 0);
  const double total_bound = options.startup_timeout + kSetupSeconds +
                             phases * (options.warmup + options.seconds + 60) + options.drain_timeout +
                             std::chrono::duration<double>(bench::kHostStopGrace).count() + 30;
  bench::Watchdog watchdog(Clock::now() + from_seconds(total_bound));

  if (options.switchboard.empty()) options.switchboard = (bench::own_directory() / "switchboard").string();
  if (::access(options.switchboard.c_str(), X_OK) != 0) {
    fail("no host executable at " + options.switchboard + " (build it, or pass --switchboard PATH)");
  }
  std::string pattern = (fs::temp_directory_path() / "switchboard-bench-api-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) fail(std::string("mkdtemp: ") + std::strerror(errno));
  const fs::path temp_dir = pattern;
  const fs::path data_dir = temp_dir / "data";
  const fs::path log_path = temp_dir / "host.log";
  const fs::path config_path = temp_dir / "config.json";
  auto cleanup = [&] {
    if (!options.keep_data) {
      std::error_code ignored;
      fs::remove_all(temp_dir, ignored);
    } else {
      std::cout << "kept                   " << temp_dir.string() << " (data/, config.json and host.log)\n";
    }
  };

  // The per-key limit off (a rate <= 0 disables a RateLimiter): the load is
  // one key at thousands of requests a second, which the default 50/s
  // would answer with 429s.
  json config = {{"security", {{"password_cost", "min"}, {"key_rate", 0}}}};
  if (options.db_readers) config["db_readers"] = *options.db_readers;
  if (options.http_threads) config["http_threads"] = *options.http_threads;
  std::ofstream(config_path) << config.dump(2) << "\n";

  bench::HostProcess host;
  Target target{"127.0.0.1", 0};
  try {
    target.port = bench::free_loopback_port();
    bench::HostLaunch launch{options.switchboard, options.serve_args, data_dir, target.port, options.host_log_level,
                             config_path.string(), log_path, {}};
    launch.env = {std::string("ENGINE_API_KEY=") + kMasterKey, std::string("WORKFLOW_ENGINE_INTERNAL_PSK=") + kPsk};
    host.start(launch);
  } catch (const std::exception& e) {
    cleanup();
    fail(e.what());
  }
  const std::optional<pid_t> host_pid = host.pid();

  std::cout << "machine                " << std::thread::hardware_concurrency() << " cores (nproc), " << cpu_model()
            << ", load average " << load_average() << "\n";
  std::cout << "host                   " << options.switchboard << " serve (pid " << host.pid() << ", data "
            << data_dir.string() << ", log level " << options.host_log_level << ")\n";
  std::cout << "config                 " << config.dump() << "\n";
  std::cout << "rate limit             off (security.key_rate 0: the per-key limiter is disabled)\n";
  std::cout << "target                 " << target.display() << "\n";
  std::cout.flush();

  auto give_up = [&](const std::string& why) {
    std::cerr << "bench_api: " << why << "\n";
    std::cerr << "host log (last lines):\n" << bench::tail_of_file(log_path, 40);
    host.stop();
    cleanup();
    return 2;
  };
  std::string why;
  if (!bench::wait_until_ready(target, options.startup_timeout, &host, why)) return give_up(why);

  Setup setup;
  try {
    setup = bench::set_up(target, options.contacts);
  } catch (const std::exception& e) {
    return give_up(std::string("setup: ") + e.what());
  }
  const std::string ws = "/api/v1/workspaces/" + setup.workspace_id;
  std::cout << "setup                  organization " << setup.organization_id << ", workspace " << setup.workspace_id
            << ", sandbox profile " << setup.profile_id << ", a workspace key (read, send), " << options.contacts
            << " contacts in " << fixed(setup.contacts_seconds, 1) << " s\n";
  std::cout << "load                   " << options.connections << " keep-alive connections (one thread each, "
            << "TCP_NODELAY), "
            << (options.rate ? "open loop at " + fixed(*options.rate, 0) + " requests/s in all" : std::string("closed loop"))
            << ", warm-up " << fixed(options.warmup, 1) << " s, then "
            << fixed(options.seconds, 1) << " s per phase\n";
  std::cout.flush();

  std::vector<Phase> plan;
  if (options.list) {
    const std::string path = ws + "/contacts?limit=50";
    plan.push_back({"list", "GET " + path, [path](httplib::Client& client, uint64_t) { return client.Get(path); }});
  }
  if (options.send) {
    const std::string path = ws + "/messages";
    const std::string profile = setup.profile_id;
    const uint64_t contacts = options.contacts;
    plan.push_back({"send", "POST " + path + " {\"profile_id\",\"to\",\"type\":\"text\",\"text\":\"bench\"}",
                    [path, profile, contacts](httplib::Client& client, uint64_t n) {
                      const std::string body = R"({"profile_id":")" + profile + R"(","to":")" + phone_of(n % contacts) +
                                               R"(","type":"text","text":"bench"})";
                      return client.Post(path, body, "application/json");
                    }});
  }

  std::vector<PhaseResult> results;
  std::optional<Stored> stored;
  std::string stored_error;
  bool check_ok = true;
  for (const auto& phase : plan) {
    if (interrupted()) break;
    results.push_back(run_phase(target, setup.api_key, phase, options, host_pid));
    const PhaseResult& r = results.back();
    print_phase(r);
    if (phase.name == "send" && !interrupted()) {
      try {
        stored = bench::wait_for_outbox(data_dir / "switchboard.db", setup.workspace_id, r.accepted(), options.drain_timeout,
                                 host_pid);
      } catch (const std::exception& e) {
        stored_error = e.what();
      }
      if (stored) {
        const bool equal = static_cast<uint64_t>(stored->outbound) == r.accepted();
        check_ok = equal;
        std::cout << "stored                 " << stored->outbound << " outbound messages for " << r.accepted()
                  << " accepted sends (202, warm-up included): " << (equal ? "equal" : "NOT EQUAL") << "\n";
        std::string statuses;
        for (const auto& [status, count] : stored->status) {
          statuses += (statuses.empty() ? "" : ", ") + status + " " + std::to_string(count);
        }
        std::cout << "outbox                 " << (stored->drained ? "drained" : "NOT drained") << " "
                  << fixed(stored->waited_seconds, 1) << " s after the load (" << statuses << ")\n";
        if (stored->host_cpu_seconds && r.host_cpu_seconds && r.requests + r.warmup > 0) {
          const double all = *r.host_cpu_seconds + *stored->host_cpu_seconds;
          std::cout << "host CPU per send      " << fixed(all * 1e6 / static_cast<double>(r.requests + r.warmup), 0)
                    << " µs with the outbox's sending after the load\n";
        }
      } else {
        check_ok = false;
        std::cout << "stored                 not read: " << stored_error << "\n";
      }
    }
  }

  const long rss_kib = bench::peak_rss_kib(host.pid()).value_or(-1);
  const std::string host_stop = host.stop();
  std::cout << "\n";
  if (rss_kib >= 0) {
    std::cout << "host peak RSS          " << fixed(static_cast<double>(rss_kib) / 1024.0, 1) << " MiB (VmHWM)\n";
  }
  std::cout << "host                   " << host_stop << "\n";
  if (interrupted()) std::cout << "note                   interrupted: figures cover the part that ran\n";

  uint64_t errors = 0;
  for (const auto& r : results) errors += r.errors();
  if (errors > 0) std::cout << "host log (last lines):\n" << bench::tail_of_file(log_path, 20);

  if (options.json) {
    json out = {{"connections", options.connections},
                {"rate", options.rate ? json(*options.rate) : json(nullptr)},
                {"warmup_seconds", options.warmup},
                {"contacts", options.contacts},
                {"cores", std::thread::hardware_concurrency()},
                {"cpu", cpu_model()},
                {"config", config},
                {"host_peak_rss_kib", rss_kib >= 0 ? json(rss_kib) : json(nullptr)}};
    for (const auto& r : results) out[r.name] = phase_json(r);
    if (stored) {
      out["send"]["stored_outbound"] = stored->outbound;
      out["send"]["outbox_drained"] = stored->drained;
    }
    std::cout << out.dump() << "\n";
  }

  cleanup();
  const bool all_ok = errors == 0 && check_ok && !results.empty() && !interrupted() &&
                      std::all_of(results.begin(), results.end(), [](const PhaseResult& r) { return r.ok > 0; });
  return all_ok ? 0 : 1;
}

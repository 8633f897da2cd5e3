#include "target.hpp"

#include "bench_args.hpp"
#include "bench_run.hpp"
#include "host_process.hpp"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <thread>

namespace bench {

std::string Target::display() const {
  return host.find(':') != std::string::npos ? "http://[" + host + "]:" + std::to_string(port)
                                             : "http://" + host + ":" + std::to_string(port);
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Target parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) fail("--url must start with http:// (got '" + url + "')");
  std::string rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  Target target;
  std::string port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) fail("--url: unclosed [ in '" + url + "'");
    target.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_text = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    target.host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  target.port = port_text.empty() ? 80 : static_cast<int>(parse_number("--url port", port_text, 1, 65535));
  if (!is_loopback(target.host)) {
    fail("--url: only loopback hosts (127.0.0.0/8, ::1, localhost) may be benchmarked, got '" + target.host + "'");
  }
  return target;
}

bool wait_until_ready(const Target& target, double timeout_seconds, HostProcess* host, std::string& why) {
  const auto deadline = Clock::now() + from_seconds(timeout_seconds);
  httplib::Client client(target.host, target.port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(5, 0);
  std::string last = "no answer";
  while (Clock::now() < deadline && !interrupted()) {
    if (host && !host->running()) {
      why = "the host exited before it was ready (" + host->exit_description() + ")";
      return false;
    }
    if (auto response = client.Get("/ready")) {
      if (response->status == 200) return true;
      last = "GET /ready answered " + std::to_string(response->status) + ": " + response->body.substr(0, 200);
    } else {
      last = "GET /ready: " + httplib::to_string(response.error());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  why = interrupted() ? "interrupted"
                      : "not ready after " + std::to_string(static_cast<int>(timeout_seconds)) + " s; last: " + last;
  return false;
}

}  // namespace bench

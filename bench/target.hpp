#pragma once
// The HTTP host a bench drives: loopback only (a bench must never load
// someone else's machine), and waiting until it answers GET /ready.
//
// Threads: called from a bench's main thread.
#include <string>

namespace bench {

class HostProcess;

struct Target {
  std::string host;  // as getaddrinfo wants it (IPv6 without brackets)
  int port = 0;
  std::string display() const;  // http://host:port
};

// 127.0.0.0/8, ::1 or "localhost".
bool is_loopback(const std::string& host);
// "http://host[:port]" with a loopback host, or fail() naming --url.
Target parse_url(const std::string& url);

// Polls GET /ready until it answers 200 (true), or the host dies, the bench
// is interrupted (bench::interrupted()) or `timeout_seconds` pass (false,
// and `why` says which). `host`: the started host, null for --url.
bool wait_until_ready(const Target& target, double timeout_seconds, HostProcess* host, std::string& why);

}  // namespace bench

#include "support/run_cli.hpp"

#include <array>
#include <cstdio>
#include <stdexcept>
#include <sys/wait.h>

namespace sb::test {

CliOutput run_switchboard(const std::string& args, const std::string& shell_input) {
  std::string cmd = std::string("env -u SWITCHBOARD_PLUGIN_PATH -u SWITCHBOARD_CONFIG ") + SB_SWITCHBOARD_EXE + " " +
                    args + " 2>&1";
  if (!shell_input.empty()) cmd = "( " + shell_input + " ) | " + cmd;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace sb::test

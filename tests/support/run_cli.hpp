#pragma once
// Runs the real `switchboard` executable as an admin would, for CLI tests.
#include <string>

namespace sb::test {

struct CliOutput {
  int status;        // the exit code; -1 when it did not exit normally
  std::string text;  // stdout and stderr together
};

// `switchboard ARGS` through a shell, with SWITCHBOARD_PLUGIN_PATH and
// SWITCHBOARD_CONFIG unset (the build tree's plugins are found next to the
// executable); `shell_input`, when given, is a shell command whose output is
// piped into it.
CliOutput run_switchboard(const std::string& args, const std::string& shell_input = "");

}  // namespace sb::test

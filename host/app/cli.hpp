#pragma once
// The `switchboard` command line: serve, plugins list, plugins check, version.
namespace sb::app {

// Runs the command in argv; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace sb::app

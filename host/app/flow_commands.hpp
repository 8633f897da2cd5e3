#pragma once
// `switchboard flow ...`: offline tools for flow files (docs/flows.md).
//
//   flow validate FILE...   check graphs (.json) and Lua flows (.lua)
//   flow test FLOW --conversation FIXTURE.json   play a scripted conversation
//   flow run FLOW [FLOW...]  chat with a flow in the terminal
//
// Each subcommand reads its own options from the arguments after "flow
// <subcommand>", so one can grow flags (`flow test FILE --conversation
// FIXTURE`) without touching the others or the top-level parser in cli.cpp.
#include <string>
#include <vector>

namespace sb::app {

// Usage lines of every flow subcommand, for `switchboard help`.
extern const char* const kFlowUsage;

// Runs `switchboard flow <args...>` (args start with the subcommand) and
// returns the exit code: 0 when everything was fine; validate: 1 when a
// flow has problems; test: 1 when an expectation failed, 2 when the flow or
// fixture does not load. Throws sb::Error(invalid_argument) for a usage error (cli.cpp
// turns it into exit code 2).
int run_flow_command(const std::vector<std::string>& args);

}  // namespace sb::app

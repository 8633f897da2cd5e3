#pragma once
// `switchboard kb ...`: knowledge bases of a running host, through its
// HTTP API (docs/knowledge.md).
//
//   kb ingest --kb NAME FILE...   upload documents and show the ingestion's progress
//   kb search --kb NAME QUESTION  the closest passages with their scores
//   kb ask --kb NAME QUESTION     the answer a flow would send, with its sources
//   kb list                       the workspace's knowledge bases
//   kb status --kb NAME           one base's documents and progress
//
// Every subcommand takes --url, --api-key and --workspace (defaults from
// SWITCHBOARD_URL, SWITCHBOARD_API_KEY or ENGINE_API_KEY, and
// SWITCHBOARD_WORKSPACE), and reads its own options from the arguments
// after "kb <subcommand>".
#include <string>
#include <vector>

namespace sb::app {

// Usage lines of every kb subcommand, for `switchboard help`.
extern const char* const kKbUsage;

// Runs `switchboard kb <args...>` (args start with the subcommand) and
// returns the exit code: 0 when it worked (ingest: every document is
// ready; ask: answered), 1 when the host refused or failed (the message is
// printed on stderr). Throws sb::Error(invalid_argument) for a usage error
// (cli.cpp turns it into exit code 2).
int run_kb_command(const std::vector<std::string>& args);

}  // namespace sb::app

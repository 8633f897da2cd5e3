#pragma once
// Command-line helpers the bench programs share.
#include <string>

namespace bench {

// Prints "<program>: <message>" to stderr and exits with status 2 (bad usage).
[[noreturn]] void fail(const std::string& message);
// The program name fail() and the watchdog print; set once in main().
void set_program_name(const std::string& name);
const std::string& program_name();

// `text` as a number in [min, max], or fail() naming `flag`.
double parse_number(const std::string& flag, const std::string& text, double min, double max);

}  // namespace bench

// Catch2 main for every test executable. The host's log is quiet in tests
// (warnings and errors only) unless SB_TEST_LOG_LEVEL says otherwise.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "core/log.hpp"

#include <cstdlib>

int main(int argc, char* argv[]) {
  const char* level = std::getenv("SB_TEST_LOG_LEVEL");
  sb::init_logging(sb::LogOptions{level ? level : "warn", "human"});
  return Catch::Session().run(argc, argv);
}

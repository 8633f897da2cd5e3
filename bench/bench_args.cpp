#include "bench_args.hpp"

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace bench {

namespace {
std::string& name_storage() {
  static std::string name = "bench";
  return name;
}
}  // namespace

void set_program_name(const std::string& name) { name_storage() = name; }
const std::string& program_name() { return name_storage(); }

void fail(const std::string& message) {
  std::cerr << program_name() << ": " << message << "\n";
  std::exit(2);
}

double parse_number(const std::string& flag, const std::string& text, double min, double max) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !(value >= min && value <= max)) {
    std::ostringstream out;
    out << flag << " wants a number from " << min << " to " << max << ", got '" << text << "'";
    fail(out.str());
  }
  return value;
}

}  // namespace bench

#pragma once
// A fresh directory under the system temp dir, removed when the object dies
// (kept when SB_KEEP_TEST_DIRS is set, for post-mortems).
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace sb::test {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "sb-test") {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            (tag + "-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (!std::getenv("SB_KEEP_TEST_DIRS")) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace sb::test

// Helpers shared by the tests: fresh scratch directories under the build
// tree, running the CLI, and writing small WAV files.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tessera::testing {

// An empty directory named after the running test.
inline std::string fresh_dir(const std::string& tag = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  if (!tag.empty()) name += "." + tag;
  const std::filesystem::path dir = std::filesystem::path(TESSERA_TEST_TMP) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `tessera <args>` through the shell, capturing both streams.
inline CommandResult run_tessera(const std::string& args) {
  const std::string cmd = std::string("'") + TESSERA_BINARY + "' " + args + " 2>&1";
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.output += buf.data();
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

inline void write_text(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

inline std::vector<float> sine(double hz, double amplitude, int rate, std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = float(amplitude * std::sin(2 * M_PI * hz * i / rate));
  return x;
}

}  // namespace tessera::testing

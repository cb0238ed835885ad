// Helpers shared by the tests: fresh scratch directories under the build
// tree, running the CLI, and writing small WAV files.
#pragma once

#include <unistd.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tessera/audio/encode.h"
#include "tessera/common/process.h"

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

// Runs a shell command line, capturing both streams, through the same
// process helper as the sweep's workers (common/process.h). The exit code
// is 128 + the signal for a command that a signal ended.
inline CommandResult run_command(const std::string& command_line) {
  static std::atomic<int> calls{0};
  std::filesystem::create_directories(TESSERA_TEST_TMP);
  common::SpawnOptions o;
  o.output_path = std::string(TESSERA_TEST_TMP) + "/run_command." + std::to_string(::getpid()) +
                  "." + std::to_string(calls++) + ".log";
  CommandResult r;
  r.exit_code =
      common::wait_process(common::spawn_process({"/bin/sh", "-c", command_line}, o)).code;
  std::ifstream in(o.output_path, std::ios::binary);
  r.output.assign(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove(o.output_path);
  return r;
}

// Runs `tessera <args>` through the shell, capturing both streams.
inline CommandResult run_tessera(const std::string& args) {
  return run_command(std::string("'") + TESSERA_BINARY + "' " + args);
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

// `samples` as a mono 16-bit WAV file at `rate` Hz.
inline void write_mono_wav(const std::string& path, std::vector<float> samples, int rate = 16000) {
  audio::AudioBuffer a;
  a.sample_rate_hz = rate;
  a.channels = 1;
  a.samples = std::move(samples);
  audio::write_wav(path, a);
}

}  // namespace tessera::testing

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "tessera/data/synth.h"
#include "tessera/study/config.h"

namespace tessera::testing {

// Starts `program <args...>` with stdout and stderr sent to log_path and
// `env` ("NAME=value") set in the child's environment.
inline pid_t spawn_program(const std::string& program, const std::vector<std::string>& args,
                           const std::string& log_path, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  common::SpawnOptions o;
  o.output_path = log_path;
  o.set_env = env;
  return common::spawn_process(argv, o);
}

inline pid_t spawn_tessera(const std::vector<std::string>& args, const std::string& log_path,
                           const std::vector<std::string>& env = {}) {
  return spawn_program(TESSERA_BINARY, args, log_path, env);
}

// The child's exit status, or 128 + the signal that ended it.
inline int wait_exit(pid_t pid) {
  return common::wait_process(pid).code;
}

inline bool wait_for_file(const std::string& path, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (std::filesystem::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// A key for a cached test fixture: FNV-1a (64-bit) over the contents of the
// files that shape it (the binary or library that makes it, its config) and
// over `text` (its options, its command line), as 16 hex digits. A change to
// any of them makes a new key, so no test reuses what an older build made.
// Not a security hash: it only tells builds apart.
inline std::string content_key(const std::vector<std::string>& files, const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      h = (h ^ static_cast<unsigned char>(p[i])) * 0x100000001b3ULL;
  };
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw std::runtime_error("content_key: cannot read '" + f + "'");
    std::array<char, 1 << 16> buf{};
    while (in.read(buf.data(), buf.size()) || in.gcount() > 0)
      mix(buf.data(), std::size_t(in.gcount()));
    mix("\0", 1);
  }
  mix(text.data(), text.size());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

// A small synthetic DCASE dataset shared by the tests: 9 classes x `clips`
// clips. Its folder is keyed by the generator's options and the data
// library's contents (TESSERA_DATA_LIBRARY, where synth.cpp is compiled), so
// a change to the generator reaches every test; folders of older keys are
// removed.
inline std::string shared_synth_dataset(int clips = 4, int clips_per_session = 3,
                                        double interference = 0.0) {
  const std::string name =
      "shared_synth_" + std::to_string(clips) +
      (clips_per_session == 3 ? "" : "_s" + std::to_string(clips_per_session)) +
      (interference == 0 ? "" : "_i" + std::to_string(int(std::lround(interference * 100))));
  const std::string key = content_key({TESSERA_DATA_LIBRARY}, name);
  const std::string dir = std::string(TESSERA_TEST_TMP) + "/" + name + "." + key;
  if (!std::filesystem::exists(dir + "/evaluation_setup/fold1_test.txt")) {
    // Older keys of the same options, and the unkeyed folders of before.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(TESSERA_TEST_TMP, ec)) {
      const std::string n = e.path().filename().string();
      if (n == name || (n.rfind(name + ".", 0) == 0 && n.size() == name.size() + 17))
        std::filesystem::remove_all(e.path(), ec);
    }
    const std::string tmp = dir + ".tmp" + std::to_string(::getpid());
    std::filesystem::remove_all(tmp);
    data::SynthOptions o;
    o.output_dir = tmp;
    o.clips_per_class = clips;
    o.clips_per_session = clips_per_session;
    o.interference = interference;
    o.threads = 2;
    data::write_synth_dataset(o);
    std::filesystem::rename(tmp, dir, ec);  // another test binary may have won the race
    if (ec) std::filesystem::remove_all(tmp);
  }
  return dir;
}

// The demo config (ResNet18 at width 8, 32-d embeddings) on the shared
// synthetic dataset at batch 16, warnings only: the library-level tests'
// training runs.
inline study::Config demo_config_on_shared_data(int epochs) {
  study::Config c = study::Config::load(std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json");
  c.dcase_dataset_path = shared_synth_dataset(4);
  c.epochs = epochs;
  c.batch_size = 16;
  c.log_level = "warning";
  return c;
}

// `tessera train` of the demo config (ResNet18 at width 8, 32-d embeddings)
// at batch 16 on 2 threads, warnings only: the single-process runs.
inline std::vector<std::string> short_train_args(const std::string& data, const std::string& run,
                                                 int epochs) {
  return {"train",
          "-c",
          std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json",
          "--set",
          "dcase_dataset_path=" + data,
          "--set",
          "epochs=" + std::to_string(epochs),
          "--set",
          "batch_size=16",
          "--set",
          "log_level=warning",
          "--run-dir",
          run,
          "--threads",
          "2"};
}

// `tessera train` of the demo config for three epochs at batch 16 on one
// thread, on the shared synthetic dataset: what the multi-process tests run.
inline std::vector<std::string> demo_train_args(const std::string& run, int seed,
                                                const std::string& log_level, int dist_timeout_s) {
  return {"train",
          "-c",
          std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json",
          "--set",
          "dcase_dataset_path=" + shared_synth_dataset(4),
          "--set",
          "epochs=3",
          "--set",
          "batch_size=16",
          "--set",
          "random_seed=" + std::to_string(seed),
          "--set",
          "log_level=" + log_level,
          "--threads",
          "1",
          "--run-dir",
          run,
          "--dist-timeout",
          std::to_string(dist_timeout_s)};
}

// A TCP port on 127.0.0.1 that was free a moment ago (for c10d rendezvous).
inline int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A run that `tessera <command>` trains into `run` (the command names it),
// shared by a test binary's tests and reused while its key holds: the
// tessera binary's and `config`'s contents, and the command. `done` is the
// checkpoint that says the training finished. Returns "" on success, else
// why it failed: callers record it rather than assert, since gtest reports
// a failed SetUpTestSuite as skipped tests, which ctest counts as passed.
inline std::string train_shared_run(const std::string& run, const std::string& command,
                                    const std::string& config, const std::string& done) {
  const std::string key = content_key({TESSERA_BINARY, config}, command);
  const std::string stamp = run + ".key";
  if (std::filesystem::exists(run + "/checkpoints/" + done) && std::filesystem::exists(stamp) &&
      read_text(stamp) == key)
    return "";
  std::filesystem::remove_all(run);
  std::filesystem::remove(stamp);
  std::filesystem::create_directories(run);
  const auto r = run_tessera(command);
  if (r.exit_code != 0)
    return "training " + run + " exited with " + std::to_string(r.exit_code) + ":\n" + r.output;
  std::ofstream(stamp) << key;
  return "";
}

}  // namespace tessera::testing

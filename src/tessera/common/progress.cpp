#include "tessera/common/progress.h"

#include <unistd.h>

#include <cstdio>

#include "tessera/common/format.h"

namespace tessera::common {

bool Progress::enabled() {
  return ::isatty(2) == 1;
}

Progress::Progress(std::string label, std::size_t total)
    : label_(std::move(label)), total_(total), active_(enabled()) {
  start_ = last_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  finish();
}

void Progress::update(std::size_t done, const std::string& extra) {
  if (!active_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most 10 times a second: a terminal write costs more than a step.
  if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const int width = 30;
  const double frac = total_ ? static_cast<double>(done) / total_ : 1.0;
  const int filled = static_cast<int>(frac * width);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  const double secs = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\r%s [%s] %zu/%zu %s %s\033[K", label_.c_str(), bar.c_str(), done, total_,
               duration(secs).c_str(), extra.c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  if (!active_ || finished_) return;
  finished_ = true;
  std::fprintf(stderr, "\n");
}

}  // namespace tessera::common

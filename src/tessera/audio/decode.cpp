#include "tessera/audio/decode.h"

#include <sndfile.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace tessera::audio {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error("decode: '" + path + "': " + why);
}

struct SndCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndPtr = std::unique_ptr<SNDFILE, SndCloser>;

// Opens with checks that give a reason a person can act on, rather than
// libsndfile's generic "format not recognised" for a missing file.
SndPtr open_checked(const std::string& path, SF_INFO& info) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory, not an audio file");
  if (!S_ISREG(st.st_mode)) fail(path, "is not a regular file");
  if (st.st_size == 0) fail(path, "is empty (0 bytes)");
  std::memset(&info, 0, sizeof(info));
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f) fail(path, std::string("not a readable audio file: ") + sf_strerror(nullptr));
  if (info.channels <= 0 || info.samplerate <= 0) {
    sf_close(f);
    fail(path, "header has no channels or no sample rate");
  }
  // Guards against headers that would make resampling explode in size.
  if (info.samplerate < 1000 || info.samplerate > 1000000) {
    sf_close(f);
    fail(path, "implausible sample rate " + std::to_string(info.samplerate) + " Hz");
  }
  if (info.channels > 64) {
    sf_close(f);
    fail(path, "implausible channel count " + std::to_string(info.channels));
  }
  return SndPtr(f);
}

// libsndfile quietly shortens a WAV whose data chunk claims more bytes than
// the file holds, and notes it in its log as "data : 32000 (should be 8000)".
// A header that lies about its length means a truncated copy: refuse it.
void check_truncation(SNDFILE* f, const std::string& path) {
  char log[8192] = {0};
  sf_command(f, SFC_GET_LOG_INFO, log, sizeof(log));
  const char* p = std::strstr(log, "\ndata : ");
  if (!p) return;
  long long claimed = 0, actual = 0;
  if (std::sscanf(p, "\ndata : %lld (should be %lld)", &claimed, &actual) == 2 &&
      claimed > actual) {
    fail(path, "truncated: the header claims " + std::to_string(claimed) +
                   " data bytes but the file holds " + std::to_string(actual));
  }
}

}  // namespace

AudioInfo probe_file(const std::string& path) {
  SF_INFO info;
  SndPtr f = open_checked(path, info);
  return AudioInfo{info.samplerate, info.channels, static_cast<long long>(info.frames)};
}

AudioBuffer decode_file(const std::string& path) {
  SF_INFO info;
  SndPtr f = open_checked(path, info);
  check_truncation(f.get(), path);
  if (info.frames <= 0) fail(path, "holds zero samples");
  // Guard against a header that claims an absurd length before allocating.
  struct stat st {};
  ::stat(path.c_str(), &st);
  const long double claimed_bytes = static_cast<long double>(info.frames) * info.channels;
  if (claimed_bytes > 64.0L * (st.st_size + 1024)) {
    fail(path, "header claims " + std::to_string(info.frames) +
                   " frames, far more than the file size allows (truncated or corrupt)");
  }
  const std::size_t frames = static_cast<std::size_t>(info.frames);
  const int ch = info.channels;
  std::vector<float> interleaved(frames * ch);
  // Integer formats are normalised by 1/2^(bits-1) (libsndfile's default).
  sf_command(f.get(), SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
  const sf_count_t got = sf_readf_float(f.get(), interleaved.data(), info.frames);
  if (got < 0) fail(path, std::string("read error: ") + sf_strerror(f.get()));
  if (got != info.frames) {
    fail(path, "truncated: the header says " + std::to_string(info.frames) + " frames but only " +
                   std::to_string(got) + " could be read");
  }
  AudioBuffer out;
  out.sample_rate_hz = info.samplerate;
  out.channels = ch;
  out.samples.resize(frames * ch);
  for (std::size_t i = 0; i < frames; ++i) {
    for (int c = 0; c < ch; ++c) {
      const float v = interleaved[i * ch + c];
      if (!std::isfinite(v)) {
        fail(path,
             "sample " + std::to_string(i) + " of channel " + std::to_string(c) + " is NaN or Inf");
      }
      out.samples[c * frames + i] = v;
    }
  }
  return out;
}

}  // namespace tessera::audio

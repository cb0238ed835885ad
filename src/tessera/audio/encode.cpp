#include "tessera/audio/encode.h"

#include <sndfile.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "tessera/common/temporary_files.h"

namespace tessera::audio {

void write_wav(const std::string& path, const AudioBuffer& audio, SampleFormat format) {
  if (audio.channels <= 0 || audio.sample_rate_hz <= 0) {
    throw std::invalid_argument("encode: '" + path + "': no channels or no sample rate");
  }
  const std::string tmp = common::temporary_name(path, ".wav");
  SF_INFO info{};
  info.samplerate = audio.sample_rate_hz;
  info.channels = audio.channels;
  info.format =
      SF_FORMAT_WAV | (format == SampleFormat::kPcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT);
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (!f) {
    throw std::runtime_error("encode: '" + path + "': cannot create: " + sf_strerror(nullptr));
  }
  // Clip rather than wrap: libsndfile's float->int conversion is not clipped.
  sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  const std::size_t frames = audio.frames();
  std::vector<float> interleaved(frames * audio.channels);
  for (int c = 0; c < audio.channels; ++c) {
    const float* src = audio.channel(c);
    for (std::size_t i = 0; i < frames; ++i) interleaved[i * audio.channels + c] = src[i];
  }
  const sf_count_t wrote = sf_writef_float(f, interleaved.data(), static_cast<sf_count_t>(frames));
  const bool ok = wrote == static_cast<sf_count_t>(frames);
  const std::string err = ok ? "" : sf_strerror(f);
  sf_close(f);
  if (!ok) {
    std::remove(tmp.c_str());
    throw std::runtime_error("encode: '" + path + "': write failed: " + err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("encode: '" + path + "': rename failed");
  }
}

}  // namespace tessera::audio

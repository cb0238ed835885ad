// Log-mel and MFCC features with TF 2.1's tf.signal semantics:
//   |stft(x, frame_length, frame_step, fft_size, periodic Hann, pad_end=False)|
//   -> linear_to_mel_weight_matrix -> log(mel + 1e-6)
//   -> (MFCC) dct-II * rsqrt(2 * n_mel), first n_mfcc coefficients.
// The window, FFT tables, mel weights and DCT matrix are built once in the
// constructor; compute() is const and thread-safe, and allocates only its
// output and one scratch set per call, never per frame. Each frame is
// computed independently, so a tile starting at a multiple of frame_step is a
// bit-exact slice of the whole clip's features.
//
//   FeatureExtractor fx(FeatureOptions{});
//   FeatureMatrix m = fx.compute(samples.data(), samples.size());
#pragma once

#include <cstddef>
#include <vector>

#include "tessera/audio/audio_buffer.h"
#include "tessera/features/feature_options.h"
#include "tessera/features/mel_filterbank.h"
#include "tessera/features/real_fft.h"

namespace tessera::features {

// Row-major [channels][frames][bins].
struct FeatureMatrix {
  int channels = 1;
  long frames = 0;
  int bins = 0;
  std::vector<float> data;
  const float* frame(int channel, long f) const {
    return data.data() + (std::size_t(channel) * frames + f) * bins;
  }
};

class FeatureExtractor {
 public:
  explicit FeatureExtractor(const FeatureOptions& options);

  const FeatureOptions& options() const { return options_; }
  long num_frames(long n_samples) const { return options_.num_frames(n_samples); }

  // One channel.
  FeatureMatrix compute(const float* samples, std::size_t n) const;
  // Every channel of the buffer.
  FeatureMatrix compute(const audio::AudioBuffer& audio) const;
  // Writes frames*bins values to out.
  void compute_into(const float* samples, std::size_t n, float* out) const;

  const std::vector<float>& window() const { return window_; }
  const MelFilterbank& mel_filterbank() const { return mel_; }
  // MFCC's DCT-II matrix [n_mfcc][n_mel_bins], row-major; empty for log-mel.
  const std::vector<float>& dct() const { return dct_; }

 private:
  FeatureOptions options_;
  std::vector<float> window_;
  RealFft fft_;
  MelFilterbank mel_;
  std::vector<float> dct_;  // [n_mfcc][n_mel], empty for log-mel
};

}  // namespace tessera::features

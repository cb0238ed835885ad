// Options of the feature extractor: TF 2.1's tf.signal STFT, mel filterbank,
// log and MFCC, with the study's defaults (Table 1: frame 480, step 160,
// FFT 1024, 128 mel bins, 13 MFCCs at 16 kHz).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tessera/common/simd_dispatch.h"

namespace tessera::features {

enum class FeatureKind { kLogMel, kMfcc };

struct FeatureOptions {
  FeatureKind kind = FeatureKind::kLogMel;
  int sample_rate_hz = 16000;
  int frame_length_samples = 480;
  int frame_step_samples = 160;
  int fft_size = 1024;
  int n_mel_bins = 128;
  int n_mfcc = 13;
  double lower_edge_hz = 50.0;
  double upper_edge_hz = 0.0;  // <= 0: the Nyquist frequency
  double log_offset = 1e-6;    // log(mel + offset), as the original extractor
  // The SIMD variant of the FFT's and the log's vector loops
  // (common/simd_dispatch.h). Every level computes the same bits
  // (tests/features/simd_variants_test.cpp), so it is not part of to_json()
  // nor of the feature cache's key; a lower one is for that comparison.
  common::SimdLevel simd = common::cpu_simd_level();

  void validate() const;
  int spectrum_bins() const { return fft_size / 2 + 1; }
  int out_bins() const { return kind == FeatureKind::kMfcc ? n_mfcc : n_mel_bins; }
  double upper_edge() const { return upper_edge_hz > 0 ? upper_edge_hz : sample_rate_hz / 2.0; }
  // tf.signal.stft with pad_end=False: 1 + (n - frame) / step, or 0.
  long num_frames(long n_samples) const;

  nlohmann::json to_json() const;
};

std::string to_string(FeatureKind kind);
FeatureKind parse_feature_kind(const std::string& name);  // logmel|mfcc

}  // namespace tessera::features

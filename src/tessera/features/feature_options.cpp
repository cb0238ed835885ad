#include "tessera/features/feature_options.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace tessera::features {

void FeatureOptions::validate() const {
  auto bad = [](const std::string& m) { throw std::invalid_argument("features: " + m); };
  common::check_simd_level(simd);
  if (sample_rate_hz <= 0) bad("sample_rate_hz must be > 0");
  if (frame_length_samples < 2) bad("frame_length must be >= 2");
  if (frame_step_samples < 1) bad("frame_step must be >= 1");
  if (fft_size < 8 || (fft_size & (fft_size - 1)) != 0) bad("fft_size must be a power of two >= 8");
  if (frame_length_samples > fft_size) {
    bad("frame_length (" + std::to_string(frame_length_samples) + ") must not exceed fft_size (" +
        std::to_string(fft_size) + ")");
  }
  if (n_mel_bins < 1) bad("n_mel_bin must be >= 1");
  if (kind == FeatureKind::kMfcc && (n_mfcc < 1 || n_mfcc > n_mel_bins)) {
    bad("n_mfcc_bin must lie in [1, n_mel_bin]");
  }
  if (lower_edge_hz < 0 || lower_edge_hz >= upper_edge())
    bad("lower edge must lie below the upper edge");
  if (upper_edge() > sample_rate_hz / 2.0) bad("upper edge must not exceed the Nyquist frequency");
  if (!(log_offset > 0)) bad("log_offset must be > 0");
}

long FeatureOptions::num_frames(long n_samples) const {
  if (n_samples < frame_length_samples) return 0;
  return 1 + (n_samples - frame_length_samples) / frame_step_samples;
}

nlohmann::json FeatureOptions::to_json() const {
  return {{"kind", to_string(kind)},
          {"sample_rate_hz", sample_rate_hz},
          {"frame_length_samples", frame_length_samples},
          {"frame_step_samples", frame_step_samples},
          {"fft_size", fft_size},
          {"n_mel_bins", n_mel_bins},
          {"n_mfcc", n_mfcc},
          {"lower_edge_hz", lower_edge_hz},
          {"upper_edge_hz", upper_edge()},
          {"log_offset", log_offset}};
}

std::string to_string(FeatureKind kind) {
  return kind == FeatureKind::kMfcc ? "mfcc" : "logmel";
}

FeatureKind parse_feature_kind(const std::string& name) {
  if (name == "logmel" || name == "LogMelExtractor") return FeatureKind::kLogMel;
  if (name == "mfcc" || name == "MFCCExtractor") return FeatureKind::kMfcc;
  throw std::invalid_argument("features: kind '" + name + "' must be logmel or mfcc");
}

}  // namespace tessera::features

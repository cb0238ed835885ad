// A trained model as an ONNX file, for programs outside Tessera (ONNX
// Runtime from Python, C++, C#, JavaScript). What is exported is evaluation
// mode: batch norm with its running statistics, dropout off, exactly the
// weights `tessera embed` uses (it recalibrates nothing).
//
// Two inputs:
//   logmel:   [batch, channels, tile_frames, bins] log-mel (or MFCC) tiles,
//             what `tessera features` computes, cut as training cuts them.
//   waveform: [batch, tile_samples] mono tiles at the run's sample rate. The
//             front end is in the graph: zero padding to the FFT size, ONNX's
//             STFT with the periodic Hann window, the magnitude, the run's mel
//             matrix as a constant, log(mel + offset) (and the DCT for MFCC).
// and two outputs: the unit embedding, or the pooled features the head
// projects. The batch dimension is dynamic.
//
//   eval::TrainedModel m = study::load_trained_model(run_dir);
//   exporting::export_onnx(m, OnnxExportOptions{}, "model.onnx");
#pragma once

#include <cstdint>
#include <string>

#include "tessera/eval/embedder.h"
#include "tessera/features/feature_options.h"

namespace tessera::exporting {

enum class ExportInput { kLogMel, kWaveform };
ExportInput parse_export_input(const std::string& name);  // logmel|waveform
std::string export_input_name(ExportInput input);

struct OnnxExportOptions {
  ExportInput input = ExportInput::kLogMel;
  eval::Layer layer = eval::Layer::kEmbedding;
  // ONNX's STFT needs opset 17; Debian's ONNX library (1.12) checks up to 17.
  int opset = 17;
  void validate() const;
};

struct OnnxExportSummary {
  std::string input_name, output_name;
  std::string input_shape;  // "[batch, 1, 198, 128]", "[batch, 32000]"
  std::int64_t output_size = 0;
  std::size_t bytes = 0;
};

// Writes `path` atomically, after ONNX's checker accepted the model; on any
// error no file is left. The metadata holds the Tessera version, the run's
// whole config (JSON), the checkpoint's epoch and the input's geometry.
OnnxExportSummary export_onnx(const eval::TrainedModel& model, const OnnxExportOptions& options,
                              const std::string& path);

// The front end alone: [batch, samples] mono audio (any length of at least
// one frame) -> [batch, 1, frames, bins] features, as `tessera features`
// computes them. For checking the exported front end, and for programs that
// want Tessera's features without a network.
void export_front_end_onnx(const features::FeatureOptions& options, const std::string& path,
                           int opset = 17);

}  // namespace tessera::exporting

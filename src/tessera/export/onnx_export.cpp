#include "tessera/export/onnx_export.h"

#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tessera/common/format.h"
#include "tessera/features/feature_extractor.h"
#include "tessera/onnx/onnx_model.h"
#include "tessera/sampling/tile_store.h"
#include "tessera/version.h"

namespace tessera::exporting {
namespace {

namespace nn = torch::nn;
using onnx::OnnxAttribute;
using onnx::OnnxModel;

// The weights as the exported graph holds them: fp32 on the CPU, whatever
// precision or device the run trained with.
torch::Tensor plain(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
}

std::string constant(OnnxModel& m, const std::string& name, const torch::Tensor& t) {
  const torch::Tensor c = plain(t);
  return m.add_initializer(name, c.sizes().vec(), c.data_ptr<float>());
}

std::string scalar(OnnxModel& m, const std::string& name, float v) {
  return m.add_initializer(name, {}, &v);
}

// Walks the ResNet's modules by their registered names and writes the
// forward pass of eval mode (model/resnet.cpp) as ONNX nodes.
class NetWriter {
 public:
  NetWriter(OnnxModel& m, const model::ResNetImpl& net) : m_(m), net_(net) {
    for (const auto& item : net.named_modules("", /*include_self=*/false))
      modules_[item.key()] = item.value();
  }

  // [N, 1, T, F] -> the last stage's maps [N, C, T', F'].
  std::string body(std::string x) {
    const auto& o = net_.options();
    if (o.input_normalisation == "tile_mean") {
      const std::string mean =
          m_.add_node("ReduceMean", {x},
                      {OnnxAttribute::ints("axes", {2, 3}), OnnxAttribute::integer("keepdims", 1)});
      x = m_.add_node("Sub", {x, mean});
    } else if (o.input_normalisation == "dataset") {
      const auto [mean, std] = net_.input_statistics();
      x = m_.add_node("Sub", {x, scalar(m_, "input_mean", float(mean))});
      x = m_.add_node("Div", {x, scalar(m_, "input_std", float(std))});
    }
    // Batch norm, then the pool, then the ReLU: the order the model runs
    // (the ReLU is monotone, so it commutes with the max-pool).
    std::string y = batch_norm("stem_bn", conv("stem_conv", x));
    y = m_.add_node(
        "MaxPool", {y},
        {OnnxAttribute::ints("kernel_shape", {3, 3}), OnnxAttribute::ints("strides", {2, 2}),
         OnnxAttribute::ints("pads", {1, 1, 1, 1})});
    y = m_.add_node("Relu", {y});
    for (int i = 0; modules_.count("stages." + std::to_string(i)); ++i) {
      const std::string b = "stages." + std::to_string(i) + ".";
      const bool bottleneck = modules_.count(b + "conv3") > 0;
      std::string z = m_.add_node("Relu", {batch_norm(b + "bn1", conv(b + "conv1", y))});
      if (bottleneck) {
        z = m_.add_node("Relu", {batch_norm(b + "bn2", conv(b + "conv2", z))});
        z = batch_norm(b + "bn3", conv(b + "conv3", z));
      } else {
        z = batch_norm(b + "bn2", conv(b + "conv2", z));
      }
      const std::string shortcut = modules_.count(b + "shortcut.0")
                                       ? batch_norm(b + "shortcut.1", conv(b + "shortcut.0", y))
                                       : y;
      y = m_.add_node("Relu", {m_.add_node("Add", {z, shortcut})});
    }
    return y;
  }

  // [N, C, T', F'] -> [N, pooled_size].
  std::string pooled(const std::string& maps) {
    if (net_.options().pooling == model::Pooling::kTimeStats) {
      const std::string mean =
          m_.add_node("ReduceMean", {maps},
                      {OnnxAttribute::ints("axes", {2}), OnnxAttribute::integer("keepdims", 0)});
      const std::string max =
          m_.add_node("ReduceMax", {maps},
                      {OnnxAttribute::ints("axes", {2}), OnnxAttribute::integer("keepdims", 0)});
      const std::string both =
          m_.add_node("Concat", {mean, max}, {OnnxAttribute::integer("axis", 1)});
      return m_.add_node("Flatten", {both}, {OnnxAttribute::integer("axis", 1)});
    }
    return m_.add_node("Flatten", {m_.add_node("GlobalAveragePool", {maps})},
                       {OnnxAttribute::integer("axis", 1)});
  }

  // [N, pooled_size] -> unit embeddings [N, E] (dropout is off in eval mode).
  std::string embedding(std::string y) {
    if (modules_.count("head_hidden")) y = m_.add_node("Relu", {linear("head_hidden", y)});
    y = linear("head", y);
    // F.normalize: y / max(|y|, 1e-12).
    const std::string norm = m_.add_node(
        "ReduceL2", {y}, {OnnxAttribute::ints("axes", {1}), OnnxAttribute::integer("keepdims", 1)});
    const std::string floor = m_.add_node("Max", {norm, scalar(m_, "norm_floor", 1e-12f)});
    return m_.add_node("Div", {y, floor});
  }

 private:
  template <typename T>
  const T& module(const std::string& name) const {
    const auto it = modules_.find(name);
    const T* p = it == modules_.end() ? nullptr : it->second->template as<T>();
    if (!p) throw std::logic_error("export: the network has no module '" + name + "'");
    return *p;
  }

  std::string conv(const std::string& name, const std::string& x) {
    const auto& c = module<nn::Conv2dImpl>(name);
    const std::int64_t k = (*c.options.kernel_size())[0];
    const std::int64_t s = (*c.options.stride())[0];
    const std::int64_t p = (*std::get<torch::ExpandingArray<2>>(c.options.padding()))[0];
    return m_.add_node(
        "Conv", {x, constant(m_, name + ".weight", c.weight)},
        {OnnxAttribute::ints("kernel_shape", {k, k}), OnnxAttribute::ints("strides", {s, s}),
         OnnxAttribute::ints("pads", {p, p, p, p})});
  }

  std::string batch_norm(const std::string& name, const std::string& x) {
    const auto& bn = module<nn::BatchNorm2dImpl>(name);
    return m_.add_node(
        "BatchNormalization",
        {x, constant(m_, name + ".weight", bn.weight), constant(m_, name + ".bias", bn.bias),
         constant(m_, name + ".running_mean", bn.running_mean),
         constant(m_, name + ".running_var", bn.running_var)},
        {OnnxAttribute::real("epsilon", float(bn.options.eps()))});
  }

  std::string linear(const std::string& name, const std::string& x) {
    const auto& l = module<nn::LinearImpl>(name);
    return m_.add_node(
        "Gemm", {x, constant(m_, name + ".weight", l.weight), constant(m_, name + ".bias", l.bias)},
        {OnnxAttribute::integer("transB", 1)});
  }

  OnnxModel& m_;
  const model::ResNetImpl& net_;
  std::map<std::string, std::shared_ptr<nn::Module>> modules_;
};

// [B, tile_samples] mono tiles -> [B, 1, tile_frames, bins] features, as
// features::FeatureExtractor computes them (tf.signal's STFT, pad_end off).
std::string front_end(OnnxModel& m, const features::FeatureOptions& fo, const std::string& wave) {
  const features::FeatureExtractor fx(fo);
  const std::int64_t fft = fo.fft_size, flen = fo.frame_length_samples;
  // ONNX's STFT frames fft_size samples, TF frame_length: zeros after the
  // tile give the same frame count, and the window, zero beyond
  // frame_length, the same zero-padded frames.
  const std::string padded =
      m.add_node("Pad", {wave, m.add_int64s("wave_pads", {0, 0, 0, fft - flen})});
  const std::string signal = m.add_node("Unsqueeze", {padded, m.add_int64s("signal_axis", {2})});
  std::vector<float> window(std::size_t(fft), 0.0f);
  std::copy(fx.window().begin(), fx.window().end(), window.begin());
  const std::string win = m.add_initializer("hann_window", {fft}, window.data());
  const std::int64_t step = fo.frame_step_samples;
  const std::string stft =
      m.add_node("STFT",
                 {signal, m.add_int64_scalar("frame_step", step), win,
                  m.add_int64_scalar("frame_length", fft)},
                 {OnnxAttribute::integer("onesided", 1)});  // [B, frames, fft/2+1, 2]
  const std::string power =
      m.add_node("ReduceSum", {m.add_node("Mul", {stft, stft}), m.add_int64s("complex_axis", {3})},
                 {OnnxAttribute::integer("keepdims", 0)});
  const std::string magnitude = m.add_node("Sqrt", {power});
  const std::vector<float> mel = fx.mel_filterbank().dense();  // [spectrum bins, n_mel]
  const std::string mel_w =
      m.add_initializer("mel_matrix", {fo.spectrum_bins(), fo.n_mel_bins}, mel.data());
  std::string y = m.add_node("MatMul", {magnitude, mel_w});
  y = m.add_node("Log", {m.add_node("Add", {y, scalar(m, "log_offset", float(fo.log_offset))})});
  if (fo.kind == features::FeatureKind::kMfcc) {
    // dct() is [n_mfcc][n_mel]: its transpose maps log-mel rows to MFCCs.
    const auto& d = fx.dct();
    std::vector<float> t(d.size());
    for (int k = 0; k < fo.n_mfcc; ++k)
      for (int b = 0; b < fo.n_mel_bins; ++b)
        t[std::size_t(b) * fo.n_mfcc + k] = d[std::size_t(k) * fo.n_mel_bins + b];
    y = m.add_node("MatMul",
                   {y, m.add_initializer("dct_matrix", {fo.n_mel_bins, fo.n_mfcc}, t.data())});
  }
  return m.add_node("Unsqueeze", {y, m.add_int64s("channel_axis", {1})});
}

}  // namespace

ExportInput parse_export_input(const std::string& name) {
  if (name == "logmel") return ExportInput::kLogMel;
  if (name == "waveform") return ExportInput::kWaveform;
  throw std::invalid_argument("export: input '" + name + "' must be logmel or waveform");
}

std::string export_input_name(ExportInput input) {
  return input == ExportInput::kWaveform ? "waveform" : "logmel";
}

void OnnxExportOptions::validate() const {
  if (input == ExportInput::kWaveform && opset < 17)
    throw std::invalid_argument("export: the waveform input needs opset 17 (ONNX's STFT)");
  if (opset < 13 || opset > onnx::onnx_library_opset())
    throw std::invalid_argument("export: opset " + std::to_string(opset) + " is outside 13.." +
                                std::to_string(onnx::onnx_library_opset()));
}

OnnxExportSummary export_onnx(const eval::TrainedModel& model, const OnnxExportOptions& options,
                              const std::string& path) {
  options.validate();
  const sampling::TileGeometry& g = model.data.geometry;
  const features::FeatureOptions& fo = model.data.features;
  const model::ResNetImpl& net = *model.net;
  const bool waveform = options.input == ExportInput::kWaveform;
  if (waveform && g.channels != 1) {
    throw std::invalid_argument("export: the waveform input takes mono tiles, but the run keeps " +
                                std::to_string(g.channels) +
                                " channels (to_mono false); export --input logmel instead");
  }
  const bool pooled_layer = options.layer == eval::Layer::kPooled;
  const std::int64_t out_size = (pooled_layer ? net.pooled_size() : net.options().embedding_size);
  const std::int64_t tile_samples = std::lround(g.tile_seconds * fo.sample_rate_hz);

  OnnxModel m("tessera_" + eval::layer_name(options.layer), options.opset);
  m.set_producer("tessera", kVersion);
  OnnxExportSummary s;
  s.input_name = export_input_name(options.input);
  s.output_name = eval::layer_name(options.layer);
  s.output_size = g.channels * out_size;  // channels >= 1
  std::string x;
  if (waveform) {
    s.input_shape = "[batch, " + std::to_string(tile_samples) + "]";
    m.add_input(s.input_name, {std::string("batch"), tile_samples});
    x = front_end(m, fo, s.input_name);
  } else {
    s.input_shape = "[batch, " + std::to_string(g.channels) + ", " + std::to_string(g.tile_frames) +
                    ", " + std::to_string(g.bins) + "]";
    m.add_input(s.input_name, {std::string("batch"), std::int64_t(g.channels),
                               std::int64_t(g.tile_frames), std::int64_t(g.bins)});
    x = s.input_name;
    // Each channel is a tile of its own (model/resnet.cpp, per_channel).
    if (g.channels > 1)
      x = m.add_node("Reshape", {x, m.add_int64s("one_channel", {-1, 1, g.tile_frames, g.bins})});
  }
  NetWriter w(m, net);
  std::string y = w.pooled(w.body(x));
  if (!pooled_layer) y = w.embedding(y);
  if (g.channels > 1) {
    y = m.add_node("Reshape", {y, m.add_int64s("joined", {-1, g.channels * out_size})});
    // The concatenated unit vectors, scaled to stay unit length.
    if (!pooled_layer)
      y = m.add_node("Mul",
                     {y, scalar(m, "channel_scale", float(1.0 / std::sqrt(double(g.channels))))});
  }
  m.add_output(y, s.output_name, {std::string("batch"), s.output_size});

  m.set_doc("Tessera " + std::string(kVersion) + ": " + s.input_name + " tiles " + s.input_shape +
            (waveform ? " at " + std::to_string(fo.sample_rate_hz) + " Hz" : "") + " -> " +
            s.output_name + " [batch, " + std::to_string(s.output_size) + "]");
  m.set_metadata("tessera_version", kVersion);
  m.set_metadata("config", model.record.dump());
  m.set_metadata("checkpoint_epoch", std::to_string(model.epoch));
  m.set_metadata("input", s.input_name);
  m.set_metadata("layer", s.output_name);
  m.set_metadata("sample_rate_hz", std::to_string(fo.sample_rate_hz));
  m.set_metadata("tile_seconds", common::format_number(g.tile_seconds, "%g"));
  m.set_metadata("tile_samples", std::to_string(tile_samples));
  m.set_metadata("tile_frames", std::to_string(g.tile_frames));
  m.set_metadata("tile_step_frames", std::to_string(g.step_frames));
  m.set_metadata("channels", std::to_string(g.channels));
  m.set_metadata("features", fo.to_json().dump());
  if (model.record.contains("margin") && model.record["margin"].is_number())
    m.set_metadata("margin", common::format_number(model.record["margin"].get<double>(), "%g"));
  s.bytes = m.write(path);
  return s;
}

void export_front_end_onnx(const features::FeatureOptions& options, const std::string& path,
                           int opset) {
  options.validate();
  if (opset < 17) throw std::invalid_argument("export: the front end needs opset 17 (ONNX's STFT)");
  OnnxModel m("tessera_front_end", opset);
  m.set_producer("tessera", kVersion);
  m.add_input("waveform", {std::string("batch"), std::string("samples")});
  const std::string y = front_end(m, options, "waveform");
  m.add_output(y, "features",
               {std::string("batch"), std::int64_t(1), std::string("frames"),
                std::int64_t(options.out_bins())});
  m.set_metadata("tessera_version", kVersion);
  m.set_metadata("features", options.to_json().dump());
  m.write(path);
}

}  // namespace tessera::exporting

// tessera export: a trained run's network as an ONNX file.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "tessera/export/onnx_export.h"
#include "tessera/study/trained_run.h"

namespace tessera::app {
namespace {

struct ExportArgs {
  std::string run_dir, output, checkpoint, input = "logmel", layer = "embedding";
};

int run_export(const ExportArgs& a) {
  // Checked before the model loads: a bad output costs nothing, and the
  // atomic write below never leaves a partial file either way.
  const auto parent = std::filesystem::absolute(a.output).parent_path();
  if (!std::filesystem::is_directory(parent))
    throw std::runtime_error("export: cannot write '" + a.output + "': no folder '" +
                             parent.string() + "'");
  exporting::OnnxExportOptions o;
  o.input = exporting::parse_export_input(a.input);
  o.layer = eval::parse_layer(a.layer);
  o.validate();
  const eval::TrainedModel model = study::load_trained_model(a.run_dir, "cpu", a.checkpoint);
  const auto s = exporting::export_onnx(model, o, a.output);
  std::printf("%s: %s %s -> %s [batch, %lld], epoch %d, %.1f MB\n", a.output.c_str(),
              s.input_name.c_str(), s.input_shape.c_str(), s.output_name.c_str(),
              static_cast<long long>(s.output_size), model.epoch, double(s.bytes) / 1e6);
  return 0;
}

}  // namespace

Command add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "a trained network as an ONNX file");
  cmd->add_option("--run-dir", a->run_dir, "a trained run directory")->required();
  cmd->add_option("--output,-o", a->output, "the .onnx file to write")->required();
  cmd->add_option("--checkpoint", a->checkpoint,
                  "an epoch number or a checkpoint file (default: the latest)");
  cmd->add_option("--input", a->input,
                  "logmel (tiles of features, the default) or waveform (mono tiles of samples "
                  "at the run's rate; the log-mel front end is in the graph)")
      ->check(CLI::IsMember({"logmel", "waveform"}));
  cmd->add_option("--layer", a->layer,
                  "embedding (the unit vectors, the default) or pooled (the features the head "
                  "projects)")
      ->check(CLI::IsMember({"embedding", "pooled"}));
  return {cmd, [a] { return run_export(*a); }};
}

}  // namespace tessera::app

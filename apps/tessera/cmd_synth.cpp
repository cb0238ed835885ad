// tessera synth: a synthetic dataset in the DCASE or the music layout.
#include <thread>

#include "commands.h"
#include "tessera/common/threads.h"
#include "tessera/data/synth.h"

namespace tessera::app {
namespace {

struct SynthArgs {
  data::SynthOptions options;
  std::string layout = "dcase";
};

int run_synth(SynthArgs a) {
  a.options.layout = a.layout == "music" ? data::SynthLayout::kMusic : data::SynthLayout::kDcase;
  const data::SynthReport r = data::write_synth_dataset(a.options);
  std::printf("wrote %d clips of %zu classes to %s in %.2f s (%.0f clips/s)\n", r.clips,
              r.labels.size(), a.options.output_dir.c_str(), r.seconds,
              r.clips / std::max(r.seconds, 1e-9));
  if (a.options.layout == data::SynthLayout::kDcase && a.options.classes != 9) {
    std::printf("labels are listed in %s/labels.txt; pass them with --set labels=...\n",
                a.options.output_dir.c_str());
  }
  return 0;
}

}  // namespace

Command add_synth_command(CLI::App& app) {
  auto a = std::make_shared<SynthArgs>();
  a->options.threads = common::resolve_threads(0);
  CLI::App* cmd = app.add_subcommand("synth", "write a synthetic dataset (DCASE or music layout)");
  cmd->add_option("--output,-o", a->options.output_dir, "output directory")->required();
  cmd->add_option("--layout", a->layout, "dcase or music")
      ->check(CLI::IsMember({"dcase", "music"}));
  cmd->add_option("--classes", a->options.classes, "number of classes")->check(CLI::Range(2, 99));
  cmd->add_option("--clips-per-class", a->options.clips_per_class, "clips per class")
      ->check(CLI::Range(2, 100000));
  cmd->add_option("--clips-per-session", a->options.clips_per_session,
                  "DCASE: contiguous clips per recording session (eval holds whole sessions)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a->options.seed, "random seed");
  cmd->add_option("--interference", a->options.interference,
                  "DCASE: fraction of time a class-independent background sound plays (0-1)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--threads", a->options.threads, "writer threads")->check(CLI::PositiveNumber);
  return {cmd, [a] { return run_synth(*a); }};
}

}  // namespace tessera::app

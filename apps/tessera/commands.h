// Each subcommand registers itself on the CLI11 app and returns the function
// that runs it once parsing succeeded.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace tessera::app {

using Runner = std::function<int()>;
struct Command {
  CLI::App* cmd;
  Runner run;
};

// Shared --config/--set handling: loads the file (or the defaults), applies
// each key=value override in order and validates.
struct ConfigArgs {
  std::string path;
  std::vector<std::string> overrides;
  void add_to(CLI::App* cmd, bool required);
};

Command add_features_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_synth_command(CLI::App& app);
Command add_dataset_info_command(CLI::App& app);
Command add_cache_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_sweep_command(CLI::App& app);
Command add_report_command(CLI::App& app);
Command add_classify_command(CLI::App& app);
Command add_embed_command(CLI::App& app);
Command add_neighbours_command(CLI::App& app);
Command add_export_command(CLI::App& app);

}  // namespace tessera::app

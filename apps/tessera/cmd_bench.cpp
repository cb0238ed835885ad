// tessera bench: the benchmarks of bench_*.cpp under one command.
#include <array>

#include "bench_commands.h"

namespace tessera::app {

Command add_bench_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("bench", "benchmarks with machine-readable output");
  cmd->require_subcommand(1);
  const std::array<Command, 4> benches = {add_features_bench(cmd), add_step_bench(cmd),
                                          add_peak_bench(cmd), add_pipeline_bench(cmd)};
  return {cmd, [benches] {
            for (const Command& b : benches)
              if (b.cmd->parsed()) return b.run();
            return 2;
          }};
}

}  // namespace tessera::app

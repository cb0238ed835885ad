// The benchmarks of `tessera bench`, one per file: each adds its subcommand
// under `bench` and returns what runs it. Their last line is machine-readable
// (key=value pairs) for the scripts in bench/.
#pragma once

#include <CLI/CLI.hpp>

#include "commands.h"

namespace tessera::app {

Command add_features_bench(CLI::App* bench);  // bench_features.cpp
Command add_step_bench(CLI::App* bench);      // bench_step.cpp
Command add_peak_bench(CLI::App* bench);      // bench_peak.cpp
Command add_pipeline_bench(CLI::App* bench);  // bench_pipeline.cpp

}  // namespace tessera::app

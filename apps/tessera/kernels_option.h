// --kernels for the commands that train: which of Tessera's own CPU kernels
// bf16 training runs (ops/kernel_options.h), checked while the command line
// is parsed. "none" keeps LibTorch's operators everywhere. With the conv
// tuner on, a run's choices are its kernel_plan.json, which `train
// --kernel-plan` gives to another run (ops/conv_plan.h).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tessera::app {

CLI::Option* add_kernels_option(CLI::App* cmd, std::string& kernels);

}  // namespace tessera::app

// --device for every command that runs a model: cpu, cuda or cuda:N.
// Naming a CUDA device loads LibTorch's CUDA support while the command line
// is parsed, before anything asks LibTorch about CUDA
// (device/cuda_support.h); a CPU run never loads it.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tessera::app {

CLI::Option* add_device_option(CLI::App* cmd, std::string& device);

}  // namespace tessera::app

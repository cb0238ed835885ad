// The flags of the commands that run training steps (train, sweep, bench
// step): precision, layout, Tessera's own kernels and Adam's update. Each is
// parsed once, while the command line is, into the library's own type by the
// library's own parser, whose message (with its did-you-mean) CLI11 shows.
#pragma once

#include <CLI/CLI.hpp>

#include "tessera/device/fused_adam.h"
#include "tessera/ops/kernel_options.h"
#include "tessera/train/train_step.h"

namespace tessera::app {

CLI::Option* add_precision_option(CLI::App* cmd, train::Precision& precision);
// `with_nhwc`: nhwc is offered too (bench step; training takes auto or nchw).
CLI::Option* add_layout_option(CLI::App* cmd, train::Layout& layout, bool with_nhwc);
// "none" keeps LibTorch's operators everywhere. With the conv tuner on, a
// run's choices are its kernel_plan.json, which `train --kernel-plan` gives
// to another run (ops/conv_plan.h).
CLI::Option* add_kernels_option(CLI::App* cmd, ops::KernelOptions& kernels);
CLI::Option* add_adam_option(CLI::App* cmd, device::AdamUpdate& adam);

}  // namespace tessera::app

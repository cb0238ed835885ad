#include "kernels_option.h"

#include <stdexcept>

#include "tessera/ops/kernel_options.h"

namespace tessera::app {

CLI::Option* add_kernels_option(CLI::App* cmd, std::string& kernels) {
  return cmd
      ->add_option("--kernels", kernels,
                   "Tessera's CPU kernels for bf16 training: all (default), none, or names "
                   "joined by '+' (conv_tuning, fused_batch_norm, bf16_channels_last)")
      ->check([](const std::string& text) {
        try {
          ops::KernelOptions::parse(text);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
}

}  // namespace tessera::app

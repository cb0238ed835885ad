#include "step_flags.h"

#include <stdexcept>
#include <string>

namespace tessera::app {
namespace {

// An option whose text `parse` turns into `target`; a text it refuses is a
// parse error carrying the parser's own message.
template <typename T, typename Parse>
CLI::Option* add_parsed(CLI::App* cmd, const std::string& name, T& target, Parse parse,
                        const std::string& help) {
  return cmd
      ->add_option_function<std::string>(
          name, [&target, parse](const std::string& text) { target = parse(text); }, help)
      ->check([parse](const std::string& text) {
        try {
          parse(text);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
}

}  // namespace

CLI::Option* add_precision_option(CLI::App* cmd, train::Precision& precision) {
  return add_parsed(cmd, "--precision", precision, train::parse_precision,
                    "fp32, or bf16 mixed precision");
}

CLI::Option* add_layout_option(CLI::App* cmd, train::Layout& layout, bool with_nhwc) {
  if (with_nhwc) {
    return add_parsed(
        cmd, "--layout", layout, train::parse_layout,
        "auto (NHWC activations in bf16), nchw, or nhwc (fp32 too, with NHWC weights)");
  }
  return add_parsed(
      cmd, "--layout", layout,
      [](const std::string& text) {
        const train::Layout l = train::parse_layout(text);
        if (l == train::Layout::kNhwc)
          throw std::invalid_argument("layout 'nhwc' is for bench step; train takes auto or nchw");
        return l;
      },
      "auto (bf16 convolutions on NHWC activations) or nchw");
}

CLI::Option* add_kernels_option(CLI::App* cmd, ops::KernelOptions& kernels) {
  return add_parsed(cmd, "--kernels", kernels, ops::KernelOptions::parse,
                    "Tessera's CPU kernels for bf16 training: all (default), none, or names "
                    "joined by '+' (conv_tuning, fused_batch_norm, bf16_channels_last)");
}

CLI::Option* add_adam_option(CLI::App* cmd, device::AdamUpdate& adam) {
  return add_parsed(cmd, "--adam", adam, device::parse_adam_update,
                    "Adam's update: auto (fused on a GPU, the per-parameter loop on the CPU), "
                    "loop or fused");
}

}  // namespace tessera::app

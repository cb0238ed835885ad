#include "device_option.h"

#include <regex>

#include "tessera/device/cuda_support.h"

namespace tessera::app {

CLI::Option* add_device_option(CLI::App* cmd, std::string& device) {
  static const std::regex kDevice("cpu|cuda(:[0-9]+)?");
  return cmd->add_option("--device", device, "cpu, cuda or cuda:N")
      ->check(CLI::Validator(
          [](std::string& v) {
            return std::regex_match(v, kDevice) ? std::string()
                                                : "'" + v + "' is not cpu, cuda or cuda:N";
          },
          "DEVICE"))
      ->each([](const std::string& v) { device::load_cuda_support_for(v); });
}

}  // namespace tessera::app

#include "tessera/ops/kernel_options.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "tessera/common/near_match.h"

namespace tessera::ops {
namespace {

struct Named {
  const char* name;
  bool KernelOptions::*flag;
};
const Named kKernels[] = {{"conv_tuning", &KernelOptions::conv_tuning},
                          {"fused_batch_norm", &KernelOptions::fused_batch_norm},
                          {"bf16_channels_last", &KernelOptions::bf16_channels_last}};

}  // namespace

void KernelOptions::validate() const {
  common::check_simd_level(simd);
}

std::string KernelOptions::describe() const {
  std::string on;
  bool all = true;
  for (const Named& k : kKernels) {
    if (this->*k.flag)
      on += (on.empty() ? "" : "+") + std::string(k.name);
    else
      all = false;
  }
  if (all) return "all";
  return on.empty() ? "none" : on;
}

KernelOptions KernelOptions::parse(const std::string& text) {
  KernelOptions o;
  if (text == "all") return o;
  for (const Named& k : kKernels) o.*k.flag = false;
  if (text == "none") return o;
  std::vector<std::string> names{"all", "none"};
  for (const Named& k : kKernels) names.push_back(k.name);
  std::size_t from = 0;
  while (from <= text.size()) {
    const std::size_t plus = std::min(text.find('+', from), text.size());
    const std::string part = text.substr(from, plus - from);
    bool found = false;
    for (const Named& k : kKernels) {
      if (part == k.name) o.*k.flag = found = true;
    }
    if (!found) {
      std::string list;
      for (const Named& k : kKernels) list += std::string(list.empty() ? "" : ", ") + k.name;
      throw std::invalid_argument("kernels: unknown kernel '" + part + "'" +
                                  common::did_you_mean(part, names) +
                                  "; give all, none, or names joined by '+' from: " + list);
    }
    from = plus + 1;
  }
  return o;
}

}  // namespace tessera::ops

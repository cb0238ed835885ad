// The eval tests' shared set-up: the demo config's model (ResNet18 at width
// 8, 32-d embeddings) with fixed random weights, and the shared synthetic
// dataset's features loaded as a run would load them.
#pragma once

#include <string>

#include "tessera/common/config.h"
#include "tessera/model/resnet.h"
#include "tessera/train/run_data.h"
#include "test_util.h"

namespace tessera::eval::testing {

inline common::Config demo_config() {
  common::Config c = tessera::testing::demo_config_on_shared_data(1);
  c.cache_dir = std::string(TESSERA_TEST_TMP) + "/eval_test_cache";
  return c;
}

// A network with weights drawn from `seed`, as the trainer draws them.
inline model::ResNet demo_network(const common::Config& c, std::uint64_t seed) {
  torch::manual_seed(seed);
  return model::ResNet(model::ResNetOptions::from_config(c));
}

}  // namespace tessera::eval::testing

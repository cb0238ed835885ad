// The eval tests' shared set-up: the demo config's model (ResNet18 at width
// 8, 32-d embeddings) with fixed random weights, and the shared synthetic
// dataset's features loaded as a run would load them.
#pragma once

#include <memory>
#include <string>

#include "tessera/model/resnet.h"
#include "tessera/sampling/run_data.h"
#include "tessera/study/config.h"
#include "tessera/study/config_options.h"
#include "test_util.h"

namespace tessera::eval::testing {

inline study::Config demo_config() {
  study::Config c = tessera::testing::demo_config_on_shared_data(1);
  c.cache_dir = std::string(TESSERA_TEST_TMP) + "/eval_test_cache";
  return c;
}

// A network with weights drawn from `seed`, as the trainer draws them.
inline model::ResNet demo_network(const study::Config& c, std::uint64_t seed) {
  torch::manual_seed(seed);
  return model::ResNet(study::model_options(c));
}

// A fresh directory for the test, and the dataset loaded into it as a run
// would load it.
class EvalDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = demo_config();
    dir_ = tessera::testing::fresh_dir();
    data_ = std::make_unique<sampling::RunData>(
        sampling::RunData::load(study::run_data_options(config_, dir_), 2));
  }
  study::Config config_;
  std::string dir_;
  std::unique_ptr<sampling::RunData> data_;
};

}  // namespace tessera::eval::testing

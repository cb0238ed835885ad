#include "tessera/train/input_standardisation.h"

#include <nlohmann/json.hpp>

#include "tessera/common/atomic_file.h"
#include "tessera/common/json_text.h"
#include "tessera/common/log.h"
#include "tessera/sampling/tile_statistics.h"

namespace tessera::train {

void standardise_input(model::ResNetImpl& net, const sampling::TileStore& train,
                       const std::string& json_path) {
  const sampling::TileStatistics st = sampling::tile_statistics(train);
  net.set_input_statistics(st.mean, st.std);
  common::log_info("input statistics of the training set: mean ", st.mean, ", std ", st.std);
  if (json_path.empty()) return;
  const nlohmann::json j = {
      {"mean", st.mean}, {"std", st.std}, {"values", st.values}, {"recordings", train.size()}};
  common::write_file_atomic(json_path, common::dump_json(j, 2) + "\n");
}

}  // namespace tessera::train

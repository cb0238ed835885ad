// The embedding projector's configuration, `projector_config.pbtxt` in a run's
// log directory: each entry names a tensor of embeddings as a TSV file (one
// row per point) and its metadata TSV (a header row, then one row per
// point), with paths relative to the log directory. No checkpoint is needed.
//
//   write_projector_config(run + "/tensorboard",
//                          {{"epoch_0003", "../eval/epoch_0003/embeddings.tsv",
//                            "../eval/epoch_0003/metadata.tsv"}});
#pragma once

#include <string>
#include <vector>

namespace tessera::tensorboard {

struct ProjectorEmbedding {
  std::string name, tensor_path, metadata_path;
};

// The text-format configuration (ProjectorConfig's `embeddings` field, 2).
std::string projector_config(const std::vector<ProjectorEmbedding>& embeddings);

// Writes it atomically to <logdir>/projector_config.pbtxt.
void write_projector_config(const std::string& logdir,
                            const std::vector<ProjectorEmbedding>& embeddings);

}  // namespace tessera::tensorboard

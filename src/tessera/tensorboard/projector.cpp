#include "tessera/tensorboard/projector.h"

#include "tessera/common/atomic_file.h"

namespace tessera::tensorboard {
namespace {

// A protobuf text-format string literal.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string projector_config(const std::vector<ProjectorEmbedding>& embeddings) {
  std::string out;
  for (const ProjectorEmbedding& e : embeddings) {
    out += "embeddings {\n";
    out += "  tensor_name: " + quoted(e.name) + "\n";
    out += "  tensor_path: " + quoted(e.tensor_path) + "\n";
    if (!e.metadata_path.empty()) out += "  metadata_path: " + quoted(e.metadata_path) + "\n";
    out += "}\n";
  }
  return out;
}

void write_projector_config(const std::string& logdir,
                            const std::vector<ProjectorEmbedding>& embeddings) {
  common::make_dirs(logdir);
  common::write_file_atomic(logdir + "/projector_config.pbtxt", projector_config(embeddings));
}

}  // namespace tessera::tensorboard

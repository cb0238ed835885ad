// The projector configuration in protobuf text format, as TensorBoard's
// projector plugin reads it (ProjectorConfig.embeddings: tensor_name,
// tensor_path, metadata_path), with quotes and backslashes escaped.
#include "tessera/tensorboard/projector.h"

#include <gtest/gtest.h>

#include "tessera/common/atomic_file.h"
#include "test_util.h"

namespace tessera::tensorboard {
namespace {

TEST(ProjectorTest, ListsEachEmbeddingWithItsFiles) {
  const std::string text = projector_config(
      {{"epoch_1", "../eval/epoch_1/embeddings.tsv", "../eval/epoch_1/metadata.tsv"},
       {"odd \"name\"", "a\\b.tsv", ""}});
  EXPECT_EQ(text,
            "embeddings {\n"
            "  tensor_name: \"epoch_1\"\n"
            "  tensor_path: \"../eval/epoch_1/embeddings.tsv\"\n"
            "  metadata_path: \"../eval/epoch_1/metadata.tsv\"\n"
            "}\n"
            "embeddings {\n"
            "  tensor_name: \"odd \\\"name\\\"\"\n"
            "  tensor_path: \"a\\\\b.tsv\"\n"
            "}\n");
  const std::string dir = tessera::testing::fresh_dir() + "/tb";
  write_projector_config(dir, {{"e", "x.tsv", ""}});
  EXPECT_EQ(common::read_file(dir + "/projector_config.pbtxt"),
            "embeddings {\n  tensor_name: \"e\"\n  tensor_path: \"x.tsv\"\n}\n");
}

}  // namespace
}  // namespace tessera::tensorboard

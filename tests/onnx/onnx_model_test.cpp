// OnnxModel (src/tessera/onnx): models built on Debian's ONNX library, its
// checker run before anything is written, and read back through the same
// library. Expected values are the ones each test sets.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <variant>

#include "tessera/onnx/onnx_model.h"
#include "test_util.h"

namespace tessera::onnx {
namespace {

using namespace tessera::testing;

// y = x W + b: [batch, 3] -> [batch, 2].
void affine(OnnxModel& m) {
  const float w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {0.5f, -0.5f};
  m.add_input("x", {std::string("batch"), std::int64_t(3)});
  const std::string y = m.add_node("MatMul", {"x", m.add_initializer("w", {3, 2}, w)});
  m.add_output(m.add_node("Add", {y, m.add_initializer("b", {2}, b)}), "y",
               {std::string("batch"), std::int64_t(2)});
}

TEST(OnnxModelTest, WrittenModelReadsBackWithNamesDynamicDimsAndMetadata) {
  const std::string path = fresh_dir() + "/affine.onnx";
  OnnxModel m("affine", 17);
  affine(m);
  m.set_metadata("run", "a");
  m.set_metadata("run", "b");  // a key set twice keeps the last value
  m.write(path);
  const OnnxSummary s = read_onnx_summary(path);
  EXPECT_EQ(s.opset, 17);
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].first, "x");
  ASSERT_EQ(s.inputs[0].second.size(), 2u);
  EXPECT_EQ(std::get<std::string>(s.inputs[0].second[0]), "batch");
  EXPECT_EQ(std::get<std::int64_t>(s.inputs[0].second[1]), 3);
  ASSERT_EQ(s.outputs.size(), 1u);
  EXPECT_EQ(s.outputs[0].first, "y");
  EXPECT_EQ(s.metadata.at("run"), "b");
  EXPECT_EQ(s.metadata.size(), 1u);
  EXPECT_EQ(s.ops, (std::vector<std::string>{"MatMul", "Add", "Identity"}));
}

TEST(OnnxModelTest, CheckerRejectsAnUndefinedValueAndNothingIsWritten) {
  const std::string path = fresh_dir() + "/broken.onnx";
  OnnxModel m("broken", 17);
  m.add_input("x", {std::int64_t(1)});
  m.add_output(m.add_node("Relu", {"nowhere"}), "y", {std::int64_t(1)});
  try {
    m.write(path);
    FAIL() << "the checker accepted a node whose input nothing defines";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("checker"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(OnnxModelTest, UnwritableOutputThrowsAndLeavesNoFile) {
  const std::string dir = fresh_dir();
  write_text(dir + "/file", "x");
  OnnxModel m("affine", 17);
  affine(m);
  EXPECT_ANY_THROW(m.write(dir + "/file/model.onnx"));  // a parent that is a file
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
}

TEST(OnnxModelTest, OpsetsTheLibraryCannotCheckAreRefused) {
  EXPECT_GE(onnx_library_opset(), 17);
  EXPECT_THROW(OnnxModel("g", onnx_library_opset() + 1), std::invalid_argument);
  EXPECT_THROW(OnnxModel("g", 12), std::invalid_argument);
}

TEST(OnnxModelTest, ReadingAFileThatIsNoModelNamesIt) {
  const std::string path = fresh_dir() + "/notes.onnx";
  write_text(path, "these are notes, not a model");
  try {
    read_onnx_summary(path);
    FAIL() << "a text file read as a model";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tessera::onnx

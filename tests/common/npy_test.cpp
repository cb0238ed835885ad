#include "tessera/common/npy.h"

#include <gtest/gtest.h>

#include "tessera/common/atomic_file.h"
#include "test_util.h"

namespace tessera::common {
namespace {

TEST(NpyTest, RoundTripKeepsShapeAndValues) {
  const std::string dir = tessera::testing::fresh_dir();
  std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 1e-6f, 7.0f};
  write_npy(dir + "/a.npy", {2, 3}, v.data());
  const NpyArray a = read_npy(dir + "/a.npy");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(a.data, v);
}

// The numpy format spec (NEP 1): magic, version 1.0, header padded so the
// data starts at a multiple of 64 bytes.
TEST(NpyTest, HeaderFollowsTheNumpyFormat) {
  const std::string dir = tessera::testing::fresh_dir();
  float x = 1.0f;
  write_npy(dir + "/a.npy", {1}, &x);
  const std::string bytes = read_file(dir + "/a.npy");
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ((bytes.size() - sizeof(float)) % 64, 0u);
  EXPECT_NE(bytes.find("'shape': (1,)"), std::string::npos);
  EXPECT_EQ(bytes[bytes.size() - sizeof(float) - 1], '\n');
}

TEST(NpyTest, NonNpyFileIsRejected) {
  const std::string dir = tessera::testing::fresh_dir();
  tessera::testing::write_text(dir + "/x.npy", "hello");
  EXPECT_THROW(read_npy(dir + "/x.npy"), std::runtime_error);
}

}  // namespace
}  // namespace tessera::common

// CRC-32C against the test vectors of RFC 3720 (iSCSI), appendix B.4, and
// the common check value of "123456789"; the mask against a hand rotation.
#include "tessera/tensorboard/crc32c.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tessera::tensorboard {
namespace {

TEST(Crc32cTest, MatchesTheRfc3720Vectors) {
  std::vector<unsigned char> zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i)
    up[i] = static_cast<unsigned char>(i), down[i] = static_cast<unsigned char>(31 - i);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), up.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), down.size()), 0x113FDB5Cu);
  const std::string check = "123456789";
  EXPECT_EQ(crc32c(check.data(), check.size()), 0xE3069283u);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
}

// Rotated right by 15 and offset: 0xE3069283 -> 0x2507C60D -> + 0xA282EAD8.
TEST(Crc32cTest, MaskRotatesAndOffsets) {
  EXPECT_EQ(mask_crc(0), 0xA282EAD8u);
  EXPECT_EQ(mask_crc(0xE3069283u), 0xC78AB0E5u);
  const std::string check = "123456789";
  EXPECT_EQ(masked_crc32c(check.data(), check.size()), 0xC78AB0E5u);
}

}  // namespace
}  // namespace tessera::tensorboard

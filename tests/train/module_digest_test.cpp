// The network digest that checks data-parallel ranks against each other
// (train/module_digest.h): equal networks agree whatever their layout, one
// changed bit of a weight or a batch-norm statistic does not, and every
// rank's 64-bit digest survives the sum over ranks exactly.
#include "tessera/train/module_digest.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tessera/model/resnet.h"
#include "tessera/train/train_step.h"

namespace tessera::train {
namespace {

model::ResNet net(int seed) {
  torch::manual_seed(std::uint64_t(seed));
  model::ResNetOptions o;
  o.width = 8;
  o.embedding_size = 16;
  return model::ResNet(o);
}

TEST(ModuleDigestTest, EqualNetworksAgreeAndOneBitDoesNot) {
  model::ResNet a = net(1), b = net(1), c = net(2);
  EXPECT_EQ(module_digest(*a), module_digest(*b));
  EXPECT_NE(module_digest(*a), module_digest(*c));
  // Channels-last weights hold the same values: the same digest.
  to_channels_last(*b);
  EXPECT_EQ(module_digest(*a), module_digest(*b));
  // One bit of one weight.
  {
    torch::NoGradGuard g;
    torch::Tensor w = b->parameters()[3];
    float* x = w.data_ptr<float>();
    std::uint32_t bits;
    std::memcpy(&bits, x, 4);
    bits ^= 1u;
    std::memcpy(x, &bits, 4);
  }
  EXPECT_NE(module_digest(*a), module_digest(*b));
  // A batch-norm running statistic.
  model::ResNet d = net(1);
  d->buffers()[0].add_(1.0);
  EXPECT_NE(module_digest(*a), module_digest(*d));
}

// Three ranks' vectors summed as an all-reduce would: each gets every
// digest back, extreme bit patterns included.
TEST(ModuleDigestTest, DigestsSurviveTheSumOverRanks) {
  const std::vector<std::uint64_t> mine = {0xffffffffffffffffull, 0x8000000000000001ull,
                                           0x0123456789abcdefull};
  std::vector<std::vector<double>> sent(3);
  std::vector<double> total;
  for (int r = 0; r < 3; ++r) {
    gather_digests(mine[std::size_t(r)], r, 3,
                   [&](std::vector<double>& v) { sent[std::size_t(r)] = v; });
  }
  total.assign(sent[0].size(), 0.0);
  for (const auto& v : sent)
    for (std::size_t i = 0; i < v.size(); ++i) total[i] += v[i];
  for (int r = 0; r < 3; ++r) {
    const auto all =
        gather_digests(mine[std::size_t(r)], r, 3, [&](std::vector<double>& v) { v = total; });
    EXPECT_EQ(all, mine);
  }
  EXPECT_EQ(digest_hex(0x0123456789abcdefull), "0123456789abcdef");
  EXPECT_THROW(gather_digests(1, 3, 3, {}), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::train

#include "tessera/train/checkpoint.h"

#include <gtest/gtest.h>

#include "tessera/model/resnet.h"
#include "test_util.h"

namespace tessera::train {
namespace {

model::ResNetOptions tiny() {
  model::ResNetOptions o;
  o.width = 4;
  o.embedding_size = 8;
  return o;
}

TEST(CheckpointTest, RoundTripIsBitExact) {
  const std::string dir = tessera::testing::fresh_dir();
  torch::manual_seed(1);
  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), 1e-3);
  // One real step so the optimiser has moment estimates to save.
  net->forward(torch::randn({2, 1, 64, 32})).sum().backward();
  adam.step();
  CheckpointState st;
  st.epoch = 2;
  st.step = 17;
  st.meta = {{"model", "ResNet18"}};
  const std::string path = save_checkpoint(dir, st, *net, adam);

  torch::manual_seed(99);
  model::ResNet other(tiny());
  torch::optim::Adam other_adam(other->parameters(), 1e-3);
  const CheckpointState back =
      load_checkpoint(path, other.get(), &other_adam, {{"model", "ResNet18"}});
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.step, 17);
  const auto p = net->named_parameters(), q = other->named_parameters();
  for (const auto& kv : p) EXPECT_TRUE(torch::equal(kv.value(), q[kv.key()])) << kv.key();
  const auto b1 = net->named_buffers(), b2 = other->named_buffers();
  for (const auto& kv : b1) EXPECT_TRUE(torch::equal(kv.value(), b2[kv.key()])) << kv.key();
  // Same next update from the restored optimiser state.
  const torch::Tensor x = torch::randn({2, 1, 64, 32});
  net->eval();
  other->eval();
  adam.zero_grad();
  other_adam.zero_grad();
  net->forward(x).sum().backward();
  other->forward(x).sum().backward();
  adam.step();
  other_adam.step();
  for (const auto& kv : net->named_parameters())
    EXPECT_TRUE(torch::equal(kv.value(), other->named_parameters()[kv.key()]));
}

TEST(CheckpointTest, MismatchIsRefusedNamingTheKey) {
  const std::string dir = tessera::testing::fresh_dir();
  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), 1e-3);
  CheckpointState st;
  st.meta = {{"model", "ResNet18"}, {"model_width", 4}};
  const std::string path = save_checkpoint(dir, st, *net, adam);
  try {
    load_checkpoint(path, nullptr, nullptr, {{"model_width", 64}});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("model_width = 4, but this run has model_width = 64"),
              std::string::npos)
        << e.what();
  }
}

TEST(CheckpointTest, KeepsTheNewestThree) {
  const std::string dir = tessera::testing::fresh_dir();
  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), 1e-3);
  for (int e = 1; e <= 5; ++e) {
    CheckpointState st;
    st.epoch = e;
    save_checkpoint(dir, st, *net, adam, 3);
  }
  const auto all = list_checkpoints(dir);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_NE(all.front().find("epoch_0003.pt"), std::string::npos);
  EXPECT_NE(all.back().find("epoch_0005.pt"), std::string::npos);
}

// The name save_checkpoint writes reads back as its epoch; a temporary or
// foreign file in the folder names none.
TEST(CheckpointTest, CheckpointNamesReadBackAsTheirEpoch) {
  EXPECT_EQ(checkpoint_name(12), "epoch_0012.pt");
  EXPECT_EQ(checkpoint_epoch("/runs/a/checkpoints/" + checkpoint_name(12)), 12);
  EXPECT_EQ(checkpoint_epoch(checkpoint_name(12345)), 12345);
  EXPECT_EQ(checkpoint_epoch("/runs/a/checkpoints/epoch_0003.pt.tmp"), -1);
  EXPECT_EQ(checkpoint_epoch("notes.pt"), -1);
}

TEST(CheckpointTest, GarbageFileIsAClearError) {
  const std::string dir = tessera::testing::fresh_dir();
  tessera::testing::write_text(dir + "/epoch_0001.pt", "not a checkpoint");
  try {
    load_checkpoint(dir + "/epoch_0001.pt", nullptr, nullptr, {});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("epoch_0001.pt"), std::string::npos);
  }
}

// A checkpoint laid out as Tessera writes them, with the metadata given
// verbatim: a format-1 one is what Tessera on LibTorch 1.13 wrote (the
// same archive entries, no "format" in the metadata).
std::string write_with_meta(const std::string& dir, const nlohmann::json& meta,
                            torch::nn::Module& net, torch::optim::Optimizer& adam) {
  torch::serialize::OutputArchive archive, m, o;
  net.save(m);
  adam.save(o);
  archive.write("model", m);
  archive.write("optimizer", o);
  archive.write("meta", c10::IValue(meta.dump()));
  const std::string path = dir + "/epoch_0001.pt";
  archive.save_to(path);
  return path;
}

std::string load_error(const std::string& path, torch::nn::Module* net,
                       torch::optim::Optimizer* adam) {
  try {
    load_checkpoint(path, net, adam, {});
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(CheckpointTest, WritesItsFormatAndLibTorchVersion) {
  const std::string dir = tessera::testing::fresh_dir();
  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), 1e-3);
  const std::string path = save_checkpoint(dir, {}, *net, adam);
  const CheckpointState back = load_checkpoint(path, nullptr, nullptr, {});
  EXPECT_EQ(back.meta.at("format"), kCheckpointFormat);
  EXPECT_EQ(back.meta.at("libtorch"), TORCH_VERSION);
}

TEST(CheckpointTest, LibTorch113CheckpointIsRefusedForResumeButItsWeightsLoad) {
  const std::string dir = tessera::testing::fresh_dir();
  torch::manual_seed(3);
  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), 1e-3);
  net->forward(torch::randn({2, 1, 64, 32})).sum().backward();
  adam.step();
  const std::string path = write_with_meta(dir, {{"epoch", 1}, {"step", 4}}, *net, adam);

  torch::manual_seed(4);
  model::ResNet other(tiny());
  torch::optim::Adam other_adam(other->parameters(), 1e-3);
  const std::string err = load_error(path, other.get(), &other_adam);
  EXPECT_NE(err.find("epoch_0001.pt' has format 1"), std::string::npos) << err;
  EXPECT_NE(err.find("LibTorch 1.13"), std::string::npos) << err;
  EXPECT_TRUE(other_adam.state().empty()) << "optimiser state was loaded";

  // Without an optimiser (classify, embed) the weights are read.
  EXPECT_EQ(load_error(path, other.get(), nullptr), "");
  for (const auto& kv : net->named_parameters())
    EXPECT_TRUE(torch::equal(kv.value(), other->named_parameters()[kv.key()])) << kv.key();
}

TEST(CheckpointTest, NewerFormatIsRefused) {
  const std::string dir = tessera::testing::fresh_dir();
  model::ResNet net(tiny());
  torch::optim::Adam adam(net->parameters(), 1e-3);
  const std::string path = write_with_meta(
      dir, {{"epoch", 1}, {"step", 4}, {"format", kCheckpointFormat + 1}}, *net, adam);
  const std::string err = load_error(path, net.get(), nullptr);
  EXPECT_NE(err.find("written by a newer Tessera"), std::string::npos) << err;
}

}  // namespace
}  // namespace tessera::train

// The conv plan (ops/conv_plan.h) on its own and as ops::conv2d reads it:
// its file round trip, that a choice it holds is the computation that runs
// (compared bit for bit with that computation called directly), that it is
// never re-timed, and that unusable plans are refused with the file and the
// shape named. The bf16 convolutions run under CPU autocast, as in training.
#include "tessera/ops/conv_plan.h"

#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tessera/ops/conv.h"
#include "test_util.h"

namespace tessera::ops {
namespace {

// y = conv2d(x, w) under bf16 autocast on channels-last, with `plan`.
torch::Tensor bf16_forward(const torch::Tensor& x, const torch::Tensor& w, int stride, int padding,
                           ConvPlan& plan) {
  at::autocast::set_autocast_enabled(at::kCPU, true);
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  torch::Tensor y = conv2d(x, w, stride, padding, KernelOptions{}, &plan);
  at::autocast::set_autocast_enabled(at::kCPU, false);
  at::autocast::clear_cache();
  return y;
}

// The plan's one shape with every decided part set to `method`, and its
// timings to `ms`.
ConvPlan with_every_choice(const ConvPlan& plan, const std::string& method, double ms) {
  nlohmann::json j = plan.to_json();
  for (auto& [key, shape] : j["shapes"].items()) {
    for (auto& [part, choice] : shape.items()) {
      choice["method"] = method;
      choice["ms"] = {{method, ms}};
    }
  }
  return ConvPlan::from_json(j, "edited");
}

TEST(ConvPlanTest, SavesAndLoadsEveryChoiceAndTiming) {
  ConvPlan plan;
  ConvChoice c;
  c.forward.decided = true;
  c.forward.method = ConvMethod::kGemm;
  c.forward.ms[0] = 2.5;
  c.forward.ms[1] = 1.25;
  c.input.decided = true;
  c.input.method = ConvMethod::kFlipped;
  c.input.ms[2] = 0.5;
  plan.record("BFloat16 nhwc x[16,25,16] w[16,16,3,3] s1 p1", c);
  const std::string path = tessera::testing::fresh_dir("conv_plan") + "/plan.json";
  plan.save(path);
  const ConvPlan back = ConvPlan::load(path);
  EXPECT_EQ(back.to_json(), plan.to_json());
  const ConvChoice got = back.get("BFloat16 nhwc x[16,25,16] w[16,16,3,3] s1 p1");
  EXPECT_TRUE(got.forward.decided && got.input.decided);
  EXPECT_FALSE(got.weight.decided);
  EXPECT_EQ(got.forward.method, ConvMethod::kGemm);
  EXPECT_EQ(got.forward.ms[0], 2.5);
  EXPECT_EQ(got.input.method, ConvMethod::kFlipped);
  EXPECT_EQ(back.describe(),
            std::vector<std::string>{"BFloat16 nhwc x[16,25,16] w[16,16,3,3] s1 p1: forward gemm "
                                     "1.2 ms (library 2.5), input flipped 0.5 ms"});
}

TEST(ConvPlanTest, TheFirstDecisionOfAPartStays) {
  ConvPlan plan;
  ConvChoice first, second;
  first.weight.decided = true;
  first.weight.method = ConvMethod::kGemm;
  second.weight.decided = true;
  second.weight.method = ConvMethod::kLibrary;
  second.forward.decided = true;
  plan.record("k", first);
  plan.record("k", second);
  EXPECT_EQ(plan.get("k").weight.method, ConvMethod::kGemm);
  EXPECT_TRUE(plan.get("k").forward.decided);
  EXPECT_FALSE(plan.get("other").forward.decided);
}

// The choice the plan holds is the computation that runs: a plan saying
// "gemm" gives conv2d_forward_gemm's bits, one saying "library" gives
// LibTorch's bf16 convolution's, and neither is timed again (the timings
// stay what the plan said).
TEST(ConvPlanTest, ConvolutionsTakeThePlansChoiceWithoutTimingAgain) {
  torch::manual_seed(3);
  const auto nhwc = at::MemoryFormat::ChannelsLast;
  const torch::Tensor x = torch::randn({4, 16, 21, 12}), w = torch::randn({16, 16, 3, 3}) * 0.1;
  ConvPlan tuned;
  bf16_forward(x, w, 1, 1, tuned);
  ASSERT_EQ(tuned.size(), 1u);

  const torch::Tensor xb = x.to(torch::kBFloat16).contiguous(nhwc);
  const torch::Tensor wb = w.to(torch::kBFloat16).contiguous(nhwc);
  ConvPlan gemm = with_every_choice(tuned, "gemm", 99.0);
  EXPECT_TRUE(torch::equal(bf16_forward(x, w, 1, 1, gemm), conv2d_forward_gemm(xb, wb, 1, 1)));
  ConvPlan library = with_every_choice(tuned, "library", 77.0);
  EXPECT_TRUE(torch::equal(bf16_forward(x, w, 1, 1, library),
                           torch::conv2d(xb, wb, {}, 1, 1).contiguous(nhwc)));
  EXPECT_EQ(gemm.to_json(), with_every_choice(tuned, "gemm", 99.0).to_json());
  EXPECT_EQ(library.get(gemm.to_json()["shapes"].begin().key()).forward.ms[0], 77.0);
}

// "flipped" computes only stride-1 input gradients: a plan giving it to a
// forward pass is refused, naming the part and the shape.
TEST(ConvPlanTest, AChoiceTheShapeCannotTakeIsRefused) {
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({2, 8, 9, 9}), w = torch::randn({8, 8, 3, 3});
  ConvPlan tuned;
  bf16_forward(x, w, 1, 1, tuned);
  ConvPlan flipped = with_every_choice(tuned, "flipped", 1.0);
  try {
    bf16_forward(x, w, 1, 1, flipped);
    FAIL() << "a flipped forward pass was run";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the forward of 'BFloat16 nhwc x[8,9,9] w[8,8,3,3] s1 p1'"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("'flipped'"), std::string::npos) << what;
  }
  EXPECT_THROW(
      conv2d(x.to(torch::kBFloat16), w.to(torch::kBFloat16), 1, 1, KernelOptions{}, nullptr),
      std::invalid_argument);
}

TEST(ConvPlanTest, FilesThatAreNotPlansAreRefusedByName) {
  const std::string dir = tessera::testing::fresh_dir("conv_plan_bad");
  auto refused = [&](const std::string& name, const std::string& text, const std::string& why) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    try {
      ConvPlan::load(path);
      ADD_FAILURE() << name << " was accepted";
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path), std::string::npos) << what;
      EXPECT_NE(what.find(why), std::string::npos) << what;
    }
  };
  refused("truncated.json", R"({"format": "tessera-conv-plan", "vers)", "not JSON");
  refused("other.json", R"({"epoch": 3})", "not a kernel plan");
  refused("newer.json", R"({"format": "tessera-conv-plan", "version": 2, "shapes": {}})",
          "version 2");
  refused("method.json",
          R"({"format": "tessera-conv-plan", "version": 1,
              "shapes": {"k": {"weight": {"method": "fft"}}}})",
          "shape 'k', weight: unknown method 'fft'");
  refused("part.json",
          R"({"format": "tessera-conv-plan", "version": 1,
              "shapes": {"k": {"backward": {"method": "gemm"}}}})",
          "unknown part 'backward'");
  EXPECT_THROW(ConvPlan::load(dir + "/missing.json"), std::runtime_error);
}

}  // namespace
}  // namespace tessera::ops

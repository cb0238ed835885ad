// The conv tuner's choices for one network (ops/conv.h): per layer shape,
// which computation runs the forward pass, the weight gradient and the
// input gradient, and the times that decided it.
//
// The tuner picks by wall-clock timing, so two processes may pick
// differently and then round differently in bf16. A plan makes the choice
// a value the run owns: the network holds one (model/resnet.h), the
// trainer writes it to the run directory and reads it back on resume, and
// a run given another run's plan takes the same computations, so the two
// train bit for bit alike. A shape missing from the plan is tuned when it
// is first seen and added.
//
//   ops::ConvPlan plan = ops::ConvPlan::load(run_dir + "/kernel_plan.json");
//   torch::Tensor y = ops::conv2d(x, w, stride, padding, kernels, &plan);
//   plan.save(run_dir + "/kernel_plan.json");
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tessera::ops {

// The ways of computing one of a convolution's three results.
enum class ConvMethod { kLibrary = 0, kGemm = 1, kFlipped = 2 };
constexpr int kConvMethods = 3;
const char* conv_method_name(ConvMethod m);

// The way kept for one result of one layer shape, and the milliseconds
// each way took on the tuning samples (0: not timed, or not possible).
struct ConvOpChoice {
  bool decided = false;
  ConvMethod method = ConvMethod::kLibrary;
  double ms[kConvMethods] = {0, 0, 0};
};

// The three results of one layer shape.
struct ConvChoice {
  ConvOpChoice forward, weight, input;
};

class ConvPlan {
 public:
  ConvPlan() = default;
  ConvPlan(const ConvPlan& other);
  ConvPlan& operator=(const ConvPlan& other);

  // The choices for a shape key (ops/conv.cpp: dtype, layout, per-sample
  // input shape, weight shape, stride, padding); undecided if unknown.
  ConvChoice get(const std::string& key) const;
  // Records the decided parts of `choice`; parts the plan already holds
  // stay (the first decision wins, so concurrent tuners agree).
  void record(const std::string& key, const ConvChoice& choice);
  // Replaces this plan's choices with `other`'s.
  void assign(const ConvPlan& other);
  bool empty() const;
  std::size_t size() const;

  // {"format": "tessera-conv-plan", "version": 1, "shapes": {key: {"forward":
  // {"method": "gemm", "ms": {"library": 1.2, "gemm": 0.8}}, ...}}}
  nlohmann::json to_json() const;
  // Throws std::runtime_error naming `origin` and what is wrong.
  static ConvPlan from_json(const nlohmann::json& j, const std::string& origin);
  // Written atomically (a reader never sees half a plan).
  void save(const std::string& path) const;
  static ConvPlan load(const std::string& path);

  // One line per layer shape:
  // "BFloat16 nhwc x[512,7,4] w[512,512,3,3] s1 p1: forward gemm <ms> (library <ms>),
  //  weight gemm <ms> (library <ms>), input gemm <ms> (library <ms>, flipped <ms>)"
  std::vector<std::string> describe() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ConvChoice> choices_;
};

}  // namespace tessera::ops

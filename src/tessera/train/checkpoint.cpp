#include "tessera/train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>

#include "tessera/common/atomic_file.h"
#include "tessera/common/json_text.h"

namespace tessera::train {
namespace fs = std::filesystem;
namespace {

// Where the module's weights are (the CPU for a module without any).
torch::Device model_device(const torch::nn::Module& model) {
  const auto params = model.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

}  // namespace

std::string save_checkpoint(const std::string& dir, const CheckpointState& state,
                            torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                            int keep) {
  common::make_dirs(dir);
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive, optim_archive;
  model.save(model_archive);
  optimizer.save(optim_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optim_archive);
  nlohmann::json meta = state.meta;
  meta["format"] = kCheckpointFormat;
  meta["libtorch"] = TORCH_VERSION;
  meta["epoch"] = state.epoch;
  meta["step"] = state.step;
  archive.write("meta", c10::IValue(common::dump_json(meta)));
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng", gen.get_state());
  }
  if (const auto device = model_device(model); device.is_cuda()) {
    // Dropout on a GPU draws from the device's generator.
    at::Generator gen = at::globalContext().defaultGenerator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng_cuda", gen.get_state());
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string path = (fs::path(dir) / checkpoint_name(state.epoch)).string();
  common::write_file_atomic(path, bytes.str());
  auto all = list_checkpoints(dir);
  while (int(all.size()) > keep) {
    std::error_code ec;
    fs::remove(all.front(), ec);
    all.erase(all.begin());
  }
  return path;
}

std::string checkpoint_name(int epoch) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "epoch_%04d.pt", epoch);
  return buf;
}

int checkpoint_epoch(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  int epoch = -1, used = 0;
  if (std::sscanf(name.c_str(), "epoch_%d.pt%n", &epoch, &used) != 1 || used != int(name.size()))
    return -1;
  return epoch;
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("epoch_", 0) == 0 && e.path().extension() == ".pt")
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

CheckpointState load_checkpoint(const std::string& path, torch::nn::Module* model,
                                torch::optim::Optimizer* optimizer,
                                const nlohmann::json& expected) {
  torch::serialize::InputArchive archive;
  // Every tensor is read onto the model's device: LibTorch's Module::load
  // would otherwise move a parameter saved on another device there (it
  // calls set_data), and the optimiser's state must be with its parameters.
  const torch::Device device = model ? model_device(*model) : torch::Device(torch::kCPU);
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw std::runtime_error("checkpoint '" + path +
                             "': cannot be read: " + e.what_without_backtrace());
  }
  c10::IValue meta_value;
  if (!archive.try_read("meta", meta_value) || !meta_value.isString()) {
    throw std::runtime_error("checkpoint '" + path + "': no metadata; not a Tessera checkpoint");
  }
  CheckpointState state;
  int format = 0;
  try {
    state.meta = nlohmann::json::parse(meta_value.toStringRef());
    state.epoch = state.meta.at("epoch").get<int>();
    state.step = state.meta.at("step").get<std::int64_t>();
    format = state.meta.value("format", 1);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("checkpoint '" + path + "': malformed metadata: " + e.what());
  }
  if (format > kCheckpointFormat) {
    throw std::runtime_error("checkpoint '" + path + "' has format " + std::to_string(format) +
                             ", written by a newer Tessera; this one reads formats up to " +
                             std::to_string(kCheckpointFormat));
  }
  if (format < kCheckpointFormat && optimizer) {
    throw std::runtime_error(
        "checkpoint '" + path + "' has format " + std::to_string(format) +
        ", written by a Tessera on LibTorch 1.13, whose optimiser state is filed under other "
        "keys; it cannot be resumed (its weights still serve classify, embed and neighbours). "
        "Start a new run directory to train");
  }
  for (const auto& [key, want] : expected.items()) {
    if (!state.meta.contains(key) || state.meta[key] != want) {
      throw std::runtime_error(
          "checkpoint '" + path + "' was made with " + key + " = " +
          (state.meta.contains(key) ? common::dump_json(state.meta[key]) : "(none)") +
          ", but this run has " + key + " = " + common::dump_json(want));
    }
  }
  try {
    if (model) {
      torch::serialize::InputArchive m;
      archive.read("model", m);
      model->load(m);
    }
    if (optimizer) {
      torch::serialize::InputArchive o;
      archive.read("optimizer", o);
      optimizer->load(o);
    }
    torch::Tensor rng;
    if (archive.try_read("rng", rng)) {
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng.cpu());
    }
    // A GPU's generator state goes back to a GPU; a checkpoint moving
    // between a CPU and a GPU keeps the seeded generator of its new device.
    torch::Tensor rng_cuda;
    if (device.is_cuda() && archive.try_read("rng_cuda", rng_cuda)) {
      at::Generator gen = at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng_cuda.cpu());
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error("checkpoint '" + path +
                             "': does not fit this model: " + e.what_without_backtrace());
  }
  return state;
}

}  // namespace tessera::train

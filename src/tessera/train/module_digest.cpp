#include "tessera/train/module_digest.h"

#include <cstdio>
#include <stdexcept>

namespace tessera::train {
namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;
constexpr int kParts = 4;  // 16-bit parts of a digest

void mix(std::uint64_t& h, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
}

void mix_tensor(std::uint64_t& h, const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
  const std::int64_t type = std::int64_t(c.scalar_type());
  mix(h, &type, sizeof type);
  for (const std::int64_t d : c.sizes()) mix(h, &d, sizeof d);
  mix(h, c.data_ptr(), c.nbytes());
}

}  // namespace

std::uint64_t module_digest(torch::nn::Module& module) {
  std::uint64_t h = kFnvOffset;
  for (const auto& p : module.parameters()) mix_tensor(h, p);
  for (const auto& b : module.buffers()) mix_tensor(h, b);
  return h;
}

std::vector<std::uint64_t> gather_digests(
    std::uint64_t mine, int rank, int world,
    const std::function<void(std::vector<double>&)>& all_reduce_sum) {
  if (world < 1 || rank < 0 || rank >= world) {
    throw std::invalid_argument("gather_digests: rank " + std::to_string(rank) + " of " +
                                std::to_string(world));
  }
  std::vector<double> v(std::size_t(world) * kParts, 0.0);
  for (int k = 0; k < kParts; ++k) {
    v[std::size_t(rank) * kParts + std::size_t(k)] = double((mine >> (16 * k)) & 0xffffu);
  }
  if (all_reduce_sum) all_reduce_sum(v);
  std::vector<std::uint64_t> out(std::size_t(world), 0);
  for (std::size_t r = 0; r < out.size(); ++r) {
    for (int k = 0; k < kParts; ++k) {
      out[r] |= std::uint64_t(v[r * kParts + std::size_t(k)]) << (16 * k);
    }
  }
  return out;
}

std::string digest_hex(std::uint64_t digest) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(digest));
  return buf;
}

}  // namespace tessera::train

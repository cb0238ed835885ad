#include "tessera/ops/unfold.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tessera/common/simd_dispatch.h"
#include "tessera/ops/bf16_vector.h"
#include "tessera/ops/parallel.h"

namespace tessera::ops {

constexpr auto kNhwc = at::MemoryFormat::ChannelsLast;

std::int64_t conv_out_size(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t p) {
  return (n + 2 * p - k) / s + 1;
}

// Why short rows are padded: the stem's 49 (7x7, one channel) made a GEMM whose inner
// dimension fits AMX's 32-wide bf16 tiles badly: padded to 64 with zeros,
// its forward product was faster (docs/history/performance-libtorch-1.13.md).
std::int64_t unfolded_row_length(std::int64_t k, std::int64_t c) {
  const std::int64_t row = k * k * c;
  return row < 256 ? (row + 31) / 32 * 32 : row;
}

namespace {

// Rows [Ho*Wo per image, R] of unfold_nhwc for images [begin, end) x rows,
// with E an unsigned type of the element's size: the copies are inline
// loops, since a memcpy call per span cost more than the copy at 7-element
// spans (a 7x7 one-channel layer).
template <typename E>
void unfold_rows(const E* src, E* dst, std::int64_t begin, std::int64_t end, std::int64_t ho,
                 std::int64_t h, std::int64_t w, std::int64_t c, std::int64_t wo, std::int64_t k,
                 std::int64_t s, std::int64_t p, std::int64_t length) {
  const std::int64_t span = k * c, row = k * span;
  for (std::int64_t i = begin; i < end; ++i) {
    const std::int64_t image = i / ho, oy = i % ho;
    for (std::int64_t ox = 0; ox < wo; ++ox) {
      E* out = dst + (i * wo + ox) * length;
      const std::int64_t x0 = ox * s - p;
      for (std::int64_t kh = 0; kh < k; ++kh) {
        E* o = out + kh * span;
        const std::int64_t y = oy * s - p + kh;
        if (y < 0 || y >= h) {
          for (std::int64_t j = 0; j < span; ++j) o[j] = 0;
          continue;
        }
        const E* line = src + (image * h + y) * w * c;
        if (x0 >= 0 && x0 + k <= w) {
          const E* from = line + x0 * c;
          for (std::int64_t j = 0; j < span; ++j) o[j] = from[j];
          continue;
        }
        for (std::int64_t kw = 0; kw < k; ++kw) {
          const std::int64_t xx = x0 + kw;
          E* to = o + kw * c;
          if (xx < 0 || xx >= w) {
            for (std::int64_t j = 0; j < c; ++j) to[j] = 0;
          } else {
            const E* from = line + xx * c;
            for (std::int64_t j = 0; j < c; ++j) to[j] = from[j];
          }
        }
      }
      for (std::int64_t j = row; j < length; ++j) out[j] = 0;
    }
  }
}

}  // namespace

// x [N, C, H, W] channels-last -> [N, Ho, Wo, R]: the input under each output
// position in (kh, kw, c) order (zero outside the map), then zeros up to
// R = unfolded_row_length(k, C). In NHWC the k columns of one kernel row are k*C
// consecutive elements, so each output position takes k copies of one span
// (fewer at the borders). Written as plain copies, not as one strided ATen
// copy of a padded map: for the 7x7 one-channel stem (49-element rows) that
// was slow (docs/history/performance-libtorch-1.13.md).

torch::Tensor unfold_nhwc(const torch::Tensor& x_in, std::int64_t k, std::int64_t s,
                          std::int64_t p) {
  const torch::Tensor x = x_in.contiguous(kNhwc);
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t ho = conv_out_size(h, k, s, p), wo = conv_out_size(w, k, s, p);
  const std::int64_t length = unfolded_row_length(k, c);
  torch::Tensor cols =
      at::empty({n, ho, wo, length}, x.options().memory_format(at::MemoryFormat::Contiguous));
  at::parallel_for(0, n * ho, 1, [&](std::int64_t begin, std::int64_t end) {
    auto run = [&](auto zero) {
      using E = decltype(zero);
      unfold_rows(static_cast<const E*>(x.data_ptr()), static_cast<E*>(cols.data_ptr()), begin, end,
                  ho, h, w, c, wo, k, s, p, length);
    };
    switch (x.element_size()) {
      case 2:
        run(std::uint16_t{});
        break;
      case 4:
        run(std::uint32_t{});
        break;
      case 8:
        run(std::uint64_t{});
        break;
      default:
        throw std::invalid_argument("unfold_nhwc: element size");
    }
  });
  return cols;
}

namespace {

using simd::load32;
using simd::store32;
using simd::V32;
using bf16 = c10::BFloat16;

// For one coordinate y of the input: the (output coordinate, kernel tap)
// pairs with o * s - p + tap = y, in tap order.
void covering(std::int64_t y, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t out,
              std::vector<std::pair<std::int64_t, std::int64_t>>& into) {
  into.clear();
  for (std::int64_t a = 0; a < k; ++a) {
    const std::int64_t t = y + p - a;
    if (t < 0 || t % s != 0 || t / s >= out) continue;
    into.emplace_back(t / s, a);
  }
}

// out[pos][c] = sum over taps of cols[tap + c], channels in tiles of 128,
// 32 and 1 whose sums stay in registers over the taps.
template <int NV>
__attribute__((always_inline)) inline void fold_tile(const bf16* cols, const std::int64_t* taps,
                                                     int n, std::int64_t c0, bf16* out) {
  V32 acc[NV] = {};
  for (int t = 0; t < n; ++t) {
    for (int v = 0; v < NV; ++v) acc[v] += load32(cols + taps[t] + c0 + 32 * v);
  }
  for (int v = 0; v < NV; ++v) store32(acc[v], out + c0 + 32 * v);
}

TESSERA_SIMD_BODY void fold_position_body(const bf16* cols, const std::int64_t* taps, int n,
                                          std::int64_t c, bf16* out) {
  std::int64_t c0 = 0;
  for (; c0 + 128 <= c; c0 += 128) fold_tile<4>(cols, taps, n, c0, out);
  for (; c0 + 32 <= c; c0 += 32) fold_tile<1>(cols, taps, n, c0, out);
  for (; c0 < c; ++c0) {
    float acc = 0;
    for (int t = 0; t < n; ++t) acc += float(cols[taps[t] + c0]);
    out[c0] = bf16(acc);
  }
}

// For AVX-512, AVX2 and the baseline (common/simd_dispatch.h).
TESSERA_SIMD_DISPATCH(fold_position,
                      (const bf16* cols, const std::int64_t* taps, int n, std::int64_t c,
                       bf16* out),
                      (cols, taps, n, c, out))

// float and double add in their own type, with the compiler's own vectors.
template <typename T>
void fold_position(const T* cols, const std::int64_t* taps, int n, std::int64_t c, T* out,
                   common::SimdLevel) {
  for (std::int64_t j = 0; j < c; ++j) {
    T acc = 0;
    for (int t = 0; t < n; ++t) acc += cols[taps[t] + j];
    out[j] = acc;
  }
}

template <typename T>
void fold_all(const T* cols, T* out, std::int64_t images, std::int64_t c, std::int64_t h,
              std::int64_t w, std::int64_t k, std::int64_t s, std::int64_t p,
              common::SimdLevel simd) {
  const std::int64_t ho = conv_out_size(h, k, s, p), wo = conv_out_size(w, k, s, p);
  const std::int64_t row = k * k * c;
  // The columns' coverings are the same on every row.
  std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> columns(
      static_cast<std::size_t>(w));
  for (std::int64_t x = 0; x < w; ++x) covering(x, k, s, p, wo, columns[x]);
  at::parallel_for(0, images * h, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::pair<std::int64_t, std::int64_t>> rows_y;
    std::vector<std::int64_t> taps;
    for (std::int64_t i = begin; i < end; ++i) {
      const std::int64_t image = i / h, y = i % h;
      covering(y, k, s, p, ho, rows_y);
      for (std::int64_t x = 0; x < w; ++x) {
        taps.clear();
        for (const auto& [oy, a] : rows_y) {
          for (const auto& [ox, b] : columns[x])
            taps.push_back(((image * ho + oy) * wo + ox) * row + (a * k + b) * c);
        }
        fold_position(cols, taps.data(), int(taps.size()), c, out + (i * w + x) * c, simd);
      }
    }
  });
}

}  // namespace

void fold_nhwc(const torch::Tensor& cols, const torch::Tensor& out, std::int64_t k, std::int64_t s,
               std::int64_t p, common::SimdLevel simd) {
  common::check_simd_level(simd);
  const std::int64_t n = out.size(0), c = out.size(1), h = out.size(2), w = out.size(3);
  const std::int64_t positions = conv_out_size(h, k, s, p) * conv_out_size(w, k, s, p);
  if (!out.is_contiguous(kNhwc) || !cols.is_contiguous() || cols.dtype() != out.dtype() ||
      cols.numel() != n * positions * k * k * c)
    throw std::invalid_argument(
        "fold_nhwc: cols must be contiguous [N*Ho*Wo, k*k*C] of out's dtype");
  switch (out.scalar_type()) {
    case torch::kBFloat16:
      fold_all(cols.data_ptr<bf16>(), out.data_ptr<bf16>(), n, c, h, w, k, s, p, simd);
      break;
    case torch::kFloat32:
      fold_all(cols.data_ptr<float>(), out.data_ptr<float>(), n, c, h, w, k, s, p, simd);
      break;
    case torch::kFloat64:
      fold_all(cols.data_ptr<double>(), out.data_ptr<double>(), n, c, h, w, k, s, p, simd);
      break;
    default:
      throw std::invalid_argument("fold_nhwc: dtype " +
                                  std::string(c10::toString(out.scalar_type())));
  }
}

}  // namespace tessera::ops

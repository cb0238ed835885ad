#include "tessera/experiment/interval.h"

#include <stdexcept>

#include "tessera/common/format.h"

namespace tessera::experiment {
namespace {

// The continued fraction of the regularised incomplete beta function
// I_x(a, b) (DLMF 8.17.22), evaluated with the modified Lentz method; it
// converges quickly for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double f = d;
  for (int m = 1; m <= 500; ++m) {
    // The even term d_{2m}, then the odd term d_{2m+1}.
    for (int odd = 0; odd < 2; ++odd) {
      const double num = odd == 0
                             ? m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
                             : -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
      d = 1.0 + num * d;
      if (std::fabs(d) < kTiny) d = kTiny;
      c = 1.0 + num / c;
      if (std::fabs(c) < kTiny) c = kTiny;
      d = 1.0 / d;
      const double delta = c * d;
      f *= delta;
      if (odd == 1 && std::fabs(delta - 1.0) < 1e-15) return f;
    }
  }
  return f;
}

double regularised_incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  // The symmetry I_x(a, b) = 1 - I_{1-x}(b, a) keeps the fraction in its
  // fast-converging range.
  if (x < (a + 1.0) / (a + b + 2.0))
    return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

// P(T <= t) for t >= 0: 1 - I_{dof/(dof+t^2)}(dof/2, 1/2) / 2.
double student_t_cdf_upper_half(double t, double dof) {
  return 1.0 - 0.5 * regularised_incomplete_beta(0.5 * dof, 0.5, dof / (dof + t * t));
}

}  // namespace

double student_t_quantile(double p, double dof) {
  if (!(p > 0 && p < 1)) throw std::invalid_argument("student_t_quantile: p must be in (0, 1)");
  if (!(dof > 0)) throw std::invalid_argument("student_t_quantile: dof must be > 0");
  if (p < 0.5) return -student_t_quantile(1.0 - p, dof);
  if (p == 0.5) return 0.0;
  // The CDF is monotone: bisect on [0, hi], doubling hi until it brackets p.
  double lo = 0.0, hi = 1.0;
  while (student_t_cdf_upper_half(hi, dof) < p && hi < 1e12) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf_upper_half(mid, dof) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Interval mean_and_std(const std::vector<double>& values) {
  Interval r;
  double sum = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++r.n;
  if (r.n == 0) return r;
  r.mean = sum / r.n;
  if (r.n < 2) return r;
  double ss = 0;
  for (double v : values)
    if (std::isfinite(v)) ss += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(ss / (r.n - 1));
  return r;
}

Interval mean_interval(const std::vector<double>& values, double confidence) {
  if (!(confidence > 0 && confidence < 1))
    throw std::invalid_argument("mean_interval: confidence must be in (0, 1)");
  Interval r = mean_and_std(values);
  if (r.n < 2) return r;
  const double half =
      student_t_quantile(0.5 + 0.5 * confidence, r.n - 1) * r.std / std::sqrt(double(r.n));
  r.lo = r.mean - half;
  r.hi = r.mean + half;
  return r;
}

std::string format_interval(const Interval& v, const char* format) {
  if (!std::isfinite(v.mean)) return "";
  std::string s = common::format_number(v.mean, format);
  if (v.measured()) s += " ± " + common::format_number(v.half_width(), format);
  return s;
}

}  // namespace tessera::experiment

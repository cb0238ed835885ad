// A metric measured once per seed, summarised as its mean, its sample
// standard deviation and a two-sided Student-t confidence interval for the
// mean. The t interval, not a bootstrap: a sweep has a handful of seeds, and
// a bootstrap over three values can only return those values' range.
#pragma once

#include <cmath>
#include <string>
#include <vector>

namespace tessera::experiment {

struct Interval {
  int n = 0;  // finite values that went in
  double mean = NAN;
  double std = NAN;           // sample standard deviation (n - 1); NaN below 2 values
  double lo = NAN, hi = NAN;  // the interval; NaN below 2 values
  bool measured() const { return n >= 2 && std::isfinite(lo) && std::isfinite(hi); }
  double half_width() const { return measured() ? 0.5 * (hi - lo) : NAN; }
  // Both intervals measured and sharing at least one point.
  bool overlaps(const Interval& o) const {
    return measured() && o.measured() && lo <= o.hi && o.lo <= hi;
  }
};

// The quantile of Student's t distribution with `dof` degrees of freedom at
// probability p in (0, 1); dof > 0.
double student_t_quantile(double p, double dof);

// Non-finite values (a metric undefined for a seed) are left out; with no
// finite value every field is NaN and n is 0.
Interval mean_interval(const std::vector<double>& values, double confidence = 0.95);
// The same without the interval (lo and hi NaN): no quantile to compute,
// for per-step curves.
Interval mean_and_std(const std::vector<double>& values);

// "0.350 ± 0.030" (mean ± half-width), "0.350" without an interval, "" for
// no value; `format` is printf's, for each number.
std::string format_interval(const Interval& v, const char* format = "%.3f");

}  // namespace tessera::experiment

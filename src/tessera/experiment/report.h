// The sweep's figures and its self-contained report (report.html with the
// figures inline, and report.md with the same content), rebuilt from the run
// directories alone.
#pragma once

#include <string>
#include <vector>

#include "tessera/experiment/sweep_results.h"

namespace tessera::experiment {

struct ReportOptions {
  std::vector<double> focus = {0.5, 0.7, 1.0};  // Figure 2's subset
  RecommendationRule rule;
};

// figures/loss_all_margins, loss_selected, active_fraction, centroid_cv,
// centroid_distances_margin_<m>, embedding_margin_<m> (.png and .svg).
// Curves are seed means with a band of one standard deviation, the
// centroid matrices seed means, the embedding the first seed's.
void make_figures(const std::string& sweep_dir, const std::vector<MarginSummary>& margins,
                  const ReportOptions& options);

// Reads the sweep, writes figures, summary.{csv,json} and report.{html,md};
// returns the recommendation.
Recommendation build_report(const std::string& sweep_dir, const ReportOptions& options);

}  // namespace tessera::experiment

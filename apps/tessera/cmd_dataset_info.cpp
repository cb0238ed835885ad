// tessera dataset-info: files per label and duration of each split.
#include <map>

#include "commands.h"
#include "config_args.h"
#include "tessera/audio/decode.h"
#include "tessera/common/format.h"
#include "tessera/data/dataset_loader.h"
#include "tessera/study/config_options.h"

namespace tessera::app {
namespace {

int run_dataset_info(const ConfigArgs& args) {
  const study::Config cfg = load_config(args);
  data::Dataset d = data::load_dataset(study::dataset_source(cfg));
  std::printf("dataset %s: %zu labels\n", cfg.dataset.c_str(), d.labels.size());
  for (const data::Split* s : {&d.train, &d.eval, &d.test}) {
    std::vector<int> files(d.labels.size(), 0);
    std::vector<double> seconds(d.labels.size(), 0.0);
    int unlabelled = 0;
    double total = 0;
    for (const auto& r : s->recordings) {
      double secs = 0;
      try {
        secs = audio::probe_file(r.path).seconds();
      } catch (const std::exception& e) {
        d.skipped.add(r.name, e.what());
        continue;
      }
      total += secs;
      if (r.label < 0) {
        ++unlabelled;
        continue;
      }
      ++files[r.label];
      seconds[r.label] += secs;
    }
    std::printf("\n%s: %s, %s\n", s->name.c_str(),
                common::count_of((long long)s->recordings.size(), "file").c_str(),
                common::duration(total).c_str());
    for (std::size_t l = 0; l < d.labels.size(); ++l) {
      std::printf("  %-20s %12s %12s\n", d.labels[l].c_str(),
                  common::count_of(files[l], "file").c_str(), common::duration(seconds[l]).c_str());
    }
    if (unlabelled)
      std::printf("  %-20s %12s\n", "(unlabelled)", common::count_of(unlabelled, "file").c_str());
  }
  std::printf("\n%s\n", d.skipped.summary(10).c_str());
  return 0;
}

}  // namespace

Command add_dataset_info_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  CLI::App* cmd = app.add_subcommand("dataset-info", "files per label and duration of each split");
  args->add_to(cmd, true);
  return {cmd, [args] { return run_dataset_info(*args); }};
}

}  // namespace tessera::app

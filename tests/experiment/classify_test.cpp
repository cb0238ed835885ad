// classify on its own: the names of its representations, what its options
// reject, the report folder its protocol gets, and a log-mel-statistics probe
// on labelled sets written here, where the answer is known: two labels of
// tones two octaves and more apart are told apart perfectly, and a run is
// scored on another labelled set than its own.
#include "tessera/experiment/classify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/study/config.h"
#include "test_util.h"

namespace tessera::experiment {
namespace {

TEST(ClassifyTest, RepresentationNamesRoundTripAndAnUnknownOneIsRejected) {
  for (Representation r :
       {Representation::kTrained, Representation::kRandomWeights, Representation::kLogmelStats})
    EXPECT_EQ(parse_representation(representation_name(r)), r);
  EXPECT_THROW(parse_representation("logmel"), std::invalid_argument);
}

TEST(ClassifyTest, OptionsRejectAKeyOutsideTheLabelledSetNamingTheNearestOne) {
  ClassifyOptions o;
  o.run_dir = "/runs/a";
  EXPECT_NO_THROW(o.validate());
  o.labelled_set = {"dcase_dataset_pth=/data/b"};
  try {
    o.validate();
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("dcase_dataset_path"), std::string::npos) << e.what();
  }
  o.labelled_set = {"batch_size=3"};  // a real key, but not the labelled set's
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.labelled_set = {};
  o.draws = 0;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.draws = 5;
  o.layer = "poold";
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.layer = "pooled";
  o.run_dir = "";
  EXPECT_THROW(o.validate(), std::invalid_argument);
}

TEST(ClassifyTest, DefaultReportFolderNamesTheProtocol) {
  ClassifyOptions o;
  o.run_dir = "/runs/a";
  EXPECT_EQ(default_classify_dir(o), "/runs/a/classify");
  o.representation = Representation::kRandomWeights;
  o.layer = "pooled";
  o.labels_per_class = 2;
  EXPECT_EQ(default_classify_dir(o), "/runs/a/classify_random_pooled_2_per_class");
  o.representation = Representation::kLogmelStats;  // no layer: no network
  o.labels_per_class = 0;
  o.labelled_set = {"dcase_dataset_path=/data/other_recordings/"};
  EXPECT_EQ(default_classify_dir(o), "/runs/a/classify_logmel_stats_on_other_recordings");
}

// A DCASE-layout set of 10 s mono clips: per label, a tone at that label's
// frequency over a little noise; `train` and `eval` clips per label.
std::string write_tone_set(const std::string& root,
                           const std::vector<std::pair<std::string, double>>& labels, int train,
                           int eval) {
  std::filesystem::create_directories(root + "/audio");
  std::filesystem::create_directories(root + "/evaluation_setup");
  std::string train_list, eval_list;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  for (const auto& [label, hz] : labels) {
    for (int i = 0; i < train + eval; ++i) {
      std::vector<float> x = testing::sine(hz * (1.0 + 0.02 * i), 0.2, 16000, 160000);
      for (float& v : x) v += noise(rng);
      const std::string rel = "audio/" + label + "_" + std::to_string(i) + ".wav";
      testing::write_mono_wav(root + "/" + rel, std::move(x));
      (i < train ? train_list : eval_list) +=
          rel + "\t" + label + "\t" + label + std::to_string(i) + "\n";
    }
  }
  testing::write_text(root + "/evaluation_setup/fold1_train.txt", train_list);
  testing::write_text(root + "/evaluation_setup/fold1_evaluate.txt", eval_list);
  return root;
}

// A run directory without checkpoints: log-mel statistics need only its
// config.json.
std::string write_run(const std::string& run, const std::string& data,
                      const std::vector<std::string>& labels) {
  study::Config c = study::Config::load(std::string(TESSERA_SOURCE_DIR) + "/configs/demo.json");
  c.dcase_dataset_path = data;
  c.labels = labels;
  c.n_mel_bin = 32;
  c.log_level = "warning";
  std::filesystem::create_directories(run);
  c.save(run + "/config.json");
  return run;
}

TEST(ClassifyTest, LogmelStatisticsTellTonesAtDistantPitchesApart) {
  const std::string dir = testing::fresh_dir("classify_tones");
  const std::string data = write_tone_set(dir + "/tones", {{"low", 220.0}, {"high", 2500.0}}, 4, 3);
  const std::string run = write_run(dir + "/run", data, {"low", "high"});
  ClassifyOptions o;
  o.run_dir = run;
  o.representation = Representation::kLogmelStats;
  o.threads = 2;
  const ClassifyResult r = run_classify(o);
  EXPECT_EQ(r.out_dir, run + "/classify_logmel_stats");
  ASSERT_EQ(r.splits.size(), 1u);  // no test list: eval only
  EXPECT_EQ(r.splits[0].split, "eval");
  EXPECT_EQ(r.splits[0].recordings, 6u);
  EXPECT_DOUBLE_EQ(r.splits[0].scores.macro_f1, 1.0);
  EXPECT_DOUBLE_EQ(r.splits[0].tile_retrieval.precision_at_1, 1.0);
  const auto j = nlohmann::json::parse(testing::read_text(r.out_dir + "/report.json"));
  EXPECT_EQ(j["representation"], "logmel-stats");
  EXPECT_EQ(j["train_recordings"], 8);
  EXPECT_EQ(j["labels"], nlohmann::json({"low", "high"}));
  EXPECT_TRUE(classified_with(r.out_dir, o));
  ClassifyOptions other = o;
  other.labels_per_class = 2;
  EXPECT_FALSE(classified_with(r.out_dir, other));
}

// The run was made on one set; --labelled-set points the probe at another,
// with its own labels, and the report goes to a folder named after that set.
TEST(ClassifyTest, ScoresARunOnAnotherLabelledSetWithItsOwnLabels) {
  const std::string dir = testing::fresh_dir("classify_other_set");
  const std::string own = write_tone_set(dir + "/own", {{"low", 220.0}, {"high", 2500.0}}, 3, 2);
  const std::string other =
      write_tone_set(dir + "/other_set", {{"a", 300.0}, {"b", 1200.0}, {"c", 4800.0}}, 3, 2);
  const std::string run = write_run(dir + "/run", own, {"low", "high"});
  ClassifyOptions o;
  o.run_dir = run;
  o.representation = Representation::kLogmelStats;
  o.threads = 2;
  o.labelled_set = {"dcase_dataset_path=" + other, "labels=[\"a\",\"b\",\"c\"]"};
  const ClassifyResult r = run_classify(o);
  EXPECT_EQ(r.out_dir, run + "/classify_logmel_stats_on_other_set");
  ASSERT_EQ(r.splits.size(), 1u);
  EXPECT_EQ(r.splits[0].recordings, 6u);
  EXPECT_EQ(r.splits[0].scores.support.size(), 3u);
  const auto j = nlohmann::json::parse(testing::read_text(r.out_dir + "/report.json"));
  EXPECT_EQ(j["labels"], nlohmann::json({"a", "b", "c"}));
  EXPECT_EQ(j["train_recordings"], 9);
  EXPECT_FALSE(std::filesystem::exists(run + "/classify_logmel_stats"));
}

}  // namespace
}  // namespace tessera::experiment
